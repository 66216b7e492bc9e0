// test-dcae-parity: AutoencoderDC against diffusers, in fp32: the decoder and the encoder tap by
// tap (batch 1), then batch 2 non-square untiled and tiled (enable_tiling with small tiles).
//
// usage: test-dcae-parity FIXTURE_DIR [--device DEV [--expect-module]] [--max-rel R --min-cos C]
// FIXTURE_DIR holds vae/ (config.json + weights), taps.safetensors and tiled.safetensors as
// tests/reference/gen_dcae.py writes them. Every tensor must be within max|d|/max|ref| <= 1e-4
// and cosine >= 0.99999, and every tap of the fixture must be emitted by the C model. On the
// CPU the batch-1 passes run twice: with the CPU's defaults, and with one output row per
// convolution band (in-place convolutions then read their halo rows from saved copies) and
// every loop threaded however small. DEV (default cpu) picks the backend; on a GPU backend
// (bf16 convolution operands) the limits are the _BF16 ones below, or R and C when given, and
// the batch-1 passes run once (the CUDA module's own band size is SANA_CUDA_CONV_BYTES). A
// device this machine cannot use skips the test (see fx_backend).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "cpu/cpu.h"
#include "models/dc-ae.h"
#include "ops.h"
#include "util.h"

#define MAX_REL 1e-4
#define MIN_COS 0.99999

// Limits on a backend whose convolutions (those bound as matrices) multiply bf16 operands with
// fp32 accumulation (CUDA); the fixtures' weights are random fp32, rounded to bf16 there.
// Measured on the CPU emulation of the CUDA module (dev/cuda-emu: the same bf16 rounding, exact
// accumulation): worst rel 3.2e-2 (dcae-sana decoder.norm_out, which divides by the pixels' RMS;
// dcae-mix 1.0e-2) and cos 0.99995 over every tap and output of dcae-sana and dcae-mix, tiled
// and untiled. On a GPU: pending (tests/cuda/run-gpu-checks.sh prints every tap).
#define MAX_REL_BF16 6e-2
#define MIN_COS_BF16 0.9995

static double max_rel = MAX_REL, min_cos = MIN_COS;

// Compares backend tensor t with reference `name`; returns 1 on failure.
static int compare_output(sana_backend *be, const sana_safetensors *ref, const char *name, const char *label,
                          const sana_tensor *t) {
    return !fx_compare(be, ref, name, label, t, max_rel, min_cos);
}

static sana_tensor new_like(sana_arena *arena, int64_t b, int64_t c, int64_t h, int64_t w) {
    return sana_new_f32(arena, b, c, h, w);
}

