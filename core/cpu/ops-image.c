// ops-image.c: the CPU's image (NCHW) ops other than convolution: per-pixel channel norms,
// pixel (un)shuffle shortcuts, DC-AE's packed ReLU linear attention, tile blending and window
// copies. Semantics on the slots in backend.h; plain loops with OpenMP, the attention's two
// products per head through OpenBLAS.
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../image.h"
#include "cpu.h"

int64_t sana_cpu_par_work = (int64_t)1 << 16;

// Pixels per block of the channel norms: the statistics of a block are gathered over all
// channels with unit-stride reads (NCHW keeps a pixel's channels H*W apart).
#define NORM_BLOCK 256

// y = x / sqrt(mean_c x^2 + eps) * w + b (+ r), per pixel; mean of squares in double.
void cpu_channel_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                          const sana_tensor *w, const sana_tensor *b, const sana_tensor *r,
                          float eps) {
    const int64_t B = x->shape[0], C = x->shape[1], S = x->shape[2] * x->shape[3];
    float *wo, *bo;
    const float *Wt = sana_cpu_as_f32(be, w, &wo), *Bs = sana_cpu_as_f32(be, b, &bo);
    if (!Wt || !Bs) goto done;
    const int64_t nblk = (S + NORM_BLOCK - 1) / NORM_BLOCK;
#pragma omp parallel for collapse(2) if (B * C * S >= sana_cpu_par_work)
    for (int64_t n = 0; n < B; n++)
        for (int64_t blk = 0; blk < nblk; blk++) {
            const int64_t s0 = blk * NORM_BLOCK, ns = SANA_MIN((int64_t)NORM_BLOCK, S - s0);
            const float *X = (const float *)x->data + n * C * S + s0;
            const float *Rr = r ? (const float *)r->data + n * C * S + s0 : NULL;
            float *Y = (float *)y->data + n * C * S + s0;
            double ss[NORM_BLOCK];
            float rs[NORM_BLOCK];
            for (int64_t s = 0; s < ns; s++) ss[s] = 0.0;
            for (int64_t c = 0; c < C; c++)
                for (int64_t s = 0; s < ns; s++) ss[s] += (double)X[c * S + s] * X[c * S + s];
            for (int64_t s = 0; s < ns; s++) rs[s] = (float)(1.0 / sqrt(ss[s] / (double)C + (double)eps));
            for (int64_t c = 0; c < C; c++)
                for (int64_t s = 0; s < ns; s++) {
                    float v = X[c * S + s] * rs[s] * Wt[c] + Bs[c];
                    Y[c * S + s] = Rr ? v + Rr[c * S + s] : v;
                }
        }
done:
    free(wo);
    free(bo);
}

// y = (x - mean) / sqrt(var + eps) * w + b (+ r) per channel, as x * alpha + beta.
void cpu_batch_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *mean,
                    const sana_tensor *var, const sana_tensor *w, const sana_tensor *b,
                    const sana_tensor *r, float eps) {
    const int64_t B = x->shape[0], C = x->shape[1], S = x->shape[2] * x->shape[3];
    float *o[4];
    const float *M = sana_cpu_as_f32(be, mean, &o[0]), *V = sana_cpu_as_f32(be, var, &o[1]);
    const float *Wt = sana_cpu_as_f32(be, w, &o[2]), *Bs = sana_cpu_as_f32(be, b, &o[3]);
    if (!M || !V || !Wt || !Bs) goto done;
#pragma omp parallel for collapse(2) if (B * C * S >= sana_cpu_par_work)
    for (int64_t n = 0; n < B; n++)
        for (int64_t c = 0; c < C; c++) {
            const double alpha = (double)Wt[c] / sqrt((double)V[c] + (double)eps);
            const float a = (float)alpha, be_ = (float)((double)Bs[c] - (double)M[c] * alpha);
            const float *X = (const float *)x->data + (n * C + c) * S;
            const float *Rr = r ? (const float *)r->data + (n * C + c) * S : NULL;
            float *Y = (float *)y->data + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) {
                float v = X[s] * a + be_;
                Y[s] = Rr ? v + Rr[s] : v;
            }
        }
