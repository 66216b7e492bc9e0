// test-gemma-parity: Gemma2Model against transformers (eager attention), tap by tap, in fp32.
//
// usage: test-gemma-parity FIXTURE_DIR
// FIXTURE_DIR holds text_encoder/ (config.json + weights) and taps.safetensors (the padded
// batch as "input.input_ids" / "input.attention_mask", every module output by module path), as
// tests/reference/gen_gemma.py writes them. Three ways of running must each match the
// reference within max|d|/max|ref| <= 1e-4 and cosine >= 0.99999:
// 1. upstream's way: the whole padded batch, padding keys masked; every tap, every row;
// 2. real tokens only, one sequence at a time (no padding at all): the final hidden state of
//    the real rows;
// 3. the same through a key/value cache: a prefix first, then the rest after it at pos0 > 0.
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "models/gemma2.h"
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
    if (idx < 0) return;
    s->seen[idx] = true;
    sana_tensor ref = fx_get(s->ref, name);
    if (sana_tensor_numel(&ref) != sana_tensor_numel(t)) {
        char a[64], b[64];
        printf("FAIL %s: shape %s, reference %s\n", name, sana_shape_str(t, a, sizeof a), sana_shape_str(&ref, b, sizeof b));
        s->failures++;
        return;
    }
    float *got = fx_download(s->be, t);
    if (!compare_report(name, got, ref.data, (size_t)sana_tensor_numel(t), MAX_REL, MIN_COS)) s->failures++;
    free(got);
}

static sana_tensor upload_ids(sana_backend *be, sana_arena *arena, const int32_t *ids, int64_t B, int64_t N) {
    sana_tensor t = sana_arena_tensor(arena, SANA_DTYPE_I32, 2, (int64_t[]){B, N});
    sana_upload(be, &t, ids);
    return t;
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
    sana_gemma2 *m;
    fx_check(sana_gemma2_load(sana_path_join(path, sizeof path, dir, "text_encoder"), be, &m, &err), &err,
             "load text_encoder");
    sana_safetensors *ref = fx_open(sana_path_join(path, sizeof path, dir, "taps.safetensors"));
    sana_arena *arena = sana_arena_new(be, 0);
    const int64_t H = m->config.hidden_size;

    sana_tensor ids_f = fx_get(ref, "input.input_ids"), mask = fx_get(ref, "input.attention_mask");
    const int64_t B = ids_f.shape[0], L = ids_f.shape[1];
    int32_t *ids = malloc((size_t)(B * L) * sizeof *ids);
    float *bias_h = malloc((size_t)(B * L) * sizeof *bias_h);
    int64_t *real = calloc((size_t)B, sizeof *real);
    for (int64_t i = 0; i < B * L; i++) {
        ids[i] = (int32_t)((const float *)ids_f.data)[i];
        bool keep = ((const float *)mask.data)[i] != 0.0f;
        bias_h[i] = keep ? 0.0f : -FLT_MAX; // upstream's additive mask: finfo(float32).min
        real[i / L] += keep;
    }

    // 1. The padded batch, every tap.
    tap_state s = {.be = be, .ref = ref, .seen = calloc((size_t)sana_st_count(ref), 1)};
    sana_tap tap = {.fn = on_tap, .user = &s};
    sana_tensor x = upload_ids(be, arena, ids, B, L);
    sana_tensor bias = sana_new_f32(arena, B, L);
    sana_upload(be, &bias, bias_h);
    sana_tensor out = sana_new_f32(arena, B, L, H);
    sana_gemma2_forward(m, arena, &out, &x, &bias, NULL, &tap);
    fx_check(sana_backend_sync(be, &err), &err, "forward");
    for (int i = 0; i < sana_st_count(ref); i++) {
        const char *name = sana_st_name(ref, i);
        if (strncmp(name, "input.", 6) != 0 && !s.seen[i]) {
            printf("FAIL %s: in the reference but never emitted by the C model\n", name);
            s.failures++;
        }
    }

    // 2. and 3. One sequence at a time, its real tokens only; then through the cache.
    const float *want = fx_get(ref, "norm").data; // (B, L, H)
    for (int64_t b = 0; b < B; b++) {
        const int64_t n = real[b];
        sana_arena_mark mark = sana_arena_get_mark(arena);
        sana_tensor xb = upload_ids(be, arena, ids + b * L, 1, n);
        sana_tensor ob = sana_new_f32(arena, 1, n, H);
        sana_gemma2_forward(m, arena, &ob, &xb, NULL, NULL, NULL);
        float *got = fx_download(be, &ob);
        char name[160];
        snprintf(name, sizeof name, "norm[%lld, :%lld] real tokens", (long long)b, (long long)n);
        if (!compare_report(name, got, want + b * L * H, (size_t)(n * H), MAX_REL, MIN_COS)) s.failures++;
        free(got);

        for (int64_t split = 1; split < n; split += SANA_MAX(1, n / 2)) {
            sana_gemma2_cache cache;
            sana_gemma2_cache_init(m, arena, (int)n, &cache);
            sana_tensor x1 = upload_ids(be, arena, ids + b * L, 1, split);
            sana_tensor x2 = upload_ids(be, arena, ids + b * L + split, 1, n - split);
            sana_tensor o1 = sana_new_f32(arena, 1, split, H), o2 = sana_new_f32(arena, 1, n - split, H);
            sana_gemma2_forward(m, arena, &o1, &x1, NULL, &cache, NULL);
            sana_gemma2_forward(m, arena, &o2, &x2, NULL, &cache, NULL);
            float *g1 = fx_download(be, &o1), *g2 = fx_download(be, &o2);
            float *cat = malloc((size_t)(n * H) * sizeof *cat);
            memcpy(cat, g1, (size_t)(split * H) * sizeof *cat);
            memcpy(cat + split * H, g2, (size_t)((n - split) * H) * sizeof *cat);
            snprintf(name, sizeof name, "norm[%lld] cache %lld + %lld", (long long)b, (long long)split,
                     (long long)(n - split));
            if (!compare_report(name, cat, want + b * L * H, (size_t)(n * H), MAX_REL, MIN_COS) || cache.length != n)
                s.failures++;
            free(g1);
            free(g2);
            free(cat);
            sana_gemma2_cache_free(&cache);
        }
        sana_arena_reset(arena, mark);
    }

    printf("%s: %d failure(s)\n", dir, s.failures);
    free(s.seen);
    free(ids);
    free(bias_h);
    free(real);
    sana_arena_free(arena);
    sana_st_free(ref);
    sana_gemma2_free(m);
    sana_backend_free(be);
    return s.failures ? 1 : 0;
}
