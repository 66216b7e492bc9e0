// weights.c: checked binding of checkpoint tensors (see weights.h).
#include "weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sana_status sana_loader_init(sana_loader *ld, const sana_safetensors *st, sana_backend *be,
                             sana_error *err) {
    memset(ld, 0, sizeof *ld);
    ld->st = st;
    ld->be = be;
    ld->err = err;
    ld->used = calloc((size_t)sana_st_count(st) + 1, sizeof *ld->used);
    if (!ld->used)
        return ld->status = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", sana_st_path(st));
    return SANA_OK;
}

void sana_load(sana_loader *ld, sana_tensor *out, sana_weight_use use, sana_shape shape,
               const char *fmt, ...) {
    memset(out, 0, sizeof *out);
    if (ld->status) return;
    char key[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);

    sana_tensor host;
    if ((ld->status = sana_st_get(ld->st, key, &host, ld->err))) return;
    const char *file = sana_st_file_of(ld->st, key);
    if (host.dtype != SANA_DTYPE_F32 && host.dtype != SANA_DTYPE_F16 && host.dtype != SANA_DTYPE_BF16) {
        ld->status = sana_errorf(ld->err, SANA_STATUS_BAD_MODEL, "%s: tensor '%s' has dtype %s; expected F32, F16 or BF16",
                                 file, key, sana_dtype_name(host.dtype));
        return;
    }
    bool same = host.ndim == shape.ndim;
    for (int i = 0; same && i < shape.ndim; i++) same = host.shape[i] == shape.d[i];
    if (!same) {
        sana_tensor want = {.ndim = shape.ndim};
        memcpy(want.shape, shape.d, sizeof want.shape);
        char got_s[96], want_s[96];
        ld->status = sana_errorf(ld->err, SANA_STATUS_BAD_MODEL, "%s: tensor '%s' has shape %s; expected %s (config.json and weights disagree)",
                                 file, key, sana_shape_str(&host, got_s, sizeof got_s),
                                 sana_shape_str(&want, want_s, sizeof want_s));
        return;
    }
    ld->used[sana_st_index(ld->st, key)] = true;
    ld->status = ld->be->i->weight(ld->be, &host, use, out, ld->err);
}

sana_status sana_loader_finish(sana_loader *ld) {
    if (!ld->status && ld->used) {
        int unused = 0, first = -1;
        for (int i = 0; i < sana_st_count(ld->st); i++)
            if (!ld->used[i]) {
                if (first < 0) first = i;
                unused++;
            }
        if (unused)
            sana_log(SANA_LOG_WARN, "%s: %d tensor(s) not used by the model, e.g. '%s'", sana_st_path(ld->st),
                     unused, sana_st_name(ld->st, first));
    }
    free(ld->used);
    ld->used = NULL;
    return ld->status;
}
