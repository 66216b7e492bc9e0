// emu.cc: the CPU stand-ins declared in emu.h (see README.md). Plain C in C++ clothing:
// coroutines for the threads of a block, malloc for device memory, naive loops for the GEMMs.
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include <functional>
#include <memory>
#include <vector>

dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
char *emu_dynamic_smem;

static cudaError_t last_error = cudaSuccess;

// ------------------------------------------------------------------------------------------------
// Threads: every GPU thread of a block is a coroutine (ucontext) on the calling thread, run in
// turn until it reaches a barrier or ends. A block barrier opens when every thread of the block
// waits at it, a warp barrier when every lane of the warp does; when neither can open and
// threads remain, the kernel has a barrier that not all threads reach (divergent
// __syncthreads): reported as a launch error.

enum { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

typedef struct ethread {
    ucontext_t ctx;
    int state;
} ethread;

static ucontext_t sched_ctx;
static ethread *threads;
static unsigned n_threads;
static unsigned cur;
static emu_body cur_body;
static void *cur_closure;
static float warp_buf[32][32];

static dim3 tid_to_dim3(unsigned t) {
    return dim3(t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y));
}

static void wait_at(int barrier) {
    threads[cur].state = barrier;
    swapcontext(&threads[cur].ctx, &sched_ctx);
}

void __syncthreads(void) { wait_at(AT_BLOCK_BARRIER); }

float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    (void)mask;
    const unsigned me = cur, warp = me / 32, lane = me % 32;
    warp_buf[warp][lane] = v;
    wait_at(AT_WARP_BARRIER); // every lane has written
    const float r = warp_buf[warp][lane ^ (unsigned)lane_mask];
    wait_at(AT_WARP_BARRIER); // every lane has read
    return r;
}

static void thread_entry(void) {
    cur_body(cur_closure);
    threads[cur].state = DONE;
    swapcontext(&threads[cur].ctx, &sched_ctx);
}

// Runs one block to its end; false on a barrier that cannot open.
static bool run_block(char *stacks, size_t stack_size) {
    for (unsigned t = 0; t < n_threads; t++) {
        getcontext(&threads[t].ctx);
        threads[t].ctx.uc_stack.ss_sp = stacks + t * stack_size;
        threads[t].ctx.uc_stack.ss_size = stack_size;
        threads[t].ctx.uc_link = NULL;
        makecontext(&threads[t].ctx, thread_entry, 0);
        threads[t].state = RUNNABLE;
    }
    for (;;) {
        for (unsigned t = 0; t < n_threads; t++) {
            if (threads[t].state != RUNNABLE) continue;
            cur = t;
            threadIdx = tid_to_dim3(t);
            swapcontext(&sched_ctx, &threads[t].ctx);
        }
        unsigned done = 0, at_block = 0;
        for (unsigned t = 0; t < n_threads; t++) {
            done += threads[t].state == DONE;
            at_block += threads[t].state == AT_BLOCK_BARRIER;
        }
        if (done == n_threads) return true;
        bool opened = false;
        if (at_block == n_threads) {
            for (unsigned t = 0; t < n_threads; t++) threads[t].state = RUNNABLE;
            opened = true;
        }
        for (unsigned w = 0; !opened && w < n_threads / 32; w++) {
            bool all = true;
            for (unsigned t = 32 * w; t < 32 * w + 32; t++) all = all && threads[t].state == AT_WARP_BARRIER;
            if (all) {
                for (unsigned t = 32 * w; t < 32 * w + 32; t++) threads[t].state = RUNNABLE;
                opened = true;
            }
        }
        if (!opened) return false;
    }
}

typedef struct smem_attr {
    const void *kernel;
    int max_dynamic;
} smem_attr;
static smem_attr attrs[64];
static int n_attrs;

cudaError_t emu_func_set_attribute(const void *f, cudaFuncAttribute a, int v) {
    if (a != cudaFuncAttributeMaxDynamicSharedMemorySize || v < 0 || v > 232448) return cudaErrorInvalidValue;
    for (int i = 0; i < n_attrs; i++)
        if (attrs[i].kernel == f) {
            attrs[i].max_dynamic = v;
            return cudaSuccess;
        }
    if (n_attrs == 64) return cudaErrorInvalidValue;
    attrs[n_attrs++] = (smem_attr){f, v};
    return cudaSuccess;
}

