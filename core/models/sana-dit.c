// sana-dit.c: SanaTransformer2DModel forward (see sana-dit.h for the upstream files and legend).
#include "sana-dit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops.h"
#include "../util.h"
#include "weights.h"

// ------------------------------------------------------------------------------------------------
// Loading

static void load_linear(sana_loader *ld, sana_linear_w *l, sana_shape wshape, bool bias,
                        const char *prefix) {
    sana_load(ld, &l->weight, SANA_WEIGHT_MATRIX, wshape, "%s.weight", prefix);
    if (bias) sana_load(ld, &l->bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(wshape.d[0]), "%s.bias", prefix);
}

static void load_timestep_embedding(sana_loader *ld, sana_timestep_embedding_w *t, int D,
                                    const char *prefix) {
    char p[128];
    snprintf(p, sizeof p, "%s.linear_1", prefix);
    load_linear(ld, &t->linear_1, SANA_SHAPE(D, 256), true, p);
    snprintf(p, sizeof p, "%s.linear_2", prefix);
    load_linear(ld, &t->linear_2, SANA_SHAPE(D, D), true, p);
}

static void load_block(sana_loader *ld, const sana_dit_config *c, sana_dit_block_w *b, int i) {
    const int64_t D = c->inner_dim, Dc = c->cross_inner_dim, F = c->ffn_dim;
    char p[128];
    sana_load(ld, &b->scale_shift_table, SANA_WEIGHT_VECTOR, SANA_SHAPE(6, D),
              "transformer_blocks.%d.scale_shift_table", i);
    // attn1: linear self-attention
    const char *qkv[3] = {"to_q", "to_k", "to_v"};
    sana_linear_w *a1[3] = {&b->attn1.to_q, &b->attn1.to_k, &b->attn1.to_v};
    sana_linear_w *a2[3] = {&b->attn2.to_q, &b->attn2.to_k, &b->attn2.to_v};
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "transformer_blocks.%d.attn1.%s", i, qkv[k]);
        load_linear(ld, a1[k], SANA_SHAPE(D, D), c->attention_bias, p);
        snprintf(p, sizeof p, "transformer_blocks.%d.attn2.%s", i, qkv[k]);
        load_linear(ld, a2[k], SANA_SHAPE(Dc, D), true, p);
    }
    if (c->qk_norm) {
        sana_load(ld, &b->attn1.norm_q, SANA_WEIGHT_VECTOR, SANA_SHAPE(D), "transformer_blocks.%d.attn1.norm_q.weight", i);
        sana_load(ld, &b->attn1.norm_k, SANA_WEIGHT_VECTOR, SANA_SHAPE(D), "transformer_blocks.%d.attn1.norm_k.weight", i);
        sana_load(ld, &b->attn2.norm_q, SANA_WEIGHT_VECTOR, SANA_SHAPE(Dc), "transformer_blocks.%d.attn2.norm_q.weight", i);
        sana_load(ld, &b->attn2.norm_k, SANA_WEIGHT_VECTOR, SANA_SHAPE(Dc), "transformer_blocks.%d.attn2.norm_k.weight", i);
    }
    snprintf(p, sizeof p, "transformer_blocks.%d.attn1.to_out.0", i);
    load_linear(ld, &b->attn1.to_out, SANA_SHAPE(D, D), true, p);
    snprintf(p, sizeof p, "transformer_blocks.%d.attn2.to_out.0", i);
    load_linear(ld, &b->attn2.to_out, SANA_SHAPE(D, Dc), true, p);
    // ff: GLUMBConv
    snprintf(p, sizeof p, "transformer_blocks.%d.ff.conv_inverted", i);
    load_linear(ld, &b->ff.conv_inverted, SANA_SHAPE(2 * F, D, 1, 1), true, p);
    sana_load(ld, &b->ff.conv_depth.weight, SANA_WEIGHT_VECTOR, SANA_SHAPE(2 * F, 1, 3, 3),
              "transformer_blocks.%d.ff.conv_depth.weight", i);
    sana_load(ld, &b->ff.conv_depth.bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(2 * F), "transformer_blocks.%d.ff.conv_depth.bias", i);
    sana_load(ld, &b->ff.conv_point, SANA_WEIGHT_MATRIX, SANA_SHAPE(D, F, 1, 1), "transformer_blocks.%d.ff.conv_point.weight", i);
}

sana_status sana_dit_load(const char *dir, sana_backend *be, sana_dit **out, sana_error *err) {
    const sana_dit_load_opts opts = {0};
    return sana_dit_load_ex(dir, be, &opts, out, err);
}

