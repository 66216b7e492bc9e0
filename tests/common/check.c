// check.c: see check.h.
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int check_failures;

bool check_true(bool cond, const char *what, const char *fmt, ...) {
    if (cond) {
        printf("ok   %s\n", what);
        return true;
    }
    check_failures++;
    printf("FAIL %s: ", what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return false;
}

void check_error(const char *what, sana_status got, const sana_error *err, sana_status want, ...) {
    bool ok = got == want && err->status == want && strchr(err->message, '\n') == NULL;
    const char *missing = NULL;
    va_list ap;
    va_start(ap, want);
    for (const char *s; (s = va_arg(ap, const char *));)
        if (!strstr(err->message, s) && !missing) missing = s;
    va_end(ap);
    ok = ok && !missing;
    if (ok) {
        printf("ok   %s\n     -> %s\n", what, err->message);
        return;
    }
    check_failures++;
    printf("FAIL %s: got %s \"%s\", expected %s%s%s%s\n", what, sana_status_name(got), err->message,
           sana_status_name(want), missing ? " with \"" : "", missing ? missing : "", missing ? "\"" : "");
}

static char tmpdir[256];

static void remove_tmpdir(void) {
    if (!tmpdir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *check_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/sana-test-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *check_write(const char *name, const void *data, long len) {
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", check_tmpdir(), name);
    // Create parent folders named in `name`.
    for (char *s = p + strlen(check_tmpdir()) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(p, 0700); // EEXIST is fine
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len < 0 ? strlen(data) : (size_t)len, f) != (len < 0 ? strlen(data) : (size_t)len)) {
        perror(p);
        exit(1);
    }
    fclose(f);
    return p;
}

int check_summary(const char *suite) {
    printf("%s: %d failure(s)\n", suite, check_failures);
    return check_failures ? 1 : 0;
}
