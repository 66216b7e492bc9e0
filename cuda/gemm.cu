// gemm.cu: linear (y = x w^T + b) through cuBLASLt, bf16 operands, fp32 accumulation and output.
//
// Mirrors cpu_linear (core/cpu/backend-cpu.c). Weights arrive as bf16 from the weight slot;
// the activation x is fp32 (the op interface) and is rounded to bf16 into the scratch buffer
// first. The fp32 bias (N) is added by cuBLASLt's BIAS epilogue when the chosen kernel allows;
// otherwise by a small kernel after the GEMM.
//
// Layout: cuBLAS is column-major, so the row-major y (M, N) is computed as the column-major
// y^T (N, M) = w (N, K) . x^T (K, M): A = w seen as column-major (K, N) with ld K, transposed;
// B = x seen as column-major (K, M) with ld K; D = y^T with ld N. This "TN" form is the one
// cuBLASLt serves best.
//
// Fallback: when cuBLASLt offers no algorithm for a shape and the pointers' alignment (odd K
// gives rows that are not 16-byte aligned), cublasGemmEx runs the same product; forced with
// SANA_CUDA_GEMM=gemmex so the op test can check that path too.
#include <string.h>

#include "backend-cuda.h"

// x (n) fp32 -> bf16, round to nearest even (as sana_f32_to_bf16 and PyTorch).
static __global__ void to_bf16_kernel(__nv_bfloat16 *y, const float *x, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __float2bfloat16_rn(x[i]);
}

// y (M, N): y[m, n] = (accumulate ? y[m, n] : 0) + (b ? b[n] : 0)
static __global__ void bias_rows_kernel(float *y, const void *b, int b_dtype, int64_t M, int64_t N,
                                        int accumulate) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < M * N; i += (int64_t)gridDim.x * blockDim.x) {
        float v = accumulate ? y[i] : 0.0f;
        if (b) v += sana_ld(b, b_dtype, i % N);
        y[i] = v;
    }
}

// The largest power of two, up to 256, that divides the address.
static uint32_t align_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint32_t al = 256;
    while (al > 1 && (a & (al - 1))) al >>= 1;
    return al;
}

// The remembered heuristic answer for this key, asking cuBLASLt on a miss ("not supported"
// counts as no algorithm: the caller falls back to cublasGemmEx, which takes any shape). NULL
// with a sticky error when cuBLASLt fails otherwise (invalid descriptors: a bug here).
static cuda_gemm_plan *gemm_plan(sana_backend *be, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t la,
                                       cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t ld, const cuda_gemm_plan *key) {
    cuda_ctx *c = sana_cuda_ctx(be);
    for (int i = 0; i < c->n_plans; i++) {
        cuda_gemm_plan *p = &c->plans[i];
        if (p->M == key->M && p->N == key->N && p->K == key->K && p->align_a == key->align_a &&
            p->align_b == key->align_b && p->align_d == key->align_d && p->align_bias == key->align_bias)
            return p;
    }
    cublasLtMatmulPreference_t pref = NULL;
    if (!sana_cuda_check_blas(be, cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate")) return NULL;
    uint64_t ws = CUDA_WORKSPACE_BYTES;
    uint32_t aa = key->align_a, ab = key->align_b, ad = key->align_d;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aa, sizeof aa);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ab, sizeof ab);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ad, sizeof ad);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ad, sizeof ad);
    cublasLtMatmulHeuristicResult_t res;
    memset(&res, 0, sizeof res);
    int found = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(c->lt, desc, la, lb, ld, ld, pref, 1, &res, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) {
        sana_cuda_check_blas(be, st, "cublasLtMatmulAlgoGetHeuristic");
        return NULL;
    }
    cuda_gemm_plan *p = &c->plans[c->n_plans < CUDA_GEMM_CACHE ? c->n_plans++ : c->next_plan++ % CUDA_GEMM_CACHE];
    *p = *key;
    p->has_algo = st == CUBLAS_STATUS_SUCCESS && found > 0 && res.state == CUBLAS_STATUS_SUCCESS;
    if (p->has_algo)
        p->algo = res.algo;
    else if (c->log)
        c->log(SANA_LOG_INFO, "%s: linear M=%lld N=%lld K=%lld (alignments %u/%u/%u, bias %u): no cuBLASLt algorithm "
               "(%s), using cublasGemmEx", c->label, (long long)key->M, (long long)key->N, (long long)key->K,
               key->align_a, key->align_b, key->align_d, key->align_bias,
               st == CUBLAS_STATUS_SUCCESS ? "none found" : cublasGetStatusName(st));
    return p;
}

