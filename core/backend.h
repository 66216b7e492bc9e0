// backend.h: the op interface every compute backend implements (CPU reference, CUDA).
//
// Models never see a device: they allocate activations from an arena (arena.h), bind weights
// through backend->weight, and call the checked wrappers in ops.h, which dispatch to the slots
// below. Ops only enqueue work and cannot fail one by one: a failure (out of memory, a CUDA
// error) is recorded as the backend's sticky error, every later op becomes a no-op, and
// sana_backend_sync() reports the first error. The CPU backend (core/cpu/) is the readable
// reference; every other backend must agree with it op by op (tests/ops/, tests/cuda/).
//
// Shapes are PyTorch's (outermost first, contiguous). "Rows" means all dimensions but the last.
// Weight arguments (w, b) may be F32, F16 or BF16 on the host (mmapped checkpoint data); each
// backend reads them in whatever form its `weight` slot produced. Activations are F32.
#ifndef SANA_BACKEND_H
#define SANA_BACKEND_H

#include <stdbool.h>

#include "sana.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" { // the CUDA module's .cu files include this header
#endif

typedef struct sana_backend sana_backend;

typedef enum sana_act {
    SANA_ACT_SILU = 0,  // x * sigmoid(x)
    SANA_ACT_GELU_TANH, // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    SANA_ACT_RELU,      // max(x, 0)
    SANA_ACT_COUNT,
} sana_act;

// Softmax attention parameters. q has n_heads * head_dim channels, k and v have
// n_kv_heads * head_dim (grouped-query attention: query head h uses kv head h / (n_heads /
// n_kv_heads)). logits = scale * q.k; then, when softcap > 0, softcap * tanh(logits / softcap);
// then + key_bias; masked (causal / window) keys get weight exactly 0.
typedef struct sana_attn_params {
    int n_heads;
    int n_kv_heads;
    int head_dim;
    float scale;
    float softcap;  // 0: off
    bool causal;    // query i sees key j only when j <= i + q_offset
    int window;     // > 0: and only when j > i + q_offset - window (sliding window)
    int q_offset;   // position of query 0 among the keys (keys cached from an earlier call)
} sana_attn_params;

// The op slots. The list (SANA_OPS) lets tests check that every slot has a case.
#define SANA_OPS(X)                                                                             \
    X(linear)                                                                                   \
    X(layer_norm)                                                                               \
    X(rms_norm)                                                                                 \
    X(layer_norm_modulate)                                                                      \
    X(add_gated)                                                                                \
    X(add)                                                                                      \
    X(mul)                                                                                      \
    X(axpby)                                                                                    \
    X(act)                                                                                      \
    X(glu)                                                                                      \
    X(dwconv3x3)                                                                                \
    X(transpose)                                                                                \
    X(linear_attention)                                                                         \
    X(attention)                                                                                \
    X(timestep_embedding)                                                                       \
    X(embedding)                                                                                \
    X(rope)                                                                                     \
    X(conv2d)                                                                                   \
    X(channel_rms_norm)                                                                         \
    X(batch_norm)                                                                               \
    X(pixel_shuffle)                                                                            \
    X(pixel_unshuffle)                                                                          \
    X(linear_attention_packed)                                                                  \
    X(blend)                                                                                    \
    X(copy2d)                                                                                   \
    X(to_rgb8)                                                                                  \
    X(channel_bias_act)                                                                         \
    X(dwconv3x3_glu)

