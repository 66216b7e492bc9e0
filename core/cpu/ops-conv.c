// ops-conv.c: 2-D convolution on the CPU (the conv2d slot of backend.h), NCHW, fp32.
//
// Dense and grouped convolutions are GEMMs through OpenBLAS: per group, y (Co/g, pixels) =
// [w | b] (Co/g, Ci/g*kh*kw + 1) x [col; 1] (Ci/g*kh*kw + 1, pixels), where col is the im2col
// matrix of a band of output rows (the bias rides along as a row of ones). Each thread takes
// whole bands and runs its own single-threaded sgemm on them (OpenBLAS goes single-threaded
// inside an OpenMP region), so the threads never wait on each other between im2col and GEMM and
// each band's col stays in that core's cache; the scratch per thread is bounded
// (sana_cpu_conv_col_floats) at any image size. A 1x1 convolution with stride 1 needs no
// im2col: the input is already the (Ci, pixels) matrix, multiplied in one threaded sgemm.
//
// Nearest x2 upsampling + 3x3 convolution (DC-AE's up blocks): each output pixel parity
// (2i+u, 2j+v) sees only a 2x2 window of the low-resolution input, with the 3x3 taps that land
// on the same input pixel summed (rows: u = 0 takes row i-1 with w[0] and row i with w[1]+w[2];
// u = 1 takes row i with w[0]+w[1] and row i+1 with w[2]; columns likewise). So the layer runs
// as four 2x2 convolutions on the low-resolution grid: 4 * 4 = 16 multiply-adds per input channel
// and output pixel quad instead of 4 * 9 = 36, and the 4x larger upsampled image is never formed.
// Other upsampling factors fold the upsampling into the im2col addressing.
//
// 3x3 convolutions with stride 1 and padding 1 (DC-AE's ResBlocks) use Winograd F(2x2, 3x3):
// 16 multiplies per 2x2 output tile and channel pair instead of 36; in place through the same
// bands as im2col.
//
// Depthwise convolutions (groups == channels) are direct loops over each plane, vectorised
// along rows.
//
// In place (y == x, stride 1, same shape): the image is cut into bands that threads take in any
// order; a prepass saves the rows each band's neighbours read across its edges, and inside a
// band the rows already overwritten above the current chunk come from a rolling copy (see
// conv_bands). 1x1 convolutions need no halo. Depthwise planes are copied before they are
// overwritten.
//
// Weights are widened from their stored dtype (bf16 in the published checkpoints) into the
// backend's scratch once per call: one layer, never the model.
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

// Floats of im2col per thread and band: 4 MB, a few output rows at DC-AE's widths. Tests lower
// it to force many bands (one output row each) on small images.
size_t sana_cpu_conv_col_floats = (size_t)1 << 20;

// Winograd (below) for 3x3 convolutions with at least this many input and output channels (the
// transforms do not pay for a 3-channel RGB output).
#define WINO_MIN_CHANNELS 8

typedef struct conv_geom {
    int64_t Ci, H, W;     // input
    int64_t Co, Ho, Wo;   // output
    int64_t kh, kw, K;    // kernel; K = Ci/groups * kh * kw
    int64_t kb;           // K + 1 with a bias row, else K
    int64_t Cig, Cog;     // channels per group
    int groups;
    int stride, pad, up;  // up: nearest upsampling factor of the input
    int64_t Hu, Wu;       // upsampled input size
} conv_geom;

// Where the rows of one sample's input come from: rows [lo, hi) from x, the `pad` rows above
// lo from `above` and the `pad` rows from hi on from `below` (copies, (Ci, pad, W) each),
// when those are set (in place, rows outside [lo, hi) may already hold output).
typedef struct conv_src {
    const float *x;     // (Ci, H, W)
    int64_t lo, hi;
    const float *above; // rows [lo - pad, lo), or NULL
    const float *below; // rows [hi, hi + pad), or NULL
} conv_src;

static inline const float *src_row(const conv_geom *g, const conv_src *s, int64_t c, int64_t r) {
    if (s->above && r < s->lo) return s->above + (c * g->pad + (r - (s->lo - g->pad))) * g->W;
    if (s->below && r >= s->hi) return s->below + (c * g->pad + (r - s->hi)) * g->W;
    return s->x + (c * g->H + r) * g->W;
}

