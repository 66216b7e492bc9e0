// test-ops-gemma: the CPU kernels of the ops the Gemma-2 encoder adds (embedding, rope), on odd
// shapes, against their definitions in backend.h computed here independently (rope in double).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "arena.h"
#include "ops.h"

static float frand(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void test_embedding(sana_backend *be, sana_arena *arena, sana_dtype dtype) {
    enum { V = 37, D = 13, N = 11 };
    unsigned seed = 7;
    float table_f[V * D];
    uint16_t table_h[V * D];
    for (int i = 0; i < V * D; i++) {
        table_f[i] = 3.0f * frand(&seed);
        table_h[i] = dtype == SANA_DTYPE_BF16 ? sana_f32_to_bf16(table_f[i]) : sana_f32_to_f16(table_f[i]);
    }
    const int32_t ids_h[N] = {0, 36, 5, 5, 17, 1, 36, 2, 33, 0, 9};
    sana_tensor table = {.data = dtype == SANA_DTYPE_F32 ? (void *)table_f : (void *)table_h, .dtype = dtype,
                         .ndim = 2, .shape = {V, D}};
    sana_tensor ids = sana_arena_tensor(arena, SANA_DTYPE_I32, 2, (int64_t[]){1, N});
    sana_upload(be, &ids, ids_h);
    sana_tensor y = sana_new_f32(arena, 1, N, D);
    const float scale = 3.6055512f; // float32(sqrt(13))
    sana_op_embedding(be, &y, &ids, &table, scale);
    float got[N * D];
    sana_download(be, got, &y);
    sana_error err = {0};
    bool ok = sana_backend_sync(be, &err) == SANA_OK;
    for (int n = 0; ok && n < N; n++)
        for (int d = 0; d < D; d++) {
            float w = dtype == SANA_DTYPE_F32 ? table_f[ids_h[n] * D + d]
                      : dtype == SANA_DTYPE_BF16 ? sana_bf16_to_f32(table_h[ids_h[n] * D + d])
                                                 : sana_f16_to_f32(table_h[ids_h[n] * D + d]);
            ok = ok && got[n * D + d] == w * scale;
        }
    char what[64];
    snprintf(what, sizeof what, "embedding rows x scale, %s table", sana_dtype_name(dtype));
    check_true(ok, what, "rows differ from table[ids] * scale (%s)", err.message);
}

static void test_embedding_range(void) {
    sana_error err = {0};
    sana_backend *be;
    sana_backend_cpu_new(1, &be, &err);
    sana_arena *arena = sana_arena_new(be, 0);
    float table_f[4 * 3] = {0};
    sana_tensor table = {.data = table_f, .dtype = SANA_DTYPE_F32, .ndim = 2, .shape = {4, 3}};
    sana_tensor ids = sana_arena_tensor(arena, SANA_DTYPE_I32, 1, (int64_t[]){2});
    sana_upload(be, &ids, (int32_t[]){1, 4});
    sana_tensor y = sana_new_f32(arena, 2, 3);
    sana_op_embedding(be, &y, &ids, &table, 1.0f);
    sana_status s = sana_backend_sync(be, &err);
    check_error("embedding id outside the table", s, &err, SANA_STATUS_BAD_INPUT, "id 4", "4 rows", NULL);
    sana_arena_free(arena);
    sana_backend_free(be);
}

static void test_rope(sana_backend *be, sana_arena *arena, int dh, int heads, int pos0, float theta) {
    enum { B = 2, N = 5 };
    const int C = heads * dh, half = dh / 2;
    unsigned seed = 11;
    float *x_h = malloc((size_t)(B * N * C) * sizeof *x_h), *got = malloc((size_t)(B * N * C) * sizeof *got),
          *got2 = malloc((size_t)(B * N * C) * sizeof *got2);
    for (int i = 0; i < B * N * C; i++) x_h[i] = frand(&seed);
    sana_tensor x = sana_new_f32(arena, B, N, C), y = sana_new_f32(arena, B, N, C);
    sana_upload(be, &x, x_h);
    sana_op_rope(be, &y, &x, dh, pos0, theta);
    sana_op_rope(be, &x, &x, dh, pos0, theta); // in place
    sana_download(be, got, &y);
    sana_download(be, got2, &x);
    sana_error err = {0};
    bool ok = sana_backend_sync(be, &err) == SANA_OK && memcmp(got, got2, (size_t)(B * N * C) * sizeof *got) == 0;
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < half; i++) {
                    const float *xr = x_h + (b * N + n) * C + h * dh;
                    const float *yr = got + (b * N + n) * C + h * dh;
                    double a = (double)(pos0 + n) * pow((double)theta, -2.0 * i / dh);
                    double y1 = xr[i] * cos(a) - xr[i + half] * sin(a), y2 = xr[i + half] * cos(a) + xr[i] * sin(a);
                    worst = fmax(worst, fmax(fabs(yr[i] - y1), fabs(yr[i + half] - y2)));
                }
    // The op works with fp32 angles (as transformers): an angle of up to `pos` radians is off by
    // up to pos * 2^-24 (more for inv_freq's own rounding), which |x| <= 1 turns into as much.
    const double tol = 1e-6 + 4.0 * (pos0 + N) * 0x1p-24;
    ok = ok && worst < tol;
    char what[96];
    snprintf(what, sizeof what, "rope dh=%d heads=%d pos0=%d theta=%g (rotate half, in place)", dh, heads, pos0, theta);
    check_true(ok, what, "max |got - double reference| = %.3g, limit %.3g (%s)", worst, tol, err.message);
    free(x_h);
    free(got);
    free(got2);
}

int main(int argc, char **argv) {
    (void)argc, (void)argv;
    sana_error err = {0};
    sana_backend *be;
    if (sana_backend_cpu_new(0, &be, &err)) {
        printf("FAIL cpu backend: %s\n", err.message);
        return 1;
    }
    sana_arena *arena = sana_arena_new(be, 0);
    test_embedding(be, arena, SANA_DTYPE_F32);
    test_embedding(be, arena, SANA_DTYPE_BF16);
    test_embedding(be, arena, SANA_DTYPE_F16);
    test_embedding_range();
    test_rope(be, arena, 6, 3, 0, 10000.0f);
    test_rope(be, arena, 16, 2, 41, 10000.0f);
    test_rope(be, arena, 32, 1, 300, 500.0f);
    test_rope(be, arena, 256, 1, 700, 10000.0f); // Gemma-2-2B's head size, CHI-length positions
    sana_arena_free(arena);
    sana_backend_free(be);
    return check_summary("ops-gemma");
}
