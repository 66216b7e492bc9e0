// attention.cu: SANA's ReLU linear attention, softmax attention and the sinusoidal timestep
// embedding, in fp32.
//
// Mirrors cpu_linear_attention, cpu_attention and cpu_timestep_embedding
// (core/cpu/backend-cpu.c); the sums run in the reference's order where each is one thread's
// loop. These are the simple kernels: linear attention in two passes (per-head sums S, then
// per-token outputs), softmax attention with one block per (query, head) holding that query's
// logits in shared memory. Fused and tiled versions come later with benchmarks.
//
// Legend: B batch, N tokens, D = heads * d channels; Nq queries, Nk keys, dh head dim.
#include "backend-cuda.h"

// ------------------------------------------------------------------------------------------------
// Linear attention

// Pass 1: per head hg, S (d+1, d) = [V; 1] relu(K) over its N tokens: S[i][j] = sum_n v[n,i]
// k'[n,j], S[d][j] = sum_n k'[n,j]. Shared with DC-AE's packed attention (image.cu), so the
// tensors are described by strides: token n, channel ch of head hg is at
// (hg / H1) * s_outer + (hg % H1) * s_inner + n * sn + ch * sc from k (and v).
//
// The tokens are split among `splits` blocks per head (grid y) so that a few heads still fill the
// GPU; each block stages T tokens of relu(k) and v in shared memory at a time (read along the
// contiguous axis: coalesced) and every thread accumulates up to LA_PER_THREAD entries of S in
// registers over them, so a chunk is staged once for all entries. Partial sums go to part
// (splits, HG, E) and la_reduce_kernel adds them in split order (deterministic). With one split
// the block writes S directly. Summation order: per split in token order, then over splits
// (fp32; the CPU sums in its own order: NMSE ~1e-14).
#define LA_PER_THREAD 8

static __global__ void la_sums_kernel(float *part, const float *k, const float *v, int64_t H1, int64_t s_outer,
                                      int64_t s_inner, int64_t N, int64_t sn, int64_t sc, int d, int T,
                                      int64_t per_split) {
    extern __shared__ float sm[];
    float *kc = sm, *vc = sm + (size_t)T * d;
    const int64_t hg = blockIdx.x, HG = gridDim.x, split = blockIdx.y;
    const int64_t off = (hg / H1) * s_outer + (hg % H1) * s_inner;
    const float *K = k + off, *V = v + off;
    const int E = (d + 1) * d;
    const int64_t n_lo = split * per_split, n_hi = n_lo + per_split < N ? n_lo + per_split : N;
    float *P = part + (split * HG + hg) * (int64_t)E;
    for (int e0 = 0; e0 < E; e0 += LA_PER_THREAD * (int)blockDim.x) {
        float acc[LA_PER_THREAD];
        for (int r = 0; r < LA_PER_THREAD; r++) acc[r] = 0.0f;
        for (int64_t n0 = n_lo; n0 < n_hi; n0 += T) {
            const int nt = (int)(n_hi - n0 < T ? n_hi - n0 : T);
            __syncthreads(); // the previous chunk is consumed
            for (int t = threadIdx.x; t < nt * d; t += blockDim.x) {
                const int m = sn == 1 ? t % nt : t / d, ch = sn == 1 ? t / nt : t % d;
                const int64_t at = (n0 + m) * sn + ch * sc;
                const float kv = K[at];
                kc[m * d + ch] = kv > 0.0f ? kv : 0.0f;
                vc[m * d + ch] = V[at];
            }
            __syncthreads();
            for (int r = 0; r < LA_PER_THREAD; r++) {
                const int e = e0 + r * (int)blockDim.x + (int)threadIdx.x, i = e / d, j = e % d;
                if (e >= E) break;
                float a = acc[r];
                if (i < d)
                    for (int m = 0; m < nt; m++) a += vc[m * d + i] * kc[m * d + j];
                else
                    for (int m = 0; m < nt; m++) a += kc[m * d + j];
                acc[r] = a;
            }
        }
        for (int r = 0; r < LA_PER_THREAD; r++) {
            const int e = e0 + r * (int)blockDim.x + (int)threadIdx.x;
            if (e < E) P[e] = acc[r];
        }
    }
}

// S (n) = sum over the splits of part (splits, n), in split order.
static __global__ void la_reduce_kernel(float *S, const float *part, int64_t splits, int64_t n) {
    GRID_STRIDE(e, n) {
        float s = 0.0f;
        for (int64_t p = 0; p < splits; p++) s += part[p * n + e];
        S[e] = s;
    }
}

