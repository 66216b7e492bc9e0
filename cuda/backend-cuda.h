// backend-cuda.h: what the CUDA backend's files share (internal to cuda/).
//
// The CUDA backend is "C with kernels": C structs and functions, __global__ kernels, no classes,
// templates, exceptions or std::. An op `name` of SANA_OPS (core/backend.h) is implemented by
// sana_cuda_<name> with the slot's signature, in the file of its family:
//   gemm.cu       linear (cuBLASLt, bf16 operands, fp32 accumulation and output)
//   kernels.cu    norms, elementwise, glu, depthwise conv, transpose
//   attention.cu  linear attention, softmax attention, timestep embedding
//   gemma.cu      embedding (from a host-resident table), rope
//   conv.cu       conv2d (im2col tiles + cuBLAS, bf16 operands; a direct fp32 kernel otherwise)
//   image.cu      the other image (NCHW) ops: channel norms, pixel (un)shuffle, DC-AE's packed
//                 linear attention, tile blending, window copies
//   backend-cuda.cu  the module entry, memory, weights, errors, the vtable
//
// Numerics: everything but the GEMM operands (linear, and conv2d with bf16 weights) is fp32, with
// IEEE division and square root (no fast-math), so the fp32 ops agree with the CPU reference to
// rounding (NMSE <= 1e-7).
// Errors are sticky (core/backend.h): the first failure is recorded on the backend with its
// CUDA or cuBLAS name, and every later op is skipped by ops.h.
#ifndef SANA_BACKEND_CUDA_H
#define SANA_BACKEND_CUDA_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "backend.h"

#define CUDA_THREADS 256                     // block size of the row and elementwise kernels
#define CUDA_GEMM_CACHE 128                  // remembered cuBLASLt algorithm choices
#define CUDA_WORKSPACE_BYTES ((size_t)32 << 20) // cuBLASLt workspace (NVIDIA's advice for Hopper)
#define CUDA_CONV_BYTES ((size_t)32 << 20)      // conv2d's im2col tile budget (see conv.cu)
#define CUDA_STAGING_ELEMS ((size_t)4 << 20)     // host staging: weight elements converted per upload

// One remembered cuBLASLt heuristic answer, for a GEMM shape and the pointer alignments it was
// asked with (the alignments decide which kernels may run).
typedef struct cuda_gemm_plan {
    int64_t M, N, K;
    uint32_t align_a, align_b, align_d, align_bias; // align_bias 0: no bias epilogue
    bool has_algo;                                  // false: cuBLASLt has none; use cublasGemmEx
    cublasLtMatmulAlgo_t algo;
} cuda_gemm_plan;

typedef struct cuda_ctx {
    int device;
    char label[16]; // "cuda:0", the prefix of every message
    cudaStream_t stream;
    cublasLtHandle_t lt;
    cublasHandle_t blas; // the cublasGemmEx fallback
    bool force_gemmex;   // SANA_CUDA_GEMM=gemmex: skip cuBLASLt (to test the fallback)
    // conv2d's scratch budget in bytes: im2col tiles, and the input copies of in-place direct
    // convolutions (CUDA_CONV_BYTES; SANA_CUDA_CONV_BYTES lowers it so tests reach the band edges).
    size_t conv_bytes;
    void *workspace;
    // Device scratch, reused op after op on the one stream: bf16 copies of GEMM activations,
    // linear attention's per-head sums.
    void *scratch;
    size_t scratch_bytes;
    // Weights: bump-allocated in chunks (large ones get their own allocation), all owned here.
    void **blocks;
    int n_blocks, cap_blocks;
    char *chunk;       // the chunk being filled
    size_t chunk_used; // bytes used in it
    size_t weight_bytes;
    float *staging; // host buffer for converting weights (and embedding rows) before upload
    uint16_t *staging16;
    cuda_gemm_plan plans[CUDA_GEMM_CACHE];
    int n_plans, next_plan;
    int smem_optin; // the most dynamic shared memory a block may ask for
    void (*log)(sana_log_level level, const char *fmt, ...);
    // Memory accounting (the memory slot): every cudaMalloc of this backend by address, and the
    // bytes held now and at most.
    struct cuda_alloc_rec *allocs;
    int n_allocs, cap_allocs;
    size_t held, peak;
    // Timer markers (timer_mark): events made on first use.
    cudaEvent_t events[SANA_TIMER_SLOTS];
    bool marked[SANA_TIMER_SLOTS];
    // Graph capture (capture_begin ... capture_end; graph_launch). mem_epoch counts the
    // replacements of memory a recording may refer to (the scratch buffer): a recording made
    // under another epoch is stale.
    bool graphs_off; // SANA_CUDA_GRAPHS=0
    bool capturing;
    bool capture_broken; // something during this capture needed what a recording cannot hold
    uint64_t mem_epoch;
    // Device copies derived from weights (conv.cu's folded up-convolution kernels), made on first
    // use and kept with the weights: key (the source weight's address and a kind) -> data.
    struct cuda_derived *derived;
    int n_derived, cap_derived;
    // Page-locked bounce buffer for downloads (a copy into pageable memory is staged by the
    // driver at a fraction of the bus speed).
    void *pinned;
    size_t pinned_bytes;
} cuda_ctx;

