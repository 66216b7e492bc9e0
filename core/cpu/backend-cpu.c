// backend-cpu.c: the CPU backend, the readable reference for every op (semantics in backend.h).
//
// fp32 compute. GEMMs through OpenBLAS (cblas_sgemm); weights stay in their stored dtype (the
// mmapped checkpoint, usually bf16) and are widened to fp32 per use, a bounded chunk of rows at
// a time, never as a whole fp32 copy of the model. Everything else is plain loops with OpenMP.
// Reductions (norm statistics, softmax sums) accumulate in double: the reference itself
// rounds differently from PyTorch, but only far below the 1e-4 parity tolerance.
//
// What it is not: fast at small batch or tuned per ISA; the CUDA backend is the fast path.
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu.h"

// Widened weight rows per GEMM chunk: 16 MB of fp32.
#define WIDEN_CHUNK_FLOATS ((size_t)4 << 20)

typedef struct cpu_ctx {
    float *scratch; // widened weights and attention logits
    size_t scratch_floats;
    size_t held, peak;                   // bytes of alloc and scratch (memory slot)
    double marks[SANA_TIMER_SLOTS];      // host clock of each timer marker, ms; < 0: none
} cpu_ctx;

static void cpu_count(cpu_ctx *c, size_t add, size_t sub) {
    c->held = c->held + add - sub;
    if (c->held > c->peak) c->peak = c->held;
}

float *sana_cpu_scratch(sana_backend *be, size_t floats) {
    cpu_ctx *c = be->ctx;
    if (c->scratch_floats >= floats) return c->scratch;
    free(c->scratch);
    cpu_count(c, 0, c->scratch_floats * sizeof(float));
    c->scratch = malloc(floats * sizeof(float));
    c->scratch_floats = c->scratch ? floats : 0;
    cpu_count(c, c->scratch_floats * sizeof(float), 0);
    if (!c->scratch)
        sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of memory for %zu MB of scratch",
                          floats * sizeof(float) >> 20);
    return c->scratch;
}

const float *sana_cpu_as_f32(sana_backend *be, const sana_tensor *t, float **owned) {
    *owned = NULL;
    if (!t) return NULL;
    if (t->dtype == SANA_DTYPE_F32) return t->data;
    size_t n = (size_t)sana_tensor_numel(t);
    *owned = malloc(n * sizeof(float));
    if (!*owned) {
        sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of memory widening a %zu-element weight", n);
        return NULL;
    }
    sana_widen_to_f32(*owned, t->data, t->dtype, n);
    return *owned;
}

// ------------------------------------------------------------------------------------------------
// GEMM

static void cpu_linear(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                       const sana_tensor *b) {
    const int64_t M = sana_tensor_rows(x), K = sana_tensor_dim(x, -1), N = w->shape[0];
    const float *X = x->data;
    float *Y = y->data;
    float beta = 0.0f;
    if (b) {
        float *bo;
        const float *B = sana_cpu_as_f32(be, b, &bo);
        if (!B) return;
#pragma omp parallel for
        for (int64_t m = 0; m < M; m++) memcpy(Y + m * N, B, (size_t)N * sizeof(float));
        free(bo);
        beta = 1.0f;
    }
    if (M == 0 || N == 0) return;
    if (w->dtype == SANA_DTYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, X, (int)K,
                    w->data, (int)K, beta, Y, (int)N);
        return;
    }
    int64_t chunk = SANA_MAX((int64_t)1, SANA_MIN(N, (int64_t)(WIDEN_CHUNK_FLOATS / (size_t)K)));
    float *Wf = sana_cpu_scratch(be, (size_t)chunk * (size_t)K);
    if (!Wf) return;
    const size_t esize = sana_dtype_size(w->dtype);
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
        int64_t nc = SANA_MIN(chunk, N - n0);
#pragma omp parallel for
        for (int64_t r = 0; r < nc; r++)
            sana_widen_to_f32(Wf + r * K, (const char *)w->data + (size_t)(n0 + r) * (size_t)K * esize,
                              w->dtype, (size_t)K);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)nc, (int)K, 1.0f, X, (int)K,
                    Wf, (int)K, beta, Y + n0, (int)N);
    }
}

// ------------------------------------------------------------------------------------------------
// Norms

