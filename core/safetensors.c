// safetensors.c: mmap, header validation, key lookup, sharded index (see safetensors.h).
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

#include "util.h"

// The reference implementation refuses headers above 100 MB (safetensors MAX_HEADER_SIZE).
#define MAX_HEADER_BYTES (100u * 1000u * 1000u)

typedef struct st_file {
    char *path;
    const uint8_t *map; // whole file
    size_t size;
    size_t data_start; // 8 + header length
} st_file;

typedef struct st_entry {
    char *name;
    int file;
    sana_tensor view; // data points into the map
} st_entry;

struct sana_safetensors {
    char *path; // the file or the index
    st_file *files;
    int n_files;
    st_entry *entries; // sorted by name
    int n_entries;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void sana_st_free(sana_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n_files; i++) {
        if (st->files[i].map) munmap((void *)st->files[i].map, st->files[i].size);
        free(st->files[i].path);
    }
    for (int i = 0; i < st->n_entries; i++) free(st->entries[i].name);
    free(st->files);
    free(st->entries);
    free(st->path);
    free(st);
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static sana_status parse_dtype(const char *path, const char *key, const char *s, sana_dtype *out,
                               sana_error *err) {
    static const char *known_unsupported[] = {"F64", "I8", "U8", "I16", "U16", "U32", "U64",
                                              "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",
                                              "F6_E2M3", "F6_E3M2", "C64"};
    for (int d = 0; d < SANA_DTYPE_COUNT; d++)
        if (strcmp(s, sana_dtype_name((sana_dtype)d)) == 0) {
            *out = (sana_dtype)d;
            return SANA_OK;
        }
    for (size_t i = 0; i < SANA_ARRAY_LEN(known_unsupported); i++)
        if (strcmp(s, known_unsupported[i]) == 0)
            return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                               "%s: tensor '%s' has dtype %s; supported are F32, F16, BF16, I32, I64",
                               path, key, s);
    return sana_errorf(err, SANA_STATUS_BAD_FILE,
                       "%s: tensor '%s' has unknown dtype '%.32s' (expected F32, F16, BF16, I32 or I64)",
                       path, key, s);
}

