// prompt-encoder.c: SANA-Sprint prompt encoding (see prompt-encoder.h for what it mirrors).
#include "prompt-encoder.h"

#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../graph.h"
#include "../ops.h"
#include "../unicode.h"
#include "../util.h"

// SanaSprintPipeline.__call__'s default complex_human_instruction, byte for byte (single quotes
// around 'Enhanced prompt'; the last line ends with a space).
static const char *const default_chi[] = {
    "Given a user prompt, generate an 'Enhanced prompt' that provides detailed visual descriptions suitable for "
    "image generation. Evaluate the level of detail in the user prompt:",
    "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and spatial "
    "relationships to create vivid and concrete scenes.",
    "- If the prompt is already detailed, refine and enhance the existing details slightly without "
    "overcomplicating.",
    "Here are examples of how to transform or refine prompts:",
    "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, sleeping "
    "peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.",
    "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street "
    "lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass "
    "skyscrapers.",
    "Please generate only the enhanced description for the prompt below and avoid including any additional "
    "commentary or evaluations:",
    "User Prompt: ",
};

const char *const *sana_prompt_default_chi(int *n_lines) {
    *n_lines = (int)SANA_ARRAY_LEN(default_chi);
    return default_chi;
}

sana_prompt_params sana_prompt_params_default(void) {
    return (sana_prompt_params){
        .max_sequence_length = 300,
        .chi_lines = default_chi,
        .n_chi_lines = (int)SANA_ARRAY_LEN(default_chi),
        .path = SANA_PROMPT_CACHED,
    };
}

struct sana_prompt_encoder {
    sana_tokenizer *tok;
    sana_gemma2 *model;
    sana_backend *be;

    // The CHI cache: positions [0, n_cached) of `chi` hold keys/values and output rows.
    char *chi;                // the joined instruction it was built for, NULL: none
    int32_t *chi_ids;         // (n_cached) the cached prefix's ids
    int n_cached;
    sana_arena *cache_arena;  // owns the tensors below
    sana_gemma2_cache cache;  // capacity: the longest padded sequence seen
    sana_tensor cache_out;    // (capacity, H) last_hidden_state of the cached positions
    float *zeros;             // host zeros for padding rows
    size_t n_zeros;
    // Recorded graphs of the layers (graph.h), by prompt length and cached prefix; they refer to
    // the cache's tensors, so they go with it.
    sana_graph_cache g_layers;
    sana_prompt_stats stats;  // of the last sana_prompt_encode()
};

sana_status sana_prompt_encoder_new(const char *tokenizer_dir, const char *text_encoder_dir, sana_backend *be,
                                    sana_prompt_encoder **out, sana_error *err) {
    *out = NULL;
    sana_prompt_encoder *pe = calloc(1, sizeof *pe);
    if (!pe) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory");
    pe->be = be;
    sana_status s;
    if ((s = sana_tokenizer_load(tokenizer_dir, &pe->tok, err))) goto fail;
    // Every id the tokenizer can produce needs a row of the embedding table (checked before the
    // weights are opened).
    char path[4096];
    sana_gemma2_config c;
    if (!sana_path_join(path, sizeof path, text_encoder_dir, "config.json")) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", text_encoder_dir);
        goto fail;
    }
    if ((s = sana_gemma2_config_load(path, &c, err))) goto fail;
    const int32_t n_ids = sana_tokenizer_n_ids(pe->tok);
    if (n_ids > c.vocab_size) {
        s = sana_errorf(err, SANA_STATUS_BAD_MODEL, "%s has token ids up to %d (\"%.40s\"), but %s field "
                        "\"vocab_size\" is %d; expected at least %d (tokenizer and text encoder disagree)",
                        sana_tokenizer_path(pe->tok), n_ids - 1, sana_tokenizer_piece(pe->tok, n_ids - 1), path,
                        c.vocab_size, n_ids);
        goto fail;
    }
    if ((s = sana_gemma2_load(text_encoder_dir, be, &pe->model, err))) goto fail;
    *out = pe;
    return SANA_OK;
fail:
    sana_prompt_encoder_free(pe);
    return s;
}

static void drop_cache(sana_prompt_encoder *pe) {
    sana_graph_cache_free(pe->be, &pe->g_layers);
    sana_gemma2_cache_free(&pe->cache);
    sana_arena_free(pe->cache_arena);
    pe->cache_arena = NULL;
    free(pe->chi);
    free(pe->chi_ids);
    pe->chi = NULL;
    pe->chi_ids = NULL;
    pe->n_cached = 0;
}

