// ops.h: the checked op calls models make. Each wrapper checks shapes (a mismatch is a
// programmer error: SANA_ASSERT), skips the op when the backend already failed (sticky error,
// see backend.h) and dispatches to the backend's slot. Semantics are documented on the slots.
#ifndef SANA_OPS_H
#define SANA_OPS_H

#include "backend.h"
#include "util.h"

static inline bool sana_op_skip(sana_backend *be) { return sana_backend_failed(be); }

static inline bool sana_is_float(sana_dtype d) {
    return d == SANA_DTYPE_F32 || d == SANA_DTYPE_F16 || d == SANA_DTYPE_BF16;
}

static inline void sana_op_linear(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                  const sana_tensor *w, const sana_tensor *b) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->dtype == SANA_DTYPE_F32 && y->dtype == SANA_DTYPE_F32 && sana_is_float(w->dtype));
    SANA_ASSERT(w->ndim >= 2 && sana_tensor_dim(x, -1) == sana_tensor_numel(w) / w->shape[0]);
    SANA_ASSERT(sana_tensor_dim(y, -1) == w->shape[0] && sana_tensor_rows(y) == sana_tensor_rows(x));
    SANA_ASSERT(!b || sana_tensor_numel(b) == w->shape[0]);
    be->i->ops.linear(be, y, x, w, b);
}

static inline void sana_op_layer_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                      const sana_tensor *w, const sana_tensor *b, float eps) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_tensor_numel(y) == sana_tensor_numel(x));
    SANA_ASSERT(!w || sana_tensor_numel(w) == sana_tensor_dim(x, -1));
    SANA_ASSERT(!b || sana_tensor_numel(b) == sana_tensor_dim(x, -1));
    be->i->ops.layer_norm(be, y, x, w, b, eps);
}

static inline void sana_op_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                    const sana_tensor *w, float eps, bool add_one) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_tensor_numel(y) == sana_tensor_numel(x));
    SANA_ASSERT(!w || sana_tensor_numel(w) == sana_tensor_dim(x, -1));
    be->i->ops.rms_norm(be, y, x, w, eps, add_one);
}

static inline void sana_op_layer_norm_modulate(sana_backend *be, sana_tensor *y,
                                               const sana_tensor *x, const sana_tensor *mod,
                                               int shift_row, int scale_row, float eps) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->ndim == 3 && sana_tensor_same_shape(x, y) && mod->ndim == 3);
    SANA_ASSERT(mod->shape[0] == x->shape[0] && mod->shape[2] == x->shape[2]);
    SANA_ASSERT(shift_row >= 0 && shift_row < mod->shape[1] && scale_row >= 0 && scale_row < mod->shape[1]);
    be->i->ops.layer_norm_modulate(be, y, x, mod, shift_row, scale_row, eps);
}

static inline void sana_op_add_gated(sana_backend *be, sana_tensor *x, const sana_tensor *y,
                                     const sana_tensor *mod, int gate_row) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->ndim == 3 && sana_tensor_same_shape(x, y) && mod->ndim == 3);
    SANA_ASSERT(mod->shape[0] == x->shape[0] && mod->shape[2] == x->shape[2]);
    SANA_ASSERT(gate_row >= 0 && gate_row < mod->shape[1]);
    be->i->ops.add_gated(be, x, y, mod, gate_row);
}

static inline void sana_op_check_broadcast(const sana_tensor *y, const sana_tensor *a,
                                           const sana_tensor *b) {
    SANA_ASSERT(sana_tensor_numel(y) == sana_tensor_numel(a) && a->dtype == SANA_DTYPE_F32);
    SANA_ASSERT(sana_tensor_numel(b) > 0 && sana_tensor_numel(a) % sana_tensor_numel(b) == 0);
    SANA_ASSERT(sana_is_float(b->dtype));
}

static inline void sana_op_add(sana_backend *be, sana_tensor *y, const sana_tensor *a,
                               const sana_tensor *b) {
    if (sana_op_skip(be)) return;
    sana_op_check_broadcast(y, a, b);
    be->i->ops.add(be, y, a, b);
}

static inline void sana_op_mul(sana_backend *be, sana_tensor *y, const sana_tensor *a,
                               const sana_tensor *b) {
    if (sana_op_skip(be)) return;
    sana_op_check_broadcast(y, a, b);
    be->i->ops.mul(be, y, a, b);
}