// Parses one header entry {"dtype", "shape", "data_offsets"} into e->view.
static sana_status parse_entry(const st_file *f, const char *key, yyjson_val *v, st_entry *e,
                               sana_error *err) {
    const char *path = f->path;
    if (!yyjson_is_obj(v))
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: header entry '%s' is not an object", path, key);
    yyjson_val *jd = yyjson_obj_get(v, "dtype"), *js = yyjson_obj_get(v, "shape"),
               *jo = yyjson_obj_get(v, "data_offsets");
    if (!yyjson_is_str(jd))
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: tensor '%s' has no \"dtype\" string", path, key);
    if (!yyjson_is_arr(js))
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: tensor '%s' has no \"shape\" array", path, key);
    if (!yyjson_is_arr(jo) || yyjson_arr_size(jo) != 2)
        return sana_errorf(err, SANA_STATUS_BAD_FILE,
                           "%s: tensor '%s' has no \"data_offsets\" [begin, end] pair", path, key);
    sana_tensor *t = &e->view;
    sana_status st = parse_dtype(path, key, yyjson_get_str(jd), &t->dtype, err);
    if (st) return st;

    size_t nd = yyjson_arr_size(js);
    if (nd > SANA_MAX_DIMS)
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED, "%s: tensor '%s' has %zu dimensions; at most %d are supported",
                           path, key, nd, SANA_MAX_DIMS);
    // A 0-dim scalar is stored as shape [1].
    t->ndim = nd ? (int)nd : 1;
    for (int i = 0; i < SANA_MAX_DIMS; i++) t->shape[i] = 1;
    uint64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        yyjson_val *d = yyjson_arr_get(js, i);
        if (!yyjson_is_uint(d) && !(yyjson_is_sint(d) && yyjson_get_sint(d) >= 0))
            return sana_errorf(err, SANA_STATUS_BAD_FILE,
                               "%s: tensor '%s' shape entry %zu is not a non-negative integer", path, key, i);
        uint64_t n = yyjson_get_uint(d);
        if (n > (uint64_t)1 << 40 || (n && numel > ((uint64_t)1 << 40) / n))
            return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: tensor '%s' shape is absurdly large", path, key);
        numel *= n;
        t->shape[i] = (int64_t)n;
    }

    yyjson_val *jb = yyjson_arr_get(jo, 0), *je = yyjson_arr_get(jo, 1);
    if (!yyjson_is_uint(jb) || !yyjson_is_uint(je))
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: tensor '%s' data_offsets are not non-negative integers",
                           path, key);
    uint64_t b = yyjson_get_uint(jb), en = yyjson_get_uint(je), data_size = f->size - f->data_start;
    if (b > en || en > data_size)
        return sana_errorf(err, SANA_STATUS_BAD_FILE,
                           "%s: tensor '%s' data_offsets [%llu, %llu] lie outside the %llu data bytes "
                           "(file truncated?)",
                           path, key, (unsigned long long)b, (unsigned long long)en,
                           (unsigned long long)data_size);
    uint64_t want = numel * sana_dtype_size(t->dtype);
    if (en - b != want) {
        char shape[96];
        return sana_errorf(err, SANA_STATUS_BAD_FILE,
                           "%s: tensor '%s' holds %llu bytes but shape %s x %s needs %llu", path, key,
                           (unsigned long long)(en - b), sana_shape_str(t, shape, sizeof shape),
                           sana_dtype_name(t->dtype), (unsigned long long)want);
    }
    t->data = (void *)(f->map + f->data_start + b);
    if ((uintptr_t)t->data % sana_dtype_size(t->dtype))
        return sana_errorf(err, SANA_STATUS_UNSUPPORTED,
                           "%s: tensor '%s' data is not aligned to its %zu-byte elements "
                           "(header length not padded to 8 bytes)",
                           path, key, sana_dtype_size(t->dtype));
    return SANA_OK;
}

static sana_status map_file(const char *path, st_file *f, sana_error *err) {
    memset(f, 0, sizeof *f);
    f->path = dup_str(path);
    if (!f->path) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sana_errorf(err, SANA_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sana_errorf(err, SANA_STATUS_IO, "%s: not a regular file", path);
    }
    f->size = (size_t)sb.st_size;
    if (f->size < 8) {
        close(fd);
        return sana_errorf(err, SANA_STATUS_BAD_FILE,
                           "%s: truncated: %zu bytes, but a safetensors file starts with an 8-byte header length",
                           path, f->size);
    }
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        f->size = 0;
        return sana_errorf(err, SANA_STATUS_IO, "%s: cannot mmap: %s", path, strerror(errno));
    }
    f->map = m;
    return SANA_OK;
}

