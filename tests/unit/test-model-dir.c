// test-model-dir: finding model folders (explicit, SANA_MODEL_DIR, the Hugging Face cache with
// HF_HUB_CACHE / HF_HOME) and the completeness check with its message.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utime.h>

#include "../common/check.h"
#include "sana.h"

static const char *files[] = {
    "model_index.json", "scheduler/scheduler_config.json", "transformer/config.json",
    "transformer/diffusion_pytorch_model.safetensors", "text_encoder/config.json",
    "text_encoder/model.safetensors.index.json", "tokenizer/tokenizer.json", "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
};

static void make_model(const char *dir, int skip) {
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if ((int)i == skip) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        check_write(p, "{}", -1);
    }
}

int main(void) {
    char root[1024];
    snprintf(root, sizeof root, "%s", check_tmpdir());
    unsetenv("SANA_MODEL_DIR");
    unsetenv("HF_HUB_CACHE");
    unsetenv("XDG_CACHE_HOME");

    // A Hugging Face cache under HF_HOME with two revisions: refs/main picks one.
    make_model("hf/hub/models--Efficient-Large-Model--Sana_Sprint_0.6B_1024px_diffusers/snapshots/aaa", -1);
    make_model("hf/hub/models--Efficient-Large-Model--Sana_Sprint_0.6B_1024px_diffusers/snapshots/bbb", -1);
    check_write("hf/hub/models--Efficient-Large-Model--Sana_Sprint_0.6B_1024px_diffusers/refs/main", "aaa\n", -1);
    make_model("hf/hub/models--Efficient-Large-Model--Sana_600M_1024px_diffusers/snapshots/ccc", -1);
    char hf_home[1100];
    snprintf(hf_home, sizeof hf_home, "%s/hf", root);
    setenv("HF_HOME", hf_home, 1);

    char path[4096];
    sana_error err = {0};
    sana_status s = sana_model_resolve("Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers", path, sizeof path, &err);
    check_true(s == SANA_OK && strstr(path, "/snapshots/aaa"), "repo id resolves through refs/main", "%s %s", path,
               err.message);
    err = (sana_error){0};
    s = sana_model_resolve(NULL, path, sizeof path, &err);
    check_true(s == SANA_OK && strstr(path, "Sana_Sprint"), "no model named: the Sprint model is preferred", "%s %s",
               path, err.message);
    err = (sana_error){0};
    s = sana_model_resolve("Efficient-Large-Model/Sana_Sprint_1.6B_1024px_diffusers", path, sizeof path, &err);
    check_error("repo id not in the cache", s, &err, SANA_STATUS_BAD_MODEL, "not in the Hugging Face cache",
                "hf download Efficient-Large-Model/Sana_Sprint_1.6B_1024px_diffusers", NULL);
    err = (sana_error){0};
    s = sana_model_resolve("no-such-thing", path, sizeof path, &err);
    check_error("neither a folder nor a repo id", s, &err, SANA_STATUS_BAD_MODEL, "'no-such-thing'", NULL);

    // HF_HUB_CACHE wins over HF_HOME.
    make_model("hub2/models--me--Sana_Sprint_custom/snapshots/r1", -1);
    char hub2[1100];
    snprintf(hub2, sizeof hub2, "%s/hub2", root);
    setenv("HF_HUB_CACHE", hub2, 1);
    sana_model_info list[8];
    int n = sana_model_list(list, 8);
    check_true(n == 1 && strcmp(list[0].name, "me/Sana_Sprint_custom") == 0, "HF_HUB_CACHE is the cache when set",
               "n=%d %s", n, n ? list[0].name : "");
    unsetenv("HF_HUB_CACHE");

    // SANA_MODEL_DIR: a folder of model folders, listed before the cache.
    make_model("models/my-sprint", -1);
    char models[1100];
    snprintf(models, sizeof models, "%s/models", root);
    setenv("SANA_MODEL_DIR", models, 1);
    n = sana_model_list(list, 8);
    check_true(n == 3 && strcmp(list[0].name, "my-sprint") == 0, "SANA_MODEL_DIR first, then the cache", "n=%d", n);

    // Completeness.
    snprintf(path, sizeof path, "%s/models/my-sprint", root);
    err = (sana_error){0};
    check_true(sana_model_check(path, &err) == SANA_OK, "complete folder passes the check", "%s", err.message);
    make_model("partial", 6);
    snprintf(path, sizeof path, "%s/partial", root);
    err = (sana_error){0};
    s = sana_model_check(path, &err);
    check_error("folder without the tokenizer", s, &err, SANA_STATUS_BAD_MODEL, path, "missing tokenizer/tokenizer.json",
                "hf download", NULL);
    err = (sana_error){0};
    s = sana_model_check("/nonexistent/model", &err);
    check_error("missing folder", s, &err, SANA_STATUS_BAD_MODEL, "/nonexistent/model", "not a folder", NULL);

    // Weights saved as a variant (save_pretrained(variant="fp16")) count as present.
    make_model("variant", 3);
    check_write("variant/transformer/diffusion_pytorch_model.fp16.safetensors", "{}", -1);
    snprintf(path, sizeof path, "%s/variant", root);
    err = (sana_error){0};
    check_true(sana_model_check(path, &err) == SANA_OK, "fp16 variant weights pass the check", "%s", err.message);

    // A SanaControlNetPipeline folder needs its controlnet/; a bare ControlNet is not a model.
    make_model("cnpipe", -1);
    check_write("cnpipe/model_index.json", "{\"_class_name\": \"SanaControlNetPipeline\"}", -1);
    snprintf(path, sizeof path, "%s/cnpipe", root);
    err = (sana_error){0};
    check_error("SanaControlNetPipeline without controlnet/", sana_model_check(path, &err), &err,
                SANA_STATUS_BAD_MODEL, "missing controlnet/config.json", NULL);
    check_write("cnpipe/controlnet/config.json", "{\"_class_name\": \"SanaControlNetModel\"}", -1);
    check_write("cnpipe/controlnet/diffusion_pytorch_model.bf16.safetensors", "{}", -1);
    err = (sana_error){0};
    check_true(sana_model_check(path, &err) == SANA_OK, "SanaControlNetPipeline with controlnet/ passes", "%s",
               err.message);
    char cn[1100], resolved[4096];
    snprintf(cn, sizeof cn, "%s/cnpipe/controlnet", root);
    err = (sana_error){0};
    check_error("a bare ControlNet folder as a model", sana_model_check(cn, &err), &err, SANA_STATUS_BAD_MODEL,
                "is a ControlNet", "--controlnet", NULL);
    err = (sana_error){0};
    check_true(sana_controlnet_resolve(path, resolved, sizeof resolved, &err) == SANA_OK &&
                   strcmp(resolved, cn) == 0,
               "a pipeline folder resolves to its controlnet/", "%s %s", resolved, err.message);
    err = (sana_error){0};
    check_true(sana_controlnet_resolve(cn, resolved, sizeof resolved, &err) == SANA_OK && strcmp(resolved, cn) == 0,
               "a ControlNet folder resolves to itself", "%s %s", resolved, err.message);
    err = (sana_error){0};
    check_error("an uncached ControlNet repository", sana_controlnet_resolve("org/none", resolved, sizeof resolved, &err),
                &err, SANA_STATUS_BAD_MODEL, "org/none", "hf download", NULL);
    return check_summary("model-dir");
}
