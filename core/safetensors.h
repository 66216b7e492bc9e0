// safetensors.h: read-only access to .safetensors checkpoints (single or sharded), mmapped.
//
// Format (huggingface/safetensors, docs/ and safetensors/src/tensor.rs): an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype": "BF16", "shape": [..], "data_offsets":
// [begin, end]}, "__metadata__": {..}}, then the data; offsets are relative to the data start.
// A sharded checkpoint has NAME.safetensors.index.json with {"weight_map": {"name": "file"}}.
//
// What it is not: it knows nothing of models. It validates everything a hostile or truncated
// file can get wrong, and each error names the file and the key.
#ifndef SANA_SAFETENSORS_H
#define SANA_SAFETENSORS_H

#include "sana.h"
#include "tensor.h"

typedef struct sana_safetensors sana_safetensors;

// Opens one .safetensors file.
sana_status sana_st_open_file(const char *path, sana_safetensors **out, sana_error *err);

// Finds the checkpoint `stem` in `dir`: DIR/STEM.safetensors.index.json (sharded), else
// DIR/STEM.safetensors, else the same for the variants diffusers' save_pretrained(variant=...)
// writes, "fp16" then "bf16" (STEM.fp16.safetensors[.index.json]). False when none exists.
bool sana_st_find(const char *dir, const char *stem, char *path, size_t size, bool *is_index);

// Opens the checkpoint `stem` in `dir` as sana_st_find finds it (an index: every shard it names).
sana_status sana_st_open_dir(const char *dir, const char *stem, sana_safetensors **out,
                             sana_error *err);

void sana_st_free(sana_safetensors *st);

// What the checkpoint was opened from (a file or an index path), for messages.
const char *sana_st_path(const sana_safetensors *st);

int sana_st_count(const sana_safetensors *st);
const char *sana_st_name(const sana_safetensors *st, int i); // sorted by name

bool sana_st_has(const sana_safetensors *st, const char *name);

// The index of `name` in name order (for sana_st_name), or -1.
int sana_st_index(const sana_safetensors *st, const char *name);

// A host view of tensor `name` in its stored dtype (data points into the mmapped file).
// A missing name is SANA_STATUS_BAD_MODEL with the checkpoint path and the key.
sana_status sana_st_get(const sana_safetensors *st, const char *name, sana_tensor *out,
                        sana_error *err);

// The path of the file that holds `name` (a shard for sharded checkpoints), or NULL.
const char *sana_st_file_of(const sana_safetensors *st, const char *name);

#endif // SANA_SAFETENSORS_H
