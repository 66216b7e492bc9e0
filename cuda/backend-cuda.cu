// backend-cuda.cu: the CUDA backend module: its entry point, memory, weights, errors, vtable.
//
// Built as libsana-cuda.so and loaded at run time by core/backend.c (sana_backend_cuda_new), so
// the core itself never links CUDA. The module carries its own copies of the core's pure files
// (status.c, tensor.c, util.c: cuda/meson.build) and logs through the loader's sana_log.
//
// One device, one stream: ops only enqueue work on it (no host synchronisation, except a
// download, which waits for its data, embedding (below), and the rare growth of the scratch
// buffer), so a whole DiT or DC-AE pass can later be captured into a CUDA graph. Activations come from the arena
// (alloc/dealloc: cudaMalloc/cudaFree). Weights are uploaded once by the weight slot, GEMM
// matrices as bf16 and vectors as fp32, into chunks this backend owns until it is freed;
// tables (Gemma-2's embedding) stay in host memory (see cuda_weight). One op waits for the
// device: embedding, which reads the token ids on the host (gemma.cu).
//
// What it is not: tuned. Kernels are the simple versions (one thread per output element, one
// block per row); the fused and faster ones come with benchmarks (DESIGN.md, principle 6).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-cuda.h"

#define WEIGHT_CHUNK_BYTES ((size_t)32 << 20) // weights are bump-allocated in chunks this size
#define WEIGHT_OWN_BYTES ((size_t)4 << 20)    // a weight this large gets its own allocation

static const double MiB = 1024.0 * 1024.0;

// ------------------------------------------------------------------------------------------------
// Errors

void sana_cuda_fail(sana_backend *be, sana_status status, const char *fmt, ...) {
    if (be->error.status != SANA_OK) return;
    char msg[SANA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sana_errorf(&be->error, status, "%s: %s", sana_cuda_ctx(be)->label, msg);
}

bool sana_cuda_check(sana_backend *be, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return true;
    sana_cuda_fail(be, SANA_STATUS_DEVICE, "%s: %s: %s", what, cudaGetErrorName(e), cudaGetErrorString(e));
    return false;
}

bool sana_cuda_check_blas(sana_backend *be, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return true;
    sana_cuda_fail(be, SANA_STATUS_DEVICE, "%s: %s: %s", what, cublasGetStatusName(s), cublasGetStatusString(s));
    return false;
}

void sana_cuda_fail_oom(sana_backend *be, size_t bytes, const char *what) {
    cudaGetLastError(); // an allocation failure is not sticky in CUDA; clear it
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    cudaGetLastError();
    cuda_ctx *c = sana_cuda_ctx(be);
    sana_cuda_fail(be, SANA_STATUS_NO_MEMORY,
                   "out of device memory for %s: asked %.1f MiB, %.1f MiB free of %.1f MiB (weights hold %.1f MiB)",
                   what, bytes / MiB, free_b / MiB, total_b / MiB, c->weight_bytes / MiB);
}

bool sana_cuda_enter(sana_backend *be) {
    return sana_cuda_check(be, cudaSetDevice(sana_cuda_ctx(be)->device), "cudaSetDevice");
}

// ------------------------------------------------------------------------------------------------
// Memory

static void count_alloc(cuda_ctx *c, void *p, size_t n) {
    if (c->n_allocs == c->cap_allocs) {
        int cap = c->cap_allocs ? 2 * c->cap_allocs : 64;
        cuda_alloc_rec *na = (cuda_alloc_rec *)realloc(c->allocs, (size_t)cap * sizeof *na);
        if (!na) return; // accounting only: the allocation itself stands
        c->allocs = na;
        c->cap_allocs = cap;
    }
    c->allocs[c->n_allocs++] = (cuda_alloc_rec){p, n};
    c->held += n;
    if (c->held > c->peak) c->peak = c->held;
}

static void *cuda_malloc(sana_backend *be, size_t bytes, const char *what) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        sana_cuda_fail_oom(be, bytes, what);
        return NULL;
    }
    if (!sana_cuda_check(be, e, "cudaMalloc")) return NULL;
    count_alloc(sana_cuda_ctx(be), p, bytes);
    return p;
}

