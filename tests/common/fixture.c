// fixture.c: see fixture.h.
#include "fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/compare.h"
#include "ops.h"

void fx_check(sana_status s, const sana_error *err, const char *what) {
    if (s == SANA_OK) return;
    fprintf(stderr, "FAIL %s: %s: %s\n", what, sana_status_name(s), err ? err->message : "");
    exit(1);
}

sana_backend *fx_backend(const char *device, bool expect_module) {
    sana_error err = {0};
    sana_backend *be;
    sana_status s = sana_backend_new(device, 0, &be, &err);
    if (s == SANA_OK) return be;
    if (s == SANA_STATUS_DEVICE || (s == SANA_STATUS_UNSUPPORTED && !expect_module)) {
        printf("SKIP device %s: %s: %s\n", device, sana_status_name(s), err.message);
        exit(TEST_SKIP);
    }
    fx_check(s, &err, device);
    return NULL;
}

sana_safetensors *fx_open(const char *path) {
    sana_error err = {0};
    sana_safetensors *st;
    fx_check(sana_st_open_file(path, &st, &err), &err, "open fixture");
    return st;
}

sana_tensor fx_get_as(const sana_safetensors *st, const char *name, sana_dtype dtype) {
    sana_error err = {0};
    sana_tensor t;
    fx_check(sana_st_get(st, name, &t, &err), &err, "fixture tensor");
    if (t.dtype != dtype) {
        fprintf(stderr, "FAIL %s: fixture tensor '%s' is %s, expected %s\n", sana_st_path(st), name,
                sana_dtype_name(t.dtype), sana_dtype_name(dtype));
        exit(1);
    }
    return t;
}

sana_tensor fx_get(const sana_safetensors *st, const char *name) { return fx_get_as(st, name, SANA_DTYPE_F32); }

sana_tensor fx_upload(sana_backend *be, sana_arena *arena, const sana_safetensors *st, const char *name) {
    sana_tensor host = fx_get(st, name);
    sana_tensor t = sana_arena_tensor(arena, SANA_DTYPE_F32, host.ndim, host.shape);
    sana_upload(be, &t, host.data);
    return t;
}

float *fx_download(sana_backend *be, const sana_tensor *t) {
    sana_error err = {0};
    fx_check(sana_backend_sync(be, &err), &err, "backend");
    float *h = malloc(sana_tensor_nbytes(t) + 1);
    if (!h) {
        fprintf(stderr, "FAIL out of memory\n");
        exit(1);
    }
    sana_download(be, h, t);
    fx_check(sana_backend_sync(be, &err), &err, "backend");
    return h;
}

sana_backend *fx_parity_setup(int argc, char **argv, double rel_fp32, double cos_fp32, double rel_bf16,
                              double cos_bf16, fx_args *a) {
    bool expect_module = false, bad = false;
    *a = (fx_args){.device = "cpu", .max_rel = -1, .min_cos = -1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            a->device = argv[++i];
        else if (strcmp(argv[i], "--max-rel") == 0 && i + 1 < argc)
            a->max_rel = atof(argv[++i]);
        else if (strcmp(argv[i], "--min-cos") == 0 && i + 1 < argc)
            a->min_cos = atof(argv[++i]);
        else if (strcmp(argv[i], "--expect-module") == 0)
            expect_module = true;
        else if (!a->dir && argv[i][0] != '-')
            a->dir = argv[i];
        else
            bad = true;
    }
    if (!a->dir || bad) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [--device DEV [--expect-module]] [--max-rel R --min-cos C]\n", argv[0]);
        exit(2);
    }
    sana_backend *be = fx_backend(a->device, expect_module);
    const bool fp32 = strcmp(be->i->name, "cpu") == 0;
    if (a->max_rel < 0) a->max_rel = fp32 ? rel_fp32 : rel_bf16;
    if (a->min_cos < 0) a->min_cos = fp32 ? cos_fp32 : cos_bf16;
    printf("device %s (%s): limits rel <= %g, cos >= %g\n", a->device, be->i->name, a->max_rel, a->min_cos);
    return be;
}

bool fx_compare(sana_backend *be, const sana_safetensors *ref, const char *name, const char *label,
                const sana_tensor *t, double max_rel, double min_cos) {
    sana_tensor r = fx_get(ref, name);
    if (sana_tensor_numel(&r) != sana_tensor_numel(t)) {
        char a[64], b[64];
        printf("FAIL %s: shape %s, reference %s\n", label, sana_shape_str(t, a, sizeof a), sana_shape_str(&r, b, sizeof b));
        return false;
    }
    float *got = fx_download(be, t);
    bool ok = compare_report(label, got, r.data, (size_t)sana_tensor_numel(t), max_rel, min_cos);
    free(got);
    return ok;
}

void fx_taps_check(fx_taps *t, const char *name, const sana_tensor *x) {
    int idx = sana_st_index(t->ref, name);
    if (idx < 0) return; // a tap the reference does not dump
    t->seen[idx] = true;
    if (!fx_compare(t->be, t->ref, name, name, x, t->max_rel, t->min_cos)) t->failures++;
}

static void on_tap(void *user, const char *name, const sana_tensor *x) {
    fx_taps *t = user;
    char full[300];
    snprintf(full, sizeof full, "%s%s", t->prefix ? t->prefix : "", name);
    fx_taps_check(t, full, x);
}

sana_tap fx_taps_begin(fx_taps *t, sana_backend *be, const sana_safetensors *ref, const char *prefix, double max_rel,
                       double min_cos) {
    *t = (fx_taps){.be = be, .ref = ref, .prefix = prefix, .max_rel = max_rel, .min_cos = min_cos,
                   .seen = calloc((size_t)sana_st_count(ref) + 1, 1)};
    if (!t->seen) {
        fprintf(stderr, "FAIL out of memory\n");
        exit(1);
    }
    return (sana_tap){.fn = on_tap, .user = t};
}

int fx_taps_end(fx_taps *t, ...) {
    for (int i = 0; i < sana_st_count(t->ref); i++) {
        const char *name = sana_st_name(t->ref, i);
        bool skip = false;
        va_list ap;
        va_start(ap, t);
        for (const char *p; !skip && (p = va_arg(ap, const char *));) skip = strncmp(name, p, strlen(p)) == 0;
        va_end(ap);
        if (!skip && !t->seen[i]) {
            printf("FAIL %s: in the reference but never emitted by the C model\n", name);
            t->failures++;
        }
    }
    free(t->seen);
    t->seen = NULL;
    return t->failures;
}