float *sana_cuda_linear_attention_sums(sana_backend *be, const float *k, const float *v, int64_t HG, int64_t H1,
                                       int64_t s_outer, int64_t s_inner, int64_t N, int64_t sn, int64_t sc, int d,
                                       const char *what) {
    cuda_ctx *c = sana_cuda_ctx(be);
    // Tokens per shared-memory chunk: up to 32, within 32 KiB for k and v together.
    const int64_t T = d > 4096 ? 1 : (4096 / d < 32 ? 4096 / d : 32), E = (int64_t)(d + 1) * d;
    const size_t smem = (size_t)(2 * T * d) * sizeof(float);
    // Blocks: about four per multiprocessor of an H100 over all heads, and at most 32 chunks of
    // tokens per block; at least two chunks per split.
    const int64_t chunks = (N + T - 1) / T;
    int64_t splits = (528 + HG - 1) / HG;
    if (splits < (chunks + 31) / 32) splits = (chunks + 31) / 32;
    if (splits > (chunks + 1) / 2) splits = (chunks + 1) / 2;
    if (splits < 1) splits = 1;
    if (splits > 65535) splits = 65535;
    const int64_t per_split = ((chunks + splits - 1) / splits) * T;
    splits = (N + per_split - 1) / per_split;
    if (smem > 48 * 1024 || HG > INT32_MAX) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "%s: %lld heads of dim %d are beyond the kernels' limits", what,
                       (long long)HG, d);
        return NULL;
    }
    const size_t s_bytes = ((size_t)(HG * E) * sizeof(float) + 255) & ~(size_t)255;
    float *S = (float *)sana_cuda_scratch(be, s_bytes + (splits > 1 ? (size_t)(splits * HG * E) * sizeof(float) : 0));
    if (!S) return NULL;
    float *part = splits > 1 ? (float *)((char *)S + s_bytes) : S;
    la_sums_kernel<<<dim3((unsigned)HG, (unsigned)splits), CUDA_THREADS, smem, c->stream>>>(part, k, v, H1, s_outer,
                                                                                         s_inner, N, sn, sc, d, (int)T,
                                                                                         per_split);
    if (!sana_cuda_launched(be, what)) return NULL;
    if (splits > 1) {
        la_reduce_kernel<<<sana_cuda_blocks(HG * E), CUDA_THREADS, 0, c->stream>>>(S, part, splits, HG * E);
        if (!sana_cuda_launched(be, what)) return NULL;
    }
    return S;
}

// Pass 2, per token (b, n): o[h*d + i] = (S_h[i] . q'_h) / (S_h[d] . q'_h + eps), q' = relu(q).
// The token's q' is staged in shared memory first, so o may alias q.
static __global__ void linear_attention_out_kernel(float *o, const float *q, const float *S, int64_t BN, int64_t N,
                                                   int64_t D, int d, int heads, float eps) {
    extern __shared__ float qs[];
    for (int64_t tok = blockIdx.x; tok < BN; tok += gridDim.x) {
        const int64_t bi = tok / N;
        __syncthreads(); // the previous token's qs is consumed
        for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
            const float qv = q[tok * D + c];
            qs[c] = qv > 0.0f ? qv : 0.0f;
        }
        __syncthreads();
        for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
            const int h = (int)(c / d), i = (int)(c % d);
            const float *Sh = S + (bi * heads + h) * (int64_t)(d + 1) * d;
            const float *qh = qs + (int64_t)h * d;
            float num = 0.0f, den = 0.0f;
            for (int j = 0; j < d; j++) num += Sh[i * d + j] * qh[j];
            for (int j = 0; j < d; j++) den += Sh[d * d + j] * qh[j];
            o[tok * D + c] = num / (den + eps);
        }
    }
}

void sana_cuda_linear_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q, const sana_tensor *k,
                                const sana_tensor *v, int heads, float eps) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t B = q->shape[0], N = q->shape[1], D = q->shape[2], d = D / heads;
    if (B * N * D == 0 || !sana_cuda_enter(be)) return;
    const size_t smem_q = (size_t)D * sizeof(float);
    if (smem_q > 48 * 1024 || d > 4096) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "linear_attention: (%lld, %lld, %lld) with %d heads is beyond the "
                       "kernels' limits (head dim <= 4096, channels <= 12288)",
                       (long long)B, (long long)N, (long long)D, heads);
        return;
    }
    // Head hg = (batch, head): token n, channel ch at (hg / heads) N D + (hg % heads) d + n D + ch.
    float *S = sana_cuda_linear_attention_sums(be, (const float *)k->data, (const float *)v->data, B * heads, heads,
                                               N * D, d, N, D, 1, (int)d, "linear_attention (sums)");
    if (!S) return;
    const int64_t BN = B * N;
    linear_attention_out_kernel<<<(unsigned)(BN > 65535 ? 65535 : BN), CUDA_THREADS, smem_q, c->stream>>>(
        (float *)o->data, (const float *)q->data, S, BN, N, D, (int)d, heads, eps);
    sana_cuda_launched(be, "linear_attention");
}

// ------------------------------------------------------------------------------------------------
// Softmax attention

