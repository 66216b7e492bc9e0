// sana-controlnet.h: SanaControlNetModel, the ControlNet of SANA, and its two wirings into the
// transformer.
//
// Mirrors diffusers src/diffusers/models/controlnets/controlnet_sana.py (SanaControlNetModel)
// and the injection in models/transformers/sana_transformer.py (SanaTransformer2DModel.forward,
// controlnet_block_samples); the second wiring follows NVlabs Sana diffusion/model/nets/
// sana_multi_scale_controlnet.py (SanaMSControlNet) as ../shared/spec/transformer-sampler.md
// section 4.3 describes it. Spec: sections 4.1-4.3 and 4.6.
//
// The model: its own patch_embed, time_embed, caption_projection, caption_norm and
// transformer_blocks.0..L-1 (L = num_layers, 7 in every published one; copies of the base
// model's blocks 0..L-1 when trained), plus input_block (D, D) and controlnet_blocks.0..L-1
// (D, D). These share sana-dit.c's code (the trunk is a sana_dit without output head).
//
// Wirings (the two are not algebraically equivalent):
// - SANA_CONTROLNET_DIFFUSERS (default), as diffusers computes it:
//       X = patch_embed(x) + input_block(patch_embed(control_latent))
//       for k < L: X = block_k(X); R_k = controlnet_blocks.k(X) * scale
//   and the transformer adds R_{i-1} to the output of its block i for 0 < i <= L.
// - SANA_CONTROLNET_NVLABS, as NVlabs' SanaMSControlNet: the control branch starts from the
//   output of base block 0, and each skip goes to the input of the next base block:
//       x_0 = B_0(patch_embed(x)); c = x_0 + input_block(patch_embed(control_latent))
//       for k < L: c = C_k(c); s_k = controlnet_blocks.k(c) * scale; x_{k+1} = B_{k+1}(x_k + s_k)
//   Here the ControlNet's blocks use the ControlNet's own time embedding and caption path, where
//   NVlabs uses the base model's; they are the same numbers whenever the ControlNet's embeddings
//   are copies of the base model's, as in every converted checkpoint (convert_sana_controlnet_
//   to_diffusers.py copies them from the one NVlabs state dict). The conditioning scale
//   multiplies each skip, as it multiplies each residual in diffusers.
//
// Flavours: the diffusers class has no QK norm and a plain AdaLayerNormSingle time embedding
// (multi-step SANA). A Sprint-style ControlNet (for SANA-Sprint, run in the SCM loop with the
// same flow time and guidance as the transformer) is accepted in the same folder format with
// the transformer's Sprint options: config.json may say "guidance_embeds": true and
// "qk_norm": "rms_norm_across_heads" (same meaning and keys as SanaTransformer2DModel:
// time_embed.timestep_embedder / time_embed.guidance_embedder, attn1/attn2 norm_q / norm_k);
// when the config does not name them, they are read off the weights.
//
// Shape legend: B batch, C latent channels, h x w latent grid, N = h*w tokens, D hidden size,
// L ControlNet layers.
#ifndef SANA_CONTROLNET_H
#define SANA_CONTROLNET_H

#include "sana-dit.h"

// sana_controlnet_wiring (SANA_CONTROLNET_DIFFUSERS, SANA_CONTROLNET_NVLABS) is in sana.h.

typedef struct sana_controlnet {
    sana_dit *trunk;                  // embeddings + transformer_blocks (no output head)
    sana_linear_w input_block;        // (D, D), bias
    sana_linear_w *controlnet_blocks; // L x (D, D), bias
} sana_controlnet;

// Loads DIR/config.json (SanaControlNetModel) and DIR/diffusion_pytorch_model.safetensors.
sana_status sana_controlnet_load(const char *dir, sana_backend *be, sana_controlnet **out, sana_error *err);
void sana_controlnet_free(sana_controlnet *m);

// Checks that the ControlNet in `dir` can drive `base` (a transformer loaded from base_dir): the
// same hidden size, latent channels and caption width, the same flavour (Sprint with guidance
// embedding, or multi-step), and fewer layers than the base (each residual needs a base block
// to follow). The error names both folders and the values.
sana_status sana_controlnet_check(const sana_controlnet *m, const char *dir, const sana_dit *base,
                                  const char *base_dir, sana_error *err);

// The control image's token embedding, computed once per image: ctrl (1, N, D) =
// input_block(patch_embed(control_latent (1, C, h, w))). (diffusers recomputes it every step;
// the value is the same.)
void sana_controlnet_embed_control(sana_controlnet *m, sana_arena *arena, sana_tensor *ctrl,
                                   const sana_tensor *control_latent, const sana_tap *tap);

// diffusers' SanaControlNetModel.forward: residuals[k] (B, N, D) for k < L (allocated by the
// caller) from latent x (B, C, h, w), ctrl (1 or B, N, D) from sana_controlnet_embed_control,
// the ControlNet's own caption (sana_dit_prepare_caption on m->trunk), timestep (B), guidance
// (B) (Sprint flavour only, else NULL). Taps by module path: patch_embed, time_embed.*,
// transformer_blocks.k, controlnet_blocks.k (after the scale).
void sana_controlnet_forward(sana_controlnet *m, sana_arena *arena, sana_tensor *residuals,
                             const sana_tensor *x, const sana_tensor *ctrl, float scale,
                             const sana_dit_caption *cap, const sana_tensor *timestep,
                             const sana_tensor *guidance, const sana_tap *tap);

// The transformer's forward with this ControlNet in the given wiring: out (B, C, h, w) as
// sana_dit_forward, base_cap the base model's caption, cn_cap the ControlNet's. tap_cn sees
// the ControlNet's intermediates (diffusers wiring: as sana_controlnet_forward; NVlabs:
// "controlnet_blocks.k"), tap the base model's.
void sana_controlnet_forward_base(sana_controlnet *m, sana_dit *base, sana_arena *arena,
                                  sana_tensor *out, const sana_tensor *x, const sana_tensor *ctrl,
                                  float scale, sana_controlnet_wiring wiring,
                                  const sana_dit_caption *base_cap, const sana_dit_caption *cn_cap,
                                  const sana_tensor *timestep, const sana_tensor *guidance,
                                  const sana_tap *tap_cn, const sana_tap *tap);

#endif // SANA_CONTROLNET_H
