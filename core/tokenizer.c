// tokenizer.c: Gemma BPE from tokenizer.json (see tokenizer.h for what it mirrors).
//
// Loading is linear in the file: the vocabulary (256000 pieces for Gemma) goes into an
// open-addressing hash map keyed by the piece's bytes, the merges into one keyed by the pair of
// ids; the JSON document is freed once both are built. Encoding a word is the `tokenizers`
// algorithm itself (word.rs merge_all): a min-heap of candidate merges ordered by (rank,
// position), each popped candidate applied only when the pair at that position still merges
// into the same piece; O(n log n) in the word's length.
#include "tokenizer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yyjson.h>

#include "config.h"
#include "unicode.h"
#include "util.h"

// ------------------------------------------------------------------------------------------------
// Hash maps

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x) { // splitmix64 finalizer
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t table_size(size_t n) {
    size_t s = 16;
    while (s < 2 * n) s *= 2;
    return s;
}

// Pieces: the bytes of every string the tokenizer knows, NUL-separated, in one pool.
typedef struct str_map {
    uint32_t *slots; // index into the owner's string table + 1; 0: empty
    size_t mask;
} str_map;

typedef struct merge_slot {
    uint64_t key; // left << 32 | right; UINT64_MAX: empty
    uint32_t rank;
    int32_t new_id;
} merge_slot;

typedef struct added_token {
    uint32_t off, len; // the content in the pool
    int32_t id;
} added_token;

// Added tokens matched on one side of the normalizer, sorted by (first byte, length
// descending): the first match at a position is the longest (leftmost-longest).
typedef struct added_set {
    added_token *tok;
    int n, cap;
    int start[257]; // tokens beginning with byte b are tok[start[b] .. start[b + 1])
} added_set;

typedef struct replace_rule {
    uint32_t from, from_len, to, to_len; // pool offsets
} replace_rule;

#define MAX_TEMPLATE 8

struct sana_tokenizer {
    char *path;
    char *pool;
    size_t pool_len, pool_cap;

    // Vocabulary of the BPE model: strings[i] = (offset, length, id).
    uint32_t *str_off, *str_len;
    int32_t *str_id;
    size_t n_str;
    str_map vocab;

    int32_t n_ids;
    int32_t *id_str; // id -> string index (vocabulary first, then added tokens), -1: none

    merge_slot *merges;
    size_t merges_mask;

    int32_t byte_id[256]; // "<0xNN>" pieces for byte fallback, -1 when absent
    int32_t unk_id;       // -1: no unk token
    bool unk_missing;     // an unk token is named but not in the vocabulary
    bool byte_fallback, fuse_unk, ignore_merges;

    added_token *added; // all added tokens, in file order (then the config's special tokens)
    int n_added, cap_added;
    added_set raw, normalized;

    replace_rule *replace;
    int n_replace;
    bool split;                // pre-tokenizer Split, MergedWithPrevious
    uint32_t split_off, split_len;

    int32_t prefix[MAX_TEMPLATE], suffix[MAX_TEMPLATE];
    int n_prefix, n_suffix;
    int32_t pad_id; // -1: none
};

// ------------------------------------------------------------------------------------------------
// Load-time errors: the first one wins; every message names the file and the key.

typedef struct loader {
    sana_tokenizer *t;
    const char *path;
    sana_error *err;
    sana_status status;
} loader;

static void fail(loader *ld, sana_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(loader *ld, sana_status s, const char *fmt, ...) {
    if (ld->status) return;
    char msg[SANA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ld->status = sana_errorf(ld->err, s, "%s: %s", ld->path, msg);
}

static const char *show(yyjson_val *v, char *buf, size_t size) {
    if (!v) {
        snprintf(buf, size, "missing");
        return buf;
    }
    size_t len;
    char *s = yyjson_val_write(v, YYJSON_WRITE_NOFLAG, &len);
    snprintf(buf, size, "%.60s%s", s ? s : "?", s && len > 60 ? "..." : "");
    free(s);
    return buf;
}

// Appends n bytes (and a NUL) to the pool; returns their offset, or UINT32_MAX when out of memory.
static uint32_t pool_add(loader *ld, const char *s, size_t n) {
    sana_tokenizer *t = ld->t;
    if (t->pool_len + n + 1 > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 1 << 16;
        while (cap < t->pool_len + n + 1) cap *= 2;
        char *p = cap <= UINT32_MAX ? realloc(t->pool, cap) : NULL;
        if (!p) {
            fail(ld, SANA_STATUS_NO_MEMORY, "out of memory for the vocabulary");
            return UINT32_MAX;
        }
        t->pool = p;
        t->pool_cap = cap;
    }
    uint32_t off = (uint32_t)t->pool_len;
    memcpy(t->pool + off, s, n);
    t->pool[off + n] = '\0';
    t->pool_len += n + 1;
    return off;
}

static int32_t vocab_get(const sana_tokenizer *t, const char *s, size_t n) {
    if (!t->vocab.slots) return -1;
    for (size_t i = hash_bytes(s, n) & t->vocab.mask;; i = (i + 1) & t->vocab.mask) {
        uint32_t v = t->vocab.slots[i];
        if (!v) return -1;
        size_t k = v - 1;
        if (t->str_len[k] == n && memcmp(t->pool + t->str_off[k], s, n) == 0) return t->str_id[k];
    }
}

// Inserts string k; returns false when the same bytes are already there.
static bool vocab_insert(sana_tokenizer *t, size_t k) {
    const char *s = t->pool + t->str_off[k];
    size_t n = t->str_len[k];
    for (size_t i = hash_bytes(s, n) & t->vocab.mask;; i = (i + 1) & t->vocab.mask) {
        uint32_t v = t->vocab.slots[i];
        if (!v) {
            t->vocab.slots[i] = (uint32_t)k + 1;
            return true;
        }
        if (t->str_len[v - 1] == n && memcmp(t->pool + t->str_off[v - 1], s, n) == 0) return false;
    }
}

static const merge_slot *merge_get(const sana_tokenizer *t, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t i = hash_u64(key) & t->merges_mask;; i = (i + 1) & t->merges_mask) {
        const merge_slot *m = &t->merges[i];
        if (m->key == key) return m;
        if (m->key == UINT64_MAX) return NULL;
    }
}

// ------------------------------------------------------------------------------------------------
// Loading tokenizer.json

static const char *get_str(yyjson_val *obj, const char *key) {
    yyjson_val *v = yyjson_obj_get(obj, key);
    return yyjson_is_str(v) ? yyjson_get_str(v) : NULL;
}

// An optional boolean field of obj ("model.byte_fallback"): absent or null gives def.
static bool get_bool(loader *ld, yyjson_val *obj, const char *where, const char *key, bool def) {
    yyjson_val *v = yyjson_obj_get(obj, key);
    if (!v || yyjson_is_null(v)) return def;
    if (!yyjson_is_bool(v)) {
        char buf[80];
        fail(ld, SANA_STATUS_BAD_FILE, "field \"%s%s\" is %s; expected true or false", where, key, show(v, buf, sizeof buf));
        return def;
    }
    return yyjson_get_bool(v);
}

static void load_vocab(loader *ld, yyjson_val *model) {
    sana_tokenizer *t = ld->t;
    char buf[80];
    yyjson_val *vocab = yyjson_obj_get(model, "vocab");
    if (!yyjson_is_obj(vocab)) {
        fail(ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" is %s; expected an object {piece: id}",
             show(vocab, buf, sizeof buf));
        return;
    }
    size_t n = yyjson_obj_size(vocab);
    if (n == 0 || n > INT32_MAX / 2) {
        fail(ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" has %zu entries; expected 1 to %d", n, INT32_MAX / 2);
        return;
    }
    t->str_off = malloc(n * sizeof *t->str_off);
    t->str_len = malloc(n * sizeof *t->str_len);
    t->str_id = malloc(n * sizeof *t->str_id);
    t->vocab.mask = table_size(n) - 1;
    t->vocab.slots = calloc(t->vocab.mask + 1, sizeof *t->vocab.slots);
    if (!t->str_off || !t->str_len || !t->str_id || !t->vocab.slots) {
        fail(ld, SANA_STATUS_NO_MEMORY, "out of memory for %zu vocabulary entries", n);
        return;
    }
    yyjson_val *key, *val;
    yyjson_obj_iter it = yyjson_obj_iter_with(vocab);
    while ((key = yyjson_obj_iter_next(&it))) {
        val = yyjson_obj_iter_get_val(key);
        const char *piece = yyjson_get_str(key);
        size_t len = yyjson_get_len(key);
        if (!yyjson_is_uint(val) && !(yyjson_is_sint(val) && yyjson_get_sint(val) >= 0)) {
            fail(ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" maps \"%.40s\" to %s; expected an id 0 to %d", piece,
                 show(val, buf, sizeof buf), INT32_MAX - 1);
            return;
        }
        uint64_t id = yyjson_get_uint(val);
        if (id >= (uint64_t)INT32_MAX) {
            fail(ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" maps \"%.40s\" to %llu; expected an id 0 to %d",
                 piece, (unsigned long long)id, INT32_MAX - 1);
            return;
        }
        if (!sana_utf8_valid(piece, len)) {
            fail(ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" has a piece (id %llu) that is not valid UTF-8",
                 (unsigned long long)id);
            return;
        }
        size_t k = t->n_str;
        uint32_t off = pool_add(ld, piece, len);
        if (ld->status) return;
        t->str_off[k] = off;
        t->str_len[k] = (uint32_t)len;
        t->str_id[k] = (int32_t)id;
        t->n_str++;
        if (!vocab_insert(t, k)) {
            fail(ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" has the piece \"%.40s\" twice", piece);
            return;
        }
        if ((int32_t)id + 1 > t->n_ids) t->n_ids = (int32_t)id + 1;
    }
}

// A merge's two pieces, from "left right" (tokenizers < 0.20) or ["left", "right"].
static bool merge_pieces(yyjson_val *m, const char **l, size_t *ll, const char **r, size_t *rl) {
    if (yyjson_is_str(m)) {
        const char *s = yyjson_get_str(m), *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' ')) return false; // exactly two parts, as tokenizers requires
        *l = s;
        *ll = (size_t)(sp - s);
        *r = sp + 1;
        *rl = strlen(sp + 1);
        return true;
    }
    if (yyjson_is_arr(m) && yyjson_arr_size(m) == 2 && yyjson_is_str(yyjson_arr_get(m, 0)) &&
        yyjson_is_str(yyjson_arr_get(m, 1))) {
        *l = yyjson_get_str(yyjson_arr_get(m, 0));
        *ll = yyjson_get_len(yyjson_arr_get(m, 0));
        *r = yyjson_get_str(yyjson_arr_get(m, 1));
        *rl = yyjson_get_len(yyjson_arr_get(m, 1));
        return true;
    }
    return false;
}

