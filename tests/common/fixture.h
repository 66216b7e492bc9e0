// fixture.h: reading reference dumps (tests/data/*/*.safetensors) in tests.
#ifndef SANA_TEST_FIXTURE_H
#define SANA_TEST_FIXTURE_H

#include "arena.h"
#include "backend.h"
#include "safetensors.h"
#include "tap.h"

// Exit status for "prerequisite absent" (meson reports the test as skipped).
#define TEST_SKIP 77

// A backend for a device string ("cpu", "cuda", "cuda:N"; see sana_backend_new). When the
// device cannot be used on this machine the test is skipped (exits TEST_SKIP, printing why):
// no GPU or driver (SANA_STATUS_DEVICE), or no CUDA module (SANA_STATUS_UNSUPPORTED) unless
// expect_module says this build made one, in which case failing to load it fails the test.
sana_backend *fx_backend(const char *device, bool expect_module);

// Opens path or exits 1 with the error.
sana_safetensors *fx_open(const char *path);

// The F32 host view of `name`, or exits 1 naming the fixture and key.
sana_tensor fx_get(const sana_safetensors *st, const char *name);

// The host view of `name`, which must have dtype `dtype`, or exits 1.
sana_tensor fx_get_as(const sana_safetensors *st, const char *name, sana_dtype dtype);

// A backend tensor from the arena holding a copy of fixture tensor `name`.
sana_tensor fx_upload(sana_backend *be, sana_arena *arena, const sana_safetensors *st, const char *name);

// Downloads a backend tensor into a malloc'd float array (after a sync); exits 1 on a backend
// error.
float *fx_download(sana_backend *be, const sana_tensor *t);

// Exits 1 printing err's message when s is not SANA_OK.
void fx_check(sana_status s, const sana_error *err, const char *what);

// ------------------------------------------------------------------------------------------------
// Parity tests: the shared command line and the tap-by-tap comparison.

// PROGRAM FIXTURE [--device DEV [--expect-module]] [--max-rel R --min-cos C]
typedef struct fx_args {
    const char *dir;    // the fixture (or data) folder
    const char *device; // "cpu" unless given
    double max_rel, min_cos;
} fx_args;

// Parses the command line (exits 2 with the usage line on a mistake), opens the backend (exits
// 77 when it is absent, see fx_backend), and settles the limits: those given, else the fp32
// ones on the CPU and the bf16 ones on a backend with bf16 GEMM operands. Prints them.
sana_backend *fx_parity_setup(int argc, char **argv, double rel_fp32, double cos_fp32, double rel_bf16,
                              double cos_bf16, fx_args *a);

// Compares backend tensor t with the reference tensor `name` (same element count), printing one
// line under `label`; true when within the limits.
bool fx_compare(sana_backend *be, const sana_safetensors *ref, const char *name, const char *label,
                const sana_tensor *t, double max_rel, double min_cos);

// Every tap a model emits that the reference holds (under prefix + the tap's name) is compared.
typedef struct fx_taps {
    sana_backend *be;
    const sana_safetensors *ref;
    const char *prefix; // may change between passes
    double max_rel, min_cos;
    bool *seen; // per reference tensor
    int failures;
} fx_taps;

// Starts checking; returns the tap to hand to the model.
sana_tap fx_taps_begin(fx_taps *t, sana_backend *be, const sana_safetensors *ref, const char *prefix, double max_rel,
                       double min_cos);

// Checks one more tensor by its reference name, as a tap would.
void fx_taps_check(fx_taps *t, const char *name, const sana_tensor *x);

// Counts a failure for each reference tensor never checked whose name starts with none of the
// NULL-terminated prefixes given (the inputs, ...); frees; returns all failures.
int fx_taps_end(fx_taps *t, ...);

#endif // SANA_TEST_FIXTURE_H