void sana_prompt_encoder_free(sana_prompt_encoder *pe) {
    if (!pe) return;
    drop_cache(pe);
    free(pe->zeros);
    sana_gemma2_free(pe->model);
    sana_tokenizer_free(pe->tok);
    free(pe);
}

const sana_tokenizer *sana_prompt_encoder_tokenizer(const sana_prompt_encoder *pe) { return pe->tok; }
const sana_gemma2 *sana_prompt_encoder_model(const sana_prompt_encoder *pe) { return pe->model; }
sana_prompt_stats sana_prompt_encoder_stats(const sana_prompt_encoder *pe) { return pe->stats; }

// "\n".join(lines), malloc'd.
static char *join_lines(const char *const *lines, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(lines[i]) + 1;
    char *s = malloc(len), *o = s;
    if (!s) return NULL;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(o, lines[i], l);
        o += l;
        if (i + 1 < n) *o++ = '\n';
    }
    *o = '\0';
    return s;
}

// Makes the cache hold `chi`'s prefix with room for `capacity` positions: its tokens but the
// last (which usually merges with the prompt's first word) are run once.
static sana_status ensure_cache(sana_prompt_encoder *pe, const char *chi, int capacity, sana_error *err) {
    if (pe->chi && strcmp(pe->chi, chi) == 0 && pe->cache.capacity >= capacity) return SANA_OK;
    drop_cache(pe);
    int32_t *ids;
    int n;
    sana_status s = sana_tokenizer_encode(pe->tok, chi, strlen(chi), true, &ids, &n, err);
    if (s) return s;
    const int64_t H = pe->model->config.hidden_size;
    pe->chi = strdup(chi);
    pe->chi_ids = ids;
    pe->n_cached = SANA_MIN(n - 1, capacity);
    pe->cache_arena = sana_arena_new(pe->be, 0);
    if (!pe->chi || !pe->cache_arena) {
        drop_cache(pe);
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for the instruction cache");
    }
    sana_gemma2_cache_init(pe->model, pe->cache_arena, capacity, &pe->cache);
    pe->cache_out = sana_new_f32(pe->cache_arena, capacity, H); // (capacity, H)
    if (pe->n_cached > 0) {
        sana_arena *tmp = sana_arena_new(pe->be, 0);
        if (!tmp) {
            drop_cache(pe);
            return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory for the instruction cache");
        }
        sana_tensor x = sana_arena_tensor(tmp, SANA_DTYPE_I32, 2, (int64_t[]){1, pe->n_cached}); // (1, P)
        sana_upload(pe->be, &x, ids);
        sana_tensor o = sana_tensor_reshape3(sana_tensor_slice0(pe->cache_out, 0, pe->n_cached), 1, pe->n_cached, H);
        sana_gemma2_forward(pe->model, tmp, &o, &x, NULL, &pe->cache, NULL);
        s = sana_backend_sync(pe->be, err);
        sana_arena_free(tmp);
        if (s) {
            drop_cache(pe);
            return s;
        }
    }
    sana_log(SANA_LOG_DEBUG, "prompt encoder: instruction cache of %d tokens (capacity %d)", pe->n_cached, capacity);
    return SANA_OK;
}

// At least n host zeros (for padding rows).
static const float *zeros(sana_prompt_encoder *pe, size_t n) {
    if (pe->n_zeros < n) {
        free(pe->zeros);
        pe->zeros = calloc(n, sizeof *pe->zeros);
        pe->n_zeros = pe->zeros ? n : 0;
    }
    return pe->zeros;
}

typedef struct layers_call {
    sana_prompt_encoder *pe;
    sana_arena *arena;
    sana_tensor *out, *X;
    sana_gemma2_cache *cache;
    int pos0;
} layers_call;

static void layers_call_run(void *user) {
    layers_call *l = user;
    sana_gemma2_forward_layers(l->pe->model, l->arena, l->out, l->X, NULL, l->cache, l->pos0, NULL);
}

// Copies rows [k0, k1) of dst from src rows starting at s0 (one copy for the run).
static void copy_rows(sana_backend *be, sana_tensor *dst2, int k0, int k1, const sana_tensor *src2, int s0) {
    if (k1 <= k0) return;
    sana_tensor d = sana_tensor_slice0(*dst2, k0, k1 - k0), src = sana_tensor_slice0(*src2, s0, k1 - k0);
    sana_copy(be, &d, &src);
}

