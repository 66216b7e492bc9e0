// test-dcae-parity: AutoencoderDC against diffusers, in fp32: the decoder and the encoder tap by
// tap (batch 1), then batch 2 non-square untiled and tiled (enable_tiling with small tiles).
//
// usage: test-dcae-parity FIXTURE_DIR
// FIXTURE_DIR holds vae/ (config.json + weights), taps.safetensors and tiled.safetensors as
// tests/reference/gen_dcae.py writes them. Every tensor must be within max|d|/max|ref| <= 1e-4
// and cosine >= 0.99999, and every tap of the fixture must be emitted by the C model. The
// batch-1 passes run twice: with the CPU's defaults, and with one output row per convolution
// band (in-place convolutions then read their halo rows from saved copies) and every loop
// threaded however small.
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

typedef struct tap_state {
    sana_backend *be;
    const sana_safetensors *ref;
    bool *seen;
    int failures;
} tap_state;

static void on_tap(void *user, const char *name, const sana_tensor *t) {
    tap_state *s = user;
    int idx = sana_st_index(s->ref, name);
    if (idx < 0) return; // a tap the reference does not dump
    s->seen[idx] = true;
    sana_tensor ref = fx_get(s->ref, name);
    if (!sana_tensor_same_shape(&ref, t)) {
        char a[64], b[64];
        printf("FAIL %s: shape %s, reference %s\n", name, sana_shape_str(t, a, sizeof a),
               sana_shape_str(&ref, b, sizeof b));
        s->failures++;
        return;
    }
    float *got = fx_download(s->be, t);
    if (!compare_report(name, got, ref.data, (size_t)sana_tensor_numel(t), MAX_REL, MIN_COS)) s->failures++;
    free(got);
}

// Compares backend tensor t with reference `name`; returns 1 on failure.
static int compare_output(sana_backend *be, const sana_safetensors *ref, const char *name, const char *label,
                          const sana_tensor *t) {
    sana_tensor r = fx_get(ref, name);
    if (!sana_tensor_same_shape(&r, t)) {
        char a[64], b[64];
        printf("FAIL %s: shape %s, reference %s\n", label, sana_shape_str(t, a, sizeof a), sana_shape_str(&r, b, sizeof b));
        return 1;
    }
    float *got = fx_download(be, t);
    int bad = !compare_report(label, got, r.data, (size_t)sana_tensor_numel(t), MAX_REL, MIN_COS);
    free(got);
    return bad;
}

static sana_tensor new_like(sana_arena *arena, int64_t b, int64_t c, int64_t h, int64_t w) {
    return sana_new_f32(arena, b, c, h, w);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char path[4096];
    sana_error err = {0};
    sana_backend *be;
    fx_check(sana_backend_cpu_new(0, &be, &err), &err, "cpu backend");
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
    tap_state s = {.be = be, .ref = ref, .seen = calloc((size_t)sana_st_count(ref), 1)};
    sana_tap tap = {.fn = on_tap, .user = &s};
    const sana_dcae_tiling off = {.mode = SANA_DCAE_TILING_OFF};
    sana_tensor z = fx_upload(be, arena, ref, "input.latent"), x = fx_upload(be, arena, ref, "input.image");
    sana_tensor img = new_like(arena, 1, c->in_channels, z.shape[2] * r, z.shape[3] * r);
    sana_tensor lat = new_like(arena, 1, c->latent_channels, x.shape[2] / r, x.shape[3] / r);
    const size_t bands = sana_cpu_conv_col_floats;
    const int64_t par = sana_cpu_par_work;
    for (int pass = 0; pass < 2; pass++) {
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
    for (int i = 0; i < sana_st_count(ref); i++) {
        const char *name = sana_st_name(ref, i);
        if (strncmp(name, "input.", 6) != 0 && strncmp(name, "output.", 7) != 0 && !s.seen[i]) {
            printf("FAIL %s: in the reference but never emitted by the C model\n", name);
            failures++;
        }
    }
    failures += s.failures;
    free(s.seen);
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
