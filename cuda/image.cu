// image.cu: the image (NCHW) ops other than convolution, for DC-AE: per-pixel channel RMSNorm,
// eval BatchNorm, pixel (un)shuffle with their channel repeat / group mean, the packed ReLU
// linear attention, tile-seam blending and window copies. All fp32.
//
// Mirrors core/cpu/ops-image.c; each kernel does the reference's arithmetic in its order where
// that is one thread's loop (BatchNorm's per-channel scale in double, the blend weights in
// double, the unshuffle group sum then one division), so most agree bit for bit and the rest
// to rounding (the channel RMSNorm sums squares in fp32 where the CPU uses double; the
// attention's products run in sgemm's order on the CPU).
//
// In place (channel_rms_norm, batch_norm with y == x or y == r): every output element is
// written by the thread that alone reads the inputs at its position, after reading them.
//
// These are the simple kernels (one thread per output element or pixel; the attention in two
// passes with one block per head for the sums); what they cost is a few memory passes next to
// the convolutions' GEMMs (performance.md: all of DC-AE's norms and its attention are under
// 2 % of its FLOPs).
//
// Legend: B batch, C channels, H, W, S = H*W pixels; G heads of d channels (attention).
#include "backend-cuda.h"

// Blocks for a kernel with one block per plane along grid y (planes beyond the grid loop).
static unsigned plane_blocks(int64_t planes) {
    return (unsigned)(planes < 1 ? 1 : planes > 65535 ? 65535 : planes);
}

// ------------------------------------------------------------------------------------------------
// Channel norms

// One thread per pixel (n, s): the mean of squares over the C channels (stride S, coalesced
// across the threads of a warp), then y = x * rs * w[c] + b[c] (+ r).
static __global__ void channel_rms_norm_kernel(float *y, const float *x, const void *w, int w_dtype, const void *b,
                                               int b_dtype, const float *r, int64_t C, int64_t S, float eps,
                                               int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t off = (e / S) * C * S + e % S;
        const float *X = x + off;
        float ss = 0.0f;
        for (int64_t c = 0; c < C; c++) ss += X[c * S] * X[c * S];
        const float rs = 1.0f / sqrtf(ss / (float)C + eps);
        for (int64_t c = 0; c < C; c++) {
            const float v = X[c * S] * rs * sana_ld(w, w_dtype, c) + sana_ld(b, b_dtype, c);
            y[off + c * S] = r ? v + r[off + c * S] : v;
        }
    }
}

void sana_cuda_channel_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                                const sana_tensor *b, const sana_tensor *r, float eps) {
    const int64_t B = x->shape[0], C = x->shape[1], S = x->shape[2] * x->shape[3], n = B * S;
    if (n == 0 || C == 0 || !sana_cuda_enter(be)) return;
    channel_rms_norm_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, w->data, (int)w->dtype, b->data, (int)b->dtype,
        r ? (const float *)r->data : NULL, C, S, eps, n);
    sana_cuda_launched(be, "channel_rms_norm");
}

// Planes p = (n, c) along grid y, pixels along grid x: y = x * a + beta (+ r) with the CPU's
// a = (float)(w / sqrt(var + eps)), beta = (float)(b - mean * alpha), in double once per thread
// and plane.
static __global__ void batch_norm_kernel(float *y, const float *x, const void *mean, int m_dtype, const void *var,
                                         int v_dtype, const void *w, int w_dtype, const void *b, int b_dtype,
                                         const float *r, int64_t P, int64_t C, int64_t S, float eps) {
    for (int64_t p = blockIdx.y; p < P; p += gridDim.y) {
        const int64_t c = p % C;
        const double alpha = (double)sana_ld(w, w_dtype, c) / sqrt((double)sana_ld(var, v_dtype, c) + (double)eps);
        const float a = (float)alpha;
        const float beta = (float)((double)sana_ld(b, b_dtype, c) - (double)sana_ld(mean, m_dtype, c) * alpha);
        const float *X = x + p * S;
        const float *R = r ? r + p * S : NULL;
        float *Y = y + p * S;
        GRID_STRIDE(s, S) {
            const float v = X[s] * a + beta;
            Y[s] = R ? v + R[s] : v;
        }
    }
}

