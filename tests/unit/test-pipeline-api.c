// test-pipeline-api: the public pipeline API on the tiny model: progress order, cancellation at
// a step boundary, determinism of a seed, and the one-line errors for bad parameters; then the
// multi-step and ControlNet additions: what a pipeline reports about itself, control images of
// the wrong size or without a ControlNet, a ControlNet that does not fit the base model, and a
// ControlNet folder given as the model.
//
// usage: test-pipeline-api DATA_DIR   (uses DATA_DIR/pipeline-sprint, pipeline-sana,
//        pipeline-sana-controlnet, controlnet-sana, pipeline-sprint-controlnet)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "sana.h"

typedef struct progress_log {
    char text[4096];
    size_t len;
    sana_stage cancel_stage; // cancel when this stage reports cancel_step
    int cancel_step;
} progress_log;

static bool on_progress(void *user, sana_stage stage, int step, int total) {
    progress_log *l = user;
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "%d:%d/%d ", (int)stage, step, total);
    return !(stage == l->cancel_stage && step == l->cancel_step);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char model[4096];
    snprintf(model, sizeof model, "%s/pipeline-sprint", argv[1]);
    sana_pipeline_params pp = sana_pipeline_default_params();
    pp.model = model;
    pp.device = "cpu";
    sana_error err = {0};
    sana_pipeline *p = NULL;
    if (!check_true(sana_pipeline_new(&pp, &p, &err) == SANA_OK, "the tiny pipeline loads", "%s", err.message))
        return check_summary("pipeline-api");

    // Progress: each stage starts at 0 and counts its steps, in order.
    progress_log log = {.cancel_stage = SANA_STAGE_COUNT};
    sana_generate_params g = sana_generate_default_params();
    g.prompt = "a small boat on a lake";
    g.width = 96;
    g.height = 64;
    g.resolution_binning = false;
    g.steps = 3;
    g.seed = 5;
    g.progress = on_progress;
    g.progress_user = &log;
    sana_image a = {0}, b = {0};
    sana_status s = sana_generate(p, &g, &a, &err);
    check_true(s == SANA_OK && a.width == 96 && a.height == 64 && a.rgb, "a 96x64 image", "%s", err.message);
    check_true(strcmp(log.text, "1:0/1 1:1/1 2:0/3 2:1/3 2:2/3 2:3/3 3:0/1 3:1/1 ") == 0,
               "progress: encode, 3 denoising steps, decode, in order", "%s", log.text);

    // The same seed gives the same image; another seed another image.
    g.progress = NULL;
    s = sana_generate(p, &g, &b, &err);
    check_true(s == SANA_OK && memcmp(a.rgb, b.rgb, (size_t)96 * 64 * 3) == 0, "the same seed repeats the image exactly",
               "%s", err.message);
    sana_image_free(&b);
    g.seed = 6;
    s = sana_generate(p, &g, &b, &err);
    check_true(s == SANA_OK && memcmp(a.rgb, b.rgb, (size_t)96 * 64 * 3) != 0, "another seed gives another image", "%s",
               err.message);
    sana_image_free(&b);

    // Cancel after the second denoising step: CANCELLED and no image.
    log = (progress_log){.cancel_stage = SANA_STAGE_DENOISE, .cancel_step = 2};
    g.progress = on_progress;
    err = (sana_error){0};
    b.rgb = (uint8_t *)1; // must be cleared
    s = sana_generate(p, &g, &b, &err);
    check_error("cancel at a step boundary", s, &err, SANA_STATUS_CANCELLED, "cancelled", NULL);
    check_true(b.rgb == NULL && b.width == 0, "a cancelled call returns no image", "%p", (void *)b.rgb);
    check_true(strstr(log.text, "2:3/3") == NULL && strstr(log.text, "3:") == NULL, "no work after the cancel", "%s",
               log.text);
    g.progress = NULL;
    g.seed = 5;
    err = (sana_error){0};
    s = sana_generate(p, &g, &b, &err);
    check_true(s == SANA_OK && memcmp(a.rgb, b.rgb, (size_t)96 * 64 * 3) == 0,
               "after a cancel the pipeline generates the same image again", "%s", err.message);
    sana_image_free(&b);

    // Bad parameters: each its own one-line message.
    static const struct {
        const char *what, *needle;
        int width, height, steps;
        bool binning;
        float guidance;
        const char *prompt;
    } bad[] = {
        {"empty prompt", "prompt is empty", 64, 64, 2, false, 4.5f, " \t\n"},
        {"steps 0", "steps is 0; expected 1 to 4", 64, 64, 0, false, 4.5f, "x"},
        {"steps 5", "steps is 5; expected 1 to 4", 64, 64, 5, false, 4.5f, "x"},
        {"width not a multiple of 32 without binning", "multiples of 32", 100, 64, 2, false, 4.5f, "x"},
        {"absurd size", "must be 32 to 4096", 64, 100000, 2, true, 4.5f, "x"},
        {"NaN guidance", "guidance is nan", 64, 64, 2, false, NAN, "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sana_generate_params bg = sana_generate_default_params();
        bg.prompt = bad[i].prompt;
        bg.width = bad[i].width;
        bg.height = bad[i].height;
        bg.steps = bad[i].steps;
        bg.resolution_binning = bad[i].binning;
        bg.guidance = bad[i].guidance;
        err = (sana_error){0};
        s = sana_generate(p, &bg, &b, &err);
        check_error(bad[i].what, s, &err, SANA_STATUS_BAD_INPUT, bad[i].needle, NULL);
    }
    sana_image_free(&a);
    sana_pipeline_free(p);

    // A device this build cannot use.
    pp.device = "tpu";
    err = (sana_error){0};
    s = sana_pipeline_new(&pp, &p, &err);
    check_error("unknown device", s, &err, SANA_STATUS_BAD_INPUT, "tpu", NULL);
    pp.device = "cpu";

    // What a Sprint pipeline reports; a control image without a ControlNet.
    err = (sana_error){0};
    if (check_true(sana_pipeline_new(&pp, &p, &err) == SANA_OK, "the tiny Sprint pipeline loads again", "%s",
                   err.message)) {
        sana_pipeline_info info;
        sana_pipeline_get_info(p, &info);
        check_true(info.kind == SANA_MODEL_SPRINT && info.max_steps == 4 && info.default_steps == 2 &&
                       !info.has_controlnet && info.controlnet_dir == NULL,
                   "Sprint: 1-4 steps (2), no ControlNet", "kind %d, steps %d..%d (%d)", (int)info.kind,
                   info.min_steps, info.max_steps, info.default_steps);
        sana_image ctl = {64, 64, calloc(64 * 64 * 3, 1)};
        sana_generate_params cg = sana_generate_default_params();
        cg.prompt = "x";
        cg.width = cg.height = 64;
        cg.resolution_binning = false;
        cg.control_image = &ctl;
        err = (sana_error){0};
        check_error("a control image without a ControlNet", sana_generate(p, &cg, &b, &err), &err,
                    SANA_STATUS_BAD_INPUT, "control image", "no ControlNet", NULL);
        free(ctl.rgb);
        sana_pipeline_free(p);
    }

    // A SanaControlNetPipeline folder: multi-step, its ControlNet loaded; control images must have
    // the generation size.
    char cn_model[4096], cn_dir[4096];
    snprintf(cn_model, sizeof cn_model, "%s/pipeline-sana-controlnet", argv[1]);
    pp.model = cn_model;
    err = (sana_error){0};
    if (check_true(sana_pipeline_new(&pp, &p, &err) == SANA_OK, "the tiny SanaControlNetPipeline loads", "%s",
                   err.message)) {
        sana_pipeline_info info;
        sana_pipeline_get_info(p, &info);
        check_true(info.kind == SANA_MODEL_MULTISTEP && info.max_steps == 50 && info.default_steps == 20 &&
                       info.has_controlnet && info.controlnet_layers == 2 && info.controlnet_dir &&
                       strstr(info.controlnet_dir, "controlnet"),
                   "multi-step: 1-50 steps (20), its ControlNet loaded", "kind %d, steps %d..%d (%d), %d layers",
                   (int)info.kind, info.min_steps, info.max_steps, info.default_steps, info.controlnet_layers);
        sana_generate_params d = sana_pipeline_generate_defaults(p);
        check_true(d.steps == 20 && d.guidance == 4.5f && d.control_scale == 1.0f && !d.negative_prompt,
                   "multi-step defaults: 20 steps, guidance 4.5, control scale 1", "%d, %g, %g", d.steps, d.guidance,
                   d.control_scale);
        int gw = 0, gh = 0;
        err = (sana_error){0};
        s = sana_pipeline_generation_size(p, 400, 300, true, &gw, &gh, &err);
        check_true(s == SANA_OK && gw == 1152 && gh == 832, "generation size of 400x300 with binning: 1152x832",
                   "%dx%d %s", gw, gh, err.message);
        sana_image ctl = {100, 64, calloc(100 * 64 * 3, 1)};
        sana_generate_params cg = sana_pipeline_generate_defaults(p);
        cg.prompt = "x";
        cg.width = 96;
        cg.height = 64;
        cg.steps = 2;
        cg.resolution_binning = false;
        cg.control_image = &ctl;
        err = (sana_error){0};
        check_error("a control image of the wrong size", sana_generate(p, &cg, &b, &err), &err, SANA_STATUS_BAD_INPUT,
                    "control image is 100x64", "expected 96x64", NULL);
        ctl.width = 96;
        cg.control_scale = -1.0f;
        err = (sana_error){0};
        check_error("a negative control scale", sana_generate(p, &cg, &b, &err), &err, SANA_STATUS_BAD_INPUT,
                    "control scale is -1", NULL);
        cg.control_scale = 1.0f;
        cg.steps = 51;
        err = (sana_error){0};
        check_error("multi-step: steps 51", sana_generate(p, &cg, &b, &err), &err, SANA_STATUS_BAD_INPUT,
                    "steps is 51; expected 1 to 50", NULL);
        cg.steps = 2;
        err = (sana_error){0};
        s = sana_generate(p, &cg, &b, &err);
        check_true(s == SANA_OK && b.width == 96 && b.height == 64, "a 96x64 image with a control image", "%s",
                   err.message);
        sana_image_free(&b);
        free(ctl.rgb);
        sana_pipeline_free(p);
    }

    // A ControlNet of another width than the transformer (24 vs 16).
    snprintf(cn_model, sizeof cn_model, "%s/pipeline-sana", argv[1]);
    snprintf(cn_dir, sizeof cn_dir, "%s/controlnet-sana/controlnet", argv[1]);
    pp.model = cn_model;
    pp.controlnet = cn_dir;
    err = (sana_error){0};
    check_error("a ControlNet whose width does not match the transformer", sana_pipeline_new(&pp, &p, &err), &err,
                SANA_STATUS_BAD_MODEL, "hidden size 24", "transformer's 16", NULL);
    // A SANA-Sprint ControlNet for a multi-step model.
    snprintf(cn_dir, sizeof cn_dir, "%s/pipeline-sprint-controlnet/controlnet", argv[1]);
    err = (sana_error){0};
    check_error("a Sprint ControlNet on a multi-step model", sana_pipeline_new(&pp, &p, &err), &err,
                SANA_STATUS_BAD_MODEL, "SANA-Sprint (guidance embedding) ControlNet", "multi-step", NULL);
    // A ControlNet folder given as the model.
    pp.model = cn_dir;
    pp.controlnet = NULL;
    err = (sana_error){0};
    check_error("a ControlNet folder as the model", sana_pipeline_new(&pp, &p, &err), &err, SANA_STATUS_BAD_MODEL,
                "is a ControlNet", "base model", NULL);
    // Not a ControlNet folder.
    snprintf(cn_model, sizeof cn_model, "%s/pipeline-sana", argv[1]);
    pp.model = cn_model;
    pp.controlnet = argv[1];
    err = (sana_error){0};
    check_error("--controlnet naming a folder without one", sana_pipeline_new(&pp, &p, &err), &err,
                SANA_STATUS_BAD_MODEL, "neither a SanaControlNetModel folder", NULL);
    return check_summary("pipeline-api");
}