// cudaFree of a block from cuda_malloc (NULL: nothing).
static cudaError_t cuda_free_block(cuda_ctx *c, void *p) {
    if (!p) return cudaSuccess;
    for (int i = c->n_allocs - 1; i >= 0; i--)
        if (c->allocs[i].p == p) {
            c->held -= c->allocs[i].n;
            c->allocs[i] = c->allocs[--c->n_allocs];
            break;
        }
    return cudaFree(p);
}

void *sana_cuda_scratch(sana_backend *be, size_t bytes) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (bytes <= c->scratch_bytes) return c->scratch;
    if (c->capturing) { // a recording cannot wait for the stream nor keep the old buffer's address
        c->capture_broken = true;
        return NULL;
    }
    // Work enqueued earlier may still read the old buffer.
    if (!sana_cuda_check(be, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize")) return NULL;
    cuda_free_block(c, c->scratch);
    c->scratch = NULL;
    c->scratch_bytes = 0;
    c->mem_epoch++; // recordings that used the old buffer are stale
    size_t want = (bytes + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1); // whole MiB
    c->scratch = cuda_malloc(be, want, "scratch");
    if (c->scratch) c->scratch_bytes = want;
    return c->scratch;
}

static void *cuda_alloc(sana_backend *be, size_t bytes) {
    if (!sana_cuda_enter(be)) return NULL;
    return cuda_malloc(be, bytes, "activations");
}

static void cuda_dealloc(sana_backend *be, void *ptr) {
    if (!ptr || !sana_cuda_enter(be)) return;
    sana_cuda_check(be, cuda_free_block(sana_cuda_ctx(be), ptr), "cudaFree");
}

static void cuda_upload(sana_backend *be, sana_tensor *dst, const void *host) {
    size_t n = sana_tensor_nbytes(dst);
    if (n == 0 || !sana_cuda_enter(be)) return;
    // From pageable memory the copy is staged before this returns, so `host` may go at once.
    sana_cuda_check(be, cudaMemcpyAsync(dst->data, host, n, cudaMemcpyHostToDevice, sana_cuda_ctx(be)->stream),
                    "upload");
}

// Downloads of up to CUDA_PINNED_BYTES go through a page-locked bounce buffer: the copy runs
// at the bus speed, then one host memcpy (an image of 1024 x 1024 RGB8 is 3 MiB: about 0.1 ms +
// 0.3 ms, against about 1 ms for a copy into pageable memory).
#define CUDA_PINNED_BYTES ((size_t)16 << 20)

static void cuda_download(sana_backend *be, void *host, const sana_tensor *src) {
    cuda_ctx *c = sana_cuda_ctx(be);
    size_t n = sana_tensor_nbytes(src);
    if (n == 0 || !sana_cuda_enter(be)) return;
    cudaStream_t s = c->stream;
    if (n <= CUDA_PINNED_BYTES && !c->pinned && cudaMallocHost(&c->pinned, CUDA_PINNED_BYTES) == cudaSuccess)
        c->pinned_bytes = CUDA_PINNED_BYTES;
    cudaGetLastError(); // no page-locked memory: the plain copy below
    const bool bounce = c->pinned && n <= c->pinned_bytes;
    if (sana_cuda_check(be, cudaMemcpyAsync(bounce ? c->pinned : host, src->data, n, cudaMemcpyDeviceToHost, s),
                        "download") &&
        sana_cuda_check(be, cudaStreamSynchronize(s), "download (an earlier op may have failed)") && bounce)
        memcpy(host, c->pinned, n);
}

static void cuda_copy(sana_backend *be, sana_tensor *dst, const sana_tensor *src) {
    size_t n = sana_tensor_nbytes(src);
    if (n == 0 || !sana_cuda_enter(be)) return;
    sana_cuda_check(be, cudaMemcpyAsync(dst->data, src->data, n, cudaMemcpyDeviceToDevice, sana_cuda_ctx(be)->stream),
                    "copy");
}

static void cuda_sync(sana_backend *be) {
    if (!sana_cuda_enter(be)) return;
    cudaError_t e = cudaStreamSynchronize(sana_cuda_ctx(be)->stream);
    if (e != cudaSuccess)
        sana_cuda_fail(be, SANA_STATUS_DEVICE, "%s: %s (raised by an op enqueued earlier; CUDA_LAUNCH_BLOCKING=1 finds which)",
                       cudaGetErrorName(e), cudaGetErrorString(e));
}

// ------------------------------------------------------------------------------------------------
// Weights

static bool remember_block(sana_backend *be, void *p) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (c->n_blocks == c->cap_blocks) {
        int cap = c->cap_blocks ? 2 * c->cap_blocks : 64;
        void **nb = (void **)realloc(c->blocks, (size_t)cap * sizeof *nb);
        if (!nb) {
            sana_cuda_fail(be, SANA_STATUS_NO_MEMORY, "out of host memory for the weight list");
            return false;
        }
        c->blocks = nb;
        c->cap_blocks = cap;
    }
    c->blocks[c->n_blocks++] = p;
    return true;
}

