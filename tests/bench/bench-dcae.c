// bench-dcae: DC-AE decode (or encode) on the CPU with random full-size weights: wall time, the
// achieved GFLOP/s beside the machine's own sgemm rate measured in the same run, a per-stage
// and per-block-kind breakdown, the workspace the plan chose and the process's peak RSS.
// It prints numbers; it never passes or fails on time.
//
// usage: bench-dcae SIDE [untiled|tiled|auto] [decode|encode]
//   SIDE: image side in pixels (a multiple of 32); the latent is SIDE/32 square.
// env:   SANA_BENCH_DCAE  folder written by tests/bench/make_dcae_weights.py (config.json +
//                         weights); absent: the benchmark is skipped (exit 77).
//        SANA_BENCH_REPEAT  timed runs after the first (default 0)
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/fixture.h"
#include "models/dc-ae.h"
#include "ops.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_seconds(void) { // user + system time of the whole process
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long status_kb(const char *field) { // from /proc/self/status, e.g. "VmHWM"
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

static uint32_t rng = 1;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / (float)(1 << 23) - 1.0f;
}

// Best of 3 cblas_sgemm (row-major, the conv GEMM's layout: A (M, K) x B (K, N)) on `threads`
// threads, GFLOP/s of wall time.
static double sgemm_rate(int M, int N, int K, int threads) {
    float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
    float *C = malloc((size_t)M * N * sizeof(float));
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = frand();
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = frand();
    const int saved = omp_get_max_threads(); // OpenBLAS's OpenMP build follows the OpenMP ICV
    omp_set_num_threads(threads);
    double best = 1e30;
    for (int r = 0; r < 4; r++) { // the first is a warm-up
        double t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        t = now() - t;
        if (r > 0 && t < best) best = t;
    }
    omp_set_num_threads(saved);
    free(A), free(B), free(C);
    return 2.0 * M * N * K / best * 1e-9;
}

// Per-stage and per-kind time from the taps (the CPU backend computes as it goes).
#define MAX_KINDS 8
static const char *kinds[MAX_KINDS] = {"conv_in", "resample", "ResBlock", "attn", "GLUMBConv", "head"};
typedef struct timing {
    double last, kind[MAX_KINDS], stage[8];
    char stage_name[8][40];
    int n_stages;
    int64_t prev_h;
} timing;

