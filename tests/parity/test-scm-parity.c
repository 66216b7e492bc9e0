// test-scm-parity: the SCM / TrigFlow sampler against SanaSprintPipeline, step by step, in fp32.
//
// usage: test-scm-parity FIXTURE_DIR [--device DEV [--expect-module]]
// FIXTURE_DIR holds transformer/, scheduler/scheduler_config.json and scm.safetensors
// (tests/reference/gen_dit.py): for 1, 2 (default 1.3 schedule and linspace), 3 and 4 steps the
// schedule, the noise the reference scheduler drew at each step (injected here), and the latents
// and denoised latents after each step. Schedules must match to 1e-6; latents to 1e-4 on the CPU
// (fp32), or to the bf16 limits below on a GPU backend (DEV, default cpu; see fx_backend).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "models/sana-dit.h"
#include "ops.h"
#include "sampler/scm.h"
#include "util.h"

// Limits for latents on a backend with bf16 GEMM operands (CUDA). Measured: pending GPU.
#define MAX_REL_BF16 3e-2
#define MIN_COS_BF16 0.9995

typedef struct run_state {
    sana_backend *be;
    double max_rel, min_cos; // latents
    sana_arena *arena;
    sana_dit *dit;
    sana_dit_caption *cap;
    sana_tensor tau, guidance; // (B)
    const sana_safetensors *ref;
    const char *case_name;
    int failures;
} run_state;

static void velocity(void *user, sana_tensor *v, const sana_tensor *x_in, float tau) {
    run_state *s = user;
    float t[1] = {tau};
    sana_upload(s->be, &s->tau, t);
    sana_dit_forward(s->dit, s->arena, v, x_in, s->cap, &s->tau, &s->guidance, NULL);
}

static void noise(void *user, sana_tensor *z, int step) {
    run_state *s = user;
    char name[128];
    snprintf(name, sizeof name, "%s.noise.%d", s->case_name, step);
    sana_upload(s->be, z, fx_get(s->ref, name).data);
}

static void check(run_state *s, const sana_tensor *t, const char *what, int step) {
    char name[128];
    if (step >= 0)
        snprintf(name, sizeof name, "%s.%s.%d", s->case_name, what, step);
    else
        snprintf(name, sizeof name, "%s.%s", s->case_name, what);
    sana_tensor ref = fx_get(s->ref, name);
    float *got = fx_download(s->be, t);
    if (!compare_report(name, got, ref.data, (size_t)sana_tensor_numel(&ref), s->max_rel, s->min_cos)) s->failures++;
    free(got);
}

static bool step_done(void *user, int step, const sana_tensor *x, const sana_tensor *x0) {
    run_state *s = user;
    check(s, x, "latents", step);
    check(s, x0, "denoised", step);
    return true;
}

int main(int argc, char **argv) {
    const char *dir = NULL, *device = "cpu";
    bool expect_module = false, bad = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--expect-module") == 0)
            expect_module = true;
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else
            bad = true;
    }
    if (!dir || bad) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [--device DEV [--expect-module]]\n", argv[0]);
        return 2;
    }
    char path[4096];
    sana_error err = {0};
    sana_backend *be = fx_backend(device, expect_module);
    const bool fp32 = strcmp(be->i->name, "cpu") == 0;
    run_state s = {.be = be, .max_rel = fp32 ? 1e-4 : MAX_REL_BF16, .min_cos = fp32 ? 0.99999 : MIN_COS_BF16};
    printf("device %s (%s): latents within rel <= %g, cos >= %g\n", device, be->i->name, s.max_rel, s.min_cos);
    fx_check(sana_dit_load(sana_path_join(path, sizeof path, dir, "transformer"), be, &s.dit, &err), &err,
             "load transformer");
    sana_scm_config scm;
    fx_check(sana_scm_config_load(sana_path_join(path, sizeof path, dir, "scheduler/scheduler_config.json"), &scm,
                                  &err),
             &err, "scheduler config");
    s.ref = fx_open(sana_path_join(path, sizeof path, dir, "scm.safetensors"));
    s.arena = sana_arena_new(be, 0);

    // The guidance the Sprint pipeline feeds: float32(4.5) * guidance_embeds_scale, in float32.
    float g = 4.5f * s.dit->config.guidance_embeds_scale;
    if (!compare_report("guidance", &g, fx_get(s.ref, "guidance").data, 1, 0, 1.0)) s.failures++;
    s.tau = sana_new_f32(s.arena, 1);
    s.guidance = sana_new_f32(s.arena, 1);
    sana_upload(be, &s.guidance, &g);

    sana_tensor y = fx_upload(be, s.arena, s.ref, "input.prompt_embeds");
    sana_tensor mask = fx_get(s.ref, "input.prompt_attention_mask");
    float bias_h[1024];
    SANA_ASSERT(sana_tensor_numel(&mask) <= 1024);
    sana_dit_mask_to_bias(bias_h, mask.data, sana_tensor_numel(&mask));
    sana_tensor bias = sana_new_f32(s.arena, mask.shape[0], mask.shape[1]);
    sana_upload(be, &bias, bias_h);
    sana_dit_caption cap;
    sana_dit_prepare_caption(s.dit, s.arena, &y, &bias, &cap, NULL);
    s.cap = &cap;
    sana_tensor latents = fx_get(s.ref, "input.latents");
    sana_tensor x = sana_arena_tensor(s.arena, SANA_DTYPE_F32, latents.ndim, latents.shape);

    static const struct {
        const char *name;
        int steps;
        float intermediate;
    } cases[] = {{"steps1", 1, NAN}, {"steps2", 2, SANA_SCM_DEFAULT_INTERMEDIATE_TIMESTEP},
                 {"steps2-linspace", 2, NAN}, {"steps3", 3, NAN}, {"steps4", 4, NAN}};
    sana_scm_model model = {.velocity = velocity, .noise = noise, .step_done = step_done, .user = &s};
    for (size_t c = 0; c < SANA_ARRAY_LEN(cases); c++) {
        s.case_name = cases[c].name;
        float T[SANA_SCM_MAX_STEPS + 1];
        fx_check(sana_scm_set_timesteps(cases[c].steps, SANA_SCM_DEFAULT_MAX_TIMESTEP, cases[c].intermediate, T, &err),
                 &err, "set_timesteps");
        char name[64];
        snprintf(name, sizeof name, "%s.timesteps", s.case_name);
        if (!compare_report(name, T, fx_get(s.ref, name).data, (size_t)cases[c].steps + 1, 1e-6, 0.999999))
            s.failures++;
        // The pipeline scales its initial N(0, I) latents by sigma_data.
        sana_upload(be, &x, latents.data);
        sana_op_axpby(be, &x, scm.sigma_data, &x, 0.0f, NULL);
        fx_check(sana_scm_sample(be, s.arena, &scm, T, cases[c].steps, &model, &x, &err), &err, "sample");
        check(&s, &x, "output", -1);
    }
    fx_check(sana_backend_sync(be, &err), &err, "backend");
    printf("%s: %d failure(s)\n", dir, s.failures);
    sana_dit_caption_free(&cap);
    sana_arena_free(s.arena);
    sana_st_free((sana_safetensors *)s.ref);
    sana_dit_free(s.dit);
    sana_backend_free(be);
    return s.failures ? 1 : 0;
}