static void load_merges(loader *ld, yyjson_val *model) {
    sana_tokenizer *t = ld->t;
    char buf[80];
    yyjson_val *merges = yyjson_obj_get(model, "merges");
    if (!merges || yyjson_is_null(merges)) merges = NULL;
    else if (!yyjson_is_arr(merges)) {
        fail(ld, SANA_STATUS_BAD_FILE, "field \"model.merges\" is %s; expected an array", show(merges, buf, sizeof buf));
        return;
    }
    size_t n = merges ? yyjson_arr_size(merges) : 0;
    if (n >= UINT32_MAX / 4) {
        fail(ld, SANA_STATUS_BAD_FILE, "field \"model.merges\" has %zu entries; too many", n);
        return;
    }
    t->merges_mask = table_size(n) - 1;
    t->merges = malloc((t->merges_mask + 1) * sizeof *t->merges);
    char *cat = malloc(65536);
    if (!t->merges || !cat) {
        free(cat);
        fail(ld, SANA_STATUS_NO_MEMORY, "out of memory for %zu merges", n);
        return;
    }
    for (size_t i = 0; i <= t->merges_mask; i++) t->merges[i].key = UINT64_MAX;
    size_t idx, max;
    yyjson_val *m;
    yyjson_arr_foreach(merges, idx, max, m) {
        const char *l, *r;
        size_t ll, rl;
        if (!merge_pieces(m, &l, &ll, &r, &rl)) {
            fail(ld, SANA_STATUS_BAD_FILE, "field \"model.merges\"[%zu] is %s; expected \"left right\" or [\"left\", \"right\"]",
                 idx, show(m, buf, sizeof buf));
            break;
        }
        int32_t a = vocab_get(t, l, ll), b = vocab_get(t, r, rl), c = -1;
        if (ll + rl < 65536) {
            memcpy(cat, l, ll);
            memcpy(cat + ll, r, rl);
            c = vocab_get(t, cat, ll + rl);
        }
        if (a < 0 || b < 0 || c < 0) {
            const char *missing = a < 0 ? l : b < 0 ? r : "their concatenation";
            int mlen = a < 0 ? (int)ll : b < 0 ? (int)rl : (int)strlen(missing);
            fail(ld, SANA_STATUS_BAD_FILE, "field \"model.merges\"[%zu]: \"%.*s\" is not in model.vocab", idx,
                 SANA_MIN(mlen, 40), missing);
            break;
        }
        // A repeated pair takes its last rank, as tokenizers' HashMap collect does.
        uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
        for (size_t s = hash_u64(key) & t->merges_mask;; s = (s + 1) & t->merges_mask) {
            merge_slot *slot = &t->merges[s];
            if (slot->key == UINT64_MAX || slot->key == key) {
                *slot = (merge_slot){.key = key, .rank = (uint32_t)idx, .new_id = c};
                break;
            }
        }
    }
    free(cat);
}

