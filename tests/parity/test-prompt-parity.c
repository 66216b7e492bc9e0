// test-prompt-parity: SANA-Sprint prompt encoding against diffusers' encode_prompt, in fp32.
//
// usage: test-prompt-parity DATA_DIR [--device DEV [--expect-module]] [--max-rel R --min-cos C]
// DATA_DIR/gemma-prompt holds a tiny text_encoder/, cases.json (prompts, instruction, length)
// and prompt_embeds.safetensors ("<case>.prompt_embeds" (B, L, H), "<case>.prompt_attention_mask"
// (B, L)) from SanaSprintPipeline.encode_prompt with the tiny tokenizer of
// DATA_DIR/tokenizer-gemma (tests/reference/gen_gemma.py). Every case runs through all three
// paths of sana_prompt_encode with one encoder (so the instruction cache is built once, reused,
// rebuilt for another instruction): masks must be identical; the upstream path must match every
// row, the real-token and cached paths every row the mask keeps (their padding rows must be
// zeros), within max|d|/max|ref| <= 1e-4 and cosine >= 0.99999. DEV (default cpu) picks the
// backend; on a GPU backend (bf16 GEMM operands) the limits are the _BF16 ones below, or R and C
// when given. A device this machine cannot use skips the test (see fx_backend).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "models/prompt-encoder.h"
#include "ops.h"
#include "util.h"

#define MAX_REL 1e-4
#define MIN_COS 0.99999

// With bf16 GEMM operands (CUDA): as test-gemma-parity.c's (the tiny encoder has random fp32
// weights, rounded to bf16 there). Measured on the CPU emulation of the CUDA module
// (dev/cuda-emu): worst rel 1.7e-2, cos 0.99997 over every case and path. On a GPU: pending
// (tests/cuda/run-gpu-checks.sh).
#define MAX_REL_BF16 6e-2
#define MIN_COS_BF16 0.9995

static char *unhex(const char *h) {
    size_t len = strlen(h) / 2;
    char *b = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (char)v;
    }
    b[len] = 0;
    return b;
}

static const char *path_name[] = {"cached", "real", "upstream"};