static void cpu_layer_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                           const sana_tensor *w, const sana_tensor *b, float eps) {
    const int64_t R = sana_tensor_rows(x), D = sana_tensor_dim(x, -1);
    float *wo, *bo;
    const float *W = sana_cpu_as_f32(be, w, &wo), *B = sana_cpu_as_f32(be, b, &bo);
    if ((w && !W) || (b && !B)) goto done;
#pragma omp parallel for
    for (int64_t r = 0; r < R; r++) {
        const float *xr = (const float *)x->data + r * D;
        float *yr = (float *)y->data + r * D;
        double s = 0, ss = 0;
        for (int64_t i = 0; i < D; i++) s += xr[i];
        double mean = s / (double)D;
        for (int64_t i = 0; i < D; i++) ss += (xr[i] - mean) * (xr[i] - mean);
        float m = (float)mean, rstd = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
        for (int64_t i = 0; i < D; i++) {
            float v = (xr[i] - m) * rstd;
            if (W) v = v * W[i];
            if (B) v = v + B[i];
            yr[i] = v;
        }
    }
done:
    free(wo);
    free(bo);
}

static void cpu_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                         float eps, bool add_one) {
    const int64_t R = sana_tensor_rows(x), D = sana_tensor_dim(x, -1);
    float *wo;
    const float *W = sana_cpu_as_f32(be, w, &wo);
    if (w && !W) return;
#pragma omp parallel for
    for (int64_t r = 0; r < R; r++) {
        const float *xr = (const float *)x->data + r * D;
        float *yr = (float *)y->data + r * D;
        double ss = 0;
        for (int64_t i = 0; i < D; i++) ss += (double)xr[i] * xr[i];
        float rs = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
        for (int64_t i = 0; i < D; i++) {
            float v = xr[i] * rs;
            if (W) v = v * (add_one ? 1.0f + W[i] : W[i]);
            yr[i] = v;
        }
    }
    free(wo);
}

static void cpu_layer_norm_modulate(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                    const sana_tensor *mod, int shift_row, int scale_row, float eps) {
    (void)be;
    const int64_t B = x->shape[0], N = x->shape[1], D = x->shape[2], R = mod->shape[1];
#pragma omp parallel for collapse(2)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t n = 0; n < N; n++) {
            const float *xr = (const float *)x->data + (bi * N + n) * D;
            const float *shift = (const float *)mod->data + (bi * R + shift_row) * D;
            const float *scale = (const float *)mod->data + (bi * R + scale_row) * D;
            float *yr = (float *)y->data + (bi * N + n) * D;
            double s = 0, ss = 0;
            for (int64_t i = 0; i < D; i++) s += xr[i];
            double mean = s / (double)D;
            for (int64_t i = 0; i < D; i++) ss += (xr[i] - mean) * (xr[i] - mean);
            float m = (float)mean, rstd = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
            for (int64_t i = 0; i < D; i++) yr[i] = ((xr[i] - m) * rstd) * (1.0f + scale[i]) + shift[i];
        }
}

// ------------------------------------------------------------------------------------------------
// Elementwise

static void cpu_add_gated(sana_backend *be, sana_tensor *x, const sana_tensor *y,
                          const sana_tensor *mod, int gate_row) {
    (void)be;
    const int64_t B = x->shape[0], N = x->shape[1], D = x->shape[2], R = mod->shape[1];
#pragma omp parallel for collapse(2)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t n = 0; n < N; n++) {
            float *xr = (float *)x->data + (bi * N + n) * D;
            const float *yr = (const float *)y->data + (bi * N + n) * D;
            const float *g = (const float *)mod->data + (bi * R + gate_row) * D;
            for (int64_t i = 0; i < D; i++) xr[i] = xr[i] + g[i] * yr[i];
        }
}

static void cpu_binary(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b,
                       bool mul) {
    const int64_t n = sana_tensor_numel(a), nb = sana_tensor_numel(b);
    float *bo;
    const float *B = sana_cpu_as_f32(be, b, &bo);
    if (!B) return;
    const float *A = a->data;
    float *Y = y->data;
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) Y[i] = mul ? A[i] * B[i % nb] : A[i] + B[i % nb];
    free(bo);
}

static void cpu_add(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b) {
    cpu_binary(be, y, a, b, false);
}

static void cpu_mul(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b) {
    cpu_binary(be, y, a, b, true);
}

static void cpu_axpby(sana_backend *be, sana_tensor *y, float alpha, const sana_tensor *a, float beta,
                      const sana_tensor *b) {
    (void)be;
    const int64_t n = sana_tensor_numel(a);
    const float *A = a->data, *B = b ? b->data : NULL;
    float *Y = y->data;
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) Y[i] = B ? alpha * A[i] + beta * B[i] : alpha * A[i];
}

