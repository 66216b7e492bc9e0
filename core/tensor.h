// tensor.h: tensor views in PyTorch shape order, and dtype conversions.
//
// A sana_tensor is a view: it never owns its data. Data lives in an mmapped checkpoint, a model's
// weight store or an activation arena, on the host or (for the CUDA backend) on a device. Tensors
// are always contiguous, outermost dimension first, exactly as PyTorch's default layout, so a
// shape comment "(B, N, D)" means data[(b*N + n)*D + d].
#ifndef SANA_TENSOR_H
#define SANA_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" { // the CUDA module's .cu files include this header
#endif

#define SANA_MAX_DIMS 4

typedef enum sana_dtype {
    SANA_DTYPE_F32 = 0,
    SANA_DTYPE_F16,
    SANA_DTYPE_BF16,
    SANA_DTYPE_I32,
    SANA_DTYPE_I64,
    SANA_DTYPE_U8, // 8-bit image pixels (to_rgb8)
    SANA_DTYPE_COUNT,
} sana_dtype;

typedef struct sana_tensor {
    void *data;                     // host or device memory (see the backend); never owned
    sana_dtype dtype;
    int ndim;                       // 0 for an empty (unbound) tensor
    int64_t shape[SANA_MAX_DIMS];   // PyTorch order; unused trailing entries are 1
} sana_tensor;

size_t sana_dtype_size(sana_dtype dtype);
const char *sana_dtype_name(sana_dtype dtype); // safetensors spelling: "F32", "BF16", ...

int64_t sana_tensor_numel(const sana_tensor *t);
size_t sana_tensor_nbytes(const sana_tensor *t);
bool sana_tensor_is_bound(const sana_tensor *t);

// Size of dimension i, counting from the end when i < 0 (as PyTorch's t.shape[-1]).
int64_t sana_tensor_dim(const sana_tensor *t, int i);

// Product of all dimensions but the last: the row count when the tensor is seen as a matrix.
int64_t sana_tensor_rows(const sana_tensor *t);

// A view with the same data and a new shape of the same element count (asserted).
sana_tensor sana_tensor_reshape(sana_tensor t, int ndim, const int64_t *shape);
sana_tensor sana_tensor_reshape2(sana_tensor t, int64_t d0, int64_t d1);
sana_tensor sana_tensor_reshape3(sana_tensor t, int64_t d0, int64_t d1, int64_t d2);

// A view of `count` consecutive entries of the outermost dimension, starting at `start`
// (contiguous because the outermost dimension is the slowest).
sana_tensor sana_tensor_slice0(sana_tensor t, int64_t start, int64_t count);

bool sana_tensor_same_shape(const sana_tensor *a, const sana_tensor *b);

// "[2, 32, 8, 8]" into buf; returns buf.
const char *sana_shape_str(const sana_tensor *t, char *buf, size_t size);

// Scalar conversions, round-to-nearest-even when narrowing, as PyTorch does.
static inline float sana_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t sana_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float sana_f16_to_f32(uint16_t h);
uint16_t sana_f32_to_f16(float f);

// Widens n elements of src (F32, F16 or BF16) into dst as float.
void sana_widen_to_f32(float *dst, const void *src, sana_dtype dtype, size_t n);

#ifdef __cplusplus
}
#endif

#endif // SANA_TENSOR_H
