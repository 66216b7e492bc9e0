// test-backend-ops: every op slot of the backend interface on a device backend, checked against
// the CPU reference with odd shapes (ggml's tests/test-backend-ops.cpp is the model).
//
// usage: test-backend-ops [--device DEV] [--expect-module] [--op NAME] [--self-test]
//
// Each case makes the same seeded inputs on both backends (activations uploaded, weights bound
// through each backend's weight slot from host data in BF16, F16 or F32), runs the op on both
// and compares the device's output with the CPU's by NMSE = sum (got - ref)^2 / sum ref^2,
// against the case's limit (DESIGN.md section 5: <= 1e-7 where the device computes in fp32,
// <= 1e-3 with bf16 operands); the value measured on a GPU is recorded beside each limit.
// Every tensor sits between two guard regions filled with a sentinel NaN pattern, which must be
// intact afterwards (an op that writes out of bounds is caught; one that reads out of bounds
// pulls NaN into its output), and outputs start as NaN, so an element the op never writes
// fails the finiteness check. Every name in SANA_OPS must have a case, or the test fails.
//
// DEV defaults to cuda. A device this machine cannot use skips the test (exit 77; see
// fx_backend), after the coverage check.
//
// --self-test needs no GPU: it runs the cases on the CPU against itself, then against broken
// copies of the CPU backend (an op writing one element past its output, one leaving an element
// unwritten, one off by 1e-3, an embedding reading the wrong rows: the I32 ids and host tables
// reach the op; a to_rgb8 leaving a byte unwritten: U8 outputs are compared byte by byte) and
// a case table with a slot missing; the harness must catch each.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fixture.h"
#include "ops.h"
#include "util.h"

#define GUARD 64                  // sentinel floats before and after every tensor (256 bytes)
#define SENTINEL 0x7fedbeefu      // a quiet NaN with a payload
#define MAX_BUFS 8
#define MAX_HOST 8

// Case flags
enum {
    F_BIAS = 1 << 0,      // linear, layer_norm, dwconv3x3: with a bias (weights: same dtype as w)
    F_BIAS_F32 = 1 << 1,  // the bias is F32 whatever the weight's dtype
    F_WEIGHT = 1 << 2,    // layer_norm, rms_norm: with a weight
    F_INPLACE = 1 << 3,   // y is the input tensor
    F_MISALIGN = 1 << 4,  // activations start 4 bytes past a 256-byte boundary
    F_ADD_ONE = 1 << 5,   // rms_norm: (1 + w)
    F_NO_B = 1 << 6,      // axpby: b = NULL
    F_B_WEIGHT = 1 << 7,  // add/mul: b is a weight of numel p[2] (else a same-shape activation)
    F_KEY_BIAS = 1 << 8,  // attention: a key bias with masked keys at -10000
    F_SHARP = 1 << 9,     // attention: larger logits
    F_VECTOR = 1 << 10,   // conv2d: the kernel bound as SANA_WEIGHT_VECTOR (else as a matrix)
    F_RESID = 1 << 11,    // channel_rms_norm, batch_norm: with a residual r
    F_INPLACE_R = 1 << 12, // channel_rms_norm, batch_norm: y is the residual r
    F_ACCUM = 1 << 13,    // pixel_shuffle, pixel_unshuffle: accumulate into y (which holds values)
};

typedef struct op_case op_case;

// One backend's side of a case: its tensors (with guards) and the host data of its weights.
typedef struct side {
    sana_backend *be;
    uint64_t rng;
    struct {
        void *base;     // allocation: GUARD + offset + n + GUARD floats
        int64_t n, offset;
        bool output;
        int64_t u8; // > 0: a U8 tensor of that many bytes in the n floats (compared byte by byte)
    } bufs[MAX_BUFS];
    int n_bufs;
    void *host[MAX_HOST];
    int n_host;
    bool failed; // a weight could not be bound (message printed)
} side;

struct op_case {
    const char *op;       // the SANA_OPS slot it covers
    const char *what;     // shapes and options
    void (*run)(side *s, const op_case *c);
    int64_t p[12];        // shape parameters; their meaning is the run function's
    sana_dtype dtype;     // weight dtype
    unsigned flags;
    sana_attn_params attn;
    double max_nmse;      // the limit
    const char *measured; // NMSE measured on a GPU ("pending GPU" until one is run)
};

// ------------------------------------------------------------------------------------------------
// Inputs

static float rnd(side *s) { // xorshift64*, uniform in [-1, 1)
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (float)((s->rng * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
}

static float sentinel(void) {
    uint32_t u = SENTINEL;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "FAIL out of host memory\n");
        exit(1);
    }
    return p;
}

// A tensor on the backend between guards. data: its values, or NULL for an output (all NaN).
static sana_tensor side_tensor(side *s, int ndim, const int64_t *shape, const float *data, bool output,
                               bool misalign) {
    SANA_ASSERT(s->n_bufs < MAX_BUFS);
    sana_tensor t = {.dtype = SANA_DTYPE_F32, .ndim = ndim};
    for (int i = 0; i < SANA_MAX_DIMS; i++) t.shape[i] = i < ndim ? shape[i] : 1;
    const int64_t n = sana_tensor_numel(&t), off = misalign ? 1 : 0, total = 2 * GUARD + off + n;
    float *h = xmalloc((size_t)total * sizeof(float));
    for (int64_t i = 0; i < total; i++) h[i] = sentinel();
    if (data) memcpy(h + GUARD + off, data, (size_t)n * sizeof(float));
    void *base = s->be->i->alloc(s->be, (size_t)total * sizeof(float));
    if (base) {
        sana_tensor all = {.data = base, .dtype = SANA_DTYPE_F32, .ndim = 1, .shape = {total, 1, 1, 1}};
        sana_upload(s->be, &all, h);
    }
    free(h);
    int k = s->n_bufs++;
    s->bufs[k].base = base;
    s->bufs[k].n = n;
    s->bufs[k].offset = off;
    s->bufs[k].output = output;
    t.data = base ? (float *)base + GUARD + off : NULL;
    return t;
}

// An activation of uniform values in [offset - scale, offset + scale).
static sana_tensor side_values(side *s, int ndim, const int64_t *shape, float scale, float offset, bool misalign) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *v = xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) v[i] = offset + scale * rnd(s);
    sana_tensor t = side_tensor(s, ndim, shape, v, false, misalign);
    free(v);
    return t;
}

static sana_tensor side_input(side *s, int ndim, const int64_t *shape, float scale, bool misalign) {
    return side_values(s, ndim, shape, scale, 0.0f, misalign);
}

static sana_tensor side_output(side *s, int ndim, const int64_t *shape, bool misalign) {
    return side_tensor(s, ndim, shape, NULL, true, misalign);
}

// A U8 output (to_rgb8): its bytes in whole floats between the same guards, starting as the
// sentinel's bytes (an unwritten byte then differs from the reference's).
static sana_tensor side_output_u8(side *s, int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    sana_tensor t = side_tensor(s, 1, (int64_t[]){(n + 3) / 4}, NULL, true, false);
    s->bufs[s->n_bufs - 1].u8 = n;
    t.dtype = SANA_DTYPE_U8;
    t.ndim = ndim;
    for (int i = 0; i < SANA_MAX_DIMS; i++) t.shape[i] = i < ndim ? shape[i] : 1;
    return t;
}

// Marks the most recent tensor as an output too (in-place ops).
static void side_mark_output(side *s) { s->bufs[s->n_bufs - 1].output = true; }

// An I32 activation (token ids): the int32 values between the same guards.
static sana_tensor side_ids(side *s, int ndim, const int64_t *shape, const int32_t *ids) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *bits = xmalloc((size_t)n * sizeof(float));
    memcpy(bits, ids, (size_t)n * sizeof(int32_t));
    sana_tensor t = side_tensor(s, ndim, shape, bits, false, false);
    free(bits);
    t.dtype = SANA_DTYPE_I32;
    return t;
}

// A weight: host data of `dtype` (uniform values in [lo, hi)), bound through the backend's
// weight slot as the models bind theirs.
static sana_tensor side_weight(side *s, sana_dtype dtype, sana_weight_use use, int ndim, const int64_t *shape,
                               float lo, float hi) {
    SANA_ASSERT(s->n_host < MAX_HOST);
    sana_tensor host = {.dtype = dtype, .ndim = ndim};
    for (int i = 0; i < SANA_MAX_DIMS; i++) host.shape[i] = i < ndim ? shape[i] : 1;
    const int64_t n = sana_tensor_numel(&host);
    void *data = xmalloc(sana_tensor_nbytes(&host));
    for (int64_t i = 0; i < n; i++) {
        float v = lo + (hi - lo) * 0.5f * (rnd(s) + 1.0f);
        if (dtype == SANA_DTYPE_BF16)
            ((uint16_t *)data)[i] = sana_f32_to_bf16(v);
        else if (dtype == SANA_DTYPE_F16)
            ((uint16_t *)data)[i] = sana_f32_to_f16(v);
        else
            ((float *)data)[i] = v;
    }
    s->host[s->n_host++] = data;
    host.data = data;
    sana_tensor out = {0};
    sana_error err = {0};
    if (s->be->i->weight(s->be, &host, use, &out, &err)) {
        printf("     %s: weight: %s\n", s->be->i->name, err.message);
        s->failed = true;
    }
    return out;
}

