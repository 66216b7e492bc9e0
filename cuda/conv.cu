// conv.cu: conv2d (the slot of core/backend.h), NCHW: stride, zero padding, groups, nearest
// upsampling of the input, in place when the slot allows it.
//
// Mirrors cpu_conv2d (core/cpu/ops-conv.c). Two paths, chosen by the weight the op is given:
//
// GEMM (the weight is BF16, i.e. bound as SANA_WEIGHT_MATRIX, and not depthwise): im2col in
// bands of whole output rows, then per band one cublasGemmStridedBatchedEx over the groups with
// bf16 operands and fp32 accumulation and output (the same precision as linear: NMSE <= 1e-3
// against the CPU's fp32). Per sample n, band [y0, y0 + r) and group g:
//   col (groups, K, P) bf16, K = Ci/groups * kh * kw, P = r * Wo: the im2col of the band, the
//       input rounded to bf16 as it is gathered (upsampling and padding folded into the
//       addressing, so the upsampled image is never formed);
//   y[n, g*Cog : (g+1)*Cog, band] (Cog, P) = w_g (Cog, K) . col_g (K, P),
// which cuBLAS (column-major) sees as D (P, Cog; ld Ho*Wo) = col_g^T (P, K; ld P) . w_g^T
// (K, Cog; ld K), no transposes. The bias is added after the last band by one kernel. A band
// holds as many rows as fit in conv_bytes of col (CUDA_CONV_BYTES, 32 MiB: at DC-AE's widest
// layers a few thousand pixels per GEMM, enough to fill the GPU), at least one.
// In place (y == x: stride 1, no upsampling, same shape) the bands run in order on the stream;
// a band's GEMM overwrites rows the next band's im2col still needs (the `padding` rows above
// it), so between its im2col and its GEMM those rows are copied to a small halo buffer
// (Ci, padding, W), from which the next band's im2col reads them (the CPU's rolling halo). A 1x1
// convolution needs none: its col is already a copy.
//
// Nearest x2 upsampling + 3x3 convolution, padding 1, stride 1, one group (DC-AE's up blocks),
// on the GEMM path: folded as the CPU does (core/cpu/ops-conv.c) into four 2x2 convolutions of
// the low-resolution input, one per output parity (u, v) of pixel (2i+u, 2j+v): along rows u = 0
// takes input rows i-1, i with the taps w0, w1+w2 and u = 1 rows i, i+1 with w0+w1, w2; columns
// likewise. 16 instead of 36 multiply-adds per input channel and output pixel quad, and an im2col
// of K = 4 Ci rows per low-resolution pixel instead of 9 Ci per output pixel. The folded kernels
// (4, Co, Ci, 2, 2) are summed in fp32 from the bf16 weights and rounded to bf16 once, on first
// use, and kept (sana_cuda_derived). Per band of low-resolution rows: one im2col of the four
// parities, one cublasGemmStridedBatchedEx over them into a (4, Co, P) fp32 buffer, then one pass
// that interleaves the parities into y and adds the bias (the bias pass of the general path).
//
// Direct (one input channel per group, as depthwise kernels, whatever the weight's dtype; or a
// weight that is not BF16, i.e. bound as SANA_WEIGHT_VECTOR): one thread per output element,
// summing its taps in fp32 from the bias on, in the CPU depthwise loop's order (NMSE <= 1e-7
// where both backends see the same weight values). In place, a range of whole groups at a time
// is first copied into the scratch (bounded by conv_bytes, at least one group), then computed
// from the copy.
//
// What is slow (correct first; DESIGN.md principle 6): im2col goes through memory instead of an
// implicit-GEMM kernel (about K times the input in bf16 writes per layer); the bias is a separate
// pass (except on the folded up path); the direct kernel reads its taps from global memory
// without tiling (fine for depthwise kernels, slow for a dense convolution bound as vectors,
// which DC-AE does not do). docs/performance.md has the cost of each.
//
// Legend: B batch; Ci, H, W input; Co, Ho, Wo output; kh, kw kernel; Cig, Cog channels per
// group; Hu, Wu the upsampled input; P pixels of a band.
#include "backend-cuda.h"

typedef struct conv_geom {
    int64_t Ci, H, W;   // input
    int64_t Co, Ho, Wo; // output
    int64_t kh, kw;     // kernel
    int64_t Cig, Cog;   // channels per group
    int64_t groups;
    int64_t stride, pad, up; // up: nearest upsampling factor of the input
    int64_t Hu, Wu;          // upsampled input
} conv_geom;