typedef struct sana_backend_ops {
    // y (M, N) = x (M, K) w(N, K)^T + b (N); b may be NULL. x and y are seen as row matrices.
    void (*linear)(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                   const sana_tensor *b);
    // y = (x - mean) / sqrt(var + eps) [* w + b] over the last dimension; w, b may be NULL.
    void (*layer_norm)(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                       const sana_tensor *w, const sana_tensor *b, float eps);
    // y = x / sqrt(mean(x^2) + eps) [* (w or 1 + w)] over the last dimension; w may be NULL.
    // add_one: Gemma's (1 + w) weights.
    void (*rms_norm)(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                     float eps, bool add_one);
    // x (B, N, D), mod (B, R, D): y = layer_norm(x, eps) * (1 + mod[:, scale_row]) +
    // mod[:, shift_row] (adaLN modulation, no affine).
    void (*layer_norm_modulate)(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                const sana_tensor *mod, int shift_row, int scale_row, float eps);
    // x (B, N, D) += mod[:, gate_row] (B, 1, D) * y (B, N, D)   (gated residual)
    void (*add_gated)(sana_backend *be, sana_tensor *x, const sana_tensor *y,
                      const sana_tensor *mod, int gate_row);
    // y = a + b and y = a * b; b repeats over a (numel(b) divides numel(a)): b may be a bias
    // (D) over rows (M, D), or equal-shaped. b may be a weight (any float dtype).
    void (*add)(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b);
    void (*mul)(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b);
    // y = alpha * a + beta * b (b may be NULL: y = alpha * a); same shapes.
    void (*axpby)(sana_backend *be, sana_tensor *y, float alpha, const sana_tensor *a, float beta,
                  const sana_tensor *b);
    // y = act(x), elementwise (y may be x).
    void (*act)(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act);
    // x (M, 2F) -> y (M, F) = x[:, :F] * act(x[:, F:])   (gated linear unit, torch.chunk order)
    void (*glu)(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act);
    // Depthwise 3x3 convolution, stride 1, zero padding 1, channels last: x, y (B, H*W, C),
    // w (C, 1, 3, 3), b (C) or NULL.
    void (*dwconv3x3)(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                      const sana_tensor *w, const sana_tensor *b, int H, int W);
    // x (B, R, C) -> y (B, C, R)
    void (*transpose)(sana_backend *be, sana_tensor *y, const sana_tensor *x);
    // SANA's ReLU linear attention, in fp32: q, k, v, o (B, N, heads * d); per head and token
    // o_n = sum_m v_m (k'_m . q'_n) / (sum_m k'_m . q'_n + eps), q' = relu(q), k' = relu(k).
    void (*linear_attention)(sana_backend *be, sana_tensor *o, const sana_tensor *q,
                             const sana_tensor *k, const sana_tensor *v, int heads, float eps);
    // Softmax attention: q (B, Nq, Hq*dh), k, v (B, Nk, Hkv*dh), key_bias (B, Nk) additive or
    // NULL, o (B, Nq, Hq*dh).
    void (*attention)(sana_backend *be, sana_tensor *o, const sana_tensor *q, const sana_tensor *k,
                      const sana_tensor *v, const sana_tensor *key_bias,
                      const sana_attn_params *p);
    // Sinusoidal embedding of t (B) into y (B, dim), diffusers get_timestep_embedding with
    // flip_sin_to_cos=True, downscale_freq_shift=0, scale=1: [cos(t f_k), sin(t f_k)],
    // f_k = exp(-ln(max_period) k / (dim/2)).
    void (*timestep_embedding)(sana_backend *be, sana_tensor *y, const sana_tensor *t,
                               float max_period);
    // Embedding rows (Gemma-2 embed_tokens): ids I32 of any shape, N = numel(ids); table (V, D)
    // a weight bound with SANA_WEIGHT_TABLE, any float dtype; y F32 seen as (N, D):
    // y[n] = float32(table[ids[n]]) * scale (widen, then one fp32 multiply). An id outside
    // [0, V) makes no row and records the sticky error SANA_STATUS_BAD_INPUT. A backend whose
    // table stays in host memory may wait here for the ids (CUDA does: cuda/gemma.cu).
    void (*embedding)(sana_backend *be, sana_tensor *y, const sana_tensor *ids,
                      const sana_tensor *table, float scale);
    // Rotary position embedding, "rotate half" convention (transformers apply_rotary_pos_emb,
    // GPT-NeoX): x, y (B, N, heads * dh), y may be x; token n of every batch row sits at
    // position p = pos0 + n. Per head, for i < dh/2, all in fp32 as transformers computes it:
    // inv_freq_i = 1 / powf(theta, (float)(2i) / (float)dh), a = (float)p * inv_freq_i,
    // c = cosf(a), s = sinf(a); y[i] = x[i] * c - x[i + dh/2] * s,
    // y[i + dh/2] = x[i + dh/2] * c + x[i] * s.
    void (*rope)(sana_backend *be, sana_tensor *y, const sana_tensor *x, int head_dim, int pos0,
                 float theta);

    // ---- Image (NCHW) ops, added for the DC-AE autoencoder (core/models/dc-ae.c). Tensors are
    // (B, C, H, W), contiguous; a backend parallelises over B too, though DC-AE passes B = 1.

    // 2-D convolution as PyTorch's F.conv2d, with zero padding, preceded by an optional
    // nearest-neighbour upsampling of x (F.interpolate(scale_factor=upsample, mode="nearest")).
    // x (B, Ci, H, W); w (Co, Ci/groups, kh, kw); b (Co) or NULL; y (B, Co, Ho, Wo) with
    // Hu = upsample*H, Ho = (Hu + 2*padding - kh) / stride + 1 (floor), Wo likewise. With
    // xu[c, i, j] = x[c, i / upsample, j / upsample] and g = o / (Co/groups):
    //   y[n, o, i, j] = b[o] + sum_{c < Ci/groups, dy < kh, dx < kw}
    //                   w[o, c, dy, dx] * xu[n, g*Ci/groups + c, i*stride + dy - padding,
    //                                                            j*stride + dx - padding]
    // where positions outside [0, Hu) x [0, Wu) read 0. stride, upsample >= 1, padding >= 0;
    // groups divides Ci and Co (groups == Ci == Co: depthwise). In place (y == x) is allowed
    // when stride == upsample == 1, Co == Ci and Ho == H, Wo == W (a backend may use a scratch
    // copy). Accumulation in fp32 (CPU: OpenBLAS sgemm over im2col tiles). DC-AE binds w with
    // SANA_WEIGHT_MATRIX, except depthwise kernels (SANA_WEIGHT_VECTOR); per-pixel linears come
    // as 1x1 convolutions, their (Co, Ci) weights viewed as (Co, Ci, 1, 1).
    void (*conv2d)(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                   const sana_tensor *b, int stride, int padding, int groups, int upsample);
    // RMSNorm over the channels of each pixel (diffusers RMSNorm applied to x.movedim(1, -1)):
    // x, y (B, C, H, W); w, b (C); r (B, C, H, W) or NULL:
    //   y[n, c, i, j] = x[n, c, i, j] / sqrt(mean_c' x[n, c', i, j]^2 + eps) * w[c] + b[c]
    //                   (+ r[n, c, i, j])
    // The mean of squares accumulates in fp32 or wider. y may be x or r.
    void (*channel_rms_norm)(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                             const sana_tensor *w, const sana_tensor *b, const sana_tensor *r,
                             float eps);
    // BatchNorm2d in eval mode (running statistics): x, y, r as channel_rms_norm; mean, var,
    // w, b (C): y = (x - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c] (+ r). y may be x or r.
    void (*batch_norm)(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                       const sana_tensor *mean, const sana_tensor *var, const sana_tensor *w,
                       const sana_tensor *b, const sana_tensor *r, float eps);
    // y = pixel_shuffle(x.repeat_interleave(repeats, dim=1), r), or y += that when accumulate.
    // x (B, C, H, W), y (B, C*repeats/r^2, r*H, r*W) (r^2 divides C*repeats):
    //   y[n, o, r*i + u, r*j + v] (+)= x[n, (o*r*r + u*r + v) / repeats, i, j]
    // r == 1 is a plain channel repeat_interleave; repeats == 1 a plain pixel shuffle. y and x
    // do not overlap.
    void (*pixel_shuffle)(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r,
                          int repeats, bool accumulate);
    // y = pixel_unshuffle(x, r) averaged over consecutive groups of `group` channels
    // (x.unflatten(1, (-1, group)).mean(dim=2)), or y += that when accumulate.
    // x (B, C, H, W) with r | H, r | W; y (B, C*r^2/group, H/r, W/r); with q = o*group + t:
    //   y[n, o, i, j] (+)= (1/group) sum_{t < group} x[n, q / r^2, r*i + (q % r^2) / r,
    //                                                   r*j + q % r]
    // (the sum in fp32, then divided). r == 1 is a plain channel-group mean; group == 1 a plain
    // pixel unshuffle. y and x do not overlap.
    void (*pixel_unshuffle)(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r,
                            int group, bool accumulate);
    // DC-AE's multi-scale ReLU linear attention (SanaMultiscaleAttnProcessor2_0 with
    // apply_linear_attention), channels first, fp32. qkv (B, G*3d, H, W) holds G heads of 3d
    // consecutive channels: rows [0, d) of a head are q, [d, 2d) k, [2d, 3d) v. With N = H*W
    // pixels n, m and q' = relu(q), k' = relu(k), per head g and channel i < d:
    //   o[b, g*d + i, n] = sum_m v[i, m] (k'_m . q'_n) / (sum_m k'_m . q'_n + eps)
    // ('.' over the d channels); o (B, G*d, H, W). (The quadratic form upstream uses when
    // N <= d is the same value.)
    void (*linear_attention_packed)(sana_backend *be, sana_tensor *o, const sana_tensor *qkv,
                                    int head_dim, float eps);
    // Tile-seam blending, in place on b (AutoencoderDC.blend_v / blend_h). axis 2 (rows):
    // a (B, C, Ha, W), b (B, C, Hb, W); for y < extent, with t = y / extent in double:
    //   b[n, c, y, :] = a[n, c, Ha - extent + y, :] * (float)(1 - t) + b[n, c, y, :] * (float)t
    // axis 3 (columns): the same over columns, a (B, C, H, Wa), b (B, C, H, Wb).
    // 1 <= extent <= min(Ha, Hb) (resp. Wa, Wb); a and b do not overlap.
    void (*blend)(sana_backend *be, sana_tensor *b, const sana_tensor *a, int axis, int extent);
    // Copies an h x w window between images of the same B and C (crop / paste):
    //   dst[n, c, dy + i, dx + j] = src[n, c, sy + i, sx + j]   for i < h, j < w.
    // dst (B, C, Hd, Wd), src (B, C, Hs, Ws); both windows lie inside; no overlap.
    void (*copy2d)(sana_backend *be, sana_tensor *dst, int dy, int dx, const sana_tensor *src,
                   int sy, int sx, int h, int w);
    // The decoder's image (B, 3, H, W) in [-1, 1] -> 8-bit RGB y U8 (B, H, W, 3), as
    // sana_image_to_rgb8 (core/image.h): v = x / 2 + 0.5 in fp32, clamped to [0, 1] (NaN -> 0),
    // y = v * 255 rounded half to even. Lets a device convert before the copy back (3 bytes a
    // pixel cross the bus instead of 12).
    void (*to_rgb8)(sana_backend *be, sana_tensor *y, const sana_tensor *x);
    // y = act(x + b[c]) per channel of an image: x, y (B, C, H, W), b (C) a weight of any float
    // dtype; y may be x. A convolution's bias and the activation after it in one pass (DC-AE's
    // ResBlock conv1 and GLUMBConv conv_inverted run their convolution without the bias).
    void (*channel_bias_act)(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                             const sana_tensor *b, sana_act act);
    // The middle of SANA's Mix-FFN (GLUMBConv), channels last: x (B, H*W, 2F) the 1x1
    // convolution's output; z = act_in(x); d = dwconv3x3(z, w, b) as the dwconv3x3 slot (w
    // (2F, 1, 3, 3), b (2F) or NULL); y (B, H*W, F) = d[..., :F] * act_gate(d[..., F:]) as glu.
    // act, dwconv3x3 and glu in one pass, with their arithmetic.
    void (*dwconv3x3_glu)(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                          const sana_tensor *b, int H, int W, sana_act act_in, sana_act act_gate);
} sana_backend_ops;