void sana_cuda_batch_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *mean,
                          const sana_tensor *var, const sana_tensor *w, const sana_tensor *b, const sana_tensor *r,
                          float eps) {
    const int64_t C = x->shape[1], P = x->shape[0] * C, S = x->shape[2] * x->shape[3];
    if (P * S == 0 || !sana_cuda_enter(be)) return;
    const int64_t gx = (S + CUDA_THREADS - 1) / CUDA_THREADS;
    batch_norm_kernel<<<dim3((unsigned)(gx > 1024 ? 1024 : gx), plane_blocks(P)), CUDA_THREADS, 0,
                        sana_cuda_ctx(be)->stream>>>((float *)y->data, (const float *)x->data, mean->data,
                                                     (int)mean->dtype, var->data, (int)var->dtype, w->data,
                                                     (int)w->dtype, b->data, (int)b->dtype,
                                                     r ? (const float *)r->data : NULL, P, C, S, eps);
    sana_cuda_launched(be, "batch_norm");
}

// ------------------------------------------------------------------------------------------------
// Pixel shuffle and unshuffle

// y (B, Co, r H, r W): y[n, o, r i + u, r j + v] (+)= x[n, (o r r + u r + v) / repeats, i, j]
static __global__ void pixel_shuffle_kernel(float *y, const float *x, int64_t C, int64_t H, int64_t W, int64_t Co,
                                            int r, int repeats, int accumulate, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t Wo = W * r, Ho = H * r;
        const int64_t xx = e % Wo, yy = (e / Wo) % Ho, o = (e / (Wo * Ho)) % Co, nb = e / (Wo * Ho * Co);
        const int64_t i = yy / r, u = yy % r, j = xx / r, v = xx % r;
        const int64_t c = (o * r * r + u * r + v) / repeats;
        const float s = x[((nb * C + c) * H + i) * W + j];
        y[e] = accumulate ? y[e] + s : s;
    }
}

void sana_cuda_pixel_shuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int repeats,
                             bool accumulate) {
    const int64_t n = sana_tensor_numel(y);
    if (n == 0 || !sana_cuda_enter(be)) return;
    pixel_shuffle_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, x->shape[1], x->shape[2], x->shape[3], y->shape[1], r, repeats,
        accumulate, n);
    sana_cuda_launched(be, "pixel_shuffle");
}

// y (B, Co, H / r, W / r): y[n, o, i, j] (+)= (sum_t x[n, q / r^2, r i + (q % r^2) / r, r j + q % r]) / group,
// q = o group + t; the sum in fp32 in t's order, then one division, as the CPU.
static __global__ void pixel_unshuffle_kernel(float *y, const float *x, int64_t C, int64_t H, int64_t W, int64_t Co,
                                              int r, int group, int accumulate, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t Wo = W / r, Ho = H / r, rr = (int64_t)r * r;
        const int64_t j = e % Wo, i = (e / Wo) % Ho, o = (e / (Wo * Ho)) % Co, nb = e / (Wo * Ho * Co);
        float sum = 0.0f;
        for (int64_t t = 0; t < group; t++) {
            const int64_t q = o * group + t, c = q / rr, u = (q % rr) / r, v = q % r;
            sum += x[((nb * C + c) * H + r * i + u) * W + r * j + v];
        }
        const float m = sum / (float)group;
        y[e] = accumulate ? y[e] + m : m;
    }
}

void sana_cuda_pixel_unshuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int group,
                               bool accumulate) {
    const int64_t n = sana_tensor_numel(y);
    if (n == 0 || !sana_cuda_enter(be)) return;
    pixel_unshuffle_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, x->shape[1], x->shape[2], x->shape[3], y->shape[1], r, group,
        accumulate, n);
    sana_cuda_launched(be, "pixel_unshuffle");
}

// ------------------------------------------------------------------------------------------------
// Packed linear attention (DC-AE): per head hg = (batch, head), q, k, v are the (d, N) channel
// blocks [0, d), [d, 2d), [2d, 3d) of the head's 3d channels of qkv.

