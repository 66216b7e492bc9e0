// test-dcae-ops: the CPU backend's image (NCHW) ops, each against a naive double-precision
// loop written from the slot's comment in backend.h (odd sizes, batch 2, bf16 weights, in
// place, one-row convolution bands), with the default threading and with every loop threaded.
//
// usage: test-dcae-ops
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "../common/compare.h"
#include "cpu/cpu.h"
#include "ops.h"

#define MAX_REL 2e-6
#define MIN_COS 0.9999999

static sana_backend *be;

static uint32_t rng = 12345;
static float frand(void) { // uniform in [-1, 1)
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / (float)(1 << 23) - 1.0f;
}

// A host F32 tensor (the CPU backend works on host memory) filled with uniform noise.
static sana_tensor rnd(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    sana_tensor t = {.dtype = SANA_DTYPE_F32, .ndim = ndim, .shape = {d0, d1, d2, d3}};
    t.data = malloc(sana_tensor_nbytes(&t));
    for (int64_t i = 0; i < sana_tensor_numel(&t); i++) ((float *)t.data)[i] = frand();
    return t;
}

static sana_tensor img4(int64_t b, int64_t c, int64_t h, int64_t w) { return rnd(4, b, c, h, w); }
static sana_tensor vec(int64_t n) { return rnd(1, n, 1, 1, 1); }

// The same values rounded to bf16 (in place in t's data, which becomes float of bf16 values),
// and a bf16 tensor holding them.
static sana_tensor to_bf16(sana_tensor *t) {
    sana_tensor h = *t;
    h.dtype = SANA_DTYPE_BF16;
    h.data = malloc(sana_tensor_nbytes(&h));
    for (int64_t i = 0; i < sana_tensor_numel(t); i++) {
        uint16_t v = sana_f32_to_bf16(((float *)t->data)[i]);
        ((uint16_t *)h.data)[i] = v;
        ((float *)t->data)[i] = sana_bf16_to_f32(v);
    }
    return h;
}

static sana_tensor copy_of(const sana_tensor *t) {
    sana_tensor c = *t;
    c.data = malloc(sana_tensor_nbytes(t));
    memcpy(c.data, t->data, sana_tensor_nbytes(t));
    return c;
}

static void expect(const char *what, const sana_tensor *got, const double *ref) {
    const size_t n = (size_t)sana_tensor_numel(got);
    float *r = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) r[i] = (float)ref[i];
    sana_error err = {0};
    bool ok = sana_backend_sync(be, &err) == SANA_OK;
    compare_result c = compare_f32(got->data, r, n);
    ok = ok && c.finite && c.rel <= MAX_REL && c.cosine >= MIN_COS;
    check_true(ok, what, "rel %.3g cos %.9f (worst %zu: got %.9g ref %.9g) %s", c.rel, c.cosine, c.worst,
               ((float *)got->data)[c.worst], r[c.worst], err.message);
    free(r);
}

static float at(const sana_tensor *t, int64_t n, int64_t c, int64_t y, int64_t x) {
    return ((const float *)t->data)[((n * t->shape[1] + c) * t->shape[2] + y) * t->shape[3] + x];
}

// ------------------------------------------------------------------------------------------------
// conv2d

typedef struct conv_case {
    const char *name;
    int64_t B, Ci, H, W, Co, kh, kw;
    int stride, pad, groups, up;
    bool bias, bf16, inplace;
    size_t col_floats; // 0: the backend's default bands
} conv_case;