// How a weight will be used, so a backend can choose its stored form (the CUDA backend keeps
// GEMM matrices, convolution kernels bound as matrices included, in bf16, small vectors in fp32
// and tables in host memory; the CPU backend keeps the mmapped data).
typedef enum sana_weight_use {
    SANA_WEIGHT_MATRIX = 0, // the w of linear
    SANA_WEIGHT_VECTOR,     // biases, norm weights, modulation tables, depthwise kernels
    SANA_WEIGHT_TABLE,      // a (V, D) table read a few rows at a time by `embedding` (Gemma-2's
                            // 256000 x 2304 embed_tokens): a backend may leave it in host memory
                            // (CPU and CUDA both do: the bound tensor is then the host data
                            // itself and lives as long as that; docs/cuda.md says why)
} sana_weight_use;

#define SANA_TIMER_SLOTS 64

typedef struct sana_backend_memory {
    size_t held, peak;                // bytes this backend holds now / at most
    size_t device_used, device_total; // the whole device, where known (0: unknown)
} sana_backend_memory;

typedef struct sana_backend_i {
    const char *name; // "cpu", "cuda"
    void (*free)(sana_backend *be);
    // Device memory for activations: NULL (and a sticky error) when exhausted.
    void *(*alloc)(sana_backend *be, size_t bytes);
    void (*dealloc)(sana_backend *be, void *ptr);
    // Copies between host memory and a tensor (same dtype; nbytes of the tensor).
    void (*upload)(sana_backend *be, sana_tensor *dst, const void *host);
    void (*download)(sana_backend *be, void *host, const sana_tensor *src);
    // dst = src (same shape and dtype).
    void (*copy)(sana_backend *be, sana_tensor *dst, const sana_tensor *src);
    // A backend-resident form of a host weight (owned by the backend until it is freed).
    sana_status (*weight)(sana_backend *be, const sana_tensor *host, sana_weight_use use,
                          sana_tensor *out, sana_error *err);
    // Waits for enqueued work; a failure found now becomes the sticky error.
    void (*sync)(sana_backend *be);
    sana_backend_ops ops;

    // ---- Optional services: NULL where a backend has none (callers check; core/profile.h and
    // core/graph.h wrap them).

    // Timing markers. timer_mark records marker `slot` (0 <= slot < SANA_TIMER_SLOTS) when the
    // work enqueued so far is done; timer_ms is the time in milliseconds from marker a to marker
    // b, valid once a sync has returned after both (negative: a marker was not recorded). On
    // the CPU, whose ops run as they are called, a marker is a reading of the host clock; on
    // CUDA it is an event, so the time is device time and marking never waits.
    void (*timer_mark)(sana_backend *be, int slot);
    double (*timer_ms)(sana_backend *be, int a, int b);
    // Memory this backend holds (weights, activations, scratch, workspaces) now and at most since
    // it was created or since the last reset_peak, and the device's own count where there is one
    // (used = total - free, which includes the driver context and other processes; 0: unknown).
    void (*memory)(sana_backend *be, sana_backend_memory *m);
    void (*reset_peak)(sana_backend *be);

    // Recorded op sequences (CUDA graphs). Between capture_begin (false: nothing is recorded, run
    // the ops as usual) and capture_end, ops are recorded and not run. capture_end returns the
    // recording, or NULL when it could not be made: with the sticky error set when something
    // failed, without it when this sequence just cannot be recorded (then run the ops eagerly).
    // graph_launch runs a recording; false (no error) when it is stale, because memory it refers
    // to was reallocated since (then free it and record again). Every address an op used while
    // recording is baked into the recording: the caller replays only with the same tensors.
    bool (*capture_begin)(sana_backend *be);
    void *(*capture_end)(sana_backend *be);
    bool (*graph_launch)(sana_backend *be, void *graph);
    void (*graph_free)(sana_backend *be, void *graph);
} sana_backend_i;