// Pass 1: the per-head sums S (d+1, d), S[i][j] = sum_m v[i, m] k'[j, m], S[d][j] = sum_m k'[j, m],
// by sana_cuda_linear_attention_sums (attention.cu), split over the pixels.

// Pass 2, head hg along grid y, pixels along grid x: o[i, n] = (S[i] . q'_n) / (S[d] . q'_n + eps),
// q' = relu(q) (the column of q at pixel n); S of the head staged in shared memory.
static __global__ void packed_out_kernel(float *o, const float *qkv, const float *S, int64_t N, int d, float eps) {
    extern __shared__ float sm[];
    const int64_t hg = blockIdx.y, E = (int64_t)(d + 1) * d;
    for (int64_t e = threadIdx.x; e < E; e += blockDim.x) sm[e] = S[hg * E + e];
    __syncthreads();
    const float *q = qkv + hg * 3 * d * N;
    float *out = o + hg * d * N;
    GRID_STRIDE(n, N) {
        float den = 0.0f;
        for (int j = 0; j < d; j++) {
            const float qv = q[(int64_t)j * N + n];
            den += sm[(int64_t)d * d + j] * (qv > 0.0f ? qv : 0.0f);
        }
        den += eps;
        for (int i = 0; i < d; i++) {
            float num = 0.0f;
            for (int j = 0; j < d; j++) {
                const float qv = q[(int64_t)j * N + n];
                num += sm[(int64_t)i * d + j] * (qv > 0.0f ? qv : 0.0f);
            }
            out[(int64_t)i * N + n] = num / den;
        }
    }
}

void sana_cuda_linear_attention_packed(sana_backend *be, sana_tensor *o, const sana_tensor *qkv, int head_dim,
                                       float eps) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t d = head_dim, HG = qkv->shape[0] * (qkv->shape[1] / (3 * d)), N = qkv->shape[2] * qkv->shape[3];
    if (HG * N == 0 || !sana_cuda_enter(be)) return;
    const size_t smem_s = (size_t)((d + 1) * d) * sizeof(float);
    if (smem_s > 48 * 1024 || HG > 65535) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED,
                       "linear_attention_packed: %lld heads of dim %lld is beyond the kernels' limits (head dim <= 110, "
                       "heads x batch <= 65535)", (long long)HG, (long long)d);
        return;
    }
    // Head hg: channel ch, pixel n of its k at qkv + (3 hg + 1) d N + ch N + n; v d N further.
    const float *k = (const float *)qkv->data + d * N;
    float *S = sana_cuda_linear_attention_sums(be, k, k + d * N, HG, 1, 3 * d * N, 0, N, 1, N, (int)d,
                                               "linear_attention_packed (sums)");
    if (!S) return;
    const int64_t gx = (N + CUDA_THREADS - 1) / CUDA_THREADS;
    packed_out_kernel<<<dim3((unsigned)(gx > 1024 ? 1024 : gx), (unsigned)HG), CUDA_THREADS, smem_s, c->stream>>>(
        (float *)o->data, (const float *)qkv->data, S, N, (int)d, eps);
    sana_cuda_launched(be, "linear_attention_packed");
}

// ------------------------------------------------------------------------------------------------
// Tile seams and windows

// In place on b: element (p, t, j) (axis 2) or (p, i, t) (axis 3), t < extent:
// b = a[the last `extent` rows (columns), t] * (float)(1 - t/extent) + b * (float)(t/extent),
// the weights from t/extent in double as the CPU computes them.
static __global__ void blend_kernel(float *b, const float *a, int axis, int64_t extent, int64_t Ha, int64_t Wa,
                                    int64_t Hb, int64_t Wb, int64_t n) {
    GRID_STRIDE(e, n) {
        int64_t p, t, ai, bi;
        if (axis == 2) { // (p, t, j)
            const int64_t j = e % Wb;
            t = (e / Wb) % extent, p = e / (Wb * extent);
            ai = (p * Ha + Ha - extent + t) * Wa + j;
            bi = (p * Hb + t) * Wb + j;
        } else { // (p, i, t)
            const int64_t i = (e / extent) % Hb;
            t = e % extent, p = e / (extent * Hb);
            ai = (p * Ha + i) * Wa + Wa - extent + t;
            bi = (p * Hb + i) * Wb + t;
        }
        const double f = (double)t / (double)extent;
        b[bi] = a[ai] * (float)(1.0 - f) + b[bi] * (float)f;
    }
}