// y^T (N, M) = w^T x through cuBLASLt, with the bias epilogue when `bias` is given. Returns
// false without an error when cuBLASLt has no algorithm (the caller falls back).
static bool lt_matmul(sana_backend *be, float *y, const void *xb, const void *w, const float *bias, int64_t M,
                      int64_t N, int64_t K) {
    cuda_ctx *c = sana_cuda_ctx(be);
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
    bool ran = false;
    const cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
    if (!sana_cuda_check_blas(be, cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                              "cublasLtMatmulDescCreate") ||
        !sana_cuda_check_blas(be, cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, (uint64_t)K, (uint64_t)N, K),
                              "cublasLtMatrixLayoutCreate") ||
        !sana_cuda_check_blas(be, cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, (uint64_t)K, (uint64_t)M, K),
                              "cublasLtMatrixLayoutCreate") ||
        !sana_cuda_check_blas(be, cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, (uint64_t)N, (uint64_t)M, N),
                              "cublasLtMatrixLayoutCreate"))
        goto done;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN);
    if (bias) {
        const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
        const cudaDataType_t bt = CUDA_R_32F;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
    }
    {
        cuda_gemm_plan key;
        memset(&key, 0, sizeof key);
        key.M = M;
        key.N = N;
        key.K = K;
        key.align_a = align_of(w);
        key.align_b = align_of(xb);
        key.align_d = align_of(y);
        key.align_bias = bias ? align_of(bias) : 0;
        cuda_gemm_plan *plan = gemm_plan(be, desc, la, lb, ld, &key);
        if (!plan || !plan->has_algo) goto done;
        const float one = 1.0f, zero = 0.0f;
        cublasStatus_t st = cublasLtMatmul(c->lt, desc, &one, w, la, xb, lb, &zero, y, ld, y, ld, &plan->algo,
                                           c->workspace, CUDA_WORKSPACE_BYTES, c->stream);
        if (st == CUBLAS_STATUS_NOT_SUPPORTED) { // refused after all: remember, and fall back
            plan->has_algo = false;
            if (c->log)
                c->log(SANA_LOG_INFO, "%s: linear M=%lld N=%lld K=%lld: cublasLtMatmul refused its algorithm, using "
                       "cublasGemmEx", c->label, (long long)M, (long long)N, (long long)K);
            goto done;
        }
        ran = sana_cuda_check_blas(be, st, "cublasLtMatmul");
    }
done:
    if (ld) cublasLtMatrixLayoutDestroy(ld);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (desc) cublasLtMatmulDescDestroy(desc);
    return ran;
}

void sana_cuda_linear(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                      const sana_tensor *b) {
    cuda_ctx *c = sana_cuda_ctx(be);
    const int64_t M = sana_tensor_rows(x), K = sana_tensor_dim(x, -1), N = w->shape[0];
    if (w->dtype != SANA_DTYPE_BF16) {
        sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED,
                       "linear: the weight is %s; the CUDA backend multiplies the BF16 weights its weight slot makes",
                       sana_dtype_name(w->dtype));
        return;
    }
    if (M == 0 || N == 0 || !sana_cuda_enter(be)) return;
    if (K == 0) { // y = b, or 0
        bias_rows_kernel<<<sana_cuda_blocks(M * N), CUDA_THREADS, 0, c->stream>>>(
            (float *)y->data, b ? b->data : NULL, b ? (int)b->dtype : 0, M, N, 0);
        sana_cuda_launched(be, "linear (K = 0)");
        return;
    }
    // x (M, K) fp32 -> bf16 in the scratch buffer
    __nv_bfloat16 *xb = (__nv_bfloat16 *)sana_cuda_scratch(be, (size_t)(M * K) * sizeof(__nv_bfloat16));
    if (!xb) return;
    to_bf16_kernel<<<sana_cuda_blocks(M * K), CUDA_THREADS, 0, c->stream>>>(xb, (const float *)x->data, M * K);
    if (!sana_cuda_launched(be, "linear: to bf16")) return;

    // The epilogue reads the bias as fp32; cuBLASLt wants it 16-byte aligned.
    const bool epilogue = b && b->dtype == SANA_DTYPE_F32 && align_of(b->data) >= 16;
    bool done = false;
    if (!c->force_gemmex) {
        done = lt_matmul(be, (float *)y->data, xb, w->data, epilogue ? (const float *)b->data : NULL, M, N, K);
        if (sana_backend_failed(be)) return;
        if (done && epilogue) return;
    }
    if (!done) {
        if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) {
            sana_cuda_fail(be, SANA_STATUS_UNSUPPORTED, "linear: no cuBLASLt algorithm for M=%lld N=%lld K=%lld",
                           (long long)M, (long long)N, (long long)K);
            return;
        }
        const float one = 1.0f, zero = 0.0f;
        if (!sana_cuda_check_blas(be,
                                  cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, w->data,
                                               CUDA_R_16BF, (int)K, xb, CUDA_R_16BF, (int)K, &zero, y->data,
                                               CUDA_R_32F, (int)N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                                  "cublasGemmEx"))
            return;
    }
    if (b) {
        bias_rows_kernel<<<sana_cuda_blocks(M * N), CUDA_THREADS, 0, c->stream>>>((float *)y->data, b->data,
                                                                                 (int)b->dtype, M, N, 1);
        sana_cuda_launched(be, "linear: bias");
    }
}