// ------------------------------------------------------------------------------------------------
// The GEMM path

// col (Ci*kh*kw, P) bf16 for output rows [y0, y0 + P / Wo) of one sample x (Ci, H, W): row
// k = (c, dy, dx), column p = (row, column) of the band. Input rows above `lo` come from halo
// (Ci, pad, W) holding rows [lo - pad, lo), when halo is set (in place).
static __global__ void im2col_kernel(__nv_bfloat16 *col, const float *x, const float *halo, conv_geom g, int64_t y0,
                                     int64_t P, int64_t lo, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t p = e % P, k = e / P, kk = g.kh * g.kw;
        const int64_t c = k / kk, dy = (k % kk) / g.kw, dx = k % g.kw;
        const int64_t sy = (y0 + p / g.Wo) * g.stride + dy - g.pad; // in the upsampled input
        const int64_t sx = (p % g.Wo) * g.stride + dx - g.pad;
        float v = 0.0f;
        if (sy >= 0 && sy < g.Hu && sx >= 0 && sx < g.Wu) {
            const int64_t r = sy / g.up, cx = sx / g.up;
            v = halo && r < lo ? halo[(c * g.pad + r - (lo - g.pad)) * g.W + cx] : x[(c * g.H + r) * g.W + cx];
        }
        col[e] = __float2bfloat16_rn(v);
    }
}

// halo (Ci, pad, W) = rows [r0, r0 + pad) of x (Ci, H, W)
static __global__ void save_rows_kernel(float *halo, const float *x, conv_geom g, int64_t r0, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t j = e % g.W, k = (e / g.W) % g.pad, c = e / (g.W * g.pad);
        halo[e] = x[(c * g.H + r0 + k) * g.W + j];
    }
}

// y (B, Co, S) += b[o]
static __global__ void conv_bias_kernel(float *y, const void *b, int b_dtype, int64_t Co, int64_t S, int64_t n) {
    GRID_STRIDE(e, n) y[e] += sana_ld(b, b_dtype, (e / S) % Co);
}

static void conv_gemm(sana_backend *be, const conv_geom *g, int64_t B, float *y, const float *x, const void *w,
                      const void *b, int b_dtype) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const bool inplace = y == x;
    const bool halo = inplace && g->pad > 0 && g->kh * g->kw > 1;
    const int64_t K = g->Cig * g->kh * g->kw, rows_k = g->groups * K, S = g->Ho * g->Wo;
    // Output rows per band: the col within the budget, at least one; in place with a halo, at
    // least `pad` (the rows a band saves for the next must still be its input).
    int64_t R = (int64_t)(c->conv_bytes / ((size_t)(rows_k * g->Wo) * sizeof(__nv_bfloat16)));
    if (R < 1) R = 1;
    if (halo && R < g->pad) R = g->pad;
    if (R > g->Ho) R = g->Ho;
    if (R * g->Wo > INT32_MAX || K > INT32_MAX || S > INT32_MAX || g->Cog > INT32_MAX || g->groups > INT32_MAX) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED,
                       "conv2d: (%lld, %lld, %lld) x (%lld, %lld, %lld, %lld) is beyond cuBLAS's 32-bit dimensions",
                       (long long)g->Ci, (long long)g->H, (long long)g->W, (long long)g->Co, (long long)g->Cig,
                       (long long)g->kh, (long long)g->kw);
        return;
    }
    const size_t col_bytes = ((size_t)(rows_k * R * g->Wo) * sizeof(__nv_bfloat16) + 255) & ~(size_t)255;
    const size_t halo_bytes = halo ? (size_t)(g->Ci * g->pad * g->W) * sizeof(float) : 0;
    char *scratch = (char *)sana_cuda_scratch(be, col_bytes + halo_bytes);
    if (!scratch) return;
    __nv_bfloat16 *col = (__nv_bfloat16 *)scratch;
    float *hbuf = halo ? (float *)(scratch + col_bytes) : NULL;
    const float one = 1.0f, zero = 0.0f;
    for (int64_t n = 0; n < B; n++) {
        const float *xn = x + n * g->Ci * g->H * g->W;
        float *yn = y + n * g->Co * S;
        for (int64_t y0 = 0; y0 < g->Ho; y0 += R) {
            const int64_t r = g->Ho - y0 < R ? g->Ho - y0 : R, P = r * g->Wo, ne = rows_k * P;
            im2col_kernel<<<sana_cuda_blocks(ne), CUDA_THREADS, 0, c->stream>>>(col, xn, y0 > 0 ? hbuf : NULL, *g, y0,
                                                                                P, y0, ne);
            if (!sana_cuda_launched(be, "conv2d: im2col")) return;
            if (halo && y0 + r < g->Ho) { // the rows the next band reads above it, before this GEMM writes them
                const int64_t nh = g->Ci * g->pad * g->W;
                save_rows_kernel<<<sana_cuda_blocks(nh), CUDA_THREADS, 0, c->stream>>>(hbuf, xn, *g, y0 + r - g->pad,
                                                                                      nh);
                if (!sana_cuda_launched(be, "conv2d: halo")) return;
            }
            if (!sana_cuda_check_blas(
                    be,
                    cublasGemmStridedBatchedEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)P, (int)g->Cog, (int)K, &one, col,
                                               CUDA_R_16BF, (int)P, (long long)(K * P), w, CUDA_R_16BF, (int)K,
                                               (long long)(g->Cog * K), &zero, yn + y0 * g->Wo, CUDA_R_32F, (int)S,
                                               (long long)(g->Cog * S), (int)g->groups, CUBLAS_COMPUTE_32F,
                                               CUBLAS_GEMM_DEFAULT),
                    "conv2d: cublasGemmStridedBatchedEx"))
                return;
        }
    }
    if (b) {
        const int64_t ny = B * g->Co * S;
        conv_bias_kernel<<<sana_cuda_blocks(ny), CUDA_THREADS, 0, c->stream>>>(y, b, b_dtype, g->Co, S, ny);
        sana_cuda_launched(be, "conv2d: bias");
    }
}