// The launch limits; false (and the launch error) when the configuration is refused.
static bool launch_ok(dim3 grid, dim3 block, size_t smem, const void *kernel) {
    const unsigned nt = block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || nt == 0 || nt > 1024 ||
        nt % 32 != 0) { // our kernels all use whole warps
        fprintf(stderr, "emu: bad launch grid (%u,%u,%u) block (%u,%u,%u)\n", grid.x, grid.y, grid.z, block.x,
                block.y, block.z);
        last_error = cudaErrorInvalidConfiguration;
        return false;
    }
    int allowed = 48 * 1024;
    for (int i = 0; i < n_attrs; i++)
        if (attrs[i].kernel == kernel) allowed = attrs[i].max_dynamic > allowed ? attrs[i].max_dynamic : allowed;
    if (smem > (size_t)allowed) {
        fprintf(stderr, "emu: %zu bytes of dynamic shared memory without the attribute allowing it\n", smem);
        last_error = cudaErrorInvalidValue;
        return false;
    }
    return true;
}

void emu_launch(dim3 grid, dim3 block, size_t smem, const void *kernel, emu_body body, void *closure) {
    const unsigned nt = block.x * block.y * block.z;
    if (!launch_ok(grid, block, smem, kernel)) return;
    gridDim = grid;
    blockDim = block;
    // Garbage, not zeros: a kernel must not rely on shared memory starting cleared.
    emu_dynamic_smem = (char *)malloc(smem + 16);
    memset(emu_dynamic_smem, 0xa5, smem + 16);
    const size_t stack_size = 64 * 1024;
    char *stacks = (char *)malloc(nt * stack_size);
    threads = (ethread *)calloc(nt, sizeof *threads);
    n_threads = nt;
    cur_body = body;
    cur_closure = closure;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = dim3(x, y, z);
                if (!run_block(stacks, stack_size)) {
                    fprintf(stderr, "emu: block (%u,%u,%u) has a barrier that not all its threads reach\n", x, y, z);
                    last_error = cudaErrorInvalidValue;
                    x = grid.x, y = grid.y, z = grid.z; // stop the launch
                }
            }
    free(threads);
    free(stacks);
    threads = NULL;
    free(emu_dynamic_smem);
    emu_dynamic_smem = NULL;
}

// ------------------------------------------------------------------------------------------------
// Stream capture and graphs: a recording is a list of actions run in order by cudaGraphLaunch.

struct emu_graph {
    std::vector<std::function<void()>> actions;
};
static emu_graph *capture;       // the recording in progress, or NULL
static bool capture_invalidated; // something illegal happened during it

bool emu_capturing(void) { return capture != NULL; }

void emu_record_launch(dim3 grid, dim3 block, size_t smem, const void *kernel, emu_body body, void *closure,
                       emu_deleter del) {
    if (!launch_ok(grid, block, smem, kernel)) {
        del(closure);
        return;
    }
    std::shared_ptr<void> owned(closure, del);
    capture->actions.push_back([=]() { emu_launch(grid, block, smem, kernel, body, owned.get()); });
}

static void record(std::function<void()> f) { capture->actions.push_back(std::move(f)); }

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
    (void)s, (void)mode;
    if (capture) return cudaErrorInvalidValue;
    capture = new emu_graph;
    capture_invalidated = false;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
    (void)s;
    *g = NULL;
    if (!capture) return cudaErrorInvalidValue;
    emu_graph *rec = capture;
    capture = NULL;
    if (capture_invalidated) {
        delete rec;
        return cudaErrorStreamCaptureInvalidated;
    }
    *g = rec;
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags) {
    (void)flags;
    if (!g) return cudaErrorInvalidValue;
    *exec = new emu_graph(*g);
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
    (void)s;
    if (!exec || capture) return cudaErrorInvalidValue;
    for (auto &a : exec->actions) a();
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}

// ------------------------------------------------------------------------------------------------
// Runtime