static void cpu_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act) {
    (void)be;
    const int64_t n = sana_tensor_numel(x);
    const float *X = x->data;
    float *Y = y->data;
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) Y[i] = act_f(X[i], act);
}

static void cpu_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act) {
    (void)be;
    const int64_t M = sana_tensor_rows(y), F = sana_tensor_dim(y, -1);
#pragma omp parallel for
    for (int64_t m = 0; m < M; m++) {
        const float *xr = (const float *)x->data + m * 2 * F;
        float *yr = (float *)y->data + m * F;
        for (int64_t f = 0; f < F; f++) yr[f] = xr[f] * act_f(xr[F + f], act);
    }
}

// ------------------------------------------------------------------------------------------------
// Layout and convolution

// acc (C) = bias + the 3x3 taps (zero padding) of channels-last x (B, H*W, C) around pixel
// (bi, py, px), w (C, 1, 3, 3): tap by tap, every channel at once.
static void dw_taps(float *acc, const float *x, const float *Wt, const float *Bs, int64_t C, int64_t H, int64_t W,
                    int64_t bi, int64_t py, int64_t px) {
    for (int64_t c = 0; c < C; c++) acc[c] = Bs ? Bs[c] : 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        int64_t sy = py + ky - 1;
        if (sy < 0 || sy >= H) continue;
        for (int kx = 0; kx < 3; kx++) {
            int64_t sx = px + kx - 1;
            if (sx < 0 || sx >= W) continue;
            const float *xr = x + ((bi * H + sy) * W + sx) * C;
            for (int64_t c = 0; c < C; c++) acc[c] += Wt[c * 9 + ky * 3 + kx] * xr[c];
        }
    }
}

static void cpu_dwconv3x3(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                          const sana_tensor *b, int H, int W) {
    const int64_t B = x->shape[0], C = x->shape[2];
    float *wo, *bo;
    const float *Wt = sana_cpu_as_f32(be, w, &wo), *Bs = sana_cpu_as_f32(be, b, &bo);
    if (!Wt || (b && !Bs)) goto done;
#pragma omp parallel for collapse(2)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++)
                dw_taps((float *)y->data + ((bi * H + py) * W + px) * C, x->data, Wt, Bs, C, H, W, bi, py, px);
done:
    free(wo);
    free(bo);
}

// act_in into the scratch (one pass), then per pixel the depthwise sums of all 2F channels into a
// row buffer (as cpu_dwconv3x3) and the gated half into y (as cpu_glu).
static void cpu_dwconv3x3_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                              const sana_tensor *b, int H, int W, sana_act act_in, sana_act act_gate) {
    const int64_t B = x->shape[0], C = x->shape[2], F = C / 2, n = sana_tensor_numel(x);
    float *wo = NULL, *bo = NULL;
    const float *Wt = sana_cpu_as_f32(be, w, &wo), *Bs = sana_cpu_as_f32(be, b, &bo);
    float *z = sana_cpu_scratch(be, (size_t)n);
    if (!Wt || (b && !Bs) || !z) goto done;
    const float *X = x->data;
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) z[i] = act_f(X[i], act_in);
#pragma omp parallel
    {
        float *acc = malloc((size_t)C * sizeof *acc);
#pragma omp for collapse(2)
        for (int64_t bi = 0; bi < B; bi++)
            for (int64_t py = 0; py < H; py++)
                for (int64_t px = 0; px < W && acc; px++) {
                    dw_taps(acc, z, Wt, Bs, C, H, W, bi, py, px);
                    float *yr = (float *)y->data + ((bi * H + py) * W + px) * F;
                    for (int64_t f = 0; f < F; f++) yr[f] = acc[f] * act_f(acc[F + f], act_gate);
                }
        if (!acc) sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of memory for a row of %lld floats", (long long)C);
        free(acc);
    }
done:
    free(wo);
    free(bo);
}

static void cpu_transpose(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    (void)be;
    const int64_t B = x->shape[0], R = x->shape[1], C = x->shape[2], T = 32;
#pragma omp parallel for collapse(3)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t r0 = 0; r0 < R; r0 += T)
            for (int64_t c0 = 0; c0 < C; c0 += T) {
                const float *X = (const float *)x->data + bi * R * C;
                float *Y = (float *)y->data + bi * R * C;
                for (int64_t r = r0; r < SANA_MIN(r0 + T, R); r++)
                    for (int64_t c = c0; c < SANA_MIN(c0 + T, C); c++) Y[c * R + r] = X[r * C + c];
            }
}

