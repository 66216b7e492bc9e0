// graph.c: recorded-graph slots (see graph.h).
#include "graph.h"

#include <string.h>

static void drop(sana_backend *be, sana_graph_slot *slot) {
    if (slot->graph) be->i->graph_free(be, slot->graph);
    slot->graph = NULL;
}

int sana_graph_run(sana_backend *be, sana_graph_slot *slot, const uint64_t *key, int nkey,
                    void (*fn)(void *user), void *user) {
    SANA_ASSERT(nkey > 0 && nkey <= SANA_GRAPH_KEY);
    const sana_backend_i *i = be->i;
    if (!i->capture_begin || sana_backend_failed(be)) {
        fn(user);
        return SANA_GRAPH_EAGER;
    }
    const bool same = slot->nkey == nkey && memcmp(slot->key, key, (size_t)nkey * sizeof *key) == 0;
    if (!same) { // a new key: run eagerly, record next time
        drop(be, slot);
        memcpy(slot->key, key, (size_t)nkey * sizeof *key);
        slot->nkey = nkey;
        slot->failures = 0;
        fn(user);
        return SANA_GRAPH_EAGER;
    }
    if (slot->graph) {
        if (i->graph_launch(be, slot->graph)) return SANA_GRAPH_REPLAYED;
        drop(be, slot); // stale: run eagerly (which brings the memory back), record next time
        fn(user);
        return SANA_GRAPH_EAGER;
    }
    if (slot->failures < 2 && i->capture_begin(be)) {
        fn(user);
        void *g = i->capture_end(be);
        if (g && i->graph_launch(be, g)) {
            slot->graph = g;
            return SANA_GRAPH_RECORDED;
        }
        if (g) i->graph_free(be, g);
        slot->failures++;
        if (sana_backend_failed(be)) return SANA_GRAPH_EAGER;
    }
    fn(user); // nothing was recorded, or the recording could not run: eagerly
    return SANA_GRAPH_EAGER;
}

void sana_graph_slot_free(sana_backend *be, sana_graph_slot *slot) {
    drop(be, slot);
    memset(slot, 0, sizeof *slot);
}

int sana_graph_cache_run(sana_backend *be, sana_graph_cache *cache, const uint64_t *key, int nkey,
                         void (*fn)(void *user), void *user) {
    int pick = -1;
    for (int i = 0; i < SANA_GRAPH_CACHE_SLOTS && pick < 0; i++)
        if (cache->slot[i].nkey == nkey && memcmp(cache->slot[i].key, key, (size_t)nkey * sizeof *key) == 0) pick = i;
    if (pick < 0) { // the least recently used slot (an unused one first)
        pick = 0;
        for (int i = 1; i < SANA_GRAPH_CACHE_SLOTS; i++)
            if (cache->last_use[i] < cache->last_use[pick]) pick = i;
    }
    cache->last_use[pick] = ++cache->clock;
    return sana_graph_run(be, &cache->slot[pick], key, nkey, fn, user);
}

void sana_graph_cache_free(sana_backend *be, sana_graph_cache *cache) {
    for (int i = 0; i < SANA_GRAPH_CACHE_SLOTS; i++) sana_graph_slot_free(be, &cache->slot[i]);
    memset(cache, 0, sizeof *cache);
}
