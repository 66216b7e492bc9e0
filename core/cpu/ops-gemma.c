// ops-gemma.c: CPU kernels of the ops the Gemma-2 text encoder adds (semantics in backend.h):
// embedding rows from the (mmapped) table and rotary position embedding.
#include <math.h>

#include "cpu.h"

void cpu_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *ids, const sana_tensor *table,
                   float scale) {
    const int64_t N = sana_tensor_numel(ids), V = table->shape[0], D = table->shape[1];
    const int32_t *id = ids->data;
    const size_t row_bytes = (size_t)D * sana_dtype_size(table->dtype);
    for (int64_t n = 0; n < N; n++)
        if (id[n] < 0 || id[n] >= V) {
            sana_backend_fail(be, SANA_STATUS_BAD_INPUT, "embedding: token id %d at %lld is outside the "
                              "table's %lld rows", id[n], (long long)n, (long long)V);
            return;
        }
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        float *yr = (float *)y->data + n * D;
        sana_widen_to_f32(yr, (const char *)table->data + (size_t)id[n] * row_bytes, table->dtype, (size_t)D);
        for (int64_t d = 0; d < D; d++) yr[d] *= scale;
    }
}

void cpu_rope(sana_backend *be, sana_tensor *y, const sana_tensor *x, int head_dim, int pos0, float theta) {
    const int64_t B = x->shape[0], N = x->shape[1], C = x->shape[2], half = head_dim / 2;
    // (half) inv_freq, (N, half) cos, (N, half) sin
    float *tab = sana_cpu_scratch(be, (size_t)(half + N * half * 2));
    if (!tab) return;
    float *inv = tab, *cs = tab + half, *sn = cs + N * half;
    // inv_freq as transformers builds it: arange(0, dh, 2).float() / dh, base ** that, reciprocal.
    for (int64_t i = 0; i < half; i++) inv[i] = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < half; i++) {
            float a = (float)(pos0 + n) * inv[i];
            cs[n * half + i] = cosf(a);
            sn[n * half + i] = sinf(a);
        }
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t n = 0; n < N; n++) {
            const float *xr = (const float *)x->data + (b * N + n) * C;
            float *yr = (float *)y->data + (b * N + n) * C;
            const float *c = cs + n * half, *s = sn + n * half;
            for (int64_t h0 = 0; h0 < C; h0 += head_dim)
                for (int64_t i = 0; i < half; i++) {
                    float x1 = xr[h0 + i], x2 = xr[h0 + half + i];
                    yr[h0 + i] = x1 * c[i] - x2 * s[i];
                    yr[h0 + half + i] = x2 * c[i] + x1 * s[i];
                }
        }
}
