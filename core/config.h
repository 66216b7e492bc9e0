// config.h: diffusers/transformers config.json files -> C structs (yyjson).
//
// A small checked reader (sana_json_*) that every config parser uses, and the parsers
// themselves, one struct per config class. Each field keeps the key's name; each error names the
// file, the key, the value found and what is accepted. Fields that upstream's constructor gives
// a default are optional here with the same default; fields that fix the architecture are
// required.
//
// What it is not: it knows nothing of weights or models beyond what the config file says.
#ifndef SANA_CONFIG_H
#define SANA_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "sana.h"

// ------------------------------------------------------------------------------------------------
// Checked JSON reading. Errors are sticky: after the first one, reads return their default and
// sana_json_close() returns that first error.

typedef struct sana_json {
    const char *path;
    void *doc;  // yyjson_doc *
    void *root; // yyjson_val * (an object)
    sana_error *err;
    sana_status status;
} sana_json;

// Reads and parses path; the root must be a JSON object.
sana_status sana_json_open(const char *path, sana_json *j, sana_error *err);
// Frees the document; returns the first error any read recorded.
sana_status sana_json_close(sana_json *j);

bool sana_json_has(sana_json *j, const char *key);     // present (null counts as present)
bool sana_json_is_null(sana_json *j, const char *key); // absent or null

// An integer in [min, max]. required: an absent key is an error; else it gives def.
int64_t sana_json_int(sana_json *j, const char *key, int64_t min, int64_t max, bool required,
                      int64_t def);
double sana_json_num(sana_json *j, const char *key, double min, double max, bool required,
                     double def);
bool sana_json_bool(sana_json *j, const char *key, bool required, bool def);
// A string (borrowed from the document, valid until close), or def when absent or null.
const char *sana_json_str(sana_json *j, const char *key, bool required, const char *def);
// An integer array of at most max_len entries each in [min, max]; returns its length.
int sana_json_int_array(sana_json *j, const char *key, int64_t *out, int max_len, int64_t min,
                        int64_t max, bool required);
// A string array of at most max_len entries (borrowed); returns its length.
int sana_json_str_array(sana_json *j, const char *key, const char **out, int max_len,
                        bool required);

// When "_class_name" is present it must be `expected`.
void sana_json_expect_class(sana_json *j, const char *expected);

