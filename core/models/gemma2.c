// gemma2.c: Gemma2Model forward (see gemma2.h for the upstream files and legend).
#include "gemma2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops.h"
#include "../util.h"
#include "weights.h"

// ------------------------------------------------------------------------------------------------
// Loading

static void load_layer(sana_loader *ld, const sana_gemma2_config *c, sana_gemma2_layer_w *l, const char *pre,
                       int i) {
    const int64_t H = c->hidden_size, F = c->intermediate_size, Q = (int64_t)c->num_attention_heads * c->head_dim,
                  KV = (int64_t)c->num_key_value_heads * c->head_dim;
    sana_load(ld, &l->input_layernorm, SANA_WEIGHT_VECTOR, SANA_SHAPE(H), "%slayers.%d.input_layernorm.weight", pre, i);
    sana_load(ld, &l->q_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(Q, H), "%slayers.%d.self_attn.q_proj.weight", pre, i);
    sana_load(ld, &l->k_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(KV, H), "%slayers.%d.self_attn.k_proj.weight", pre, i);
    sana_load(ld, &l->v_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(KV, H), "%slayers.%d.self_attn.v_proj.weight", pre, i);
    sana_load(ld, &l->o_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(H, Q), "%slayers.%d.self_attn.o_proj.weight", pre, i);
    if (c->attention_bias) {
        sana_load(ld, &l->q_bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(Q), "%slayers.%d.self_attn.q_proj.bias", pre, i);
        sana_load(ld, &l->k_bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(KV), "%slayers.%d.self_attn.k_proj.bias", pre, i);
        sana_load(ld, &l->v_bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(KV), "%slayers.%d.self_attn.v_proj.bias", pre, i);
        sana_load(ld, &l->o_bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(H), "%slayers.%d.self_attn.o_proj.bias", pre, i);
    }
    sana_load(ld, &l->post_attention_layernorm, SANA_WEIGHT_VECTOR, SANA_SHAPE(H),
              "%slayers.%d.post_attention_layernorm.weight", pre, i);
    sana_load(ld, &l->pre_feedforward_layernorm, SANA_WEIGHT_VECTOR, SANA_SHAPE(H),
              "%slayers.%d.pre_feedforward_layernorm.weight", pre, i);
    sana_load(ld, &l->gate_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(F, H), "%slayers.%d.mlp.gate_proj.weight", pre, i);
    sana_load(ld, &l->up_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(F, H), "%slayers.%d.mlp.up_proj.weight", pre, i);
    sana_load(ld, &l->down_proj, SANA_WEIGHT_MATRIX, SANA_SHAPE(H, F), "%slayers.%d.mlp.down_proj.weight", pre, i);
    sana_load(ld, &l->post_feedforward_layernorm, SANA_WEIGHT_VECTOR, SANA_SHAPE(H),
              "%slayers.%d.post_feedforward_layernorm.weight", pre, i);
}

sana_status sana_gemma2_load(const char *dir, sana_backend *be, sana_gemma2 **out, sana_error *err) {
    *out = NULL;
    sana_gemma2 *m = calloc(1, sizeof *m);
    if (!m) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
    m->be = be;
    char path[4096];
    sana_status s;
    if (!sana_path_join(path, sizeof path, dir, "config.json")) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", dir);
        goto fail;
    }
    if ((s = sana_gemma2_config_load(path, &m->config, err))) goto fail;
    if ((s = sana_st_open_dir(dir, "model", &m->st, err))) goto fail;
    const sana_gemma2_config *c = &m->config;
    if (!(m->layers = calloc((size_t)c->num_hidden_layers, sizeof *m->layers))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
        goto fail;
    }
    // Gemma2Model keys, or Gemma2ForCausalLM's under "model.".
    const char *pre = !sana_st_has(m->st, "embed_tokens.weight") && sana_st_has(m->st, "model.embed_tokens.weight")
                          ? "model."
                          : "";
    sana_loader ld;
    if ((s = sana_loader_init(&ld, m->st, be, err))) goto fail;
    sana_load(&ld, &m->embed_tokens, SANA_WEIGHT_TABLE, SANA_SHAPE(c->vocab_size, c->hidden_size), "%sembed_tokens.weight",
              pre);
    for (int i = 0; i < c->num_hidden_layers; i++) load_layer(&ld, c, &m->layers[i], pre, i);
    sana_load(&ld, &m->norm, SANA_WEIGHT_VECTOR, SANA_SHAPE(c->hidden_size), "%snorm.weight", pre);
    if ((s = sana_loader_finish(&ld))) goto fail;
    sana_log(SANA_LOG_DEBUG, "%s: Gemma2Model H=%d layers=%d heads=%d/%d x %d window=%d softcap=%g", dir,
             c->hidden_size, c->num_hidden_layers, c->num_attention_heads, c->num_key_value_heads, c->head_dim,
             c->sliding_window, c->attn_logit_softcapping);
    *out = m;
    return SANA_OK;