int main(int argc, char **argv) {
    fx_args args;
    sana_backend *be = fx_parity_setup(argc, argv, MAX_REL, MIN_COS, MAX_REL_BF16, MIN_COS_BF16, &args);
    const char *data = args.dir;
    const double max_rel = args.max_rel, min_cos = args.min_cos;
    char tok_dir[4096], te_dir[4096], path[4096], fixture[4096];
    sana_path_join(tok_dir, sizeof tok_dir, data, "tokenizer-gemma");
    sana_path_join(fixture, sizeof fixture, data, "gemma-prompt");
    sana_path_join(te_dir, sizeof te_dir, fixture, "text_encoder");
    sana_error err = {0};
    sana_prompt_encoder *pe;
    fx_check(sana_prompt_encoder_new(tok_dir, te_dir, be, &pe, &err), &err, "prompt encoder");
    sana_safetensors *ref = fx_open(sana_path_join(path, sizeof path, fixture, "prompt_embeds.safetensors"));
    yyjson_doc *doc = yyjson_read_file(sana_path_join(path, sizeof path, fixture, "cases.json"), 0, NULL, NULL);
    if (!doc) {
        printf("FAIL %s: not readable JSON\n", path);
        return 1;
    }
    yyjson_val *root = yyjson_doc_get_root(doc);
    sana_arena *arena = sana_arena_new(be, 0);
    const int64_t H = sana_prompt_encoder_model(pe)->config.hidden_size;
    int failures = 0;

    // The default instruction is the pipeline's: same token count as the reference saw.
    int n_lines;
    const char *const *lines = sana_prompt_default_chi(&n_lines);
    {
        size_t len = 0;
        for (int i = 0; i < n_lines; i++) len += strlen(lines[i]) + 1;
        char *chi = calloc(len + 1, 1);
        for (int i = 0; i < n_lines; i++) strcat(strcat(chi, lines[i]), i + 1 < n_lines ? "\n" : "");
        int32_t *ids;
        int n;
        fx_check(sana_tokenizer_encode(sana_prompt_encoder_tokenizer(pe), chi, strlen(chi), true, &ids, &n, &err), &err,
                 "tokenize the instruction");
        int want = yyjson_get_int(yyjson_obj_get(root, "chi_tokens"));
        printf("%-4s default instruction: %d tokens (reference %d)\n", n == want ? "ok" : "FAIL", n, want);
        failures += n != want;
        free(ids);
        free(chi);
    }

    size_t ci, cmax;
    yyjson_val *c;
    yyjson_arr_foreach(yyjson_obj_get(root, "cases"), ci, cmax, c) {
        const char *name = yyjson_get_str(yyjson_obj_get(c, "name"));
        yyjson_val *jp = yyjson_obj_get(c, "prompts"), *jchi = yyjson_obj_get(c, "chi");
        const int B = (int)yyjson_arr_size(jp), L = yyjson_get_int(yyjson_obj_get(c, "max_sequence_length"));
        char **prompts = calloc((size_t)B, sizeof *prompts);
        for (int b = 0; b < B; b++) prompts[b] = unhex(yyjson_get_str(yyjson_arr_get(jp, (size_t)b)));
        sana_prompt_params p = sana_prompt_params_default();
        p.max_sequence_length = L;
        const char *custom[16];
        if (yyjson_is_null(jchi)) {
            p.chi_lines = NULL;
            p.n_chi_lines = 0;
        } else if (yyjson_is_arr(jchi)) {
            p.n_chi_lines = (int)yyjson_arr_size(jchi);
            for (int i = 0; i < p.n_chi_lines; i++) custom[i] = yyjson_get_str(yyjson_arr_get(jchi, (size_t)i));
            p.chi_lines = custom;
        }
        char key[160];
        snprintf(key, sizeof key, "%s.prompt_embeds", name);
        sana_tensor want = fx_get(ref, key); // (B, L, H)
        snprintf(key, sizeof key, "%s.prompt_attention_mask", name);
        sana_tensor want_mask = fx_get(ref, key); // (B, L)

        for (int path_i = 0; path_i < 3; path_i++) {
            p.path = (sana_prompt_path)path_i;
            sana_arena_mark mark = sana_arena_get_mark(arena);
            sana_tensor embeds = sana_new_f32(arena, B, L, H);
            float *mask = malloc((size_t)(B * L) * sizeof *mask);
            sana_status s = sana_prompt_encode(pe, arena, (const char *const *)prompts, B, &p, &embeds, mask, NULL, &err);
            char label[200];
            snprintf(label, sizeof label, "%s %s", name, path_name[path_i]);
            if (s) {
                printf("FAIL %s: %s\n", label, err.message);
                failures++;
                free(mask);
                continue;
            }
            // The cached path must really skip the instruction (all but its last token per prompt).
            sana_prompt_stats st = sana_prompt_encoder_stats(pe);
            int chi_tok = p.n_chi_lines ? 1 : 0;
            if (p.path == SANA_PROMPT_CACHED && chi_tok && (st.cached < B || st.cached + st.computed != st.tokens)) {
                printf("FAIL %s: %d positions from the cache, %d computed, of %d tokens\n", label, st.cached,
                       st.computed, st.tokens);
                failures++;
            } else if (p.path == SANA_PROMPT_CACHED) {
                printf("     %s: %d of %d positions from the instruction cache\n", label, st.cached, st.tokens);
            }
            bool mask_ok = memcmp(mask, want_mask.data, (size_t)(B * L) * sizeof *mask) == 0;
            if (!mask_ok) {
                printf("FAIL %s: attention mask differs\n", label);
                failures++;
            }
            float *got = fx_download(be, &embeds);
            if (p.path == SANA_PROMPT_FULL) {
                if (!compare_report(label, got, want.data, (size_t)(B * L * H), max_rel, min_cos)) failures++;
            } else { // rows the mask keeps; padding rows must be zeros
                float *g = malloc((size_t)(B * L * H) * sizeof *g), *r = malloc((size_t)(B * L * H) * sizeof *r);
                size_t n = 0;
                bool pad_zero = true;
                for (int64_t row = 0; row < B * L; row++) {
                    if (((const float *)want_mask.data)[row] != 0.0f) {
                        memcpy(g + n, got + row * H, (size_t)H * sizeof *g);
                        memcpy(r + n, (const float *)want.data + row * H, (size_t)H * sizeof *r);
                        n += (size_t)H;
                    } else {
                        for (int64_t d = 0; d < H; d++) pad_zero = pad_zero && got[row * H + d] == 0.0f;
                    }
                }
                if (!compare_report(label, g, r, n, max_rel, min_cos)) failures++;
                if (!pad_zero) {
                    printf("FAIL %s: padding rows are not zeros\n", label);
                    failures++;
                }
                free(g);
                free(r);
            }
            free(got);
            free(mask);
            sana_arena_reset(arena, mark);
        }
        for (int b = 0; b < B; b++) free(prompts[b]);
        free(prompts);
    }

    printf("%s: %d failure(s)\n", fixture, failures);
    yyjson_doc_free(doc);
    sana_arena_free(arena);
    sana_st_free(ref);
    sana_prompt_encoder_free(pe);
    sana_backend_free(be);
    return failures ? 1 : 0;
}