// Records a config error on j that names the file and key (for cross-field checks).
void sana_json_fail(sana_json *j, sana_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// ------------------------------------------------------------------------------------------------
// SanaTransformer2DModel (diffusers models/transformers/sana_transformer.py)

typedef struct sana_dit_config {
    int in_channels;               // latent channels C
    int out_channels;              // null -> in_channels
    int num_attention_heads;       // H, linear self-attention
    int attention_head_dim;        // d
    int num_layers;
    int num_cross_attention_heads; // Hc
    int cross_attention_head_dim;  // dc
    int cross_attention_dim;       // must equal H*d (K/V input after caption projection)
    int caption_channels;          // text encoder width
    double mlp_ratio;              // F = int(mlp_ratio * D)
    bool attention_bias;           // biases on attn1 q/k/v
    int sample_size;               // base latent size (resolution binning table)
    int patch_size;                // only 1 is supported
    bool norm_elementwise_affine;  // affine norm2
    float norm_eps;
    bool guidance_embeds;          // Sprint: SanaCombinedTimestepGuidanceEmbeddings
    float guidance_embeds_scale;   // applied by the Sprint pipeline to guidance_scale
    bool qk_norm;                  // "rms_norm_across_heads"
    float timestep_scale;          // applied by the multi-step SanaPipeline only
    bool guidance_embeds_in_config; // the file names guidance_embeds (else the default above)
    bool qk_norm_in_config;         // the file names qk_norm

    // derived
    int inner_dim;       // D = H * d
    int cross_inner_dim; // Hc * dc
    int ffn_dim;         // F
} sana_dit_config;

// Reads DIR/config.json of a transformer folder.
sana_status sana_dit_config_load(const char *path, sana_dit_config *c, sana_error *err);

// Reads DIR/config.json of a SanaControlNetModel folder (diffusers models/controlnets/
// controlnet_sana.py): the same fields (num_layers optional, default 7). A Sprint-style ControlNet
// may add "guidance_embeds": true and "qk_norm": "rms_norm_across_heads" as the transformer's
// config spells them; when the file does not name them, the ControlNet loader decides from the
// weights (see sana-controlnet.h).
sana_status sana_controlnet_config_load(const char *path, sana_dit_config *c, sana_error *err);

// ------------------------------------------------------------------------------------------------
// SCMScheduler (diffusers schedulers/scheduling_scm.py)

typedef struct sana_scm_config {
    int num_train_timesteps;
    float sigma_data;
} sana_scm_config;

sana_status sana_scm_config_load(const char *path, sana_scm_config *c, sana_error *err);

// ------------------------------------------------------------------------------------------------
// DPMSolverMultistepScheduler with flow sigmas (diffusers schedulers/
// scheduling_dpmsolver_multistep.py), as the multi-step SANA pipelines configure it:
// use_flow_sigmas, prediction_type "flow_prediction", algorithm_type "dpmsolver++",
// final_sigmas_type "zero". Other settings of that class are refused by name.

typedef struct sana_flow_dpm_config {
    int num_train_timesteps;
    double flow_shift;      // sigma -> shift * sigma / (1 + (shift - 1) * sigma)
    int solver_order;       // 1 or 2 (SANA: 2)
    bool heun;              // solver_type "heun"; else "midpoint" (SANA)
    bool lower_order_final; // (only matters for solver_order 3, which is not supported)
    bool euler_at_final;
} sana_flow_dpm_config;

sana_status sana_flow_dpm_config_load(const char *path, sana_flow_dpm_config *c, sana_error *err);

// The "_class_name" of a JSON file (model_index.json, scheduler_config.json) into buf ("" when
// the file has none).
sana_status sana_json_class_name(const char *path, char *buf, size_t size, sana_error *err);

// ------------------------------------------------------------------------------------------------
// Gemma2Config (transformers models/gemma2/configuration_gemma2.py), text_encoder/config.json

#define SANA_GEMMA2_MAX_LAYERS 256

typedef struct sana_gemma2_config {
    int vocab_size;               // V: rows of embed_tokens
    int hidden_size;              // H
    int intermediate_size;        // F (GeGLU width)
    int num_hidden_layers;
    int num_attention_heads;      // Hq
    int num_key_value_heads;      // Hkv, divides Hq (grouped-query attention)
    int head_dim;                 // dh, even (RoPE pairs i, i + dh/2)
    int max_position_embeddings;  // positions the model was trained for (not enforced upstream)
    float rms_norm_eps;
    float rope_theta;             // "rope_parameters.rope_theta" (v5) or "rope_theta" (v4)
    bool attention_bias;          // biases on q/k/v/o_proj
    float query_pre_attn_scalar;  // attention scale = query_pre_attn_scalar ** -0.5
    int sliding_window;           // window of the "sliding_attention" layers
    float attn_logit_softcapping; // 0: null (no soft-capping)
    int pad_token_id;
    bool sliding[SANA_GEMMA2_MAX_LAYERS]; // per layer: "sliding_attention" (else "full_attention")

    // derived
    float attn_scale;  // float32(query_pre_attn_scalar ** -0.5)
    float embed_scale; // float32(hidden_size ** 0.5): Gemma2TextScaledWordEmbedding
} sana_gemma2_config;

// Reads a text_encoder/config.json (Gemma2Model or Gemma2ForCausalLM).
sana_status sana_gemma2_config_load(const char *path, sana_gemma2_config *c, sana_error *err);

// ------------------------------------------------------------------------------------------------
// AutoencoderDC (diffusers models/autoencoders/autoencoder_dc.py)

#define SANA_DCAE_MAX_STAGES 8
#define SANA_DCAE_MAX_SCALES 4

typedef enum sana_dcae_block_type {
    SANA_DCAE_RES_BLOCK = 0,       // "ResBlock"
    SANA_DCAE_EFFICIENTVIT_BLOCK,  // "EfficientViTBlock"
} sana_dcae_block_type;

typedef enum sana_dcae_norm_type {
    SANA_DCAE_RMS_NORM = 0, // "rms_norm": per-pixel RMSNorm over channels, with bias
    SANA_DCAE_BATCH_NORM,   // "batch_norm": BatchNorm2d with running statistics (eval)
} sana_dcae_norm_type;

typedef enum sana_dcae_act_fn {
    SANA_DCAE_SILU = 0, // "silu" / "swish"
    SANA_DCAE_RELU,     // "relu"
} sana_dcae_act_fn;

// One stage (resolution level) of the encoder or the decoder.
typedef struct sana_dcae_stage {
    sana_dcae_block_type block_type;
    int out_channels;
    int layers;                        // blocks in the stage (layers_per_block[i])
    int n_scales;                      // len(qkv_multiscales[i]) (EfficientViT blocks)
    int scales[SANA_DCAE_MAX_SCALES];  // their kernel sizes (odd)
    sana_dcae_norm_type norm_type;     // decoder_norm_types[i]; the encoder is always rms_norm
    sana_dcae_act_fn act_fn;           // decoder_act_fns[i]; the encoder is always silu
} sana_dcae_stage;

typedef struct sana_dcae_config {
    int in_channels;     // image channels
    int latent_channels;
    int attention_head_dim;
    int n_stages;        // len(*_block_out_channels), the same for encoder and decoder
    sana_dcae_stage encoder[SANA_DCAE_MAX_STAGES];
    sana_dcae_stage decoder[SANA_DCAE_MAX_STAGES];
    bool downsample_pixel_unshuffle; // downsample_block_type "pixel_unshuffle"; else ("conv",
                                     // "Conv") a 3x3 stride-2 convolution
    bool upsample_interpolate;       // upsample_block_type "interpolate" (nearest x2 + conv);
                                     // else ("pixel_shuffle") conv + pixel shuffle
    bool encoder_out_shortcut;
    bool decoder_in_shortcut;
    sana_dcae_act_fn decoder_conv_act_fn;
    float scaling_factor;            // the pipelines divide latents by it before decoding

    // derived
    int spatial_compression_ratio;   // 2^(n_stages - 1)
} sana_dcae_config;

// Reads DIR/config.json of a vae folder.
sana_status sana_dcae_config_load(const char *path, sana_dcae_config *c, sana_error *err);

#endif // SANA_CONFIG_H
