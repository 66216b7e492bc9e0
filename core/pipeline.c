// pipeline.c: text -> image, the only file that knows all models (sana.h's pipeline API).
//
// Two pipelines, chosen by the model folder (model_index.json's _class_name, else the
// scheduler's class):
// - SANA-Sprint, mirroring diffusers src/diffusers/pipelines/sana/pipeline_sana_sprint.py
//   (SanaSprintPipeline.__call__): prompt encoding (Gemma-2 with the complex human instruction),
//   resolution binning, latents from the seeded CPU generator scaled by sigma_data, the SCM loop
//   (sampler/scm.c) with the guidance embedding. Spec: ../shared/spec/transformer-sampler.md
//   sections 2-3.
// - Multi-step SANA, mirroring pipelines/sana/pipeline_sana.py (SanaPipeline.__call__) and
//   pipeline_sana_controlnet.py (SanaControlNetPipeline.__call__): classifier-free guidance when
//   guidance > 1 with the negative prompt encoded without the instruction (batch [negative;
//   positive], v = v_u + g (v_c - v_u)), plain randn latents, DPM-Solver++ on flow sigmas
//   (sampler/flow-dpm.c) with the model timestep int64(sigma * 1000) (times the transformer's
//   timestep_scale, as SanaPipeline; SanaControlNetPipeline does not scale it, and neither do we
//   when a control image is given). Spec: sections 3.6 and 4.4.
// Both: an optional ControlNet (models/sana-controlnet.c) driven by a control image that is
// normalised to [-1, 1], VAE-encoded and multiplied by scaling_factor once per image; it runs on
// the transformer's own input, timestep and (Sprint) guidance every step (spec 4.4, 4.6). Then
// the DC-AE decode of latent / scaling_factor, resize-and-crop back to the requested size, 8-bit
// conversion.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "backend.h"
#include "config.h"
#include "graph.h"
#include "image.h"
#include "models/dc-ae.h"
#include "models/prompt-encoder.h"
#include "models/sana-controlnet.h"
#include "models/sana-dit.h"
#include "ops.h"
#include "rng.h"
#include "sampler/flow-dpm.h"
#include "sampler/scm.h"
#include "sana.h"
#include "util.h"

#define MULTISTEP_MAX_STEPS 50
#define MULTISTEP_DEFAULT_STEPS 20 // SanaPipeline / SanaControlNetPipeline.__call__

struct sana_pipeline {
    char model_dir[4096];
    char cn_dir[4096]; // the ControlNet's folder, "" without
    char device[32];
    sana_model_kind kind;
    sana_backend *be;
    sana_arena *arena;
    sana_prompt_encoder *text;
    sana_dit *dit;
    sana_dcae *vae;
    sana_controlnet *cn;
    sana_controlnet_wiring wiring;
    sana_scm_config scm;      // Sprint
    sana_flow_dpm_config dpm; // multi-step
    double ms[SANA_STAGE_COUNT];
    sana_profile prof; // of the last generation
    // Recorded graphs (graph.h): the transformer's forward (one per step, same tensors) and the
    // decode with its 8-bit conversion.
    sana_graph_cache g_dit, g_decode;
    // The prompt cache: the last prompt's caption half (embeddings, key bias, the transformer's
    // caption projection and cross-attention keys/values), kept in its own arena and reused when
    // the next generation asks for the same prompt (only seed, size or steps differ).
    struct {
        bool valid;
        char *prompt, *chi, *negative; // chi NULL: the default instruction; negative NULL: ""
        bool cfg;
        sana_arena *arena;
        sana_tensor embeds, bias;
        sana_dit_caption cap;
    } pc;
};

// Timer marker slots (backend.h timer_mark) of one generation.
enum {
    MARK_START = 0,   // sana_generate begins
    MARK_ENCODED,     // the caption half is ready
    MARK_DENOISED,    // the latents are final
    MARK_DONE,        // the image is on the host
    MARK_STEP0 = 8,   // step i: 8 + 2i before the model, 9 + 2i after it
};

static void mark(sana_backend *be, int slot) {
    if (be->i->timer_mark) be->i->timer_mark(be, slot);
}

static double mark_ms(sana_backend *be, int a, int b) {
    return be->i->timer_ms ? be->i->timer_ms(be, a, b) : -1.0;
}

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
    return (sana_pipeline_params){.model = NULL, .device = "auto", .threads = 0, .controlnet = NULL,
                                  .controlnet_wiring = SANA_CONTROLNET_DIFFUSERS};
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
        .negative_prompt = NULL,
        .control_image = NULL,
        .control_scale = 1.0f,
    };
}

sana_generate_params sana_pipeline_generate_defaults(const sana_pipeline *p) {
    sana_generate_params g = sana_generate_default_params();
    if (p->kind == SANA_MODEL_MULTISTEP) g.steps = MULTISTEP_DEFAULT_STEPS; // guidance 4.5 as Sprint
    return g;
}

