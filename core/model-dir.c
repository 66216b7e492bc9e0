// model-dir.c: finding and checking diffusers model folders (the API is in sana.h).
//
// Where models are found, in order: an explicit folder; SANA_MODEL_DIR (a model folder, or a
// folder of model folders); the Hugging Face hub cache (HF_HUB_CACHE, else HF_HOME/hub, else
// XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub), whose layout is
// models--ORG--NAME/snapshots/REVISION/ with refs/main naming the current revision.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "safetensors.h"
#include "sana.h"
#include "util.h"

#define DEFAULT_REPO "Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers"

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool has_file(const char *dir, const char *name) {
    char p[4096];
    return sana_path_join(p, sizeof p, dir, name) && is_file(p);
}

static bool is_model_dir(const char *dir) { return has_file(dir, "model_index.json"); }

// A diffusers model folder of one component (config.json beside the weights), e.g. a bare
// SanaControlNetModel as convert_sana_controlnet_to_diffusers.py saves it.
static bool is_component_dir(const char *dir) { return has_file(dir, "config.json"); }

static bool is_model_or_component_dir(const char *dir) { return is_model_dir(dir) || is_component_dir(dir); }

// The "_class_name" of DIR/NAME, or "" (unreadable files count as having none here; the loaders
// report them).
static void class_of(const char *dir, const char *name, char *cls, size_t size) {
    char p[4096];
    sana_error err = {0};
    cls[0] = '\0';
    if (sana_path_join(p, sizeof p, dir, name) && is_file(p)) sana_json_class_name(p, cls, size, &err);
}

// The hub cache folder, or NULL.
static const char *hub_cache(char *buf, size_t size) {
    const char *v;
    if ((v = getenv("HF_HUB_CACHE")) && *v) return snprintf(buf, size, "%s", v) < (int)size ? buf : NULL;
    if ((v = getenv("HF_HOME")) && *v) return snprintf(buf, size, "%s/hub", v) < (int)size ? buf : NULL;
    if ((v = getenv("XDG_CACHE_HOME")) && *v)
        return snprintf(buf, size, "%s/huggingface/hub", v) < (int)size ? buf : NULL;
    if ((v = getenv("HOME")) && *v) return snprintf(buf, size, "%s/.cache/huggingface/hub", v) < (int)size ? buf : NULL;
    return NULL;
}

// The snapshot folder of cache entry models--ORG--NAME: refs/main's revision when it exists,
// else the most recently modified snapshot that is a model folder (`accept`).
static bool hub_snapshot_where(const char *entry, char *out, size_t size, bool (*accept)(const char *dir)) {
    char p[4096], rev[128] = "";
    if (sana_path_join(p, sizeof p, entry, "refs/main")) {
        FILE *f = fopen(p, "r");
        if (f) {
            if (!fgets(rev, sizeof rev, f)) rev[0] = '\0';
            fclose(f);
            rev[strcspn(rev, "\r\n")] = '\0';
        }
    }
    if (rev[0] && !strchr(rev, '/') && snprintf(out, size, "%s/snapshots/%s", entry, rev) < (int)size &&
        accept(out))
        return true;
    if (!sana_path_join(p, sizeof p, entry, "snapshots")) return false;
    DIR *d = opendir(p);
    if (!d) return false;
    time_t best = 0;
    bool found = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char s[4096];
        struct stat sb;
        if (snprintf(s, sizeof s, "%s/%s", p, e->d_name) >= (int)sizeof s || !accept(s) || stat(s, &sb) != 0)
            continue;
        if (!found || sb.st_mtime > best) {
            best = sb.st_mtime;
            found = snprintf(out, size, "%s", s) < (int)size;
        }
    }
    closedir(d);
    return found;
}

static bool hub_snapshot(const char *entry, char *out, size_t size) {
    return hub_snapshot_where(entry, out, size, is_model_dir);
}

// "ORG/NAME" -> models--ORG--NAME
static bool repo_entry_name(const char *repo, char *out, size_t size) {
    const char *slash = strchr(repo, '/');
    if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/') || strstr(repo, "..")) return false;
    return snprintf(out, size, "models--%.*s--%s", (int)(slash - repo), repo, slash + 1) < (int)size;
}

static void add(sana_model_info *out, int max, int *n, const char *path, const char *name) {
    for (int i = 0; i < *n && i < max; i++)
        if (strcmp(out[i].path, path) == 0) return;
    if (*n < max) {
        snprintf(out[*n].path, sizeof out[*n].path, "%s", path);
        snprintf(out[*n].name, sizeof out[*n].name, "%s", name);
    }
    (*n)++;
}

