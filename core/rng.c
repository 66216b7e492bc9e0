// rng.c: PyTorch-compatible CPU random numbers (see rng.h for the upstream files).
//
// Floating-point order matters here: every expression follows the upstream order of
// operations, and this file is compiled without FP contraction (ISO C mode), so no multiply-add
// is fused unless written as fmaf(). The AVX2 emulation writes fmaf() exactly where GCC fuses
// avx_mathfun.h's intrinsic multiply + add in PyTorch's build (-ffp-contract=fast: a multiply
// whose only use is an add becomes an FMA, the first such multiply of the add); with that it is
// bit-equal to PyTorch's AVX2 kernel (tests/unit/test-rng.c).
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MT_N 624
#define MT_M 397

sana_rng_variant sana_rng_detect_variant(void) {
    const char *env = getenv("ATEN_CPU_CAPABILITY");
    if (env && *env) {
        if (strcmp(env, "avx2") == 0) return SANA_RNG_AVX2;
        if (strcmp(env, "default") == 0 || strcmp(env, "avx512") == 0 || strcmp(env, "zvector") == 0)
            return SANA_RNG_SCALAR;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return SANA_RNG_SCALAR;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SANA_RNG_AVX2;
#endif
    return SANA_RNG_SCALAR;
}

void sana_rng_seed(sana_rng *r, uint64_t seed, sana_rng_variant variant) {
    memset(r, 0, sizeof *r);
    r->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (int j = 1; j < MT_N; j++)
        r->state[j] = 1812433253u * (r->state[j - 1] ^ (r->state[j - 1] >> 30)) + (uint32_t)j;
    r->left = 1;
    r->next = 0;
    r->variant = variant;
}

static inline uint32_t twist(uint32_t u, uint32_t v) {
    uint32_t mix = (u & 0x80000000u) | (v & 0x7fffffffu);
    return (mix >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
}

static void next_state(sana_rng *r) {
    uint32_t *p = r->state;
    r->left = MT_N;
    r->next = 0;
    for (int j = MT_N - MT_M + 1; --j; p++) *p = p[MT_M] ^ twist(p[0], p[1]);
    for (int j = MT_M; --j; p++) *p = p[MT_M - MT_N] ^ twist(p[0], p[1]);
    *p = p[MT_M - MT_N] ^ twist(p[0], r->state[0]);
}

uint32_t sana_rng_u32(sana_rng *r) {
    if (--r->left == 0) next_state(r);
    uint32_t y = r->state[r->next++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

// uniform_real_distribution<float>: 24 random bits.
static float uniform_f(sana_rng *r) { return (float)((double)(sana_rng_u32(r) & 0xffffffu) * (1.0 / 16777216.0)); }

// uniform_real_distribution<double>: 53 of the 64 bits of (first << 32 | second).
static double uniform_d(sana_rng *r) {
    uint64_t hi = sana_rng_u32(r), lo = sana_rng_u32(r);
    uint64_t v = (hi << 32) | lo;
    return (double)(v & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// normal_distribution<double>(0, 1), with the generator's cached second sample.
static double normal_d(sana_rng *r) {
    if (r->has_normal) {
        r->has_normal = false;
        return r->next_normal;
    }
    const double u1 = uniform_d(r), u2 = uniform_d(r);
    const double radius = sqrt(-2.0 * log1p(-u2));
    const double theta = 2.0 * 3.14159265358979323846 * u1;
    r->next_normal = radius * sin(theta);
    r->has_normal = true;
    return radius * cos(theta);
}

// NormalFill16<float> (scalar): float log/cos/sin, theta through double.
static void fill16_scalar(float *d) {
    for (int j = 0; j < 8; j++) {
        const float u1 = 1.0f - d[j], u2 = d[j + 8];
        const float radius = sqrtf(-2.0f * logf(u1));
        const float theta = (float)(2.0 * 3.14159265358979323846 * (double)u2);
        d[j] = fmaf(radius * cosf(theta), 1.0f, 0.0f);
        d[j + 8] = fmaf(radius * sinf(theta), 1.0f, 0.0f);
    }
}

// ------------------------------------------------------------------------------------------------
// avx_mathfun.h's log256_ps and sincos256_ps (Cephes polynomials), lane by lane, with the
// multiply-adds fused as PyTorch's compiler fused them.

static inline float bits_f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t f_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float cephes_logf(float x) {
    const bool le = x <= 0.0f; // the invalid mask: log of x <= 0 is NaN
    x = x > bits_f(0x00800000u) ? x : bits_f(0x00800000u); // max_ps(x, min_norm_pos)
    int32_t e_i = (int32_t)(f_bits(x) >> 23);
    x = bits_f((f_bits(x) & ~0x7f800000u) | f_bits(0.5f));
    e_i -= 0x7f;
    float e = (float)e_i;
    e = e + 1.0f;
    const bool lt = x < 0.707106781186547524f;
    float tmp = lt ? x : 0.0f;
    x = x - 1.0f;
    e = e - (lt ? 1.0f : 0.0f);
    x = x + tmp;
    float z = x * x;
    float y = 7.0376836292E-2f;
    y = fmaf(y, x, -1.1514610310E-1f);
    y = fmaf(y, x, 1.1676998740E-1f);
    y = fmaf(y, x, -1.2420140846E-1f);
    y = fmaf(y, x, 1.4249322787E-1f);
    y = fmaf(y, x, -1.6668057665E-1f);
    y = fmaf(y, x, 2.0000714765E-1f);
    y = fmaf(y, x, -2.4999993993E-1f);
    y = fmaf(y, x, 3.3333331174E-1f);
    y = y * x;
    y = fmaf(y, z, e * -2.12194440e-4f);
    y = fmaf(-z, 0.5f, y);
    x = x + y;
    x = fmaf(e, 0.693359375f, x);
    return le ? bits_f(f_bits(x) | 0xffffffffu) : x; // or with the all-ones mask: NaN
}

static void cephes_sincosf(float x, float *s, float *c) {
    uint32_t sign_sin = f_bits(x) & 0x80000000u;
    x = bits_f(f_bits(x) & 0x7fffffffu);
    float y = x * 1.27323954473516f;
    int32_t j = (int32_t)y; // cvttps: truncation
    j = (j + 1) & ~1;
    y = (float)j;
    const int32_t j4 = j;
    const uint32_t swap_sin = (uint32_t)(j & 4) << 29;
    const bool poly_first = (j & 2) == 0; // poly_mask
    x = fmaf(y, -0.78515625f, x);
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    const uint32_t sign_cos = (uint32_t)(~(j4 - 2) & 4) << 29;
    sign_sin ^= swap_sin;

    float z = x * x;
    float yc = 2.443315711809948E-005f;
    yc = fmaf(yc, z, -1.388731625493765E-003f);
    yc = fmaf(yc, z, 4.166664568298827E-002f);
    yc = yc * z;
    yc = fmaf(yc, z, -(z * 0.5f));
    yc = yc + 1.0f;

    float ys = -1.9515295891E-4f;
    ys = fmaf(ys, z, 8.3321608736E-3f);
    ys = fmaf(ys, z, -1.6666654611E-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);

    // select: sin takes ys where poly_first, else yc; cos the other one.
    const float ysin2 = poly_first ? ys : 0.0f, ysin1 = poly_first ? 0.0f : yc;
    ys = ys - ysin2;
    yc = yc - ysin1;
    const float sinv = ysin1 + ysin2, cosv = yc + ys;
    *s = bits_f(f_bits(sinv) ^ sign_sin);
    *c = bits_f(f_bits(cosv) ^ sign_cos);
}

// NormalFill16<float, true> (AVX2): radius = sqrt(-2 log(1 - u)), theta = 2 pi u2 in float.
static void fill16_avx2(float *d) {
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    float u1[8], u2[8];
    for (int j = 0; j < 8; j++) {
        u1[j] = 1.0f - d[j];
        u2[j] = d[j + 8];
    }
    for (int j = 0; j < 8; j++) {
        const float radius = sqrtf(-2.0f * cephes_logf(u1[j]));
        const float theta = two_pi * u2[j];
        float s, c;
        cephes_sincosf(theta, &s, &c);
        d[j] = fmaf(radius * c, 1.0f, 0.0f);
        d[j + 8] = fmaf(radius * s, 1.0f, 0.0f);
    }
}

void sana_rng_randn(sana_rng *r, float *out, int64_t n) {
    if (n < 16) {
        for (int64_t i = 0; i < n; i++) out[i] = (float)normal_d(r);
        return;
    }
    void (*fill16)(float *) = r->variant == SANA_RNG_AVX2 ? fill16_avx2 : fill16_scalar;
    for (int64_t i = 0; i < n; i++) out[i] = uniform_f(r);
    for (int64_t i = 0; i < n - 15; i += 16) fill16(out + i);
    if (n % 16 != 0) { // recompute the last 16 values from fresh uniforms
        float *tail = out + n - 16;
        for (int i = 0; i < 16; i++) tail[i] = uniform_f(r);
        fill16(tail);
    }
}