fail:
    sana_gemma2_free(m);
    return s;
}

void sana_gemma2_free(sana_gemma2 *m) {
    if (!m) return;
    sana_st_free(m->st);
    free(m->layers);
    free(m);
}

void sana_gemma2_cache_init(sana_gemma2 *m, sana_arena *arena, int capacity, sana_gemma2_cache *cache) {
    const sana_gemma2_config *c = &m->config;
    const int64_t KV = (int64_t)c->num_key_value_heads * c->head_dim;
    memset(cache, 0, sizeof *cache);
    cache->capacity = capacity;
    cache->k = calloc((size_t)c->num_hidden_layers, sizeof *cache->k);
    cache->v = calloc((size_t)c->num_hidden_layers, sizeof *cache->v);
    if (!cache->k || !cache->v) {
        sana_backend_fail(m->be, SANA_STATUS_NO_MEMORY, "out of host memory for the key/value cache");
        return;
    }
    for (int i = 0; i < c->num_hidden_layers; i++) {
        cache->k[i] = sana_new_f32(arena, capacity, KV); // (capacity, Hkv*dh)
        cache->v[i] = sana_new_f32(arena, capacity, KV);
    }
}

void sana_gemma2_cache_free(sana_gemma2_cache *cache) {
    free(cache->k);
    free(cache->v);
    cache->k = cache->v = NULL;
}

// ------------------------------------------------------------------------------------------------
// Forward

static const sana_tensor *opt(const sana_tensor *t) { return sana_tensor_is_bound(t) ? t : NULL; }

// Gemma2RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w), in fp32.
static void rms_norm(sana_gemma2 *m, sana_tensor *y, const sana_tensor *x, const sana_tensor *w) {
    sana_op_rms_norm(m->be, y, x, w, m->config.rms_norm_eps, true);
}