const char *sana_pipeline_model_dir(const sana_pipeline *p) { return p->model_dir; }
const char *sana_pipeline_device(const sana_pipeline *p) { return p->device; }

void sana_pipeline_get_info(const sana_pipeline *p, sana_pipeline_info *info) {
    const bool sprint = p->kind == SANA_MODEL_SPRINT;
    *info = (sana_pipeline_info){
        .kind = p->kind,
        .min_steps = 1,
        .max_steps = sprint ? 4 : MULTISTEP_MAX_STEPS,
        .default_steps = sprint ? 2 : MULTISTEP_DEFAULT_STEPS,
        .default_guidance = 4.5f,
        .has_controlnet = p->cn != NULL,
        .controlnet_dir = p->cn ? p->cn_dir : NULL,
        .controlnet_layers = p->cn ? p->cn->trunk->config.num_layers : 0,
    };
}

void sana_pipeline_timings(const sana_pipeline *p, double ms[SANA_STAGE_COUNT]) {
    memcpy(ms, p->ms, sizeof p->ms);
}

static void prompt_cache_drop(sana_pipeline *p) {
    p->pc.valid = false;
    free(p->pc.prompt);
    free(p->pc.chi);
    free(p->pc.negative);
    p->pc.prompt = p->pc.chi = p->pc.negative = NULL;
    sana_dit_caption_free(&p->pc.cap);
}

void sana_pipeline_profile(const sana_pipeline *p, sana_profile *out) {
    *out = p->prof;
    sana_backend_memory m = {0};
    if (p->be->i->memory) p->be->i->memory(p->be, &m);
    out->mem_held = m.held;
    out->mem_peak = m.peak;
    out->device_used = m.device_used;
    out->device_total = m.device_total;
}

void sana_pipeline_free(sana_pipeline *p) {
    if (!p) return;
    if (p->be) {
        sana_graph_cache_free(p->be, &p->g_dit);
        sana_graph_cache_free(p->be, &p->g_decode);
    }
    prompt_cache_drop(p);
    sana_arena_free(p->pc.arena);
    sana_dcae_free(p->vae);
    sana_controlnet_free(p->cn);
    sana_dit_free(p->dit);
    sana_prompt_encoder_free(p->text);
    sana_arena_free(p->arena);
    sana_backend_free(p->be);
    free(p);
}

static bool report(sana_progress_fn fn, void *user, sana_stage stage, int step, int total) {
    return fn ? fn(user, stage, step, total) : true;
}

// Which pipeline the folder holds: model_index.json's class, else the scheduler's.
static sana_status choose_kind(sana_pipeline *p, sana_error *err) {
    char path[4096], cls[128], sched[128];
    sana_status s;
    if ((s = sana_json_class_name(sana_path_join(path, sizeof path, p->model_dir, "model_index.json"), cls,
                                  sizeof cls, err)))
        return s;
    if ((s = sana_json_class_name(sana_path_join(path, sizeof path, p->model_dir, "scheduler/scheduler_config.json"),
                                  sched, sizeof sched, err)))
        return s;
    if (strcmp(cls, "SanaSprintPipeline") == 0 || (!cls[0] && strcmp(sched, "SCMScheduler") == 0))
        p->kind = SANA_MODEL_SPRINT;
    else if (strcmp(cls, "SanaPipeline") == 0 || strcmp(cls, "SanaControlNetPipeline") == 0 ||
             (!cls[0] && strcmp(sched, "DPMSolverMultistepScheduler") == 0))
        p->kind = SANA_MODEL_MULTISTEP;
    else
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "%s: pipeline \"%s\" with scheduler \"%s\"; supported are SanaSprintPipeline (SCMScheduler), "
                           "SanaPipeline and SanaControlNetPipeline (DPMSolverMultistepScheduler)",
                           p->model_dir, cls[0] ? cls : "(no _class_name)", sched[0] ? sched : "(no _class_name)");
    return SANA_OK;
}