static void load_model(loader *ld, yyjson_val *root) {
    sana_tokenizer *t = ld->t;
    char buf[80];
    yyjson_val *model = yyjson_obj_get(root, "model");
    if (!yyjson_is_obj(model)) {
        fail(ld, SANA_STATUS_BAD_FILE, "field \"model\" is %s; expected an object", show(model, buf, sizeof buf));
        return;
    }
    const char *type = get_str(model, "type");
    if (type && strcmp(type, "BPE") != 0) {
        fail(ld, SANA_STATUS_UNSUPPORTED, "field \"model.type\" is \"%.40s\"; only \"BPE\" is supported", type);
        return;
    }
    yyjson_val *dropout = yyjson_obj_get(model, "dropout");
    if (dropout && !yyjson_is_null(dropout) && !(yyjson_is_num(dropout) && yyjson_get_num(dropout) == 0.0)) {
        fail(ld, SANA_STATUS_UNSUPPORTED, "field \"model.dropout\" is %s; only null or 0 (deterministic) is supported",
             show(dropout, buf, sizeof buf));
        return;
    }
    static const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        yyjson_val *v = yyjson_obj_get(model, affixes[i]);
        if (v && !yyjson_is_null(v) && !(yyjson_is_str(v) && yyjson_get_len(v) == 0)) {
            fail(ld, SANA_STATUS_UNSUPPORTED, "field \"model.%s\" is %s; only null is supported", affixes[i],
                 show(v, buf, sizeof buf));
            return;
        }
    }
    t->byte_fallback = get_bool(ld, model, "model.", "byte_fallback", false);
    t->fuse_unk = get_bool(ld, model, "model.", "fuse_unk", false);
    t->ignore_merges = get_bool(ld, model, "model.", "ignore_merges", false);
    load_vocab(ld, model);
    if (ld->status) return;
    load_merges(ld, model);
    if (ld->status) return;
    const char *unk = get_str(model, "unk_token");
    t->unk_id = unk ? vocab_get(t, unk, strlen(unk)) : -1;
    t->unk_missing = unk && t->unk_id < 0;
    for (int b = 0; b < 256; b++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", b);
        t->byte_id[b] = vocab_get(t, piece, 6);
    }
}

// Appends an added token (to the list and to the raw or normalized matching set).
static void add_token(loader *ld, const char *content, size_t len, int32_t id, bool normalized) {
    sana_tokenizer *t = ld->t;
    added_set *set = normalized ? &t->normalized : &t->raw;
    if (t->n_added == t->cap_added) {
        int cap = t->cap_added ? 2 * t->cap_added : 64;
        added_token *a = realloc(t->added, (size_t)cap * sizeof *a);
        if (!a) goto oom;
        t->added = a;
        t->cap_added = cap;
    }
    if (set->n == set->cap) {
        int cap = set->cap ? 2 * set->cap : 64;
        added_token *a = realloc(set->tok, (size_t)cap * sizeof *a);
        if (!a) goto oom;
        set->tok = a;
        set->cap = cap;
    }
    uint32_t off = pool_add(ld, content, len);
    if (ld->status) return;
    added_token tok = {.off = off, .len = (uint32_t)len, .id = id};
    t->added[t->n_added++] = tok;
    set->tok[set->n++] = tok;
    if (id + 1 > t->n_ids) t->n_ids = id + 1;
    return;
oom:
    fail(ld, SANA_STATUS_NO_MEMORY, "out of memory for added tokens");
}

