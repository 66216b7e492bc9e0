// fixture.h: reading reference dumps (tests/data/*/*.safetensors) in tests.
#ifndef SANA_TEST_FIXTURE_H
#define SANA_TEST_FIXTURE_H

#include "arena.h"
#include "backend.h"
#include "safetensors.h"

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

#endif // SANA_TEST_FIXTURE_H
