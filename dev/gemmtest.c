#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
int main(int argc, char **argv) {
    int M = 128, N = atoi(argv[1]), K = 1152, ldc = atoi(argv[2]), reps = atoi(argv[3]);
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * (size_t)M * ldc);
    for (long i = 0; i < (long)M * K; i++) A[i] = (i % 7) * 0.1f;
    for (long i = 0; i < (long)K * N; i++) B[i] = (i % 5) * 0.1f;
    for (long i = 0; i < (long)M * ldc; i++) C[i] = 0;
    for (int r = 0; r < 2; r++) {
        double t = now();
        for (int i = 0; i < reps; i++) {
            if (argc > 4) {
#pragma omp parallel for
                for (long j = 0; j < (long)K * N; j++) B[j] += 1e-7f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 1.0f, C + (i % 20) * 0, ldc);
        }
        t = now() - t;
        printf("N=%d ldc=%d reps=%d: %.3f s, %.1f GF/s\n", N, ldc, reps, t, 2.0 * M * N * K * reps / t * 1e-9);
    }
}