// Device memory for one weight, 256-byte aligned (what cuBLASLt's fastest kernels want).
static void *weight_alloc(sana_backend *be, size_t bytes) {
    cuda_ctx *c = sana_cuda_ctx(be);
    bytes = (bytes + 255) & ~(size_t)255;
    void *p;
    if (bytes >= WEIGHT_OWN_BYTES) {
        if (!(p = cuda_malloc(be, bytes, "a weight"))) return NULL;
    } else {
        if (c->chunk && c->chunk_used + bytes <= WEIGHT_CHUNK_BYTES) {
            p = c->chunk + c->chunk_used;
            c->chunk_used += bytes;
            c->weight_bytes += bytes;
            return p;
        }
        if (!(p = cuda_malloc(be, WEIGHT_CHUNK_BYTES, "weights"))) return NULL;
        c->chunk = (char *)p;
        c->chunk_used = bytes;
    }
    if (!remember_block(be, p)) {
        cuda_free_block(c, p);
        return NULL;
    }
    c->weight_bytes += bytes;
    return p;
}

void *sana_cuda_derived(sana_backend *be, const void *key, int kind, size_t bytes, bool *fresh) {
    cuda_ctx *c = sana_cuda_ctx(be);
    *fresh = false;
    for (int i = 0; i < c->n_derived; i++)
        if (c->derived[i].key == key && c->derived[i].kind == kind) return c->derived[i].data;
    if (c->n_derived == c->cap_derived) {
        int cap = c->cap_derived ? 2 * c->cap_derived : 32;
        cuda_derived *nd = (cuda_derived *)realloc(c->derived, (size_t)cap * sizeof *nd);
        if (!nd) {
            sana_cuda_fail(be, SANA_STATUS_NO_MEMORY, "out of host memory for the derived-weight list");
            return NULL;
        }
        c->derived = nd;
        c->cap_derived = cap;
    }
    void *p = weight_alloc(be, bytes);
    if (!p) return NULL;
    c->derived[c->n_derived++] = (cuda_derived){key, kind, p};
    *fresh = true;
    return p;
}

