// tensor.c: tensor views, shapes and dtype conversions (see tensor.h).
#include "tensor.h"

#include <stdio.h>

#include "util.h"

static const struct {
    const char *name;
    size_t size;
} dtype_info[SANA_DTYPE_COUNT] = {
    [SANA_DTYPE_F32] = {"F32", 4}, [SANA_DTYPE_F16] = {"F16", 2},
    [SANA_DTYPE_BF16] = {"BF16", 2}, [SANA_DTYPE_I32] = {"I32", 4},
    [SANA_DTYPE_I64] = {"I64", 8}, [SANA_DTYPE_U8] = {"U8", 1},
};

size_t sana_dtype_size(sana_dtype dtype) {
    return (unsigned)dtype < SANA_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

const char *sana_dtype_name(sana_dtype dtype) {
    return (unsigned)dtype < SANA_DTYPE_COUNT ? dtype_info[dtype].name : "?";
}

int64_t sana_tensor_numel(const sana_tensor *t) {
    if (t->ndim == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t sana_tensor_nbytes(const sana_tensor *t) {
    return (size_t)sana_tensor_numel(t) * sana_dtype_size(t->dtype);
}

bool sana_tensor_is_bound(const sana_tensor *t) { return t->ndim > 0 && t->data != NULL; }

int64_t sana_tensor_dim(const sana_tensor *t, int i) {
    if (i < 0) i += t->ndim;
    SANA_ASSERT(i >= 0 && i < t->ndim);
    return t->shape[i];
}

int64_t sana_tensor_rows(const sana_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i + 1 < t->ndim; i++) n *= t->shape[i];
    return n;
}

sana_tensor sana_tensor_reshape(sana_tensor t, int ndim, const int64_t *shape) {
    SANA_ASSERT(ndim >= 1 && ndim <= SANA_MAX_DIMS);
    sana_tensor r = t;
    r.ndim = ndim;
    for (int i = 0; i < SANA_MAX_DIMS; i++) r.shape[i] = i < ndim ? shape[i] : 1;
    SANA_ASSERT(sana_tensor_numel(&r) == sana_tensor_numel(&t));
    return r;
}

sana_tensor sana_tensor_reshape2(sana_tensor t, int64_t d0, int64_t d1) {
    return sana_tensor_reshape(t, 2, (int64_t[]){d0, d1});
}

sana_tensor sana_tensor_reshape3(sana_tensor t, int64_t d0, int64_t d1, int64_t d2) {
    return sana_tensor_reshape(t, 3, (int64_t[]){d0, d1, d2});
}

sana_tensor sana_tensor_slice0(sana_tensor t, int64_t start, int64_t count) {
    SANA_ASSERT(t.ndim >= 1 && start >= 0 && count >= 0 && start + count <= t.shape[0]);
    size_t row = sana_tensor_nbytes(&t) / (size_t)t.shape[0];
    sana_tensor r = t;
    r.data = (char *)t.data + (size_t)start * row;
    r.shape[0] = count;
    return r;
}

bool sana_tensor_same_shape(const sana_tensor *a, const sana_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *sana_shape_str(const sana_tensor *t, char *buf, size_t size) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < t->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

float sana_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { // subnormal: renormalise
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                exp--;
            }
            u = sign | (exp << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t sana_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);   // NaN
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // overflow to inf (rounds up)
    if (abs < 0x38800000u) {                                    // subnormal or zero in f16
        if (abs < 0x33000000u) return (uint16_t)sign;           // below half the smallest
        uint32_t man = (abs & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(abs >> 23); // value = man * 2^(exp-150) = r * 2^-24
        uint32_t r = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((abs >> 13) - (112u << 10)), rem = abs & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

void sana_widen_to_f32(float *dst, const void *src, sana_dtype dtype, size_t n) {
    switch (dtype) {
    case SANA_DTYPE_F32: memcpy(dst, src, n * 4); break;
    case SANA_DTYPE_BF16: {
        const uint16_t *s = src;
        for (size_t i = 0; i < n; i++) dst[i] = sana_bf16_to_f32(s[i]);
        break;
    }
    case SANA_DTYPE_F16: {
        const uint16_t *s = src;
        for (size_t i = 0; i < n; i++) dst[i] = sana_f16_to_f32(s[i]);
        break;
    }
    default: SANA_ASSERT(!"sana_widen_to_f32: not a float dtype");
    }
}