sana_status sana_pipeline_new(const sana_pipeline_params *params, sana_pipeline **out, sana_error *err) {
    *out = NULL;
    const double t0 = now_ms();
    sana_pipeline *p = calloc(1, sizeof *p);
    if (!p) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory creating the pipeline");
    sana_status s;
    char path[4096];
    sana_error inner = {0};
    if ((s = sana_model_resolve(params->model, p->model_dir, sizeof p->model_dir, &inner))) {
        // A ControlNet alone is not something to generate with: say what is missing.
        if (params->controlnet && params->controlnet[0] && !(params->model && params->model[0]))
            s = sana_errorf(err, s, "the ControlNet %s needs a base SANA model to drive (--model); %s",
                            params->controlnet, inner.message);
        else
            s = sana_errorf(err, s, "%s", inner.message);
        goto fail;
    }
    if ((s = sana_model_check(p->model_dir, err))) goto fail;
    if ((s = choose_kind(p, err))) goto fail;
    const bool sprint = p->kind == SANA_MODEL_SPRINT;
    char cls[128];
    if ((s = sana_json_class_name(sana_path_join(path, sizeof path, p->model_dir, "model_index.json"), cls, sizeof cls,
                                  err)))
        goto fail;
    if (params->controlnet && params->controlnet[0]) {
        if ((s = sana_controlnet_resolve(params->controlnet, p->cn_dir, sizeof p->cn_dir, err))) goto fail;
    } else if (strcmp(cls, "SanaControlNetPipeline") == 0) {
        sana_path_join(p->cn_dir, sizeof p->cn_dir, p->model_dir, "controlnet");
    }
    p->wiring = params->controlnet_wiring;
    if ((unsigned)p->wiring > SANA_CONTROLNET_NVLABS) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "controlnet_wiring is %d; expected SANA_CONTROLNET_DIFFUSERS or "
                        "SANA_CONTROLNET_NVLABS", (int)p->wiring);
        goto fail;
    }
    if ((s = sana_backend_new(params->device ? params->device : "auto", params->threads, &p->be, err))) goto fail;
    snprintf(p->device, sizeof p->device, "%s", p->be->i->name);
    if (!(p->arena = sana_arena_new(p->be, 0))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory creating the activation arena");
        goto fail;
    }
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 0, 3)) goto cancelled;
    sana_path_join(path, sizeof path, p->model_dir, "scheduler/scheduler_config.json");
    if ((s = sprint ? sana_scm_config_load(path, &p->scm, err) : sana_flow_dpm_config_load(path, &p->dpm, err)))
        goto fail;
    char tdir[4096];
    if ((s = sana_dit_load(sana_path_join(tdir, sizeof tdir, p->model_dir, "transformer"), p->be, &p->dit, err)))
        goto fail;
    if (sprint && !p->dit->config.guidance_embeds) {
        s = sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                        "%s: the transformer has no guidance embedding: it is a multi-step SANA model, not "
                        "SANA-Sprint",
                        p->model_dir);
        goto fail;
    }
    const int C = p->dit->config.in_channels, Co = p->dit->config.out_channels;
    if (Co != C && (sprint || Co != 2 * C)) { // multi-step: Co = 2C is a learned sigma, dropped
        s = sana_errorf(err, SANA_STATUS_UNSUPPORTED, "%s: the transformer has %d output channels for %d latent "
                        "channels; expected %d%s", tdir, Co, C, C, sprint ? "" : " (or twice that)");
        goto fail;
    }
    if (!sprint && p->dit->config.guidance_embeds) { // diffusers issue #12540: SanaPipeline fails on these
        s = sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                        "%s: the transformer has a guidance embedding (SANA-Sprint) but the folder is a multi-step "
                        "SANA pipeline; expected a SanaSprintPipeline folder",
                        p->model_dir);
        goto fail;
    }
    if (p->cn_dir[0]) {
        if ((s = sana_controlnet_load(p->cn_dir, p->be, &p->cn, err))) goto fail;
        if ((s = sana_controlnet_check(p->cn, p->cn_dir, p->dit, tdir, err))) goto fail;
    }
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 1, 3)) goto cancelled;
    char tok_dir[4096];
    if ((s = sana_prompt_encoder_new(sana_path_join(tok_dir, sizeof tok_dir, p->model_dir, "tokenizer"),
                                     sana_path_join(path, sizeof path, p->model_dir, "text_encoder"), p->be, &p->text,
                                     err)))
        goto fail;
    if (!report(params->progress, params->progress_user, SANA_STAGE_LOAD, 2, 3)) goto cancelled;
    // The encoder half only when a ControlNet needs control images encoded.
    const unsigned parts = SANA_DCAE_DECODER | (p->cn ? SANA_DCAE_ENCODER : 0u);
    if ((s = sana_dcae_load(sana_path_join(path, sizeof path, p->model_dir, "vae"), p->be, parts, &p->vae, err)))
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

