// cpu.h: what the CPU backend's files share (internal to core/cpu/).
//
// An op `name` of SANA_OPS (backend.h) is implemented by a function cpu_<name> with the slot's
// signature; backend-cpu.c holds the vtable, memory and the transformer's ops, and op families
// that other models add live in files of their own beside it, declared here.
#ifndef SANA_CPU_H
#define SANA_CPU_H

#include <math.h>

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
// Work (elements touched, or multiply-adds / 64) below which the image ops run a loop on one
// thread: waking the team costs more than it saves, and far more on a busy machine. Default
// 65536; tests set 0 to run every loop threaded on tiny shapes.
extern int64_t sana_cpu_par_work;

// Image (NCHW) ops for DC-AE: ops-conv.c. The im2col budget per band of output rows, in
// floats (a tuning knob; tests lower it to exercise band edges).
extern size_t sana_cpu_conv_col_floats;
void cpu_conv2d(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *w,
                const sana_tensor *b, int stride, int padding, int groups, int upsample);

// ops-image.c
void cpu_channel_rms_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x,
                          const sana_tensor *w, const sana_tensor *b, const sana_tensor *r,
                          float eps);
void cpu_batch_norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *mean,
                    const sana_tensor *var, const sana_tensor *w, const sana_tensor *b,
                    const sana_tensor *r, float eps);
void cpu_pixel_shuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int repeats,
                       bool accumulate);
void cpu_pixel_unshuffle(sana_backend *be, sana_tensor *y, const sana_tensor *x, int r, int group,
                         bool accumulate);
void cpu_linear_attention_packed(sana_backend *be, sana_tensor *o, const sana_tensor *qkv,
                                 int head_dim, float eps);
void cpu_blend(sana_backend *be, sana_tensor *b, const sana_tensor *a, int axis, int extent);
void cpu_copy2d(sana_backend *be, sana_tensor *dst, int dy, int dx, const sana_tensor *src, int sy,
                int sx, int h, int w);
void cpu_to_rgb8(sana_backend *be, sana_tensor *y, const sana_tensor *x);
void cpu_channel_bias_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_tensor *b, sana_act act);

// The activations of sana_act (the reference's arithmetic).
static inline float act_f(float x, sana_act act) {
    switch (act) {
    case SANA_ACT_SILU: return x / (1.0f + expf(-x));
    case SANA_ACT_GELU_TANH: {
        const float k = 0.7978845608028654f; // sqrt(2/pi)
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    case SANA_ACT_RELU: return x > 0.0f ? x : 0.0f;
    default: return x;
    }
}


#endif // SANA_CPU_H
