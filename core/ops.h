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

#endif // SANA_OPS_H
