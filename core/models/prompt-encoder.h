// prompt-encoder.h: SANA-Sprint's prompt encoding, text -> prompt_embeds (B, L, H) + mask.
//
// Mirrors diffusers src/diffusers/pipelines/sana/pipeline_sana_sprint.py: encode_prompt,
// _get_gemma_prompt_embeds and _text_preprocessing (clean_caption=False), as __call__ calls
// them. Spec: ../shared/spec/transformer-sampler.md section 3, encoder-tokenizer-vae.md A.5.
// Per prompt:
// 1. text = prompt.lower().strip() (Python semantics, unicode.h); bytes that are not UTF-8 are
//    replaced as Python's errors="replace" would;
// 2. with a complex human instruction (CHI, on by default): chi = "\n".join(lines), the model
//    input is chi + text, max_length = len(tokenizer.encode(chi)) + max_sequence_length - 2;
//    without: text alone, max_length = max_sequence_length;
// 3. tokenizer(padding="max_length", max_length, truncation=True), padding on the right;
// 4. Gemma2Model(ids, attention_mask).last_hidden_state;
// 5. rows [0] + [-(L-1) .. -1] of the hidden states and the mask (L = max_sequence_length):
//    the BOS and the last L-1 positions, i.e. the prompt's tokens after the CHI.
//
// Two ways to get the same numbers faster than upstream (selected by sana_prompt_path):
// - real tokens only: padding positions are never computed (their keys are masked for every
//   real token, and the SANA transformer masks their rows); their output rows are zeros, where
//   upstream has finite values that nothing reads;
// - CHI cache: the keys and values (and output rows) of the instruction's tokens are computed
//   once per instruction and reused: each prompt runs only from the first token where its ids
//   differ from the cached prefix (found by comparing ids, so a prompt whose first character
//   merges differently with the instruction's trailing space is still exact).
//
// What it is not: clean_caption=True (bs4/ftfy caption cleaning) and num_images_per_prompt
// (the pipeline repeats rows) are not here.
//
// Shape legend: B prompts, L = max_sequence_length rows kept, H hidden size of the encoder,
// M = max_length tokens of the padded sequence.
#ifndef SANA_PROMPT_ENCODER_H
#define SANA_PROMPT_ENCODER_H

#include "../arena.h"
#include "../backend.h"
#include "../tap.h"
#include "../tokenizer.h"
#include "gemma2.h"

typedef enum sana_prompt_path {
    SANA_PROMPT_CACHED = 0, // real tokens only, CHI keys/values computed once (the default)
    SANA_PROMPT_REAL,       // real tokens only, the whole sequence every time
    SANA_PROMPT_FULL,       // upstream's pass over every padded position
} sana_prompt_path;

typedef struct sana_prompt_params {
    int max_sequence_length;      // L, upstream's default 300
    const char *const *chi_lines; // complex_human_instruction; with n_chi_lines 0: none
    int n_chi_lines;
    sana_prompt_path path;
} sana_prompt_params;

// The 8 lines of SanaSprintPipeline.__call__'s default complex_human_instruction.
const char *const *sana_prompt_default_chi(int *n_lines);

// The defaults of SanaSprintPipeline.__call__: L = 300, the default CHI, the cached path.
sana_prompt_params sana_prompt_params_default(void);

typedef struct sana_prompt_encoder sana_prompt_encoder;

// Loads TOKENIZER_DIR/tokenizer.json and the Gemma2Model in TEXT_ENCODER_DIR; fails when the
// tokenizer can produce ids the model's embedding table lacks.
sana_status sana_prompt_encoder_new(const char *tokenizer_dir, const char *text_encoder_dir, sana_backend *be,
                                    sana_prompt_encoder **out, sana_error *err);
void sana_prompt_encoder_free(sana_prompt_encoder *pe);

const sana_tokenizer *sana_prompt_encoder_tokenizer(const sana_prompt_encoder *pe);
const sana_gemma2 *sana_prompt_encoder_model(const sana_prompt_encoder *pe);

// Encodes B NUL-terminated prompts: embeds (B, L, H) (allocated by the caller), mask (B * L
// host floats, 1 for a token, 0 for padding) as encode_prompt returns them. Temporaries come
// from `arena` and are released before it returns. The encoder's own memory holds the CHI
// cache between calls. tap sees the encoder's intermediates (FULL and REAL paths only).
sana_status sana_prompt_encode(sana_prompt_encoder *pe, sana_arena *arena, const char *const *prompts, int B,
                               const sana_prompt_params *p, sana_tensor *embeds, float *mask, const sana_tap *tap,
                               sana_error *err);

// What the last sana_prompt_encode() did, summed over its prompts (for tests and benchmarks).
typedef struct sana_prompt_stats {
    int tokens;   // real tokens (BOS included) of the padded sequences
    int computed; // positions the encoder ran
    int cached;   // positions taken from the instruction cache
    int graph_launches; // layer passes run as recorded graphs (graph.h)
} sana_prompt_stats;

sana_prompt_stats sana_prompt_encoder_stats(const sana_prompt_encoder *pe);

#endif // SANA_PROMPT_ENCODER_H
