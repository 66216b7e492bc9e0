// backend.c: what all backends share: sticky errors, sync, free.
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sana_backend_fail(sana_backend *be, sana_status status, const char *fmt, ...) {
    if (be->error.status != SANA_OK) return;
    char msg[SANA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sana_errorf(&be->error, status, "%s: %s", be->i->name, msg);
}

sana_status sana_backend_sync(sana_backend *be, sana_error *err) {
    be->i->sync(be);
    if (be->error.status == SANA_OK) return SANA_OK;
    return sana_errorf(err, be->error.status, "%s", be->error.message);
}

void sana_backend_free(sana_backend *be) {
    if (be) be->i->free(be);
}