// One block per (query i, head h, batch b): logits of the Nk keys into shared memory (scale q.k,
// soft-capping, key bias, causal and window masks as exactly 0 weight), softmax, then o = P v.
// Query head h reads kv head h / (Hq / Hkv). The query is staged in shared memory first, so o
// may alias q.
static __global__ void attention_kernel(float *o, const float *q, const float *k, const float *v, const float *kb,
                                        int64_t Nq, int64_t Nk, int Hq, int Hkv, int dh, float scale, float softcap,
                                        int causal, int window, int q_offset) {
    extern __shared__ float sm[];
    float *qs = sm, *p = sm + dh;
    const int64_t i = blockIdx.x, bi = blockIdx.z;
    const int h = blockIdx.y, hk = h / (Hq / Hkv);
    const int64_t ldq = (int64_t)Hq * dh, ldk = (int64_t)Hkv * dh;
    const float *Q = q + (bi * Nq + i) * ldq + (int64_t)h * dh;
    const float *K = k + bi * Nk * ldk + (int64_t)hk * dh;
    const float *V = v + bi * Nk * ldk + (int64_t)hk * dh;
    for (int c = threadIdx.x; c < dh; c += blockDim.x) qs[c] = Q[c];
    __syncthreads();

    const int64_t pos = i + q_offset;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < Nk; j += blockDim.x) {
        const bool visible = (!causal || j <= pos) && (window <= 0 || j > pos - window);
        const float *Kj = K + j * ldk;
        float dot = 0.0f;
        for (int c = 0; c < dh; c++) dot += qs[c] * Kj[c];
        float l = scale * dot;
        if (softcap > 0.0f) l = softcap * tanhf(l / softcap);
        if (kb) l += kb[bi * Nk + j];
        l = visible ? l : -INFINITY;
        p[j] = l;
        mx = fmaxf(mx, l);
    }
    mx = sana_block_max(mx);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < Nk; j += blockDim.x) {
        const float e = mx == -INFINITY ? 0.0f : expf(p[j] - mx);
        p[j] = e;
        sum += e;
    }
    sum = sana_block_sum(sum); // its barriers also publish p[]
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    float *O = o + (bi * Nq + i) * ldq + (int64_t)h * dh;
    for (int c = threadIdx.x; c < dh; c += blockDim.x) {
        float acc = 0.0f;
        for (int64_t j = 0; j < Nk; j++) acc += p[j] * V[j * ldk + c];
        O[c] = acc * inv;
    }
}

#define ATTN_THREADS 128

void sana_cuda_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q, const sana_tensor *k,
                         const sana_tensor *v, const sana_tensor *key_bias, const sana_attn_params *p) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t B = q->shape[0], Nq = q->shape[1], Nk = k->shape[1];
    if (B * Nq == 0 || !sana_cuda_enter(be)) return;
    if (key_bias && key_bias->dtype != SANA_DTYPE_F32) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "attention: the key bias is %s; expected an F32 activation",
                       sana_dtype_name(key_bias->dtype));
        return;
    }
    // Dynamic shared memory: the query and its logits (the block reductions add 256 bytes).
    const size_t smem = (size_t)(p->head_dim + Nk) * sizeof(float);
    if (Nq > INT32_MAX || p->n_heads > 65535 || B > 65535 || smem + 1024 > (size_t)c->smem_optin) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED,
                       "attention: %lld queries x %lld keys (head dim %d, %d heads, batch %lld) is beyond the kernel's "
                       "limits (it keeps a query's logits in %d bytes of shared memory)",
                       (long long)Nq, (long long)Nk, p->head_dim, p->n_heads, (long long)B, c->smem_optin);
        return;
    }
    if (smem > 48 * 1024 &&
        !sana_cuda_check(be, cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                         "attention: cudaFuncSetAttribute"))
        return;
    attention_kernel<<<dim3((unsigned)Nq, (unsigned)p->n_heads, (unsigned)B), ATTN_THREADS, smem, c->stream>>>(
        (float *)o->data, (const float *)q->data, (const float *)k->data, (const float *)v->data,
        key_bias ? (const float *)key_bias->data : NULL, Nq, Nk, p->n_heads, p->n_kv_heads, p->head_dim, p->scale,
        p->softcap, p->causal, p->window, p->q_offset);
    sana_cuda_launched(be, "attention");
}

// ------------------------------------------------------------------------------------------------
// Timestep embedding

// y (B, 2 half) = [cos(t f_k), sin(t f_k)], f_k = exp(neg_log k / half); neg_log = -ln(max_period)
// comes from the host (the reference's logf), the rest is the reference's expression.
static __global__ void timestep_embedding_kernel(float *y, const float *t, int64_t half, float neg_log, int64_t n) {
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t bi = idx / half, i = idx % half;
        const float e = expf(neg_log * (float)i / (float)half);
        const float a = t[bi] * e;
        y[bi * 2 * half + i] = cosf(a);
        y[bi * 2 * half + half + i] = sinf(a);
    }
}

void sana_cuda_timestep_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *t, float max_period) {
    const int64_t B = y->shape[0], half = y->shape[1] / 2;
    if (B * half == 0 || !sana_cuda_enter(be)) return;
    if (t->dtype != SANA_DTYPE_F32) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "timestep_embedding: t is %s; expected an F32 activation",
                       sana_dtype_name(t->dtype));
        return;
    }
    timestep_embedding_kernel<<<sana_cuda_blocks(B * half), CUDA_THREADS, 0, sana_cuda_ctx(be)->stream>>>(
        (float *)y->data, (const float *)t->data, half, -logf(max_period), B * half);
    sana_cuda_launched(be, "timestep_embedding");
}