// ------------------------------------------------------------------------------------------------
// The folded nearest-x2 + 3x3 path

#define DERIVED_UP2 1 // sana_cuda_derived kind: the folded kernels of an up convolution

// Row (or column) taps of the 3x3 kernel that fold onto input offset a in {0, 1} for output
// parity u: u = 0: a = 0 -> {0}, a = 1 -> {1, 2}; u = 1: a = 0 -> {0, 1}, a = 1 -> {2}.
static __device__ __forceinline__ void up2_taps(int u, int a, int *t0, int *t1) {
    *t0 = u == 0 ? (a == 0 ? 0 : 1) : (a == 0 ? 0 : 2);
    *t1 = u == 0 ? (a == 0 ? 0 : 2) : (a == 0 ? 1 : 2);
}

// wf (4, Co, Ci, 2, 2) from w (Co, Ci, 3, 3), both bf16; q = 2u + v.
static __global__ void fold_up2_kernel(__nv_bfloat16 *wf, const __nv_bfloat16 *w, int64_t CoCi, int64_t n) {
    GRID_STRIDE(e, n) {
        const int bb = (int)(e % 2), a = (int)((e / 2) % 2), q = (int)(e / (4 * CoCi));
        const int64_t oc = (e / 4) % CoCi;
        int r0, r1, c0, c1;
        up2_taps(q / 2, a, &r0, &r1);
        up2_taps(q % 2, bb, &c0, &c1);
        float sum = 0.0f;
        for (int r = r0; r <= r1; r++)
            for (int cc = c0; cc <= c1; cc++) sum += __bfloat162float(w[oc * 9 + r * 3 + cc]);
        wf[e] = __float2bfloat16_rn(sum);
    }
}

// col (4, Ci*4, P) bf16 for low-resolution rows [i0, i0 + P / W) of one sample x (Ci, H, W): for
// parity q = 2u + v, row k = (c, a, b), column p = (i - i0, j): x[c, i + u - 1 + a, j + v - 1 + b]
// (0 outside).
static __global__ void im2col_up2_kernel(__nv_bfloat16 *col, const float *x, conv_geom g, int64_t i0, int64_t P,
                                         int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t K = g.Ci * 4, p = e % P, k = (e / P) % K;
        const int q = (int)(e / (P * K)), u = q / 2, v = q % 2;
        const int64_t c = k / 4, a = (k / 2) % 2, b = k % 2;
        const int64_t r = i0 + p / g.W + u - 1 + a, cx = p % g.W + v - 1 + b;
        const float val = r >= 0 && r < g.H && cx >= 0 && cx < g.W ? x[(c * g.H + r) * g.W + cx] : 0.0f;
        col[e] = __float2bfloat16_rn(val);
    }
}