#define SHAPE(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

// ------------------------------------------------------------------------------------------------
// The cases, one run function per op family

static void run_linear(side *s, const op_case *c) { // p: M, K, N
    const int64_t M = c->p[0], K = c->p[1], N = c->p[2];
    const bool mis = c->flags & F_MISALIGN;
    sana_tensor x = side_input(s, SHAPE(M, K), 1.0f, mis);
    sana_tensor w = side_weight(s, c->dtype, SANA_WEIGHT_MATRIX, SHAPE(N, K), -0.1f, 0.1f);
    sana_tensor b = {0};
    if (c->flags & (F_BIAS | F_BIAS_F32))
        b = side_weight(s, c->flags & F_BIAS_F32 ? SANA_DTYPE_F32 : c->dtype, SANA_WEIGHT_VECTOR, SHAPE(N), -1, 1);
    sana_tensor y = side_output(s, SHAPE(M, N), mis);
    if (!s->failed) sana_op_linear(s->be, &y, &x, &w, b.ndim ? &b : NULL);
}

static void run_layer_norm(side *s, const op_case *c) { // p: R, D
    const int64_t R = c->p[0], D = c->p[1];
    sana_tensor x = side_values(s, SHAPE(R, D), 2.0f, 1.5f, false); // an offset, so the mean matters
    sana_tensor w = {0}, b = {0};
    if (c->flags & F_WEIGHT) w = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(D), 0.5f, 1.5f);
    if (c->flags & F_BIAS) b = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(D), -1, 1);
    sana_tensor y = x;
    if (c->flags & F_INPLACE)
        side_mark_output(s);
    else
        y = side_output(s, SHAPE(R, D), false);
    if (!s->failed) sana_op_layer_norm(s->be, &y, &x, w.ndim ? &w : NULL, b.ndim ? &b : NULL, 1e-6f);
}

static void run_rms_norm(side *s, const op_case *c) { // p: R, D
    const int64_t R = c->p[0], D = c->p[1];
    sana_tensor x = side_input(s, SHAPE(R, D), 3.0f, false);
    sana_tensor w = {0};
    if (c->flags & F_WEIGHT) w = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(D), -1, 1);
    sana_tensor y = x;
    if (c->flags & F_INPLACE)
        side_mark_output(s);
    else
        y = side_output(s, SHAPE(R, D), false);
    if (!s->failed) sana_op_rms_norm(s->be, &y, &x, w.ndim ? &w : NULL, 1e-5f, c->flags & F_ADD_ONE);
}

static void run_layer_norm_modulate(side *s, const op_case *c) { // p: B, N, D, rows, shift, scale
    const int64_t B = c->p[0], N = c->p[1], D = c->p[2], R = c->p[3];
    sana_tensor x = side_input(s, SHAPE(B, N, D), 2.0f, false);
    sana_tensor mod = side_input(s, SHAPE(B, R, D), 0.5f, false);
    sana_tensor y = side_output(s, SHAPE(B, N, D), false);
    sana_op_layer_norm_modulate(s->be, &y, &x, &mod, (int)c->p[4], (int)c->p[5], 1e-6f);
}

static void run_add_gated(side *s, const op_case *c) { // p: B, N, D, rows, gate
    const int64_t B = c->p[0], N = c->p[1], D = c->p[2], R = c->p[3];
    sana_tensor x = side_input(s, SHAPE(B, N, D), 1.0f, false);
    side_mark_output(s);
    sana_tensor y = side_input(s, SHAPE(B, N, D), 1.0f, false);
    sana_tensor mod = side_input(s, SHAPE(B, R, D), 1.0f, false);
    sana_op_add_gated(s->be, &x, &y, &mod, (int)c->p[4]);
}

// p: a's shape (p[0], p[1], p[2]); with F_B_WEIGHT b is a weight of shape (p[3], p[4]), else
// an activation of a's shape.
static void run_binary(side *s, const op_case *c) {
    const int64_t *p = c->p;
    sana_tensor a = side_input(s, SHAPE(p[0], p[1], p[2]), 1.0f, false);
    sana_tensor y = a;
    if (c->flags & F_INPLACE) side_mark_output(s);
    sana_tensor b = c->flags & F_B_WEIGHT ? side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(p[3], p[4]), -1, 1)
                                          : side_input(s, SHAPE(p[0], p[1], p[2]), 1.0f, false);
    if (!(c->flags & F_INPLACE)) y = side_output(s, SHAPE(p[0], p[1], p[2]), false);
    if (s->failed) return;
    if (strcmp(c->op, "add") == 0)
        sana_op_add(s->be, &y, &a, &b);
    else
        sana_op_mul(s->be, &y, &a, &b);
}

static void run_axpby(side *s, const op_case *c) { // p: n
    const int64_t n = c->p[0];
    sana_tensor a = side_input(s, SHAPE(n), 1.0f, false);
    sana_tensor y = a;
    if (c->flags & F_INPLACE) side_mark_output(s);
    sana_tensor b = {0};
    if (!(c->flags & F_NO_B)) b = side_input(s, SHAPE(n), 1.0f, false);
    if (!(c->flags & F_INPLACE)) y = side_output(s, SHAPE(n), false);
    sana_op_axpby(s->be, &y, 0.7f, &a, -1.3f, b.ndim ? &b : NULL);
}

static void run_act(side *s, const op_case *c) { // p: M, N, act
    sana_tensor x = side_input(s, SHAPE(c->p[0], c->p[1]), 6.0f, false);
    sana_tensor y = x;
    if (c->flags & F_INPLACE)
        side_mark_output(s);
    else
        y = side_output(s, SHAPE(c->p[0], c->p[1]), false);
    sana_op_act(s->be, &y, &x, (sana_act)c->p[2]);
}

static void run_glu(side *s, const op_case *c) { // p: M, F, act
    sana_tensor x = side_input(s, SHAPE(c->p[0], 2 * c->p[1]), 4.0f, false);
    sana_tensor y = side_output(s, SHAPE(c->p[0], c->p[1]), false);
    sana_op_glu(s->be, &y, &x, (sana_act)c->p[2]);
}

static void run_dwconv3x3(side *s, const op_case *c) { // p: B, H, W, C
    const int64_t B = c->p[0], H = c->p[1], W = c->p[2], C = c->p[3];
    sana_tensor x = side_input(s, SHAPE(B, H * W, C), 1.0f, false);
    sana_tensor w = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C, 1, 3, 3), -0.5f, 0.5f);
    sana_tensor b = {0};
    if (c->flags & (F_BIAS | F_BIAS_F32))
        b = side_weight(s, c->flags & F_BIAS_F32 ? SANA_DTYPE_F32 : c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C), -1, 1);
    sana_tensor y = side_output(s, SHAPE(B, H * W, C), false);
    if (!s->failed) sana_op_dwconv3x3(s->be, &y, &x, &w, b.ndim ? &b : NULL, (int)H, (int)W);
}

static void run_dwconv3x3_glu(side *s, const op_case *c) { // p: B, H, W, F, act_in, act_gate
    const int64_t B = c->p[0], H = c->p[1], W = c->p[2], F = c->p[3];
    sana_tensor x = side_input(s, SHAPE(B, H * W, 2 * F), 2.0f, false);
    sana_tensor w = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(2 * F, 1, 3, 3), -0.5f, 0.5f);
    sana_tensor b = {0};
    if (c->flags & (F_BIAS | F_BIAS_F32))
        b = side_weight(s, c->flags & F_BIAS_F32 ? SANA_DTYPE_F32 : c->dtype, SANA_WEIGHT_VECTOR, SHAPE(2 * F), -1, 1);
    sana_tensor y = side_output(s, SHAPE(B, H * W, F), false);
    if (!s->failed)
        sana_op_dwconv3x3_glu(s->be, &y, &x, &w, b.ndim ? &b : NULL, (int)H, (int)W, (sana_act)c->p[4],
                              (sana_act)c->p[5]);
}

