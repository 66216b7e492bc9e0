// sana-dit.h: SanaTransformer2DModel, the SANA / SANA-Sprint linear-attention DiT.
//
// Mirrors diffusers src/diffusers/models/transformers/sana_transformer.py (SanaTransformer2DModel,
// SanaTransformerBlock, GLUMBConv, SanaModulatedNorm, SanaCombinedTimestepGuidanceEmbeddings),
// models/attention_processor.py (SanaLinearAttnProcessor2_0) and models/normalization.py
// (AdaLayerNormSingle, RMSNorm). Spec: ../shared/spec/transformer-sampler.md section 1.
//
// Both flavours: Sprint (qk_norm "rms_norm_across_heads", guidance embedding) and the
// multi-step SANA models (AdaLayerNormSingle time embedding, no QK norm). Not supported:
// patch_size > 1, sincos position embeddings (2K/4K models), affine norm2 (none are published).
//
// Shape legend: B batch, C latent channels, h x w latent grid, N = h*w tokens (row-major),
// D = heads * head_dim hidden size, L caption tokens, Dc cross-attention inner size,
// F feed-forward width, E caption (text encoder) width.
#ifndef SANA_DIT_H
#define SANA_DIT_H

#include "../arena.h"
#include "../backend.h"
#include "../config.h"
#include "../safetensors.h"
#include "../tap.h"
#include "weights.h"

typedef struct sana_linear_w {
    sana_tensor weight; // (out, in) (or (out, in, 1, 1) for 1x1 convolutions)
    sana_tensor bias;   // (out) or unbound
} sana_linear_w;

typedef struct sana_timestep_embedding_w {
    sana_linear_w linear_1; // (D, 256)
    sana_linear_w linear_2; // (D, D)
} sana_timestep_embedding_w;

typedef struct sana_dit_attn_w {
    sana_linear_w to_q, to_k, to_v; // attn1: (D, D), no bias by default; attn2: (Dc, D), bias
    sana_tensor norm_q, norm_k;     // (D) / (Dc), qk_norm only
    sana_linear_w to_out;           // to_out.0: (D, D) / (D, Dc), bias
} sana_dit_attn_w;

typedef struct sana_dit_block_w {
    sana_tensor scale_shift_table; // (6, D)
    sana_dit_attn_w attn1;         // linear self-attention
    sana_dit_attn_w attn2;         // cross-attention to the caption
    struct {
        sana_linear_w conv_inverted; // (2F, D, 1, 1), bias
        sana_linear_w conv_depth;    // (2F, 1, 3, 3), bias
        sana_tensor conv_point;      // (D, F, 1, 1), no bias
    } ff;
} sana_dit_block_w;

typedef struct sana_dit {
    sana_dit_config config;
    sana_safetensors *st; // the checkpoint (weights may point into it)
    sana_backend *be;     // borrowed

    sana_linear_w patch_embed;                   // patch_embed.proj: (D, C, 1, 1)
    sana_timestep_embedding_w timestep_embedder; // time_embed.timestep_embedder (Sprint) or
                                                 // time_embed.emb.timestep_embedder
    sana_timestep_embedding_w guidance_embedder; // time_embed.guidance_embedder (Sprint only)
    sana_linear_w time_linear;                   // time_embed.linear: (6D, D)
    sana_linear_w caption_linear_1;              // caption_projection.linear_1: (D, E)
    sana_linear_w caption_linear_2;              // caption_projection.linear_2: (D, D)
    sana_tensor caption_norm;                    // caption_norm.weight: (D)
    sana_tensor scale_shift_table;               // (2, D)
    sana_linear_w proj_out;                      // (C, D)
    sana_dit_block_w *blocks;                    // num_layers
} sana_dit;

// Loads DIR/config.json and DIR/diffusion_pytorch_model.safetensors (or its sharded index).
sana_status sana_dit_load(const char *dir, sana_backend *be, sana_dit **out, sana_error *err);
void sana_dit_free(sana_dit *m);