done:
    for (int i = 0; i < 4; i++) free(o[i]);
}

// y[n, o, r*i + u, r*j + v] (+)= x[n, (o*r*r + u*r + v) / repeats, i, j]
void cpu_pixel_shuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int repeats,
                       bool accumulate) {
    (void)be;
    const int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Co = y->shape[1], Ho = H * r, Wo = W * r;
#pragma omp parallel for collapse(3) if (B * Co * Ho * Wo >= sana_cpu_par_work)
    for (int64_t n = 0; n < B; n++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t yy = 0; yy < Ho; yy++) {
                const int64_t i = yy / r, u = yy % r;
                float *Y = (float *)y->data + ((n * Co + o) * Ho + yy) * Wo;
                for (int64_t xx = 0; xx < Wo; xx++) {
                    const int64_t j = xx / r, v = xx % r;
                    const int64_t c = (o * r * r + u * r + v) / repeats;
                    const float s = ((const float *)x->data)[((n * C + c) * H + i) * W + j];
                    Y[xx] = accumulate ? Y[xx] + s : s;
                }
            }
}

// y[n, o, i, j] (+)= (1/group) sum_t x[n, q / r^2, r*i + (q % r^2) / r, r*j + q % r], q = o*group + t
void cpu_pixel_unshuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int group,
                         bool accumulate) {
    (void)be;
    const int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Co = y->shape[1], Ho = H / r, Wo = W / r, rr = (int64_t)r * r;
#pragma omp parallel for collapse(3) if (B * C * H * W >= sana_cpu_par_work)
    for (int64_t n = 0; n < B; n++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t i = 0; i < Ho; i++) {
                float *Y = (float *)y->data + ((n * Co + o) * Ho + i) * Wo;
                for (int64_t j = 0; j < Wo; j++) {
                    float sum = 0.0f;
                    for (int64_t t = 0; t < group; t++) {
                        const int64_t q = o * group + t, c = q / rr, u = (q % rr) / r, v = q % r;
                        sum += ((const float *)x->data)[((n * C + c) * H + r * i + u) * W + r * j + v];
                    }
                    const float m = sum / (float)group;
                    Y[j] = accumulate ? Y[j] + m : m;
                }
            }
}

// Per head: S (d+1, d) = [v; 1] relu(k)^T, O (d+1, N) = S relu(q), o = O[:d] / (O[d] + eps).
// Heads are shared between the threads, each with its own buffers and single-threaded sgemm.
void cpu_linear_attention_packed(sana_backend *be, sana_tensor *o, const sana_tensor *qkv,
                                 int head_dim, float eps) {
    const int64_t B = qkv->shape[0], G = qkv->shape[1] / (3 * head_dim);
    const int64_t N = qkv->shape[2] * qkv->shape[3], d = head_dim;
    const int64_t per_thread = (3 * d + 1) * N + (d + 1) * d; // relu(q), relu(k), O, S
    float *buf = sana_cpu_scratch(be, (size_t)(omp_get_max_threads() * per_thread));
    if (!buf) return;
#pragma omp parallel if (B * G * 2 * (d + 1) * d * N / 64 >= sana_cpu_par_work)
    {
        float *Qr = buf + (int64_t)omp_get_thread_num() * per_thread, *Kr = Qr + d * N, *O = Kr + d * N;
        float *S = O + (d + 1) * N;
#pragma omp for schedule(dynamic)
        for (int64_t hg = 0; hg < B * G; hg++) {
            const float *q = (const float *)qkv->data + hg * 3 * d * N;
            const float *k = q + d * N, *v = k + d * N;
            float *out = (float *)o->data + hg * d * N;
            for (int64_t i = 0; i < d * N; i++) {
                Qr[i] = q[i] > 0.0f ? q[i] : 0.0f;
                Kr[i] = k[i] > 0.0f ? k[i] : 0.0f;
            }
            // S[:d] = V Kr^T; S[d][j] = sum_m Kr[j, m] (the ones row of the padded value)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)N, 1.0f, v, (int)N, Kr,
                        (int)N, 0.0f, S, (int)d);
            for (int64_t j = 0; j < d; j++) {
                float s = 0.0f;
                for (int64_t m = 0; m < N; m++) s += Kr[j * N + m];
                S[d * d + j] = s;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(d + 1), (int)N, (int)d, 1.0f, S, (int)d,
                        Qr, (int)N, 0.0f, O, (int)N);
            for (int64_t m = 0; m < N; m++) O[d * N + m] += eps;
            for (int64_t i = 0; i < d; i++)
                for (int64_t m = 0; m < N; m++) out[i * N + m] = O[i * N + m] / O[d * N + m];
        }
    }
}

