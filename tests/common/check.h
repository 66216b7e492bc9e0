// check.h: minimal helpers for unit tests: expectations that count failures, and temp files.
#ifndef SANA_TEST_CHECK_H
#define SANA_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "sana.h"

extern int check_failures;

// Prints "ok <what>" or "FAIL <what>: <why>", counts failures, returns cond.
bool check_true(bool cond, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Expects status `want` and an error message containing every one of the NULL-terminated
// substrings; prints the message either way so a reader sees what a user would see.
void check_error(const char *what, sana_status got, const sana_error *err, sana_status want, ...);

// A fresh temporary directory (removed at exit with its files); returns its path.
const char *check_tmpdir(void);

// Writes len bytes to DIR/name (created under check_tmpdir()); returns the path (static buffer
// per call, copy it if needed). len < 0: strlen(data).
const char *check_write(const char *name, const void *data, long len);

// Exit status: 0 when every check passed.
int check_summary(const char *suite);

#endif // SANA_TEST_CHECK_H