int main(int argc, char **argv) {
    fx_args args;
    sana_backend *be = fx_parity_setup(argc, argv, MAX_REL, MIN_COS, MAX_REL_BF16, MIN_COS_BF16, &args);
    const char *dir = args.dir;
    const bool cpu = strcmp(be->i->name, "cpu") == 0;
    max_rel = args.max_rel;
    min_cos = args.min_cos;
    char path[4096];
    sana_error err = {0};
    sana_dcae *m;
    fx_check(sana_dcae_load(sana_path_join(path, sizeof path, dir, "vae"), be, SANA_DCAE_ENCODER | SANA_DCAE_DECODER, &m,
                            &err),
             &err, "load vae");
    const sana_dcae_config *c = &m->config;
    const int64_t r = c->spatial_compression_ratio;
    sana_arena *arena = sana_arena_new(be, 0);
    int failures = 0;

    // Batch 1, every tap; then the same with one-row convolution bands (outputs only).
    sana_safetensors *ref = fx_open(sana_path_join(path, sizeof path, dir, "taps.safetensors"));
    fx_taps taps;
    sana_tap tap = fx_taps_begin(&taps, be, ref, NULL, max_rel, min_cos);
    const sana_dcae_tiling off = {.mode = SANA_DCAE_TILING_OFF};
    sana_tensor z = fx_upload(be, arena, ref, "input.latent"), x = fx_upload(be, arena, ref, "input.image");
    sana_tensor img = new_like(arena, 1, c->in_channels, z.shape[2] * r, z.shape[3] * r);
    sana_tensor lat = new_like(arena, 1, c->latent_channels, x.shape[2] / r, x.shape[3] / r);
    const size_t bands = sana_cpu_conv_col_floats;
    const int64_t par = sana_cpu_par_work;
    for (int pass = 0; pass < (cpu ? 2 : 1); pass++) { // the second pass sets the CPU backend's knobs
        const sana_tap *tp = pass == 0 ? &tap : NULL;
        sana_cpu_conv_col_floats = pass == 0 ? bands : 1;
        sana_cpu_par_work = pass == 0 ? par : 0;
        fx_check(sana_dcae_decode(m, arena, &img, &z, &off, tp, &err), &err, "decode");
        failures += compare_output(be, ref, "output.decode", pass ? "decode (one-row bands, all threaded)" : "output.decode", &img);
        fx_check(sana_dcae_encode(m, arena, &lat, &x, &off, tp, &err), &err, "encode");
        failures += compare_output(be, ref, "output.encode", pass ? "encode (one-row bands, all threaded)" : "output.encode", &lat);
    }
    sana_cpu_conv_col_floats = bands;
    sana_cpu_par_work = par;
    failures += fx_taps_end(&taps, "input.", "output.", NULL);
    sana_st_free(ref);

    // Batch 2, non-square: untiled, tiled on request, and tiled because AUTO's budget is small.
    ref = fx_open(sana_path_join(path, sizeof path, dir, "tiled.safetensors"));
    sana_tensor tile = fx_get(ref, "input.tile");
    const float *tv = tile.data;
    sana_dcae_tiling on = {.mode = SANA_DCAE_TILING_ON, .tile_sample_min_height = (int)tv[0],
                           .tile_sample_min_width = (int)tv[1], .tile_sample_stride_height = (int)tv[2],
                           .tile_sample_stride_width = (int)tv[3]};
    sana_dcae_tiling autob = on;
    autob.mode = SANA_DCAE_TILING_AUTO;
    z = fx_upload(be, arena, ref, "input.latent");
    x = fx_upload(be, arena, ref, "input.image");
    img = new_like(arena, z.shape[0], c->in_channels, z.shape[2] * r, z.shape[3] * r);
    lat = new_like(arena, x.shape[0], c->latent_channels, x.shape[2] / r, x.shape[3] / r);

    sana_dcae_plan plan;
    fx_check(sana_dcae_plan_decode(m, z.shape[2], z.shape[3], &on, &plan, &err), &err, "plan decode");
    printf("     tiled decode of %lldx%lld latent: %d tiles, workspace %zu bytes (untiled %zu), %.3g FLOP\n",
           (long long)z.shape[2], (long long)z.shape[3], plan.tiles, plan.workspace_bytes, plan.untiled_bytes,
           plan.flops);
    if (!plan.tiled || plan.tiles < 4) {
        printf("FAIL the fixture's tiles do not split the latent (%d tiles)\n", plan.tiles);
        failures++;
    }
    autob.memory_budget = plan.untiled_bytes - 1; // AUTO must tile just above its budget ...
    fx_check(sana_dcae_decode(m, arena, &img, &z, &off, NULL, &err), &err, "decode");
    failures += compare_output(be, ref, "output.decode", "decode, batch 2", &img);
    fx_check(sana_dcae_decode(m, arena, &img, &z, &on, NULL, &err), &err, "tiled decode");
    failures += compare_output(be, ref, "output.tiled_decode", "tiled decode, batch 2", &img);
    fx_check(sana_dcae_decode(m, arena, &img, &z, &autob, NULL, &err), &err, "auto decode");
    failures += compare_output(be, ref, "output.tiled_decode", "auto decode over budget", &img);
    autob.memory_budget = plan.untiled_bytes; // ... and not at it
    fx_check(sana_dcae_decode(m, arena, &img, &z, &autob, NULL, &err), &err, "auto decode");
    failures += compare_output(be, ref, "output.decode", "auto decode within budget", &img);

    fx_check(sana_dcae_plan_encode(m, x.shape[2], x.shape[3], &on, &plan, &err), &err, "plan encode");
    printf("     tiled encode of %lldx%lld image: %d tiles, workspace %zu bytes (untiled %zu), %.3g FLOP\n",
           (long long)x.shape[2], (long long)x.shape[3], plan.tiles, plan.workspace_bytes, plan.untiled_bytes,
           plan.flops);
    autob.memory_budget = plan.untiled_bytes - 1;
    fx_check(sana_dcae_encode(m, arena, &lat, &x, &off, NULL, &err), &err, "encode");
    failures += compare_output(be, ref, "output.encode", "encode, batch 2", &lat);
    fx_check(sana_dcae_encode(m, arena, &lat, &x, &on, NULL, &err), &err, "tiled encode");
    failures += compare_output(be, ref, "output.tiled_encode", "tiled encode, batch 2", &lat);
    fx_check(sana_dcae_encode(m, arena, &lat, &x, &autob, NULL, &err), &err, "auto encode");
    failures += compare_output(be, ref, "output.tiled_encode", "auto encode over budget", &lat);
    sana_st_free(ref);

    printf("%s: %d failure(s)\n", dir, failures);
    sana_arena_free(arena);
    sana_dcae_free(m);
    sana_backend_free(be);
    return failures ? 1 : 0;
}