static void load_added(loader *ld, yyjson_val *root) {
    char buf[80];
    yyjson_val *added = yyjson_obj_get(root, "added_tokens");
    if (!added || yyjson_is_null(added)) return;
    if (!yyjson_is_arr(added)) {
        fail(ld, SANA_STATUS_BAD_FILE, "field \"added_tokens\" is %s; expected an array", show(added, buf, sizeof buf));
        return;
    }
    size_t i, max;
    yyjson_val *a;
    yyjson_arr_foreach(added, i, max, a) {
        yyjson_val *id = yyjson_obj_get(a, "id"), *content = yyjson_obj_get(a, "content");
        if (!yyjson_is_obj(a) || !yyjson_is_uint(id) || yyjson_get_uint(id) >= (uint64_t)INT32_MAX ||
            !yyjson_is_str(content) || yyjson_get_len(content) == 0 ||
            !sana_utf8_valid(yyjson_get_str(content), yyjson_get_len(content))) {
            fail(ld, SANA_STATUS_BAD_FILE,
                 "field \"added_tokens\"[%zu] is %s; expected {\"id\": 0 to %d, \"content\": a non-empty string, ...}", i,
                 show(a, buf, sizeof buf), INT32_MAX - 1);
            break;
        }
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%zu].", i);
        static const char *unsupported[] = {"single_word", "lstrip", "rstrip"};
        for (int k = 0; k < 3; k++)
            if (get_bool(ld, a, where, unsupported[k], false))
                fail(ld, SANA_STATUS_UNSUPPORTED, "field \"added_tokens\"[%zu].%s is true (token \"%.40s\"); only false is supported",
                     i, unsupported[k], yyjson_get_str(content));
        bool normalized = get_bool(ld, a, where, "normalized", false);
        if (ld->status) break;
        add_token(ld, yyjson_get_str(content), yyjson_get_len(content), (int32_t)yyjson_get_uint(id), normalized);
    }
}

// Replace rules: {"type": "Replace", "pattern": {"String": s}, "content": c}.
static void load_replace(loader *ld, yyjson_val *n, const char *where) {
    sana_tokenizer *t = ld->t;
    char buf[80];
    const char *type = get_str(n, "type");
    if (!type || strcmp(type, "Replace") != 0) {
        fail(ld, SANA_STATUS_UNSUPPORTED, "field \"%s\" is %s; supported are null, Replace with a String pattern, "
             "or a Sequence of those", where, show(n, buf, sizeof buf));
        return;
    }
    yyjson_val *pattern = yyjson_obj_get(n, "pattern");
    const char *from = get_str(pattern, "String"), *to = get_str(n, "content");
    if (!from || !to || !*from) {
        fail(ld, SANA_STATUS_UNSUPPORTED, "field \"%s\" is %s; only a non-empty String pattern (no Regex) with a "
             "string content is supported", where, show(n, buf, sizeof buf));
        return;
    }
    replace_rule *r = realloc(t->replace, (size_t)(t->n_replace + 1) * sizeof *r);
    if (!r) {
        fail(ld, SANA_STATUS_NO_MEMORY, "out of memory");
        return;
    }
    t->replace = r;
    r = &t->replace[t->n_replace++];
    r->from_len = (uint32_t)strlen(from);
    r->to_len = (uint32_t)strlen(to);
    r->from = pool_add(ld, from, r->from_len);
    r->to = pool_add(ld, to, r->to_len);
}

static void load_pipeline(loader *ld, yyjson_val *root) {
    sana_tokenizer *t = ld->t;
    char buf[80];
    yyjson_val *norm = yyjson_obj_get(root, "normalizer");
    if (norm && !yyjson_is_null(norm)) {
        const char *type = get_str(norm, "type");
        if (type && strcmp(type, "Sequence") == 0) {
            yyjson_val *list = yyjson_obj_get(norm, "normalizers"), *n;
            size_t i, max;
            if (!yyjson_is_arr(list))
                fail(ld, SANA_STATUS_BAD_FILE, "field \"normalizer.normalizers\" is %s; expected an array",
                     show(list, buf, sizeof buf));
            yyjson_arr_foreach(list, i, max, n) {
                char where[64];
                snprintf(where, sizeof where, "normalizer.normalizers[%zu]", i);
                load_replace(ld, n, where);
            }
        } else {
            load_replace(ld, norm, "normalizer");
        }
    }
    yyjson_val *pre = yyjson_obj_get(root, "pre_tokenizer");
    if (pre && !yyjson_is_null(pre)) {
        const char *type = get_str(pre, "type"), *pattern = get_str(yyjson_obj_get(pre, "pattern"), "String");
        const char *behavior = get_str(pre, "behavior");
        yyjson_val *invert = yyjson_obj_get(pre, "invert");
        if (!type || strcmp(type, "Split") != 0 || !pattern || !*pattern || !behavior ||
            strcmp(behavior, "MergedWithPrevious") != 0 || (invert && !yyjson_is_false(invert))) {
            fail(ld, SANA_STATUS_UNSUPPORTED, "field \"pre_tokenizer\" is %s; supported are null and Split with a "
                 "String pattern, behavior MergedWithPrevious, invert false", show(pre, buf, sizeof buf));
            return;
        }
        t->split = true;
        t->split_len = (uint32_t)strlen(pattern);
        t->split_off = pool_add(ld, pattern, t->split_len);
    }
}

// An id for a special-token name: an added token or a vocabulary piece.
static int32_t lookup_any(const sana_tokenizer *t, const char *s) {
    size_t n = strlen(s);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && memcmp(t->pool + t->added[i].off, s, n) == 0) return t->added[i].id;
    return vocab_get(t, s, n);
}

