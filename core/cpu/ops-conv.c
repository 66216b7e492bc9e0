// ops-conv.c: 2-D convolution on the CPU (the conv2d slot of backend.h), NCHW, fp32.
//
// Dense and grouped convolutions are GEMMs through OpenBLAS: per group, y (Co/g, pixels) =
// w (Co/g, Ci/g*kh*kw) x col (Ci/g*kh*kw, pixels), where col is the im2col matrix of a band of
// output rows, so the scratch stays bounded (sana_cpu_conv_col_floats) at any image size. A 1x1 convolution
// with stride 1 needs no im2col: the input is already the (Ci, pixels) matrix. The nearest
// upsampling in front of the convolution (DC-AE's up blocks) is folded into the im2col
// addressing, so the upsampled image is never materialised. Depthwise convolutions (groups ==
// channels) are direct loops over each plane, vectorised along rows.
//
// In place (y == x, stride 1, same shape): output band [y0, y0+R) overwrites input rows that
// the next band still reads (its top halo); those rows are saved before the band's GEMM and
// read from the saved copy. Depthwise planes are copied before they are overwritten.
//
// Weights are widened from their stored dtype (bf16 in the published checkpoints) into the
// backend's scratch once per call: one layer, never the model.
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

// Floats of im2col per band: 24 MB. Large enough that the GEMM's pixel dimension stays in the
// hundreds even at K = 1024*9, small enough to stay a fixed cost beside the activations.
// Tests lower it to force many bands (one output row each) on small images.
size_t sana_cpu_conv_col_floats = (size_t)6 << 20;

typedef struct conv_geom {
    int64_t Ci, H, W;     // input
    int64_t Co, Ho, Wo;   // output
    int64_t kh, kw, K;    // kernel; K = Ci/groups * kh * kw
    int64_t Cig, Cog;     // channels per group
    int stride, pad, up;  // up: nearest upsampling factor of the input
    int64_t Hu, Wu;       // upsampled input size
} conv_geom;

// The rows of one sample's input, with the halo of an in-place band: rows below `halo_y0 + pad`
// come from `halo` (Ci, pad, W) when it is set.
typedef struct conv_src {
    const float *x;     // (Ci, H, W)
    const float *halo;  // (Ci, pad, W) copy of input rows [halo_y0, halo_y0 + pad), or NULL
    int64_t halo_y0;
} conv_src;

static inline const float *src_row(const conv_geom *g, const conv_src *s, int64_t c, int64_t r) {
    if (s->halo && r < s->halo_y0 + g->pad)
        return s->halo + (c * g->pad + (r - s->halo_y0)) * g->W;
    return s->x + (c * g->H + r) * g->W;
}

// col (K, R*Wo) for output rows [y0, y0+R) and the input channels [c0, c0 + Cig).
static void im2col(float *col, const conv_geom *g, const conv_src *s, int64_t c0, int64_t y0,
                   int64_t R) {
    const int64_t Wo = g->Wo, N = R * Wo, kk = g->kh * g->kw;
#pragma omp parallel for
    for (int64_t k = 0; k < g->K; k++) {
        const int64_t c = c0 + k / kk, dy = (k % kk) / g->kw, dx = k % g->kw;
        float *crow = col + k * N;
        for (int64_t i = 0; i < R; i++) {
            float *dst = crow + i * Wo;
            const int64_t sy = (y0 + i) * g->stride + dy - g->pad; // row in the upsampled input
            if (sy < 0 || sy >= g->Hu) {
                memset(dst, 0, (size_t)Wo * sizeof(float));
                continue;
            }
            const float *row = src_row(g, s, c, sy / g->up);
            if (g->stride == 1 && g->up == 1) {
                // dst[j] = row[j + dx - pad] where that is inside [0, W)
                const int64_t j0 = SANA_MAX((int64_t)0, g->pad - dx);
                const int64_t j1 = SANA_MIN(Wo, g->W + g->pad - dx);
                if (j0 > 0) memset(dst, 0, (size_t)SANA_MIN(j0, Wo) * sizeof(float));
                if (j1 > j0) memcpy(dst + j0, row + j0 + dx - g->pad, (size_t)(j1 - j0) * sizeof(float));
                if (j1 < Wo) {
                    const int64_t z0 = SANA_MAX(j1, (int64_t)0);
                    memset(dst + z0, 0, (size_t)(Wo - z0) * sizeof(float));
                }
            } else if (g->stride == 1 && g->up == 2) {
                for (int64_t j = 0; j < Wo; j++) {
                    const int64_t sx = j + dx - g->pad;
                    dst[j] = (sx >= 0 && sx < g->Wu) ? row[sx >> 1] : 0.0f;
                }
            } else {
                for (int64_t j = 0; j < Wo; j++) {
                    const int64_t sx = j * g->stride + dx - g->pad;
                    dst[j] = (sx >= 0 && sx < g->Wu) ? row[sx / g->up] : 0.0f;
                }
            }
        }
    }
}

