// util.c: assertion failure, whole-file reads, path joins.
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sana_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "sana: internal error: %s:%d: assertion '%s' failed\n", file, line, cond);
    abort();
}

sana_status sana_read_file(const char *path, char **data, size_t *size, sana_error *err) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sana_errorf(err, SANA_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory reading it", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return sana_errorf(err, SANA_STATUS_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return SANA_OK;
}

char *sana_path_join(char *buf, size_t size, const char *dir, const char *name) {
    size_t ld = strlen(dir);
    while (ld > 1 && dir[ld - 1] == '/') ld--;
    int n = snprintf(buf, size, "%.*s/%s", (int)ld, dir, name);
    return (n < 0 || (size_t)n >= size) ? NULL : buf;
}
