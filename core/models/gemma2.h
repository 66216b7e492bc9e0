// gemma2.h: Gemma2Model, the Gemma-2 decoder that SANA uses as its text encoder.
//
// Mirrors transformers src/transformers/models/gemma2/modeling_gemma2.py (Gemma2Model,
// Gemma2DecoderLayer, Gemma2Attention with eager_attention_forward, Gemma2MLP, Gemma2RMSNorm,
// Gemma2RotaryEmbedding, Gemma2TextScaledWordEmbedding), in fp32 as the eager attention path
// computes it: embedding x sqrt(H), four (1 + w) RMSNorms per layer, RoPE (rotate half),
// grouped-query attention scaled by query_pre_attn_scalar^-0.5 with tanh logit soft-capping and
// causal / sliding-window masks, GeGLU (tanh GELU), a final RMSNorm. Spec:
// ../shared/spec/encoder-tokenizer-vae.md part A. Its output is last_hidden_state, what the SANA
// pipelines take (no LM head, no final logit soft-capping).
//
// Beyond upstream's single padded pass, the forward runs on any slice of positions: a caller
// may pass only the real tokens (padding keys are masked anyway), and may keep the keys and
// values of a prefix in a cache and continue after it (the attention sees the cached keys at
// positions 0 .. pos0-1), which is how the prompt encoder reuses the instruction prefix.
//
// What it is not: no LM head, no generation, no SDPA-style variant without soft-capping.
//
// Shape legend: B batch, N tokens in this call, P cached positions before them (pos0), K = P + N
// key positions, H hidden size, Hq / Hkv query / key-value heads, dh head size, F GeGLU width,
// V vocabulary rows.
#ifndef SANA_GEMMA2_H
#define SANA_GEMMA2_H

#include "../arena.h"
#include "../backend.h"
#include "../config.h"
#include "../safetensors.h"
#include "../tap.h"

typedef struct sana_gemma2_layer_w {
    sana_tensor input_layernorm;            // (H)
    sana_tensor q_proj, k_proj, v_proj;     // self_attn: (Hq*dh, H), (Hkv*dh, H), (Hkv*dh, H)
    sana_tensor o_proj;                     // (H, Hq*dh)
    sana_tensor q_bias, k_bias, v_bias;     // attention_bias only: (Hq*dh), (Hkv*dh), (Hkv*dh)
    sana_tensor o_bias;                     // attention_bias only: (H)
    sana_tensor post_attention_layernorm;   // (H)
    sana_tensor pre_feedforward_layernorm;  // (H)
    sana_tensor gate_proj, up_proj;         // mlp: (F, H)
    sana_tensor down_proj;                  // (H, F)
    sana_tensor post_feedforward_layernorm; // (H)
} sana_gemma2_layer_w;

typedef struct sana_gemma2 {
    sana_gemma2_config config;
    sana_safetensors *st; // the checkpoint (weights may point into it)
    sana_backend *be;     // borrowed

    sana_tensor embed_tokens; // (V, H), SANA_WEIGHT_TABLE: stays mmapped on the CPU
    sana_tensor norm;         // (H)
    sana_gemma2_layer_w *layers;
} sana_gemma2;

// Loads DIR/config.json and DIR/model.safetensors (or its sharded index). Keys are
// Gemma2Model's ("embed_tokens.weight", "layers.0.self_attn.q_proj.weight", ...); a saved
// Gemma2ForCausalLM's "model." prefix is accepted too.
sana_status sana_gemma2_load(const char *dir, sana_backend *be, sana_gemma2 **out, sana_error *err);
void sana_gemma2_free(sana_gemma2 *m);

// Keys and values of earlier positions, per layer, for one sequence (B = 1).
typedef struct sana_gemma2_cache {
    int capacity;       // positions the buffers hold
    int length;         // positions filled: the next forward starts at pos0 = length
    sana_tensor *k, *v; // per layer (capacity, Hkv*dh); k after RoPE
} sana_gemma2_cache;

// Allocates a cache of `capacity` positions from `arena` (which must outlive it).
void sana_gemma2_cache_init(sana_gemma2 *m, sana_arena *arena, int capacity, sana_gemma2_cache *cache);
// Frees the cache's host bookkeeping (its tensors belong to the arena).
void sana_gemma2_cache_free(sana_gemma2_cache *cache);

// out (B, N, H) = last_hidden_state of ids (B, N) (I32), at positions pos0 .. pos0 + N - 1.
// key_bias (B, K) or NULL: added to the attention logits after soft-capping, per key (0 to
// keep, -FLT_MAX to drop a padding key, as upstream's additive mask). cache (B = 1) or NULL:
// with a cache, pos0 = cache->length, the cached keys and values are attended to, the new
// ones are written after them and cache->length grows by N (N <= capacity - length); without,
// pos0 = 0. Temporaries come from `arena` and are released before it returns.
void sana_gemma2_forward(sana_gemma2 *m, sana_arena *arena, sana_tensor *out, const sana_tensor *ids,
                         const sana_tensor *key_bias, sana_gemma2_cache *cache, const sana_tap *tap);

// The two halves of sana_gemma2_forward, for a caller that records the second as a graph (the
// embedding waits for the ids on the host, so it cannot be recorded): X (B, N, H) = the scaled
// embedding rows of ids; then out = the layers and the final norm over X (X is overwritten),
// which neither reads nor changes cache->length: pos0 is given, and the caller adds N to the
// length afterwards.
void sana_gemma2_embed(sana_gemma2 *m, sana_tensor *X, const sana_tensor *ids, const sana_tap *tap);
void sana_gemma2_forward_layers(sana_gemma2 *m, sana_arena *arena, sana_tensor *out, sana_tensor *X,
                                const sana_tensor *key_bias, sana_gemma2_cache *cache, int pos0,
                                const sana_tap *tap);

#endif // SANA_GEMMA2_H