// Fills rows [y0, y0+R) of channels [o0, o0+n) of one sample's output with the bias (or 0).
static void fill_bias(float *y, const conv_geom *g, const float *bias, int64_t o0, int64_t n,
                      int64_t y0, int64_t R) {
#pragma omp parallel for
    for (int64_t o = o0; o < o0 + n; o++) {
        float *d = y + (o * g->Ho + y0) * g->Wo;
        const float v = bias ? bias[o] : 0.0f;
        for (int64_t t = 0; t < R * g->Wo; t++) d[t] = v;
    }
}

static void widen(float *dst, const sana_tensor *t) {
    const size_t n = (size_t)sana_tensor_numel(t), chunk = (size_t)1 << 16;
    const size_t es = sana_dtype_size(t->dtype);
#pragma omp parallel for
    for (size_t i = 0; i < n; i += chunk)
        sana_widen_to_f32(dst + i, (const char *)t->data + i * es, t->dtype, SANA_MIN(chunk, n - i));
}

// Depthwise, stride 1, no upsampling: y[c] = b[c] + sum w[c, dy, dx] x[c, i+dy-p, j+dx-p].
static void conv_depthwise(sana_backend *be, const conv_geom *g, int64_t B, float *Y,
                           const float *X, const float *Wf, const float *bias) {
    const int64_t HW = g->H * g->W, planes = B * g->Co;
    const bool inplace = Y == X;
    bool failed = false;
#pragma omp parallel
    {
        float *copy = inplace ? malloc((size_t)HW * sizeof(float)) : NULL;
        if (inplace && !copy) {
#pragma omp atomic write
            failed = true;
        }
#pragma omp for
        for (int64_t pl = 0; pl < planes; pl++) {
            if (inplace && !copy) continue;
            const int64_t c = pl % g->Co;
            const float *src = X + pl * HW;
            float *dst = Y + pl * g->Ho * g->Wo;
            if (inplace) {
                memcpy(copy, src, (size_t)HW * sizeof(float));
                src = copy;
            }
            const float *wc = Wf + c * g->kh * g->kw;
            const float bv = bias ? bias[c] : 0.0f;
            for (int64_t i = 0; i < g->Ho; i++) {
                float *drow = dst + i * g->Wo;
                for (int64_t j = 0; j < g->Wo; j++) drow[j] = bv;
                for (int64_t dy = 0; dy < g->kh; dy++) {
                    const int64_t sy = i + dy - g->pad;
                    if (sy < 0 || sy >= g->H) continue;
                    const float *srow = src + sy * g->W;
                    for (int64_t dx = 0; dx < g->kw; dx++) {
                        const float wv = wc[dy * g->kw + dx];
                        const int64_t j0 = SANA_MAX((int64_t)0, g->pad - dx);
                        const int64_t j1 = SANA_MIN(g->Wo, g->W + g->pad - dx);
                        const float *s = srow + dx - g->pad;
                        for (int64_t j = j0; j < j1; j++) drow[j] += wv * s[j];
                    }
                }
            }
        }
        free(copy);
    }
    if (failed) sana_backend_fail(be, SANA_STATUS_NO_MEMORY, "out of memory in an in-place depthwise convolution");
}