int sana_model_list(sana_model_info *out, int max) {
    int n = 0;
    const char *env = getenv("SANA_MODEL_DIR");
    if (env && *env && is_dir(env)) {
        if (is_model_dir(env)) {
            const char *base = strrchr(env, '/');
            add(out, max, &n, env, base && base[1] ? base + 1 : env);
        } else {
            DIR *d = opendir(env);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                char p[4096];
                if (e->d_name[0] == '.' || snprintf(p, sizeof p, "%s/%s", env, e->d_name) >= (int)sizeof p) continue;
                if (is_model_dir(p)) add(out, max, &n, p, e->d_name);
            }
            if (d) closedir(d);
        }
    }
    char hub[4096];
    if (hub_cache(hub, sizeof hub)) {
        DIR *d = opendir(hub);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strncmp(e->d_name, "models--", 8) != 0) continue;
            char entry[4096], snap[4096], name[256];
            if (snprintf(entry, sizeof entry, "%s/%s", hub, e->d_name) >= (int)sizeof entry) continue;
            if (!hub_snapshot(entry, snap, sizeof snap)) continue;
            // models--ORG--NAME -> ORG/NAME
            const char *org = e->d_name + 8, *sep = strstr(org, "--");
            if (!sep) continue;
            snprintf(name, sizeof name, "%.*s/%s", (int)(sep - org), org, sep + 2);
            add(out, max, &n, snap, name);
        }
        if (d) closedir(d);
    }
    return n;
}

sana_status sana_model_resolve(const char *model, char *path, size_t size, sana_error *err) {
    if (model && *model) {
        if (is_dir(model)) {
            if (snprintf(path, size, "%s", model) >= (int)size)
                return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", model);
            return SANA_OK;
        }
        char entry[512], hub[4096], full[4096];
        // A path (absolute, relative with ./ or ../, ~, or whose first component is a local
        // folder, such as build/model) that is not a folder.
        char first[256];
        const char *slash = strchr(model, '/');
        snprintf(first, sizeof first, "%.*s", slash ? (int)(slash - model) : 0, model);
        if (model[0] == '/' || model[0] == '.' || model[0] == '~' || (first[0] && is_dir(first))) {
            struct stat sb;
            return sana_errorf(err, SANA_STATUS_BAD_MODEL, "model folder %s: not a folder (%s)", model,
                               stat(model, &sb) != 0 ? strerror(errno) : "it is a file");
        }
        if (repo_entry_name(model, entry, sizeof entry)) {
            if (hub_cache(hub, sizeof hub) && snprintf(full, sizeof full, "%s/%s", hub, entry) < (int)sizeof full &&
                hub_snapshot(full, path, size))
                return SANA_OK;
            return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                               "model '%s' is not in the Hugging Face cache (%s); download it with: "
                               "hf download %s",
                               model, hub_cache(hub, sizeof hub) ? hub : "no cache folder", model);
        }
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "model '%s' is neither a folder nor a Hugging Face repository id (ORG/NAME)", model);
    }
    sana_model_info found[16];
    int n = sana_model_list(found, 16);
    // Prefer a SANA-Sprint model; otherwise the first one found.
    for (int i = 0; i < n && i < 16; i++)
        if (strstr(found[i].name, "Sprint") || strstr(found[i].name, "sprint"))
            return snprintf(path, size, "%s", found[i].path) < (int)size ? SANA_OK
                                                                         : sana_errorf(err, SANA_STATUS_BAD_INPUT, "model path too long");
    if (n > 0)
        return snprintf(path, size, "%s", found[0].path) < (int)size ? SANA_OK
                                                                     : sana_errorf(err, SANA_STATUS_BAD_INPUT, "model path too long");
    return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                       "no model found (looked in SANA_MODEL_DIR and the Hugging Face cache); download one with: "
                       "hf download %s",
                       DEFAULT_REPO);
}

// Every file the pipelines read, by component. A checkpoint (alt: its component) may be one
// file, an index of shards, or a save_pretrained variant (fp16, bf16) of either.
static const struct {
    const char *file, *alt;
} required[] = {
    {"model_index.json", NULL},
    {"scheduler/scheduler_config.json", NULL},
    {"transformer/config.json", NULL},
    {"transformer/diffusion_pytorch_model.safetensors", "transformer"},
    {"text_encoder/config.json", NULL},
    {"text_encoder/model.safetensors", "text_encoder"},
    {"tokenizer/tokenizer.json", NULL},
    {"vae/config.json", NULL},
    {"vae/diffusion_pytorch_model.safetensors", "vae"},
};

