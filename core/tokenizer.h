// tokenizer.h: the Gemma tokenizer, read from a Hugging Face tokenizer.json.
//
// Mirrors what transformers' GemmaTokenizer (tokenization_gemma.py, a `tokenizers` BPE model)
// does with the checkpoint's tokenizer/ folder, as the SANA pipelines call it
// (diffusers pipelines/sana/pipeline_sana_sprint.py, _get_gemma_prompt_embeds). Spec:
// ../shared/spec/encoder-tokenizer-vae.md part B. The `tokenizers` library steps it reproduces:
// 1. added tokens (tokenizer.json "added_tokens") are split off the raw text first, leftmost-
//    longest (added_vocabulary.rs); those marked "normalized" are matched after normalization;
// 2. the normalizer (Gemma: Replace " " -> U+2581) runs on the rest;
// 3. the pre-tokenizer (Gemma: Split on " ", merged with the previous piece: a no-op once the
//    spaces are gone) cuts it into words;
// 4. BPE (models/bpe/model.rs, word.rs) on each word: one symbol per code point, a code point
//    outside the vocabulary becomes its UTF-8 bytes as "<0xNN>" pieces (byte fallback), then the
//    adjacent pair of lowest merge rank is merged (ties: leftmost) until none is left;
// 5. the post-processor template adds the special tokens (Gemma: "<bos>" in front, no EOS).
// tokenizer_config.json, when present beside it, is read as transformers v5 reads it:
// "add_bos_token"/"add_eos_token" rebuild the template from "bos_token"/"eos_token", and
// "pad_token" names the padding token (default "<pad>").
//
// Text is bytes: ill-formed UTF-8 becomes U+FFFD exactly as Python's
// bytes.decode("utf-8", errors="replace") would before the text reaches the Python tokenizer
// (unicode.h), so a C caller and a Python caller holding the same bytes get the same ids.
//
// What it is not: a general `tokenizers` reader. Other normalizers, pre-tokenizers, models
// (Unigram, WordPiece), post-processors and the added-token options lstrip/rstrip/single_word
// are refused with SANA_STATUS_UNSUPPORTED naming the key. Decoding is not implemented.
#ifndef SANA_TOKENIZER_H
#define SANA_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sana.h"

typedef struct sana_tokenizer sana_tokenizer;

// Loads DIR/tokenizer.json (and DIR/tokenizer_config.json when it exists).
sana_status sana_tokenizer_load(const char *dir, sana_tokenizer **out, sana_error *err);
void sana_tokenizer_free(sana_tokenizer *t);

// The tokenizer.json path, for messages.
const char *sana_tokenizer_path(const sana_tokenizer *t);

// One more than the largest id any piece or added token has (what an embedding table needs).
int32_t sana_tokenizer_n_ids(const sana_tokenizer *t);

// The id of the piece or added token `piece` (exact bytes), or -1.
int32_t sana_tokenizer_id(const sana_tokenizer *t, const char *piece);

// The piece (or added token) of id, or NULL.
const char *sana_tokenizer_piece(const sana_tokenizer *t, int32_t id);

// The padding id (tokenizer_config.json "pad_token", default "<pad>").
int32_t sana_tokenizer_pad_id(const sana_tokenizer *t);

// The number of special tokens the template adds around a text (Gemma: 1, the BOS).
int sana_tokenizer_n_special(const sana_tokenizer *t);

// tokenizer.encode(text, add_special_tokens=add_special): the ids of `len` bytes of text, in a
// malloc'd array *ids of *n entries (the caller frees it).
sana_status sana_tokenizer_encode(const sana_tokenizer *t, const char *text, size_t len, bool add_special,
                                  int32_t **ids, int *n, sana_error *err);

// tokenizer(text, padding="max_length", max_length=max_length, truncation=True,
// add_special_tokens=True) with padding_side "right", as the SANA pipelines call it: the text's
// ids truncated on the right to leave room for the special tokens, the template applied, then
// pad ids up to max_length. ids and mask (1 for a token, 0 for padding) get max_length entries;
// *n_real (may be NULL) the count of non-padding entries.
sana_status sana_tokenizer_encode_padded(const sana_tokenizer *t, const char *text, size_t len,
                                         int max_length, int32_t *ids, int32_t *mask, int *n_real,
                                         sana_error *err);

#endif // SANA_TOKENIZER_H
