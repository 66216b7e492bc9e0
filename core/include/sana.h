// sana.h: the one public header of the SANA-Sprint inference core.
//
// What it is: a C library that runs the SANA-Sprint text-to-image model (Gemma-2 text encoder,
// linear-attention DiT, DC-AE decoder) from a diffusers-format model folder, on the CPU or,
// through a loadable module, on an NVIDIA GPU; also the multi-step SANA models and SANA
// ControlNets (docs/controlnet.md).
//
// Conventions
// - Every function that can fail returns a sana_status and, when given a sana_error *, writes a
//   one-line message into it that names the file, key or value at fault and what was expected.
//   SANA_OK is 0. The library never exits or aborts on anything a user, a file or a driver can
//   cause.
// - Objects come in _new/_free pairs; _free(NULL) is a no-op.
// - The log sink is process-wide (set it once, before creating objects); everything else is per
//   object. Objects are not shared between threads without the caller's own locking.
#ifndef SANA_H
#define SANA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ------------------------------------------------------------------------------------------------
// Status and errors

typedef enum sana_status {
    SANA_OK = 0,
    SANA_STATUS_IO,          // a file could not be opened, read or written
    SANA_STATUS_BAD_FILE,    // a file's content is malformed (safetensors, JSON, tokenizer, image)
    SANA_STATUS_BAD_MODEL,   // a model folder or config does not describe a usable model
    SANA_STATUS_BAD_INPUT,   // an argument is out of range (size, steps, prompt, tensor shape)
    SANA_STATUS_NO_MEMORY,   // host or device memory exhausted
    SANA_STATUS_UNSUPPORTED, // a valid configuration this build cannot run
    SANA_STATUS_DEVICE,      // a GPU driver, CUDA or cuBLAS error
    SANA_STATUS_CANCELLED,   // the caller's cancel flag was seen at a step boundary
} sana_status;

#define SANA_ERROR_MAX 512

typedef struct sana_error {
    sana_status status;
    char message[SANA_ERROR_MAX]; // one line, no trailing newline
} sana_error;

// The name of a status ("SANA_STATUS_BAD_FILE"); never NULL.
const char *sana_status_name(sana_status status);

