// kernels.cu: norms, elementwise ops, glu, depthwise 3x3 convolution and transpose, in fp32.
//
// Each kernel mirrors its cpu_<op> in core/cpu/backend-cpu.c, down to the order of the
// arithmetic where that is cheap (the depthwise taps, the modulation), so the two agree to
// rounding. Row ops (the norms) give one block of CUDA_THREADS threads to a row and reduce in
// fp32 (the CPU reference reduces in double; the difference is far below NMSE 1e-7).
// Elementwise ops are grid-stride loops with 64-bit indices. In-place use (y == x) is safe
// wherever the CPU reference allows it: each output element is written by the thread that
// alone reads its input element, after the row statistics are complete.
//
// Legend: R rows, D the last dimension; B batch, N tokens, C channels, H, W the latent grid.
#include "backend-cuda.h"

// Blocks for a one-block-per-row kernel (rows beyond the grid loop).
static unsigned row_blocks(int64_t rows) { return (unsigned)(rows < 1 ? 1 : rows > 65535 ? 65535 : rows); }

// ------------------------------------------------------------------------------------------------
// Norms

// y (R, D) = (x - mean) / sqrt(var + eps) [* w] [+ b], then, when mod is given (adaLN),
// * (1 + mod[r / N, scale_row]) + mod[r / N, shift_row] with mod (R / N, mod_rows, D).
static __global__ void layer_norm_kernel(float *y, const float *x, int64_t R, int64_t D, float eps, const void *w,
                                         int w_dtype, const void *b, int b_dtype, const float *mod, int64_t N,
                                         int64_t mod_rows, int shift_row, int scale_row) {
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        const float *xr = x + r * D;
        float *yr = y + r * D;
        float s = 0.0f;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += xr[i];
        const float mean = sana_block_sum(s) / (float)D;
        float ss = 0.0f;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) ss += (xr[i] - mean) * (xr[i] - mean);
        const float rstd = 1.0f / sqrtf(sana_block_sum(ss) / (float)D + eps);
        const float *shift = mod ? mod + ((r / N) * mod_rows + shift_row) * D : NULL;
        const float *scale = mod ? mod + ((r / N) * mod_rows + scale_row) * D : NULL;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            float v = (xr[i] - mean) * rstd;
            if (w) v = v * sana_ld(w, w_dtype, i);
            if (b) v = v + sana_ld(b, b_dtype, i);
            if (mod) v = v * (1.0f + scale[i]) + shift[i];
            yr[i] = v;
        }
    }
}

void sana_cuda_layer_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                          const sana_tensor *b, float eps) {
    const int64_t R = sana_tensor_rows(x), D = sana_tensor_dim(x, -1);
    if (R == 0 || D == 0 || !sana_cuda_enter(be)) return;
    layer_norm_kernel<<<row_blocks(R), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, R, D, eps, w ? w->data : NULL, w ? (int)w->dtype : 0,
        b ? b->data : NULL, b ? (int)b->dtype : 0, NULL, 1, 0, 0, 0);
    sana_cuda_launched(be, "layer_norm");
}

void sana_cuda_layer_norm_modulate(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *mod,
                                   int shift_row, int scale_row, float eps) {
    const int64_t B = x->shape[0], N = x->shape[1], D = x->shape[2];
    if (B * N == 0 || D == 0 || !sana_cuda_enter(be)) return;
    layer_norm_kernel<<<row_blocks(B * N), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, B * N, D, eps, NULL, 0, NULL, 0, (const float *)mod->data, N,
        mod->shape[1], shift_row, scale_row);
    sana_cuda_launched(be, "layer_norm_modulate");
}

// y (R, D) = x / sqrt(mean(x^2) + eps) [* w or (1 + w)]
static __global__ void rms_norm_kernel(float *y, const float *x, int64_t R, int64_t D, float eps, const void *w,
                                       int w_dtype, int add_one) {
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        const float *xr = x + r * D;
        float *yr = y + r * D;
        float ss = 0.0f;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) ss += xr[i] * xr[i];
        const float rs = 1.0f / sqrtf(sana_block_sum(ss) / (float)D + eps);
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            float v = xr[i] * rs;
            if (w) {
                const float wi = sana_ld(w, w_dtype, i);
                v = v * (add_one ? 1.0f + wi : wi);
            }
            yr[i] = v;
        }
    }
}

void sana_cuda_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w, float eps,
                        bool add_one) {
    const int64_t R = sana_tensor_rows(x), D = sana_tensor_dim(x, -1);
    if (R == 0 || D == 0 || !sana_cuda_enter(be)) return;
    rms_norm_kernel<<<row_blocks(R), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, R, D, eps, w ? w->data : NULL, w ? (int)w->dtype : 0, add_one);
    sana_cuda_launched(be, "rms_norm");
}