void cpu_conv2d(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                const sana_tensor *b, int stride, int padding, int groups, int upsample) {
    conv_geom g = {
        .Ci = x->shape[1], .H = x->shape[2], .W = x->shape[3],
        .Co = y->shape[1], .Ho = y->shape[2], .Wo = y->shape[3],
        .kh = w->shape[2], .kw = w->shape[3],
        .stride = stride, .pad = padding, .up = upsample,
    };
    g.Cig = g.Ci / groups;
    g.Cog = g.Co / groups;
    g.K = g.Cig * g.kh * g.kw;
    g.Hu = g.H * upsample;
    g.Wu = g.W * upsample;
    const int64_t B = x->shape[0];
    const bool inplace = y->data == x->data;
    const bool depthwise = g.Cig == 1 && g.Cog == 1 && stride == 1 && upsample == 1;
    const bool direct_1x1 = g.kh == 1 && g.kw == 1 && stride == 1 && padding == 0 && upsample == 1 &&
                            !inplace;

    // Band rows: as many output rows as sana_cpu_conv_col_floats of im2col allow (at least one).
    int64_t R = g.Ho;
    if (!direct_1x1 && !depthwise)
        R = SANA_MAX((int64_t)1, SANA_MIN(g.Ho, (int64_t)(sana_cpu_conv_col_floats / (size_t)(g.K * g.Wo))));
    const size_t n_w = w->dtype == SANA_DTYPE_F32 ? 0 : (size_t)(g.Co * g.K);
    const size_t n_b = b && b->dtype != SANA_DTYPE_F32 ? (size_t)g.Co : 0;
    const size_t n_col = (direct_1x1 || depthwise) ? 0 : (size_t)(g.K * R * g.Wo);
    const size_t n_halo = (inplace && !depthwise) ? (size_t)(2 * g.Ci * padding * g.W) : 0;
    float *scratch = sana_cpu_scratch(be, n_w + n_b + n_col + n_halo + 1);
    if (!scratch) return;
    float *Wf = n_w ? scratch : w->data;
    float *bias = b ? (n_b ? scratch + n_w : b->data) : NULL;
    float *col = scratch + n_w + n_b;
    float *halo[2] = {col + n_col, col + n_col + n_halo / 2};
    if (n_w) widen(Wf, w);
    if (n_b) sana_widen_to_f32(bias, b->data, b->dtype, (size_t)g.Co);

    const int64_t in_sz = g.Ci * g.H * g.W, out_sz = g.Co * g.Ho * g.Wo;
    if (depthwise) {
        conv_depthwise(be, &g, B, y->data, x->data, Wf, bias);
        return;
    }
    for (int64_t n = 0; n < B; n++) {
        const float *X = (const float *)x->data + n * in_sz;
        float *Y = (float *)y->data + n * out_sz;
        if (direct_1x1) {
            fill_bias(Y, &g, bias, 0, g.Co, 0, g.Ho);
            for (int gi = 0; gi < groups; gi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.Cog, (int)(g.Ho * g.Wo),
                            (int)g.K, 1.0f, Wf + gi * g.Cog * g.K, (int)g.K, X + gi * g.Cig * g.H * g.W,
                            (int)(g.H * g.W), 1.0f, Y + gi * g.Cog * g.Ho * g.Wo, (int)(g.Ho * g.Wo));
            continue;
        }
        conv_src src = {.x = X};
        int cur = 0;
        for (int64_t y0 = 0; y0 < g.Ho; y0 += R) {
            const int64_t r = SANA_MIN(R, g.Ho - y0);
            if (inplace && padding > 0) {
                // Save the rows the next band reads above it, [y0 + r - pad, y0 + r), before this
                // band's output overwrites them; this band reads its own halo from halo[cur].
                float *next = halo[cur ^ 1];
                const int64_t h0 = y0 + r - padding;
#pragma omp parallel for
                for (int64_t c = 0; c < g.Ci; c++)
                    for (int64_t t = 0; t < padding; t++) {
                        const int64_t row = h0 + t;
                        float *d = next + (c * padding + t) * g.W;
                        if (row >= 0 && row < g.H) memcpy(d, src_row(&g, &src, c, row), (size_t)g.W * sizeof(float));
                        else memset(d, 0, (size_t)g.W * sizeof(float));
                    }
            }
            for (int gi = 0; gi < groups; gi++) {
                im2col(col, &g, &src, gi * g.Cig, y0, r);
                fill_bias(Y, &g, bias, gi * g.Cog, g.Cog, y0, r);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.Cog, (int)(r * g.Wo), (int)g.K,
                            1.0f, Wf + gi * g.Cog * g.K, (int)g.K, col, (int)(r * g.Wo), 1.0f,
                            Y + (gi * g.Cog * g.Ho + y0) * g.Wo, (int)(g.Ho * g.Wo));
            }
            if (inplace && padding > 0) {
                cur ^= 1;
                src.halo = halo[cur];
                src.halo_y0 = y0 + r - padding;
            }
        }
    }
}