static void load_post(loader *ld, yyjson_val *root) {
    sana_tokenizer *t = ld->t;
    char buf[80];
    yyjson_val *post = yyjson_obj_get(root, "post_processor");
    if (!post || yyjson_is_null(post)) return;
    const char *type = get_str(post, "type");
    yyjson_val *single = yyjson_obj_get(post, "single"), *specials = yyjson_obj_get(post, "special_tokens");
    if (!type || strcmp(type, "TemplateProcessing") != 0 || !yyjson_is_arr(single)) {
        fail(ld, SANA_STATUS_UNSUPPORTED, "field \"post_processor\" is %s; supported are null and TemplateProcessing",
             show(post, buf, sizeof buf));
        return;
    }
    bool seen_a = false;
    size_t i, max;
    yyjson_val *item;
    yyjson_arr_foreach(single, i, max, item) {
        yyjson_val *seq = yyjson_obj_get(item, "Sequence"), *sp = yyjson_obj_get(item, "SpecialToken");
        if (seq && yyjson_equals_str(yyjson_obj_get(seq, "id"), "A") && !seen_a) {
            seen_a = true;
            continue;
        }
        const char *name = sp ? get_str(sp, "id") : NULL;
        yyjson_val *ids = name ? yyjson_obj_get(yyjson_obj_get(specials, name), "ids") : NULL;
        if (!yyjson_is_arr(ids)) {
            fail(ld, SANA_STATUS_BAD_FILE, "field \"post_processor.single\"[%zu] is %s; expected the sequence $A once "
                 "and special tokens listed in post_processor.special_tokens", i, show(item, buf, sizeof buf));
            return;
        }
        size_t k, kmax;
        yyjson_val *id;
        yyjson_arr_foreach(ids, k, kmax, id) {
            int *count = seen_a ? &t->n_suffix : &t->n_prefix;
            int32_t *dst = seen_a ? t->suffix : t->prefix;
            if (!yyjson_is_uint(id) || yyjson_get_uint(id) >= (uint64_t)INT32_MAX || *count == MAX_TEMPLATE) {
                fail(ld, SANA_STATUS_BAD_FILE, "field \"post_processor.special_tokens\".\"%.40s\".ids is %s; expected "
                     "at most %d ids", name, show(ids, buf, sizeof buf), MAX_TEMPLATE);
                return;
            }
            dst[(*count)++] = (int32_t)yyjson_get_uint(id);
        }
    }
    if (!seen_a)
        fail(ld, SANA_STATUS_BAD_FILE, "field \"post_processor.single\" has no {\"Sequence\": {\"id\": \"A\"}}");
}

// tokenizer_config.json: a token is a string or {"content": string, ...}.
static const char *config_token(yyjson_val *cfg, const char *key, const char *def) {
    yyjson_val *v = yyjson_obj_get(cfg, key);
    if (yyjson_is_str(v)) return yyjson_get_str(v);
    if (yyjson_is_obj(v) && get_str(v, "content")) return get_str(v, "content");
    return def;
}

// transformers v5 registers the named special tokens (GemmaTokenizer's defaults unless the
// config names others) and "extra_special_tokens" as added tokens (special, not normalized):
// those that are vocabulary pieces but not yet added tokens are matched in the text too.
static void register_specials(loader *ld, yyjson_val *cfg) {
    sana_tokenizer *t = ld->t;
    const char *names[5 + 256];
    int n = 0;
    static const char *keys[5][2] = {{"bos_token", "<bos>"}, {"eos_token", "<eos>"}, {"unk_token", "<unk>"},
                                     {"pad_token", "<pad>"}, {"mask_token", "<mask>"}};
    for (int k = 0; k < 5; k++) names[n++] = config_token(cfg, keys[k][0], keys[k][1]);
    static const char *lists[] = {"extra_special_tokens", "additional_special_tokens"};
    for (int l = 0; l < 2; l++) {
        yyjson_val *arr = yyjson_obj_get(cfg, lists[l]), *v;
        size_t i, max;
        yyjson_arr_foreach(arr, i, max, v) {
            const char *s = yyjson_is_str(v) ? yyjson_get_str(v) : get_str(v, "content");
            if (s && n < (int)SANA_ARRAY_LEN(names)) names[n++] = s;
        }
    }
    for (int k = 0; k < n && !ld->status; k++) {
        size_t len = strlen(names[k]);
        bool known = len == 0;
        for (int i = 0; i < t->n_added && !known; i++)
            known = t->added[i].len == len && memcmp(t->pool + t->added[i].off, names[k], len) == 0;
        int32_t id = vocab_get(t, names[k], len);
        if (!known && id >= 0) add_token(ld, names[k], len, id, false);
    }
}

