// weights.h: binding checkpoint tensors to model fields, by their key names, with shape checks.
//
// A model's loader calls sana_load() once per field with the checkpoint key (printf-style) and
// the shape upstream's module has; the tensor is checked (present, a float dtype, that shape)
// and handed to the backend, which keeps it in its own form (see sana_weight_use). Errors are
// sticky on the loader: the first names the checkpoint file, the key, the shape found and the
// shape expected; later calls do nothing.
#ifndef SANA_WEIGHTS_H
#define SANA_WEIGHTS_H

#include <stdbool.h>

#include "../backend.h"
#include "../safetensors.h"

typedef struct sana_shape {
    int ndim;
    int64_t d[SANA_MAX_DIMS];
} sana_shape;

#define SANA_SHAPE(...)                                                                         \
    ((sana_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})

typedef struct sana_loader {
    const sana_safetensors *st;
    sana_backend *be;
    sana_error *err;
    sana_status status; // first error
    bool *used;         // per checkpoint tensor, for the unused-key warning
} sana_loader;

sana_status sana_loader_init(sana_loader *ld, const sana_safetensors *st, sana_backend *be,
                             sana_error *err);

// Binds the tensor named by fmt... with the given shape to *out (unbound on error).
void sana_load(sana_loader *ld, sana_tensor *out, sana_weight_use use, sana_shape shape,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// Logs a warning naming the first checkpoint tensor no field used (upstream warns the same way
// about unexpected keys), frees the loader's bookkeeping, and returns the first error.
sana_status sana_loader_finish(sana_loader *ld);

#endif // SANA_WEIGHTS_H
