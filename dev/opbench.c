// opbench: per-op timing of the CPU conv at DC-AE decoder shapes, for tuning the band size
// (sana_cpu_conv_col_floats). Development aid, not built by meson:
//   gcc -O2 -std=c17 -D_GNU_SOURCE -fopenmp -Icore -Icore/include dev/opbench.c \
//       build/core/libsana-core.a -lopenblas -lyyjson -lm -o build/opbench
//   build/opbench SIDE CHANNELS [COL_FLOATS...]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu/cpu.h"
#include "ops.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static sana_tensor T(int64_t a, int64_t b, int64_t c, int64_t d, sana_dtype dt) {
    sana_tensor t = {.dtype = dt, .ndim = 4, .shape = {a, b, c, d}};
    t.data = malloc(sana_tensor_nbytes(&t));
    size_t n = sana_tensor_numel(&t);
    for (size_t i = 0; i < n; i++) {
        float v = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        if (dt == SANA_DTYPE_BF16) ((uint16_t *)t.data)[i] = sana_f32_to_bf16(v);
        else ((float *)t.data)[i] = v;
    }
    return t;
}

int main(int argc, char **argv) {
    int S = argc > 1 ? atoi(argv[1]) : 512, C = argc > 2 ? atoi(argv[2]) : 128;
    sana_error err = {0};
    sana_backend *be;
    sana_backend_cpu_new(0, &be, &err);
    sana_tensor x = T(1, C, S, S, SANA_DTYPE_F32), y = T(1, C, S, S, SANA_DTYPE_F32);
    sana_tensor w = T(C, C, 3, 3, SANA_DTYPE_BF16), b = T(C, 1, 1, 1, SANA_DTYPE_BF16);
    sana_tensor x2 = T(1, 2 * C, S / 2, S / 2, SANA_DTYPE_F32), w2 = T(C, 2 * C, 3, 3, SANA_DTYPE_BF16);
    b.ndim = 1;
    const double fl = 2.0 * C * C * 9 * S * S;
    for (int a = 3; a <= argc; a++) {
        if (a < argc) sana_cpu_conv_col_floats = (size_t)atol(argv[a]);
        sana_op_conv2d(be, &y, &x, &w, &b, 1, 1, 1, 1); // warm-up
        double t = now();
        sana_op_conv2d(be, &y, &x, &w, &b, 1, 1, 1, 1);
        double t1 = now() - t;
        t = now();
        sana_op_conv2d(be, &y, &y, &w, NULL, 1, 1, 1, 1);
        double t2 = now() - t;
        t = now();
        sana_op_conv2d(be, &y, &x2, &w2, &b, 1, 1, 1, 2);
        double t3 = now() - t;
        printf("col %zu: conv3x3 %.1f GF/s, in place %.1f GF/s, up x2 (executed) %.1f GF/s\n", sana_cpu_conv_col_floats,
               fl / t1 * 1e-9, fl / t2 * 1e-9, 2 * fl * 16 / 36 / t3 * 1e-9);
    }
    return 0;
}