// Loading the part SanaControlNetModel shares with the transformer (sana-controlnet.c):
// patch_embed, time_embed, caption_projection, caption_norm and transformer_blocks, under the
// same keys. With `controlnet` the config is read as a SanaControlNetModel's, the output head
// (scale_shift_table, proj_out) is not bound, and when the config does not name guidance_embeds
// or qk_norm they are taken from the weights (time_embed.guidance_embedder.*,
// transformer_blocks.0.attn1.norm_q.weight). `extra` binds the caller's own tensors with the same
// loader (so the unused-key warning covers them); it runs after the shared part.
typedef struct sana_dit_load_opts {
    bool controlnet;
    void (*extra)(sana_loader *ld, const sana_dit_config *c, void *user);
    void *user;
} sana_dit_load_opts;

sana_status sana_dit_load_ex(const char *dir, sana_backend *be, const sana_dit_load_opts *opts, sana_dit **out,
                             sana_error *err);

// The caption half of the model, computed once per prompt and reused by every step: the
// projected, normed caption and each block's cross-attention keys and values.
typedef struct sana_dit_caption {
    sana_tensor y;        // (B, L, D) caption_norm output
    sana_tensor key_bias; // (B, L) additive mask: 0 for tokens, -10000 for padding
    sana_tensor *k, *v;   // per block (B, L, Dc), after attn2.norm_k for k
} sana_dit_caption;

// The additive mask of the reference, (1 - mask) * -10000, on host arrays of n values.
void sana_dit_mask_to_bias(float *bias, const float *mask, int64_t n);

// Computes the caption half. `arena` must outlive `cap` (allocations are not reset).
// prompt_embeds (B, L, E), key_bias (B, L) as from sana_dit_mask_to_bias.
void sana_dit_prepare_caption(sana_dit *m, sana_arena *arena, const sana_tensor *prompt_embeds,
                              const sana_tensor *key_bias, sana_dit_caption *cap,
                              const sana_tap *tap);

// Frees the caption's host bookkeeping (its tensors belong to the arena).
void sana_dit_caption_free(sana_dit_caption *cap);

// One forward pass: out (B, C, h, w) = velocity at latent x (B, C, h, w), timestep (B) (flow
// time; Sprint passes it in [0, 1]), guidance (B) (Sprint only, else NULL). Temporaries come
// from `arena` and are released before it returns.
void sana_dit_forward(sana_dit *m, sana_arena *arena, sana_tensor *out, const sana_tensor *x,
                      const sana_dit_caption *cap, const sana_tensor *timestep,
                      const sana_tensor *guidance, const sana_tap *tap);

// A hook into the block loop: after block i has updated the residual stream X (B, N, D),
// after_block(user, i, X) runs and may add to X. This is where diffusers'
// SanaTransformer2DModel.forward adds controlnet_block_samples[i - 1] (0 < i <= len) and where
// NVlabs' ControlNet adds its skips (sana-controlnet.h).
typedef struct sana_dit_hook {
    void (*after_block)(void *user, int i, sana_tensor *X);
    void *user;
} sana_dit_hook;

// sana_dit_forward with a hook (NULL: none).
void sana_dit_forward_hooked(sana_dit *m, sana_arena *arena, sana_tensor *out, const sana_tensor *x,
                             const sana_dit_caption *cap, const sana_tensor *timestep,
                             const sana_tensor *guidance, const sana_dit_hook *hook,
                             const sana_tap *tap);

// The pieces of the forward pass, for the ControlNet (same names and taps as inside the
// forward):
// X (B, N, D) = patch_embed(x (B, C, h, w)), tokens in row-major order (p = 1).
void sana_dit_patch_embed(sana_dit *m, sana_arena *arena, sana_tensor *X, const sana_tensor *x,
                          const sana_tap *tap);
// cond (B, D) = the embedded timestep (+ embedded guidance); t6 (B, 6D) = time_embed.linear(
// silu(cond)).
void sana_dit_time_embed(sana_dit *m, sana_arena *arena, sana_tensor *cond, sana_tensor *t6,
                         const sana_tensor *timestep, const sana_tensor *guidance,
                         const sana_tap *tap);
// Block i (SanaTransformerBlock) on X (B, N, D), in place; h x w the token grid.
void sana_dit_block_forward(sana_dit *m, sana_arena *arena, int i, sana_tensor *X,
                            const sana_tensor *t6, const sana_dit_caption *cap, int h, int w,
                            const sana_tap *tap);

#endif // SANA_DIT_H
