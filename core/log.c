// log.c: the process-wide log sink.
#include <stdio.h>

#include "sana.h"

static void log_default(sana_log_level level, const char *line, void *user) {
    (void)user;
    if (level < SANA_LOG_WARN) return;
    fprintf(stderr, "sana: %s\n", line);
}

static sana_log_fn log_fn = log_default;
static void *log_user;
static sana_log_level log_level = SANA_LOG_INFO;

void sana_log_set(sana_log_fn fn, void *user) {
    log_fn = fn ? fn : log_default;
    log_user = fn ? user : NULL;
}

void sana_log_set_level(sana_log_level level) { log_level = level; }

void sana_log(sana_log_level level, const char *fmt, ...) {
    if (level < log_level) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_fn(level, line, log_user);
}