sana_status sana_dit_load_ex(const char *dir, sana_backend *be, const sana_dit_load_opts *opts, sana_dit **out,
                             sana_error *err) {
    *out = NULL;
    sana_dit *m = calloc(1, sizeof *m);
    if (!m) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
    m->be = be;
    char path[4096];
    sana_status s;
    if (!sana_path_join(path, sizeof path, dir, "config.json")) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", dir);
        goto fail;
    }
    if ((s = opts->controlnet ? sana_controlnet_config_load(path, &m->config, err)
                              : sana_dit_config_load(path, &m->config, err)))
        goto fail;
    if ((s = sana_st_open_dir(dir, "diffusion_pytorch_model", &m->st, err))) goto fail;
    sana_dit_config *c = &m->config;
    if (opts->controlnet) { // a config silent on the Sprint options: the weights decide
        if (!c->guidance_embeds_in_config)
            c->guidance_embeds = sana_st_has(m->st, "time_embed.guidance_embedder.linear_1.weight");
        if (!c->qk_norm_in_config) c->qk_norm = sana_st_has(m->st, "transformer_blocks.0.attn1.norm_q.weight");
    }
    const int64_t D = c->inner_dim;
    if (!(m->blocks = calloc((size_t)c->num_layers, sizeof *m->blocks))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
        goto fail;
    }
    sana_loader ld;
    if ((s = sana_loader_init(&ld, m->st, be, err))) goto fail;
    load_linear(&ld, &m->patch_embed, SANA_SHAPE(D, c->in_channels, 1, 1), true, "patch_embed.proj");
    if (c->guidance_embeds) {
        load_timestep_embedding(&ld, &m->timestep_embedder, (int)D, "time_embed.timestep_embedder");
        load_timestep_embedding(&ld, &m->guidance_embedder, (int)D, "time_embed.guidance_embedder");
    } else {
        load_timestep_embedding(&ld, &m->timestep_embedder, (int)D, "time_embed.emb.timestep_embedder");
    }
    load_linear(&ld, &m->time_linear, SANA_SHAPE(6 * D, D), true, "time_embed.linear");
    load_linear(&ld, &m->caption_linear_1, SANA_SHAPE(D, c->caption_channels), true, "caption_projection.linear_1");
    load_linear(&ld, &m->caption_linear_2, SANA_SHAPE(D, D), true, "caption_projection.linear_2");
    sana_load(&ld, &m->caption_norm, SANA_WEIGHT_VECTOR, SANA_SHAPE(D), "caption_norm.weight");
    for (int i = 0; i < c->num_layers; i++) load_block(&ld, c, &m->blocks[i], i);
    if (!opts->controlnet) {
        sana_load(&ld, &m->scale_shift_table, SANA_WEIGHT_VECTOR, SANA_SHAPE(2, D), "scale_shift_table");
        load_linear(&ld, &m->proj_out, SANA_SHAPE(c->out_channels, D), true, "proj_out");
    }
    if (opts->extra) opts->extra(&ld, c, opts->user);
    if ((s = sana_loader_finish(&ld))) goto fail;
    sana_log(SANA_LOG_DEBUG, "%s: %s D=%lld layers=%d heads=%d/%d %s%s", dir,
             opts->controlnet ? "SanaControlNetModel" : "SanaTransformer2DModel", (long long)D, c->num_layers,
             c->num_attention_heads, c->num_cross_attention_heads,
             c->guidance_embeds ? "sprint (guidance)" : "multi-step", c->qk_norm ? ", qk-norm" : "");
    *out = m;
    return SANA_OK;
fail:
    sana_dit_free(m);
    return s;
}

void sana_dit_free(sana_dit *m) {
    if (!m) return;
    sana_st_free(m->st);
    free(m->blocks);
    free(m);
}

// ------------------------------------------------------------------------------------------------
// Forward

static const sana_tensor *opt(const sana_tensor *t) { return sana_tensor_is_bound(t) ? t : NULL; }

static void linear(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_linear_w *l) {
    sana_op_linear(be, y, x, &l->weight, opt(&l->bias));
}

void sana_dit_mask_to_bias(float *bias, const float *mask, int64_t n) {
    for (int64_t i = 0; i < n; i++) bias[i] = (1.0f - mask[i]) * -10000.0f;
}

