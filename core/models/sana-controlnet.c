// sana-controlnet.c: SanaControlNetModel and its wirings (see sana-controlnet.h for the upstream
// files and the legend).
#include "sana-controlnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops.h"
#include "../util.h"

// ------------------------------------------------------------------------------------------------
// Loading

static void load_linear(sana_loader *ld, sana_linear_w *l, int64_t D, const char *fmt, int k) {
    char name[128];
    snprintf(name, sizeof name, fmt, k);
    sana_load(ld, &l->weight, SANA_WEIGHT_MATRIX, SANA_SHAPE(D, D), "%s.weight", name);
    sana_load(ld, &l->bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(D), "%s.bias", name);
}

// The ControlNet's own tensors, bound with the trunk's loader.
static void load_extra(sana_loader *ld, const sana_dit_config *c, void *user) {
    sana_controlnet *m = user;
    const int64_t D = c->inner_dim;
    if (!(m->controlnet_blocks = calloc((size_t)c->num_layers, sizeof *m->controlnet_blocks))) {
        if (!ld->status) ld->status = sana_errorf(ld->err, SANA_STATUS_NO_MEMORY, "out of memory loading a ControlNet");
        return;
    }
    load_linear(ld, &m->input_block, D, "input_block", 0);
    for (int k = 0; k < c->num_layers; k++) load_linear(ld, &m->controlnet_blocks[k], D, "controlnet_blocks.%d", k);
}

sana_status sana_controlnet_load(const char *dir, sana_backend *be, sana_controlnet **out, sana_error *err) {
    *out = NULL;
    sana_controlnet *m = calloc(1, sizeof *m);
    if (!m) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
    const sana_dit_load_opts opts = {.controlnet = true, .extra = load_extra, .user = m};
    sana_status s = sana_dit_load_ex(dir, be, &opts, &m->trunk, err);
    if (s) {
        sana_controlnet_free(m);
        return s;
    }
    *out = m;
    return SANA_OK;
}

void sana_controlnet_free(sana_controlnet *m) {
    if (!m) return;
    sana_dit_free(m->trunk);
    free(m->controlnet_blocks);
    free(m);
}

static const char *flavour(const sana_dit_config *c) {
    return c->guidance_embeds ? "SANA-Sprint (guidance embedding)" : "multi-step SANA (no guidance embedding)";
}

sana_status sana_controlnet_check(const sana_controlnet *m, const char *dir, const sana_dit *base,
                                  const char *base_dir, sana_error *err) {
    const sana_dit_config *c = &m->trunk->config, *b = &base->config;
    if (c->inner_dim != b->inner_dim)
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet %s: hidden size %d (%d heads x %d) does not match the transformer's %d (%s); "
                           "expected a ControlNet trained for this base model",
                           dir, c->inner_dim, c->num_attention_heads, c->attention_head_dim, b->inner_dim, base_dir);
    if (c->in_channels != b->in_channels)
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet %s: %d latent channels; the transformer (%s) has %d", dir, c->in_channels,
                           base_dir, b->in_channels);
    if (c->caption_channels != b->caption_channels)
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet %s: caption_channels %d; the transformer (%s) has %d", dir,
                           c->caption_channels, base_dir, b->caption_channels);
    if (c->guidance_embeds != b->guidance_embeds)
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet %s is a %s ControlNet but the transformer (%s) is %s; expected a ControlNet "
                           "of the same kind",
                           dir, flavour(c), base_dir, flavour(b));
    if (c->num_layers >= b->num_layers)
        return sana_errorf(err, SANA_STATUS_BAD_MODEL,
                           "ControlNet %s: %d layers; the transformer (%s) has %d blocks, expected more than the "
                           "ControlNet's layers",
                           dir, c->num_layers, base_dir, b->num_layers);
    return SANA_OK;
}

// ------------------------------------------------------------------------------------------------
// Forward

void sana_controlnet_embed_control(sana_controlnet *m, sana_arena *arena, sana_tensor *ctrl,
                                   const sana_tensor *control_latent, const sana_tap *tap) {
    sana_backend *be = m->trunk->be;
    const int64_t N = control_latent->shape[2] * control_latent->shape[3], D = m->trunk->config.inner_dim;
    SANA_ASSERT(control_latent->ndim == 4 && control_latent->shape[0] == 1);
    SANA_ASSERT(ctrl->ndim == 3 && ctrl->shape[0] == 1 && ctrl->shape[1] == N && ctrl->shape[2] == D);
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor e = sana_new_f32(arena, 1, N, D); // (1, N, D)
    sana_dit_patch_embed(m->trunk, arena, &e, control_latent, NULL);
    sana_op_linear(be, ctrl, &e, &m->input_block.weight, &m->input_block.bias);
    sana_tap_emit(tap, ctrl, "input_block");
    sana_arena_reset(arena, mark);
}

// One ControlNet layer: X = block_k(X) in place, r (B, N, D) = controlnet_blocks.k(X) * scale.
static void layer(sana_controlnet *m, sana_arena *arena, int k, sana_tensor *X, sana_tensor *r,
                  const sana_tensor *t6, const sana_dit_caption *cap, int h, int w, float scale,
                  const sana_tap *tap) {
    sana_backend *be = m->trunk->be;
    sana_dit_block_forward(m->trunk, arena, k, X, t6, cap, h, w, tap);
    sana_op_linear(be, r, X, &m->controlnet_blocks[k].weight, &m->controlnet_blocks[k].bias);
    sana_op_axpby(be, r, scale, r, 0.0f, NULL); // block_res_sample * conditioning_scale
    sana_tap_emit(tap, r, "controlnet_blocks.%d", k);
}