static void test_conv(const conv_case *k) {
    const int64_t Hu = k->H * k->up, Wu = k->W * k->up;
    const int64_t Ho = (Hu + 2 * k->pad - k->kh) / k->stride + 1, Wo = (Wu + 2 * k->pad - k->kw) / k->stride + 1;
    const int64_t Cig = k->Ci / k->groups, Cog = k->Co / k->groups;
    sana_tensor x = img4(k->B, k->Ci, k->H, k->W);
    sana_tensor w = rnd(4, k->Co, Cig, k->kh, k->kw), b = vec(k->Co);
    sana_tensor wq = w, bq = b; // what the op gets
    if (k->bf16) {
        wq = to_bf16(&w);
        bq = to_bf16(&b);
    }
    double *ref = calloc((size_t)(k->B * k->Co * Ho * Wo), sizeof(double));
    for (int64_t n = 0; n < k->B; n++)
        for (int64_t o = 0; o < k->Co; o++)
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++) {
                    double s = k->bias ? ((float *)b.data)[o] : 0.0;
                    const int64_t g = o / Cog;
                    for (int64_t c = 0; c < Cig; c++)
                        for (int64_t dy = 0; dy < k->kh; dy++)
                            for (int64_t dx = 0; dx < k->kw; dx++) {
                                const int64_t yy = i * k->stride + dy - k->pad, xx = j * k->stride + dx - k->pad;
                                if (yy < 0 || yy >= Hu || xx < 0 || xx >= Wu) continue;
                                s += (double)((float *)w.data)[((o * Cig + c) * k->kh + dy) * k->kw + dx] *
                                     at(&x, n, g * Cig + c, yy / k->up, xx / k->up);
                            }
                    ref[((n * k->Co + o) * Ho + i) * Wo + j] = s;
                }
    sana_tensor y = k->inplace ? x : img4(k->B, k->Co, Ho, Wo);
    const size_t saved = sana_cpu_conv_col_floats;
    if (k->col_floats) sana_cpu_conv_col_floats = k->col_floats;
    sana_op_conv2d(be, &y, &x, &wq, k->bias ? &bq : NULL, k->stride, k->pad, k->groups, k->up);
    sana_cpu_conv_col_floats = saved;
    char what[160];
    snprintf(what, sizeof what, "conv2d %s", k->name);
    expect(what, &y, ref);
    if (k->bf16) {
        free(wq.data);
        free(bq.data);
    }
    if (!k->inplace) free(y.data);
    free(ref);
    free(x.data);
    free(w.data);
    free(b.data);
}

// ------------------------------------------------------------------------------------------------
// norms

static void test_norms(void) {
    const int64_t B = 2, C = 7, H = 5, W = 13, S = H * W;
    for (int variant = 0; variant < 3; variant++) { // 0: plain, 1: residual, 2: y aliases x, + residual, bf16
        sana_tensor x = img4(B, C, H, W), r = img4(B, C, H, W), w = vec(C), b = vec(C);
        sana_tensor wq = w, bq = b;
        if (variant == 2) wq = to_bf16(&w), bq = to_bf16(&b);
        double *ref = malloc((size_t)(B * C * S) * sizeof(double));
        for (int64_t n = 0; n < B; n++)
            for (int64_t s = 0; s < S; s++) {
                double ss = 0;
                for (int64_t c = 0; c < C; c++) ss += (double)at(&x, n, c, 0, s) * at(&x, n, c, 0, s);
                double rs = 1.0 / sqrt(ss / C + 1e-5);
                for (int64_t c = 0; c < C; c++)
                    ref[(n * C + c) * S + s] = at(&x, n, c, 0, s) * rs * ((float *)w.data)[c] + ((float *)b.data)[c] +
                                               (variant ? at(&r, n, c, 0, s) : 0.0);
            }
        sana_tensor y = variant == 2 ? x : img4(B, C, H, W);
        sana_op_channel_rms_norm(be, &y, &x, &wq, &bq, variant ? &r : NULL, 1e-5f);
        const char *names[3] = {"channel_rms_norm", "channel_rms_norm + residual", "channel_rms_norm in place, bf16 w"};
        expect(names[variant], &y, ref);

        // batch_norm: 0 plain, 1 + residual with y aliasing r, 2 bf16 + residual with y aliasing x
        sana_tensor x2 = img4(B, C, H, W), mean = vec(C), var = vec(C), r2 = copy_of(&r);
        for (int64_t c = 0; c < C; c++) ((float *)var.data)[c] = 0.3f + fabsf(((float *)var.data)[c]);
        for (int64_t n = 0; n < B; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t s = 0; s < S; s++)
                    ref[(n * C + c) * S + s] = ((double)at(&x2, n, c, 0, s) - ((float *)mean.data)[c]) /
                                                   sqrt((double)((float *)var.data)[c] + 1e-5) * ((float *)w.data)[c] +
                                               ((float *)b.data)[c] + (variant ? at(&r, n, c, 0, s) : 0.0);
        sana_tensor y2 = variant == 0 ? img4(B, C, H, W) : variant == 1 ? r2 : x2;
        sana_op_batch_norm(be, &y2, &x2, &mean, &var, &wq, &bq, variant ? &r2 : NULL, 1e-5f);
        const char *bn[3] = {"batch_norm", "batch_norm + residual, y is r", "batch_norm bf16 w + residual, in place"};
        expect(bn[variant], &y2, ref);
        if (variant == 0) free(y2.data);
        if (variant != 2) free(y.data);
        if (variant == 2) free(wq.data), free(bq.data);
        free(x.data), free(r.data), free(w.data), free(b.data), free(x2.data), free(r2.data), free(mean.data),
            free(var.data);
        free(ref);
    }
}

