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

// Pass 1, per (head, batch) block: S (d+1, d) = [V; 1] relu(K) over the N tokens,
// S[i][j] = sum_n v[n,i] k'[n,j] and S[d][j] = sum_n k'[n,j]. Tokens are staged T at a time in
// shared memory (relu(k) and v of this head: 2 T d floats); each thread owns entries e of S and
// sums them over n in order, as the reference does.
static __global__ void linear_attention_kv_kernel(float *S, const float *k, const float *v, int64_t N, int64_t D,
                                                  int d, int T) {
    extern __shared__ float sm[];
    float *kc = sm, *vc = sm + (size_t)T * d;
    const int h = blockIdx.x, heads = gridDim.x;
    const int64_t bi = blockIdx.y;
    float *Sh = S + (bi * heads + h) * (int64_t)(d + 1) * d;
    const int E = (d + 1) * d;
    for (int e0 = 0; e0 < E; e0 += blockDim.x) {
        const int e = e0 + threadIdx.x, i = e / d, j = e % d;
        float acc = 0.0f;
        for (int64_t n0 = 0; n0 < N; n0 += T) {
            const int nt = (int)(N - n0 < T ? N - n0 : T);
            __syncthreads(); // the previous chunk is consumed
            for (int t = threadIdx.x; t < nt * d; t += blockDim.x) {
                const int64_t at = (bi * N + n0 + t / d) * D + (int64_t)h * d + t % d;
                const float kv = k[at];
                kc[t] = kv > 0.0f ? kv : 0.0f;
                vc[t] = v[at];
            }
            __syncthreads();
            if (e < E)
                for (int t = 0; t < nt; t++) acc += (i < d ? vc[t * d + i] : 1.0f) * kc[t * d + j];
        }
        if (e < E) Sh[e] = acc;
    }
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
    // Tokens per shared-memory chunk: up to 32, within 32 KiB for k and v together.
    const int64_t T = d > 4096 ? 1 : (4096 / d < 32 ? 4096 / d : 32);
    const size_t smem_kv = (size_t)(2 * T * d) * sizeof(float), smem_q = (size_t)D * sizeof(float);
    if (smem_kv > 48 * 1024 || smem_q > 48 * 1024 || B > 65535) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "linear_attention: (%lld, %lld, %lld) with %d heads is beyond the "
                       "kernels' limits (head dim <= 6144, channels <= 12288)",
                       (long long)B, (long long)N, (long long)D, heads);
        return;
    }
    float *S = (float *)sana_cuda_scratch(be, (size_t)(B * heads * (d + 1) * d) * sizeof(float));
    if (!S) return;
    linear_attention_kv_kernel<<<dim3((unsigned)heads, (unsigned)B), CUDA_THREADS, smem_kv, c->stream>>>(
        S, (const float *)k->data, (const float *)v->data, N, D, (int)d, (int)T);
    if (!sana_cuda_launched(be, "linear_attention (sums)")) return;
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
