// util.h: small internal helpers shared by the core (not part of the public API).
#ifndef SANA_UTIL_H
#define SANA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "sana.h"

// For programmer errors only (a violated internal contract), never for anything a file, a user
// or a driver can cause: those return a sana_status.
#define SANA_ASSERT(cond)                                                                       \
    do {                                                                                        \
        if (!(cond)) sana_assert_fail(#cond, __FILE__, __LINE__);                               \
    } while (0)

_Noreturn void sana_assert_fail(const char *cond, const char *file, int line);

#define SANA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SANA_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SANA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

// Reads a whole file into a NUL-terminated malloc'd buffer; *size gets the byte count
// (without the NUL). Errors name the path.
sana_status sana_read_file(const char *path, char **data, size_t *size, sana_error *err);

// path_join("a/b", "c") = "a/b/c" into buf; returns buf, or NULL when it does not fit.
char *sana_path_join(char *buf, size_t size, const char *dir, const char *name);

#endif // SANA_UTIL_H
