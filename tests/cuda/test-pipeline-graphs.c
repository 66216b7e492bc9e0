// test-pipeline-graphs: the speed paths of sana_generate change no pixel. On the tiny SANA-Sprint
// model, one pipeline runs with everything eager (SANA_CUDA_GRAPHS=0) and another with recorded
// graphs (the transformer's forward and the decode replayed as CUDA graphs after a warm-up run
// and a recording run), the prompt cache (the caption half reused when only the seed, size or
// steps change) and the 8-bit conversion on the device. Every image of the second must be
// byte-identical to the first's for the same prompt, seed, size and steps, through changes of
// prompt, seed, steps and size in between (each change of size or prompt makes new recordings);
// the profile must say when the prompt was reused and, on CUDA, that graphs ran.
//
// usage: test-pipeline-graphs FIXTURE_DIR [--device DEV] [--expect-module]
// On the CPU (no graphs) it checks the prompt cache and the profile alone.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "../common/fixture.h"
#include "sana.h"

typedef struct run_spec {
    const char *prompt;
    uint64_t seed;
    int steps, width, height;
    bool cached;  // the prompt cache must hit
    bool chi;     // with the default instruction (its prefix cached by the encoder)
    int launches; // graph launches expected on CUDA, -1: not checked
} run_spec;

static sana_pipeline *open_pipeline(const char *model, const char *device, bool graphs) {
    if (graphs)
        unsetenv("SANA_CUDA_GRAPHS");
    else
        setenv("SANA_CUDA_GRAPHS", "0", 1);
    sana_pipeline_params pp = sana_pipeline_default_params();
    pp.model = model;
    pp.device = device;
    sana_error err = {0};
    sana_pipeline *p = NULL;
    sana_status s = sana_pipeline_new(&pp, &p, &err);
    if (s == SANA_STATUS_DEVICE) {
        printf("SKIP device %s: %s\n", device, err.message);
        exit(TEST_SKIP);
    }
    if (s) {
        printf("FAIL pipeline on %s: %s\n", device, err.message);
        exit(1);
    }
    return p;
}

static bool generate(sana_pipeline *p, const run_spec *r, sana_image *img) {
    sana_generate_params g = sana_generate_default_params();
    g.prompt = r->prompt;
    g.seed = r->seed;
    g.steps = r->steps;
    g.width = r->width;
    g.height = r->height;
    g.resolution_binning = false;
    // The fixture's tokenizer makes ~900 tokens of the instruction: slow emulated, so most runs
    // go without it.
    g.complex_human_instruction = r->chi ? NULL : "";
    sana_error err = {0};
    if (sana_generate(p, &g, img, &err)) {
        printf("FAIL generate \"%s\" seed %llu: %s\n", r->prompt, (unsigned long long)r->seed, err.message);
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    const char *fixture = NULL, *device = "cuda";
    bool expect_module = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--expect-module") == 0)
            expect_module = true;
        else
            fixture = argv[i];
    }
    if (!fixture) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [--device DEV] [--expect-module]\n", argv[0]);
        return 2;
    }
    sana_backend_free(fx_backend(device, expect_module)); // skips when the device cannot be used
    const bool cuda = strncmp(device, "cuda", 4) == 0;
    sana_pipeline *eager = open_pipeline(fixture, device, false);
    sana_pipeline *fast = open_pipeline(fixture, device, true);

    const char *P = "a lighthouse on a cliff at dusk", *Q = "three red apples on a wooden table";
    const char *R1 = "a red boat", *R2 = "a red ship"; // the same number of tokens
    // Graph launches on CUDA: the text encoder's layers (by prompt length and prefix), the
    // transformer (by caption and latent tensors: the same for every step and prompt) and the
    // decode; each key runs eagerly, then is recorded, then replayed.
    const run_spec runs[] = {
        {P, 1, 2, 96, 64, false, false, 1},  // eager, the transformer's 2nd step recorded
        {P, 2, 2, 96, 64, true, false, 3},   // cached prompt: step 1 replayed, 2 too, decode recorded
        {P, 1, 2, 96, 64, true, false, 3},   // replayed
        {Q, 1, 2, 96, 64, false, false, -1}, // another prompt length: the encoder runs eagerly
        {P, 1, 1, 96, 64, false, false, -1}, // back to P: encoded again (the cache holds one prompt)
        {P, 3, 2, 64, 64, true, false, -1},  // another size: new keys for the transformer and decode
        {P, 1, 2, 96, 64, true, false, 3},   // back: their graphs are still kept
        {P, 1, 2, 96, 64, true, false, 3},
        {R1, 4, 1, 64, 64, false, true, -1}, // with the instruction: its prefix cached, the rest eager
        {R2, 4, 1, 64, 64, false, true, -1}, // same length: the encoder's layers recorded
        {R1, 5, 1, 64, 64, false, true, 3},  // replayed: encoder, transformer, decode
    };
    const int n = (int)(sizeof runs / sizeof runs[0]);
    int launches_total = 0;
    for (int i = 0; i < n; i++) {
        const run_spec *r = &runs[i];
        sana_image want = {0}, got = {0};
        if (!generate(eager, r, &want) || !generate(fast, r, &got)) {
            check_failures++;
            break;
        }
        sana_profile prof;
        sana_pipeline_profile(fast, &prof);
        size_t diff = 0, first = 0;
        for (size_t k = 0; k < (size_t)3 * r->width * r->height; k++)
            if (want.rgb[k] != got.rgb[k] && diff++ == 0) first = k;
        check_true(diff == 0, "same pixels", "run %d (\"%.12s\" seed %llu, %d steps, %dx%d): %zu bytes differ, first "
                   "[%zu] %u vs %u", i, r->prompt, (unsigned long long)r->seed, r->steps, r->width, r->height, diff,
                   first, got.rgb[first], want.rgb[first]);
        check_true(prof.prompt_cached == r->cached, "prompt cache", "run %d: prompt_cached %d, expected %d", i,
                   prof.prompt_cached, r->cached);
        bool times_ok = prof.steps == r->steps && prof.total_ms > 0 && prof.mem_peak >= prof.mem_held &&
                        prof.mem_held > 0;
        for (int s = 1; s < SANA_STAGE_COUNT; s++) times_ok = times_ok && prof.device_ms[s] >= 0;
        for (int s = 0; s < prof.steps; s++) times_ok = times_ok && prof.step_ms[s] >= 0;
        check_true(times_ok, "profile", "run %d: %d steps timed, total %.1f ms, device ms %.2f/%.2f/%.2f, memory "
                   "%zu/%zu", i, prof.steps, prof.total_ms, prof.device_ms[1], prof.device_ms[2], prof.device_ms[3],
                   prof.mem_held, prof.mem_peak);
        printf("     run %d: %d graph launches, %.1f ms\n", i, prof.graph_launches, prof.total_ms);
        launches_total += prof.graph_launches;
        if (cuda && r->launches >= 0)
            check_true(prof.graph_launches == r->launches, "graph launches", "run %d: %d, expected %d", i,
                       prof.graph_launches, r->launches);
        sana_image_free(&want);
        sana_image_free(&got);
    }
    sana_profile prof;
    sana_pipeline_profile(eager, &prof);
    check_true(prof.graph_launches == 0, "SANA_CUDA_GRAPHS=0 runs eagerly", "%d graph launches", prof.graph_launches);
    if (!cuda) check_true(launches_total == 0, "no graphs on the CPU", "%d graph launches", launches_total);
    sana_pipeline_free(fast);
    sana_pipeline_free(eager);
    return check_summary("pipeline-graphs");
}