struct sana_backend {
    const sana_backend_i *i;
    sana_error error; // sticky: the first failure of any op or allocation
    void *ctx;        // the backend's own state
};

// ------------------------------------------------------------------------------------------------
// Devices

// A backend for a device string:
//   "cpu"              the CPU backend (threads <= 0: OpenMP's default);
//   "cuda", "cuda:N"   CUDA device 0 or N, through the module libsana-cuda.so (see below);
//   "auto", "" or NULL CUDA device 0 when it can be used, else the CPU, the reason logged.
// Errors: a malformed string (SANA_STATUS_BAD_INPUT); for cuda[:N] a missing or unloadable
// module (SANA_STATUS_UNSUPPORTED), no driver or no device (SANA_STATUS_DEVICE), no device N
// (SANA_STATUS_BAD_INPUT); each names what it looked at.
sana_status sana_backend_new(const char *device, int threads, sana_backend **out, sana_error *err);

// The CPU backend. threads <= 0: OpenMP's default.
sana_status sana_backend_cpu_new(int threads, sana_backend **out, sana_error *err);

// The CUDA backend on device `index`. The module is looked for, in this order, at
// $SANA_CUDA_MODULE (a file, or a directory holding it; when set, nowhere else), beside the
// program or shared library the core is linked into, and in the install's module directory
// (SANA_MODULE_DIR). It is loaded once and stays loaded for the life of the process.
sana_status sana_backend_cuda_new(int index, sana_backend **out, sana_error *err);

