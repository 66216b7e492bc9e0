// arena.c: bump allocation in kept blocks (see arena.h).
#include "arena.h"

#include <stdlib.h>

#include "util.h"

#define ARENA_ALIGN 256 // covers cache lines, AVX-512 and CUDA's 256-byte alignment

typedef struct block {
    void *base;
    size_t size;
} block;

struct sana_arena {
    sana_backend *be;
    block *blocks;
    int n_blocks, cap_blocks;
    int cur;       // block the cursor is in
    size_t offset; // cursor within blocks[cur]
    size_t block_bytes;
};

sana_arena *sana_arena_new(sana_backend *be, size_t block_bytes) {
    sana_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->be = be;
    a->block_bytes = block_bytes ? block_bytes : (size_t)64 << 20;
    return a;
}

void sana_arena_free(sana_arena *a) {
    if (!a) return;
    for (int i = 0; i < a->n_blocks; i++) a->be->i->dealloc(a->be, a->blocks[i].base);
    free(a->blocks);
    free(a);
}

static void *arena_alloc(sana_arena *a, size_t bytes) {
    bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    while (a->cur < a->n_blocks) {
        block *b = &a->blocks[a->cur];
        if (a->offset + bytes <= b->size) {
            void *p = (char *)b->base + a->offset;
            a->offset += bytes;
            return p;
        }
        a->cur++;
        a->offset = 0;
    }
    if (sana_backend_failed(a->be)) return NULL;
    if (a->n_blocks == a->cap_blocks) {
        int cap = a->cap_blocks ? a->cap_blocks * 2 : 8;
        block *nb = realloc(a->blocks, (size_t)cap * sizeof *nb);
        if (!nb) {
            sana_backend_fail(a->be, SANA_STATUS_NO_MEMORY, "out of host memory for the arena's block list");
            return NULL;
        }
        a->blocks = nb;
        a->cap_blocks = cap;
    }
    size_t size = SANA_MAX(bytes, a->block_bytes);
    void *base = a->be->i->alloc(a->be, size); // records the error itself on failure
    if (!base) return NULL;
    a->blocks[a->n_blocks++] = (block){base, size};
    a->cur = a->n_blocks - 1;
    a->offset = bytes;
    return base;
}

sana_tensor sana_arena_tensor(sana_arena *a, sana_dtype dtype, int ndim, const int64_t *shape) {
    SANA_ASSERT(ndim >= 1 && ndim <= SANA_MAX_DIMS);
    sana_tensor t = {.dtype = dtype, .ndim = ndim};
    for (int i = 0; i < SANA_MAX_DIMS; i++) t.shape[i] = i < ndim ? shape[i] : 1;
    for (int i = 0; i < ndim; i++) SANA_ASSERT(shape[i] >= 0);
    t.data = arena_alloc(a, SANA_MAX(sana_tensor_nbytes(&t), (size_t)1));
    return t;
}

sana_arena_mark sana_arena_get_mark(const sana_arena *a) {
    return (sana_arena_mark){a->cur, a->offset};
}

void sana_arena_reset(sana_arena *a, sana_arena_mark mark) {
    a->cur = mark.block;
    a->offset = mark.offset;
}

size_t sana_arena_reserved(const sana_arena *a) {
    size_t n = 0;
    for (int i = 0; i < a->n_blocks; i++) n += a->blocks[i].size;
    return n;
}