// GEMM matrices (linear, and convolution kernels bound as matrices) become bf16 (cuBLAS
// operands), vectors fp32. The host data (usually the mmapped checkpoint) is converted a bounded
// chunk at a time, never copied whole.
//
// Tables (SANA_WEIGHT_TABLE: Gemma-2's 256000 x 2304 embed_tokens, 1.18 GB in bf16) are not
// uploaded: the result is the host tensor itself, in its stored dtype, and `embedding` gathers
// the few rows a prompt needs on the host (gemma.cu). It points into the caller's host data, so
// it lives as long as that does (the model's mapping of its checkpoint, as on the CPU backend),
// not as long as this backend. Device memory is what limits an 8 GB card; see docs/cuda.md.
static sana_status cuda_weight(sana_backend *be, const sana_tensor *host, sana_weight_use use, sana_tensor *out,
                               sana_error *err) {
    cuda_ctx *c = sana_cuda_ctx(be);
    *out = *host;
    if (use == SANA_WEIGHT_TABLE) {
        if (host->dtype != SANA_DTYPE_F32 && host->dtype != SANA_DTYPE_F16 && host->dtype != SANA_DTYPE_BF16) {
            out->data = NULL;
            return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: table of dtype %s; expected F32, F16 or BF16", c->label,
                               sana_dtype_name(host->dtype));
        }
        return SANA_OK;
    }
    out->data = NULL;
    const sana_dtype want = use == SANA_WEIGHT_MATRIX ? SANA_DTYPE_BF16 : SANA_DTYPE_F32;
    const size_t n = (size_t)sana_tensor_numel(host), esize = sana_dtype_size(want);
    if (host->dtype != SANA_DTYPE_F32 && host->dtype != SANA_DTYPE_F16 && host->dtype != SANA_DTYPE_BF16)
        sana_cuda_fail(be, SANA_STATUS_BAD_INPUT, "weight of dtype %s; expected F32, F16 or BF16",
                       sana_dtype_name(host->dtype));
    char *dev = NULL;
    if (!sana_backend_failed(be) && sana_cuda_enter(be)) dev = (char *)weight_alloc(be, n * esize);
    if (dev && host->dtype == want && n > 0) {
        sana_cuda_check(be, cudaMemcpyAsync(dev, host->data, n * esize, cudaMemcpyHostToDevice, c->stream),
                        "weight upload");
    } else if (dev) {
        if (!c->staging) c->staging = (float *)malloc(CUDA_STAGING_ELEMS * sizeof(float));
        if (!c->staging16) c->staging16 = (uint16_t *)malloc(CUDA_STAGING_ELEMS * sizeof(uint16_t));
        if (!c->staging || !c->staging16)
            sana_cuda_fail(be, SANA_STATUS_NO_MEMORY, "out of host memory for the weight staging buffer");
        const size_t hsize = sana_dtype_size(host->dtype);
        for (size_t i0 = 0; i0 < n && !sana_backend_failed(be); i0 += CUDA_STAGING_ELEMS) {
            const size_t m = n - i0 < CUDA_STAGING_ELEMS ? n - i0 : CUDA_STAGING_ELEMS;
            sana_widen_to_f32(c->staging, (const char *)host->data + i0 * hsize, host->dtype, m);
            const void *src = c->staging;
            if (want == SANA_DTYPE_BF16) {
                for (size_t i = 0; i < m; i++) c->staging16[i] = sana_f32_to_bf16(c->staging[i]);
                src = c->staging16;
            }
            // The staging buffer is reused for the next chunk: wait for this copy.
            if (sana_cuda_check(be, cudaMemcpyAsync(dev + i0 * esize, src, m * esize, cudaMemcpyHostToDevice, c->stream),
                                "weight upload"))
                sana_cuda_check(be, cudaStreamSynchronize(c->stream), "weight upload");
        }
    }
    if (sana_backend_failed(be)) return sana_errorf(err, be->error.status, "%s", be->error.message);
    out->data = dev;
    out->dtype = want;
    return SANA_OK;
}

// ------------------------------------------------------------------------------------------------
// Timers and memory

