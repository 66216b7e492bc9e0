// cpu.h: what the CPU backend's files share (internal to core/cpu/).
//
// An op `name` of SANA_OPS (backend.h) is implemented by a function cpu_<name> with the slot's
// signature; backend-cpu.c holds the vtable, memory and the transformer's ops, and op families
// that other models add live in files of their own beside it, declared here.
#ifndef SANA_CPU_H
#define SANA_CPU_H

#include "../backend.h"
#include "../util.h"

// The data of t as float: t's own data when it is F32, else a widened malloc'd copy that the
// caller frees (*owned). NULL when t is NULL, or (with a sticky error) when out of memory.
const float *sana_cpu_as_f32(sana_backend *be, const sana_tensor *t, float **owned);

// The backend's scratch buffer of at least `floats` floats (reused between ops, never between
// threads); NULL with a sticky error when out of memory.
float *sana_cpu_scratch(sana_backend *be, size_t floats);

// ops-gemma.c: the ops the Gemma-2 text encoder adds.
void cpu_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *ids, const sana_tensor *table,
                   float scale);
void cpu_rope(sana_backend *be, sana_tensor *y, const sana_tensor *x, int head_dim, int pos0, float theta);

#endif // SANA_CPU_H