typedef struct cuda_derived {
    const void *key;
    int kind;
    void *data;
} cuda_derived;

typedef struct cuda_alloc_rec {
    void *p;
    size_t n;
} cuda_alloc_rec;

static inline cuda_ctx *sana_cuda_ctx(sana_backend *be) { return (cuda_ctx *)be->ctx; }

// Records the first failure on the backend: "cuda:N: <message>".
void sana_cuda_fail(sana_backend *be, sana_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// false (and a sticky SANA_STATUS_DEVICE error naming `what` and the CUDA error) unless e is
// cudaSuccess.
bool sana_cuda_check(sana_backend *be, cudaError_t e, const char *what);
bool sana_cuda_check_blas(sana_backend *be, cublasStatus_t s, const char *what);

// After a kernel launch: a launch failure (bad configuration, no kernel image for this GPU)
// becomes the sticky error.
static inline bool sana_cuda_launched(sana_backend *be, const char *what) {
    return sana_cuda_check(be, cudaGetLastError(), what);
}

// Makes the backend's device current for the calling thread (ops may come from any thread).
bool sana_cuda_enter(sana_backend *be);

// The device scratch, at least `bytes` long (grown when needed; the stream is drained first).
// NULL with a sticky error when out of memory. While a graph is being captured it cannot grow:
// NULL without an error, and the capture is marked broken (capture_end then gives no graph and
// the caller runs the ops eagerly, which grows it).
void *sana_cuda_scratch(sana_backend *be, size_t bytes);

// Device memory for a copy derived from a weight (a folded or re-laid-out kernel), `bytes` long,
// remembered under (key, kind) for the backend's lifetime as weights are: *fresh is true when it
// was just made (the caller fills it), false when it holds what an earlier call made. NULL with
// a sticky error when out of memory.
void *sana_cuda_derived(sana_backend *be, const void *key, int kind, size_t bytes, bool *fresh);

// ReLU linear attention's per-head sums (attention.cu), for the DiT's and DC-AE's attention:
// S (HG, d+1, d) in the scratch, S[hg][i][j] = sum_n v[n, i] relu(k[n, j]) (i < d) and
// S[hg][d][j] = sum_n relu(k[n, j]), where token n, channel ch of head hg lies at
// (hg / H1) * s_outer + (hg % H1) * s_inner + n * sn + ch * sc in k and in v. NULL with a sticky
// error (or while capturing, when the scratch would have to grow: see sana_cuda_scratch).
float *sana_cuda_linear_attention_sums(sana_backend *be, const float *k, const float *v, int64_t HG, int64_t H1,
                                       int64_t s_outer, int64_t s_inner, int64_t N, int64_t sn, int64_t sc, int d,
                                       const char *what);

// Records an out-of-memory error naming the request and what the device has free.
void sana_cuda_fail_oom(sana_backend *be, size_t bytes, const char *what);

// Blocks for a grid-stride kernel over n elements.
static inline unsigned sana_cuda_blocks(int64_t n) {
    int64_t b = (n + CUDA_THREADS - 1) / CUDA_THREADS;
    return (unsigned)(b < 1 ? 1 : b > 65536 ? 65536 : b);
}

// The ops (semantics in core/backend.h).
void sana_cuda_linear(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                      const sana_tensor *b);
void sana_cuda_layer_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                          const sana_tensor *w, const sana_tensor *b, float eps);
void sana_cuda_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                        float eps, bool add_one);
void sana_cuda_layer_norm_modulate(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                   const sana_tensor *mod, int shift_row, int scale_row, float eps);
void sana_cuda_add_gated(sana_backend *be, sana_tensor *x, const sana_tensor *y,
                         const sana_tensor *mod, int gate_row);