static void load_config(loader *ld, const char *dir) {
    sana_tokenizer *t = ld->t;
    char path[4096];
    struct stat sb;
    const char *pad = "<pad>";
    sana_json j = {0};
    if (sana_path_join(path, sizeof path, dir, "tokenizer_config.json") && stat(path, &sb) == 0) {
        if ((ld->status = sana_json_open(path, &j, ld->err))) {
            sana_json_close(&j);
            return;
        }
        yyjson_val *cfg = j.root;
        // transformers v5 (TokenizersBackend): an explicit add_bos_token/add_eos_token rebuilds the
        // template as [bos] $A [eos].
        if (sana_json_has(&j, "add_bos_token") || sana_json_has(&j, "add_eos_token")) {
            bool bos = sana_json_bool(&j, "add_bos_token", false, false);
            bool eos = sana_json_bool(&j, "add_eos_token", false, false);
            const char *names[2] = {config_token(cfg, "bos_token", "<bos>"), config_token(cfg, "eos_token", "<eos>")};
            t->n_prefix = t->n_suffix = 0;
            for (int k = 0; k < 2 && !j.status; k++) {
                if (!(k == 0 ? bos : eos)) continue;
                int32_t id = lookup_any(t, names[k]);
                if (id < 0)
                    sana_json_fail(&j, SANA_STATUS_BAD_FILE, "field \"%s\" is \"%.40s\", which %s is not in %s",
                                   k == 0 ? "bos_token" : "eos_token", names[k], k == 0 ? "add_bos_token" : "add_eos_token",
                                   ld->path);
                else if (k == 0) t->prefix[t->n_prefix++] = id;
                else t->suffix[t->n_suffix++] = id;
            }
        }
        register_specials(ld, cfg);
        const char *p = config_token(cfg, "pad_token", NULL);
        if (p) {
            pad = p;
            if (lookup_any(t, pad) < 0)
                sana_json_fail(&j, SANA_STATUS_BAD_FILE, "field \"pad_token\" is \"%.40s\", which is not in %s", pad,
                               ld->path);
        }
        t->pad_id = lookup_any(t, pad);
        ld->status = sana_json_close(&j);
        return;
    }
    register_specials(ld, NULL);
    t->pad_id = lookup_any(t, pad);
}

static int cmp_added(const void *a, const void *b, void *pool) {
    const added_token *x = a, *y = b;
    unsigned char fx = (unsigned char)((char *)pool)[x->off], fy = (unsigned char)((char *)pool)[y->off];
    if (fx != fy) return fx < fy ? -1 : 1;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static char *apply_replace(const sana_tokenizer *t, const char *s, size_t n, size_t *out_n);

// Sorts an added set for matching; normalized tokens are matched in their normalized form.
static void build_set(loader *ld, added_set *s, bool normalize) {
    sana_tokenizer *t = ld->t;
    for (int i = 0; normalize && i < s->n && !ld->status; i++) {
        size_t n;
        char *norm = apply_replace(t, t->pool + s->tok[i].off, s->tok[i].len, &n);
        if (!norm) {
            fail(ld, SANA_STATUS_NO_MEMORY, "out of memory");
            return;
        }
        uint32_t off = pool_add(ld, norm, n);
        free(norm);
        s->tok[i].off = off;
        s->tok[i].len = (uint32_t)n;
    }
    if (ld->status) return;
    if (s->n) qsort_r(s->tok, (size_t)s->n, sizeof *s->tok, cmp_added, t->pool);
    int i = 0;
    for (int b = 0; b <= 256; b++) {
        while (i < s->n && b < 256 && (unsigned char)t->pool[s->tok[i].off] < b) i++;
        s->start[b] = b < 256 ? i : s->n;
    }
}

sana_status sana_tokenizer_load(const char *dir, sana_tokenizer **out, sana_error *err) {
    *out = NULL;
    char path[4096];
    if (!sana_path_join(path, sizeof path, dir, "tokenizer.json"))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", dir);
    sana_tokenizer *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", path);
    }
    loader ld = {.t = t, .path = t->path, .err = err};
    sana_json j;
    if ((ld.status = sana_json_open(path, &j, err))) {
        sana_json_close(&j);
        goto fail;
    }
    load_model(&ld, j.root);
    load_added(&ld, j.root);
    load_pipeline(&ld, j.root);
    load_post(&ld, j.root);
    sana_json_close(&j);
    if (ld.status) goto fail;
    load_config(&ld, dir);
    if (ld.status) goto fail;
    build_set(&ld, &t->raw, false);
    build_set(&ld, &t->normalized, true);
    if (ld.status) goto fail;
    // id -> string: the vocabulary, then added tokens for ids the vocabulary lacks.
    t->id_str = malloc((size_t)t->n_ids * sizeof *t->id_str);
    if (!t->id_str) {
        fail(&ld, SANA_STATUS_NO_MEMORY, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < t->n_ids; i++) t->id_str[i] = -1;
    for (size_t k = 0; k < t->n_str; k++) {
        if (t->id_str[t->str_id[k]] >= 0) {
            fail(&ld, SANA_STATUS_BAD_FILE, "field \"model.vocab\" gives id %d to two pieces (\"%.40s\" and \"%.40s\")",
                 t->str_id[k], t->pool + t->str_off[t->id_str[t->str_id[k]]], t->pool + t->str_off[k]);
            goto fail;
        }
        t->id_str[t->str_id[k]] = (int32_t)k;
    }
    for (int i = 0; i < t->n_added; i++)
        if (t->id_str[t->added[i].id] < 0) t->id_str[t->added[i].id] = (int32_t)(t->n_str + (size_t)i);
    sana_log(SANA_LOG_DEBUG, "%s: %zu pieces, %d added tokens, %d ids", path, t->n_str, t->n_added, t->n_ids);
    *out = t;
    return SANA_OK;
fail:
    sana_tokenizer_free(t);
    return ld.status;
}

void sana_tokenizer_free(sana_tokenizer *t) {
    if (!t) return;
    free(t->path);
    free(t->pool);
    free(t->str_off);
    free(t->str_len);
    free(t->str_id);
    free(t->vocab.slots);
    free(t->id_str);
    free(t->merges);
    free(t->added);
    free(t->raw.tok);
    free(t->normalized.tok);
    free(t->replace);
    free(t);
}

const char *sana_tokenizer_path(const sana_tokenizer *t) { return t->path; }
int32_t sana_tokenizer_n_ids(const sana_tokenizer *t) { return t->n_ids; }
int32_t sana_tokenizer_pad_id(const sana_tokenizer *t) { return t->pad_id; }
int sana_tokenizer_n_special(const sana_tokenizer *t) { return t->n_prefix + t->n_suffix; }
int32_t sana_tokenizer_id(const sana_tokenizer *t, const char *piece) { return lookup_any(t, piece); }

const char *sana_tokenizer_piece(const sana_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_ids || t->id_str[id] < 0) return NULL;
    size_t k = (size_t)t->id_str[id];
    return t->pool + (k < t->n_str ? t->str_off[k] : t->added[k - t->n_str].off);
}

