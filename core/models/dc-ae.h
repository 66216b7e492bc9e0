// dc-ae.h: AutoencoderDC, the deep-compression autoencoder of SANA (DC-AE f32c32).
//
// Mirrors diffusers src/diffusers/models/autoencoders/autoencoder_dc.py (AutoencoderDC, Encoder,
// Decoder, ResBlock, EfficientViTBlock, DCDownBlock2d, DCUpBlock2d, tiled_decode / tiled_encode
// / blend_v / blend_h), models/attention_processor.py (SanaMultiscaleLinearAttention,
// SanaMultiscaleAttentionProjection, SanaMultiscaleAttnProcessor2_0), models/transformers/
// sana_transformer.py (GLUMBConv) and models/normalization.py (RMSNorm, get_normalization).
// Spec: ../shared/spec/encoder-tokenizer-vae.md part C.
//
// Everything AutoencoderDC's config can describe with the block types "ResBlock" and
// "EfficientViTBlock", norms "rms_norm" and "batch_norm" (eval), activations silu/relu, both
// down-sampling modes (stride-2 conv, pixel_unshuffle), both up-sampling modes (nearest x2 +
// conv, pixel_shuffle), any qkv_multiscales, empty first stages (the in/mix configs) and the
// shortcuts. Not: decode/encode as a distribution (DC-AE has none), other block types.
//
// Layout: NCHW throughout. A pass runs one batch entry at a time inside one workspace taken
// from the arena (two ends: the running activation at one end, a block's temporaries in the
// rest, resampling blocks write to the other end), so the activation memory is known before
// the pass and bounded by the widest stage: about 2 x C0 x H x W floats for the decoder (1 GiB
// at 1024^2). Larger images decode in overlapping tiles exactly as diffusers' enable_tiling
// does, chosen automatically from a memory budget or on request.
//
// Shape legend: B batch, Cl latent channels, h x w latent grid, H x W image (H = r h, r the
// spatial compression ratio, 32 for f32c32), C stage channels, N = pixels of a stage, d
// attention head dimension, S multi-scale branches.
#ifndef SANA_DCAE_H
#define SANA_DCAE_H

#include "../arena.h"
#include "../backend.h"
#include "../config.h"
#include "../safetensors.h"
#include "../tap.h"

typedef struct sana_dcae_conv_w {
    sana_tensor weight; // (Co, Ci/groups, kh, kw)
    sana_tensor bias;   // (Co) or unbound
} sana_dcae_conv_w;

typedef struct sana_dcae_norm_w {
    sana_tensor weight, bias;              // (C)
    sana_tensor running_mean, running_var; // (C), batch_norm only
} sana_dcae_norm_w;

typedef struct sana_dcae_block_w {
    // ResBlock
    sana_dcae_conv_w conv1; // (C, C, 3, 3), bias
    sana_dcae_conv_w conv2; // (C, C, 3, 3), no bias
    sana_dcae_norm_w norm;
    // EfficientViTBlock: attn (SanaMultiscaleLinearAttention) ...
    sana_tensor to_q, to_k, to_v;                     // (inner, C), inner = (C / d) * d
    sana_tensor proj_in[SANA_DCAE_MAX_SCALES];        // (3 inner, 1, k, k) depthwise
    sana_tensor proj_out[SANA_DCAE_MAX_SCALES];       // (3 inner, d, 1, 1), 3 * heads groups
    sana_tensor to_out;                               // (C, inner * (1 + S))
    sana_dcae_norm_w norm_out;
    // ... and conv_out (GLUMBConv, expand ratio 4)
    sana_dcae_conv_w conv_inverted; // (8C, C, 1, 1), bias
    sana_dcae_conv_w conv_depth;    // (8C, 1, 3, 3), bias
    sana_tensor conv_point;         // (C, 4C, 1, 1)
    sana_dcae_norm_w conv_out_norm; // rms_norm
} sana_dcae_block_w;

typedef struct sana_dcae_stage_w {
    bool has_resample;          // the DCDownBlock2d / DCUpBlock2d of this stage
    sana_dcae_conv_w resample;  // its conv
    sana_dcae_block_w *blocks;  // config layers
} sana_dcae_stage_w;

// Which halves sana_dcae_load binds.
#define SANA_DCAE_ENCODER 1u
#define SANA_DCAE_DECODER 2u

typedef struct sana_dcae {
    sana_dcae_config config;
    char dir[512];        // the folder it was loaded from, for messages
    unsigned parts;       // SANA_DCAE_ENCODER | SANA_DCAE_DECODER
    sana_safetensors *st; // the checkpoint (weights may point into it)
    sana_backend *be;     // borrowed

    sana_dcae_conv_w enc_conv_in;  // encoder.conv_in (or .conv_in.conv: a DCDownBlock2d)
    sana_dcae_stage_w enc[SANA_DCAE_MAX_STAGES];
    sana_dcae_conv_w enc_conv_out; // (Cl, C_last, 3, 3)

    sana_dcae_conv_w dec_conv_in;  // (C_last, Cl, 3, 3)
    sana_dcae_stage_w dec[SANA_DCAE_MAX_STAGES];
    sana_dcae_norm_w dec_norm_out; // RMSNorm
    sana_dcae_conv_w dec_conv_out; // decoder.conv_out (or .conv_out.conv: a DCUpBlock2d)
} sana_dcae;