void sana_cuda_add(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b);
void sana_cuda_mul(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b);
void sana_cuda_axpby(sana_backend *be, sana_tensor *y, float alpha, const sana_tensor *a,
                     float beta, const sana_tensor *b);
void sana_cuda_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act);
void sana_cuda_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act);
void sana_cuda_dwconv3x3(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                         const sana_tensor *w, const sana_tensor *b, int H, int W);
void sana_cuda_dwconv3x3_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                             const sana_tensor *b, int H, int W, sana_act act_in, sana_act act_gate);
void sana_cuda_transpose(sana_backend *be, sana_tensor *y, const sana_tensor *x);
void sana_cuda_linear_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q,
                                const sana_tensor *k, const sana_tensor *v, int heads, float eps);
void sana_cuda_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q,
                         const sana_tensor *k, const sana_tensor *v, const sana_tensor *key_bias,
                         const sana_attn_params *p);
void sana_cuda_timestep_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *t,
                                  float max_period);
void sana_cuda_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *ids, const sana_tensor *table,
                         float scale);
void sana_cuda_rope(sana_backend *be, sana_tensor *y, const sana_tensor *x, int head_dim, int pos0, float theta);
void sana_cuda_conv2d(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                      const sana_tensor *b, int stride, int padding, int groups, int upsample);
void sana_cuda_channel_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                                const sana_tensor *b, const sana_tensor *r, float eps);
void sana_cuda_batch_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *mean,
                          const sana_tensor *var, const sana_tensor *w, const sana_tensor *b, const sana_tensor *r,
                          float eps);
void sana_cuda_pixel_shuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int repeats,
                             bool accumulate);
void sana_cuda_pixel_unshuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int group,
                               bool accumulate);
void sana_cuda_linear_attention_packed(sana_backend *be, sana_tensor *o, const sana_tensor *qkv, int head_dim,
                                       float eps);
void sana_cuda_blend(sana_backend *be, sana_tensor *b, const sana_tensor *a, int axis, int extent);
void sana_cuda_copy2d(sana_backend *be, sana_tensor *dst, int dy, int dx, const sana_tensor *src, int sy, int sx,
                      int h, int w);
void sana_cuda_to_rgb8(sana_backend *be, sana_tensor *y, const sana_tensor *x);
void sana_cuda_channel_bias_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *b,
                                sana_act act);

// ------------------------------------------------------------------------------------------------
// Device helpers shared by the kernel files

#ifdef __CUDACC__

// A grid-stride loop over n elements with 64-bit indices.
#define GRID_STRIDE(i, n)                                                                       \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);                    \
         i += (int64_t)gridDim.x * blockDim.x)

// Element i of a float tensor of any float dtype (weights may be F32, F16 or BF16).
static __device__ __forceinline__ float sana_ld(const void *p, int dtype, int64_t i) {
    if (dtype == SANA_DTYPE_BF16) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    if (dtype == SANA_DTYPE_F16) return __half2float(((const __half *)p)[i]);
    return ((const float *)p)[i];
}

static __device__ __forceinline__ float sana_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float sana_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum (max) of v over the block; every thread gets the result. blockDim.x must be a multiple
// of 32. The first barrier keeps a second call from overwriting part[] while a slow warp still
// reads the first call's values.
static __device__ __forceinline__ float sana_block_sum(float v) {
    __shared__ float part[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = sana_warp_sum(v);
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    return sana_warp_sum(lane < nwarps ? part[lane] : 0.0f);
}

static __device__ __forceinline__ float sana_block_max(float v) {
    __shared__ float part[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = sana_warp_max(v);
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    return sana_warp_max(lane < nwarps ? part[lane] : -INFINITY);
}

// The activations of sana_act, written as the CPU reference writes them.
static __device__ __forceinline__ float sana_act_f(float x, int act) {
    if (act == SANA_ACT_SILU) return x / (1.0f + expf(-x));
    if (act == SANA_ACT_GELU_TANH) {
        const float k = 0.7978845608028654f; // sqrt(2/pi)
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    if (act == SANA_ACT_RELU) return x > 0.0f ? x : 0.0f;
    return x;
}

#endif // __CUDACC__

#endif // SANA_BACKEND_CUDA_H