// ------------------------------------------------------------------------------------------------
// Attention

static void cpu_linear_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q,
                                 const sana_tensor *k, const sana_tensor *v, int heads, float eps) {
    const int64_t B = q->shape[0], N = q->shape[1], D = q->shape[2], d = D / heads;
    float *S_all = malloc((size_t)(B * heads * (d + 1) * d) * sizeof(float));
    if (!S_all) {
        sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of memory in linear attention");
        return;
    }
#pragma omp parallel for collapse(2)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t h = 0; h < heads; h++) {
            // S (d+1, d) = [V; 1] relu(K): S[i][j] = sum_n v[n,i] k'[n,j], S[d][j] = sum_n k'[n,j]
            float *S = S_all + (bi * heads + h) * (d + 1) * d;
            memset(S, 0, (size_t)((d + 1) * d) * sizeof(float));
            for (int64_t n = 0; n < N; n++) {
                const float *kr = (const float *)k->data + (bi * N + n) * D + h * d;
                const float *vr = (const float *)v->data + (bi * N + n) * D + h * d;
                for (int64_t i = 0; i <= d; i++) {
                    float vi = i < d ? vr[i] : 1.0f;
                    float *Si = S + i * d;
                    for (int64_t j = 0; j < d; j++) Si[j] += vi * (kr[j] > 0.0f ? kr[j] : 0.0f);
                }
            }
            // O+ (d+1) = S q'_n per token; o = O+[:d] / (O+[d] + eps)
            float *acc = malloc((size_t)(d + 1) * sizeof(float)); // d is small (32)
            if (!acc) continue;
            for (int64_t n = 0; n < N; n++) {
                const float *qr = (const float *)q->data + (bi * N + n) * D + h * d;
                float *orow = (float *)o->data + (bi * N + n) * D + h * d;
                for (int64_t i = 0; i <= d; i++) {
                    const float *Si = S + i * d;
                    float s = 0.0f;
                    for (int64_t j = 0; j < d; j++) s += Si[j] * (qr[j] > 0.0f ? qr[j] : 0.0f);
                    acc[i] = s;
                }
                for (int64_t i = 0; i < d; i++) orow[i] = acc[i] / (acc[d] + eps);
            }
            free(acc);
        }
    free(S_all);
}

static void cpu_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q, const sana_tensor *k,
                          const sana_tensor *v, const sana_tensor *key_bias, const sana_attn_params *p) {
    const int64_t B = q->shape[0], Nq = q->shape[1], Nk = k->shape[1], dh = p->head_dim;
    const int64_t ldq = (int64_t)p->n_heads * dh, ldk = (int64_t)p->n_kv_heads * dh;
    const int group = p->n_heads / p->n_kv_heads;
    float *P = sana_cpu_scratch(be, (size_t)(Nq * Nk));
    if (!P) return;
    for (int64_t bi = 0; bi < B; bi++)
        for (int h = 0; h < p->n_heads; h++) {
            const float *Q = (const float *)q->data + bi * Nq * ldq + h * dh;
            const float *K = (const float *)k->data + bi * Nk * ldk + (h / group) * dh;
            const float *V = (const float *)v->data + bi * Nk * ldk + (h / group) * dh;
            float *O = (float *)o->data + bi * Nq * ldq + h * dh;
            // P (Nq, Nk) = scale * Q K^T
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Nq, (int)Nk, (int)dh, p->scale, Q,
                        (int)ldq, K, (int)ldk, 0.0f, P, (int)Nk);
#pragma omp parallel for
            for (int64_t i = 0; i < Nq; i++) {
                float *row = P + i * Nk;
                const float *kb = key_bias ? (const float *)key_bias->data + bi * Nk : NULL;
                int64_t pos = i + p->q_offset;
                float mx = -INFINITY;
                for (int64_t j = 0; j < Nk; j++) {
                    bool visible = (!p->causal || j <= pos) && (p->window <= 0 || j > pos - p->window);
                    float l = row[j];
                    if (p->softcap > 0.0f) l = p->softcap * tanhf(l / p->softcap);
                    if (kb) l += kb[j];
                    row[j] = visible ? l : -INFINITY;
                    if (row[j] > mx) mx = row[j];
                }
                double sum = 0;
                for (int64_t j = 0; j < Nk; j++) {
                    float e = mx == -INFINITY ? 0.0f : expf(row[j] - mx);
                    row[j] = e;
                    sum += e;
                }
                float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
                for (int64_t j = 0; j < Nk; j++) row[j] *= inv;
            }
            // O (Nq, dh) = P V
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Nq, (int)dh, (int)Nk, 1.0f, P,
                        (int)Nk, V, (int)ldk, 0.0f, O, (int)ldq);
        }
}