static void run_transpose(side *s, const op_case *c) { // p: B, R, C
    sana_tensor x = side_input(s, SHAPE(c->p[0], c->p[1], c->p[2]), 1.0f, false);
    sana_tensor y = side_output(s, SHAPE(c->p[0], c->p[2], c->p[1]), false);
    sana_op_transpose(s->be, &y, &x);
}

static void run_linear_attention(side *s, const op_case *c) { // p: B, N, heads, d, eps exponent
    const int64_t B = c->p[0], N = c->p[1], heads = c->p[2], D = heads * c->p[3];
    sana_tensor q = side_input(s, SHAPE(B, N, D), 1.0f, false);
    sana_tensor k = side_input(s, SHAPE(B, N, D), 1.0f, false);
    sana_tensor v = side_input(s, SHAPE(B, N, D), 2.0f, false);
    sana_tensor o = side_output(s, SHAPE(B, N, D), false);
    sana_op_linear_attention(s->be, &o, &q, &k, &v, (int)heads, powf(10.0f, -(float)c->p[4]));
}

static void run_attention(side *s, const op_case *c) { // p: B, Nq, Nk; c->attn
    const int64_t B = c->p[0], Nq = c->p[1], Nk = c->p[2];
    const sana_attn_params *a = &c->attn;
    const float scale = c->flags & F_SHARP ? 3.0f : 1.0f;
    sana_tensor q = side_input(s, SHAPE(B, Nq, (int64_t)a->n_heads * a->head_dim), scale, false);
    sana_tensor k = side_input(s, SHAPE(B, Nk, (int64_t)a->n_kv_heads * a->head_dim), scale, false);
    sana_tensor v = side_input(s, SHAPE(B, Nk, (int64_t)a->n_kv_heads * a->head_dim), 1.0f, false);
    sana_tensor kb = {0};
    if (c->flags & F_KEY_BIAS) { // the DiT's caption mask: kept keys 0, padding -10000
        float *h = xmalloc((size_t)(B * Nk) * sizeof(float));
        for (int64_t i = 0; i < B * Nk; i++) h[i] = rnd(s) < 0.3f ? 0.0f : -10000.0f;
        for (int64_t bi = 0; bi < B; bi++) h[bi * Nk] = 0.0f; // BOS is always kept
        kb = side_tensor(s, SHAPE(B, Nk), h, false, false);
        free(h);
    }
    sana_tensor o = side_output(s, SHAPE(B, Nq, (int64_t)a->n_heads * a->head_dim), false);
    sana_op_attention(s->be, &o, &q, &k, &v, kb.ndim ? &kb : NULL, a);
}

static void run_timestep_embedding(side *s, const op_case *c) { // p: B, dim
    const int64_t B = c->p[0];
    float *t = xmalloc((size_t)B * sizeof(float));
    // Sprint's flow times (slightly above 1 at the first step) and SANA's 0..1000 timesteps.
    static const float fixed[] = {1.0000037f, 0.0f, 999.0f, 0.78270799f, 500.5f};
    for (int64_t i = 0; i < B; i++) t[i] = i < (int64_t)SANA_ARRAY_LEN(fixed) ? fixed[i] : 1000.0f * 0.5f * (rnd(s) + 1);
    sana_tensor tt = side_tensor(s, SHAPE(B), t, false, false);
    free(t);
    sana_tensor y = side_output(s, SHAPE(B, c->p[1]), false);
    sana_op_timestep_embedding(s->be, &y, &tt, 10000.0f);
}

// p: B, N, V, D. ids cover the first and the last row; scale sqrt(D) as Gemma's normalizer.
static void run_embedding(side *s, const op_case *c) {
    const int64_t B = c->p[0], N = c->p[1], V = c->p[2], D = c->p[3];
    sana_tensor table = side_weight(s, c->dtype, SANA_WEIGHT_TABLE, SHAPE(V, D), -1, 1);
    int32_t *ids = xmalloc((size_t)(B * N) * sizeof *ids);
    for (int64_t i = 0; i < B * N; i++) {
        int64_t v = (int64_t)((rnd(s) + 1.0f) * 0.5f * (float)V);
        ids[i] = (int32_t)(i == 0 ? 0 : i == B * N - 1 ? V - 1 : v < 0 ? 0 : v >= V ? V - 1 : v);
    }
    sana_tensor t = side_ids(s, SHAPE(B, N), ids);
    free(ids);
    sana_tensor y = side_output(s, SHAPE(B, N, D), false);
    if (!s->failed) sana_op_embedding(s->be, &y, &t, &table, sqrtf((float)D));
}

static void run_rope(side *s, const op_case *c) { // p: B, N, heads, dh, pos0, theta
    const int64_t B = c->p[0], N = c->p[1], C = c->p[2] * c->p[3];
    sana_tensor x = side_input(s, SHAPE(B, N, C), 2.0f, false);
    sana_tensor y = x;
    if (c->flags & F_INPLACE)
        side_mark_output(s);
    else
        y = side_output(s, SHAPE(B, N, C), false);
    sana_op_rope(s->be, &y, &x, (int)c->p[3], (int)c->p[4], (float)c->p[5]);
}

// p: B, Ci, H, W, Co, kh, kw, stride, padding, groups, upsample. The kernel is bound as a matrix
// (bf16 on CUDA: its GEMM path, or a depthwise kernel) or, with F_VECTOR, as a vector (fp32 on
// CUDA: the direct path). In place: y is x.
static void run_conv2d(side *s, const op_case *c) {
    const int64_t *p = c->p, B = p[0], Ci = p[1], H = p[2], W = p[3], Co = p[4], kh = p[5], kw = p[6];
    const int stride = (int)p[7], pad = (int)p[8], groups = (int)p[9], up = (int)p[10];
    const int64_t Ho = (up * H + 2 * pad - kh) / stride + 1, Wo = (up * W + 2 * pad - kw) / stride + 1;
    const bool mis = c->flags & F_MISALIGN;
    sana_tensor x = side_input(s, SHAPE(B, Ci, H, W), 1.0f, mis);
    const float ws = 1.0f / sqrtf((float)(Ci / groups * kh * kw)); // outputs of order 1
    sana_tensor w = side_weight(s, c->dtype, c->flags & F_VECTOR ? SANA_WEIGHT_VECTOR : SANA_WEIGHT_MATRIX,
                                SHAPE(Co, Ci / groups, kh, kw), -ws, ws);
    sana_tensor b = {0};
    if (c->flags & (F_BIAS | F_BIAS_F32))
        b = side_weight(s, c->flags & F_BIAS_F32 ? SANA_DTYPE_F32 : c->dtype, SANA_WEIGHT_VECTOR, SHAPE(Co), -1, 1);
    sana_tensor y = x;
    if (c->flags & F_INPLACE)
        side_mark_output(s);
    else
        y = side_output(s, SHAPE(B, Co, Ho, Wo), mis);
    if (!s->failed) sana_op_conv2d(s->be, &y, &x, &w, b.ndim ? &b : NULL, stride, pad, groups, up);
}

// channel_rms_norm and batch_norm; p: B, C, H, W. With F_RESID a residual r; F_INPLACE: y is x;
// F_INPLACE_R: y is r.
static void run_channel_norm(side *s, const op_case *c) {
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3];
    const bool batch = strcmp(c->op, "batch_norm") == 0;
    sana_tensor x = side_values(s, SHAPE(B, C, H, W), 2.0f, 0.5f, false);
    if (c->flags & F_INPLACE) side_mark_output(s);
    sana_tensor r = {0};
    if (c->flags & (F_RESID | F_INPLACE_R)) {
        r = side_input(s, SHAPE(B, C, H, W), 1.0f, false);
        if (c->flags & F_INPLACE_R) side_mark_output(s);
    }
    sana_tensor mean = {0}, var = {0};
    if (batch) {
        mean = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C), -1, 1);
        var = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C), 0.5f, 2);
    }
    sana_tensor w = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C), 0.5f, 1.5f);
    sana_tensor b = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C), -1, 1);
    sana_tensor y = c->flags & F_INPLACE ? x : c->flags & F_INPLACE_R ? r : side_output(s, SHAPE(B, C, H, W), false);
    if (s->failed) return;
    const sana_tensor *rp = r.ndim ? &r : NULL;
    if (batch)
        sana_op_batch_norm(s->be, &y, &x, &mean, &var, &w, &b, rp, 1e-5f);
    else
        sana_op_channel_rms_norm(s->be, &y, &x, &w, &b, rp, 1e-5f);
}

