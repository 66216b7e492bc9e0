// tap.h: named intermediate tensors, for parity tests and debugging.
//
// A model emits a tensor at each point the reference generator dumps one, under the same name
// (the upstream module path, e.g. "transformer_blocks.3.attn1"). The tap sees a backend tensor:
// call sana_backend_sync() and sana_download() to read it.
#ifndef SANA_TAP_H
#define SANA_TAP_H

#include <stdarg.h>
#include <stdio.h>

#include "tensor.h"

typedef struct sana_tap {
    void (*fn)(void *user, const char *name, const sana_tensor *t);
    void *user;
} sana_tap;

static inline void sana_tap_emit(const sana_tap *tap, const sana_tensor *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void sana_tap_emit(const sana_tap *tap, const sana_tensor *t, const char *fmt, ...) {
    if (!tap || !tap->fn) return;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    tap->fn(tap->user, name, t);
}

#endif // SANA_TAP_H
