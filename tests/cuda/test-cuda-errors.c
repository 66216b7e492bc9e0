// test-cuda-errors: how a device backend reports what goes wrong: an allocation beyond the
// device's memory (activations and weights) says how much was asked and how much is free, the
// error is sticky (later ops are skipped, sync reports the first error), and a weight in a form
// the backend cannot multiply is refused with its dtype named.
//
// usage: test-cuda-errors [--device DEV] [--expect-module]   (skipped without a usable device)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "../common/fixture.h"
#include "ops.h"

int main(int argc, char **argv) {
    const char *device = "cuda";
    bool expect_module = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--expect-module") == 0)
            expect_module = true;
        else {
            fprintf(stderr, "usage: %s [--device DEV] [--expect-module]\n", argv[0]);
            return 2;
        }
    }
    sana_backend *be = fx_backend(device, expect_module);
    sana_error err = {0};

    // Activations: a petabyte from the arena.
    sana_arena *arena = sana_arena_new(be, 0);
    sana_tensor big = sana_new_f32(arena, (int64_t)1 << 48);
    check_true(!sana_tensor_is_bound(&big), "a petabyte activation is not handed out", "data %p", big.data);
    // Sticky: a later op on good tensors is skipped, sync reports the allocation.
    sana_tensor x = sana_new_f32(arena, 4), y = sana_new_f32(arena, 4);
    sana_op_axpby(be, &y, 2.0f, &x, 0.0f, NULL);
    sana_status s = sana_backend_sync(be, &err);
    check_error("out of device memory for activations", s, &err, SANA_STATUS_NO_MEMORY, "asked", "MiB free of",
                NULL);
    sana_arena_free(arena);
    sana_backend_free(be);

    // Weights: the slot allocates before it reads the host data, so none is needed here.
    be = fx_backend(device, expect_module);
    sana_tensor host = {.data = NULL, .dtype = SANA_DTYPE_BF16, .ndim = 2, .shape = {(int64_t)1 << 24, (int64_t)1 << 24, 1, 1}};
    sana_tensor w;
    sana_error_clear(&err);
    s = be->i->weight(be, &host, SANA_WEIGHT_MATRIX, &w, &err);
    check_error("out of device memory for a weight", s, &err, SANA_STATUS_NO_MEMORY, "asked", "weights hold", NULL);
    sana_backend_free(be);

    // A weight the backend did not make: an F32 activation as the matrix of linear.
    be = fx_backend(device, expect_module);
    arena = sana_arena_new(be, 0);
    sana_tensor a = sana_new_f32(arena, 3, 8), m = sana_new_f32(arena, 5, 8), o = sana_new_f32(arena, 3, 5);
    float zeros[40] = {0};
    sana_upload(be, &a, zeros);
    sana_upload(be, &m, zeros);
    sana_op_linear(be, &o, &a, &m, NULL);
    sana_error_clear(&err);
    s = sana_backend_sync(be, &err);
    if (strcmp(be->i->name, "cpu") == 0)
        check_true(s == SANA_OK, "the CPU multiplies any float weight", "%s", err.message);
    else
        check_error("linear with an F32 matrix it did not make", s, &err, SANA_STATUS_UNSUPPORTED, "F32", "weight",
                    NULL);
    sana_arena_free(arena);
    sana_backend_free(be);
    return check_summary("cuda errors");
}