// ------------------------------------------------------------------------------------------------
// Encoding

typedef struct ivec {
    int32_t *v;
    size_t n, cap;
    bool oom;
} ivec;

static void push(ivec *v, int32_t x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        int32_t *p = realloc(v->v, cap * sizeof *p);
        if (!p) {
            v->oom = true;
            return;
        }
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = x;
}

// Every normalizer rule in turn, each replacing all non-overlapping matches left to right.
static char *apply_replace(const sana_tokenizer *t, const char *s, size_t n, size_t *out_n) {
    char *cur = malloc(n + 1);
    if (!cur) return NULL;
    memcpy(cur, s, n);
    cur[n] = '\0';
    for (int r = 0; r < t->n_replace; r++) {
        const replace_rule *rule = &t->replace[r];
        const char *from = t->pool + rule->from, *to = t->pool + rule->to;
        size_t count = 0;
        for (size_t i = 0; i + rule->from_len <= n;)
            if (memcmp(cur + i, from, rule->from_len) == 0) count++, i += rule->from_len;
            else i++;
        if (!count) continue;
        size_t m = n - count * rule->from_len + count * rule->to_len;
        char *next = malloc(m + 1);
        if (!next) {
            free(cur);
            return NULL;
        }
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + rule->from_len <= n && memcmp(cur + i, from, rule->from_len) == 0) {
                memcpy(next + o, to, rule->to_len);
                o += rule->to_len;
                i += rule->from_len;
            } else {
                next[o++] = cur[i++];
            }
        }
        next[m] = '\0';
        free(cur);
        cur = next;
        n = m;
    }
    *out_n = n;
    return cur;
}

typedef struct sym {
    int32_t id;
    int32_t prev, next; // -1: none
    uint32_t len;       // bytes; 0: merged away
} sym;

typedef struct cand {
    uint32_t rank, pos;
    int32_t new_id;
} cand;

static bool cand_less(const cand *a, const cand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(cand *h, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n) {
    cand top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const cand *best = &last;
        if (l < *n && cand_less(&h[l], best)) m = l, best = &h[l];
        if (r < *n && cand_less(&h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = last;
    return top;
}

static void add_sym(sym *s, size_t *n, int32_t id, uint32_t len) {
    s[*n] = (sym){.id = id, .prev = (int32_t)*n - 1, .next = -1, .len = len};
    if (*n) s[*n - 1].next = (int32_t)*n;
    (*n)++;
}

// BPE on one word (models/bpe/model.rs merge_word + word.rs merge_all). Returns false when an
// unknown character needs an unk token the vocabulary lacks.
static bool bpe_word(const sana_tokenizer *t, const char *w, size_t len, ivec *out) {
    if (len == 0) return true;
    if (t->ignore_merges) {
        int32_t id = vocab_get(t, w, len);
        if (id >= 0) {
            push(out, id);
            return true;
        }
    }
    sym *s = malloc(len * sizeof *s);
    cand *heap = malloc(3 * len * sizeof *heap + sizeof *heap);
    if (!s || !heap) {
        free(s);
        free(heap);
        out->oom = true;
        return true;
    }
    size_t n = 0;
    int32_t unk = -1; // a pending unk symbol's byte length, or -1
    bool ok = true;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        uint32_t cl = (uint32_t)sana_utf8_decode(w + i, &cp);
        int32_t id = vocab_get(t, w + i, cl);
        if (id >= 0) {
            if (unk >= 0) add_sym(s, &n, t->unk_id, (uint32_t)unk), unk = -1;
            add_sym(s, &n, id, cl);
        } else {
            bool bytes = t->byte_fallback;
            for (uint32_t k = 0; bytes && k < cl; k++) bytes = t->byte_id[(unsigned char)w[i + k]] >= 0;
            if (bytes) {
                // As upstream, byte pieces do not flush a pending unk symbol.
                for (uint32_t k = 0; k < cl; k++) add_sym(s, &n, t->byte_id[(unsigned char)w[i + k]], 1);
            } else if (t->unk_missing) {
                ok = false;
            } else if (t->unk_id >= 0) {
                if (unk >= 0 && t->fuse_unk) unk += (int32_t)cl;
                else {
                    if (unk >= 0) add_sym(s, &n, t->unk_id, (uint32_t)unk);
                    unk = (int32_t)cl;
                }
            } // no unk token: the character is dropped, as upstream
        }
        i += cl;
    }
    if (unk >= 0) add_sym(s, &n, t->unk_id, (uint32_t)unk);

    size_t nh = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const merge_slot *m = merge_get(t, s[i].id, s[i + 1].id);
        if (m) heap_push(heap, &nh, (cand){m->rank, (uint32_t)i, m->new_id});
    }
    while (nh) {
        cand top = heap_pop(heap, &nh);
        sym *cur = &s[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        sym right = s[cur->next];
        const merge_slot *m = merge_get(t, cur->id, right.id);
        if (!m || m->new_id != top.new_id) continue; // an expired candidate
        s[cur->next].len = 0;
        cur->id = top.new_id;
        cur->len += right.len;
        cur->next = right.next;
        if (right.next >= 0) s[right.next].prev = (int32_t)top.pos;
        if (cur->prev >= 0 && (m = merge_get(t, s[cur->prev].id, cur->id)))
            heap_push(heap, &nh, (cand){m->rank, (uint32_t)cur->prev, m->new_id});
        if (cur->next >= 0 && (m = merge_get(t, cur->id, s[cur->next].id)))
            heap_push(heap, &nh, (cand){m->rank, top.pos, m->new_id});
    }
    for (size_t i = 0; i < n; i++)
        if (s[i].len) push(out, s[i].id);
    free(s);
    free(heap);
    return ok;
}

// The pre-tokenizer on a normalized piece, then BPE on each word.
static bool encode_words(const sana_tokenizer *t, const char *s, size_t n, ivec *out) {
    bool ok = true;
    if (!t->split) return bpe_word(t, s, n, out);
    const char *pat = t->pool + t->split_off;
    size_t start = 0;
    for (size_t i = 0; i + t->split_len <= n;) {
        if (memcmp(s + i, pat, t->split_len) == 0) {
            i += t->split_len;
            ok = bpe_word(t, s + start, i - start, out) && ok; // MergedWithPrevious: the match ends a word
            start = i;
        } else {
            i++;
        }
    }
    return bpe_word(t, s + start, n - start, out) && ok;
}

// The longest added token of set s at s[i] (its index), or -1.
static int match_added(const sana_tokenizer *t, const added_set *set, const char *s, size_t n, size_t i) {
    unsigned char b = (unsigned char)s[i];
    for (int k = set->start[b]; k < set->start[b + 1]; k++) {
        const added_token *a = &set->tok[k];
        if (a->len <= n - i && memcmp(s + i, t->pool + a->off, a->len) == 0) return k;
    }
    return -1;
}

static bool encode_normalized(const sana_tokenizer *t, const char *s, size_t n, ivec *out) {
    bool ok = true;
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        int k = t->normalized.n ? match_added(t, &t->normalized, s, n, i) : -1;
        if (k < 0) {
            i++;
            continue;
        }
        ok = encode_words(t, s + start, i - start, out) && ok;
        push(out, t->normalized.tok[k].id);
        i += t->normalized.tok[k].len;
        start = i;
    }
    return encode_words(t, s + start, n - start, out) && ok;
}

static bool encode_segment(const sana_tokenizer *t, const char *s, size_t n, ivec *out) {
    if (n == 0) return true;
    size_t m;
    char *norm = apply_replace(t, s, n, &m);
    if (!norm) {
        out->oom = true;
        return true;
    }
    bool ok = encode_normalized(t, norm, m, out);
    free(norm);
    return ok;
}

// The ids of well-formed UTF-8 text, without special tokens.
static bool encode_text(const sana_tokenizer *t, const char *s, size_t n, ivec *out) {
    bool ok = true;
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        int k = t->raw.n ? match_added(t, &t->raw, s, n, i) : -1;
        if (k < 0) {
            i++;
            continue;
        }
        ok = encode_segment(t, s + start, i - start, out) && ok;
        push(out, t->raw.tok[k].id);
        i += t->raw.tok[k].len;
        start = i;
    }
    return encode_segment(t, s + start, n - start, out) && ok;
}