static inline void sana_op_axpby(sana_backend *be, sana_tensor *y, float alpha,
                                 const sana_tensor *a, float beta, const sana_tensor *b) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_tensor_numel(y) == sana_tensor_numel(a));
    SANA_ASSERT(!b || sana_tensor_numel(b) == sana_tensor_numel(a));
    be->i->ops.axpby(be, y, alpha, a, beta, b);
}

static inline void sana_op_act(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                               sana_act act) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_tensor_numel(y) == sana_tensor_numel(x) && (unsigned)act < SANA_ACT_COUNT);
    be->i->ops.act(be, y, x, act);
}

static inline void sana_op_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                               sana_act act) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_tensor_dim(x, -1) == 2 * sana_tensor_dim(y, -1));
    SANA_ASSERT(sana_tensor_rows(x) == sana_tensor_rows(y) && (unsigned)act < SANA_ACT_COUNT);
    be->i->ops.glu(be, y, x, act);
}

static inline void sana_op_dwconv3x3(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                     const sana_tensor *w, const sana_tensor *b, int H, int W) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->ndim == 3 && sana_tensor_same_shape(x, y) && x->shape[1] == (int64_t)H * W);
    SANA_ASSERT(sana_tensor_numel(w) == 9 * x->shape[2] && w->shape[0] == x->shape[2]);
    SANA_ASSERT(!b || sana_tensor_numel(b) == x->shape[2]);
    be->i->ops.dwconv3x3(be, y, x, w, b, H, W);
}

static inline void sana_op_transpose(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->ndim == 3 && y->ndim == 3 && x->shape[0] == y->shape[0]);
    SANA_ASSERT(x->shape[1] == y->shape[2] && x->shape[2] == y->shape[1]);
    be->i->ops.transpose(be, y, x);
}

static inline void sana_op_linear_attention(sana_backend *be, sana_tensor *o,
                                            const sana_tensor *q, const sana_tensor *k,
                                            const sana_tensor *v, int heads, float eps) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(q->ndim == 3 && sana_tensor_same_shape(q, k) && sana_tensor_same_shape(q, v));
    SANA_ASSERT(sana_tensor_same_shape(q, o) && heads > 0 && q->shape[2] % heads == 0);
    be->i->ops.linear_attention(be, o, q, k, v, heads, eps);
}

static inline void sana_op_attention(sana_backend *be, sana_tensor *o, const sana_tensor *q,
                                     const sana_tensor *k, const sana_tensor *v,
                                     const sana_tensor *key_bias, const sana_attn_params *p) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(q->ndim == 3 && k->ndim == 3 && sana_tensor_same_shape(k, v) && sana_tensor_same_shape(q, o));
    SANA_ASSERT(p->n_heads > 0 && p->n_kv_heads > 0 && p->n_heads % p->n_kv_heads == 0);
    SANA_ASSERT(q->shape[2] == (int64_t)p->n_heads * p->head_dim);
    SANA_ASSERT(k->shape[2] == (int64_t)p->n_kv_heads * p->head_dim && k->shape[0] == q->shape[0]);
    SANA_ASSERT(!key_bias || (key_bias->shape[0] == q->shape[0] && sana_tensor_numel(key_bias) ==
                                                                      q->shape[0] * k->shape[1]));
    be->i->ops.attention(be, o, q, k, v, key_bias, p);
}

static inline void sana_op_timestep_embedding(sana_backend *be, sana_tensor *y,
                                              const sana_tensor *t, float max_period) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(y->ndim == 2 && y->shape[0] == sana_tensor_numel(t) && y->shape[1] % 2 == 0);
    be->i->ops.timestep_embedding(be, y, t, max_period);
}

static inline void sana_op_embedding(sana_backend *be, sana_tensor *y, const sana_tensor *ids,
                                     const sana_tensor *table, float scale) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(ids->dtype == SANA_DTYPE_I32 && y->dtype == SANA_DTYPE_F32 && sana_is_float(table->dtype));
    SANA_ASSERT(table->ndim == 2 && sana_tensor_dim(y, -1) == table->shape[1]);
    SANA_ASSERT(sana_tensor_rows(y) == sana_tensor_numel(ids));
    be->i->ops.embedding(be, y, ids, table, scale);
}

static inline void sana_op_rope(sana_backend *be, sana_tensor *y, const sana_tensor *x, int head_dim,
                                int pos0, float theta) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->ndim == 3 && sana_tensor_same_shape(x, y) && x->dtype == SANA_DTYPE_F32);
    SANA_ASSERT(head_dim > 0 && head_dim % 2 == 0 && x->shape[2] % head_dim == 0 && pos0 >= 0);
    be->i->ops.rope(be, y, x, head_dim, pos0, theta);
}