// One prompt: rows (L, H) of embeds and L mask values.
static sana_status encode_one(sana_prompt_encoder *pe, sana_arena *arena, const char *prompt, const char *chi,
                              const sana_prompt_params *p, sana_tensor *rows, float *mask, const sana_tap *tap,
                              sana_error *err) {
    sana_backend *be = pe->be;
    const int L = p->max_sequence_length;
    const int64_t H = pe->model->config.hidden_size;
    sana_status s = SANA_OK;
    char *text = NULL, *input = NULL, *low = NULL;
    int32_t *ids = NULL, *amask = NULL, *chi_ids = NULL;
    sana_arena_mark mark = sana_arena_get_mark(arena);

    // lower().strip() of the prompt as Python sees it, then the instruction in front.
    size_t n, nl, b, e;
    text = sana_utf8_sanitize(prompt, strlen(prompt), &n);
    low = text ? sana_text_lower(text, n, &nl) : NULL;
    if (!low) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory preparing the prompt");
        goto done;
    }
    sana_text_strip(low, nl, &b, &e);
    size_t chi_len = chi ? strlen(chi) : 0;
    input = malloc(chi_len + (e - b) + 1);
    if (!input) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory preparing the prompt");
        goto done;
    }
    memcpy(input, chi ? chi : "", chi_len);
    memcpy(input + chi_len, low + b, e - b);
    input[chi_len + (e - b)] = '\0';

    // max_length: the CHI's token count (with BOS) + L - 2, or L.
    int M = L;
    if (chi) {
        int nc;
        if ((s = sana_tokenizer_encode(pe->tok, chi, chi_len, true, &chi_ids, &nc, err))) goto done;
        M = nc + L - 2;
    }
    // select_index = [0] + range(-(L-1), 0) must index a sequence of M (Python would raise).
    if (M < L - 1 || M < 1) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "max_sequence_length %d needs a padded length of at least %d, "
                        "but the instruction gives %d", L, L - 1, M);
        goto done;
    }
    ids = malloc((size_t)M * sizeof *ids);
    amask = malloc((size_t)M * sizeof *amask);
    int n_real;
    if (!ids || !amask) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory tokenizing the prompt");
        goto done;
    }
    if ((s = sana_tokenizer_encode_padded(pe->tok, input, chi_len + (e - b), M, ids, amask, &n_real, err))) goto done;

    // Hidden states of positions [P, end) in `out`, [0, P) in the cache (cached path).
    int P = 0, end = p->path == SANA_PROMPT_FULL ? M : n_real;
    if (p->path == SANA_PROMPT_CACHED && chi) {
        if ((s = ensure_cache(pe, chi, M, err))) goto done;
        while (P < pe->n_cached && P < n_real && ids[P] == pe->chi_ids[P]) P++;
        if (P < pe->n_cached) pe->n_cached = P; // the prompt rewrote the prefix's end: keep what still holds
        pe->cache.length = P;
    }
    sana_tensor out = sana_new_f32(arena, 1, SANA_MAX(end - P, 1), H); // (1, end - P, H)
    if (end > P) {
        sana_tensor x = sana_arena_tensor(arena, SANA_DTYPE_I32, 2, (int64_t[]){1, end - P});
        sana_upload(be, &x, ids + P);
        out = sana_tensor_reshape3(out, 1, end - P, H);
        sana_tensor bias, *bias_p = NULL;
        if (p->path == SANA_PROMPT_FULL) { // upstream's additive padding mask: finfo(float32).min
            float *bias_h = malloc((size_t)M * sizeof *bias_h);
            if (!bias_h) {
                s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory");
                goto done;
            }
            for (int i = 0; i < M; i++) bias_h[i] = amask[i] ? 0.0f : -FLT_MAX;
            bias = sana_new_f32(arena, 1, M);
            sana_upload(be, &bias, bias_h);
            free(bias_h);
            bias_p = &bias;
        }
        if (p->path == SANA_PROMPT_CACHED) {
            // The embedding eagerly (it waits for the ids on the host), the layers as a recorded
            // graph keyed by every address and position they use (graph.h).
            sana_gemma2_cache *cache = chi ? &pe->cache : NULL;
            sana_tensor X = sana_new_f32(arena, 1, end - P, H); // (1, N, H)
            sana_gemma2_embed(pe->model, &X, &x, NULL);
            layers_call lc = {.pe = pe, .arena = arena, .out = &out, .X = &X, .cache = cache, .pos0 = P};
            const sana_arena_mark am = sana_arena_get_mark(arena);
            sana_graph_key k = {0};
            sana_graph_key_ptr(&k, out.data);
            sana_graph_key_ptr(&k, X.data);
            sana_graph_key_ptr(&k, cache ? cache->k[0].data : NULL);
            sana_graph_key_ptr(&k, cache ? cache->v[0].data : NULL);
            sana_graph_key_add(&k, (uint64_t)(end - P));
            sana_graph_key_add(&k, (uint64_t)P);
            sana_graph_key_add(&k, (uint64_t)am.block);
            sana_graph_key_add(&k, (uint64_t)am.offset);
            if (sana_graph_cache_run(be, &pe->g_layers, k.v, k.n, layers_call_run, &lc) != SANA_GRAPH_EAGER)
                pe->stats.graph_launches++;
            if (cache) cache->length += end - P;
        } else {
            sana_gemma2_forward(pe->model, arena, &out, &x, bias_p, NULL, tap);
        }
    }

    // Rows [0] + [M-L+1 .. M-1]: from the cache, the forward, or zeros (padding, not computed).
    const float *zero = zeros(pe, (size_t)H * L);
    if (!zero) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory");
        goto done;
    }
    // Row k holds position pos(k) = 0 for k = 0, M - L + k after: runs of consecutive rows come
    // from the cache, the forward's output and zeros, in that order; one copy per run.
    sana_tensor rows2 = sana_tensor_reshape2(*rows, L, H), out2 = sana_tensor_reshape2(out, out.shape[1], H);
    int k = 0;
    while (k < L) {
        const int pos = k == 0 ? 0 : M - L + k;
        int k1 = k + 1; // the run [k, k1) of consecutive positions from one source
        const int lim = pos < P ? P : pos < end ? end : INT_MAX;
        if (k > 0)
            while (k1 < L && M - L + k1 < lim) k1++;
        if (pos < P) {
            copy_rows(be, &rows2, k, k1, &pe->cache_out, pos);
        } else if (pos < end) {
            copy_rows(be, &rows2, k, k1, &out2, pos - P);
        } else {
            sana_tensor dst = sana_tensor_slice0(rows2, k, k1 - k);
            sana_upload(be, &dst, zero);
        }
        k = k1;
    }
    for (k = 0; k < L; k++) mask[k] = (float)amask[k == 0 ? 0 : M - L + k];
    s = sana_backend_sync(be, err);
    pe->stats.tokens += n_real;
    pe->stats.computed += end - P;
    pe->stats.cached += P;
    sana_log(SANA_LOG_DEBUG, "prompt encoder: %d tokens of %d, %d computed, %d from the instruction cache", n_real, M,
             end - P, P);