// Copies rows [r0, r0 + pad) of all channels of x (zeros outside [0, H)) to dst (Ci, pad, W).
static void save_rows(float *dst, const conv_geom *g, const conv_src *s, int64_t r0) {
    for (int64_t c = 0; c < g->Ci; c++)
        for (int64_t k = 0; k < g->pad; k++) {
            float *d = dst + (c * g->pad + k) * g->W;
            if (r0 + k >= 0 && r0 + k < g->H) memcpy(d, src_row(g, s, c, r0 + k), (size_t)g->W * sizeof(float));
            else memset(d, 0, (size_t)g->W * sizeof(float));
        }
}

// col (kb, R*Wo) for output rows [y0, y0+R) and input channels [c0, c0 + Cig); with a bias,
// row K is all ones. Single-threaded (each thread builds its own band).
static void im2col(float *col, const conv_geom *g, const conv_src *s, int64_t c0, int64_t y0,
                   int64_t R) {
    const int64_t Wo = g->Wo, N = R * Wo, kk = g->kh * g->kw;
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
                const int64_t j0 = SANA_MIN(Wo, SANA_MAX((int64_t)0, g->pad - dx));
                const int64_t j1 = SANA_MAX(j0, SANA_MIN(Wo, g->W + g->pad - dx));
                memset(dst, 0, (size_t)j0 * sizeof(float));
                memcpy(dst + j0, row + j0 + dx - g->pad, (size_t)(j1 - j0) * sizeof(float));
                memset(dst + j1, 0, (size_t)(Wo - j1) * sizeof(float));
            } else {
                for (int64_t j = 0; j < Wo; j++) {
                    const int64_t sx = j * g->stride + dx - g->pad;
                    dst[j] = (sx >= 0 && sx < g->Wu) ? row[sx / g->up] : 0.0f;
                }
            }
        }
    }
    if (g->kb > g->K)
        for (int64_t n = 0; n < N; n++) col[g->K * N + n] = 1.0f;
}

// Wb (Co, kb) = [w (Co, K) | b]: the weights widened to fp32 with the bias as a last column.
static void widen_weights(float *Wb, const conv_geom *g, const sana_tensor *w, const float *bias) {
    const size_t es = sana_dtype_size(w->dtype);
#pragma omp parallel for if (g->Co * g->K >= sana_cpu_par_work)
    for (int64_t o = 0; o < g->Co; o++) {
        sana_widen_to_f32(Wb + o * g->kb, (const char *)w->data + (size_t)(o * g->K) * es, w->dtype, (size_t)g->K);
        if (g->kb > g->K) Wb[o * g->kb + g->K] = bias[o];
    }
}

// Single-threaded y (M, N; ldy) = A (M, kb) x B (kb, N).
static void gemm1(const float *A, const float *B, float *Y, int64_t M, int64_t N, int64_t kb, int64_t ldy) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)kb, 1.0f, A, (int)kb, B, (int)N, 0.0f,
                Y, (int)ldy);
}

// ------------------------------------------------------------------------------------------------
// Depthwise, stride 1, no upsampling: y[c] = b[c] + sum w[c, dy, dx] x[c, i+dy-p, j+dx-p].