// pixel_shuffle (p: B, C, H, W, r, repeats) and pixel_unshuffle (p: B, C, H, W, r, group);
// with F_ACCUM, y holds values the op adds to.
static void run_shuffle(side *s, const op_case *c) {
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], r = c->p[4], k = c->p[5];
    const bool un = strcmp(c->op, "pixel_unshuffle") == 0;
    sana_tensor x = side_input(s, SHAPE(B, C, H, W), 1.0f, false);
    const int64_t Co = un ? C * r * r / k : C * k / (r * r), Ho = un ? H / r : H * r, Wo = un ? W / r : W * r;
    sana_tensor y;
    if (c->flags & F_ACCUM) {
        y = side_input(s, SHAPE(B, Co, Ho, Wo), 1.0f, false);
        side_mark_output(s);
    } else {
        y = side_output(s, SHAPE(B, Co, Ho, Wo), false);
    }
    if (un)
        sana_op_pixel_unshuffle(s->be, &y, &x, (int)r, (int)k, c->flags & F_ACCUM);
    else
        sana_op_pixel_shuffle(s->be, &y, &x, (int)r, (int)k, c->flags & F_ACCUM);
}

static void run_linear_attention_packed(side *s, const op_case *c) { // p: B, G, d, H, W, eps exponent
    const int64_t B = c->p[0], G = c->p[1], d = c->p[2], H = c->p[3], W = c->p[4];
    sana_tensor qkv = side_input(s, SHAPE(B, G * 3 * d, H, W), 1.0f, false);
    sana_tensor o = side_output(s, SHAPE(B, G * d, H, W), false);
    sana_op_linear_attention_packed(s->be, &o, &qkv, (int)d, powf(10.0f, -(float)c->p[5]));
}

// p: B, C, La, Lb, L, axis, extent: a and b have La and Lb along the axis, L along the other one.
static void run_blend(side *s, const op_case *c) {
    const int64_t B = c->p[0], C = c->p[1], La = c->p[2], Lb = c->p[3], L = c->p[4];
    const int axis = (int)c->p[5];
    sana_tensor a = axis == 2 ? side_input(s, SHAPE(B, C, La, L), 1.0f, false) : side_input(s, SHAPE(B, C, L, La), 1.0f, false);
    sana_tensor b = axis == 2 ? side_input(s, SHAPE(B, C, Lb, L), 1.0f, false) : side_input(s, SHAPE(B, C, L, Lb), 1.0f, false);
    side_mark_output(s);
    sana_op_blend(s->be, &b, &a, axis, (int)c->p[6]);
}

// p: B, C, Hd, Wd, Hs, Ws, dy, dx, sy, sx, h, w; dst holds values outside the window.
static void run_copy2d(side *s, const op_case *c) {
    const int64_t *p = c->p;
    sana_tensor src = side_input(s, SHAPE(p[0], p[1], p[4], p[5]), 1.0f, false);
    sana_tensor dst = side_input(s, SHAPE(p[0], p[1], p[2], p[3]), 1.0f, false);
    side_mark_output(s);
    sana_op_copy2d(s->be, &dst, (int)p[6], (int)p[7], &src, (int)p[8], (int)p[9], (int)p[10], (int)p[11]);
}

// p: B, H, W; the image has values beyond [-1, 1], exact ties and a NaN.
static void run_to_rgb8(side *s, const op_case *c) {
    const int64_t B = c->p[0], H = c->p[1], W = c->p[2], n = B * 3 * H * W;
    float *v = xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) v[i] = 1.3f * rnd(s);
    for (int64_t i = 0; i < n; i += 7) v[i] = (float)(2 * (i % 256) + 1) / 255.0f - 1.0f; // about k + 0.5
    v[n / 2] = NAN;
    sana_tensor x = side_tensor(s, SHAPE(B, 3, H, W), v, false, false);
    free(v);
    sana_tensor y = side_output_u8(s, SHAPE(B, H, W, 3));
    sana_op_to_rgb8(s->be, &y, &x);
}

// p: B, C, H, W, act; F_INPLACE: y is x.
static void run_channel_bias_act(side *s, const op_case *c) {
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3];
    sana_tensor x = side_input(s, SHAPE(B, C, H, W), 3.0f, false);
    if (c->flags & F_INPLACE) side_mark_output(s);
    sana_tensor b = side_weight(s, c->dtype, SANA_WEIGHT_VECTOR, SHAPE(C), -1, 1);
    sana_tensor y = c->flags & F_INPLACE ? x : side_output(s, SHAPE(B, C, H, W), false);
    if (!s->failed) sana_op_channel_bias_act(s->be, &y, &x, &b, (sana_act)c->p[4]);
}

#define BF16 SANA_DTYPE_BF16
#define F16 SANA_DTYPE_F16
#define F32 SANA_DTYPE_F32
#define PENDING "pending GPU"
// The NMSE on the CPU emulation of the CUDA module (dev/cuda-emu), until a GPU is run: a
// prediction where bf16 rounding dominates (the emulation rounds GEMM operands as the GPU does);
// for fp32 ops only a check of the arithmetic (glibc's math, no FMA contraction there).
#define EMU(nmse) "pending GPU; emulated " nmse
#define FP32_LIMIT 1e-7 // the device computes in fp32
#define BF16_LIMIT 1e-3 // bf16 operands (the GEMMs)