static void cpu_timestep_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *t,
                                   float max_period) {
    (void)be;
    const int64_t B = y->shape[0], half = y->shape[1] / 2;
    const float neg_log = -logf(max_period);
    for (int64_t bi = 0; bi < B; bi++) {
        float tv = ((const float *)t->data)[bi];
        float *yr = (float *)y->data + bi * 2 * half;
        for (int64_t i = 0; i < half; i++) {
            float e = expf(neg_log * (float)i / (float)half);
            float a = tv * e;
            yr[i] = cosf(a);
            yr[half + i] = sinf(a);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Memory

// Each block carries its size in the 256 bytes before it (for the memory slot).
static void *cpu_alloc(sana_backend *be, size_t bytes) {
    size_t n = ((bytes + 255) & ~(size_t)255) + 256;
    char *p = aligned_alloc(256, n);
    if (!p) {
        sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of memory allocating %zu MB", bytes >> 20);
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    cpu_count(be->ctx, n, 0);
    return p + 256;
}

static void cpu_dealloc(sana_backend *be, void *ptr) {
    if (!ptr) return;
    char *p = (char *)ptr - 256;
    size_t n;
    memcpy(&n, p, sizeof n);
    cpu_count(be->ctx, 0, n);
    free(p);
}

static void cpu_timer_mark(sana_backend *be, int slot) {
    cpu_ctx *c = be->ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (slot >= 0 && slot < SANA_TIMER_SLOTS) c->marks[slot] = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_timer_ms(sana_backend *be, int a, int b) {
    cpu_ctx *c = be->ctx;
    if (a < 0 || b < 0 || a >= SANA_TIMER_SLOTS || b >= SANA_TIMER_SLOTS || c->marks[a] < 0 || c->marks[b] < 0)
        return -1.0;
    return c->marks[b] - c->marks[a];
}

static void cpu_memory(sana_backend *be, sana_backend_memory *m) {
    cpu_ctx *c = be->ctx;
    *m = (sana_backend_memory){.held = c->held, .peak = c->peak};
}

static void cpu_reset_peak(sana_backend *be) {
    cpu_ctx *c = be->ctx;
    c->peak = c->held;
}

static void cpu_upload(sana_backend *be, sana_tensor *dst, const void *host) {
    (void)be;
    memcpy(dst->data, host, sana_tensor_nbytes(dst));
}

static void cpu_download(sana_backend *be, void *host, const sana_tensor *src) {
    (void)be;
    memcpy(host, src->data, sana_tensor_nbytes(src));
}

static void cpu_copy(sana_backend *be, sana_tensor *dst, const sana_tensor *src) {
    (void)be;
    memmove(dst->data, src->data, sana_tensor_nbytes(src));
}

// The CPU reads weights where they lie (mmapped), in their stored dtype.
static sana_status cpu_weight(sana_backend *be, const sana_tensor *host, sana_weight_use use,
                              sana_tensor *out, sana_error *err) {
    (void)be, (void)use, (void)err;
    *out = *host;
    return SANA_OK;
}

static void cpu_sync(sana_backend *be) { (void)be; }

static void cpu_free(sana_backend *be) {
    cpu_ctx *c = be->ctx;
    free(c->scratch);
    free(c);
    free(be);
}

static const sana_backend_i cpu_i = {
    .name = "cpu",
    .free = cpu_free,
    .alloc = cpu_alloc,
    .dealloc = cpu_dealloc,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .weight = cpu_weight,
    .sync = cpu_sync,
    .timer_mark = cpu_timer_mark,
    .timer_ms = cpu_timer_ms,
    .memory = cpu_memory,
    .reset_peak = cpu_reset_peak,
    .ops =
        {
#define CPU_SLOT(name) .name = cpu_##name,
            SANA_OPS(CPU_SLOT)
#undef CPU_SLOT
        },
};

sana_status sana_backend_cpu_new(int threads, sana_backend **out, sana_error *err) {
    *out = NULL;
    sana_backend *be = calloc(1, sizeof *be);
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "cpu: out of memory creating the backend");
    }
    if (threads > 0) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
    }
    for (int i = 0; i < SANA_TIMER_SLOTS; i++) c->marks[i] = -1.0;
    be->i = &cpu_i;
    be->ctx = c;
    *out = be;
    return SANA_OK;
}