// ------------------------------------------------------------------------------------------------
// pixel shuffles

static void test_shuffles(void) {
    const struct {
        int r, rep, C;
    } sh[] = {{2, 1, 8}, {2, 2, 6}, {2, 4, 3}, {1, 3, 4}, {3, 9, 2}};
    for (size_t t = 0; t < SANA_ARRAY_LEN(sh); t++) {
        const int r = sh[t].r, R = sh[t].rep;
        const int64_t B = 2, C = sh[t].C, H = 3, W = 5;
        const int64_t Co = C * R / (r * r);
        for (int acc = 0; acc < 2; acc++) {
            sana_tensor x = img4(B, C, H, W), y = img4(B, Co, H * r, W * r);
            double *ref = malloc((size_t)sana_tensor_numel(&y) * sizeof(double));
            for (int64_t n = 0; n < B; n++)
                for (int64_t o = 0; o < Co; o++)
                    for (int64_t yy = 0; yy < H * r; yy++)
                        for (int64_t xx = 0; xx < W * r; xx++) {
                            // repeat_interleave then pixel_shuffle, step by step
                            const int64_t rc = o * r * r + (yy % r) * r + (xx % r); // channel of the repeated tensor
                            double v = at(&x, n, rc / R, yy / r, xx / r);
                            double old = at(&y, n, o, yy, xx);
                            ref[((n * Co + o) * H * r + yy) * W * r + xx] = acc ? old + v : v;
                        }
            sana_op_pixel_shuffle(be, &y, &x, r, R, acc);
            char what[96];
            snprintf(what, sizeof what, "pixel_shuffle r=%d repeats=%d%s", r, R, acc ? " accumulate" : "");
            expect(what, &y, ref);
            free(x.data), free(y.data), free(ref);
        }
    }
    const struct {
        int r, group;
    } un[] = {{2, 1}, {2, 2}, {2, 4}, {1, 3}, {3, 6}};
    for (size_t t = 0; t < SANA_ARRAY_LEN(un); t++) {
        const int r = un[t].r, G = un[t].group;
        const int64_t B = 2, C = 6, H = 2 * r, W = 3 * r, Co = C * r * r / G;
        for (int acc = 0; acc < 2; acc++) {
            sana_tensor x = img4(B, C, H, W), y = img4(B, Co, H / r, W / r);
            double *ref = malloc((size_t)sana_tensor_numel(&y) * sizeof(double));
            for (int64_t n = 0; n < B; n++)
                for (int64_t o = 0; o < Co; o++)
                    for (int64_t i = 0; i < H / r; i++)
                        for (int64_t j = 0; j < W / r; j++) {
                            double s = 0;
                            for (int64_t g = 0; g < G; g++) { // pixel_unshuffle channel q = c r^2 + u r + v
                                const int64_t q = o * G + g, c = q / (r * r), u = (q % (r * r)) / r, v = q % r;
                                s += at(&x, n, c, r * i + u, r * j + v);
                            }
                            double old = at(&y, n, o, i, j);
                            ref[((n * Co + o) * (H / r) + i) * (W / r) + j] = (acc ? old : 0.0) + s / G;
                        }
            sana_op_pixel_unshuffle(be, &y, &x, r, G, acc);
            char what[96];
            snprintf(what, sizeof what, "pixel_unshuffle r=%d group=%d%s", r, G, acc ? " accumulate" : "");
            expect(what, &y, ref);
            free(x.data), free(y.data), free(ref);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// linear attention, blend, copy2d

static void test_attention(void) {
    const int64_t B = 2, G = 3, d = 5, H = 4, W = 7, N = H * W;
    sana_tensor qkv = img4(B, G * 3 * d, H, W), o = img4(B, G * d, H, W);
    double *ref = malloc((size_t)sana_tensor_numel(&o) * sizeof(double));
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++)
            for (int64_t p = 0; p < N; p++) {
                double num[16] = {0}, den = 0;
                for (int64_t m = 0; m < N; m++) {
                    double kq = 0; // relu(k_m) . relu(q_p)
                    for (int64_t c = 0; c < d; c++) {
                        double q = at(&qkv, n, g * 3 * d + c, 0, p), k = at(&qkv, n, g * 3 * d + d + c, 0, m);
                        kq += (q > 0 ? q : 0) * (k > 0 ? k : 0);
                    }
                    den += kq;
                    for (int64_t i = 0; i < d; i++) num[i] += at(&qkv, n, g * 3 * d + 2 * d + i, 0, m) * kq;
                }
                for (int64_t i = 0; i < d; i++) ref[((n * G + g) * d + i) * N + p] = num[i] / (den + 1e-15);
            }
    sana_op_linear_attention_packed(be, &o, &qkv, (int)d, 1e-15f);
    expect("linear_attention_packed", &o, ref);
    free(qkv.data), free(o.data), free(ref);
}

static void test_blend_copy(void) {
    const int64_t B = 2, C = 3;
    for (int axis = 2; axis <= 3; axis++) {
        // a (B, C, 9, 6) above / left of b (B, C, 5, 6) (axis 2) or (B, C, 6, 9) / (B, C, 6, 5)
        sana_tensor a = axis == 2 ? img4(B, C, 9, 6) : img4(B, C, 6, 9);
        sana_tensor b = axis == 2 ? img4(B, C, 5, 6) : img4(B, C, 6, 5);
        const int e = 4;
        double *ref = malloc((size_t)sana_tensor_numel(&b) * sizeof(double));
        for (int64_t n = 0; n < B; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t y = 0; y < b.shape[2]; y++)
                    for (int64_t x = 0; x < b.shape[3]; x++) {
                        const int64_t t = axis == 2 ? y : x;
                        double v = at(&b, n, c, y, x);
                        if (t < e) {
                            const float wa = (float)(1.0 - (double)t / e), wb = (float)((double)t / e);
                            double av = axis == 2 ? at(&a, n, c, a.shape[2] - e + y, x) : at(&a, n, c, y, a.shape[3] - e + x);
                            v = av * wa + v * wb;
                        }
                        ref[((n * C + c) * b.shape[2] + y) * b.shape[3] + x] = v;
                    }
        sana_op_blend(be, &b, &a, axis, e);
        expect(axis == 2 ? "blend rows" : "blend columns", &b, ref);
        free(a.data), free(b.data), free(ref);
    }
    sana_tensor src = img4(B, C, 7, 11), dst = img4(B, C, 6, 8);
    double *ref = malloc((size_t)sana_tensor_numel(&dst) * sizeof(double));
    for (int64_t n = 0; n < B; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < 6; y++)
                for (int64_t x = 0; x < 8; x++) {
                    bool in = y >= 1 && y < 1 + 4 && x >= 2 && x < 2 + 5;
                    ref[((n * C + c) * 6 + y) * 8 + x] = in ? at(&src, n, c, y - 1 + 3, x - 2 + 6) : at(&dst, n, c, y, x);
                }
    sana_op_copy2d(be, &dst, 1, 2, &src, 3, 6, 4, 5);
    expect("copy2d", &dst, ref);
    free(src.data), free(dst.data), free(ref);
}

int main(void) {
    sana_error err = {0};
    if (sana_backend_cpu_new(0, &be, &err)) {
        printf("FAIL cpu backend: %s\n", err.message);
        return 1;
    }
    // Every image op has a CPU implementation (the vtable is filled by name from SANA_OPS).
    check_true(be->i->ops.conv2d && be->i->ops.channel_rms_norm && be->i->ops.batch_norm && be->i->ops.pixel_shuffle &&
                   be->i->ops.pixel_unshuffle && be->i->ops.linear_attention_packed && be->i->ops.blend &&
                   be->i->ops.copy2d,
               "image op slots filled", "a slot is NULL");

    const conv_case convs[] = {
        {"3x3 pad 1, bias", 2, 5, 6, 9, 7, 3, 3, 1, 1, 1, 1, true, false, false, 0},
        {"3x3 Winograd, odd size, bias", 2, 9, 7, 11, 10, 3, 3, 1, 1, 1, 1, true, false, false, 0},
        {"3x3 Winograd, one-tile-row bands, bf16", 1, 8, 13, 6, 12, 3, 3, 1, 1, 1, 1, true, true, false, 1},
        {"3x3 Winograd on a 1x1 image", 1, 8, 1, 1, 8, 3, 3, 1, 1, 1, 1, true, false, false, 0},
        {"3x3 Winograd on one column, no bias", 2, 8, 5, 1, 9, 3, 3, 1, 1, 1, 1, false, false, false, 1},
        {"3x3 Winograd, 64 -> 32 channels", 1, 64, 9, 10, 32, 3, 3, 1, 1, 1, 1, true, true, false, 0},
        {"3x3 Winograd in place", 2, 8, 7, 6, 8, 3, 3, 1, 1, 1, 1, true, false, true, 0},
        {"3x3 Winograd in place, tall, one-tile-row chunks, bf16", 1, 8, 41, 5, 8, 3, 3, 1, 1, 1, 1, true, true, true, 1},
        {"3x3 Winograd in place, odd height, no bias", 2, 9, 13, 9, 9, 3, 3, 1, 1, 1, 1, false, false, true, 1},
        {"3x3 Winograd in place on one row", 1, 8, 1, 7, 8, 3, 3, 1, 1, 1, 1, true, false, true, 0},
        {"3x3 stride 2 pad 1, odd size, bf16", 1, 4, 7, 10, 6, 3, 3, 2, 1, 1, 1, true, true, false, 0},
        {"nearest x2 + 3x3 pad 1", 2, 4, 3, 5, 3, 3, 3, 1, 1, 1, 2, true, false, false, 0},
        {"nearest x2 + 3x3, one-row bands", 1, 4, 3, 5, 6, 3, 3, 1, 1, 1, 2, true, true, false, 1},
        {"nearest x2 + 3x3 on a 1x1 image", 2, 3, 1, 1, 2, 3, 3, 1, 1, 1, 2, true, false, false, 0},
        {"nearest x2 + 3x3 on one column, no bias", 1, 2, 4, 1, 3, 3, 3, 1, 1, 1, 2, false, false, false, 1},
        {"nearest x3 + 2x2 stride 2, no bias", 1, 3, 3, 4, 5, 2, 2, 2, 0, 1, 3, false, false, false, 0},
        {"1x3 pad 1 (non-square kernel)", 1, 3, 4, 6, 2, 1, 3, 1, 1, 1, 1, true, false, false, 0},
        {"1x1, bias", 2, 6, 5, 7, 9, 1, 1, 1, 0, 1, 1, true, false, false, 0},
        {"1x1 grouped (3 groups), bf16", 2, 6, 5, 7, 9, 1, 1, 1, 0, 3, 1, false, true, false, 0},
        {"3x3 grouped (2 groups)", 1, 4, 5, 6, 6, 3, 3, 1, 1, 2, 1, true, false, false, 0},
        {"depthwise 5x5 pad 2", 2, 5, 6, 8, 5, 5, 5, 1, 2, 5, 1, false, false, false, 0},
        {"depthwise 3x3 pad 1, bias, bf16, in place", 2, 6, 5, 4, 6, 3, 3, 1, 1, 6, 1, true, true, true, 0},
        {"depthwise 3x3 stride 2 (general path)", 1, 3, 7, 6, 3, 3, 3, 2, 1, 3, 1, true, false, false, 0},
        {"3x3 in place", 2, 5, 7, 6, 5, 3, 3, 1, 1, 1, 1, true, false, true, 0},
        {"3x3 in place, one-row bands", 2, 5, 7, 6, 5, 3, 3, 1, 1, 1, 1, false, true, true, 1},
        {"5x5 in place, one-row bands (halo of 2)", 1, 3, 6, 5, 3, 5, 5, 1, 2, 1, 1, true, false, true, 1},
        {"5x5 in place, 2-row bands, last band 1 row", 2, 3, 7, 5, 3, 5, 5, 1, 2, 1, 1, true, true, true, 1},
        {"3x3 in place, tall: bands of several one-row chunks", 1, 4, 41, 6, 4, 3, 3, 1, 1, 1, 1, true, false, true, 1},
        {"5x5 in place, tall: two-row chunks in three-row bands", 1, 3, 37, 5, 3, 5, 5, 1, 2, 1, 1, true, true, true, 1},
        {"3x3 grouped in place, tall, one-row chunks", 2, 6, 33, 4, 6, 3, 3, 1, 1, 3, 1, true, false, true, 1},
        {"3x3 grouped in place, two-row bands", 1, 6, 9, 5, 6, 3, 3, 1, 1, 3, 1, true, false, true, 2 * 9 * 5 * 2},
        {"1x1 grouped in place, one-row bands", 2, 6, 4, 5, 6, 1, 1, 1, 0, 2, 1, false, false, true, 1},
    };
    // Twice: tiny loops on one thread (the default for such sizes), then every loop threaded.
    const int64_t par = sana_cpu_par_work;
    for (int pass = 0; pass < 2; pass++) {
        sana_cpu_par_work = pass ? 0 : par;
        printf("---- %s\n", pass ? "every loop threaded" : "default threading");
        for (size_t i = 0; i < SANA_ARRAY_LEN(convs); i++) test_conv(&convs[i]);
        test_norms();
        test_shuffles();
        test_attention();
        test_blend_copy();
    }
    sana_cpu_par_work = par;
    sana_backend_free(be);
    return check_summary("dcae-ops");
}
