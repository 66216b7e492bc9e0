// gemma.cu: the ops the Gemma-2 text encoder adds: embedding rows and rotary position embedding.
//
// Mirrors core/cpu/ops-gemma.c.
//
// embedding reads its table from host memory. The weight slot leaves a SANA_WEIGHT_TABLE weight
// where it lies (the mmapped checkpoint; backend-cuda.cu), because Gemma-2's table is 256000 x
// 2304 bf16 = 1.18 GB of which a prompt touches a few hundred rows (2.3 MB): on an 8 GB card
// that gigabyte decides whether the SANA-Sprint 0.6B pipeline fits (docs/cuda.md). So the op
// downloads the ids (a few hundred int32), waits for them (the one op that synchronises with
// the device: the token ids are made on the host anyway, and it runs once per prompt, before
// the layers), checks them, gathers and widens the rows on the host exactly as the CPU does
// (widen, then one fp32 multiply by the scale: the result is bit-identical to the CPU's), and
// uploads them. Because of that wait, a text-encoder pass cannot be captured whole into a CUDA
// graph; its layers after the embedding can.
//
// rope is one thread per (token, frequency) pair, over every head of the token: inv_freq, the
// angle, cos and sin as the CPU reference computes them (powf, cosf, sinf in fp32; CUDA's
// versions are within 2 ulp of glibc's, so the two agree to rounding, not bit for bit).
//
// Legend: B batch, N tokens, C = heads * dh channels, V vocabulary, D embedding width.
#include <stdlib.h>

#include "backend-cuda.h"

// ------------------------------------------------------------------------------------------------
// Embedding

void sana_cuda_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *ids, const sana_tensor *table,
                         float scale) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t N = sana_tensor_numel(ids), V = table->shape[0], D = table->shape[1];
    if (N == 0 || D == 0 || !sana_cuda_enter(be)) return;
    if (!table->data) {
        sana_cuda_fail(be, SANA_STATUS_BAD_INPUT, "embedding: the table has no data (bind it with SANA_WEIGHT_TABLE)");
        return;
    }
    int32_t *id = (int32_t *)malloc((size_t)N * sizeof *id);
    if (!id) {
        sana_cuda_fail(be, SANA_STATUS_NO_MEMORY, "embedding: out of host memory for %lld token ids", (long long)N);
        return;
    }
    // The ids (B, N) int32, made by earlier work on the stream: wait for them.
    if (!sana_cuda_check(be, cudaMemcpyAsync(id, ids->data, (size_t)N * sizeof *id, cudaMemcpyDeviceToHost, c->stream),
                         "embedding: ids download") ||
        !sana_cuda_check(be, cudaStreamSynchronize(c->stream), "embedding: ids download (an earlier op may have failed)"))
        goto done;
    for (int64_t n = 0; n < N; n++)
        if (id[n] < 0 || id[n] >= V) {
            sana_cuda_fail(be, SANA_STATUS_BAD_INPUT, "embedding: token id %d at %lld is outside the table's %lld rows",
                           id[n], (long long)n, (long long)V);
            goto done;
        }
    {
        // Rows widened and scaled into the host staging buffer (shared with the weight slot),
        // uploaded a bounded number of rows at a time.
        if (!c->staging && !(c->staging = (float *)malloc(CUDA_STAGING_ELEMS * sizeof(float)))) {
            sana_cuda_fail(be, SANA_STATUS_NO_MEMORY, "embedding: out of host memory for the staging buffer");
            goto done;
        }
        const size_t row_bytes = (size_t)D * sana_dtype_size(table->dtype);
        const int64_t per = D > (int64_t)CUDA_STAGING_ELEMS ? 1 : (int64_t)CUDA_STAGING_ELEMS / D;
        float *stage = D > (int64_t)CUDA_STAGING_ELEMS ? (float *)malloc((size_t)D * sizeof(float)) : c->staging;
        if (!stage) {
            sana_cuda_fail(be, SANA_STATUS_NO_MEMORY, "embedding: out of host memory for a %lld-wide row", (long long)D);
            goto done;
        }
        for (int64_t n0 = 0; n0 < N && !sana_backend_failed(be); n0 += per) {
            const int64_t m = N - n0 < per ? N - n0 : per;
            for (int64_t n = 0; n < m; n++) {
                float *row = stage + n * D;
                sana_widen_to_f32(row, (const char *)table->data + (size_t)id[n0 + n] * row_bytes, table->dtype,
                                  (size_t)D);
                for (int64_t d = 0; d < D; d++) row[d] *= scale;
            }
            // The staging buffer is reused for the next rows: wait for this copy.
            if (sana_cuda_check(be, cudaMemcpyAsync((float *)y->data + n0 * D, stage, (size_t)(m * D) * sizeof(float),
                                                    cudaMemcpyHostToDevice, c->stream),
                                "embedding: rows upload"))
                sana_cuda_check(be, cudaStreamSynchronize(c->stream), "embedding: rows upload");
        }
        if (stage != c->staging) free(stage);
    }
done:
    free(id);
}

// ------------------------------------------------------------------------------------------------
// Rotary position embedding

// x, y (B*N, C); item e = (row, i), i < half: the pair (i, i + half) of every head of the row.
static __global__ void rope_kernel(float *y, const float *x, int64_t N, int64_t C, int dh, int pos0, float theta,
                                   int64_t n) {
    GRID_STRIDE(e, n) {
        const int64_t half = dh / 2, i = e % half, row = e / half, tok = row % N;
        // inv_freq as transformers builds it: arange(0, dh, 2).float() / dh, base ** that, reciprocal.
        const float inv = 1.0f / powf(theta, (float)(2 * i) / (float)dh);
        const float a = (float)(pos0 + tok) * inv;
        const float cs = cosf(a), sn = sinf(a);
        const float *xr = x + row * C;
        float *yr = y + row * C;
        for (int64_t h0 = 0; h0 < C; h0 += dh) {
            const float x1 = xr[h0 + i], x2 = xr[h0 + half + i];
            yr[h0 + i] = x1 * cs - x2 * sn;
            yr[h0 + half + i] = x2 * cs + x1 * sn;
        }
    }
}

void sana_cuda_rope(sana_backend *be, sana_tensor *y, const sana_tensor *x, int head_dim, int pos0, float theta) {
    const int64_t B = x->shape[0], N = x->shape[1], C = x->shape[2], n = B * N * (head_dim / 2);
    if (n == 0 || !sana_cuda_enter(be)) return;
    rope_kernel<<<sana_cuda_blocks(n), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)x->data, N, C, head_dim, pos0, theta, n);
    sana_cuda_launched(be, "rope");
}
