// arena.h: a bump allocator for activations, over a backend's device memory.
//
// Blocks are taken from the backend as needed and kept: after the first run at a given size the
// arena no longer allocates and its addresses repeat (what CUDA graph capture needs). Scoped
// temporaries use mark/reset. When the backend runs out of memory the arena records the sticky
// error and hands out unbound tensors; ops on them are skipped (see backend.h).
#ifndef SANA_ARENA_H
#define SANA_ARENA_H

#include "backend.h"
#include "tensor.h"

typedef struct sana_arena sana_arena;

typedef struct sana_arena_mark {
    int block;
    size_t offset;
} sana_arena_mark;

// block_bytes: the size of each block taken from the backend (a larger request gets its own).
sana_arena *sana_arena_new(sana_backend *be, size_t block_bytes);
void sana_arena_free(sana_arena *a);

sana_tensor sana_arena_tensor(sana_arena *a, sana_dtype dtype, int ndim, const int64_t *shape);

// An F32 tensor of the given shape: sana_new_f32(arena, B, N, D).
#define sana_new_f32(arena, ...)                                                                \
    sana_arena_tensor((arena), SANA_DTYPE_F32,                                                  \
                      (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                \
                      (int64_t[]){__VA_ARGS__})

sana_arena_mark sana_arena_get_mark(const sana_arena *a);
void sana_arena_reset(sana_arena *a, sana_arena_mark mark);

// Bytes held from the backend (the high-water mark of all runs so far).
size_t sana_arena_reserved(const sana_arena *a);

#endif // SANA_ARENA_H