static void layer_forward(sana_gemma2 *m, sana_arena *arena, int i, sana_tensor *X, const sana_tensor *key_bias,
                          sana_gemma2_cache *cache, int pos0, const sana_tap *tap) {
    sana_backend *be = m->be;
    const sana_gemma2_config *c = &m->config;
    const sana_gemma2_layer_w *l = &m->layers[i];
    const int64_t B = X->shape[0], N = X->shape[1], H = X->shape[2], F = c->intermediate_size,
                  Q = (int64_t)c->num_attention_heads * c->head_dim, KV = (int64_t)c->num_key_value_heads * c->head_dim,
                  K = pos0 + N;
    sana_arena_mark mark = sana_arena_get_mark(arena);

    // Self-attention on the pre-norm, post-norm on its output, residual.
    sana_tensor h = sana_new_f32(arena, B, N, H); // (B, N, H)
    rms_norm(m, &h, X, &l->input_layernorm);
    sana_tensor q = sana_new_f32(arena, B, N, Q); // (B, N, Hq*dh)
    sana_op_linear(be, &q, &h, &l->q_proj, opt(&l->q_bias));
    sana_tensor k_new, v_new, k_all, v_all; // (B, N, Hkv*dh) and (B, K, Hkv*dh)
    if (cache) {
        // New keys and values go straight into the cache, after the cached ones.
        k_new = sana_tensor_reshape3(sana_tensor_slice0(cache->k[i], pos0, N), 1, N, KV);
        v_new = sana_tensor_reshape3(sana_tensor_slice0(cache->v[i], pos0, N), 1, N, KV);
        k_all = sana_tensor_reshape3(sana_tensor_slice0(cache->k[i], 0, K), 1, K, KV);
        v_all = sana_tensor_reshape3(sana_tensor_slice0(cache->v[i], 0, K), 1, K, KV);
    } else {
        k_new = k_all = sana_new_f32(arena, B, N, KV);
        v_new = v_all = sana_new_f32(arena, B, N, KV);
    }
    sana_op_linear(be, &k_new, &h, &l->k_proj, opt(&l->k_bias));
    sana_op_linear(be, &v_new, &h, &l->v_proj, opt(&l->v_bias));
    sana_op_rope(be, &q, &q, c->head_dim, pos0, c->rope_theta);
    sana_op_rope(be, &k_new, &k_new, c->head_dim, pos0, c->rope_theta);
    sana_attn_params ap = {
        .n_heads = c->num_attention_heads,
        .n_kv_heads = c->num_key_value_heads,
        .head_dim = c->head_dim,
        .scale = c->attn_scale,
        .softcap = c->attn_logit_softcapping,
        .causal = true,
        .window = c->sliding[i] ? c->sliding_window : 0,
        .q_offset = pos0,
    };
    sana_tensor o = sana_new_f32(arena, B, N, Q); // (B, N, Hq*dh)
    sana_op_attention(be, &o, &q, &k_all, &v_all, key_bias, &ap);
    sana_tensor a = h; // h is dead: (B, N, H)
    sana_op_linear(be, &a, &o, &l->o_proj, opt(&l->o_bias));
    sana_tap_emit(tap, &a, "layers.%d.self_attn", i);
    rms_norm(m, &a, &a, &l->post_attention_layernorm);
    sana_op_add(be, X, X, &a);

    // GeGLU MLP on the pre-norm, post-norm on its output, residual.
    rms_norm(m, &h, X, &l->pre_feedforward_layernorm);
    sana_tensor g = sana_new_f32(arena, B, N, F), u = sana_new_f32(arena, B, N, F); // (B, N, F)
    sana_op_linear(be, &g, &h, &l->gate_proj, NULL);
    sana_op_linear(be, &u, &h, &l->up_proj, NULL);
    sana_op_act(be, &g, &g, SANA_ACT_GELU_TANH);
    sana_op_mul(be, &u, &u, &g);
    sana_op_linear(be, &a, &u, &l->down_proj, NULL);
    sana_tap_emit(tap, &a, "layers.%d.mlp", i);
    rms_norm(m, &a, &a, &l->post_feedforward_layernorm);
    sana_op_add(be, X, X, &a);
    sana_tap_emit(tap, X, "layers.%d", i);
    sana_arena_reset(arena, mark);
}

void sana_gemma2_embed(sana_gemma2 *m, sana_tensor *X, const sana_tensor *ids, const sana_tap *tap) {
    sana_op_embedding(m->be, X, ids, &m->embed_tokens, m->config.embed_scale);
    sana_tap_emit(tap, X, "embed_tokens");
}

void sana_gemma2_forward_layers(sana_gemma2 *m, sana_arena *arena, sana_tensor *out, sana_tensor *X,
                                const sana_tensor *key_bias, sana_gemma2_cache *cache, int pos0,
                                const sana_tap *tap) {
    const sana_gemma2_config *c = &m->config;
    for (int i = 0; i < c->num_hidden_layers; i++) layer_forward(m, arena, i, X, key_bias, cache, pos0, tap);
    rms_norm(m, out, X, &m->norm);
    sana_tap_emit(tap, out, "norm");
}

void sana_gemma2_forward(sana_gemma2 *m, sana_arena *arena, sana_tensor *out, const sana_tensor *ids,
                         const sana_tensor *key_bias, sana_gemma2_cache *cache, const sana_tap *tap) {
    const sana_gemma2_config *c = &m->config;
    SANA_ASSERT(ids->ndim == 2 && ids->dtype == SANA_DTYPE_I32);
    const int64_t B = ids->shape[0], N = ids->shape[1], H = c->hidden_size;
    SANA_ASSERT(out->ndim == 3 && out->shape[0] == B && out->shape[1] == N && out->shape[2] == H);
    const int pos0 = cache ? cache->length : 0;
    SANA_ASSERT(!cache || (B == 1 && cache->length + N <= cache->capacity));
    SANA_ASSERT(!key_bias || sana_tensor_numel(key_bias) == B * (pos0 + N));
    sana_arena_mark mark = sana_arena_get_mark(arena);

    sana_tensor X = sana_new_f32(arena, B, N, H); // (B, N, H) the residual stream
    sana_gemma2_embed(m, &X, ids, tap);
    sana_gemma2_forward_layers(m, arena, out, &X, key_bias, cache, pos0, tap);
    if (cache) cache->length += (int)N;
    sana_arena_reset(arena, mark);
}