// Memory helpers with the same skip-after-failure rule.
static inline void sana_upload(sana_backend *be, sana_tensor *dst, const void *host) {
    if (!sana_op_skip(be)) be->i->upload(be, dst, host);
}

static inline void sana_download(sana_backend *be, void *host, const sana_tensor *src) {
    if (!sana_op_skip(be)) be->i->download(be, host, src);
}

static inline void sana_copy(sana_backend *be, sana_tensor *dst, const sana_tensor *src) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_tensor_nbytes(dst) == sana_tensor_nbytes(src) && dst->dtype == src->dtype);
    be->i->copy(be, dst, src);
}

// ------------------------------------------------------------------------------------------------
// Image (NCHW) ops for DC-AE. Semantics on the slots in backend.h.

static inline bool sana_op_is_image(const sana_tensor *t) {
    return t->ndim == 4 && t->dtype == SANA_DTYPE_F32;
}

static inline void sana_op_conv2d(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                  const sana_tensor *w, const sana_tensor *b, int stride,
                                  int padding, int groups, int upsample) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && sana_op_is_image(y) && w->ndim == 4 && sana_is_float(w->dtype));
    SANA_ASSERT(stride >= 1 && padding >= 0 && groups >= 1 && upsample >= 1);
    const int64_t Ci = x->shape[1], Co = y->shape[1], kh = w->shape[2], kw = w->shape[3];
    SANA_ASSERT(Ci % groups == 0 && Co % groups == 0 && w->shape[0] == Co && w->shape[1] == Ci / groups);
    SANA_ASSERT(x->shape[0] == y->shape[0]);
    SANA_ASSERT(y->shape[2] == (upsample * x->shape[2] + 2 * padding - kh) / stride + 1);
    SANA_ASSERT(y->shape[3] == (upsample * x->shape[3] + 2 * padding - kw) / stride + 1);
    SANA_ASSERT(y->shape[2] >= 1 && y->shape[3] >= 1);
    SANA_ASSERT(!b || (sana_tensor_numel(b) == Co && sana_is_float(b->dtype)));
    SANA_ASSERT(y->data != x->data || (stride == 1 && upsample == 1 && sana_tensor_same_shape(x, y)));
    be->i->ops.conv2d(be, y, x, w, b, stride, padding, groups, upsample);
}

static inline void sana_op_channel_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                            const sana_tensor *w, const sana_tensor *b,
                                            const sana_tensor *r, float eps) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && sana_tensor_same_shape(x, y) && y->dtype == SANA_DTYPE_F32);
    SANA_ASSERT(sana_tensor_numel(w) == x->shape[1] && sana_tensor_numel(b) == x->shape[1]);
    SANA_ASSERT(!r || (sana_tensor_same_shape(x, r) && r->dtype == SANA_DTYPE_F32));
    be->i->ops.channel_rms_norm(be, y, x, w, b, r, eps);
}

static inline void sana_op_batch_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                      const sana_tensor *mean, const sana_tensor *var,
                                      const sana_tensor *w, const sana_tensor *b,
                                      const sana_tensor *r, float eps) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && sana_tensor_same_shape(x, y) && y->dtype == SANA_DTYPE_F32);
    const int64_t C = x->shape[1];
    SANA_ASSERT(sana_tensor_numel(mean) == C && sana_tensor_numel(var) == C);
    SANA_ASSERT(sana_tensor_numel(w) == C && sana_tensor_numel(b) == C);
    SANA_ASSERT(!r || (sana_tensor_same_shape(x, r) && r->dtype == SANA_DTYPE_F32));
    be->i->ops.batch_norm(be, y, x, mean, var, w, b, r, eps);
}

static inline void sana_op_pixel_shuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                         int r, int repeats, bool accumulate) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && sana_op_is_image(y) && r >= 1 && repeats >= 1);
    SANA_ASSERT((x->shape[1] * repeats) % (r * r) == 0 && y->shape[0] == x->shape[0]);
    SANA_ASSERT(y->shape[1] == x->shape[1] * repeats / (r * r));
    SANA_ASSERT(y->shape[2] == r * x->shape[2] && y->shape[3] == r * x->shape[3]);
    be->i->ops.pixel_shuffle(be, y, x, r, repeats, accumulate);
}