// ------------------------------------------------------------------------------------------------
// Elementwise

// x (B, N, D) += mod[b, gate_row] (D) * y (B, N, D), mod (B, R, D)
static __global__ void add_gated_kernel(float *x, const float *y, const float *mod, int64_t N, int64_t D,
                                        int64_t mod_rows, int gate_row, int64_t n) {
    GRID_STRIDE(i, n) {
        const int64_t bi = i / (N * D), d = i % D;
        x[i] = x[i] + mod[(bi * mod_rows + gate_row) * D + d] * y[i];
    }
}

void sana_cuda_add_gated(sana_backend *be, sana_tensor *x, const sana_tensor *y, const sana_tensor *mod,
                         int gate_row) {
    const int64_t N = x->shape[1], D = x->shape[2], n = sana_tensor_numel(x);
    if (n == 0 || !sana_cuda_enter(be)) return;
    add_gated_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)x->data, (const float *)y->data, (const float *)mod->data, N, D, mod->shape[1], gate_row, n);
    sana_cuda_launched(be, "add_gated");
}

// y (n) = a op b[i % nb]; b of any float dtype (a bias or table repeating over a)
static __global__ void binary_kernel(float *y, const float *a, const void *b, int b_dtype, int64_t nb, int64_t n,
                                     int mul) {
    GRID_STRIDE(i, n) {
        const float bv = sana_ld(b, b_dtype, i % nb);
        y[i] = mul ? a[i] * bv : a[i] + bv;
    }
}

static void binary(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b, int mul) {
    const int64_t n = sana_tensor_numel(a), nb = sana_tensor_numel(b);
    if (n == 0 || !sana_cuda_enter(be)) return;
    binary_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)a->data, b->data, (int)b->dtype, nb, n, mul);
    sana_cuda_launched(be, mul ? "mul" : "add");
}

void sana_cuda_add(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b) {
    binary(be, y, a, b, 0);
}

void sana_cuda_mul(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b) {
    binary(be, y, a, b, 1);
}

// y = alpha a + beta b, or alpha a when b is NULL
static __global__ void axpby_kernel(float *y, float alpha, const float *a, float beta, const float *b, int64_t n) {
    GRID_STRIDE(i, n) y[i] = b ? alpha * a[i] + beta * b[i] : alpha * a[i];
}

void sana_cuda_axpby(sana_backend *be, sana_tensor *y, float alpha, const sana_tensor *a, float beta,
                     const sana_tensor *b) {
    const int64_t n = sana_tensor_numel(a);
    if (n == 0 || !sana_cuda_enter(be)) return;
    axpby_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, alpha, (const float *)a->data, beta, b ? (const float *)b->data : NULL, n);
    sana_cuda_launched(be, "axpby");
}

static __global__ void act_kernel(float *y, const float *x, int act, int64_t n) {
    GRID_STRIDE(i, n) y[i] = sana_act_f(x[i], act);
}

void sana_cuda_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act) {
    const int64_t n = sana_tensor_numel(x);
    if (n == 0 || !sana_cuda_enter(be)) return;
    act_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>((float *)y->data,
                                                                                   (const float *)x->data, (int)act, n);
    sana_cuda_launched(be, "act");
}

// x (M, 2F) -> y (M, F) = x[:, :F] * act(x[:, F:])
static __global__ void glu_kernel(float *y, const float *x, int act, int64_t F, int64_t n) {
    GRID_STRIDE(i, n) {
        const int64_t m = i / F, f = i % F;
        const float *xr = x + m * 2 * F;
        y[i] = xr[f] * sana_act_f(xr[F + f], act);
    }
}

void sana_cuda_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act) {
    const int64_t F = sana_tensor_dim(y, -1), n = sana_tensor_numel(y);
    if (n == 0 || !sana_cuda_enter(be)) return;
    glu_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, (int)act, F, n);
    sana_cuda_launched(be, "glu");
}

// ------------------------------------------------------------------------------------------------
// Layout and convolution

// Depthwise 3x3, stride 1, zero padding 1, channels last: the bias plus the taps of act(x) for
// channel c of pixel (bi, py, px), x (B, H*W, C), w (C, 1, 3, 3), b (C) or NULL; summed in the
// CPU reference's order (dw_taps in core/cpu/backend-cpu.c). act -1: x as it is.
static __device__ __forceinline__ float dw_taps(const float *x, const void *w, int w_dtype, const void *b,
                                                int b_dtype, int64_t H, int64_t W, int64_t C, int64_t c, int64_t bi,
                                                int64_t py, int64_t px, int act) {
    float acc = b ? sana_ld(b, b_dtype, c) : 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        const int64_t sy = py + ky - 1;
        if (sy < 0 || sy >= H) continue;
        for (int kx = 0; kx < 3; kx++) {
            const int64_t sx = px + kx - 1;
            if (sx < 0 || sx >= W) continue;
            acc += sana_ld(w, w_dtype, c * 9 + ky * 3 + kx) * sana_act_f(x[((bi * H + sy) * W + sx) * C + c], act);
        }
    }
    return acc;
}