static void cuda_timer_mark(sana_backend *be, int slot) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (slot < 0 || slot >= SANA_TIMER_SLOTS || c->capturing || sana_backend_failed(be) || !sana_cuda_enter(be)) return;
    if (!c->events[slot] && !sana_cuda_check(be, cudaEventCreate(&c->events[slot]), "cudaEventCreate")) return;
    c->marked[slot] = sana_cuda_check(be, cudaEventRecord(c->events[slot], c->stream), "cudaEventRecord");
}

static double cuda_timer_ms(sana_backend *be, int a, int b) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (a < 0 || b < 0 || a >= SANA_TIMER_SLOTS || b >= SANA_TIMER_SLOTS || !c->marked[a] || !c->marked[b])
        return -1.0;
    float ms = 0.0f;
    if (cudaEventElapsedTime(&ms, c->events[a], c->events[b]) != cudaSuccess) {
        cudaGetLastError();
        return -1.0;
    }
    return ms;
}

static void cuda_memory(sana_backend *be, sana_backend_memory *m) {
    cuda_ctx *c = sana_cuda_ctx(be);
    size_t free_b = 0, total_b = 0;
    if (sana_cuda_enter(be) && cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) free_b = total_b = 0;
    cudaGetLastError();
    *m = (sana_backend_memory){.held = c->held, .peak = c->peak, .device_used = total_b - free_b,
                               .device_total = total_b};
}

static void cuda_reset_peak(sana_backend *be) {
    cuda_ctx *c = sana_cuda_ctx(be);
    c->peak = c->held;
}

// ------------------------------------------------------------------------------------------------
// Graphs: stream capture of the ops between capture_begin and capture_end, replayed with one
// cudaGraphLaunch. Relaxed capture mode: the ops of a captured region never synchronise or copy
// from host memory (the scratch refuses to grow instead, see sana_cuda_scratch), but the
// arena may still take a new block with cudaMalloc on a recording's first run.

typedef struct cuda_graph {
    cudaGraphExec_t exec;
    uint64_t epoch; // c->mem_epoch when it was recorded
} cuda_graph;

static bool cuda_capture_begin(sana_backend *be) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (c->graphs_off || c->capturing || sana_backend_failed(be) || !sana_cuda_enter(be)) return false;
    if (!sana_cuda_check(be, cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeRelaxed),
                         "cudaStreamBeginCapture"))
        return false;
    c->capturing = true;
    c->capture_broken = false;
    return true;
}

static void *cuda_capture_end(sana_backend *be) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (!c->capturing) return NULL;
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    c->capturing = false;
    cuda_graph *h = NULL;
    if (e != cudaSuccess || !g || c->capture_broken || sana_backend_failed(be)) {
        cudaGetLastError();
        if (c->log && !sana_backend_failed(be))
            c->log(SANA_LOG_DEBUG, "%s: graph capture gave no graph (%s%s); running eagerly", c->label,
                   cudaGetErrorName(e), c->capture_broken ? ", the scratch had to grow" : "");
        goto done;
    }
    {
        cudaGraphExec_t exec = NULL;
        e = cudaGraphInstantiate(&exec, g, 0);
        if (e != cudaSuccess) {
            cudaGetLastError();
            if (c->log) c->log(SANA_LOG_INFO, "%s: cudaGraphInstantiate: %s; running eagerly", c->label, cudaGetErrorName(e));
            goto done;
        }
        if (!(h = (cuda_graph *)malloc(sizeof *h))) {
            cudaGraphExecDestroy(exec);
            goto done;
        }
        h->exec = exec;
        h->epoch = c->mem_epoch;
    }
done:
    if (g) cudaGraphDestroy(g);
    return h;
}

static bool cuda_graph_launch(sana_backend *be, void *graph) {
    cuda_ctx *c = sana_cuda_ctx(be);
    cuda_graph *h = (cuda_graph *)graph;
    if (!h || h->epoch != c->mem_epoch) return false;
    if (!sana_cuda_enter(be)) return true; // the sticky error says why
    sana_cuda_check(be, cudaGraphLaunch(h->exec, c->stream), "cudaGraphLaunch");
    return true;
}