void sana_dit_prepare_caption(sana_dit *m, sana_arena *arena, const sana_tensor *prompt_embeds,
                              const sana_tensor *key_bias, sana_dit_caption *cap,
                              const sana_tap *tap) {
    sana_backend *be = m->be;
    const sana_dit_config *c = &m->config;
    const int64_t B = prompt_embeds->shape[0], L = prompt_embeds->shape[1], D = c->inner_dim,
                  Dc = c->cross_inner_dim;
    memset(cap, 0, sizeof *cap);
    cap->key_bias = *key_bias;
    cap->k = calloc((size_t)c->num_layers, sizeof *cap->k);
    cap->v = calloc((size_t)c->num_layers, sizeof *cap->v);
    if (!cap->k || !cap->v) {
        sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of host memory for the caption cache");
        return;
    }
    // caption_projection: linear_2(gelu_tanh(linear_1(y))); caption_norm: RMSNorm(eps 1e-5)
    cap->y = sana_new_f32(arena, B, L, D);
    for (int i = 0; i < c->num_layers; i++) {
        cap->k[i] = sana_new_f32(arena, B, L, Dc);
        cap->v[i] = sana_new_f32(arena, B, L, Dc);
    }
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor h = sana_new_f32(arena, B, L, D); // (B, L, D)
    linear(be, &h, prompt_embeds, &m->caption_linear_1);
    sana_op_act(be, &h, &h, SANA_ACT_GELU_TANH);
    linear(be, &cap->y, &h, &m->caption_linear_2);
    sana_tap_emit(tap, &cap->y, "caption_projection");
    sana_op_rms_norm(be, &cap->y, &cap->y, &m->caption_norm, 1e-5f, false);
    sana_tap_emit(tap, &cap->y, "caption_norm");
    for (int i = 0; i < c->num_layers; i++) {
        const sana_dit_attn_w *a = &m->blocks[i].attn2;
        linear(be, &cap->k[i], &cap->y, &a->to_k); // (B, L, Dc)
        linear(be, &cap->v[i], &cap->y, &a->to_v); // (B, L, Dc)
        if (c->qk_norm) sana_op_rms_norm(be, &cap->k[i], &cap->k[i], &a->norm_k, 1e-5f, false);
    }
    sana_arena_reset(arena, mark);
}

void sana_dit_caption_free(sana_dit_caption *cap) {
    free(cap->k);
    free(cap->v);
    cap->k = cap->v = NULL;
}

// Time conditioning: c (B, D) = the embedded timestep (+ embedded guidance), t6 (B, 6D) =
// time_embed.linear(silu(c)).
void sana_dit_time_embed(sana_dit *m, sana_arena *arena, sana_tensor *c, sana_tensor *t6,
                         const sana_tensor *timestep, const sana_tensor *guidance, const sana_tap *tap) {
    sana_backend *be = m->be;
    const int64_t B = c->shape[0], D = c->shape[1];
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor proj = sana_new_f32(arena, B, 256); // (B, 256) sinusoids
    sana_tensor h = sana_new_f32(arena, B, D);
    // TimestepEmbedding: linear_2(silu(linear_1(sinusoid(t))))
    sana_op_timestep_embedding(be, &proj, timestep, 10000.0f);
    linear(be, &h, &proj, &m->timestep_embedder.linear_1);
    sana_op_act(be, &h, &h, SANA_ACT_SILU);
    linear(be, c, &h, &m->timestep_embedder.linear_2);
    if (m->config.guidance_embeds) {
        sana_tap_emit(tap, c, "time_embed.timestep_embedder");
        sana_tensor g = sana_new_f32(arena, B, D);
        sana_op_timestep_embedding(be, &proj, guidance, 10000.0f);
        linear(be, &h, &proj, &m->guidance_embedder.linear_1);
        sana_op_act(be, &h, &h, SANA_ACT_SILU);
        linear(be, &g, &h, &m->guidance_embedder.linear_2);
        sana_tap_emit(tap, &g, "time_embed.guidance_embedder");
        sana_op_add(be, c, c, &g);
    } else {
        sana_tap_emit(tap, c, "time_embed.emb");
    }
    sana_op_act(be, &h, c, SANA_ACT_SILU);
    linear(be, t6, &h, &m->time_linear);
    sana_tap_emit(tap, t6, "time_embed.linear");
    sana_arena_reset(arena, mark);
}