// Parses the header of f and appends its entries to st.
static sana_status read_header(sana_safetensors *st, int file_index, sana_error *err) {
    st_file *f = &st->files[file_index];
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | f->map[i];
    if (n > f->size - 8)
        return sana_errorf(err, SANA_STATUS_BAD_FILE,
                           "%s: header length %llu runs past the end of the %zu-byte file (truncated?)",
                           f->path, (unsigned long long)n, f->size);
    if (n > MAX_HEADER_BYTES)
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: header length %llu exceeds the 100 MB limit",
                           f->path, (unsigned long long)n);
    f->data_start = 8 + (size_t)n;
    yyjson_read_err jerr;
    yyjson_doc *doc = yyjson_read_opts((char *)f->map + 8, (size_t)n, YYJSON_READ_NOFLAG, NULL, &jerr);
    if (!doc)
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: header is not valid JSON: %s at byte %zu",
                           f->path, jerr.msg, jerr.pos);
    sana_status s = SANA_OK;
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (!yyjson_is_obj(root)) {
        s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: header is not a JSON object", f->path);
        goto done;
    }
    size_t count = yyjson_obj_size(root);
    st_entry *grown = realloc(st->entries, (st->n_entries + count) * sizeof *grown + 1);
    if (!grown) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", f->path);
        goto done;
    }
    st->entries = grown;
    yyjson_val *key, *val;
    yyjson_obj_iter it = yyjson_obj_iter_with(root);
    while ((key = yyjson_obj_iter_next(&it))) {
        val = yyjson_obj_iter_get_val(key);
        const char *name = yyjson_get_str(key);
        if (strcmp(name, "__metadata__") == 0) continue;
        st_entry *e = &st->entries[st->n_entries];
        memset(e, 0, sizeof *e);
        e->file = file_index;
        if ((s = parse_entry(f, name, val, e, err))) goto done;
        if (!(e->name = dup_str(name))) {
            s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", f->path);
            goto done;
        }
        st->n_entries++;
    }
done:
    yyjson_doc_free(doc);
    return s;
}

static sana_status finish(sana_safetensors *st, sana_error *err) {
    qsort(st->entries, (size_t)st->n_entries, sizeof *st->entries, cmp_entry);
    for (int i = 1; i < st->n_entries; i++)
        if (strcmp(st->entries[i - 1].name, st->entries[i].name) == 0)
            return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: tensor '%s' appears twice", st->path,
                               st->entries[i].name);
    return SANA_OK;
}

sana_status sana_st_open_file(const char *path, sana_safetensors **out, sana_error *err) {
    *out = NULL;
    sana_safetensors *st = calloc(1, sizeof *st);
    sana_status s;
    if (!st || !(st->path = dup_str(path)) || !(st->files = calloc(1, sizeof *st->files))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", path);
        goto fail;
    }
    st->n_files = 1;
    if ((s = map_file(path, &st->files[0], err))) goto fail;
    if ((s = read_header(st, 0, err))) goto fail;
    if ((s = finish(st, err))) goto fail;
    *out = st;
    return SANA_OK;
fail:
    sana_st_free(st);
    return s;
}

// A shard name from an index must be a plain file name beside the index.
static bool plain_file_name(const char *s) {
    return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && strlen(s) < 256;
}

static sana_status open_index(const char *dir, const char *index_path, sana_safetensors **out,
                              sana_error *err) {
    char *text = NULL;
    size_t len;
    sana_status s = sana_read_file(index_path, &text, &len, err);
    if (s) return s;
    yyjson_read_err jerr;
    yyjson_doc *doc = yyjson_read_opts(text, len, YYJSON_READ_NOFLAG, NULL, &jerr);
    sana_safetensors *st = NULL;
    if (!doc) {
        s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: not valid JSON: %s at byte %zu", index_path,
                        jerr.msg, jerr.pos);
        goto fail;
    }
    yyjson_val *map = yyjson_obj_get(yyjson_doc_get_root(doc), "weight_map");
    if (!yyjson_is_obj(map) || yyjson_obj_size(map) == 0) {
        s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: no \"weight_map\" object naming the shards", index_path);
        goto fail;
    }
    st = calloc(1, sizeof *st);
    size_t n_map = yyjson_obj_size(map);
    if (!st || !(st->path = dup_str(index_path)) || !(st->files = calloc(n_map, sizeof *st->files))) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", index_path);
        goto fail;
    }
    // Open each distinct shard once, in order of first appearance.
    yyjson_val *key, *val;
    yyjson_obj_iter it = yyjson_obj_iter_with(map);
    while ((key = yyjson_obj_iter_next(&it))) {
        val = yyjson_obj_iter_get_val(key);
        const char *shard = yyjson_get_str(val);
        if (!shard || !plain_file_name(shard)) {
            s = sana_errorf(err, SANA_STATUS_BAD_FILE,
                            "%s: weight_map entry '%s' does not name a file beside the index", index_path,
                            yyjson_get_str(key));
            goto fail;
        }
        char path[4096];
        if (!sana_path_join(path, sizeof path, dir, shard)) {
            s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: path of shard '%s' too long", index_path, shard);
            goto fail;
        }
        bool seen = false;
        for (int i = 0; i < st->n_files && !seen; i++) seen = strcmp(st->files[i].path, path) == 0;
        if (seen) continue;
        int fi = st->n_files++;
        if ((s = map_file(path, &st->files[fi], err))) goto fail;
        if ((s = read_header(st, fi, err))) goto fail;
    }
    if ((s = finish(st, err))) goto fail;
    // Every key the index names must be in the shard it names.
    it = yyjson_obj_iter_with(map);
    while ((key = yyjson_obj_iter_next(&it))) {
        const char *name = yyjson_get_str(key), *shard = yyjson_get_str(yyjson_obj_iter_get_val(key));
        const char *file = sana_st_file_of(st, name);
        size_t fl = file ? strlen(file) : 0, sl = strlen(shard);
        if (!file || fl < sl || strcmp(file + fl - sl, shard) != 0) {
            s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: names tensor '%s' in %s, but that shard does not hold it",
                            index_path, name, shard);
            goto fail;
        }
    }
    yyjson_doc_free(doc);
    free(text);
    *out = st;
    return SANA_OK;