// Each tap closes the work since the previous one; a tap whose image size differs from the
// previous tap's ends a resampling (up / down) block.
static void on_tap(void *user, const char *name, const sana_tensor *t) {
    timing *tm = user;
    double n = now(), dt = n - tm->last;
    tm->last = n;
    const char *dot = strrchr(name, '.');
    int dots = 0;
    for (const char *p = name; *p; p++) dots += *p == '.';
    const bool resized = tm->prev_h && t->shape[2] != tm->prev_h;
    tm->prev_h = t->shape[2];
    int k;
    if (strstr(name, "conv_in")) k = 0;
    else if (strcmp(dot, ".attn") == 0) k = 3;
    else if (strcmp(dot, ".conv_out") == 0 && dots == 4) k = 4;
    else if (strstr(name, "norm_out") || strstr(name, "conv_act") || strstr(name, ".conv_out")) k = 5;
    else if (dots == 3) k = resized ? 1 : 2;
    else k = -1; // a stage's end: its time is in the blocks
    if (dots == 2 && (strstr(name, "up_blocks") || strstr(name, "down_blocks")) && tm->n_stages < 8) {
        snprintf(tm->stage_name[tm->n_stages], sizeof tm->stage_name[0], "%s", name);
        tm->stage[tm->n_stages++] = n;
    }
    if (k >= 0) tm->kind[k] += dt;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SIDE [untiled|tiled|auto] [decode|encode]\n", argv[0]);
        return 2;
    }
    const char *dir = getenv("SANA_BENCH_DCAE");
    if (!dir || !*dir || access(dir, R_OK) != 0) {
        printf("SKIP: set SANA_BENCH_DCAE to a folder from tests/bench/make_dcae_weights.py\n");
        return TEST_SKIP;
    }
    const int side = atoi(argv[1]);
    const char *mode = argc > 2 ? argv[2] : "auto";
    const bool encode = argc > 3 && strcmp(argv[3], "encode") == 0;
    const int repeat = getenv("SANA_BENCH_REPEAT") ? atoi(getenv("SANA_BENCH_REPEAT")) : 0;
    sana_dcae_tiling tiling = {.mode = strcmp(mode, "tiled") == 0     ? SANA_DCAE_TILING_ON
                                       : strcmp(mode, "untiled") == 0 ? SANA_DCAE_TILING_OFF
                                                                      : SANA_DCAE_TILING_AUTO};

    double load[3] = {0};
    if (getloadavg(load, 3) < 0) load[0] = -1;
    const int nt = omp_get_max_threads();
    printf("machine: %d OpenMP threads on %ld online cores, load average %.2f (shared machine: other work "
           "competes for the same cores)\n", nt, sysconf(_SC_NPROCESSORS_ONLN), load[0]);
    // The reference rates: threaded sgemm on two conv-like shapes, and one core's sgemm (the
    // per-core yardstick for the decode's FLOPs per CPU-second, which other processes on the
    // machine disturb less than wall time).
    const double g1 = sgemm_rate(128, 8192, 1152, nt), g2 = sgemm_rate(512, 4096, 4608, nt);
    const double g_core = sgemm_rate(512, 2048, 4608, 1);
    printf("sgemm (%s): 128x8192x1152 %.1f GFLOP/s, 512x4096x4608 %.1f GFLOP/s; one core 512x2048x4608 %.1f GFLOP/s\n",
           OPENBLAS_VERSION, g1, g2, g_core);
    double g = fmax(g1, g2);

    sana_error err = {0};
    sana_backend *be;
    fx_check(sana_backend_cpu_new(0, &be, &err), &err, "cpu backend");
    sana_dcae *m;
    fx_check(sana_dcae_load(dir, be, encode ? SANA_DCAE_ENCODER : SANA_DCAE_DECODER, &m, &err), &err, "load");
    const sana_dcae_config *c = &m->config;
    const int64_t r = c->spatial_compression_ratio, h = side / r;
    sana_dcae_plan plan;
    if (encode) fx_check(sana_dcae_plan_encode(m, side, side, &tiling, &plan, &err), &err, "plan");
    else fx_check(sana_dcae_plan_decode(m, h, h, &tiling, &plan, &err), &err, "plan");
    // The nominal count is upstream's arithmetic; the CPU runs the nearest-x2 convolutions as 2x2
    // sub-pixel convolutions (16 instead of 36 multiply-adds per input channel and output quad).
    const double executed = plan.flops - plan.flops_upsample * (20.0 / 36.0);
    printf("plan: %s %dx%d, %s (%d tiles), workspace %.0f MB (untiled would be %.0f MB), %.3f TFLOP nominal, "
           "%.3f TFLOP executed\n", encode ? "encode" : "decode", side, side, plan.tiled ? "tiled" : "untiled",
           plan.tiles, plan.workspace_bytes / 1048576.0, plan.untiled_bytes / 1048576.0, plan.flops * 1e-12,
           executed * 1e-12);

    sana_arena *arena = sana_arena_new(be, 0);
    sana_tensor lat = sana_new_f32(arena, 1, c->latent_channels, h, h);
    sana_tensor img = sana_new_f32(arena, 1, c->in_channels, side, side);
    sana_tensor *in = encode ? &img : &lat;
    float *host = malloc(sana_tensor_nbytes(in));
    for (int64_t i = 0; i < sana_tensor_numel(in); i++) host[i] = encode ? frand() : 2.0f * frand();
    sana_upload(be, in, host);
    free(host);

    timing tm = {0};
    sana_tap tap = {.fn = on_tap, .user = &tm};
    double best = 1e30, best_core = 0;
    for (int run = 0; run <= repeat; run++) {
        memset(&tm, 0, sizeof tm);
        double t0 = now(), c0 = cpu_seconds();
        tm.last = t0;
        sana_status s = encode ? sana_dcae_encode(m, arena, &lat, &img, &tiling, &tap, &err)
                               : sana_dcae_decode(m, arena, &img, &lat, &tiling, &tap, &err);
        fx_check(s, &err, encode ? "encode" : "decode");
        fx_check(sana_backend_sync(be, &err), &err, "sync");
        double t = now() - t0, cpu = cpu_seconds() - c0;
        best = fmin(best, t);
        best_core = fmax(best_core, executed / cpu * 1e-9);
        printf("%s %dx%d run %d: %.2f s wall, %.1f s CPU (%.2f cores busy); %.1f GFLOP/s executed = %.2f x the "
               "sgemm rate (%.1f GFLOP/s nominal); per core %.1f GFLOP per CPU-second = %.2f x one core's sgemm\n",
               encode ? "encode" : "decode", side, side, run, t, cpu, cpu / t, executed / t * 1e-9,
               executed / t * 1e-9 / g, plan.flops / t * 1e-9, executed / cpu * 1e-9, executed / cpu * 1e-9 / g_core);
        if (!plan.tiled) {
            printf("  by kind:");
            for (int k = 0; k < 6; k++) printf(" %s %.2f s", kinds[k], tm.kind[k]);
            printf("\n  stages end at:");
            for (int k = 0; k < tm.n_stages; k++) printf(" %s %.2f s", tm.stage_name[k], tm.stage[k] - t0);
            printf("\n");
        }
    }
    // A sanity line on the output (random weights: only its finiteness means anything).
    sana_tensor *out = encode ? &lat : &img;
    float *o = malloc(sana_tensor_nbytes(out));
    sana_download(be, o, out);
    double mx = 0;
    bool finite = true;
    for (int64_t i = 0; i < sana_tensor_numel(out); i++) {
        finite = finite && isfinite(o[i]);
        mx = fmax(mx, fabs(o[i]));
    }
    free(o);
    printf("output: %s, max |value| %.3g\n", finite ? "finite" : "NOT FINITE", mx);
    const double g_after = sgemm_rate(512, 4096, 4608, nt); // the machine may have changed meanwhile
    printf("sgemm after: 512x4096x4608 %.1f GFLOP/s\n", g_after);
    g = fmax(g, g_after);
    printf("RESULT %s %d %s: %.2f s, %.1f GFLOP/s executed (best sgemm %.1f: ratio %.2f; %.1f nominal); "
           "%.1f GFLOP/CPU-s = %.2f x one core's sgemm; peak RSS %.0f MB, arena %.0f MB\n",
           encode ? "encode" : "decode", side, plan.tiled ? "tiled" : "untiled", best, executed / best * 1e-9, g,
           executed / best * 1e-9 / g, plan.flops / best * 1e-9, best_core, best_core / g_core,
           status_kb("VmHWM") / 1024.0, sana_arena_reserved(arena) / 1048576.0);
    sana_arena_free(arena);
    sana_dcae_free(m);
    sana_backend_free(be);
    return finite ? 0 : 1;
}
