// fixture.c: see fixture.h.
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>

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