static void cuda_graph_free(sana_backend *be, void *graph) {
    cuda_graph *h = (cuda_graph *)graph;
    if (!h) return;
    if (sana_cuda_enter(be)) cudaGraphExecDestroy(h->exec);
    cudaGetLastError();
    free(h);
}

// ------------------------------------------------------------------------------------------------
// Lifetime

static void cuda_free(sana_backend *be) {
    cuda_ctx *c = sana_cuda_ctx(be);
    if (c) {
        cudaSetDevice(c->device);
        if (c->stream) cudaStreamSynchronize(c->stream);
        if (c->blas) cublasDestroy(c->blas);
        if (c->lt) cublasLtDestroy(c->lt);
        for (int i = 0; i < c->n_blocks; i++) cudaFree(c->blocks[i]);
        cudaFree(c->scratch);
        cudaFree(c->workspace);
        for (int i = 0; i < SANA_TIMER_SLOTS; i++)
            if (c->events[i]) cudaEventDestroy(c->events[i]);
        if (c->pinned) cudaFreeHost(c->pinned);
        if (c->stream) cudaStreamDestroy(c->stream);
        cudaGetLastError();
        free(c->allocs);
        free(c->derived);
        free(c->blocks);
        free(c->staging);
        free(c->staging16);
        free(c);
    }
    free(be);
}

static sana_backend_i cuda_vtable_make(void) {
    sana_backend_i t;
    memset(&t, 0, sizeof t);
    t.name = "cuda";
    t.free = cuda_free;
    t.alloc = cuda_alloc;
    t.dealloc = cuda_dealloc;
    t.upload = cuda_upload;
    t.download = cuda_download;
    t.copy = cuda_copy;
    t.weight = cuda_weight;
    t.sync = cuda_sync;
    t.timer_mark = cuda_timer_mark;
    t.timer_ms = cuda_timer_ms;
    t.memory = cuda_memory;
    t.reset_peak = cuda_reset_peak;
    t.capture_begin = cuda_capture_begin;
    t.capture_end = cuda_capture_end;
    t.graph_launch = cuda_graph_launch;
    t.graph_free = cuda_graph_free;
#define CUDA_SLOT(name) t.ops.name = sana_cuda_##name;
    SANA_OPS(CUDA_SLOT)
#undef CUDA_SLOT
    return t;
}

static const sana_backend_i *cuda_vtable(void) {
    static const sana_backend_i vt = cuda_vtable_make(); // made once, thread-safely
    return &vt;
}

