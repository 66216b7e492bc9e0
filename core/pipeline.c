// pipeline.c: text -> image, the only file that knows all models (sana.h's pipeline API).
//
// Mirrors diffusers src/diffusers/pipelines/sana/pipeline_sana_sprint.py
// (SanaSprintPipeline.__call__): prompt encoding (Gemma-2 with the complex human
// instruction), resolution binning, latents from the seeded CPU generator scaled by sigma_data,
// the SCM loop (sampler/scm.c) with the guidance embedding, the DC-AE decode of
// latent / scaling_factor, resize-and-crop back to the requested size, 8-bit conversion.
// Spec: ../shared/spec/transformer-sampler.md sections 2-3.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "backend.h"
#include "config.h"
#include "image.h"
#include "models/dc-ae.h"
#include "models/prompt-encoder.h"
#include "models/sana-dit.h"
#include "ops.h"
#include "rng.h"
#include "sampler/scm.h"
#include "sana.h"
#include "util.h"

struct sana_pipeline {
    char model_dir[4096];
    char device[32];
    sana_backend *be;
    sana_arena *arena;
    sana_prompt_encoder *text;
    sana_dit *dit;
    sana_dcae *vae;
    sana_scm_config scm;
    double ms[SANA_STAGE_COUNT];
};

const char *sana_stage_name(sana_stage stage) {
    switch (stage) {
    case SANA_STAGE_LOAD: return "Loading model";
    case SANA_STAGE_ENCODE: return "Encoding prompt";
    case SANA_STAGE_DENOISE: return "Denoising";
    case SANA_STAGE_DECODE: return "Decoding";
    default: return "?";
    }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

sana_pipeline_params sana_pipeline_default_params(void) {
    return (sana_pipeline_params){.model = NULL, .device = "auto", .threads = 0};
}

sana_generate_params sana_generate_default_params(void) {
    return (sana_generate_params){
        .prompt = NULL,
        .width = 1024,
        .height = 1024,
        .steps = 2,
        .seed = 0,
        .guidance = 4.5f,
        .max_timestep = SANA_SCM_DEFAULT_MAX_TIMESTEP,
        .intermediate_timestep = SANA_SCM_DEFAULT_INTERMEDIATE_TIMESTEP,
        .resolution_binning = true,
        .complex_human_instruction = NULL,
    };
}

const char *sana_pipeline_model_dir(const sana_pipeline *p) { return p->model_dir; }
const char *sana_pipeline_device(const sana_pipeline *p) { return p->device; }

void sana_pipeline_timings(const sana_pipeline *p, double ms[SANA_STAGE_COUNT]) {
    memcpy(ms, p->ms, sizeof p->ms);
}

void sana_pipeline_free(sana_pipeline *p) {
    if (!p) return;
    sana_dcae_free(p->vae);
    sana_dit_free(p->dit);
    sana_prompt_encoder_free(p->text);
    sana_arena_free(p->arena);
    sana_backend_free(p->be);
    free(p);
}

static bool report(sana_progress_fn fn, void *user, sana_stage stage, int step, int total) {
    return fn ? fn(user, stage, step, total) : true;
}

sana_status sana_pipeline_new(const sana_pipeline_params *params, sana_pipeline **out, sana_error *err) {
    *out = NULL;
    const double t0 = now_ms();
    sana_pipeline *p = calloc(1, sizeof *p);
    if (!p) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory creating the pipeline");
    sana_status s;
    char path[4096];
    if ((s = sana_model_resolve(params->model, p->model_dir, sizeof p->model_dir, err))) goto fail;
    if ((s = sana_model_check(p->model_dir, err))) goto fail;
    if ((s = sana_backend_new(params->device ? params->device : "auto", params->threads, &p->be, err))) goto fail;
    snprintf(p->device, sizeof p->device, "%s", p->be->i->name);
    if (!(p->arena = sana_arena_new(p->be, 0))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory creating the activation arena");
        goto fail;
    }
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 0, 3)) goto cancelled;
    if ((s = sana_scm_config_load(sana_path_join(path, sizeof path, p->model_dir, "scheduler/scheduler_config.json"),
                                  &p->scm, err)))
        goto fail;
    if ((s = sana_dit_load(sana_path_join(path, sizeof path, p->model_dir, "transformer"), p->be, &p->dit, err)))
        goto fail;
    if (!p->dit->config.guidance_embeds) {
        s = sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                        "%s: the transformer has no guidance embedding: it is a multi-step SANA model, not "
                        "SANA-Sprint",
                        p->model_dir);
        goto fail;
    }
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 1, 3)) goto cancelled;
    char tok_dir[4096];
    if ((s = sana_prompt_encoder_new(sana_path_join(tok_dir, sizeof tok_dir, p->model_dir, "tokenizer"),
                                     sana_path_join(path, sizeof path, p->model_dir, "text_encoder"), p->be, &p->text,
                                     err)))
        goto fail;
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 2, 3)) goto cancelled;
    if ((s = sana_dcae_load(sana_path_join(path, sizeof path, p->model_dir, "vae"), p->be, SANA_DCAE_DECODER, &p->vae,
                            err)))
        goto fail;
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 3, 3)) goto cancelled;
    p->ms[SANA_STAGE_LOAD] = now_ms() - t0;
    *out = p;
    return SANA_OK;