// Loads DIR/config.json and DIR/diffusion_pytorch_model.safetensors (or its sharded index),
// binding the halves named by `parts` (the other half's tensors are left untouched).
sana_status sana_dcae_load(const char *dir, sana_backend *be, unsigned parts, sana_dcae **out,
                           sana_error *err);
void sana_dcae_free(sana_dcae *m);

// Image pixels per latent pixel along each side (32 for f32c32), and the factor the pipelines
// divide latents by before decoding (config.scaling_factor, 0.41407 for SANA).
int sana_dcae_spatial_factor(const sana_dcae *m);
float sana_dcae_scaling_factor(const sana_dcae *m);

// ------------------------------------------------------------------------------------------------
// Tiling

typedef enum sana_dcae_tiling_mode {
    SANA_DCAE_TILING_AUTO = 0, // tile when an untiled pass would need more than memory_budget
    SANA_DCAE_TILING_OFF,
    SANA_DCAE_TILING_ON,       // as diffusers after enable_tiling(): tile whenever the input
                               // is larger than one tile
} sana_dcae_tiling_mode;

#define SANA_DCAE_DEFAULT_BUDGET ((size_t)3 << 29) // 1.5 GiB of activations

// Tile geometry in image pixels, as enable_tiling(); 0 takes diffusers' default (512 / 448).
// Sizes must be multiples of the compression ratio, 0 < stride <= size. The blend extent is
// size - stride (64 px by default, 2 latent pixels when encoding).
typedef struct sana_dcae_tiling {
    sana_dcae_tiling_mode mode;
    size_t memory_budget; // AUTO only; 0: SANA_DCAE_DEFAULT_BUDGET
    int tile_sample_min_height, tile_sample_min_width;
    int tile_sample_stride_height, tile_sample_stride_width;
} sana_dcae_tiling;

// What a decode or encode of one batch entry will do.
typedef struct sana_dcae_plan {
    bool tiled;
    int tiles;              // decoder/encoder passes (1 when untiled)
    size_t untiled_bytes;   // workspace an untiled pass needs
    size_t workspace_bytes; // arena memory the chosen way takes (tile buffers included)
    double flops;           // 2 x multiply-adds of the convolutions and attention products
    double flops_upsample;  // the part in nearest-x2 + 3x3 convolutions (the CPU backend runs
                            // them as 2x2 sub-pixel convolutions: 16/36 of these FLOPs)
} sana_dcae_plan;

// Plans decoding an h x w latent (image r h x r w), or encoding an H x W image. Checks the
// sizes and the tile geometry; errors name the value and what is accepted.
sana_status sana_dcae_plan_decode(const sana_dcae *m, int64_t h, int64_t w,
                                  const sana_dcae_tiling *tiling, sana_dcae_plan *plan,
                                  sana_error *err);
sana_status sana_dcae_plan_encode(const sana_dcae *m, int64_t H, int64_t W,
                                  const sana_dcae_tiling *tiling, sana_dcae_plan *plan,
                                  sana_error *err);

// ------------------------------------------------------------------------------------------------
// Passes. Both check their tensors first (a bad shape is SANA_STATUS_BAD_INPUT with a message
// naming it); then they enqueue the work and return SANA_OK: failures while computing (out of
// memory) are the backend's sticky error, reported by sana_backend_sync(). Temporaries come from
// `arena` and are released before they return. tiling may be NULL (AUTO, defaults). Taps are
// emitted by module path ("decoder.up_blocks.3.1.attn") on untiled passes only.

// image (B, in_channels, r h, r w) = vae.decode(latent (B, Cl, h, w)).sample: values nominally
// in [-1, 1], not clamped. As upstream, the latent is used as given (the pipeline divides by
// config.scaling_factor first).
sana_status sana_dcae_decode(sana_dcae *m, sana_arena *arena, sana_tensor *image,
                             const sana_tensor *latent, const sana_dcae_tiling *tiling,
                             const sana_tap *tap, sana_error *err);

// latent (B, Cl, H / r, W / r) = vae.encode(image (B, in_channels, H, W)).latent, for an image
// in [-1, 1] whose sides are multiples of r.
sana_status sana_dcae_encode(sana_dcae *m, sana_arena *arena, sana_tensor *latent,
                             const sana_tensor *image, const sana_dcae_tiling *tiling,
                             const sana_tap *tap, sana_error *err);

#endif // SANA_DCAE_H