void sana_controlnet_forward(sana_controlnet *m, sana_arena *arena, sana_tensor *residuals,
                             const sana_tensor *x, const sana_tensor *ctrl, float scale,
                             const sana_dit_caption *cap, const sana_tensor *timestep,
                             const sana_tensor *guidance, const sana_tap *tap) {
    sana_dit *t = m->trunk;
    sana_backend *be = t->be;
    const sana_dit_config *c = &t->config;
    SANA_ASSERT(x->ndim == 4 && x->shape[1] == c->in_channels && (!c->guidance_embeds || guidance));
    const int64_t B = x->shape[0], h = x->shape[2], w = x->shape[3], N = h * w, D = c->inner_dim;
    SANA_ASSERT(ctrl->ndim == 3 && ctrl->shape[1] == N && ctrl->shape[2] == D);
    sana_arena_mark mark = sana_arena_get_mark(arena);
    // X = patch_embed(x) + input_block(patch_embed(control)): one control row serves every batch entry
    sana_tensor X = sana_new_f32(arena, B, N, D); // (B, N, D)
    sana_dit_patch_embed(t, arena, &X, x, tap);
    sana_op_add(be, &X, &X, ctrl);
    sana_tensor cond = sana_new_f32(arena, B, D), t6 = sana_new_f32(arena, B, 6 * D);
    sana_dit_time_embed(t, arena, &cond, &t6, timestep, guidance, tap);
    for (int k = 0; k < c->num_layers; k++) {
        SANA_ASSERT(residuals[k].ndim == 3 && sana_tensor_same_shape(&residuals[k], &X));
        layer(m, arena, k, &X, &residuals[k], &t6, cap, (int)h, (int)w, scale, tap);
    }
    sana_arena_reset(arena, mark);
}

// The hooks into the base transformer's block loop.
typedef struct hook_state {
    sana_controlnet *m;
    sana_arena *arena;
    sana_backend *be;
    int layers;
    // diffusers: the precomputed residuals
    const sana_tensor *residuals;
    // NVlabs: the control stream, one skip, the ControlNet's conditioning
    sana_tensor c, s, t6;
    const sana_tensor *ctrl;
    const sana_dit_caption *cap;
    int h, w;
    float scale;
    const sana_tap *tap;
} hook_state;

// diffusers: after block i, 0 < i <= L, X += R_{i-1}.
static void after_block_diffusers(void *user, int i, sana_tensor *X) {
    hook_state *st = user;
    if (i > 0 && i <= st->layers) sana_op_add(st->be, X, X, &st->residuals[i - 1]);
}

// NVlabs: after base block k < L, the control stream runs ControlNet layer k and its skip goes
// into the next base block's input; the stream starts from base block 0's output.
static void after_block_nvlabs(void *user, int k, sana_tensor *X) {
    hook_state *st = user;
    if (k >= st->layers) return;
    if (k == 0) sana_op_add(st->be, &st->c, X, st->ctrl); // c = x_0 + input_block(patch_embed(control))
    layer(st->m, st->arena, k, &st->c, &st->s, &st->t6, st->cap, st->h, st->w, st->scale, st->tap);
    sana_op_add(st->be, X, X, &st->s);
}

void sana_controlnet_forward_base(sana_controlnet *m, sana_dit *base, sana_arena *arena,
                                  sana_tensor *out, const sana_tensor *x, const sana_tensor *ctrl,
                                  float scale, sana_controlnet_wiring wiring,
                                  const sana_dit_caption *base_cap, const sana_dit_caption *cn_cap,
                                  const sana_tensor *timestep, const sana_tensor *guidance,
                                  const sana_tap *tap_cn, const sana_tap *tap) {
    const sana_dit_config *c = &m->trunk->config;
    SANA_ASSERT(c->inner_dim == base->config.inner_dim && c->num_layers < base->config.num_layers);
    const int64_t B = x->shape[0], h = x->shape[2], w = x->shape[3], N = h * w, D = c->inner_dim;
    sana_arena_mark mark = sana_arena_get_mark(arena);
    hook_state st = {.m = m, .arena = arena, .be = base->be, .layers = c->num_layers};
    sana_dit_hook hook = {.user = &st};
    if (wiring == SANA_CONTROLNET_NVLABS) {
        st.c = sana_new_f32(arena, B, N, D);
        st.s = sana_new_f32(arena, B, N, D);
        st.t6 = sana_new_f32(arena, B, 6 * D);
        sana_tensor cond = sana_new_f32(arena, B, D);
        sana_dit_time_embed(m->trunk, arena, &cond, &st.t6, timestep, guidance, tap_cn);
        st.ctrl = ctrl;
        st.cap = cn_cap;
        st.h = (int)h;
        st.w = (int)w;
        st.scale = scale;
        st.tap = tap_cn;
        hook.after_block = after_block_nvlabs;
    } else {
        sana_tensor *r = calloc((size_t)c->num_layers, sizeof *r);
        if (!r) {
            sana_backend_fail(base->be, SANA_STATUS_NO_MEMORY, "out of host memory for the ControlNet residuals");
            return;
        }
        for (int k = 0; k < c->num_layers; k++) r[k] = sana_new_f32(arena, B, N, D);
        sana_controlnet_forward(m, arena, r, x, ctrl, scale, cn_cap, timestep, guidance, tap_cn);
        st.residuals = r;
        hook.after_block = after_block_diffusers;
    }
    sana_dit_forward_hooked(base, arena, out, x, base_cap, timestep, guidance, &hook, tap);
    free((void *)st.residuals);
    sana_arena_reset(arena, mark);
}