void sana_dit_block_forward(sana_dit *m, sana_arena *arena, int i, sana_tensor *X, const sana_tensor *t6,
                            const sana_dit_caption *cap, int h, int w, const sana_tap *tap) {
    sana_backend *be = m->be;
    const sana_dit_config *c = &m->config;
    const sana_dit_block_w *b = &m->blocks[i];
    const int64_t B = X->shape[0], N = X->shape[1], D = X->shape[2], Dc = c->cross_inner_dim,
                  F = c->ffn_dim;
    sana_arena_mark mark = sana_arena_get_mark(arena);

    // Modulation rows: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp.
    sana_tensor mod = sana_new_f32(arena, B, 6, D); // (B, 6, D) = table[None] + t6
    sana_op_add(be, &mod, t6, &b->scale_shift_table);

    // Linear self-attention on the modulated norm.
    sana_tensor xn = sana_new_f32(arena, B, N, D);
    sana_op_layer_norm_modulate(be, &xn, X, &mod, 0, 1, c->norm_eps);
    sana_tensor q = sana_new_f32(arena, B, N, D), k = sana_new_f32(arena, B, N, D),
                v = sana_new_f32(arena, B, N, D);
    linear(be, &q, &xn, &b->attn1.to_q);
    linear(be, &k, &xn, &b->attn1.to_k);
    linear(be, &v, &xn, &b->attn1.to_v);
    if (c->qk_norm) { // RMSNorm over all heads, eps 1e-5 (Attention's default)
        sana_op_rms_norm(be, &q, &q, &b->attn1.norm_q, 1e-5f, false);
        sana_op_rms_norm(be, &k, &k, &b->attn1.norm_k, 1e-5f, false);
    }
    sana_tensor o = xn; // xn is dead: reuse its memory, (B, N, D)
    sana_op_linear_attention(be, &o, &q, &k, &v, c->num_attention_heads, 1e-15f);
    sana_tensor a = q; // (B, N, D)
    linear(be, &a, &o, &b->attn1.to_out);
    sana_tap_emit(tap, &a, "transformer_blocks.%d.attn1", i);
    sana_op_add_gated(be, X, &a, &mod, 2);

    // Cross-attention: the query is the raw residual stream (no norm, no modulation).
    sana_tensor qc = sana_new_f32(arena, B, N, Dc), oc = sana_new_f32(arena, B, N, Dc);
    linear(be, &qc, X, &b->attn2.to_q);
    if (c->qk_norm) sana_op_rms_norm(be, &qc, &qc, &b->attn2.norm_q, 1e-5f, false);
    sana_attn_params ap = {
        .n_heads = c->num_cross_attention_heads,
        .n_kv_heads = c->num_cross_attention_heads,
        .head_dim = c->cross_attention_head_dim,
        .scale = 1.0f / sqrtf((float)c->cross_attention_head_dim),
    };
    sana_op_attention(be, &oc, &qc, &cap->k[i], &cap->v[i], &cap->key_bias, &ap);
    linear(be, &a, &oc, &b->attn2.to_out);
    sana_tap_emit(tap, &a, "transformer_blocks.%d.attn2", i);
    sana_op_add(be, X, X, &a);

    // Mix-FFN (GLUMBConv) on the modulated norm, channels last: 1x1 conv + SiLU, depthwise 3x3,
    // x * silu(gate), 1x1 conv.
    sana_op_layer_norm_modulate(be, &xn, X, &mod, 3, 4, c->norm_eps);
    sana_tensor z = sana_new_f32(arena, B, N, 2 * F);
    sana_tensor ff_in = sana_tensor_reshape2(xn, B * N, D);
    sana_tensor z2 = sana_tensor_reshape2(z, B * N, 2 * F);
    sana_tensor conv_inverted_w = sana_tensor_reshape2(b->ff.conv_inverted.weight, 2 * F, D);
    sana_op_linear(be, &z2, &ff_in, &conv_inverted_w, &b->ff.conv_inverted.bias);
    sana_tensor u = sana_new_f32(arena, B, N, F); // SiLU, depthwise 3x3 and the gate in one pass
    sana_op_dwconv3x3_glu(be, &u, &z, &b->ff.conv_depth.weight, &b->ff.conv_depth.bias, h, w, SANA_ACT_SILU,
                          SANA_ACT_SILU);
    sana_tensor conv_point_w = sana_tensor_reshape2(b->ff.conv_point, D, F);
    sana_op_linear(be, &a, &u, &conv_point_w, NULL);
    sana_tap_emit(tap, &a, "transformer_blocks.%d.ff", i);
    sana_op_add_gated(be, X, &a, &mod, 5);
    sana_tap_emit(tap, X, "transformer_blocks.%d", i);
    sana_arena_reset(arena, mark);
}