static const op_case cases[] = {
    // linear: y = x w^T + b through the device's GEMM (bf16 operands on CUDA)
    {"linear", "M=77 K=2304 N=300 w=BF16 bias=BF16", run_linear, {77, 2304, 300}, BF16, F_BIAS, {0}, BF16_LIMIT, PENDING},
    {"linear", "M=1 K=256 N=1152 w=F32 bias=F32 (timestep MLP)", run_linear, {1, 256, 1152}, F32, F_BIAS, {0}, BF16_LIMIT, PENDING},
    {"linear", "M=300 K=77 N=33 w=F16 (odd K: rows not 16-byte aligned)", run_linear, {300, 77, 33}, F16, 0, {0}, BF16_LIMIT, PENDING},
    {"linear", "M=1024 K=32 N=1152 w=BF16 bias=F32 (patch embed)", run_linear, {1024, 32, 1152}, BF16, F_BIAS_F32, {0}, BF16_LIMIT, PENDING},
    {"linear", "M=5 K=1 N=7 w=F32 bias=F32", run_linear, {5, 1, 7}, F32, F_BIAS, {0}, BF16_LIMIT, PENDING},
    {"linear", "M=256 K=2880 N=1152 w=BF16 (conv_point)", run_linear, {256, 2880, 1152}, BF16, 0, {0}, BF16_LIMIT, PENDING},
    {"linear", "M=77 K=300 N=2304 w=BF16 bias=BF16, x and y 4 bytes off alignment", run_linear, {77, 300, 2304}, BF16, F_BIAS | F_MISALIGN, {0}, BF16_LIMIT, PENDING},
    // norms
    {"layer_norm", "R=300 D=2304 w=F32 b=F32", run_layer_norm, {300, 2304}, F32, F_WEIGHT | F_BIAS, {0}, FP32_LIMIT, PENDING},
    {"layer_norm", "R=77 D=1152 w=BF16 b=BF16", run_layer_norm, {77, 1152}, BF16, F_WEIGHT | F_BIAS, {0}, FP32_LIMIT, PENDING},
    {"layer_norm", "R=7 D=1", run_layer_norm, {7, 1}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"layer_norm", "R=1 D=77 w=F16 in place", run_layer_norm, {1, 77}, F16, F_WEIGHT | F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"rms_norm", "R=300 D=2304 (1+w) w=BF16 (Gemma)", run_rms_norm, {300, 2304}, BF16, F_WEIGHT | F_ADD_ONE, {0}, FP32_LIMIT, PENDING},
    {"rms_norm", "R=77 D=1152 w=F32 in place (qk norm)", run_rms_norm, {77, 1152}, F32, F_WEIGHT | F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"rms_norm", "R=5 D=33 w=F16", run_rms_norm, {5, 33}, F16, F_WEIGHT, {0}, FP32_LIMIT, PENDING},
    {"rms_norm", "R=3 D=1 no weight", run_rms_norm, {3, 1}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"layer_norm_modulate", "x=(2,77,300) mod=(2,6,300) rows 3,4", run_layer_norm_modulate, {2, 77, 300, 6, 3, 4}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"layer_norm_modulate", "x=(1,1,1152) mod=(1,2,1152) rows 0,1", run_layer_norm_modulate, {1, 1, 1152, 2, 0, 1}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"layer_norm_modulate", "x=(1,1024,33) mod=(1,6,33) rows 0,1", run_layer_norm_modulate, {1, 1024, 33, 6, 0, 1}, F32, 0, {0}, FP32_LIMIT, PENDING},
    // elementwise
    {"add_gated", "x=(2,77,300) mod=(2,6,300) row 5", run_add_gated, {2, 77, 300, 6, 5}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"add_gated", "x=(1,1,1) mod=(1,6,1) row 2", run_add_gated, {1, 1, 1, 6, 2}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"add", "(1,77,300) + bias (300) BF16", run_binary, {1, 77, 300, 1, 300}, BF16, F_B_WEIGHT, {0}, FP32_LIMIT, PENDING},
    {"add", "(2,6,1152) + table (6,1152) F32 (modulation)", run_binary, {2, 6, 1152, 6, 1152}, F32, F_B_WEIGHT, {0}, FP32_LIMIT, PENDING},
    {"add", "(3,77,33) + same shape, in place", run_binary, {3, 77, 33}, F32, F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"add", "(1,1,1) + (1) F16", run_binary, {1, 1, 1, 1, 1}, F16, F_B_WEIGHT, {0}, FP32_LIMIT, PENDING},
    {"mul", "(1,300,33) * (33) F16", run_binary, {1, 300, 33, 1, 33}, F16, F_B_WEIGHT, {0}, FP32_LIMIT, PENDING},
    {"mul", "(2,77,300) * same shape", run_binary, {2, 77, 300}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"axpby", "n=23101, 0.7 a - 1.3 b", run_axpby, {77 * 300 + 1}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"axpby", "n=2304, 0.7 a, in place", run_axpby, {2304}, F32, F_NO_B | F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"axpby", "n=1, in place with b", run_axpby, {1}, F32, F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"act", "silu (77,300)", run_act, {77, 300, SANA_ACT_SILU}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"act", "gelu_tanh (7,2304) in place", run_act, {7, 2304, SANA_ACT_GELU_TANH}, F32, F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"act", "relu (5,33)", run_act, {5, 33, SANA_ACT_RELU}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"act", "silu (1,1)", run_act, {1, 1, SANA_ACT_SILU}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"glu", "silu M=77 F=300", run_glu, {77, 300, SANA_ACT_SILU}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"glu", "gelu_tanh M=1 F=2304", run_glu, {1, 2304, SANA_ACT_GELU_TANH}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"glu", "relu M=5 F=1", run_glu, {5, 1, SANA_ACT_RELU}, F32, 0, {0}, FP32_LIMIT, PENDING},
    // layout and convolution
    {"dwconv3x3", "B=2 7x11 C=77 w=BF16 bias=F32", run_dwconv3x3, {2, 7, 11, 77}, BF16, F_BIAS_F32, {0}, FP32_LIMIT, PENDING},
    {"dwconv3x3", "B=1 1x1 C=33 w=F32 no bias", run_dwconv3x3, {1, 1, 1, 33}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"dwconv3x3", "B=1 32x32 C=300 w=F16 bias=F16", run_dwconv3x3, {1, 32, 32, 300}, F16, F_BIAS, {0}, FP32_LIMIT, PENDING},
    {"dwconv3x3", "B=1 3x1 C=1 w=F32 bias=F32", run_dwconv3x3, {1, 3, 1, 1}, F32, F_BIAS, {0}, FP32_LIMIT, PENDING},
    {"dwconv3x3_glu", "B=2 7x11 F=77 silu/silu w=BF16 bias=F32", run_dwconv3x3_glu, {2, 7, 11, 77, SANA_ACT_SILU, SANA_ACT_SILU}, BF16, F_BIAS_F32, {0}, FP32_LIMIT, PENDING},
    {"dwconv3x3_glu", "B=1 32x32 F=150 silu/silu w=F32 bias=F32 (Mix-FFN)", run_dwconv3x3_glu, {1, 32, 32, 150, SANA_ACT_SILU, SANA_ACT_SILU}, F32, F_BIAS, {0}, FP32_LIMIT, PENDING},
    {"dwconv3x3_glu", "B=1 1x3 F=1 relu/gelu_tanh w=F16 no bias", run_dwconv3x3_glu, {1, 1, 3, 1, SANA_ACT_RELU, SANA_ACT_GELU_TANH}, F16, 0, {0}, FP32_LIMIT, PENDING},
    {"transpose", "(2,77,300)", run_transpose, {2, 77, 300}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"transpose", "(1,1,33)", run_transpose, {1, 1, 33}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"transpose", "(1,1024,32) (patch embed)", run_transpose, {1, 1024, 32}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"transpose", "(3,33,1)", run_transpose, {3, 33, 1}, F32, 0, {0}, FP32_LIMIT, PENDING},
    // attention
    {"linear_attention", "B=2 N=77 heads=3 d=32 eps=1e-15", run_linear_attention, {2, 77, 3, 32, 15}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"linear_attention", "B=1 N=300 heads=2 d=33 eps=1e-6", run_linear_attention, {1, 300, 2, 33, 6}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"linear_attention", "B=1 N=1024 heads=36 d=32 (0.6B at 1024px)", run_linear_attention, {1, 1024, 36, 32, 15}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"linear_attention", "B=1 N=1 heads=1 d=1", run_linear_attention, {1, 1, 1, 1, 15}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"linear_attention", "B=1 N=333 heads=2 d=64 (S in three passes of registers)", run_linear_attention, {1, 333, 2, 64, 15}, F32, 0, {0}, FP32_LIMIT, EMU("2.5e-14")},
    {"attention", "B=2 Nq=77 Nk=300 heads=4 dh=72 key bias (DiT cross)", run_attention, {2, 77, 300}, F32, F_KEY_BIAS,
     {.n_heads = 4, .n_kv_heads = 4, .head_dim = 72, .scale = 0.11785113f}, FP32_LIMIT, PENDING},
    {"attention", "B=1 Nq=Nk=33 heads=8/4 dh=256 causal softcap=50 (Gemma)", run_attention, {1, 33, 33}, F32, F_SHARP,
     {.n_heads = 8, .n_kv_heads = 4, .head_dim = 256, .scale = 0.0625f, .softcap = 50.0f, .causal = true}, FP32_LIMIT, PENDING},
    {"attention", "B=1 Nq=5 Nk=40 heads=2/1 dh=64 causal window=16 q_offset=35", run_attention, {1, 5, 40}, F32, F_SHARP,
     {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .scale = 0.125f, .causal = true, .window = 16, .q_offset = 35}, FP32_LIMIT, PENDING},
    {"attention", "B=1 Nq=4 Nk=9 dh=8 causal q_offset=-2 (rows with no visible key)", run_attention, {1, 4, 9}, F32, 0,
     {.n_heads = 1, .n_kv_heads = 1, .head_dim = 8, .scale = 0.35355339f, .causal = true, .q_offset = -2}, FP32_LIMIT, PENDING},
    {"attention", "B=1 Nq=2 Nk=13000 heads=1 dh=16 (logits beyond 48 KiB of shared memory)", run_attention, {1, 2, 13000}, F32, 0,
     {.n_heads = 1, .n_kv_heads = 1, .head_dim = 16, .scale = 0.25f}, FP32_LIMIT, PENDING},
    {"timestep_embedding", "B=5 dim=256", run_timestep_embedding, {5, 256}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"timestep_embedding", "B=1 dim=2", run_timestep_embedding, {1, 2}, F32, 0, {0}, FP32_LIMIT, PENDING},
    {"timestep_embedding", "B=3 dim=320", run_timestep_embedding, {3, 320}, F32, 0, {0}, FP32_LIMIT, PENDING},
    // Gemma-2: embedding rows from a host-resident table (exact on CUDA: gathered on the host)
    {"embedding", "ids (2,7) table (300,77) BF16", run_embedding, {2, 7, 300, 77}, BF16, 0, {0}, FP32_LIMIT, EMU("0")},
    {"embedding", "ids (1,33) table (1000,2304) F32", run_embedding, {1, 33, 1000, 2304}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"embedding", "ids (1,1) table (5,3) F16", run_embedding, {1, 1, 5, 3}, F16, 0, {0}, FP32_LIMIT, EMU("0")},
    {"rope", "(2,9,3x8) pos0=0", run_rope, {2, 9, 3, 8, 0, 10000}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"rope", "(1,33,8x256) pos0=5 in place (Gemma q)", run_rope, {1, 33, 8, 256, 5, 10000}, F32, F_INPLACE, {0}, FP32_LIMIT, EMU("0")},
    {"rope", "(2,5,4x256) pos0=300 in place (cached k)", run_rope, {2, 5, 4, 256, 300, 10000}, F32, F_INPLACE, {0}, FP32_LIMIT, EMU("0")},
    {"rope", "(1,1,1x2) pos0=4095 theta=1e6", run_rope, {1, 1, 1, 2, 4095, 1000000}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    // DC-AE: conv2d. p: B, Ci, H, W, Co, kh, kw, stride, padding, groups, upsample. Matrix-bound
    // kernels are bf16 on CUDA (GEMM path, bf16 operands), vector-bound ones fp32 (direct path).
    {"conv2d", "B=2 5->7 9x13 3x3 p1 w=BF16 b=BF16", run_conv2d, {2, 5, 9, 13, 7, 3, 3, 1, 1, 1, 1}, BF16, F_BIAS, {0}, BF16_LIMIT, EMU("5.0e-07")},
    {"conv2d", "6->10 11x14 3x3 s2 p1 w=F32 b=F32 (down block)", run_conv2d, {1, 6, 11, 14, 10, 3, 3, 2, 1, 1, 1}, F32, F_BIAS, {0}, BF16_LIMIT, EMU("8.5e-07")},
    {"conv2d", "8->4 5x7 nearest x2 + 3x3 p1 w=F16 b=F16 (up block)", run_conv2d, {1, 8, 5, 7, 4, 3, 3, 1, 1, 1, 2}, F16, F_BIAS, {0}, BF16_LIMIT, EMU("2.0e-06")},
    {"conv2d", "B=2 24->20 7x9 nearest x2 + 3x3 p1 w=BF16 b=BF16 (folded up path)", run_conv2d, {2, 24, 7, 9, 20, 3, 3, 1, 1, 1, 2}, BF16, F_BIAS, {0}, BF16_LIMIT, EMU("1.4e-06")},
    {"conv2d", "5->3 1x1 nearest x2 + 3x3 p1 w=F32 b=F32, misaligned (folded up path)", run_conv2d, {1, 5, 1, 1, 3, 3, 3, 1, 1, 1, 2}, F32, F_BIAS | F_MISALIGN, {0}, BF16_LIMIT, EMU("4.6e-06")},
    {"conv2d", "33->17 6x5 1x1 w=BF16 (per-pixel linear)", run_conv2d, {1, 33, 6, 5, 17, 1, 1, 1, 0, 1, 1}, BF16, 0, {0}, BF16_LIMIT, EMU("2.1e-06")},
    {"conv2d", "12 7x9 1x1 groups=4 w=BF16 in place (proj_out)", run_conv2d, {1, 12, 7, 9, 12, 1, 1, 1, 0, 4, 1}, BF16, F_INPLACE, {0}, BF16_LIMIT, EMU("2.3e-06")},
    {"conv2d", "B=2 9 10x12 3x3 p1 w=BF16 b=F32 in place (ResBlock conv2)", run_conv2d, {2, 9, 10, 12, 9, 3, 3, 1, 1, 1, 1}, BF16, F_BIAS_F32 | F_INPLACE, {0}, BF16_LIMIT, EMU("4.4e-07")},
    {"conv2d", "64 16x16 3x3 p1 w=BF16 b=BF16 in place", run_conv2d, {1, 64, 16, 16, 64, 3, 3, 1, 1, 1, 1}, BF16, F_BIAS | F_INPLACE, {0}, BF16_LIMIT, EMU("4.4e-07")},
    {"conv2d", "5->3 7x9 3x3 p1 w=BF16, x and y 4 bytes off alignment", run_conv2d, {1, 5, 7, 9, 3, 3, 3, 1, 1, 1, 1}, BF16, F_MISALIGN, {0}, BF16_LIMIT, EMU("2.2e-06")},
    {"conv2d", "4->6 5x6 3x1 p1 groups=2 w=BF16 b=BF16", run_conv2d, {1, 4, 5, 6, 6, 3, 1, 1, 1, 2, 1}, BF16, F_BIAS, {0}, BF16_LIMIT, EMU("2.3e-07")},
    {"conv2d", "6->4 4x5 nearest x3 + 5x5 s2 p1 groups=2 w=BF16", run_conv2d, {1, 6, 4, 5, 4, 5, 5, 2, 1, 2, 3}, BF16, 0, {0}, BF16_LIMIT, EMU("2.8e-06")},
    {"conv2d", "3->8 1x1 3x3 p1 w=BF16 b=BF16", run_conv2d, {1, 3, 1, 1, 8, 3, 3, 1, 1, 1, 1}, BF16, F_BIAS, {0}, BF16_LIMIT, EMU("6.0e-08")},
    {"conv2d", "12 7x9 5x5 p2 depthwise w=F32 vector (proj_in)", run_conv2d, {1, 12, 7, 9, 12, 5, 5, 1, 2, 12, 1}, F32, F_VECTOR, {0}, FP32_LIMIT, EMU("0")},
    {"conv2d", "40 9x11 3x3 p1 depthwise w=BF16 vector b=F32 in place (conv_depth)", run_conv2d, {1, 40, 9, 11, 40, 3, 3, 1, 1, 40, 1}, BF16, F_VECTOR | F_BIAS_F32 | F_INPLACE, {0}, FP32_LIMIT, EMU("0")},
    {"conv2d", "B=2 2 1x1 3x3 p1 depthwise w=BF16 matrix in place", run_conv2d, {2, 2, 1, 1, 2, 3, 3, 1, 1, 2, 1}, BF16, F_INPLACE, {0}, FP32_LIMIT, EMU("0")},
    {"conv2d", "6->5 8x7 3x3 p1 w=F32 vector b=F32 (direct dense)", run_conv2d, {1, 6, 8, 7, 5, 3, 3, 1, 1, 1, 1}, F32, F_VECTOR | F_BIAS, {0}, FP32_LIMIT, EMU("2.8e-14")},
    {"conv2d", "4 6x5 3x3 p1 groups=2 w=F16 vector in place (direct grouped)", run_conv2d, {1, 4, 6, 5, 4, 3, 3, 1, 1, 2, 1}, F16, F_VECTOR | F_INPLACE, {0}, FP32_LIMIT, EMU("4.8e-15")},
    {"conv2d", "4->2 3x4 nearest x2 + 3x3 s2 p2 w=F32 vector b=F32 (direct)", run_conv2d, {1, 4, 3, 4, 2, 3, 3, 2, 2, 1, 2}, F32, F_VECTOR | F_BIAS, {0}, FP32_LIMIT, EMU("1.8e-14")},
    // DC-AE: channel norms; p: B, C, H, W
    {"channel_rms_norm", "(2,33,5,7) w,b=F32", run_channel_norm, {2, 33, 5, 7}, F32, 0, {0}, FP32_LIMIT, EMU("5.7e-15")},
    {"channel_rms_norm", "(1,16,9,11) w,b=BF16 + r, in place on x", run_channel_norm, {1, 16, 9, 11}, BF16, F_RESID | F_INPLACE, {0}, FP32_LIMIT, EMU("3.2e-15")},
    {"channel_rms_norm", "(1,8,4,4) w,b=F16 + r, in place on r", run_channel_norm, {1, 8, 4, 4}, F16, F_INPLACE_R, {0}, FP32_LIMIT, EMU("2.6e-15")},
    {"channel_rms_norm", "(1,1,3,3)", run_channel_norm, {1, 1, 3, 3}, F32, 0, {0}, FP32_LIMIT, EMU("3.8e-14")},
    {"channel_rms_norm", "(1,512,8,8) w,b=F32 + r", run_channel_norm, {1, 512, 8, 8}, F32, F_RESID, {0}, FP32_LIMIT, EMU("2.7e-14")},
    {"batch_norm", "(2,7,5,9) F32", run_channel_norm, {2, 7, 5, 9}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"batch_norm", "(1,16,6,6) BF16 + r, in place on x", run_channel_norm, {1, 16, 6, 6}, BF16, F_RESID | F_INPLACE, {0}, FP32_LIMIT, EMU("0")},
    {"batch_norm", "(1,5,3,4) F16 + r, in place on r", run_channel_norm, {1, 5, 3, 4}, F16, F_INPLACE_R, {0}, FP32_LIMIT, EMU("0")},
    // DC-AE: shortcuts and resampling; p: B, C, H, W, r, repeats (shuffle) or group (unshuffle)
    {"pixel_shuffle", "(2,12,3,5) r=2", run_shuffle, {2, 12, 3, 5, 2, 1}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_shuffle", "(1,4,5,3) r=1 repeats=8 accumulate (decoder in shortcut)", run_shuffle, {1, 4, 5, 3, 1, 8}, F32, F_ACCUM, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_shuffle", "(1,8,3,4) r=2 repeats=2 accumulate (up shortcut)", run_shuffle, {1, 8, 3, 4, 2, 2}, F32, F_ACCUM, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_shuffle", "(1,3,2,3) r=3 repeats=3", run_shuffle, {1, 3, 2, 3, 3, 3}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_unshuffle", "(2,3,6,10) r=2", run_shuffle, {2, 3, 6, 10, 2, 1}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_unshuffle", "(1,32,5,3) r=1 group=8 accumulate (encoder out shortcut)", run_shuffle, {1, 32, 5, 3, 1, 8}, F32, F_ACCUM, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_unshuffle", "(1,4,6,4) r=2 group=2 accumulate (down shortcut)", run_shuffle, {1, 4, 6, 4, 2, 2}, F32, F_ACCUM, {0}, FP32_LIMIT, EMU("0")},
    {"pixel_unshuffle", "(1,1,3,6) r=3 group=3", run_shuffle, {1, 1, 3, 6, 3, 3}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    // DC-AE: packed linear attention; p: B, G heads, d, H, W, eps exponent
    {"linear_attention_packed", "B=2 G=2 d=8 5x7 eps=1e-15", run_linear_attention_packed, {2, 2, 8, 5, 7, 15}, F32, 0, {0}, FP32_LIMIT, EMU("1.1e-14")},
    {"linear_attention_packed", "B=1 G=3 d=32 16x16 eps=1e-15 (DC-AE heads)", run_linear_attention_packed, {1, 3, 32, 16, 16, 15}, F32, 0, {0}, FP32_LIMIT, EMU("1.7e-14")},
    {"linear_attention_packed", "B=1 G=2 d=16 33x3 eps=1e-6", run_linear_attention_packed, {1, 2, 16, 33, 3, 6}, F32, 0, {0}, FP32_LIMIT, EMU("1.6e-14")},
    {"linear_attention_packed", "B=1 G=2 d=32 61x67 (many splits, a short last one)", run_linear_attention_packed, {1, 2, 32, 61, 67, 15}, F32, 0, {0}, FP32_LIMIT, EMU("8.9e-14")},
    {"linear_attention_packed", "B=1 G=1 d=48 9x9 (S in two passes of registers)", run_linear_attention_packed, {1, 1, 48, 9, 9, 15}, F32, 0, {0}, FP32_LIMIT, EMU("1.3e-14")},
    {"linear_attention_packed", "B=1 G=1 d=1 1x1", run_linear_attention_packed, {1, 1, 1, 1, 1, 15}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    // DC-AE tiling: seams and windows
    {"blend", "rows: a (2,3,9,11) b (2,3,7,11) extent 4", run_blend, {2, 3, 9, 7, 11, 2, 4}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"blend", "columns: a (1,5,6,10) b (1,5,6,8) extent 8", run_blend, {1, 5, 10, 8, 6, 3, 8}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"blend", "rows: a (1,1,1,5) b (1,1,3,5) extent 1", run_blend, {1, 1, 1, 3, 5, 2, 1}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"copy2d", "4x3 window of (2,3,7,5) into (2,3,9,11) at 2,5", run_copy2d, {2, 3, 9, 11, 7, 5, 2, 5, 1, 2, 4, 3}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"copy2d", "whole (1,4,6,7)", run_copy2d, {1, 4, 6, 7, 6, 7, 0, 0, 0, 0, 6, 7}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"copy2d", "1x1 window, corner to corner", run_copy2d, {1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 1, 1}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    {"copy2d", "empty window (h=0)", run_copy2d, {1, 2, 3, 4, 3, 4, 1, 1, 0, 0, 0, 2}, F32, 0, {0}, FP32_LIMIT, EMU("0")},
    // DC-AE: a convolution's bias and activation in one pass
    {"channel_bias_act", "(2,7,5,9) b=BF16 silu", run_channel_bias_act, {2, 7, 5, 9, SANA_ACT_SILU}, BF16, 0, {0}, FP32_LIMIT, PENDING},
    {"channel_bias_act", "(1,64,8,8) b=F32 silu in place", run_channel_bias_act, {1, 64, 8, 8, SANA_ACT_SILU}, F32, F_INPLACE, {0}, FP32_LIMIT, PENDING},
    {"channel_bias_act", "(1,3,1,1) b=F16 relu", run_channel_bias_act, {1, 3, 1, 1, SANA_ACT_RELU}, F16, 0, {0}, FP32_LIMIT, PENDING},
    // The decoder's image to 8-bit RGB (bytes must be identical: limit 0)
    {"to_rgb8", "B=2 3x13x7", run_to_rgb8, {2, 13, 7}, F32, 0, {0}, 0, EMU("0")},
    {"to_rgb8", "B=1 3x1x1", run_to_rgb8, {1, 1, 1}, F32, 0, {0}, 0, EMU("0")},
    {"to_rgb8", "B=1 3x64x96", run_to_rgb8, {1, 64, 96}, F32, 0, {0}, 0, EMU("0")},
};

// ------------------------------------------------------------------------------------------------
// The harness

// Every slot of SANA_OPS has a case in the table (skip: a name to leave out, for the self-test).
static bool coverage_ok(const op_case *table, size_t n, const char *skip, bool verbose) {
    static const char *names[] = {
#define OP_NAME(name) #name,
        SANA_OPS(OP_NAME)
#undef OP_NAME
    };
    bool ok = true;
    for (size_t i = 0; i < SANA_ARRAY_LEN(names); i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = strcmp(table[j].op, names[i]) == 0 && !(skip && strcmp(skip, names[i]) == 0);
        if (!found) {
            if (verbose) printf("FAIL op %s: no case in test-backend-ops.c\n", names[i]);
            ok = false;
        }
    }
    return ok;
}

static float *download_buf(side *s, int k) {
    const int64_t total = 2 * GUARD + s->bufs[k].offset + s->bufs[k].n;
    float *h = xmalloc((size_t)total * sizeof(float));
    sana_tensor all = {.data = s->bufs[k].base, .dtype = SANA_DTYPE_F32, .ndim = 1, .shape = {total, 1, 1, 1}};
    for (int64_t i = 0; i < total; i++) h[i] = 0.0f;
    if (s->bufs[k].base) sana_download(s->be, h, &all);
    return h;
}

// The guard regions of buffer k are intact (h: its download).
static bool guards_ok(const side *s, int k, const float *h) {
    const int64_t before = GUARD + s->bufs[k].offset, after = before + s->bufs[k].n;
    for (int64_t i = 0; i < before; i++) { // the guard, and the misalignment pad after it
        uint32_t u;
        memcpy(&u, &h[i], 4);
        if (u != SENTINEL) return false;
    }
    for (int64_t i = after; i < after + GUARD; i++) {
        uint32_t u;
        memcpy(&u, &h[i], 4);
        if (u != SENTINEL) return false;
    }
    return true;
}

static void side_release(side *s) {
    for (int k = 0; k < s->n_bufs; k++)
        if (s->bufs[k].base) s->be->i->dealloc(s->be, s->bufs[k].base);
    for (int k = 0; k < s->n_host; k++) free(s->host[k]);
    s->n_bufs = s->n_host = 0;
}

// Runs case c on both backends and compares. Returns true when it passes; prints one line (and
// details on failure).
static bool run_case(const op_case *c, size_t index, sana_backend *ref_be, sana_backend *dev_be) {
    side ref = {.be = ref_be, .rng = 0x9e3779b97f4a7c15ull * (index + 1)};
    side dev = {.be = dev_be, .rng = ref.rng};
    // A failure in an earlier case must not hide this one's result (a CUDA error that spoils the
    // context will show again here with its name).
    sana_error_clear(&ref_be->error);
    sana_error_clear(&dev_be->error);
    c->run(&ref, c);
    c->run(&dev, c);
    sana_error e_ref = {0}, e_dev = {0};
    sana_backend_sync(ref_be, &e_ref);
    sana_backend_sync(dev_be, &e_dev);
    char why[SANA_ERROR_MAX + 128] = "";
    double worst_nmse = 0;
    bool ok = !ref.failed && !dev.failed && !e_ref.status && !e_dev.status;
    if (e_ref.status || e_dev.status)
        snprintf(why, sizeof why, "backend error: %s", e_dev.status ? e_dev.message : e_ref.message);
    else if (ref.failed || dev.failed)
        snprintf(why, sizeof why, "a weight could not be bound");
    for (int k = 0; ok && k < ref.n_bufs; k++) {
        float *hr = download_buf(&ref, k), *hd = download_buf(&dev, k);
        sana_backend_sync(dev_be, &e_dev);
        const int64_t n = ref.bufs[k].n, o = GUARD + ref.bufs[k].offset;
        if (e_dev.status) {
            ok = false;
            snprintf(why, sizeof why, "backend error: %s", e_dev.message);
        } else if (!guards_ok(&ref, k, hr)) {
            ok = false;
            snprintf(why, sizeof why, "tensor %d: the reference backend wrote outside it (guard changed)", k);
        } else if (!guards_ok(&dev, k, hd)) {
            ok = false;
            snprintf(why, sizeof why, "tensor %d: %s wrote outside it (guard changed)", k, dev_be->i->name);
        } else if (ref.bufs[k].output && ref.bufs[k].u8) {
            const uint8_t *gb = (const uint8_t *)(hd + o), *rb = (const uint8_t *)(hr + o);
            double se = 0, sr = 0;
            int64_t diff = 0, first = -1;
            for (int64_t i = 0; i < ref.bufs[k].u8; i++) {
                se += ((double)gb[i] - rb[i]) * ((double)gb[i] - rb[i]);
                sr += (double)rb[i] * rb[i];
                if (gb[i] != rb[i] && diff++ == 0) first = i;
            }
            const double nmse = sr > 0 ? se / sr : se;
            if (nmse > worst_nmse) worst_nmse = nmse;
            if (!(nmse <= c->max_nmse)) {
                ok = false;
                snprintf(why, sizeof why, "tensor %d: %lld of %lld bytes differ, first [%lld] got %u ref %u", k,
                         (long long)diff, (long long)ref.bufs[k].u8, (long long)first, gb[first], rb[first]);
            }
        } else if (ref.bufs[k].output) {
            double se = 0, sr = 0, worst = -1;
            int64_t wi = 0, bad = -1;
            for (int64_t i = 0; i < n; i++) {
                const double g = hd[o + i], r = hr[o + i];
                if (!isfinite(hd[o + i]) || !isfinite(hr[o + i])) {
                    bad = i;
                    break;
                }
                se += (g - r) * (g - r);
                sr += r * r;
                if (fabs(g - r) > worst) worst = fabs(g - r), wi = i;
            }
            if (bad >= 0) {
                ok = false;
                snprintf(why, sizeof why, "tensor %d: element %lld is not finite (got %g, ref %g): unwritten or NaN", k,
                         (long long)bad, hd[o + bad], hr[o + bad]);
            } else {
                const double nmse = sr > 0 ? se / sr : se;
                if (nmse > worst_nmse) worst_nmse = nmse;
                if (!(nmse <= c->max_nmse)) {
                    ok = false;
                    snprintf(why, sizeof why, "tensor %d: nmse %.3e > %.0e; worst [%lld] got %.9g ref %.9g; first %g|%g",
                             k, nmse, c->max_nmse, (long long)wi, hd[o + wi], hr[o + wi], hd[o], hr[o]);
                }
            }
        }
        free(hr);
        free(hd);
    }
    side_release(&ref);
    side_release(&dev);
    if (ok)
        printf("ok   %-19s %-66s nmse %.2e <= %.0e (measured: %s)\n", c->op, c->what, worst_nmse, c->max_nmse,
               c->measured);
    else
        printf("FAIL %-19s %-66s %s\n", c->op, c->what, why);
    return ok;
}

// Runs every case of the table (or of op `only`); returns the number of failures.
static int run_all(const op_case *table, size_t n, const char *only, sana_backend *ref_be, sana_backend *dev_be,
                   int *ran) {
    int failures = 0;
    *ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, table[i].op) != 0) continue;
        (*ran)++;
        if (!run_case(&table[i], i, ref_be, dev_be)) failures++;
    }
    return failures;
}

// ------------------------------------------------------------------------------------------------
// Self-test: broken copies of the CPU backend the harness must catch

static sana_backend_i broken_i;
static const sana_backend_i *real_i;

static void broken_add_overrun(sana_backend *be, sana_tensor *y, const sana_tensor *a, const sana_tensor *b) {
    real_i->ops.add(be, y, a, b);
    ((float *)y->data)[sana_tensor_numel(y)] = 1.0f; // one past the end: into the guard
}

static void broken_act_unwritten(sana_backend *be, sana_tensor *y, const sana_tensor *x, sana_act act) {
    const int64_t n = sana_tensor_numel(x);
    const float last = ((const float *)x->data)[n - 1];
    real_i->ops.act(be, y, x, act);
    // Leave the last element as it was: NaN for a fresh output, the input when in place (so
    // make that wrong too).
    ((float *)y->data)[n - 1] = y->data == x->data ? last + 1.0f : NAN;
}

static void broken_layer_norm_off(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                                  const sana_tensor *b, float eps) {
    real_i->ops.layer_norm(be, y, x, w, b, eps);
    for (int64_t i = 0; i < sana_tensor_numel(y); i++) // NMSE about 1e-6 (also where y is 0)
        ((float *)y->data)[i] = ((float *)y->data)[i] * 1.001f + 1e-3f;
}

static void broken_embedding_next_row(sana_backend *be, sana_tensor *y, const sana_tensor *ids,
                                      const sana_tensor *table, float scale) {
    const int64_t n = sana_tensor_numel(ids);
    int32_t *next = xmalloc((size_t)n * sizeof *next);
    for (int64_t i = 0; i < n; i++) next[i] = (int32_t)((((const int32_t *)ids->data)[i] + 1) % table->shape[0]);
    sana_tensor t = *ids;
    t.data = next;
    real_i->ops.embedding(be, y, &t, table, scale);
    free(next);
}

static void broken_to_rgb8_unwritten(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    const int64_t n = sana_tensor_numel(y);
    uint8_t *bytes = y->data, last = bytes[n - 1];
    real_i->ops.to_rgb8(be, y, x);
    bytes[n - 1] = last; // as it was: the sentinel's byte
}

static int self_test(void) {
    int failures = 0, ran;
    sana_error err = {0};
    sana_backend *ref, *dev;
    fx_check(sana_backend_cpu_new(0, &ref, &err), &err, "cpu backend");
    fx_check(sana_backend_cpu_new(0, &dev, &err), &err, "cpu backend");
    const size_t n = SANA_ARRAY_LEN(cases);

    printf("-- the CPU against itself: every case passes\n");
    failures += run_all(cases, n, NULL, ref, dev, &ran);

    printf("-- a table without 'linear' fails the coverage check\n");
    if (coverage_ok(cases, n, "linear", false)) {
        printf("FAIL the coverage check missed an op without a case\n");
        failures++;
    } else {
        printf("ok   caught\n");
    }

    static const struct {
        const char *op, *what;
    } broken[] = {
        {"add", "writes one element past its output"},
        {"act", "leaves an element unwritten"},
        {"layer_norm", "is off by 1e-3"},
        {"embedding", "reads the row after each id"},
        {"to_rgb8", "leaves its last byte unwritten"},
    };
    real_i = dev->i;
    for (size_t m = 0; m < SANA_ARRAY_LEN(broken); m++) {
        broken_i = *real_i;
        if (m == 0) broken_i.ops.add = broken_add_overrun;
        if (m == 1) broken_i.ops.act = broken_act_unwritten;
        if (m == 2) broken_i.ops.layer_norm = broken_layer_norm_off;
        if (m == 3) broken_i.ops.embedding = broken_embedding_next_row;
        if (m == 4) broken_i.ops.to_rgb8 = broken_to_rgb8_unwritten;
        dev->i = &broken_i;
        printf("-- a backend whose %s %s: every such case fails\n", broken[m].op, broken[m].what);
        int caught = run_all(cases, n, broken[m].op, ref, dev, &ran);
        dev->i = real_i;
        if (caught != ran || ran == 0) {
            printf("FAIL the harness passed %d of %d broken %s cases\n", ran - caught, ran, broken[m].op);
            failures++;
        } else {
            printf("ok   caught all %d\n", ran);
        }
    }
    sana_backend_free(dev);
    sana_backend_free(ref);
    printf("%s\n", failures ? "SELF-TEST FAILED" : "self-test passed");
    return failures ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------

// Every log line, so the device's own notes (which GPU, a GEMM that fell back) are in the output.
static void print_log(sana_log_level level, const char *line, void *user) {
    (void)user;
    if (level >= SANA_LOG_INFO) printf("log: %s\n", line);
}

int main(int argc, char **argv) {
    const char *device = "cuda", *only = NULL;
    bool expect_module = false, self = false, bad = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--expect-module") == 0)
            expect_module = true;
        else if (strcmp(argv[i], "--self-test") == 0)
            self = true;
        else
            bad = true;
    }
    if (bad) {
        fprintf(stderr, "usage: %s [--device DEV] [--expect-module] [--op NAME] [--self-test]\n", argv[0]);
        return 2;
    }
    const size_t n = SANA_ARRAY_LEN(cases);
    if (!coverage_ok(cases, n, NULL, true)) return 1;
    printf("ok   every op of SANA_OPS has a case (%zu cases)\n", n);
    if (self) return self_test();

    sana_log_set(print_log, NULL);
    sana_backend *dev = fx_backend(device, expect_module);
    sana_error err = {0};
    sana_backend *ref;
    fx_check(sana_backend_cpu_new(0, &ref, &err), &err, "cpu backend");
    printf("device %s (%s) against cpu\n", device, dev->i->name);
    int ran;
    int failures = run_all(cases, n, only, ref, dev, &ran);
    printf("%d of %d cases passed\n", ran - failures, ran);
    sana_backend_free(dev);
    sana_backend_free(ref);
    return failures || ran == 0 ? 1 : 0;
}