static inline void sana_op_pixel_unshuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                           int r, int group, bool accumulate) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && sana_op_is_image(y) && r >= 1 && group >= 1);
    SANA_ASSERT(x->shape[2] % r == 0 && x->shape[3] % r == 0 && y->shape[0] == x->shape[0]);
    SANA_ASSERT((x->shape[1] * r * r) % group == 0 && y->shape[1] == x->shape[1] * r * r / group);
    SANA_ASSERT(y->shape[2] == x->shape[2] / r && y->shape[3] == x->shape[3] / r);
    be->i->ops.pixel_unshuffle(be, y, x, r, group, accumulate);
}

static inline void sana_op_linear_attention_packed(sana_backend *be, sana_tensor *o,
                                                   const sana_tensor *qkv, int head_dim,
                                                   float eps) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(qkv) && sana_op_is_image(o) && head_dim >= 1);
    SANA_ASSERT(qkv->shape[1] % (3 * head_dim) == 0 && o->shape[1] * 3 == qkv->shape[1]);
    SANA_ASSERT(o->shape[0] == qkv->shape[0] && o->shape[2] == qkv->shape[2] && o->shape[3] == qkv->shape[3]);
    be->i->ops.linear_attention_packed(be, o, qkv, head_dim, eps);
}

static inline void sana_op_blend(sana_backend *be, sana_tensor *b, const sana_tensor *a, int axis,
                                 int extent) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(a) && sana_op_is_image(b) && (axis == 2 || axis == 3));
    SANA_ASSERT(a->shape[0] == b->shape[0] && a->shape[1] == b->shape[1]);
    SANA_ASSERT(a->shape[5 - axis] == b->shape[5 - axis]); // the other spatial dimension
    SANA_ASSERT(extent >= 1 && extent <= a->shape[axis] && extent <= b->shape[axis]);
    be->i->ops.blend(be, b, a, axis, extent);
}

static inline void sana_op_copy2d(sana_backend *be, sana_tensor *dst, int dy, int dx,
                                  const sana_tensor *src, int sy, int sx, int h, int w) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(dst) && sana_op_is_image(src));
    SANA_ASSERT(dst->shape[0] == src->shape[0] && dst->shape[1] == src->shape[1] && h >= 0 && w >= 0);
    SANA_ASSERT(dy >= 0 && dx >= 0 && dy + h <= dst->shape[2] && dx + w <= dst->shape[3]);
    SANA_ASSERT(sy >= 0 && sx >= 0 && sy + h <= src->shape[2] && sx + w <= src->shape[3]);
    be->i->ops.copy2d(be, dst, dy, dx, src, sy, sx, h, w);
}

static inline void sana_op_to_rgb8(sana_backend *be, sana_tensor *y, const sana_tensor *x) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && x->shape[1] == 3 && y->dtype == SANA_DTYPE_U8 && y->ndim == 4);
    SANA_ASSERT(y->shape[0] == x->shape[0] && y->shape[1] == x->shape[2] && y->shape[2] == x->shape[3] &&
                y->shape[3] == 3);
    be->i->ops.to_rgb8(be, y, x);
}

static inline void sana_op_channel_bias_act(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                            const sana_tensor *b, sana_act act) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(sana_op_is_image(x) && sana_tensor_same_shape(x, y) && y->dtype == SANA_DTYPE_F32);
    SANA_ASSERT(sana_tensor_numel(b) == x->shape[1] && sana_is_float(b->dtype) && (unsigned)act < SANA_ACT_COUNT);
    be->i->ops.channel_bias_act(be, y, x, b, act);
}

static inline void sana_op_dwconv3x3_glu(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                                         const sana_tensor *w, const sana_tensor *b, int H, int W,
                                         sana_act act_in, sana_act act_gate) {
    if (sana_op_skip(be)) return;
    SANA_ASSERT(x->ndim == 3 && y->ndim == 3 && x->shape[0] == y->shape[0] && x->shape[1] == y->shape[1]);
    SANA_ASSERT(x->shape[1] == (int64_t)H * W && x->shape[2] == 2 * y->shape[2] && y->data != x->data);
    SANA_ASSERT(sana_tensor_numel(w) == 9 * x->shape[2] && w->shape[0] == x->shape[2]);
    SANA_ASSERT(!b || sana_tensor_numel(b) == x->shape[2]);
    SANA_ASSERT((unsigned)act_in < SANA_ACT_COUNT && (unsigned)act_gate < SANA_ACT_COUNT);
    be->i->ops.dwconv3x3_glu(be, y, x, w, b, H, W, act_in, act_gate);
}

#endif // SANA_OPS_H