// In place on b: b[.., t, ..] = a[.., La - e + t, ..] * (float)(1 - t/e) + b[.., t, ..] * (float)(t/e)
void cpu_blend(sana_backend *be, sana_tensor *b, const sana_tensor *a, int axis, int extent) {
    (void)be;
    const int64_t P = b->shape[0] * b->shape[1];
    const int64_t Ha = a->shape[2], Wa = a->shape[3], Hb = b->shape[2], Wb = b->shape[3];
#pragma omp parallel for if (P * extent * (axis == 2 ? Wb : Hb) >= sana_cpu_par_work)
    for (int64_t p = 0; p < P; p++) {
        const float *A = (const float *)a->data + p * Ha * Wa;
        float *Bp = (float *)b->data + p * Hb * Wb;
        for (int t = 0; t < extent; t++) {
            const double f = (double)t / (double)extent;
            const float wa = (float)(1.0 - f), wb = (float)f;
            if (axis == 2) {
                const float *ar = A + (Ha - extent + t) * Wa;
                float *br = Bp + (int64_t)t * Wb;
                for (int64_t j = 0; j < Wb; j++) br[j] = ar[j] * wa + br[j] * wb;
            } else {
                for (int64_t i = 0; i < Hb; i++) {
                    float *bv = Bp + i * Wb + t;
                    *bv = A[i * Wa + Wa - extent + t] * wa + *bv * wb;
                }
            }
        }
    }
}

void cpu_copy2d(sana_backend *be, sana_tensor *dst, int dy, int dx, const sana_tensor *src, int sy,
                int sx, int h, int w) {
    (void)be;
    const int64_t P = dst->shape[0] * dst->shape[1];
    const int64_t Hd = dst->shape[2], Wd = dst->shape[3], Hs = src->shape[2], Ws = src->shape[3];
#pragma omp parallel for collapse(2) if (P * h * w >= sana_cpu_par_work)
    for (int64_t p = 0; p < P; p++)
        for (int64_t i = 0; i < h; i++)
            memcpy((float *)dst->data + (p * Hd + dy + i) * Wd + dx,
                   (const float *)src->data + (p * Hs + sy + i) * Ws + sx, (size_t)w * sizeof(float));
}

void cpu_to_rgb8(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    (void)be;
    const int64_t B = x->shape[0], H = x->shape[2], W = x->shape[3];
    for (int64_t b = 0; b < B; b++)
        sana_image_to_rgb8((uint8_t *)y->data + b * H * W * 3, (const float *)x->data + b * 3 * H * W, (int)H, (int)W);
}

void cpu_channel_bias_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *b, sana_act act) {
    const int64_t P = x->shape[0] * x->shape[1], C = x->shape[1], S = x->shape[2] * x->shape[3];
    float *owned;
    const float *bias = sana_cpu_as_f32(be, b, &owned);
    if (!bias) return;
    const float *X = x->data;
    float *Y = y->data;
#pragma omp parallel for if (P * S >= sana_cpu_par_work)
    for (int64_t p = 0; p < P; p++)
        for (int64_t i = 0; i < S; i++) Y[p * S + i] = act_f(X[p * S + i] + bias[p % C], act);
    free(owned);
}