// y rows [2 i0, 2 i0 + 2R) of one sample (Co, 2H, 2W) from tmp (4, Co, P = R W): output pixel
// (2i+u, 2j+v) is tmp[2u + v, o, (i - i0) W + j], plus the bias. One thread per output element
// (coalesced writes).
static __global__ void scatter_up2_kernel(float *y, const float *tmp, const void *b, int b_dtype, conv_geom g,
                                          int64_t i0, int64_t P, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t R2 = 2 * (P / g.W), X = e % g.Wo, Yr = (e / g.Wo) % R2, o = e / (g.Wo * R2);
        const int q = (int)(2 * (Yr % 2) + X % 2);
        float val = tmp[(q * g.Co + o) * P + (Yr / 2) * g.W + X / 2];
        if (b) val += sana_ld(b, b_dtype, o);
        y[(o * g.Ho + 2 * i0 + Yr) * g.Wo + X] = val;
    }
}

static void conv_up2(sana_backend *be, const conv_geom *g, int64_t B, float *y, const float *x, const void *w,
                     const void *b, int b_dtype) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t K = g->Ci * 4, Co = g->Co;
    // Low-resolution rows per band: the col within the budget, at least one.
    int64_t R = (int64_t)(c->conv_bytes / ((size_t)(4 * K * g->W) * sizeof(__nv_bfloat16)));
    if (R < 1) R = 1;
    if (R > g->H) R = g->H;
    if (R * g->W > INT32_MAX || K > INT32_MAX || Co > INT32_MAX || 4 * Co * K > INT32_MAX) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "conv2d: up x2 (%lld, %lld, %lld) -> %lld is beyond cuBLAS's "
                       "32-bit dimensions", (long long)g->Ci, (long long)g->H, (long long)g->W, (long long)Co);
        return;
    }
    bool fresh;
    __nv_bfloat16 *wf =
        (__nv_bfloat16 *)sana_cuda_derived(be, w, DERIVED_UP2, (size_t)(16 * Co * g->Ci) * sizeof(__nv_bfloat16), &fresh);
    if (!wf) return;
    if (fresh) {
        const int64_t nf = 16 * Co * g->Ci;
        fold_up2_kernel<<<sana_cuda_blocks(nf), CUDA_THREADS, 0, c->stream>>>(wf, (const __nv_bfloat16 *)w, Co * g->Ci,
                                                                             nf);
        if (!sana_cuda_launched(be, "conv2d: fold up x2")) return;
    }
    const size_t col_bytes = ((size_t)(4 * K * R * g->W) * sizeof(__nv_bfloat16) + 255) & ~(size_t)255;
    const size_t tmp_bytes = (size_t)(4 * Co * R * g->W) * sizeof(float);
    char *scratch = (char *)sana_cuda_scratch(be, col_bytes + tmp_bytes);
    if (!scratch) return;
    __nv_bfloat16 *col = (__nv_bfloat16 *)scratch;
    float *tmp = (float *)(scratch + col_bytes);
    const float one = 1.0f, zero = 0.0f;
    for (int64_t n = 0; n < B; n++) {
        const float *xn = x + n * g->Ci * g->H * g->W;
        float *yn = y + n * Co * g->Ho * g->Wo;
        for (int64_t i0 = 0; i0 < g->H; i0 += R) {
            const int64_t r = g->H - i0 < R ? g->H - i0 : R, P = r * g->W, ne = 4 * K * P, ny = Co * 4 * P;
            im2col_up2_kernel<<<sana_cuda_blocks(ne), CUDA_THREADS, 0, c->stream>>>(col, xn, *g, i0, P, ne);
            if (!sana_cuda_launched(be, "conv2d: im2col up x2")) return;
            if (!sana_cuda_check_blas(be,
                                      cublasGemmStridedBatchedEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)P, (int)Co, (int)K,
                                                                 &one, col, CUDA_R_16BF, (int)P, (long long)(K * P), wf,
                                                                 CUDA_R_16BF, (int)K, (long long)(Co * K), &zero, tmp,
                                                                 CUDA_R_32F, (int)P, (long long)(Co * P), 4,
                                                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                                      "conv2d: up x2 cublasGemmStridedBatchedEx"))
                return;
            scatter_up2_kernel<<<sana_cuda_blocks(ny), CUDA_THREADS, 0, c->stream>>>(yn, tmp, b, b_dtype, *g, i0, P, ny);
            if (!sana_cuda_launched(be, "conv2d: up x2 scatter")) return;
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The direct path

// Outputs of `slabs` consecutive (sample, group) slabs from slab0 on: ys the first one's output
// (Cog, Ho, Wo), xs its input (Cig, H, W); the slabs follow each other in both.
static __global__ void conv_direct_kernel(float *ys, const float *xs, const void *w, int w_dtype, const void *b,
                                          int b_dtype, conv_geom g, int64_t slab0, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t j = e % g.Wo, i = (e / g.Wo) % g.Ho, ol = (e / (g.Wo * g.Ho)) % g.Cog;
        const int64_t sl = e / (g.Wo * g.Ho * g.Cog), o = ((slab0 + sl) % g.groups) * g.Cog + ol;
        const float *xc = xs + sl * g.Cig * g.H * g.W;
        float acc = b ? sana_ld(b, b_dtype, o) : 0.0f;
        for (int64_t c = 0; c < g.Cig; c++)
            for (int64_t dy = 0; dy < g.kh; dy++) {
                const int64_t sy = i * g.stride + dy - g.pad;
                if (sy < 0 || sy >= g.Hu) continue;
                const float *row = xc + (c * g.H + sy / g.up) * g.W;
                for (int64_t dx = 0; dx < g.kw; dx++) {
                    const int64_t sx = j * g.stride + dx - g.pad;
                    if (sx < 0 || sx >= g.Wu) continue;
                    acc += sana_ld(w, w_dtype, ((o * g.Cig + c) * g.kh + dy) * g.kw + dx) * row[sx / g.up];
                }
            }
        ys[e] = acc;
    }
}