void sana_dit_patch_embed(sana_dit *m, sana_arena *arena, sana_tensor *X, const sana_tensor *x,
                          const sana_tap *tap) {
    sana_backend *be = m->be;
    const int64_t B = x->shape[0], C = x->shape[1], N = x->shape[2] * x->shape[3], D = m->config.inner_dim;
    SANA_ASSERT(x->ndim == 4 && C == m->config.in_channels && X->ndim == 3);
    SANA_ASSERT(X->shape[0] == B && X->shape[1] == N && X->shape[2] == D);
    sana_arena_mark mark = sana_arena_get_mark(arena);
    // Patch embedding (p = 1): a per-pixel linear map, tokens in row-major order.
    sana_tensor xt = sana_new_f32(arena, B, N, C); // (B, N, C)
    sana_tensor xv = sana_tensor_reshape3(*x, B, C, N);
    sana_op_transpose(be, &xt, &xv);
    sana_tensor pe_w = sana_tensor_reshape2(m->patch_embed.weight, D, C);
    sana_op_linear(be, X, &xt, &pe_w, &m->patch_embed.bias);
    sana_tap_emit(tap, X, "patch_embed");
    sana_arena_reset(arena, mark);
}

void sana_dit_forward(sana_dit *m, sana_arena *arena, sana_tensor *out, const sana_tensor *x,
                      const sana_dit_caption *cap, const sana_tensor *timestep,
                      const sana_tensor *guidance, const sana_tap *tap) {
    sana_dit_forward_hooked(m, arena, out, x, cap, timestep, guidance, NULL, tap);
}

void sana_dit_forward_hooked(sana_dit *m, sana_arena *arena, sana_tensor *out, const sana_tensor *x,
                             const sana_dit_caption *cap, const sana_tensor *timestep,
                             const sana_tensor *guidance, const sana_dit_hook *hook,
                             const sana_tap *tap) {
    sana_backend *be = m->be;
    const sana_dit_config *c = &m->config;
    SANA_ASSERT(x->ndim == 4 && x->shape[1] == c->in_channels);
    SANA_ASSERT(out->ndim == 4 && out->shape[1] == c->out_channels);
    SANA_ASSERT(!c->guidance_embeds || guidance);
    SANA_ASSERT(sana_tensor_is_bound(&m->proj_out.weight)); // not a ControlNet's trunk
    const int64_t B = x->shape[0], h = x->shape[2], w = x->shape[3], N = h * w, D = c->inner_dim,
                  Co = c->out_channels;
    sana_arena_mark mark = sana_arena_get_mark(arena);

    sana_tensor X = sana_new_f32(arena, B, N, D); // (B, N, D) the residual stream
    sana_dit_patch_embed(m, arena, &X, x, tap);

    sana_tensor cond = sana_new_f32(arena, B, D), t6 = sana_new_f32(arena, B, 6 * D);
    sana_dit_time_embed(m, arena, &cond, &t6, timestep, guidance, tap);

    for (int i = 0; i < c->num_layers; i++) {
        sana_dit_block_forward(m, arena, i, &X, &t6, cap, (int)h, (int)w, tap);
        if (hook && hook->after_block) hook->after_block(hook->user, i, &X);
    }

    // Output head: LayerNorm modulated by table[None] + cond[:, None] (the raw conditioning).
    sana_tensor mod = sana_new_f32(arena, B, 2, D); // (B, 2, D)
    for (int64_t bi = 0; bi < B; bi++)
        for (int r = 0; r < 2; r++) {
            sana_tensor dst = sana_tensor_slice0(sana_tensor_reshape2(mod, B * 2, D), bi * 2 + r, 1);
            sana_tensor src = sana_tensor_slice0(cond, bi, 1);
            sana_copy(be, &dst, &src);
        }
    sana_op_add(be, &mod, &mod, &m->scale_shift_table);
    sana_tensor xo = sana_new_f32(arena, B, N, D);
    sana_op_layer_norm_modulate(be, &xo, &X, &mod, 0, 1, 1e-6f);
    sana_tap_emit(tap, &xo, "norm_out");
    sana_tensor p = sana_new_f32(arena, B, N, Co); // (B, N, C)
    linear(be, &p, &xo, &m->proj_out);
    sana_tap_emit(tap, &p, "proj_out");
    sana_tensor ov = sana_tensor_reshape3(*out, B, Co, N);
    sana_op_transpose(be, &ov, &p); // (B, C, h, w)
    sana_tap_emit(tap, out, "output");
    sana_arena_reset(arena, mark);
}
