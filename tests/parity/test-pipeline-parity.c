// test-pipeline-parity: `sana generate` against diffusers' pipelines, end to end.
//
// usage: test-pipeline-parity SANA_EXE FIXTURE_DIR
// FIXTURE_DIR is a tiny folder saved by diffusers (tests/reference/gen_pipeline.py: a
// SanaSprintPipeline; gen_controlnet.py: SanaPipeline, SanaControlNetPipeline, and a Sprint
// ControlNet beside tests/data/pipeline-sprint) with reference/<case>.png made by the pipeline
// with torch.Generator("cpu").manual_seed(seed) and the cases in cases.json (steps, sizes,
// resolution binning on and off; optionally a negative prompt, a control image and its scale,
// and "model" / "controlnet" folders relative to FIXTURE_DIR given to the command instead of
// FIXTURE_DIR itself). For each case the real command runs with the same prompt, seed and
// settings, and every channel of every pixel must be within 2/255 of diffusers' image.
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yyjson.h>

#include "../common/check.h"

typedef struct rgb_image {
    int w, h;
    unsigned char *px; // RGB
} rgb_image;

static bool read_png(const char *path, rgb_image *img) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path)) return false;
    pi.format = PNG_FORMAT_RGB;
    img->w = (int)pi.width;
    img->h = (int)pi.height;
    img->px = malloc(PNG_IMAGE_SIZE(pi));
    if (!img->px || !png_image_finish_read(&pi, NULL, img->px, 0, NULL)) {
        png_image_free(&pi);
        free(img->px);
        return false;
    }
    return true;
}

static int run(char *const argv[]) {
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ATEN_CPU_CAPABILITY", "default", 1); // the noise variant the fixture was made with
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SANA_EXE FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    const char *sana = argv[1], *dir = argv[2];
    char path[4096];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    yyjson_doc *doc = yyjson_read_file(path, 0, NULL, NULL);
    yyjson_val *cases = doc ? yyjson_obj_get(yyjson_doc_get_root(doc), "cases") : NULL;
    if (!yyjson_is_arr(cases)) {
        fprintf(stderr, "FAIL %s: cannot read the cases\n", path);
        return 1;
    }
    size_t i, n;
    yyjson_val *c;
    yyjson_arr_foreach(cases, i, n, c) {
        const char *name = yyjson_get_str(yyjson_obj_get(c, "name")), *prompt = yyjson_get_str(yyjson_obj_get(c, "prompt"));
        if (!name || !prompt) {
            check_true(false, "cases.json", "case %zu has no name or prompt", i);
            continue;
        }
        char steps[16], seed[32], width[16], height[16], guidance[32], out[4200], ref[4200];
        snprintf(steps, sizeof steps, "%d", (int)yyjson_get_int(yyjson_obj_get(c, "steps")));
        snprintf(seed, sizeof seed, "%lld", (long long)yyjson_get_int(yyjson_obj_get(c, "seed")));
        snprintf(width, sizeof width, "%d", (int)yyjson_get_int(yyjson_obj_get(c, "width")));
        snprintf(height, sizeof height, "%d", (int)yyjson_get_int(yyjson_obj_get(c, "height")));
        snprintf(guidance, sizeof guidance, "%.9g", yyjson_get_num(yyjson_obj_get(c, "guidance")));
        snprintf(out, sizeof out, "%s/pipeline-%s.png", check_tmpdir(), name);
        snprintf(ref, sizeof ref, "%s/reference/%s.png", dir, name);
        const bool binning = yyjson_get_bool(yyjson_obj_get(c, "binning"));
        const char *negative = yyjson_get_str(yyjson_obj_get(c, "negative_prompt"));
        const char *control = yyjson_get_str(yyjson_obj_get(c, "control"));
        const char *model_rel = yyjson_get_str(yyjson_obj_get(c, "model"));
        const char *cn_rel = yyjson_get_str(yyjson_obj_get(c, "controlnet"));
        char model[4200], cn[4200], control_path[4200], cscale[32];
        snprintf(model, sizeof model, "%s/%s", dir, model_rel ? model_rel : ".");
        snprintf(cn, sizeof cn, "%s/%s", dir, cn_rel ? cn_rel : ".");
        snprintf(control_path, sizeof control_path, "%s/%s", dir, control ? control : "");
        snprintf(cscale, sizeof cscale, "%.9g", yyjson_get_num(yyjson_obj_get(c, "control_scale")));
        char *args[40] = {(char *)sana, "generate", "--model", model, "--prompt",
                          (char *)prompt, "--steps", steps, "--seed", seed,
                          "--width", width, "--height", height, "--guidance", guidance, "--device", "cpu",
                          "--quiet", "--output", out};
        int na = 21;
        if (!binning) args[na++] = "--no-binning";
        if (negative) {
            args[na++] = "--negative-prompt";
            args[na++] = (char *)negative;
        }
        if (control) {
            args[na++] = "--control";
            args[na++] = control_path;
            args[na++] = "--control-scale";
            args[na++] = cscale;
        }
        if (cn_rel) {
            args[na++] = "--controlnet";
            args[na++] = cn;
        }
        args[na] = NULL;
        char what[128];
        snprintf(what, sizeof what, "%s: sana generate %s steps, %sx%s, binning %s%s%s", name, steps, width, height,
                 binning ? "on" : "off", negative && negative[0] ? ", negative prompt" : "",
                 control ? ", control image" : "");
        int rc = run(args);
        rgb_image got = {0}, want = {0};
        if (!check_true(rc == 0 && read_png(out, &got), what, "exit status %d", rc) ||
            !read_png(ref, &want)) {
            free(got.px);
            continue;
        }
        int worst = 0;
        long differ = 0;
        if (got.w == want.w && got.h == want.h)
            for (long k = 0; k < (long)got.w * got.h * 3; k++) {
                int d = abs((int)got.px[k] - (int)want.px[k]);
                if (d > worst) worst = d;
                differ += d != 0;
            }
        snprintf(what, sizeof what, "%s: within 2/255 of diffusers (max %d/255, %ld of %ld values differ)", name,
                 worst, differ, (long)want.w * want.h * 3);
        check_true(got.w == want.w && got.h == want.h && worst <= 2, what, "size %dx%d vs %dx%d", got.w, got.h,
                   want.w, want.h);
        free(got.px);
        free(want.px);
    }
    yyjson_doc_free(doc);
    return check_summary("pipeline");
}