fail:
    yyjson_doc_free(doc);
    free(text);
    sana_st_free(st);
    return s;
}

bool sana_st_find(const char *dir, const char *stem, char *path, size_t size, bool *is_index) {
    static const char *const variants[] = {"", ".fp16", ".bf16"};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
        for (int index = 1; index >= 0; index--) {
            char name[512];
            snprintf(name, sizeof name, "%s%s.safetensors%s", stem, variants[v], index ? ".index.json" : "");
            if (sana_path_join(path, size, dir, name) && access(path, F_OK) == 0) {
                *is_index = index;
                return true;
            }
        }
    return false;
}

sana_status sana_st_open_dir(const char *dir, const char *stem, sana_safetensors **out,
                             sana_error *err) {
    *out = NULL;
    char path[4096];
    bool index;
    if (!sana_st_find(dir, stem, path, sizeof path, &index))
        return sana_errorf(err, SANA_STATUS_BAD_MODEL, "%s: missing %s.safetensors (or %s.safetensors.index.json)",
                           dir, stem, stem);
    return index ? open_index(dir, path, out, err) : sana_st_open_file(path, out, err);
}

const char *sana_st_path(const sana_safetensors *st) { return st->path; }

int sana_st_count(const sana_safetensors *st) { return st->n_entries; }

const char *sana_st_name(const sana_safetensors *st, int i) {
    return i >= 0 && i < st->n_entries ? st->entries[i].name : NULL;
}

static const st_entry *find(const sana_safetensors *st, const char *name) {
    st_entry key = {.name = (char *)name};
    return bsearch(&key, st->entries, (size_t)st->n_entries, sizeof *st->entries, cmp_entry);
}

bool sana_st_has(const sana_safetensors *st, const char *name) { return find(st, name) != NULL; }

int sana_st_index(const sana_safetensors *st, const char *name) {
    const st_entry *e = find(st, name);
    return e ? (int)(e - st->entries) : -1;
}

sana_status sana_st_get(const sana_safetensors *st, const char *name, sana_tensor *out,
                        sana_error *err) {
    const st_entry *e = find(st, name);
    if (!e) {
        memset(out, 0, sizeof *out);
        return sana_errorf(err, SANA_STATUS_BAD_MODEL, "%s: missing tensor '%s'", st->path, name);
    }
    *out = e->view;
    return SANA_OK;
}

const char *sana_st_file_of(const sana_safetensors *st, const char *name) {
    const st_entry *e = find(st, name);
    return e ? st->files[e->file].path : NULL;
}