void sana_cuda_blend(sana_backend *be, sana_tensor *b, const sana_tensor *a, int axis, int extent) {
    const int64_t P = b->shape[0] * b->shape[1], Hb = b->shape[2], Wb = b->shape[3];
    const int64_t n = P * extent * (axis == 2 ? Wb : Hb);
    if (n == 0 || !sana_cuda_enter(be)) return;
    blend_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)b->data, (const float *)a->data, axis, extent, a->shape[2], a->shape[3], Hb, Wb, n);
    sana_cuda_launched(be, "blend");
}

// dst[p, dy + i, dx + j] = src[p, sy + i, sx + j], element (p, i, j) of the h x w window
static __global__ void copy2d_kernel(float *dst, int64_t Hd, int64_t Wd, int64_t dy, int64_t dx, const float *src,
                                     int64_t Hs, int64_t Ws, int64_t sy, int64_t sx, int64_t h, int64_t w, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t j = e % w, i = (e / w) % h, p = e / (w * h);
        dst[(p * Hd + dy + i) * Wd + dx + j] = src[(p * Hs + sy + i) * Ws + sx + j];
    }
}

void sana_cuda_copy2d(sana_backend *be, sana_tensor *dst, int dy, int dx, const sana_tensor *src, int sy, int sx,
                      int h, int w) {
    const int64_t n = dst->shape[0] * dst->shape[1] * (int64_t)h * w;
    if (n == 0 || !sana_cuda_enter(be)) return;
    copy2d_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)dst->data, dst->shape[2], dst->shape[3], dy, dx, (const float *)src->data, src->shape[2],
        src->shape[3], sy, sx, h, w, n);
    sana_cuda_launched(be, "copy2d");
}

// ------------------------------------------------------------------------------------------------
// 8-bit conversion

// One thread per output byte (b, i, j, c) of y (B, H, W, 3) from x (B, 3, H, W): the
// reference's v = x / 2 + 0.5, clamp to [0, 1] (NaN -> 0), rint(v * 255) (half to even, as
// nearbyintf in the default rounding mode). Writes are coalesced; reads stride by the plane.
static __global__ void to_rgb8_kernel(uint8_t *y, const float *x, int64_t S, int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t c = e % 3, s = (e / 3) % S, b = e / (3 * S);
        float v = x[(b * 3 + c) * S + s] / 2.0f + 0.5f;
        v = !(v >= 0.0f) ? 0.0f : v > 1.0f ? 1.0f : v;
        y[e] = (uint8_t)rintf(v * 255.0f);
    }
}

void sana_cuda_to_rgb8(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    const int64_t S = x->shape[2] * x->shape[3], n = x->shape[0] * 3 * S;
    if (n == 0 || !sana_cuda_enter(be)) return;
    to_rgb8_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>((uint8_t *)y->data,
                                                                                       (const float *)x->data, S, n);
    sana_cuda_launched(be, "to_rgb8");
}

// ------------------------------------------------------------------------------------------------
// Per-channel bias and activation

// y = act(x + b[c]) over (B, C, S); one thread per element, in place allowed.
static __global__ void channel_bias_act_kernel(float *y, const float *x, const void *b, int b_dtype, int64_t C,
                                               int64_t S, int act, int64_t n) {
    GRID_STRIDE(e, n) y[e] = sana_act_f(x[e] + sana_ld(b, b_dtype, (e / S) % C), act);
}

void sana_cuda_channel_bias_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *b,
                                sana_act act) {
    const int64_t C = x->shape[1], S = x->shape[2] * x->shape[3], n = sana_tensor_numel(x);
    if (n == 0 || !sana_cuda_enter(be)) return;
    channel_bias_act_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, b->data, (int)b->dtype, C, S, (int)act, n);
    sana_cuda_launched(be, "channel_bias_act");
}
