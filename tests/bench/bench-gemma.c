// bench-gemma: CPU cost of SANA-Sprint prompt encoding with a full-size Gemma-2-2B.
//
// usage: bench-gemma          (reads SANA_BENCH_GEMMA_DIR; exits 77, "skipped", when unset or
//                              absent)
// SANA_BENCH_GEMMA_DIR holds tokenizer/ and text_encoder/ (bf16), e.g. the random weights that
// tests/bench/gen_gemma_bench.py writes. Prints: load times, the token counts, the time to
// encode a 20-word prompt cold (the whole instruction + prompt, real tokens only), the time to
// build the instruction cache, the time with the cache warm (median of 3), optionally
// (SANA_BENCH_FULL=1) upstream's pass over every padded position, and the peak resident set
// size. Never a pass/fail gate on time: it fails only when it cannot run or the paths disagree.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "models/prompt-encoder.h"
#include "ops.h"
#include "util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void) { // CPU seconds of the whole process (all threads)
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double last_cpu; // CPU seconds of the last encode()

static double peak_rss_gb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / (1024.0 * 1024.0); // ru_maxrss is in KB on Linux
}

static double current_rss_gb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (double)rss * 4096.0 / (1024.0 * 1024.0 * 1024.0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Encodes `prompt` on path `path`; returns seconds, leaves the host copy of the embeddings in *out.
static double encode(sana_prompt_encoder *pe, sana_backend *be, sana_arena *arena, const char *prompt,
                     sana_prompt_path path, float **out, float *mask) {
    sana_prompt_params p = sana_prompt_params_default();
    p.path = path;
    const int64_t H = sana_prompt_encoder_model(pe)->config.hidden_size, L = p.max_sequence_length;
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor embeds = sana_new_f32(arena, 1, L, H);
    sana_error err = {0};
    double t0 = now(), c0 = cpu_now();
    fx_check(sana_prompt_encode(pe, arena, &prompt, 1, &p, &embeds, mask, NULL, &err), &err, "encode");
    double t = now() - t0;
    last_cpu = cpu_now() - c0;
    *out = fx_download(be, &embeds);
    sana_arena_reset(arena, mark);
    return t;
}

int main(void) {
    const char *dir = getenv("SANA_BENCH_GEMMA_DIR");
    struct stat sb;
    char tok_dir[4096], te_dir[4096];
    if (!dir || !*dir || stat(sana_path_join(te_dir, sizeof te_dir, dir, "text_encoder"), &sb) != 0) {
        printf("SANA_BENCH_GEMMA_DIR is unset or has no text_encoder/: skipped (make one with "
               "tests/bench/gen_gemma_bench.py)\n");
        return TEST_SKIP;
    }
    sana_path_join(tok_dir, sizeof tok_dir, dir, "tokenizer");
    const char *prompt = "A small fluffy white cat sleeping peacefully on a warm sunny windowsill, surrounded by "
                         "pots of blooming red flowers at dusk";

    sana_error err = {0};
    sana_backend *be;
    fx_check(sana_backend_cpu_new(0, &be, &err), &err, "cpu backend");
    double t0 = now();
    sana_tokenizer *tok;
    fx_check(sana_tokenizer_load(tok_dir, &tok, &err), &err, "tokenizer");
    double t_tok = now() - t0;
    printf("tokenizer.json: %d ids, loaded in %.3f s\n", sana_tokenizer_n_ids(tok), t_tok);
    sana_tokenizer_free(tok);

    t0 = now();
    sana_prompt_encoder *pe;
    fx_check(sana_prompt_encoder_new(tok_dir, te_dir, be, &pe, &err), &err, "prompt encoder");
    const sana_gemma2_config *c = &sana_prompt_encoder_model(pe)->config;
    printf("tokenizer + Gemma-2 (H=%d, %d layers, V=%d) opened in %.3f s (weights mmapped), RSS %.2f GB\n",
           c->hidden_size, c->num_hidden_layers, c->vocab_size, now() - t0, current_rss_gb());
    sana_arena *arena = sana_arena_new(be, 0);
    float mask[300], *cold, *first, *warm;

    // The first encode pages the mmapped weights in (from disk when they are not cached).
    double t_first_ever = encode(pe, be, arena, prompt, SANA_PROMPT_REAL, &cold, mask);
    free(cold);
    sana_prompt_stats st = sana_prompt_encoder_stats(pe);
    printf("prompt: 20 words, %d real tokens with the instruction\n", st.tokens);
    printf("first encode after opening (weights paged in, %d positions): %7.2f s  (%.1f CPU s)\n", st.computed,
           t_first_ever, last_cpu);

    // Each timing is repeated; the minimum is the least disturbed by other jobs on the machine.
    double t_cold[2], cpu_cold = 1e30;
    for (int i = 0; i < 2; i++) {
        if (i) free(cold);
        t_cold[i] = encode(pe, be, arena, prompt, SANA_PROMPT_REAL, &cold, mask);
        cpu_cold = fmin(cpu_cold, last_cpu);
    }
    st = sana_prompt_encoder_stats(pe);
    printf("cold  (whole instruction + prompt, %d positions):  %7.2f s  (%.1f ms/token; min of 2, other %.2f; "
           "%.1f CPU s)\n", st.computed, fmin(t_cold[0], t_cold[1]), 1e3 * fmin(t_cold[0], t_cold[1]) / st.computed,
           fmax(t_cold[0], t_cold[1]), cpu_cold);

    double t_first = encode(pe, be, arena, prompt, SANA_PROMPT_CACHED, &first, mask);
    st = sana_prompt_encoder_stats(pe);
    printf("cache build + first prompt (%d cached, %d computed): %7.2f s  (%.1f CPU s)\n", st.cached, st.computed,
           t_first, last_cpu);
    double t_warm[3], cpu_warm = 1e30;
    for (int i = 0; i < 3; i++) {
        if (i) free(warm);
        t_warm[i] = encode(pe, be, arena, prompt, SANA_PROMPT_CACHED, &warm, mask);
        cpu_warm = fmin(cpu_warm, last_cpu);
    }
    st = sana_prompt_encoder_stats(pe);
    qsort(t_warm, 3, sizeof *t_warm, cmp_double);
    printf("warm  (instruction cached, %d positions computed):  %7.2f s  (min of 3; median %.2f, max %.2f; "
           "%.1f CPU s)\n", st.computed, t_warm[0], t_warm[1], t_warm[2], cpu_warm);
    printf("speed-up warm vs cold (minima): %.1fx\n", fmin(t_cold[0], t_cold[1]) / t_warm[0]);

    int failures = 0;
    size_t rows = 0;
    for (int k = 0; k < 300; k++) rows += mask[k] != 0.0f;
    size_t count = rows * (size_t)c->hidden_size; // real rows are the first ones (right padding)
    if (!compare_report("cached vs cold embeddings", warm, cold, count, 1e-4, 0.99999)) failures++;

    const char *full = getenv("SANA_BENCH_FULL");
    if (full && *full == '1') {
        float *up;
        double t_full = encode(pe, be, arena, prompt, SANA_PROMPT_FULL, &up, mask);
        st = sana_prompt_encoder_stats(pe);
        printf("upstream's pass (%d padded positions):           %7.2f s  (%.1f CPU s)\n", st.computed, t_full,
           last_cpu);
        if (!compare_report("upstream path vs cold embeddings", up, cold, count, 1e-4, 0.99999)) failures++;
        free(up);
    }
    printf("peak RSS: %.2f GB (goal <= 6 GB)\n", peak_rss_gb());
    char load[64] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(load, sizeof load, f)) strcpy(load, "?");
        fclose(f);
        load[strcspn(load, "\n")] = '\0';
    }
    printf("note: timings on a shared machine; %d OpenMP threads, %ld CPUs online, load average now %s\n",
           omp_get_max_threads(), sysconf(_SC_NPROCESSORS_ONLN), load);
    free(cold);
    free(first);
    free(warm);
    sana_arena_free(arena);
    sana_prompt_encoder_free(pe);
    sana_backend_free(be);
    return failures ? 1 : 0;
}