sana_status sana_pipeline_generation_size(const sana_pipeline *p, int width, int height, bool binning,
                                          int *gen_width, int *gen_height, sana_error *err) {
    if (width < 32 || width > SANA_MAX_SIDE || height < 32 || height > SANA_MAX_SIDE)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "size %dx%d: width and height must be 32 to %d", width,
                           height, SANA_MAX_SIDE);
    if (!binning && (width % 32 || height % 32))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT,
                           "size %dx%d: without resolution binning width and height must be multiples of 32", width,
                           height);
    // SanaSprintPipeline bins only for sample_size 32 (ASPECT_RATIO_1024_BIN); SanaPipeline and
    // SanaControlNetPipeline also for 16 (ASPECT_RATIO_512_BIN: the same ratios, every size halved).
    const int ss = p->dit->config.sample_size;
    if (binning && ss != 32 && (p->kind == SANA_MODEL_SPRINT || ss != 16))
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "resolution binning needs a %s model (transformer sample_size %s, this one has %d); turn "
                           "binning off",
                           p->kind == SANA_MODEL_SPRINT ? "1024-class" : "512- or 1024-class",
                           p->kind == SANA_MODEL_SPRINT ? "32" : "16 or 32", ss);
    *gen_width = width;
    *gen_height = height;
    if (binning) {
        sana_image_bin_1024(height, width, gen_height, gen_width);
        if (ss == 16) *gen_height /= 2, *gen_width /= 2;
    }
    return SANA_OK;
}

static sana_status check_params(const sana_pipeline *p, const sana_generate_params *g, int *H, int *W,
                                sana_error *err) {
    if (!g->prompt) return sana_errorf(err, SANA_STATUS_BAD_INPUT, "prompt is missing");
    const char *c = g->prompt;
    while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\f' || *c == '\v') c++;
    if (!*c) return sana_errorf(err, SANA_STATUS_BAD_INPUT, "prompt is empty; describe the image to generate");
    sana_status s = sana_pipeline_generation_size(p, g->width, g->height, g->resolution_binning, W, H, err);
    if (s) return s;
    const int max_steps = p->kind == SANA_MODEL_SPRINT ? 4 : MULTISTEP_MAX_STEPS;
    if (g->steps < 1 || g->steps > max_steps)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "steps is %d; expected 1 to %d", g->steps, max_steps);
    if (!(g->guidance >= 0.0f && g->guidance <= 100.0f))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "guidance is %g; expected 0 to 100", g->guidance);
    if (g->control_image) {
        const sana_image *ci = g->control_image;
        if (!p->cn)
            return sana_errorf(err, SANA_STATUS_BAD_INPUT,
                               "a control image was given but %s has no ControlNet; load one "
                               "(sana_pipeline_params.controlnet, sana generate --controlnet DIR)",
                               p->model_dir);
        if (!ci->rgb || ci->width != *W || ci->height != *H)
            return sana_errorf(err, SANA_STATUS_BAD_INPUT,
                               "control image is %dx%d; expected %dx%d, the generation size for %dx%d%s (resize it "
                               "first, e.g. with sana_image_resize_lanczos)",
                               ci->rgb ? ci->width : 0, ci->rgb ? ci->height : 0, *W, *H, g->width, g->height,
                               g->resolution_binning ? " with resolution binning" : "");
        if (!(g->control_scale >= 0.0f && g->control_scale <= 10.0f))
            return sana_errorf(err, SANA_STATUS_BAD_INPUT, "control scale is %g; expected 0 to 10", g->control_scale);
    }
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
    sana_dit_caption *cap, *cn_cap; // cn_cap: with a control image
    sana_tensor ctrl;               // (1, N, D) the control image's tokens, or unbound
    int B;                          // model batch: 2 with classifier-free guidance
    sana_tensor tau, guidance;      // (B) Sprint: the flow time and the guidance value
    sana_tensor x_in, out;          // multi-step: (B, C, h, w), (B, Co, h, w)
    sana_rng rng;
    float *noise_host;
    int64_t numel;
    int step; // transformer passes so far (profile)
} loop_state;

typedef struct dit_call {
    sana_pipeline *p;
    sana_tensor *out;
    const sana_tensor *x, *t, *guidance;
    const sana_dit_caption *cap;
} dit_call;

static void dit_call_run(void *user) {
    dit_call *d = user;
    sana_dit_forward(d->p->dit, d->p->arena, d->out, d->x, d->cap, d->t, d->guidance, NULL);
}