static sana_status encode(const sana_tokenizer *t, const char *text, size_t len, ivec *out, sana_error *err) {
    size_t n;
    char *s = sana_utf8_sanitize(text, len, &n);
    if (!s) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory tokenizing %zu bytes", len);
    bool ok = encode_text(t, s, n, out);
    free(s);
    if (out->oom) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory tokenizing %zu bytes", len);
    if (!ok)
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: the text has a character outside the vocabulary and "
                           "model.unk_token is not in model.vocab", t->path);
    return SANA_OK;
}

sana_status sana_tokenizer_encode(const sana_tokenizer *t, const char *text, size_t len, bool add_special,
                                  int32_t **ids, int *n, sana_error *err) {
    *ids = NULL;
    *n = 0;
    ivec v = {0};
    if (add_special)
        for (int i = 0; i < t->n_prefix; i++) push(&v, t->prefix[i]);
    sana_status s = encode(t, text, len, &v, err);
    if (add_special)
        for (int i = 0; i < t->n_suffix; i++) push(&v, t->suffix[i]);
    if (!s && (v.oom || v.n > INT32_MAX))
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory tokenizing %zu bytes", len);
    if (s) {
        free(v.v);
        return s;
    }
    *ids = v.v ? v.v : malloc(sizeof **ids);
    if (!*ids) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory");
    *n = (int)v.n;
    return SANA_OK;
}

sana_status sana_tokenizer_encode_padded(const sana_tokenizer *t, const char *text, size_t len,
                                         int max_length, int32_t *ids, int32_t *mask, int *n_real,
                                         sana_error *err) {
    const int special = t->n_prefix + t->n_suffix;
    if (max_length < special || max_length < 1)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "max_length %d is too short; expected at least %d (the "
                           "special tokens of %s)", max_length, SANA_MAX(special, 1), t->path);
    ivec v = {0};
    sana_status s = encode(t, text, len, &v, err);
    if (s) {
        free(v.v);
        return s;
    }
    // Truncation keeps the first max_length - special text tokens (right side), then the template.
    size_t keep = SANA_MIN(v.n, (size_t)(max_length - special)), o = 0;
    for (int i = 0; i < t->n_prefix; i++) ids[o++] = t->prefix[i];
    for (size_t i = 0; i < keep; i++) ids[o++] = v.v[i];
    for (int i = 0; i < t->n_suffix; i++) ids[o++] = t->suffix[i];
    free(v.v);
    if (o < (size_t)max_length && t->pad_id < 0)
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: padding needs a pad token, and \"<pad>\" is not in it",
                           t->path);
    if (n_real) *n_real = (int)o;
    for (size_t i = 0; i < (size_t)max_length; i++) {
        mask[i] = i < o;
        if (i >= o) ids[i] = t->pad_id;
    }
    return SANA_OK;
}