// The module's one exported symbol (SANA_CUDA_MODULE_ENTRY; see sana_module_args).
extern "C" __attribute__((visibility("default"))) sana_status
sana_cuda_backend_new(const sana_module_args *args, sana_backend **out, sana_error *err) {
    *out = NULL;
    if (args->abi != SANA_BACKEND_ABI || args->sizeof_backend != sizeof(sana_backend) ||
        args->sizeof_backend_i != sizeof(sana_backend_i) || args->sizeof_tensor != sizeof(sana_tensor))
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "cuda: the CUDA module was built from other sources than this program (backend ABI %d, "
                           "op table %zu bytes; the program has ABI %d, %zu bytes): install matching versions",
                           SANA_BACKEND_ABI, sizeof(sana_backend_i), args->abi, args->sizeof_backend_i);
    const int dev = args->device;
    char label[16];
    snprintf(label, sizeof label, "cuda:%d", dev);

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        int driver = 0;
        cudaDriverGetVersion(&driver);
        cudaGetLastError();
        if (e == cudaSuccess || e == cudaErrorNoDevice || driver == 0)
            return sana_errorf(err, SANA_STATUS_DEVICE, "%s: no CUDA device (%s; %s)", label,
                               driver == 0 ? "no NVIDIA driver is installed" : "the NVIDIA driver sees no GPU",
                               e == cudaSuccess ? "cudaGetDeviceCount found none" : cudaGetErrorName(e));
        return sana_errorf(err, SANA_STATUS_DEVICE,
                           "%s: the NVIDIA driver cannot run this module (%s: %s; the driver supports CUDA %d.%d, "
                           "the module was built with CUDA %d.%d)",
                           label, cudaGetErrorName(e), cudaGetErrorString(e), driver / 1000, driver % 1000 / 10,
                           CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    }
    if (dev < 0 || dev >= count) {
        if (count == 1)
            return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: no such device; this machine has 1 CUDA device (cuda:0)",
                               label);
        return sana_errorf(err, SANA_STATUS_BAD_INPUT,
                           "%s: no such device; this machine has %d CUDA devices (cuda:0 to cuda:%d)", label, count,
                           count - 1);
    }
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, dev);
    if (e != cudaSuccess)
        return sana_errorf(err, SANA_STATUS_DEVICE, "%s: cudaGetDeviceProperties: %s: %s", label, cudaGetErrorName(e),
                           cudaGetErrorString(e));
    if (prop.major < 8)
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "%s: %s has compute capability %d.%d; this backend needs 8.0 or newer (bf16 tensor cores)",
                           label, prop.name, prop.major, prop.minor);

    sana_backend *be = (sana_backend *)calloc(1, sizeof *be);
    cuda_ctx *c = (cuda_ctx *)calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of host memory creating the backend", label);
    }
    be->i = cuda_vtable();
    be->ctx = c;
    c->device = dev;
    memcpy(c->label, label, sizeof label);
    c->log = args->log;
    const char *gemm = getenv("SANA_CUDA_GEMM");
    c->force_gemmex = gemm && strcmp(gemm, "gemmex") == 0;
    const char *graphs = getenv("SANA_CUDA_GRAPHS"); // 0: run every op eagerly (tests, comparisons)
    c->graphs_off = graphs && strcmp(graphs, "0") == 0;
    const char *conv = getenv("SANA_CUDA_CONV_BYTES"); // tests: small tiles, many bands
    const long long conv_bytes = conv ? atoll(conv) : 0;
    c->conv_bytes = conv_bytes > 0 ? (size_t)conv_bytes : CUDA_CONV_BYTES;

    if (sana_cuda_enter(be) &&
        sana_cuda_check(be, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreate") &&
        sana_cuda_check(be, cudaDeviceGetAttribute(&c->smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev),
                        "cudaDeviceGetAttribute") &&
        sana_cuda_check_blas(be, cublasLtCreate(&c->lt), "cublasLtCreate") &&
        sana_cuda_check_blas(be, cublasCreate(&c->blas), "cublasCreate") &&
        sana_cuda_check_blas(be, cublasSetStream(c->blas, c->stream), "cublasSetStream") &&
        (c->workspace = cuda_malloc(be, CUDA_WORKSPACE_BYTES, "the cuBLAS workspace")) != NULL)
        sana_cuda_check_blas(be, cublasSetWorkspace(c->blas, c->workspace, CUDA_WORKSPACE_BYTES), "cublasSetWorkspace");
    if (sana_backend_failed(be)) {
        sana_status s = sana_errorf(err, be->error.status, "%s", be->error.message);
        cuda_free(be);
        return s;
    }
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    if (c->log)
        c->log(SANA_LOG_INFO, "%s: %s (sm_%d%d, %.1f GiB, %.1f GiB free)%s", c->label, prop.name, prop.major,
               prop.minor, total_b / (1024.0 * MiB), free_b / (1024.0 * MiB),
               c->force_gemmex ? ", GEMMs through cublasGemmEx (SANA_CUDA_GEMM)" : "");
    if (c->log && c->conv_bytes != CUDA_CONV_BYTES)
        c->log(SANA_LOG_INFO, "%s: conv2d scratch budget %zu bytes (SANA_CUDA_CONV_BYTES)", c->label, c->conv_bytes);
    *out = be;
    return SANA_OK;
}