float __half2float(__half h) {
    const uint32_t s = (uint32_t)(h.x >> 15) << 31, e = (h.x >> 10) & 0x1f, m = h.x & 0x3ff;
    float f;
    if (e == 0)
        f = ldexpf((float)m, -24);
    else if (e == 31)
        f = m ? NAN : INFINITY;
    else
        f = ldexpf((float)(m | 0x400), (int)e - 25);
    uint32_t u;
    memcpy(&u, &f, 4);
    u |= s;
    memcpy(&f, &u, 4);
    return f;
}

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    }
    return "cudaErrorUnknown";
}
const char *cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
cudaError_t cudaGetLastError(void) {
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}
cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *v) {
    *v = 13000;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    (void)d;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CPU emulation of a CUDA device");
    p->major = 9;
    p->minor = 0;
    p->totalGlobalMem = (size_t)8 << 30;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d) {
    (void)d;
    *v = a == cudaDevAttrMaxSharedMemoryPerBlockOptin ? 232448 : 0;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void **p, size_t n) {
    *p = aligned_alloc(256, (n + 255) & ~(size_t)255);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) {
    free(p);
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) {
    *free_b = (size_t)4 << 30;
    *total_b = (size_t)8 << 30;
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind k, cudaStream_t s) {
    (void)s;
    if (capture) {
        if (k != cudaMemcpyDeviceToDevice) {
            capture_invalidated = true;
            return cudaErrorStreamCaptureUnsupported;
        }
        record([=]() { memmove(dst, src, n); });
        return cudaSuccess;
    }
    memmove(dst, src, n);
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t n) {
    *p = malloc(n ? n : 1);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFreeHost(void *p) {
    free(p);
    return cudaSuccess;
}

// Events: the host clock when recorded (the emulation runs every op as it is enqueued).
struct emu_event {
    double ms;
    bool recorded;
};
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = (emu_event *)calloc(1, sizeof(emu_event));
    return *e ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    free(e);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    (void)s;
    if (!e || capture) return cudaErrorInvalidValue;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e->ms = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    e->recorded = true;
    return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!a || !b || !a->recorded || !b->recorded) return cudaErrorInvalidValue;
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    (void)flags;
    *s = (cudaStream_t)malloc(1);
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    free(s);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    (void)s;
    if (capture) {
        capture_invalidated = true;
        return cudaErrorStreamCaptureUnsupported;
    }
    return cudaSuccess;
}

// ------------------------------------------------------------------------------------------------
// cuBLAS and cuBLASLt: D = alpha op(A) op(B) + beta C, column-major, naive loops in double.

struct emu_blas {
    int unused;
};
struct emu_desc {
    cublasComputeType_t compute;
    cudaDataType_t scale;
    cublasOperation_t ta, tb;
    cublasLtEpilogue_t epilogue;
    const void *bias;
    int bias_type; // -1: the D type
};
struct emu_layout {
    cudaDataType_t type;
    uint64_t rows, cols;
    int64_t ld;
};
struct emu_pref {
    uint32_t align[4];
};

const char *cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}
const char *cublasGetStatusString(cublasStatus_t s) { return cublasGetStatusName(s); }

static struct emu_blas the_handle;
cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = &the_handle;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
    (void)h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    (void)h, (void)s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t n) {
    (void)h, (void)ws, (void)n;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) { return cublasCreate(h); }
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) { return cublasDestroy(h); }

static double elem(const void *p, cudaDataType_t t, int64_t i) {
    if (t == CUDA_R_16BF) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    if (t == CUDA_R_16F) return __half2float(((const __half *)p)[i]);
    return ((const float *)p)[i];
}

// The core of both APIs. Matrices are column-major: X(r, c) = X[c * ld + r]. op(A) is m x k,
// op(B) k x n, C and D m x n.
static bool gemm_ok(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, int64_t lda,
                    int64_t ldb, int64_t ldc, int64_t ldd) {
    return !(m < 0 || n < 0 || k < 0 || lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) ||
             ldc < m || ldd < m || lda < 1 || ldb < 1 || ldd < 1);
}

static cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, float alpha,
                           const void *A, cudaDataType_t at, int64_t lda, const void *B, cudaDataType_t bt,
                           int64_t ldb, float beta, const float *C, int64_t ldc, float *D, int64_t ldd,
                           const float *bias) {
    if (!gemm_ok(ta, tb, m, n, k, lda, ldb, ldc, ldd)) return CUBLAS_STATUS_INVALID_VALUE;
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < m; i++) {
            double s = 0;
            for (int64_t l = 0; l < k; l++) {
                double a = ta == CUBLAS_OP_N ? elem(A, at, l * lda + i) : elem(A, at, i * lda + l);
                double b = tb == CUBLAS_OP_N ? elem(B, bt, j * ldb + l) : elem(B, bt, l * ldb + j);
                s += a * b;
            }
            double v = alpha * s + (beta != 0.0f ? beta * C[j * ldc + i] : 0.0);
            if (bias) v += bias[i];
            D[j * ldd + i] = (float)v;
        }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType_t at, int lda, const void *B,
                            cudaDataType_t bt, int ldb, const void *beta, void *C, cudaDataType_t ct, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    (void)h, (void)algo;
    if (ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    const float al = *(const float *)alpha, be = *(const float *)beta;
    if (capture) {
        if (!gemm_ok(ta, tb, m, n, k, lda, ldb, ldc, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
        record([=]() { gemm(ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, (float *)C, ldc, (float *)C, ldc, NULL); });
        return CUBLAS_STATUS_SUCCESS;
    }
    return gemm(ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, (float *)C, ldc, (float *)C, ldc, NULL);
}

static size_t type_size(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

// Batch i multiplies A + i sa, B + i sb into C + i sc (strides in elements). The batches may not
// overlap in C (cuBLAS leaves that undefined): checked, as are negative strides and counts.
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void *alpha, const void *A, cudaDataType_t at, int lda,
                                          long long sa, const void *B, cudaDataType_t bt, int ldb, long long sb,
                                          const void *beta, void *C, cudaDataType_t ct, int ldc, long long sc,
                                          int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    (void)h, (void)algo;
    if (ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (batch < 0 || sa < 0 || sb < 0 || sc < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (batch > 1 && m > 0 && n > 0 && sc < (long long)(n - 1) * ldc + m) return CUBLAS_STATUS_INVALID_VALUE;
    if (capture) {
        if (!gemm_ok(ta, tb, m, n, k, lda, ldb, ldc, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
        const float al = *(const float *)alpha, be = *(const float *)beta;
        record([=]() {
            cublasGemmStridedBatchedEx(NULL, ta, tb, m, n, k, &al, A, at, lda, sa, B, bt, ldb, sb, &be, C, ct, ldc, sc,
                                       batch, compute, CUBLAS_GEMM_DEFAULT);
        });
        return CUBLAS_STATUS_SUCCESS;
    }
    for (int i = 0; i < batch; i++) {
        cublasStatus_t s = gemm(ta, tb, m, n, k, *(const float *)alpha, (const char *)A + i * sa * type_size(at), at,
                                lda, (const char *)B + i * sb * type_size(bt), bt, ldb, *(const float *)beta,
                                (float *)C + i * sc, ldc, (float *)C + i * sc, ldc, NULL);
        if (s != CUBLAS_STATUS_SUCCESS) return s;
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale) {
    *d = (emu_desc *)calloc(1, sizeof(emu_desc));
    (*d)->compute = compute;
    (*d)->scale = scale;
    (*d)->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    (*d)->bias_type = -1;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    free(d);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *v,
                                              size_t n) {
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
    case CUBLASLT_MATMUL_DESC_TRANSB:
        if (n != sizeof(int32_t)) return CUBLAS_STATUS_INVALID_VALUE;
        *(a == CUBLASLT_MATMUL_DESC_TRANSA ? &d->ta : &d->tb) = (cublasOperation_t) * (const int32_t *)v;
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_EPILOGUE:
        if (n != sizeof(uint32_t)) return CUBLAS_STATUS_INVALID_VALUE;
        d->epilogue = (cublasLtEpilogue_t) * (const uint32_t *)v;
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
        if (n != sizeof(void *)) return CUBLAS_STATUS_INVALID_VALUE;
        memcpy(&d->bias, v, sizeof(void *));
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
        if (n != sizeof(int32_t)) return CUBLAS_STATUS_INVALID_VALUE;
        d->bias_type = *(const int32_t *)v;
        return CUBLAS_STATUS_SUCCESS;
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}
cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType_t t, uint64_t rows, uint64_t cols,
                                          int64_t ld) {
    if (ld < (int64_t)rows) return CUBLAS_STATUS_INVALID_VALUE;
    *l = (emu_layout *)calloc(1, sizeof(emu_layout));
    **l = (emu_layout){t, rows, cols, ld};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    free(l);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    *p = (emu_pref *)calloc(1, sizeof(emu_pref));
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    free(p);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t a, const void *v, size_t n) {
    if (a == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES) return n == sizeof(uint64_t) ? CUBLAS_STATUS_SUCCESS
                                                                                    : CUBLAS_STATUS_INVALID_VALUE;
    if (a < CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES || a > CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES ||
        n != sizeof(uint32_t))
        return CUBLAS_STATUS_INVALID_VALUE;
    p->align[a - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES] = *(const uint32_t *)v;
    return CUBLAS_STATUS_SUCCESS;
}

// Checks a layout against op(X) of r x c.
static bool shape_ok(const emu_layout *l, cublasOperation_t t, uint64_t r, uint64_t c) {
    return t == CUBLAS_OP_N ? l->rows == r && l->cols == c : l->rows == c && l->cols == r;
}

// EMU_LT_NOALGO=1 makes the heuristic find nothing (the cublasGemmEx fallback runs).
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
                                              cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                                              cublasLtMatrixLayout_t dl, cublasLtMatmulPreference_t p, int want,
                                              cublasLtMatmulHeuristicResult_t *res, int *found) {
    (void)h, (void)p, (void)c;
    *found = 0;
    if (want < 1) return CUBLAS_STATUS_INVALID_VALUE;
    const char *no = getenv("EMU_LT_NOALGO");
    if (no && no[0] == '1') return CUBLAS_STATUS_NOT_SUPPORTED;
    const uint64_t m = dl->rows, n = dl->cols, k = d->ta == CUBLAS_OP_N ? a->cols : a->rows;
    if (!shape_ok(a, d->ta, m, k) || !shape_ok(b, d->tb, k, n)) return CUBLAS_STATUS_INVALID_VALUE;
    memset(res, 0, sizeof *res);
    res->state = CUBLAS_STATUS_SUCCESS;
    *found = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t al, const void *B, cublasLtMatrixLayout_t bl, const void *beta,
                              const void *C, cublasLtMatrixLayout_t cl, void *D, cublasLtMatrixLayout_t dl,
                              const cublasLtMatmulAlgo_t *algo, void *ws, size_t wsn, cudaStream_t s) {
    (void)h, (void)algo, (void)ws, (void)wsn, (void)s;
    if (d->compute != CUBLAS_COMPUTE_32F || d->scale != CUDA_R_32F || cl->type != CUDA_R_32F ||
        dl->type != CUDA_R_32F)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    const uint64_t m = dl->rows, n = dl->cols, k = d->ta == CUBLAS_OP_N ? al->cols : al->rows;
    if (!shape_ok(al, d->ta, m, k) || !shape_ok(bl, d->tb, k, n) || cl->rows != m || cl->cols != n)
        return CUBLAS_STATUS_INVALID_VALUE;
    const float *bias = NULL;
    if (d->epilogue == CUBLASLT_EPILOGUE_BIAS) {
        if (!d->bias || (d->bias_type != -1 && d->bias_type != CUDA_R_32F)) return CUBLAS_STATUS_INVALID_VALUE;
        bias = (const float *)d->bias; // length m: the rows of D
    }
    if (capture) { // the descriptors' values are part of the recording
        if (!gemm_ok(d->ta, d->tb, (int64_t)m, (int64_t)n, (int64_t)k, al->ld, bl->ld, cl->ld, dl->ld))
            return CUBLAS_STATUS_INVALID_VALUE;
        const emu_desc dv = *d;
        const emu_layout av = *al, bv = *bl, cv = *cl, dlv = *dl;
        const float alv = *(const float *)alpha, bev = *(const float *)beta;
        record([=]() {
            emu_desc d2 = dv;
            emu_layout a2 = av, b2 = bv, c2 = cv, dl2 = dlv;
            cublasLtMatmul(NULL, &d2, &alv, A, &a2, B, &b2, &bev, C, &c2, D, &dl2, NULL, NULL, 0, NULL);
        });
        return CUBLAS_STATUS_SUCCESS;
    }
    return gemm(d->ta, d->tb, (int64_t)m, (int64_t)n, (int64_t)k, *(const float *)alpha, A, al->type, al->ld, B,
                bl->type, bl->ld, *(const float *)beta, (const float *)C, cl->ld, (float *)D, dl->ld, bias);
}