// A checkpoint `file` ("component/stem.safetensors") in any form sana_st_find accepts.
static bool has_checkpoint(const char *dir, const char *component, const char *file) {
    char sub[4096], stem[256], path[4096];
    const char *base = strrchr(file, '/');
    bool index;
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : file);
    stem[strcspn(stem, ".")] = '\0';
    return sana_path_join(sub, sizeof sub, dir, component) && sana_st_find(sub, stem, path, sizeof path, &index);
}

// A folder holding a SanaControlNetModel and nothing else.
static bool is_bare_controlnet(const char *dir) {
    char cls[128];
    if (is_model_dir(dir)) return false;
    class_of(dir, "config.json", cls, sizeof cls);
    return strcmp(cls, "SanaControlNetModel") == 0;
}

sana_status sana_model_check(const char *dir, sana_error *err) {
    if (!is_dir(dir)) return sana_errorf(err, SANA_STATUS_BAD_MODEL, "%s: not a folder", dir);
    if (is_bare_controlnet(dir))
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "%s is a ControlNet (SanaControlNetModel), not a base model: give it as the ControlNet "
                           "(--controlnet) and name a SANA model folder as the model (--model)",
                           dir);
    for (size_t i = 0; i < SANA_ARRAY_LEN(required); i++) {
        if (has_file(dir, required[i].file) ||
            (required[i].alt && has_checkpoint(dir, required[i].alt, required[i].file)))
            continue;
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "%s: missing %s (not a complete diffusers SANA folder; download one with: "
                           "hf download %s)",
                           dir, required[i].file, DEFAULT_REPO);
    }
    char cls[128];
    class_of(dir, "model_index.json", cls, sizeof cls);
    if (strcmp(cls, "SanaControlNetPipeline") == 0) {
        if (!has_file(dir, "controlnet/config.json"))
            return sana_errorf(err, SANA_STATUS_BAD_MODEL, "%s: missing controlnet/config.json (a "
                               "SanaControlNetPipeline folder holds its ControlNet in controlnet/)", dir);
        if (!has_checkpoint(dir, "controlnet", "controlnet/diffusion_pytorch_model.safetensors"))
            return sana_errorf(err, SANA_STATUS_BAD_MODEL, "%s: missing controlnet/diffusion_pytorch_model.safetensors "
                               "(a SanaControlNetPipeline folder holds its ControlNet in controlnet/)", dir);
    }
    return SANA_OK;
}

// dir itself when it holds a SanaControlNetModel, dir/controlnet when dir is a pipeline with one.
static bool controlnet_in(const char *dir, char *path, size_t size) {
    char sub[4096];
    if (is_component_dir(dir) && !is_model_dir(dir)) return snprintf(path, size, "%s", dir) < (int)size;
    if (sana_path_join(sub, sizeof sub, dir, "controlnet") && is_component_dir(sub))
        return snprintf(path, size, "%s", sub) < (int)size;
    return false;
}

sana_status sana_controlnet_resolve(const char *controlnet, char *path, size_t size, sana_error *err) {
    if (!controlnet || !*controlnet)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "no ControlNet named; expected a folder or ORG/NAME");
    char dir[4096], entry[512], hub[4096], full[4096];
    if (is_dir(controlnet)) {
        if (controlnet_in(controlnet, path, size)) return SANA_OK;
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet %s: neither a SanaControlNetModel folder (config.json and "
                           "diffusion_pytorch_model.safetensors) nor a pipeline folder with controlnet/",
                           controlnet);
    }
    if (controlnet[0] == '/' || controlnet[0] == '.' || controlnet[0] == '~') {
        struct stat sb;
        return sana_errorf(err, SANA_STATUS_BAD_MODEL, "ControlNet folder %s: not a folder (%s)", controlnet,
                           stat(controlnet, &sb) != 0 ? strerror(errno) : "it is a file");
    }
    if (!repo_entry_name(controlnet, entry, sizeof entry))
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet '%s' is neither a folder nor a Hugging Face repository id (ORG/NAME)",
                           controlnet);
    if (hub_cache(hub, sizeof hub) && snprintf(full, sizeof full, "%s/%s", hub, entry) < (int)sizeof full &&
        hub_snapshot_where(full, dir, sizeof dir, is_model_or_component_dir) && controlnet_in(dir, path, size))
        return SANA_OK;
    return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                       "ControlNet '%s' is not in the Hugging Face cache (%s); download it with: hf download %s",
                       controlnet, hub_cache(hub, sizeof hub) ? hub : "no cache folder", controlnet);
}