cancelled:
    s = sana_errorf(err, SANA_STATUS_CANCELLED, "cancelled while loading the model");
fail:
    sana_pipeline_free(p);
    return s;
}

// ------------------------------------------------------------------------------------------------
// Generation

static sana_status check_params(const sana_pipeline *p, const sana_generate_params *g, sana_error *err) {
    if (!g->prompt) return sana_errorf(err, SANA_STATUS_BAD_INPUT, "prompt is missing");
    const char *c = g->prompt;
    while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\f' || *c == '\v') c++;
    if (!*c) return sana_errorf(err, SANA_STATUS_BAD_INPUT, "prompt is empty; describe the image to generate");
    if (g->width < 32 || g->width > SANA_MAX_SIDE || g->height < 32 || g->height > SANA_MAX_SIDE)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "size %dx%d: width and height must be 32 to %d", g->width,
                           g->height, SANA_MAX_SIDE);
    if (!g->resolution_binning && (g->width % 32 || g->height % 32))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT,
                           "size %dx%d: without resolution binning width and height must be multiples of 32",
                           g->width, g->height);
    if (g->resolution_binning && p->dit->config.sample_size != 32)
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "resolution binning needs a 1024-class model (transformer sample_size 32, this one has "
                           "%d); turn binning off",
                           p->dit->config.sample_size);
    if (g->steps < 1 || g->steps > 4)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "steps is %d; expected 1 to 4", g->steps);
    if (!(g->guidance >= 0.0f && g->guidance <= 100.0f))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "guidance is %g; expected 0 to 100", g->guidance);
    return SANA_OK;
}

// The guidance value the reference feeds: guidance_scale in the prompt embeddings' dtype, times
// guidance_embeds_scale in float, rounded back to that dtype. The CPU computes in fp32, as
// diffusers with an fp32 text encoder (0.45000002 for 4.5); a bf16 backend matches diffusers'
// recommended bf16 pipeline (0.44921875).
static float guidance_value(float guidance, float scale, bool bf16) {
    if (bf16) return sana_bf16_to_f32(sana_f32_to_bf16(sana_bf16_to_f32(sana_f32_to_bf16(guidance)) * scale));
    return guidance * scale;
}

typedef struct loop_state {
    sana_pipeline *p;
    const sana_generate_params *g;
    sana_dit_caption *cap;
    sana_tensor tau, guidance; // (1)
    sana_rng rng;
    float *noise_host;
    int64_t numel;
} loop_state;

static void velocity(void *user, sana_tensor *v, const sana_tensor *x_in, float tau) {
    loop_state *s = user;
    sana_upload(s->p->be, &s->tau, &tau);
    sana_dit_forward(s->p->dit, s->p->arena, v, x_in, s->cap, &s->tau, &s->guidance, NULL);
}

static void noise(void *user, sana_tensor *z, int step) {
    loop_state *s = user;
    (void)step;
    sana_rng_randn(&s->rng, s->noise_host, s->numel); // one draw per step, as SCMScheduler.step
    sana_upload(s->p->be, z, s->noise_host);
}

static bool step_done(void *user, int step, const sana_tensor *x, const sana_tensor *x0) {
    loop_state *s = user;
    (void)x, (void)x0;
    return report(s->g->progress, s->g->progress_user, SANA_STAGE_DENOISE, step + 1, s->g->steps);
}