done:
    sana_arena_reset(arena, mark);
    free(text);
    free(low);
    free(input);
    free(ids);
    free(amask);
    free(chi_ids);
    return s;
}

sana_status sana_prompt_encode(sana_prompt_encoder *pe, sana_arena *arena, const char *const *prompts, int B,
                               const sana_prompt_params *p, sana_tensor *embeds, float *mask, const sana_tap *tap,
                               sana_error *err) {
    const int L = p->max_sequence_length;
    const int64_t H = pe->model->config.hidden_size;
    if (L < 1 || L > 1 << 20)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "max_sequence_length is %d; expected 1 to %d", L, 1 << 20);
    if (B < 1 || (unsigned)p->path > SANA_PROMPT_FULL || p->n_chi_lines < 0 || (p->n_chi_lines && !p->chi_lines))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "prompt encoding: %d prompts, path %d, %d instruction lines; "
                           "expected at least 1 prompt, a sana_prompt_path and lines for a count > 0",
                           B, (int)p->path, p->n_chi_lines);
    SANA_ASSERT(embeds->ndim == 3 && embeds->shape[0] == B && embeds->shape[1] == L && embeds->shape[2] == H);
    // Upstream: `if not complex_human_instruction` -> no instruction (None or an empty list).
    char *chi = p->n_chi_lines ? join_lines(p->chi_lines, p->n_chi_lines) : NULL;
    if (p->n_chi_lines && !chi) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory");
    sana_status s = SANA_OK;
    pe->stats = (sana_prompt_stats){0};
    for (int b = 0; b < B && !s; b++) {
        sana_tensor rows = sana_tensor_slice0(*embeds, b, 1);
        s = encode_one(pe, arena, prompts[b], chi, p, &rows, mask + (size_t)b * L, tap, err);
    }
    free(chi);
    return s;
}