// y (B, H*W, C): one thread per output element, channels fastest (coalesced).
static __global__ void dwconv3x3_kernel(float *y, const float *x, const void *w, int w_dtype, const void *b,
                                        int b_dtype, int64_t H, int64_t W, int64_t C, int64_t n) {
    GRID_STRIDE(i, n) {
        const int64_t c = i % C, p = i / C, px = p % W, py = (p / W) % H, bi = p / (H * W);
        y[i] = dw_taps(x, w, w_dtype, b, b_dtype, H, W, C, c, bi, py, px, -1);
    }
}

void sana_cuda_dwconv3x3(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                         const sana_tensor *b, int H, int W) {
    const int64_t C = x->shape[2], n = sana_tensor_numel(x);
    if (n == 0 || !sana_cuda_enter(be)) return;
    dwconv3x3_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, w->data, (int)w->dtype, b ? b->data : NULL, b ? (int)b->dtype : 0, H,
        W, C, n);
    sana_cuda_launched(be, "dwconv3x3");
}

// Mix-FFN middle: y (B, H*W, F) = d[:F] * act_gate(d[F:]), d = the depthwise 3x3 of act_in(x)
// (x (B, H*W, 2F), w (2F, 1, 3, 3)). One thread per output (pixel, f): both of its channels'
// taps, the activation recomputed per tap (cheaper than a pass over x).
static __global__ void dwconv3x3_glu_kernel(float *y, const float *x, const void *w, int w_dtype, const void *b,
                                            int b_dtype, int64_t H, int64_t W, int64_t F, int act_in, int act_gate,
                                            int64_t n) {
    GRID_STRIDE(i, n) {
        const int64_t f = i % F, p = i / F, px = p % W, py = (p / W) % H, bi = p / (H * W);
        const float a = dw_taps(x, w, w_dtype, b, b_dtype, H, W, 2 * F, f, bi, py, px, act_in);
        const float g = dw_taps(x, w, w_dtype, b, b_dtype, H, W, 2 * F, F + f, bi, py, px, act_in);
        y[i] = a * sana_act_f(g, act_gate);
    }
}

void sana_cuda_dwconv3x3_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                             const sana_tensor *b, int H, int W, sana_act act_in, sana_act act_gate) {
    const int64_t F = y->shape[2], n = sana_tensor_numel(y);
    if (n == 0 || !sana_cuda_enter(be)) return;
    dwconv3x3_glu_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, w->data, (int)w->dtype, b ? b->data : NULL, b ? (int)b->dtype : 0, H,
        W, F, (int)act_in, (int)act_gate, n);
    sana_cuda_launched(be, "dwconv3x3_glu");
}

// x (B, R, C) -> y (B, C, R) through a 32 x 33 shared tile (the padding column avoids bank
// conflicts): block (32, 8) reads tile rows r0.. coalesced along C and writes them coalesced
// along R.
#define TILE 32
static __global__ void transpose_kernel(float *y, const float *x, int64_t R, int64_t C) {
    __shared__ float tile[TILE][TILE + 1];
    const float *X = x + blockIdx.z * R * C;
    float *Y = y + blockIdx.z * R * C;
    const int64_t c0 = (int64_t)blockIdx.x * TILE, r0 = (int64_t)blockIdx.y * TILE;
    for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
        const int64_t r = r0 + j, c = c0 + threadIdx.x;
        if (r < R && c < C) tile[j][threadIdx.x] = X[r * C + c];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
        const int64_t c = c0 + j, r = r0 + threadIdx.x;
        if (r < R && c < C) Y[c * R + r] = tile[threadIdx.x][j];
    }
}

void sana_cuda_transpose(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    const int64_t B = x->shape[0], R = x->shape[1], C = x->shape[2];
    if (B * R * C == 0 || !sana_cuda_enter(be)) return;
    const int64_t gx = (C + TILE - 1) / TILE, gy = (R + TILE - 1) / TILE;
    if (gx > INT32_MAX || gy > 65535 || B > 65535) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "transpose: (%lld, %lld, %lld) is beyond the kernel's grid",
                       (long long)B, (long long)R, (long long)C);
        return;
    }
    transpose_kernel<<<dim3((unsigned)gx, (unsigned)gy, (unsigned)B), dim3(TILE, 8), 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, R, C);
    sana_cuda_launched(be, "transpose");
}