sana_status sana_generate(sana_pipeline *p, const sana_generate_params *g, sana_image *out, sana_error *err) {
    memset(out, 0, sizeof *out);
    sana_status s = check_params(p, g, err);
    if (s) return s;
    sana_backend *be = p->be;
    sana_error_clear(&be->error);
    const sana_arena_mark mark = sana_arena_get_mark(p->arena);
    float *host = NULL, *image = NULL, *cropped = NULL;
    loop_state ls = {.p = p, .g = g};
    sana_dit_caption cap = {0};
    for (int i = 0; i < SANA_STAGE_COUNT; i++)
        if (i != SANA_STAGE_LOAD) p->ms[i] = 0;

    // Size: the nearest trained bin (then resized back), or exactly what was asked.
    int H = g->height, W = g->width;
    if (g->resolution_binning) sana_image_bin_1024(g->height, g->width, &H, &W);
    const int C = p->dit->config.in_channels, f = sana_dcae_spatial_factor(p->vae), h = H / f, w = W / f;
    if (H % f || W % f) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "size %dx%d is not a whole number of %d-pixel latent cells", W, H, f);
        goto done;
    }

    // 1. Prompt -> caption embeddings (1, 300, 2304) and mask -> the transformer's caption half.
    double t = now_ms();
    if (!report(g->progress, g->progress_user, SANA_STAGE_ENCODE, 0, 1)) goto cancelled;
    sana_prompt_params pp = sana_prompt_params_default();
    const char *chi = g->complex_human_instruction;
    if (chi) { // "" turns the instruction off; another text replaces it (one line)
        pp.chi_lines = chi[0] ? &chi : NULL;
        pp.n_chi_lines = chi[0] ? 1 : 0;
    }
    const int L = pp.max_sequence_length;
    sana_tensor embeds = sana_new_f32(p->arena, 1, L, sana_prompt_encoder_model(p->text)->config.hidden_size);
    sana_tensor bias = sana_new_f32(p->arena, 1, L);
    if (!(host = malloc(sizeof(float) * 2 * (size_t)L))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for the prompt mask");
        goto done;
    }
    if ((s = sana_prompt_encode(p->text, p->arena, &g->prompt, 1, &pp, &embeds, host, NULL, err))) goto done;
    sana_dit_mask_to_bias(host + L, host, L); // mask (L) -> additive bias (L)
    sana_upload(be, &bias, host + L);
    sana_dit_prepare_caption(p->dit, p->arena, &embeds, &bias, &cap, NULL);
    if ((s = sana_backend_sync(be, err))) goto done;
    p->ms[SANA_STAGE_ENCODE] = now_ms() - t;
    if (!report(g->progress, g->progress_user, SANA_STAGE_ENCODE, 1, 1)) goto cancelled;

    // 2. Latents: randn from the seeded CPU generator, times sigma_data; then the SCM loop.
    t = now_ms();
    if (!report(g->progress, g->progress_user, SANA_STAGE_DENOISE, 0, g->steps)) goto cancelled;
    ls.cap = &cap;
    ls.numel = (int64_t)C * h * w;
    if (!(ls.noise_host = malloc((size_t)ls.numel * sizeof(float)))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for the latents");
        goto done;
    }
    sana_rng_seed(&ls.rng, g->seed, sana_rng_detect_variant());
    sana_rng_randn(&ls.rng, ls.noise_host, ls.numel);
    sana_tensor x = sana_new_f32(p->arena, 1, C, h, w);
    sana_upload(be, &x, ls.noise_host);
    sana_op_axpby(be, &x, p->scm.sigma_data, &x, 0.0f, NULL);
    ls.tau = sana_new_f32(p->arena, 1);
    ls.guidance = sana_new_f32(p->arena, 1);
    const float gv = guidance_value(g->guidance, p->dit->config.guidance_embeds_scale, strcmp(p->device, "cpu") != 0);
    sana_upload(be, &ls.guidance, &gv);
    float T[SANA_SCM_MAX_STEPS + 1];
    if ((s = sana_scm_set_timesteps(g->steps, g->max_timestep, g->intermediate_timestep, T, err))) goto done;
    sana_scm_model model = {.velocity = velocity, .noise = noise, .step_done = step_done, .user = &ls};
    if ((s = sana_scm_sample(be, p->arena, &p->scm, T, g->steps, &model, &x, err))) goto done;
    if ((s = sana_backend_sync(be, err))) goto done;
    p->ms[SANA_STAGE_DENOISE] = now_ms() - t;

    // 3. Decode latent / scaling_factor to [-1, 1], then back to the requested size and 8 bits.
    t = now_ms();
    if (!report(g->progress, g->progress_user, SANA_STAGE_DECODE, 0, 1)) goto cancelled;
    sana_op_axpby(be, &x, 1.0f / sana_dcae_scaling_factor(p->vae), &x, 0.0f, NULL);
    sana_tensor img = sana_new_f32(p->arena, 1, 3, H, W);
    if ((s = sana_dcae_decode(p->vae, p->arena, &img, &x, NULL, NULL, err))) goto done;
    if (!(image = malloc(sizeof(float) * 3 * (size_t)H * W)) ||
        !(cropped = malloc(sizeof(float) * 3 * (size_t)g->height * g->width)) ||
        !(out->rgb = malloc((size_t)3 * g->height * g->width))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for a %dx%d image", g->width, g->height);
        goto done;
    }
    sana_download(be, image, &img);
    if ((s = sana_backend_sync(be, err))) goto done;
    sana_image_resize_and_crop(cropped, image, 3, H, W, g->height, g->width);
    sana_image_to_rgb8(out->rgb, cropped, g->height, g->width);
    out->width = g->width;
    out->height = g->height;
    p->ms[SANA_STAGE_DECODE] = now_ms() - t;
    report(g->progress, g->progress_user, SANA_STAGE_DECODE, 1, 1);
    goto done;

cancelled:
    s = sana_errorf(err, SANA_STATUS_CANCELLED, "cancelled");
done:
    if (s) sana_image_free(out);
    free(ls.noise_host);
    free(host);
    free(image);
    free(cropped);
    sana_dit_caption_free(&cap);
    sana_arena_reset(p->arena, mark);
    return s;
}

void sana_image_free(sana_image *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}