// The transformer (with the ControlNet when a control image is given). The plain transformer
// runs as a recorded graph (graph.h), keyed by every address it reads or writes: the same
// tensors serve every step and, with the arena at the same position, every generation.
static void model_forward(loop_state *s, sana_tensor *out, const sana_tensor *x, const sana_tensor *t,
                          const sana_tensor *guidance) {
    sana_pipeline *p = s->p;
    sana_backend *be = p->be;
    const int step = s->step < SANA_PROFILE_STEPS ? s->step : -1;
    if (step >= 0) mark(be, MARK_STEP0 + 2 * step);
    if (sana_tensor_is_bound(&s->ctrl)) {
        sana_controlnet_forward_base(p->cn, p->dit, p->arena, out, x, &s->ctrl, s->g->control_scale, p->wiring, s->cap,
                                     s->cn_cap, t, guidance, NULL, NULL);
    } else {
        dit_call d = {.p = p, .out = out, .x = x, .t = t, .guidance = guidance, .cap = s->cap};
        const sana_arena_mark m = sana_arena_get_mark(p->arena);
        sana_graph_key k = {0};
        sana_graph_key_ptr(&k, out->data);
        sana_graph_key_ptr(&k, x->data);
        sana_graph_key_ptr(&k, t->data);
        sana_graph_key_ptr(&k, guidance ? guidance->data : NULL);
        sana_graph_key_ptr(&k, s->cap->y.data);
        sana_graph_key_ptr(&k, s->cap->k[0].data);
        sana_graph_key_ptr(&k, s->cap->v[0].data);
        sana_graph_key_ptr(&k, s->cap->key_bias.data);
        sana_graph_key_add(&k, (uint64_t)s->cap->y.shape[1]);
        for (int i = 0; i < 4; i++) sana_graph_key_add(&k, (uint64_t)x->shape[i]);
        sana_graph_key_add(&k, (uint64_t)m.block);
        sana_graph_key_add(&k, (uint64_t)m.offset);
        if (sana_graph_cache_run(be, &p->g_dit, k.v, k.n, dit_call_run, &d) != SANA_GRAPH_EAGER) p->prof.graph_launches++;
    }
    if (step >= 0) {
        mark(be, MARK_STEP0 + 2 * step + 1);
        p->prof.steps = step + 1;
    }
    s->step++;
}

