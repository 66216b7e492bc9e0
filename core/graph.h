// graph.h: runs a stretch of model code through a backend's recorded graphs (CUDA graphs), so
// that a DiT forward or a DC-AE decode costs one launch instead of hundreds.
//
// A slot remembers one recording and the key it was made for: every address and size the code
// uses that can change between calls (its input and output tensors, the arena's position, the
// latent size). The first call with a new key runs the code eagerly (the arena takes its blocks,
// the backend's scratch grows to its size, cuBLASLt picks its kernels); the second records it
// and launches the recording; later calls with the same key only launch it. A recording the
// backend reports stale (memory it refers to was replaced) is dropped and made again. Backends
// without graphs (the CPU) and SANA_CUDA_GRAPHS=0 simply run the code.
//
// The code must be a pure op sequence: no host reads of device data, no uploads or downloads,
// no host-side decisions that depend on anything outside the key. What it computes on the host
// (shapes, op arguments) is computed once, when it is recorded.
#ifndef SANA_GRAPH_H
#define SANA_GRAPH_H

#include <stdint.h>

#include "backend.h"
#include "util.h"

#define SANA_GRAPH_KEY 24

typedef struct sana_graph_slot {
    void *graph; // the recording, or NULL
    uint64_t key[SANA_GRAPH_KEY];
    int nkey;     // 0: no key yet
    int failures; // recordings of this key that gave no graph (after 2, it runs eagerly)
} sana_graph_slot;

// Runs fn(user) for key[0..nkey) (nkey <= SANA_GRAPH_KEY) as described above. Returns how:
// SANA_GRAPH_EAGER (fn ran), SANA_GRAPH_RECORDED (fn was recorded, then launched) or
// SANA_GRAPH_REPLAYED (a recording was launched; fn did not run).
enum { SANA_GRAPH_EAGER = 0, SANA_GRAPH_RECORDED, SANA_GRAPH_REPLAYED };
int sana_graph_run(sana_backend *be, sana_graph_slot *slot, const uint64_t *key, int nkey,
                    void (*fn)(void *user), void *user);

// Frees the slot's recording (the slot may be used again).
void sana_graph_slot_free(sana_backend *be, sana_graph_slot *slot);

// A few slots for one stretch of code that runs with several keys (sizes, prompt lengths): a key
// keeps its slot while it is among the SANA_GRAPH_CACHE_SLOTS last used.
#define SANA_GRAPH_CACHE_SLOTS 4
typedef struct sana_graph_cache {
    sana_graph_slot slot[SANA_GRAPH_CACHE_SLOTS];
    uint64_t last_use[SANA_GRAPH_CACHE_SLOTS];
    uint64_t clock;
} sana_graph_cache;

int sana_graph_cache_run(sana_backend *be, sana_graph_cache *cache, const uint64_t *key, int nkey,
                         void (*fn)(void *user), void *user);
void sana_graph_cache_free(sana_backend *be, sana_graph_cache *cache);

// Key building: appends a pointer or an integer.
typedef struct sana_graph_key {
    uint64_t v[SANA_GRAPH_KEY];
    int n;
} sana_graph_key;

static inline void sana_graph_key_add(sana_graph_key *k, uint64_t v) {
    SANA_ASSERT(k->n < SANA_GRAPH_KEY);
    k->v[k->n++] = v;
}
#define sana_graph_key_ptr(k, p) sana_graph_key_add((k), (uint64_t)(uintptr_t)(p))

#endif // SANA_GRAPH_H