// Records status and a printf-style message in err (when err is not NULL) and returns status.
// Keeps the first error: a second call on an error that already holds one changes nothing.
sana_status sana_errorf(sana_error *err, sana_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Clears err to SANA_OK and an empty message.
void sana_error_clear(sana_error *err);

// ------------------------------------------------------------------------------------------------
// Logging

typedef enum sana_log_level {
    SANA_LOG_DEBUG = 0,
    SANA_LOG_INFO,
    SANA_LOG_WARN,
    SANA_LOG_ERROR,
} sana_log_level;

// A log sink gets one line per call, without a trailing newline.
typedef void (*sana_log_fn)(sana_log_level level, const char *line, void *user);

// Replaces the sink (NULL restores the default: WARN and above to stderr). Not thread-safe:
// call before creating any object.
void sana_log_set(sana_log_fn fn, void *user);

// Lines below this level are dropped before they reach the sink (default SANA_LOG_INFO).
void sana_log_set_level(sana_log_level level);

void sana_log(sana_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// ------------------------------------------------------------------------------------------------
// Model folders (diffusers layout: model_index.json, transformer/, text_encoder/, tokenizer/,
// vae/, scheduler/)

typedef struct sana_model_info {
    char path[4096]; // the folder
    char name[256];  // "ORG/NAME" for the Hugging Face cache, else the folder's name
} sana_model_info;

// Lists the model folders in SANA_MODEL_DIR (a model folder or a folder of them) and in the
// Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub or
// ~/.cache/huggingface/hub). Fills at most max entries; returns how many were found.
int sana_model_list(sana_model_info *out, int max);

// Resolves `model` to a folder: an existing folder as is, "ORG/NAME" through the Hugging Face
// cache, NULL or "" to the first SANA-Sprint model found (else the first model). The error says
// where it looked and how to download a model.
sana_status sana_model_resolve(const char *model, char *path, size_t size, sana_error *err);

// Checks that `dir` holds every file the pipeline reads (for a SanaControlNetPipeline folder, its
// controlnet/ too); the error names the first missing file and how to get a complete folder. A
// bare ControlNet folder (SanaControlNetModel, no model_index.json) is refused with a message
// saying it needs a base model.
sana_status sana_model_check(const char *dir, sana_error *err);

// Resolves a ControlNet to its SanaControlNetModel folder: a folder holding config.json and the
// weights, a pipeline folder holding controlnet/ (a SanaControlNetPipeline as diffusers saves it),
// or "ORG/NAME" of either in the Hugging Face cache.
sana_status sana_controlnet_resolve(const char *controlnet, char *path, size_t size, sana_error *err);

// ------------------------------------------------------------------------------------------------
// Text to image
//
//     sana_pipeline_params pp = sana_pipeline_default_params();
//     pp.model = "Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers"; // or a folder
//     sana_pipeline *p;
//     sana_error err = {0};
//     if (sana_pipeline_new(&pp, &p, &err)) { puts(err.message); return 1; }
//     sana_generate_params g = sana_generate_default_params();
//     g.prompt = "a cat sleeping on a windowsill";
//     g.seed = 42;
//     sana_image img;
//     if (sana_generate(p, &g, &img, &err) == SANA_OK) { ...img.rgb...; sana_image_free(&img); }
//     sana_pipeline_free(p);

typedef struct sana_pipeline sana_pipeline;

typedef enum sana_stage {
    SANA_STAGE_LOAD = 0, // reading the model (sana_pipeline_new)
    SANA_STAGE_ENCODE,   // the prompt through the text encoder
    SANA_STAGE_DENOISE,  // the transformer steps
    SANA_STAGE_DECODE,   // the autoencoder
    SANA_STAGE_COUNT,
} sana_stage;

// "Loading model", "Encoding prompt", "Denoising", "Decoding" (English; callers translate).
const char *sana_stage_name(sana_stage stage);

// Called on the generating thread when a stage starts (step 0) and after each of its `total`
// steps. Returning false cancels: the work stops at the next step boundary and the call returns
// SANA_STATUS_CANCELLED.
typedef bool (*sana_progress_fn)(void *user, sana_stage stage, int step, int total);

// How a ControlNet's residuals enter the transformer (they differ; see
// core/models/sana-controlnet.h): as diffusers' SanaControlNetModel + SanaTransformer2DModel do
// (the default, what the diffusers-format checkpoints are run with upstream), or as NVlabs'
// SanaMSControlNet (the code the ControlNets were trained with).
typedef enum sana_controlnet_wiring {
    SANA_CONTROLNET_DIFFUSERS = 0,
    SANA_CONTROLNET_NVLABS,
} sana_controlnet_wiring;

typedef struct sana_pipeline_params {
    const char *model;  // a folder, "ORG/NAME" in the Hugging Face cache, or NULL: the first found
    const char *device; // "auto" (default: CUDA when usable, else the CPU), "cpu", "cuda", "cuda:N"
    int threads;        // CPU threads; 0: all cores
    sana_progress_fn progress; // loading progress (optional)
    void *progress_user;
    // A ControlNet (see sana_controlnet_resolve); NULL: the model folder's own controlnet/ when
    // it is a SanaControlNetPipeline, else none. It must match the base model: hidden size,
    // and a SANA-Sprint ControlNet for SANA-Sprint, a multi-step one for multi-step SANA.
    const char *controlnet;
    sana_controlnet_wiring controlnet_wiring;
} sana_pipeline_params;

sana_pipeline_params sana_pipeline_default_params(void);

// Loads a diffusers folder: SanaSprintPipeline (SCM sampler), SanaPipeline or
// SanaControlNetPipeline (multi-step, DPM-Solver with classifier-free guidance), chosen by
// model_index.json's _class_name, else by the scheduler's class. Weights are mmapped (CPU) or
// uploaded once (CUDA).
sana_status sana_pipeline_new(const sana_pipeline_params *params, sana_pipeline **out,
                              sana_error *err);
void sana_pipeline_free(sana_pipeline *p);

// The resolved model folder and the device in use ("cpu", "cuda:0").
const char *sana_pipeline_model_dir(const sana_pipeline *p);
const char *sana_pipeline_device(const sana_pipeline *p);

typedef enum sana_model_kind {
    SANA_MODEL_SPRINT = 0, // SANA-Sprint: 1-4 steps, guidance is embedded in the model
    SANA_MODEL_MULTISTEP,  // SANA: many steps, guidance is classifier-free (a second pass)
} sana_model_kind;

// What a loaded pipeline accepts, for building a user interface.
typedef struct sana_pipeline_info {
    sana_model_kind kind;
    int min_steps, max_steps, default_steps; // Sprint 1..4 (2); multi-step 1..50 (20)
    float default_guidance;                  // 4.5 for both
    bool has_controlnet;                     // control images are accepted
    const char *controlnet_dir;              // its folder (owned by the pipeline), or NULL
    int controlnet_layers;                   // 0 without
} sana_pipeline_info;

void sana_pipeline_get_info(const sana_pipeline *p, sana_pipeline_info *info);

#define SANA_MAX_SIDE 4096

typedef struct sana_image {
    int width, height;
    uint8_t *rgb; // width * height * 3 bytes, rows top to bottom, RGB interleaved
} sana_image;

typedef struct sana_generate_params {
    const char *prompt;          // UTF-8, not empty after stripping white space
    int width, height;           // 32..4096; multiples of 32 when resolution_binning is off
    int steps;                   // Sprint 1..4 (default 2); multi-step 1..50 (upstream's 20)
    uint64_t seed;               // as torch.Generator("cpu").manual_seed(seed)
    float guidance;              // Sprint: embedded guidance scale; multi-step: classifier-free
                                 // guidance scale, <= 1 turns it off (default 4.5 for both)
    float max_timestep;          // Sprint: first TrigFlow time (default 1.5708)
    float intermediate_timestep; // Sprint: second time of the 2-step schedule (default 1.3);
                                 // NAN: linspace
    bool resolution_binning;     // generate at the nearest trained size, then resize (default on)
    const char *complex_human_instruction; // NULL: the default instruction; "": none
    sana_progress_fn progress;
    void *progress_user;
    // Multi-step: the negative prompt of classifier-free guidance, encoded without the complex
    // human instruction (NULL: "", upstream's default). Ignored by Sprint and without guidance.
    const char *negative_prompt;
    // ControlNet: the control image (a line map: white lines on black, see
    // sana_control_preprocess), exactly at the generation size (sana_pipeline_generation_size);
    // NULL: none (then a ControlNet pipeline generates from the prompt alone). It is normalised
    // to [-1, 1] and VAE-encoded as SanaControlNetPipeline does with a PIL image of that size
    // (which PIL does not resample). sana_image_resize_lanczos resizes one as upstream would.
    const sana_image *control_image;
    float control_scale; // controlnet_conditioning_scale, 0..10 (default 1)
} sana_generate_params;

// The defaults of SanaSprintPipeline (steps 2, guidance 4.5); sana_pipeline_generate_defaults
// gives the loaded model's.
sana_generate_params sana_generate_default_params(void);
sana_generate_params sana_pipeline_generate_defaults(const sana_pipeline *p);

// The size the model generates at for a request of width x height: the nearest trained size
// when binning (the image is resized and cropped back afterwards), else the size itself (which
// must then be a multiple of 32). Control images must have this size.
sana_status sana_pipeline_generation_size(const sana_pipeline *p, int width, int height, bool binning,
                                          int *gen_width, int *gen_height, sana_error *err);

// Generates one image. Nothing is returned in *out unless the call succeeds.
sana_status sana_generate(sana_pipeline *p, const sana_generate_params *params, sana_image *out,
                          sana_error *err);
void sana_image_free(sana_image *img);

// ------------------------------------------------------------------------------------------------
// Control images

// out = src resized to width x height (1..SANA_MAX_SIDE) as PIL's Image.resize((width, height),
// Image.LANCZOS) does for an RGB image (the path SanaControlNetPipeline's image processor takes
// for a PIL control image): separable Lanczos-3 with the support widened by the scale when
// shrinking, 8-bit fixed-point coefficients, horizontal pass first. Same size: a copy.
sana_status sana_image_resize_lanczos(const sana_image *src, int width, int height, sana_image *out,
                                      sana_error *err);

typedef enum sana_control_mode {
    SANA_CONTROL_AS_IS = 0, // already a line map (white lines on black): unchanged
    SANA_CONTROL_SKETCH,    // dark strokes on a light background -> a line map
} sana_control_mode;

// Prepares a control image in place. SKETCH approximates NVlabs' scribble chain (HED edges,
// non-maximum suppression, Gaussian blur sigma 3, threshold > 4) for a drawing that already
// is lines: luma, inverted (strokes become bright), thresholded at 128, thinned to
// one-pixel-wide lines (Zhang-Suen; the stand-in for HED + NMS), then blurred with sigma 3 and
// thresholded at > 4 as NVlabs does, giving white lines of NVlabs' width on black.
sana_status sana_control_preprocess(sana_image *img, sana_control_mode mode, sana_error *err);

// Milliseconds spent in each stage by the last sana_generate (SANA_STAGE_LOAD: by
// sana_pipeline_new), for benchmarks.
void sana_pipeline_timings(const sana_pipeline *p, double ms[SANA_STAGE_COUNT]);

// The last sana_generate in detail, for benchmarks. Wall-clock stage times are those of
// sana_pipeline_timings (each stage ends by waiting for the device); device times come from the
// backend's timing markers (CUDA events: the device's own timeline, idle gaps included; on the
// CPU the host clock), -1 where unknown.
#define SANA_PROFILE_STEPS 16
typedef struct sana_profile {
    double total_ms;                    // the whole sana_generate call, wall clock
    double wall_ms[SANA_STAGE_COUNT];   // per stage, wall clock ([SANA_STAGE_LOAD]: loading)
    double device_ms[SANA_STAGE_COUNT]; // per stage, device time ([SANA_STAGE_LOAD]: -1)
    int steps;                          // transformer passes timed (at most SANA_PROFILE_STEPS)
    double step_ms[SANA_PROFILE_STEPS]; // device time of each pass (model forward only)
    bool prompt_cached;                 // the prompt's encoding was reused (same prompt as before)
    int graph_launches;                 // text-encoder passes, transformer passes and decodes run as
                                        // recorded graphs
    // Memory the backend holds (weights, activations, scratch, workspaces), now and at most since
    // the pipeline was created, and the device's used and total memory (0: unknown; used counts
    // the driver context and other processes too).
    size_t mem_held, mem_peak, device_used, device_total;
} sana_profile;
void sana_pipeline_profile(const sana_pipeline *p, sana_profile *out);

#ifdef __cplusplus
}
#endif

#endif // SANA_H
