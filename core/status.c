// status.c: sana_status names and the sana_error message buffer.
#include <stdio.h>
#include <string.h>

#include "sana.h"

const char *sana_status_name(sana_status status) {
    switch (status) {
    case SANA_OK: return "SANA_OK";
    case SANA_STATUS_IO: return "SANA_STATUS_IO";
    case SANA_STATUS_BAD_FILE: return "SANA_STATUS_BAD_FILE";
    case SANA_STATUS_BAD_MODEL: return "SANA_STATUS_BAD_MODEL";
    case SANA_STATUS_BAD_INPUT: return "SANA_STATUS_BAD_INPUT";
    case SANA_STATUS_NO_MEMORY: return "SANA_STATUS_NO_MEMORY";
    case SANA_STATUS_UNSUPPORTED: return "SANA_STATUS_UNSUPPORTED";
    case SANA_STATUS_DEVICE: return "SANA_STATUS_DEVICE";
    case SANA_STATUS_CANCELLED: return "SANA_STATUS_CANCELLED";
    }
    return "SANA_STATUS_UNKNOWN";
}

sana_status sana_errorf(sana_error *err, sana_status status, const char *fmt, ...) {
    if (err == NULL || err->status != SANA_OK) return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    // One line: a newline inside a value (a hostile key name) must not split the message.
    for (char *p = err->message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return status;
}

void sana_error_clear(sana_error *err) {
    if (err == NULL) return;
    err->status = SANA_OK;
    err->message[0] = '\0';
}