static void conv_depthwise(sana_backend *be, const conv_geom *g, int64_t B, float *Y,
                           const float *X, const float *Wf, const float *bias) {
    const int64_t HW = g->H * g->W, planes = B * g->Co;
    const bool inplace = Y == X;
    bool failed = false;
#pragma omp parallel if (planes * HW * g->kh * g->kw >= sana_cpu_par_work)
    {
        float *copy = inplace ? malloc((size_t)HW * sizeof(float)) : NULL;
        if (inplace && !copy) {
#pragma omp atomic write
            failed = true;
        }
#pragma omp for schedule(dynamic, 4)
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

// ------------------------------------------------------------------------------------------------
// Nearest x2 + 3x3, padding 1, stride 1, one group: four 2x2 convolutions on the input grid.

// Which 3x3 taps fold onto window position a (0, 1) for output parity u: [first, last].
static const int fold_lo[2][2] = {{0, 1}, {0, 2}}, fold_hi[2][2] = {{0, 2}, {1, 2}};

// Wp (4, Co, kb4), kb4 = 4 Ci (+1): per parity (u, v) the summed taps, columns (c, a, b).
static void fold_weights(float *Wp, const conv_geom *g, const sana_tensor *w, const float *bias,
                         int64_t kb4) {
    const size_t es = sana_dtype_size(w->dtype);
#pragma omp parallel for if (g->Co * g->Ci * 9 >= sana_cpu_par_work)
    for (int64_t o = 0; o < g->Co; o++) {
        float k9[9];
        for (int64_t c = 0; c < g->Ci; c++) {
            sana_widen_to_f32(k9, (const char *)w->data + (size_t)((o * g->Ci + c) * 9) * es, w->dtype, 9);
            for (int u = 0; u < 2; u++)
                for (int v = 0; v < 2; v++)
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) {
                            float s = 0.0f;
                            for (int dy = fold_lo[u][a]; dy <= fold_hi[u][a]; dy++)
                                for (int dx = fold_lo[v][b]; dx <= fold_hi[v][b]; dx++) s += k9[dy * 3 + dx];
                            Wp[((int64_t)(u * 2 + v) * g->Co + o) * kb4 + (c * 2 + a) * 2 + b] = s;
                        }
        }
        if (bias)
            for (int p = 0; p < 4; p++) Wp[((int64_t)p * g->Co + o) * kb4 + 4 * g->Ci] = bias[o];
    }
}

// col (kb4, R*W) for input rows [y0, y0+R) and parity (u, v): x[c, i+u-1+a, j+v-1+b].
static void im2col_2x2(float *col, const conv_geom *g, const float *x, int64_t y0, int64_t R, int u,
                       int v, int64_t kb4) {
    const int64_t W = g->W, N = R * W;
    for (int64_t c = 0; c < g->Ci; c++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                float *crow = col + ((c * 2 + a) * 2 + b) * N;
                const int64_t dx = v - 1 + b; // column offset, -1..1
                for (int64_t i = 0; i < R; i++) {
                    float *dst = crow + i * W;
                    const int64_t sy = y0 + i + u - 1 + a;
                    if (sy < 0 || sy >= g->H) {
                        memset(dst, 0, (size_t)W * sizeof(float));
                        continue;
                    }
                    const float *row = x + (c * g->H + sy) * W;
                    const int64_t j0 = dx < 0 ? 1 : 0, j1 = dx > 0 ? W - 1 : W;
                    if (j0 > 0) dst[0] = 0.0f;
                    memcpy(dst + j0, row + j0 + dx, (size_t)(j1 - j0) * sizeof(float));
                    if (j1 < W) dst[W - 1] = 0.0f;
                }
            }
    if (kb4 > 4 * g->Ci)
        for (int64_t n = 0; n < N; n++) col[4 * g->Ci * N + n] = 1.0f;
}

static void conv_up2(const conv_geom *g, int64_t B, float *Y, const float *X, const float *Wp,
                     int64_t kb4, float *scratch, int64_t R, int64_t per_thread) {
    const int64_t bands = (g->H + R - 1) / R, items = B * bands;
#pragma omp parallel if (B * g->Co * g->Ci * 16 * g->H * g->W / 64 >= sana_cpu_par_work)
    {
        float *col = scratch + (int64_t)omp_get_thread_num() * per_thread;
        float *tmp = col + kb4 * R * g->W; // (Co, R*W)
#pragma omp for schedule(dynamic)
        for (int64_t it = 0; it < items; it++) {
            const int64_t n = it / bands, y0 = (it % bands) * R, r = SANA_MIN(R, g->H - y0), N = r * g->W;
            const float *x = X + n * g->Ci * g->H * g->W;
            float *y = Y + n * g->Co * g->Ho * g->Wo;
            for (int u = 0; u < 2; u++)
                for (int v = 0; v < 2; v++) {
                    im2col_2x2(col, g, x, y0, r, u, v, kb4);
                    gemm1(Wp + (int64_t)(u * 2 + v) * g->Co * kb4, col, tmp, g->Co, N, kb4, N);
                    for (int64_t o = 0; o < g->Co; o++)
                        for (int64_t i = 0; i < r; i++) {
                            const float *t = tmp + o * N + i * g->W;
                            float *d = y + (o * g->Ho + 2 * (y0 + i) + u) * g->Wo + v;
                            for (int64_t j = 0; j < g->W; j++) d[2 * j] = t[j];
                        }
                }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// 3x3, stride 1, padding 1, one group: Winograd F(2x2, 3x3) (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2015). A 2x2 output tile is
// A^T [(G k G^T) . (B^T d B)] A for its 4x4 input patch d (zero outside the image): 16
// multiplies per tile and channel pair instead of 36, done as 16 GEMMs U[xi] (Co, Ci) x
// V[xi] (Ci, tiles) per band of tile rows; xi = 4 i + j is the position in the 4x4 transform.
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   A^T = [1 1 1 0; 0 1 -1 -1].

// U (16, Co, Ci) = G k G^T of every kernel.
static void wino_weights(float *U, const conv_geom *g, const sana_tensor *w) {
    const size_t es = sana_dtype_size(w->dtype);
    const int64_t s = g->Co * g->Ci; // from one xi to the next
#pragma omp parallel for if (g->Co * g->Ci * 9 >= sana_cpu_par_work)
    for (int64_t o = 0; o < g->Co; o++)
        for (int64_t c = 0; c < g->Ci; c++) {
            float k[9], t[4][3];
            sana_widen_to_f32(k, (const char *)w->data + (size_t)((o * g->Ci + c) * 9) * es, w->dtype, 9);
            for (int j = 0; j < 3; j++) { // t = G k
                const float a = k[j], b = k[3 + j], d = k[6 + j];
                t[0][j] = a, t[1][j] = 0.5f * (a + b + d), t[2][j] = 0.5f * (a - b + d), t[3][j] = d;
            }
            for (int i = 0; i < 4; i++) { // t G^T
                const float a = t[i][0], b = t[i][1], d = t[i][2];
                float *u = U + (int64_t)(4 * i) * s + o * g->Ci + c;
                u[0] = a, u[s] = 0.5f * (a + b + d), u[2 * s] = 0.5f * (a - b + d), u[3 * s] = d;
            }
        }
}

// V (16, Ci, T) = B^T d B of the tiles of tile rows [ty0, ty0 + TR), T = TR * TX, tile t =
// (ty - ty0) * TX + tx, input rows from src. Per channel and tile row: the four input rows, zero-padded by one column
// each side (pad, 4 rows of 2 TX + 2), B^T applied down the rows for all columns at once, then B
// across each tile's four columns. pad holds 4 (2 TX + 2) floats.
static void wino_input(float *V, const conv_geom *g, const conv_src *src, int64_t ty0, int64_t TR, int64_t TX,
                       float *pad) {
    const int64_t T = TR * TX, s = g->Ci * T, PW = 2 * TX + 2, W = g->W;
    float *e[4] = {pad, pad + PW, pad + 2 * PW, pad + 3 * PW};
    for (int64_t c = 0; c < g->Ci; c++) {
        for (int64_t r = 0; r < TR; r++) {
            const int64_t y0 = 2 * (ty0 + r) - 1;
            const float *d[4];
            for (int i = 0; i < 4; i++) d[i] = y0 + i >= 0 && y0 + i < g->H ? src_row(g, src, c, y0 + i) : NULL;
            // e = B^T d at padded columns p = 1 .. W (input column p - 1); the pad columns are zero.
            for (int i = 0; i < 4; i++) e[i][0] = 0.0f;
            for (int i = 0; i < 4; i++)
                for (int64_t p = W + 1; p < PW; p++) e[i][p] = 0.0f;
            for (int64_t p = 0; p < W; p++) {
                const float d0 = d[0] ? d[0][p] : 0.0f, d1 = d[1] ? d[1][p] : 0.0f;
                const float d2 = d[2] ? d[2][p] : 0.0f, d3 = d[3] ? d[3][p] : 0.0f;
                e[0][p + 1] = d0 - d2, e[1][p + 1] = d1 + d2, e[2][p + 1] = d2 - d1, e[3][p + 1] = d1 - d3;
            }
            float *v = V + c * T + r * TX;
            for (int i = 0; i < 4; i++) { // e B: tile tx covers padded columns 2 tx .. 2 tx + 3
                const float *ei = e[i];
                float *v0 = v + (4 * i) * s, *v1 = v0 + s, *v2 = v1 + s, *v3 = v2 + s;
                for (int64_t tx = 0; tx < TX; tx++) {
                    const float *q = ei + 2 * tx;
                    v0[tx] = q[0] - q[2], v1[tx] = q[1] + q[2], v2[tx] = q[2] - q[1], v3[tx] = q[1] - q[3];
                }
            }
        }
    }
}

// The output tiles of M (16, Co, T): y = A^T m A + bias, cut at the image's edges.
static void wino_output(float *y, const conv_geom *g, const float *M, const float *bias, int64_t ty0, int64_t TR,
                        int64_t TX) {
    const int64_t T = TR * TX, s = g->Co * T;
    for (int64_t o = 0; o < g->Co; o++) {
        const float bv = bias ? bias[o] : 0.0f;
        float *yo = y + o * g->Ho * g->Wo;
        for (int64_t r = 0; r < TR; r++)
            for (int64_t tx = 0; tx < TX; tx++) {
                const float *m = M + o * T + r * TX + tx;
                float p[2][4];
                for (int j = 0; j < 4; j++) { // p = A^T m
                    const float m0 = m[j * s], m1 = m[(4 + j) * s], m2 = m[(8 + j) * s], m3 = m[(12 + j) * s];
                    p[0][j] = m0 + m1 + m2, p[1][j] = m1 - m2 - m3;
                }
                const int64_t oy = 2 * (ty0 + r), ox = 2 * tx;
                for (int i = 0; i < 2 && oy + i < g->Ho; i++) { // p A
                    float *row = yo + (oy + i) * g->Wo + ox;
                    row[0] = p[i][0] + p[i][1] + p[i][2] + bv;
                    if (ox + 1 < g->Wo) row[1] = p[i][1] - p[i][2] - p[i][3] + bv;
                }
            }
    }
}

// Scratch of one thread for TR tile rows: V, M and the padded rows of wino_input.
static int64_t wino_floats(const conv_geom *g, int64_t TR) {
    const int64_t TX = (g->Wo + 1) / 2;
    return 16 * (g->Ci + g->Co) * TR * TX + 4 * (2 * TX + 2);
}

// The 16 GEMMs of TR tile rows: M (16, Co, T) = U[xi] (Co, Ci) x V[xi] (Ci, T).
static void wino_gemms(const conv_geom *g, const float *U, const float *V, float *M, int64_t TR) {
    const int64_t T = TR * ((g->Wo + 1) / 2);
    for (int xi = 0; xi < 16; xi++)
        gemm1(U + (int64_t)xi * g->Co * g->Ci, V + (int64_t)xi * g->Ci * T, M + (int64_t)xi * g->Co * T, g->Co, T, g->Ci,
              T);
}

static void conv_winograd(const conv_geom *g, int64_t B, float *Y, const float *X, const float *U, const float *bias,
                          float *scratch, int64_t TR, int64_t per_thread) {
    const int64_t TY = (g->Ho + 1) / 2, TX = (g->Wo + 1) / 2, bands = (TY + TR - 1) / TR, items = B * bands;
#pragma omp parallel if (B * g->Co * g->Ci * 16 * TY * TX / 64 >= sana_cpu_par_work)
    {
        float *V = scratch + (int64_t)omp_get_thread_num() * per_thread;
        float *M = V + 16 * g->Ci * TR * TX, *pad = M + 16 * g->Co * TR * TX;
#pragma omp for schedule(dynamic)
        for (int64_t it = 0; it < items; it++) {
            const int64_t n = it / bands, ty0 = (it % bands) * TR, tr = SANA_MIN(TR, TY - ty0);
            const conv_src src = {.x = X + n * g->Ci * g->H * g->W, .lo = 0, .hi = g->H};
            wino_input(V, g, &src, ty0, tr, TX, pad);
            wino_gemms(g, U, V, M, tr);
            wino_output(Y + n * g->Co * g->Ho * g->Wo, g, M, bias, ty0, tr, TX);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The general GEMM path.

// Not in place (or in place without a halo, 1x1): items are (sample, band, group), any order.
static void conv_items(const conv_geom *g, int64_t B, float *Y, const float *X, const float *Wb,
                       float *scratch, int64_t R, int64_t per_thread) {
    const int64_t bands = (g->Ho + R - 1) / R, items = B * bands * g->groups;
#pragma omp parallel if (B * g->Co * g->K * g->Ho * g->Wo / 64 >= sana_cpu_par_work)
    {
        float *col = scratch + (int64_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic)
        for (int64_t it = 0; it < items; it++) {
            const int64_t gi = it % g->groups, band = (it / g->groups) % bands, n = it / g->groups / bands;
            const int64_t y0 = band * R, r = SANA_MIN(R, g->Ho - y0);
            const conv_src src = {.x = X + n * g->Ci * g->H * g->W, .lo = 0, .hi = g->H};
            float *y = Y + n * g->Co * g->Ho * g->Wo;
            im2col(col, g, &src, gi * g->Cig, y0, r);
            gemm1(Wb + gi * g->Cog * g->kb, col, y + (gi * g->Cog * g->Ho + y0) * g->Wo, g->Cog, r * g->Wo, g->kb,
                  g->Ho * g->Wo);
        }
    }
}

// In place with a halo (kernel > 1). The image is cut into bands of whole rows, each done by
// one thread top to bottom in chunks of R rows. A band only overwrites its own rows, so once a
// prepass has saved every band's first and last `pad` rows (what its neighbours read), the
// bands are independent: no thread ever waits for another. Inside a band, the rows above the
// current chunk were overwritten by the previous chunk; they are saved (the rolling halo)
// after the chunk's im2col, before its GEMM writes.
// With U (Winograd weights, wino_weights) set, each chunk runs as Winograd tiles instead of
// im2col + GEMM (3x3, padding 1; R and band_rows even, so no tile crosses a chunk), with the
// bias from `bias`; Wb is then unused.
static void conv_bands(const conv_geom *g, int64_t B, float *Y, const float *Wb, const float *U, const float *bias,
                       float *scratch, int64_t R, int64_t per_thread, int64_t band_rows, float *edges) {
    const int64_t p = g->pad, bands = (g->Ho + band_rows - 1) / band_rows, edge = g->Ci * p * g->W;
    for (int64_t n = 0; n < B; n++) {
        float *x = Y + n * g->Ci * g->H * g->W; // input and output of this sample
        const conv_src whole = {.x = x, .lo = 0, .hi = g->H};
        const bool par = g->Co * g->K * g->Ho * g->Wo / 64 >= sana_cpu_par_work;
#pragma omp parallel for if (par)
        for (int64_t b = 0; b < bands; b++) { // edges[b]: first pad rows, then last pad rows
            save_rows(edges + 2 * b * edge, g, &whole, b * band_rows);
            save_rows(edges + (2 * b + 1) * edge, g, &whole, SANA_MIN(g->Ho, (b + 1) * band_rows) - p);
        }
#pragma omp parallel if (par)
        {
            float *col = scratch + (int64_t)omp_get_thread_num() * per_thread;
            float *halo = col + (per_thread - edge);
#pragma omp for schedule(dynamic)
            for (int64_t b = 0; b < bands; b++) {
                const int64_t by0 = b * band_rows, by1 = SANA_MIN(g->Ho, by0 + band_rows);
                const float *below = b + 1 < bands ? edges + 2 * (b + 1) * edge : NULL;
                for (int64_t y0 = by0; y0 < by1; y0 += R) {
                    const int64_t r = SANA_MIN(R, by1 - y0);
                    const conv_src src = {.x = x, .lo = y0, .hi = by1, .below = below,
                                          .above = y0 == by0 ? (b > 0 ? edges + (2 * b - 1) * edge : NULL) : halo};
                    const int64_t TX = (g->Wo + 1) / 2, tr = (r + 1) / 2; // Winograd tiles of the chunk
                    float *M = NULL;                                         // V at col, then M, then pad
                    if (U) {
                        M = col + 16 * g->Ci * tr * TX;
                        wino_input(col, g, &src, y0 / 2, tr, TX, M + 16 * g->Co * tr * TX);
                    } else {
                        for (int gi = 0; gi < g->groups; gi++)
                            im2col(col + gi * g->kb * r * g->Wo, g, &src, gi * g->Cig, y0, r);
                    }
                    if (y0 + r < by1) save_rows(halo, g, &src, y0 + r - p); // rows the next chunk reads above it
                    if (U) {
                        wino_gemms(g, U, col, M, tr);
                        wino_output(x, g, M, bias, y0 / 2, tr, TX);
                    } else {
                        for (int gi = 0; gi < g->groups; gi++)
                            gemm1(Wb + gi * g->Cog * g->kb, col + gi * g->kb * r * g->Wo,
                                  x + (gi * g->Cog * g->Ho + y0) * g->Wo, g->Cog, r * g->Wo, g->kb, g->Ho * g->Wo);
                    }
                }
            }
        }
    }
}

void cpu_conv2d(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                const sana_tensor *b, int stride, int padding, int groups, int upsample) {
    conv_geom g = {
        .Ci = x->shape[1], .H = x->shape[2], .W = x->shape[3],
        .Co = y->shape[1], .Ho = y->shape[2], .Wo = y->shape[3],
        .kh = w->shape[2], .kw = w->shape[3], .groups = groups,
        .stride = stride, .pad = padding, .up = upsample,
    };
    g.Cig = g.Ci / groups;
    g.Cog = g.Co / groups;
    g.K = g.Cig * g.kh * g.kw;
    g.kb = g.K + (b ? 1 : 0);
    g.Hu = g.H * upsample;
    g.Wu = g.W * upsample;
    const int64_t B = x->shape[0];
    const int nt = omp_get_max_threads();
    const bool inplace = y->data == x->data;
    float *bo;
    const float *bias = sana_cpu_as_f32(be, b, &bo); // Co floats
    if (b && !bias) return;

    if (g.Cig == 1 && g.Cog == 1 && stride == 1 && upsample == 1) { // depthwise
        float *Wf = sana_cpu_scratch(be, (size_t)(g.Co * g.K));
        if (Wf) {
            sana_widen_to_f32(Wf, w->data, w->dtype, (size_t)(g.Co * g.K));
            conv_depthwise(be, &g, B, y->data, x->data, Wf, bias);
        }
        free(bo);
        return;
    }

    if (g.kh == 1 && g.kw == 1 && stride == 1 && padding == 0 && upsample == 1 && !inplace) { // 1x1
        const int64_t N = g.H * g.W;
        float *Wf = sana_cpu_scratch(be, (size_t)(g.Co * g.K));
        if (!Wf) goto done;
        sana_widen_to_f32(Wf, w->data, w->dtype, (size_t)(g.Co * g.K));
        for (int64_t n = 0; n < B; n++) {
            const float *X = (const float *)x->data + n * g.Ci * N;
            float *Y = (float *)y->data + n * g.Co * N;
#pragma omp parallel for if (g.Co * N >= sana_cpu_par_work)
            for (int64_t o = 0; o < g.Co; o++)
                for (int64_t t = 0; t < N; t++) Y[o * N + t] = bias ? bias[o] : 0.0f;
            if (groups == 1) { // one threaded GEMM
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.Co, (int)N, (int)g.K, 1.0f, Wf, (int)g.K,
                            X, (int)N, 1.0f, Y, (int)N);
                continue;
            }
#pragma omp parallel for schedule(dynamic) if (g.Co * g.K * N / 64 >= sana_cpu_par_work)
            for (int gi = 0; gi < groups; gi++) // small per-group GEMMs, one per thread at a time
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.Cog, (int)N, (int)g.K, 1.0f,
                            Wf + gi * g.Cog * g.K, (int)g.K, X + gi * g.Cig * N, (int)N, 1.0f, Y + gi * g.Cog * N, (int)N);
        }
        goto done;
    }

    if (upsample == 2 && g.kh == 3 && g.kw == 3 && padding == 1 && stride == 1 && groups == 1) {
        const int64_t kb4 = 4 * g.Ci + (b ? 1 : 0);
        // Input rows per band: col (kb4, R W) within the budget, and enough bands to share.
        int64_t R = SANA_MAX((int64_t)1, (int64_t)(sana_cpu_conv_col_floats / (size_t)(kb4 * g.W)));
        R = SANA_MIN(R, SANA_MAX((int64_t)1, (g.H + 4 * nt - 1) / (4 * nt)));
        const int64_t per_thread = (kb4 + g.Co) * R * g.W;
        float *s = sana_cpu_scratch(be, (size_t)(4 * g.Co * kb4 + nt * per_thread));
        if (!s) goto done;
        fold_weights(s, &g, w, bias, kb4);
        conv_up2(&g, B, y->data, x->data, s, kb4, s + 4 * g.Co * kb4, R, per_thread);
        goto done;
    }

    if (g.kh == 3 && g.kw == 3 && stride == 1 && padding == 1 && upsample == 1 && groups == 1 &&
        g.Ci >= WINO_MIN_CHANNELS && g.Co >= WINO_MIN_CHANNELS) {
        // Tile rows per band (chunk): V and M within the col budget, and enough bands to share; in
        // place, bands of whole tile rows as conv_bands cuts them, plus the halo and edge rows.
        const int64_t TY = (g.Ho + 1) / 2, TX = (g.Wo + 1) / 2, edge = g.Ci * g.W;
        int64_t TR = SANA_MAX((int64_t)1, (int64_t)(sana_cpu_conv_col_floats / (size_t)(16 * (g.Ci + g.Co) * TX)));
        TR = SANA_MIN(TR, SANA_MAX((int64_t)1, (TY + 2 * nt - 1) / (2 * nt)));
        const int64_t band_rows = 2 * SANA_MAX((int64_t)1, (TY + 8 * nt - 1) / (8 * nt));
        const int64_t n_edges = inplace ? 2 * ((g.Ho + band_rows - 1) / band_rows) * edge : 0;
        const int64_t per_thread = wino_floats(&g, TR) + (inplace ? edge : 0);
        float *s = sana_cpu_scratch(be, (size_t)(16 * g.Co * g.Ci + nt * per_thread + n_edges));
        if (!s) goto done;
        wino_weights(s, &g, w);
        float *cols = s + 16 * g.Co * g.Ci;
        if (inplace)
            conv_bands(&g, B, y->data, NULL, s, bias, cols, 2 * TR, per_thread, band_rows, cols + nt * per_thread);
        else
            conv_winograd(&g, B, y->data, x->data, s, bias, cols, TR, per_thread);
        goto done;
    }

    // General: output rows per band within the col budget (in place: per chunk, all groups'
    // cols), and enough bands to share between the threads; in place, chunks and bands of at
    // least `padding` rows.
    const bool halo = inplace && padding > 0;
    const int64_t col_rows = halo ? g.groups * g.kb : g.kb;
    int64_t R = SANA_MAX((int64_t)1, (int64_t)(sana_cpu_conv_col_floats / (size_t)(col_rows * g.Wo)));
    R = SANA_MIN(R, SANA_MAX((int64_t)1, (g.Ho + 2 * nt - 1) / (2 * nt)));
    if (halo) R = SANA_MAX(R, (int64_t)padding);
    const int64_t edge = g.Ci * padding * g.W, per_thread = col_rows * R * g.Wo + (halo ? edge : 0);
    const int64_t band_rows = SANA_MAX((int64_t)padding, (g.Ho + 8 * nt - 1) / (8 * nt));
    const int64_t n_edges = halo ? 2 * ((g.Ho + band_rows - 1) / band_rows) * edge : 0;
    float *s = sana_cpu_scratch(be, (size_t)(g.Co * g.kb + nt * per_thread + n_edges));
    if (!s) goto done;
    widen_weights(s, &g, w, bias);
    float *cols = s + g.Co * g.kb;
    if (halo) conv_bands(&g, B, y->data, s, NULL, NULL, cols, R, per_thread, band_rows, cols + nt * per_thread);
    else conv_items(&g, B, y->data, x->data, s, cols, R, per_thread);
done:
    free(bo);
}