// The contract between the core and a backend module. A module is built from the same
// sources as the core that loads it; the loader passes what it was built with and the module
// refuses to run when anything differs (SANA_STATUS_UNSUPPORTED). Bump SANA_BACKEND_ABI when
// the meaning of a slot changes; the sizes catch added slots and fields.
#define SANA_BACKEND_ABI 2
#define SANA_CUDA_MODULE_FILE "libsana-cuda.so"
#define SANA_CUDA_MODULE_ENTRY "sana_cuda_backend_new"

typedef struct sana_module_args {
    int abi;                  // SANA_BACKEND_ABI (always the first field)
    size_t sizeof_backend;    // sizeof(sana_backend)
    size_t sizeof_backend_i;  // sizeof(sana_backend_i)
    size_t sizeof_tensor;     // sizeof(sana_tensor)
    int device;               // device index
    // The loader's log (sana_log): a module has no log sink of its own.
    void (*log)(sana_log_level level, const char *fmt, ...);
} sana_module_args;

typedef sana_status (*sana_module_new_fn)(const sana_module_args *args, sana_backend **out,
                                          sana_error *err);

void sana_backend_free(sana_backend *be);

// Waits for all work and returns the first error since creation (or since the last clear).
sana_status sana_backend_sync(sana_backend *be, sana_error *err);

// Records a sticky error (backends and the arena call this).
void sana_backend_fail(sana_backend *be, sana_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool sana_backend_failed(const sana_backend *be) { return be->error.status != SANA_OK; }

#ifdef __cplusplus
}
#endif

#endif // SANA_BACKEND_H
