// rng.h: seed -> noise, reproducing torch.Generator("cpu").manual_seed(s) + torch.randn.
//
// Mirrors PyTorch's CPU generator: at::mt19937 (aten/src/ATen/core/MT19937RNGEngine.h), the
// uniform transforms of ATen/core/TransformationHelper.h, and the normal kernel of
// aten/src/ATen/native/cpu/DistributionTemplates.h:
// - n >= 16 (float, contiguous): n uniforms u = (mt() & 0xffffff) / 2^24 first, then Box-Muller
//   in blocks of 16 (8 pairs: u1 = 1 - u[j], u2 = u[j + 8]); when n % 16 != 0 the last 16
//   values are redrawn from 16 fresh uniforms and transformed again.
// - n < 16: double Box-Muller per element from 53-bit uniforms (two mt() draws each), caching
//   the second value of each pair in the generator (the cache survives between calls).
// The 16-block transform is compiled per CPU capability in PyTorch: a scalar float version
// (std::log/cos/sin; used on AVX-512 machines and non-x86) and an AVX2 version with the Cephes
// polynomials of avx_mathfun.h. Both are here; the variant PyTorch would pick on this CPU is
// the default (ATEN_CPU_CAPABILITY is honoured as PyTorch does), so a seed gives the same noise
// as diffusers with a CPU generator on the same machine.
#ifndef SANA_RNG_H
#define SANA_RNG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum sana_rng_variant {
    SANA_RNG_SCALAR = 0, // PyTorch's DEFAULT / AVX512 / ARM kernels
    SANA_RNG_AVX2,       // PyTorch's AVX2 kernel (x86 without AVX-512)
} sana_rng_variant;

typedef struct sana_rng {
    uint32_t state[624];
    int left, next;
    bool has_normal;      // the cached second value of a double Box-Muller pair
    double next_normal;
    sana_rng_variant variant;
} sana_rng;

// The variant PyTorch picks on this machine: ATEN_CPU_CAPABILITY when set ("default", "avx2",
// "avx512"), else AVX-512 (F, VL, BW, DQ) and FMA -> scalar, AVX2 and FMA -> AVX2, else scalar.
sana_rng_variant sana_rng_detect_variant(void);

// torch.Generator("cpu").manual_seed(seed) (the engine uses the low 32 bits, as PyTorch).
void sana_rng_seed(sana_rng *r, uint64_t seed, sana_rng_variant variant);

uint32_t sana_rng_u32(sana_rng *r);

// out[0..n) = torch.randn(n, generator=r) (any shape with n elements, contiguous).
void sana_rng_randn(sana_rng *r, float *out, int64_t n);

#endif // SANA_RNG_H