static void velocity(void *user, sana_tensor *v, const sana_tensor *x_in, float tau) {
    loop_state *s = user;
    sana_upload(s->p->be, &s->tau, &tau);
    model_forward(s, v, x_in, &s->tau, &s->guidance);
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

// Multi-step: v (1, C, h, w) = the guided velocity at x (1, C, h, w) for scheduler timestep t.
static void velocity_cfg(void *user, sana_tensor *v, const sana_tensor *x, int step, int64_t t) {
    loop_state *s = user;
    sana_pipeline *p = s->p;
    sana_backend *be = p->be;
    (void)step;
    const int64_t C = x->shape[1], Co = s->out.shape[1], n = sana_tensor_numel(x);
    // latent_model_input = cat([latents] * 2) with guidance
    for (int b = 0; b < s->B; b++) {
        sana_tensor dst = sana_tensor_slice0(s->x_in, b, 1);
        sana_copy(be, &dst, x);
    }
    // timestep = t.expand(B) (* timestep_scale: SanaPipeline; SanaControlNetPipeline passes t as is)
    const float scale = sana_tensor_is_bound(&s->ctrl) ? 1.0f : p->dit->config.timestep_scale;
    float ts[2] = {(float)t * scale, (float)t * scale};
    sana_upload(be, &s->tau, ts);
    model_forward(s, &s->out, &s->x_in, &s->tau, NULL);
    // noise_pred.chunk(2, dim=1)[0] when the model also predicts a learned sigma (Co = 2C: entry
    // b's first n values), then noise_pred_uncond + guidance_scale * (noise_pred_text -
    // noise_pred_uncond).
    const int64_t k = Co / C;
    sana_tensor rows = sana_tensor_reshape2(s->out, s->B * k, n); // (B k, n)
    sana_tensor uncond = sana_tensor_slice0(rows, 0, 1), vv = sana_tensor_reshape2(*v, 1, n);
    if (s->B == 2) {
        sana_tensor text = sana_tensor_slice0(rows, k, 1);
        sana_op_axpby(be, &text, 1.0f, &text, -1.0f, &uncond);
        sana_op_axpby(be, &vv, 1.0f, &uncond, s->g->guidance, &text);
    } else {
        sana_copy(be, &vv, &uncond);
    }
}

static bool step_done_cfg(void *user, int step, const sana_tensor *x) {
    loop_state *s = user;
    (void)x;
    return report(s->g->progress, s->g->progress_user, SANA_STAGE_DENOISE, step + 1, s->g->steps);
}

// The control image (H, W) RGB8 -> tokens (1, N, D): [0, 1] (x / 255 in float32, as
// pil_to_numpy), 2x - 1, vae.encode(image).latent * scaling_factor, then
// input_block(patch_embed(latent)).
static sana_status encode_control(sana_pipeline *p, const sana_image *ci, int H, int W, sana_tensor *ctrl,
                                  sana_error *err) {
    sana_backend *be = p->be;
    const int f = sana_dcae_spatial_factor(p->vae);
    const int64_t C = p->dit->config.in_channels, h = H / f, w = W / f, plane = (int64_t)H * W;
    float *host = malloc(sizeof(float) * 3 * (size_t)plane);
    if (!host) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for a %dx%d control image", W, H);
    for (int64_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            const float v = (float)ci->rgb[i * 3 + c] / 255.0f;
            host[c * plane + i] = 2.0f * v - 1.0f;
        }
    sana_arena_mark mark = sana_arena_get_mark(p->arena);
    sana_tensor img = sana_new_f32(p->arena, 1, 3, H, W);
    sana_upload(be, &img, host);
    free(host);
    sana_tensor latent = sana_new_f32(p->arena, 1, C, h, w);
    sana_status s = sana_dcae_encode(p->vae, p->arena, &latent, &img, NULL, NULL, err);
    if (!s) {
        sana_op_axpby(be, &latent, sana_dcae_scaling_factor(p->vae), &latent, 0.0f, NULL);
        sana_controlnet_embed_control(p->cn, p->arena, ctrl, &latent, NULL);
        s = sana_backend_sync(be, err);
    }
    sana_arena_reset(p->arena, mark); // ctrl was allocated below the mark
    return s;
}

static bool str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static char *str_dup(const char *a) { return a ? strdup(a) : NULL; }

// Encodes the prompt (and the negative prompt) into embeds (B, L, 2304) and bias (B, L) and the
// transformer's caption half cap, allocated from `arena`.
static sana_status encode_prompt(sana_pipeline *p, const sana_generate_params *g, bool cfg, sana_arena *arena,
                                 sana_tensor *embeds, sana_tensor *bias, sana_dit_caption *cap, float *host,
                                 sana_error *err) {
    sana_backend *be = p->be;
    sana_prompt_params pp = sana_prompt_params_default();
    const char *chi = g->complex_human_instruction;
    if (chi) { // "" turns the instruction off; another text replaces it (one line)
        pp.chi_lines = chi[0] ? &chi : NULL;
        pp.n_chi_lines = chi[0] ? 1 : 0;
    }
    const int L = pp.max_sequence_length, B = cfg ? 2 : 1;
    *embeds = sana_new_f32(arena, B, L, sana_prompt_encoder_model(p->text)->config.hidden_size);
    *bias = sana_new_f32(arena, B, L);
    sana_status s;
    if (cfg) { // [negative; positive], the negative without the instruction (upstream encode_prompt)
        sana_prompt_params np = pp;
        np.chi_lines = NULL;
        np.n_chi_lines = 0;
        const char *neg = g->negative_prompt ? g->negative_prompt : "";
        sana_tensor e0 = sana_tensor_slice0(*embeds, 0, 1), e1 = sana_tensor_slice0(*embeds, 1, 1);
        if ((s = sana_prompt_encode(p->text, p->arena, &neg, 1, &np, &e0, host, NULL, err))) return s;
        if ((s = sana_prompt_encode(p->text, p->arena, &g->prompt, 1, &pp, &e1, host + L, NULL, err))) return s;
    } else if ((s = sana_prompt_encode(p->text, p->arena, &g->prompt, 1, &pp, embeds, host, NULL, err))) {
        return s;
    }
    sana_dit_mask_to_bias(host + (size_t)B * L, host, (int64_t)B * L); // masks (B, L) -> additive biases
    sana_upload(be, bias, host + (size_t)B * L);
    sana_dit_prepare_caption(p->dit, arena, embeds, bias, cap, NULL);
    return SANA_OK;
}

typedef struct decode_call {
    sana_pipeline *p;
    sana_tensor *x, *img, *rgb; // rgb unbound: no 8-bit conversion on the device
    sana_status status;
    sana_error err;
} decode_call;

static void decode_call_run(void *user) {
    decode_call *d = user;
    sana_pipeline *p = d->p;
    sana_op_axpby(p->be, d->x, 1.0f / sana_dcae_scaling_factor(p->vae), d->x, 0.0f, NULL);
    d->status = sana_dcae_decode(p->vae, p->arena, d->img, d->x, NULL, NULL, &d->err);
    if (!d->status && sana_tensor_is_bound(d->rgb)) sana_op_to_rgb8(p->be, d->rgb, d->img);
}

sana_status sana_generate(sana_pipeline *p, const sana_generate_params *g, sana_image *out, sana_error *err) {
    memset(out, 0, sizeof *out);
    int H, W;
    sana_status s = check_params(p, g, &H, &W, err);
    if (s) return s;
    sana_backend *be = p->be;
    sana_error_clear(&be->error);
    const double t_start = now_ms();
    const sana_arena_mark mark0 = sana_arena_get_mark(p->arena);
    float *host = NULL, *image = NULL, *cropped = NULL;
    const bool sprint = p->kind == SANA_MODEL_SPRINT, control = g->control_image != NULL;
    const bool cfg = !sprint && g->guidance > 1.0f; // do_classifier_free_guidance
    loop_state ls = {.p = p, .g = g, .B = cfg ? 2 : 1};
    sana_dit_caption cap = {0}, cn_cap = {0};
    sana_dit_caption *capp = &cap;
    for (int i = 0; i < SANA_STAGE_COUNT; i++)
        if (i != SANA_STAGE_LOAD) p->ms[i] = 0;
    memset(&p->prof, 0, sizeof p->prof);
    for (int i = 0; i < SANA_STAGE_COUNT; i++) p->prof.device_ms[i] = -1.0;
    const int C = p->dit->config.in_channels, f = sana_dcae_spatial_factor(p->vae), h = H / f, w = W / f;
    if (H % f || W % f) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "size %dx%d is not a whole number of %d-pixel latent cells", W, H, f);
        goto done;
    }
    mark(be, MARK_START);

    // 1. Prompt (and negative prompt) -> caption embeddings (B, 300, 2304) and masks -> the
    // transformer's (and ControlNet's) caption half; the control image -> its tokens. Without a
    // ControlNet the caption half is kept (prompt cache) and reused for the same prompt.
    double t = now_ms();
    if (!report(g->progress, g->progress_user, SANA_STAGE_ENCODE, 0, 1)) goto cancelled;
    const int L = sana_prompt_params_default().max_sequence_length, B = ls.B;
    if (!(host = malloc(sizeof(float) * 2 * (size_t)B * L))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for the prompt mask");
        goto done;
    }
    sana_tensor embeds, bias;
    if (!p->cn) {
        if (p->pc.valid && p->pc.cfg == cfg && str_eq(p->pc.prompt, g->prompt) &&
            str_eq(p->pc.chi, g->complex_human_instruction) &&
            (!cfg || str_eq(p->pc.negative ? p->pc.negative : "", g->negative_prompt ? g->negative_prompt : ""))) {
            p->prof.prompt_cached = true;
        } else {
            prompt_cache_drop(p);
            if (!p->pc.arena && !(p->pc.arena = sana_arena_new(be, 0))) {
                s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory creating the prompt cache");
                goto done;
            }
            sana_arena_reset(p->pc.arena, (sana_arena_mark){0, 0});
            if ((s = encode_prompt(p, g, cfg, p->pc.arena, &p->pc.embeds, &p->pc.bias, &p->pc.cap, host, err)))
                goto done;
            p->prof.graph_launches += sana_prompt_encoder_stats(p->text).graph_launches;
            if ((s = sana_backend_sync(be, err))) {
                prompt_cache_drop(p);
                goto done;
            }
            p->pc.cfg = cfg;
            p->pc.prompt = str_dup(g->prompt);
            p->pc.chi = str_dup(g->complex_human_instruction);
            p->pc.negative = str_dup(g->negative_prompt);
            p->pc.valid = p->pc.prompt && (!g->complex_human_instruction || p->pc.chi) &&
                          (!g->negative_prompt || p->pc.negative);
        }
        embeds = p->pc.embeds;
        bias = p->pc.bias;
        capp = &p->pc.cap;
    } else {
        if ((s = encode_prompt(p, g, cfg, p->arena, &embeds, &bias, &cap, host, err))) goto done;
        p->prof.graph_launches += sana_prompt_encoder_stats(p->text).graph_launches;
    }
    if (control) {
        sana_dit_prepare_caption(p->cn->trunk, p->arena, &embeds, &bias, &cn_cap, NULL);
        ls.ctrl = sana_new_f32(p->arena, 1, (int64_t)h * w, p->dit->config.inner_dim);
        if ((s = encode_control(p, g->control_image, H, W, &ls.ctrl, err))) goto done;
    }
    mark(be, MARK_ENCODED);
    if ((s = sana_backend_sync(be, err))) goto done;
    p->ms[SANA_STAGE_ENCODE] = now_ms() - t;
    if (!report(g->progress, g->progress_user, SANA_STAGE_ENCODE, 1, 1)) goto cancelled;

    // 2. Latents: randn from the seeded CPU generator (Sprint: times sigma_data), then the loop.
    t = now_ms();
    if (!report(g->progress, g->progress_user, SANA_STAGE_DENOISE, 0, g->steps)) goto cancelled;
    ls.cap = capp;
    ls.cn_cap = &cn_cap;
    ls.numel = (int64_t)C * h * w;
    if (!(ls.noise_host = malloc((size_t)ls.numel * sizeof(float)))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for the latents");
        goto done;
    }
    sana_rng_seed(&ls.rng, g->seed, sana_rng_detect_variant());
    sana_rng_randn(&ls.rng, ls.noise_host, ls.numel);
    sana_tensor x = sana_new_f32(p->arena, 1, C, h, w);
    sana_upload(be, &x, ls.noise_host);
    ls.tau = sana_new_f32(p->arena, B);
    if (sprint) {
        sana_op_axpby(be, &x, p->scm.sigma_data, &x, 0.0f, NULL);
        ls.guidance = sana_new_f32(p->arena, 1);
        const float gv =
            guidance_value(g->guidance, p->dit->config.guidance_embeds_scale, strcmp(p->device, "cpu") != 0);
        sana_upload(be, &ls.guidance, &gv);
        float T[SANA_SCM_MAX_STEPS + 1];
        if ((s = sana_scm_set_timesteps(g->steps, g->max_timestep, g->intermediate_timestep, T, err))) goto done;
        sana_scm_model model = {.velocity = velocity, .noise = noise, .step_done = step_done, .user = &ls};
        if ((s = sana_scm_sample(be, p->arena, &p->scm, T, g->steps, &model, &x, err))) goto done;
    } else {
        ls.x_in = sana_new_f32(p->arena, B, C, h, w);
        ls.out = sana_new_f32(p->arena, B, p->dit->config.out_channels, h, w);
        float sigmas[MULTISTEP_MAX_STEPS + 1];
        int64_t timesteps[MULTISTEP_MAX_STEPS];
        if ((s = sana_flow_dpm_set_timesteps(&p->dpm, g->steps, sigmas, timesteps, err))) goto done;
        sana_flow_dpm_model model = {.velocity = velocity_cfg, .step_done = step_done_cfg, .user = &ls};
        if ((s = sana_flow_dpm_sample(be, p->arena, &p->dpm, sigmas, timesteps, g->steps, &model, &x, err))) goto done;
    }
    mark(be, MARK_DENOISED);
    if ((s = sana_backend_sync(be, err))) goto done;
    p->ms[SANA_STAGE_DENOISE] = now_ms() - t;

    // 3. Decode latent / scaling_factor to [-1, 1], then back to the requested size and 8 bits:
    // on the device when no resize is needed (one copy of 3 bytes a pixel), else on the host.
    t = now_ms();
    if (!report(g->progress, g->progress_user, SANA_STAGE_DECODE, 0, 1)) goto cancelled;
    const bool same_size = H == g->height && W == g->width;
    if (!(out->rgb = malloc((size_t)3 * g->height * g->width))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for a %dx%d image", g->width, g->height);
        goto done;
    }
    sana_tensor img = sana_new_f32(p->arena, 1, 3, H, W);
    sana_tensor rgb = {0};
    if (same_size) rgb = sana_arena_tensor(p->arena, SANA_DTYPE_U8, 4, (int64_t[]){1, H, W, 3});
    {
        decode_call d = {.p = p, .x = &x, .img = &img, .rgb = &rgb};
        const sana_arena_mark m = sana_arena_get_mark(p->arena);
        sana_graph_key k = {0};
        sana_graph_key_ptr(&k, x.data);
        sana_graph_key_ptr(&k, img.data);
        sana_graph_key_ptr(&k, rgb.data);
        sana_graph_key_add(&k, (uint64_t)h);
        sana_graph_key_add(&k, (uint64_t)w);
        sana_graph_key_add(&k, (uint64_t)m.block);
        sana_graph_key_add(&k, (uint64_t)m.offset);
        if (sana_graph_cache_run(be, &p->g_decode, k.v, k.n, decode_call_run, &d) != SANA_GRAPH_EAGER)
            p->prof.graph_launches++;
        if (d.status) {
            s = sana_errorf(err, d.status, "%s", d.err.message);
            goto done;
        }
    }
    if (same_size) {
        sana_download(be, out->rgb, &rgb);
    } else {
        if (!(image = malloc(sizeof(float) * 3 * (size_t)H * W)) ||
            !(cropped = malloc(sizeof(float) * 3 * (size_t)g->height * g->width))) {
            s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for a %dx%d image", g->width, g->height);
            goto done;
        }
        sana_download(be, image, &img);
    }
    mark(be, MARK_DONE);
    if ((s = sana_backend_sync(be, err))) goto done;
    if (!same_size) {
        sana_image_resize_and_crop(cropped, image, 3, H, W, g->height, g->width);
        sana_image_to_rgb8(out->rgb, cropped, g->height, g->width);
    }
    out->width = g->width;
    out->height = g->height;
    p->ms[SANA_STAGE_DECODE] = now_ms() - t;
    p->prof.total_ms = now_ms() - t_start;
    memcpy(p->prof.wall_ms, p->ms, sizeof p->ms);
    p->prof.device_ms[SANA_STAGE_ENCODE] = mark_ms(be, MARK_START, MARK_ENCODED);
    p->prof.device_ms[SANA_STAGE_DENOISE] = mark_ms(be, MARK_ENCODED, MARK_DENOISED);
    p->prof.device_ms[SANA_STAGE_DECODE] = mark_ms(be, MARK_DENOISED, MARK_DONE);
    for (int i = 0; i < p->prof.steps; i++) p->prof.step_ms[i] = mark_ms(be, MARK_STEP0 + 2 * i, MARK_STEP0 + 2 * i + 1);
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
    sana_dit_caption_free(&cn_cap);
    sana_arena_reset(p->arena, mark0);
    return s;
}

void sana_image_free(sana_image *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}