static void conv_direct(sana_backend *be, const conv_geom *g, int64_t B, float *y, const float *x, const void *w,
                        int w_dtype, const void *b, int b_dtype) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t slabs = B * g->groups, in_slab = g->Cig * g->H * g->W, out_slab = g->Cog * g->Ho * g->Wo;
    // Not in place: all slabs at once. In place: as many whole slabs as fit in the budget,
    // copied first (a slab's outputs read only its own inputs).
    int64_t per = slabs;
    float *copy = NULL;
    if (y == x) {
        per = (int64_t)(c->conv_bytes / ((size_t)in_slab * sizeof(float)));
        per = per < 1 ? 1 : per > slabs ? slabs : per;
        if (!(copy = (float *)sana_cuda_scratch(be, (size_t)(per * in_slab) * sizeof(float)))) return;
    }
    for (int64_t s0 = 0; s0 < slabs; s0 += per) {
        const int64_t m = slabs - s0 < per ? slabs - s0 : per, n = m * out_slab;
        const float *xs = x + s0 * in_slab;
        if (copy) {
            if (!sana_cuda_check(be, cudaMemcpyAsync(copy, xs, (size_t)(m * in_slab) * sizeof(float),
                                                     cudaMemcpyDeviceToDevice, c->stream),
                                 "conv2d: in-place copy"))
                return;
            xs = copy;
        }
        conv_direct_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, c->stream>>>(y + s0 * out_slab, xs, w, w_dtype, b,
                                                                               b_dtype, *g, s0, n);
        if (!sana_cuda_launched(be, "conv2d")) return;
    }
}

// ------------------------------------------------------------------------------------------------

void sana_cuda_conv2d(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                      const sana_tensor *b, int stride, int padding, int groups, int upsample) {
    conv_geom g;
    g.Ci = x->shape[1], g.H = x->shape[2], g.W = x->shape[3];
    g.Co = y->shape[1], g.Ho = y->shape[2], g.Wo = y->shape[3];
    g.kh = w->shape[2], g.kw = w->shape[3];
    g.groups = groups, g.Cig = g.Ci / groups, g.Cog = g.Co / groups;
    g.stride = stride, g.pad = padding, g.up = upsample;
    g.Hu = g.H * upsample, g.Wu = g.W * upsample;
    const int64_t B = x->shape[0];
    if (B * g.Co * g.Ho * g.Wo == 0 || !sana_cuda_enter(be)) return;
    const void *bias = b ? b->data : NULL;
    const int b_dtype = b ? (int)b->dtype : 0;
    if (w->dtype == SANA_DTYPE_BF16 && g.Cig > 1 && groups == 1 && upsample == 2 && g.kh == 3 && g.kw == 3 &&
        padding == 1 && stride == 1)
        conv_up2(be, &g, B, (float *)y->data, (const float *)x->data, w->data, bias, b_dtype);
    else if (w->dtype == SANA_DTYPE_BF16 && g.Cig > 1)
        conv_gemm(be, &g, B, (float *)y->data, (const float *)x->data, w->data, bias, b_dtype);
    else
        conv_direct(be, &g, B, (float *)y->data, (const float *)x->data, w->data, (int)w->dtype, bias, b_dtype);
}
