// dc-ae.c: AutoencoderDC encode / decode (see dc-ae.h for the upstream files and legend).
#include "dc-ae.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops.h"
#include "../util.h"
#include "weights.h"

#define NORM_EPS 1e-5f  // get_normalization / RMSNorm / BatchNorm2d in DC-AE
#define ATTN_EPS 1e-15f // SanaMultiscaleLinearAttention

// ------------------------------------------------------------------------------------------------
// Loading

static void mark_used(sana_loader *ld, const char *key) {
    int i = sana_st_index(ld->st, key);
    if (i >= 0 && ld->used) ld->used[i] = true;
}

static void load_conv(sana_loader *ld, sana_dcae_conv_w *c, sana_weight_use use, sana_shape shape,
                      bool bias, const char *prefix) {
    sana_load(ld, &c->weight, use, shape, "%s.weight", prefix);
    if (bias) sana_load(ld, &c->bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(shape.d[0]), "%s.bias", prefix);
}

static void load_norm(sana_loader *ld, sana_dcae_norm_w *n, sana_dcae_norm_type type, int64_t C,
                      const char *prefix) {
    sana_load(ld, &n->weight, SANA_WEIGHT_VECTOR, SANA_SHAPE(C), "%s.weight", prefix);
    sana_load(ld, &n->bias, SANA_WEIGHT_VECTOR, SANA_SHAPE(C), "%s.bias", prefix);
    if (type == SANA_DCAE_BATCH_NORM) {
        sana_load(ld, &n->running_mean, SANA_WEIGHT_VECTOR, SANA_SHAPE(C), "%s.running_mean", prefix);
        sana_load(ld, &n->running_var, SANA_WEIGHT_VECTOR, SANA_SHAPE(C), "%s.running_var", prefix);
        char key[256];
        snprintf(key, sizeof key, "%s.num_batches_tracked", prefix); // an int64 counter, unused in eval
        mark_used(ld, key);
    }
}

static void load_block(sana_loader *ld, const sana_dcae_config *c, const sana_dcae_stage *st,
                       sana_dcae_block_w *b, const char *prefix) {
    const int64_t C = st->out_channels;
    char p[256];
    if (st->block_type == SANA_DCAE_RES_BLOCK) {
        snprintf(p, sizeof p, "%s.conv1", prefix);
        load_conv(ld, &b->conv1, SANA_WEIGHT_MATRIX, SANA_SHAPE(C, C, 3, 3), true, p);
        snprintf(p, sizeof p, "%s.conv2", prefix);
        load_conv(ld, &b->conv2, SANA_WEIGHT_MATRIX, SANA_SHAPE(C, C, 3, 3), false, p);
        snprintf(p, sizeof p, "%s.norm", prefix);
        load_norm(ld, &b->norm, st->norm_type, C, p);
        return;
    }
    const int64_t d = c->attention_head_dim, inner = C / d * d, S = st->n_scales;
    sana_load(ld, &b->to_q, SANA_WEIGHT_MATRIX, SANA_SHAPE(inner, C), "%s.attn.to_q.weight", prefix);
    sana_load(ld, &b->to_k, SANA_WEIGHT_MATRIX, SANA_SHAPE(inner, C), "%s.attn.to_k.weight", prefix);
    sana_load(ld, &b->to_v, SANA_WEIGHT_MATRIX, SANA_SHAPE(inner, C), "%s.attn.to_v.weight", prefix);
    for (int s = 0; s < S; s++) {
        const int64_t k = st->scales[s];
        sana_load(ld, &b->proj_in[s], SANA_WEIGHT_VECTOR, SANA_SHAPE(3 * inner, 1, k, k),
                  "%s.attn.to_qkv_multiscale.%d.proj_in.weight", prefix, s);
        sana_load(ld, &b->proj_out[s], SANA_WEIGHT_MATRIX, SANA_SHAPE(3 * inner, d, 1, 1),
                  "%s.attn.to_qkv_multiscale.%d.proj_out.weight", prefix, s);
    }
    sana_load(ld, &b->to_out, SANA_WEIGHT_MATRIX, SANA_SHAPE(C, inner * (1 + S)), "%s.attn.to_out.weight", prefix);
    snprintf(p, sizeof p, "%s.attn.norm_out", prefix);
    load_norm(ld, &b->norm_out, st->norm_type, C, p);
    snprintf(p, sizeof p, "%s.conv_out.conv_inverted", prefix);
    load_conv(ld, &b->conv_inverted, SANA_WEIGHT_MATRIX, SANA_SHAPE(8 * C, C, 1, 1), true, p);
    snprintf(p, sizeof p, "%s.conv_out.conv_depth", prefix);
    load_conv(ld, &b->conv_depth, SANA_WEIGHT_VECTOR, SANA_SHAPE(8 * C, 1, 3, 3), true, p);
    sana_load(ld, &b->conv_point, SANA_WEIGHT_MATRIX, SANA_SHAPE(C, 4 * C, 1, 1), "%s.conv_out.conv_point.weight", prefix);
    snprintf(p, sizeof p, "%s.conv_out.norm", prefix);
    load_norm(ld, &b->conv_out_norm, SANA_DCAE_RMS_NORM, C, p);
}

static bool alloc_blocks(sana_dcae_stage_w *sw, const sana_dcae_stage *st) {
    sw->blocks = st->layers ? calloc((size_t)st->layers, sizeof *sw->blocks) : NULL;
    return !st->layers || sw->blocks;
}

// Encoder keys: conv_in (a DCDownBlock2d without shortcut when stage 0 is empty),
// down_blocks.i.{0..L-1} blocks, down_blocks.i.L.conv the down-sampler, conv_out.
static void load_encoder(sana_loader *ld, sana_dcae *m) {
    const sana_dcae_config *c = &m->config;
    const int n = c->n_stages;
    const sana_dcae_stage *st = c->encoder;
    char p[256];
    if (st[0].layers > 0) {
        load_conv(ld, &m->enc_conv_in, SANA_WEIGHT_MATRIX, SANA_SHAPE(st[0].out_channels, c->in_channels, 3, 3), true,
                  "encoder.conv_in");
    } else {
        int64_t co = c->downsample_pixel_unshuffle ? st[1].out_channels / 4 : st[1].out_channels;
        load_conv(ld, &m->enc_conv_in, SANA_WEIGHT_MATRIX, SANA_SHAPE(co, c->in_channels, 3, 3), true,
                  "encoder.conv_in.conv");
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < st[i].layers; j++) {
            snprintf(p, sizeof p, "encoder.down_blocks.%d.%d", i, j);
            load_block(ld, c, &st[i], &m->enc[i].blocks[j], p);
        }
        if (i < n - 1 && st[i].layers > 0) {
            int64_t co = st[i + 1].out_channels / (c->downsample_pixel_unshuffle ? 4 : 1);
            m->enc[i].has_resample = true;
            snprintf(p, sizeof p, "encoder.down_blocks.%d.%d.conv", i, st[i].layers);
            load_conv(ld, &m->enc[i].resample, SANA_WEIGHT_MATRIX, SANA_SHAPE(co, st[i].out_channels, 3, 3), true, p);
        }
    }
    load_conv(ld, &m->enc_conv_out, SANA_WEIGHT_MATRIX, SANA_SHAPE(c->latent_channels, st[n - 1].out_channels, 3, 3),
              true, "encoder.conv_out");
}

// Decoder keys: conv_in, up_blocks.i.0.conv the up-sampler (stages below the last) then the
// blocks, norm_out, conv_out (a DCUpBlock2d without shortcut when stage 0 is empty).
static void load_decoder(sana_loader *ld, sana_dcae *m) {
    const sana_dcae_config *c = &m->config;
    const int n = c->n_stages;
    const sana_dcae_stage *st = c->decoder;
    char p[256];
    load_conv(ld, &m->dec_conv_in, SANA_WEIGHT_MATRIX, SANA_SHAPE(st[n - 1].out_channels, c->latent_channels, 3, 3),
              true, "decoder.conv_in");
    for (int i = 0; i < n; i++) {
        int j0 = 0;
        if (i < n - 1 && st[i].layers > 0) {
            int64_t co = st[i].out_channels * (c->upsample_interpolate ? 1 : 4);
            m->dec[i].has_resample = true;
            snprintf(p, sizeof p, "decoder.up_blocks.%d.0.conv", i);
            load_conv(ld, &m->dec[i].resample, SANA_WEIGHT_MATRIX, SANA_SHAPE(co, st[i + 1].out_channels, 3, 3), true, p);
            j0 = 1;
        }
        for (int j = 0; j < st[i].layers; j++) {
            snprintf(p, sizeof p, "decoder.up_blocks.%d.%d", i, j + j0);
            load_block(ld, c, &st[i], &m->dec[i].blocks[j], p);
        }
    }
    const int64_t C0 = st[0].layers > 0 ? st[0].out_channels : st[1].out_channels;
    load_norm(ld, &m->dec_norm_out, SANA_DCAE_RMS_NORM, C0, "decoder.norm_out");
    if (st[0].layers > 0) {
        load_conv(ld, &m->dec_conv_out, SANA_WEIGHT_MATRIX, SANA_SHAPE(c->in_channels, C0, 3, 3), true, "decoder.conv_out");
    } else {
        int64_t co = c->in_channels * (c->upsample_interpolate ? 1 : 4);
        load_conv(ld, &m->dec_conv_out, SANA_WEIGHT_MATRIX, SANA_SHAPE(co, C0, 3, 3), true, "decoder.conv_out.conv");
    }
}

sana_status sana_dcae_load(const char *dir, sana_backend *be, unsigned parts, sana_dcae **out,
                           sana_error *err) {
    *out = NULL;
    sana_dcae *m = calloc(1, sizeof *m);
    if (!m) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
    m->be = be;
    m->parts = parts & (SANA_DCAE_ENCODER | SANA_DCAE_DECODER);
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    char path[4096];
    sana_status s;
    if (!sana_path_join(path, sizeof path, dir, "config.json")) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", dir);
        goto fail;
    }
    if ((s = sana_dcae_config_load(path, &m->config, err))) goto fail;
    if ((s = sana_st_open_dir(dir, "diffusion_pytorch_model", &m->st, err))) goto fail;
    const sana_dcae_config *c = &m->config;
    for (int i = 0; i < c->n_stages; i++)
        if (!alloc_blocks(&m->enc[i], &c->encoder[i]) || !alloc_blocks(&m->dec[i], &c->decoder[i])) {
            s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory", dir);
            goto fail;
        }
    sana_loader ld;
    if ((s = sana_loader_init(&ld, m->st, be, err))) goto fail;
    if (m->parts & SANA_DCAE_ENCODER) load_encoder(&ld, m);
    if (m->parts & SANA_DCAE_DECODER) load_decoder(&ld, m);
    // The half not asked for stays untouched; its tensors are not "unused".
    for (int i = 0; i < sana_st_count(m->st); i++) {
        const char *name = sana_st_name(m->st, i);
        if ((!(m->parts & SANA_DCAE_ENCODER) && strncmp(name, "encoder.", 8) == 0) ||
            (!(m->parts & SANA_DCAE_DECODER) && strncmp(name, "decoder.", 8) == 0))
            ld.used[i] = true;
    }
    if ((s = sana_loader_finish(&ld))) goto fail;
    sana_log(SANA_LOG_DEBUG, "%s: AutoencoderDC %d stages, ratio %d, latent %d channels%s%s", dir, c->n_stages,
             c->spatial_compression_ratio, c->latent_channels, m->parts & SANA_DCAE_ENCODER ? ", encoder" : "",
             m->parts & SANA_DCAE_DECODER ? ", decoder" : "");
    *out = m;
    return SANA_OK;
fail:
    sana_dcae_free(m);
    return s;
}

void sana_dcae_free(sana_dcae *m) {
    if (!m) return;
    sana_st_free(m->st);
    for (int i = 0; i < SANA_DCAE_MAX_STAGES; i++) {
        free(m->enc[i].blocks);
        free(m->dec[i].blocks);
    }
    free(m);
}

int sana_dcae_spatial_factor(const sana_dcae *m) { return m->config.spatial_compression_ratio; }

float sana_dcae_scaling_factor(const sana_dcae *m) { return m->config.scaling_factor; }

// ------------------------------------------------------------------------------------------------
// Cost model: workspace floats and FLOPs of one pass. Keep in step with the forward code below
// (each forward function names the cost function that sizes it).

typedef struct cost {
    int64_t floats;  // workspace high-water mark
    double flops;
    double up_flops; // the part in nearest-x2 + 3x3 convolutions
} cost;

static void need(cost *k, int64_t floats) { k->floats = SANA_MAX(k->floats, floats); }

static double conv_flops(int64_t co, int64_t ci_per_group, int64_t kk, int64_t out_pixels) {
    return 2.0 * (double)co * (double)ci_per_group * (double)kk * (double)out_pixels;
}

// A block of stage st at C channels, N pixels (res_block / evit_block).
static void block_cost(cost *k, const sana_dcae_config *c, const sana_dcae_stage *st, int64_t N) {
    const int64_t C = st->out_channels;
    if (st->block_type == SANA_DCAE_RES_BLOCK) {
        need(k, 2 * C * N);
        k->flops += 2 * conv_flops(C, C, 9, N);
        return;
    }
    const int64_t d = c->attention_head_dim, inner = C / d * d, S = st->n_scales, G = inner / d * (1 + S);
    need(k, C * N + SANA_MAX(4 * inner * (1 + S), 8 * C) * N);
    k->flops += 3 * conv_flops(inner, C, 1, N);
    for (int s = 0; s < S; s++)
        k->flops += conv_flops(3 * inner, 1, st->scales[s] * st->scales[s], N) + conv_flops(3 * inner, d, 1, N);
    k->flops += (double)G * (2.0 * d * d * N + 2.0 * (d + 1) * d * N);
    k->flops += conv_flops(C, inner * (1 + S), 1, N);
    k->flops += conv_flops(8 * C, C, 1, N) + conv_flops(8 * C, 1, 9, N) + conv_flops(C, 4 * C, 1, N);
}

// decoder_pass on an h x w latent.
static cost decoder_cost(const sana_dcae_config *c, int64_t h, int64_t w) {
    cost k = {0};
    const int n = c->n_stages;
    const sana_dcae_stage *st = c->decoder;
    int64_t C = st[n - 1].out_channels, N = h * w;
    need(&k, C * N);
    k.flops += conv_flops(C, c->latent_channels, 9, N);
    for (int i = n - 1; i >= 0; i--) {
        if (i < n - 1 && st[i].layers > 0) {
            const int64_t Co = st[i].out_channels;
            if (c->upsample_interpolate) {
                need(&k, C * N + Co * 4 * N);
                k.flops += conv_flops(Co, C, 9, 4 * N);
                k.up_flops += conv_flops(Co, C, 9, 4 * N);
            } else {
                need(&k, C * N + 2 * Co * 4 * N);
                k.flops += conv_flops(4 * Co, C, 9, N);
            }
            C = Co;
            N *= 4;
        }
        for (int j = 0; j < st[i].layers; j++) block_cost(&k, c, &st[i], N);
    }
    if (st[0].layers > 0) {
        k.flops += conv_flops(c->in_channels, C, 9, N);
    } else if (c->upsample_interpolate) {
        k.flops += conv_flops(c->in_channels, C, 9, 4 * N);
        k.up_flops += conv_flops(c->in_channels, C, 9, 4 * N);
    } else {
        need(&k, C * N + 4 * c->in_channels * N);
        k.flops += conv_flops(4 * c->in_channels, C, 9, N);
    }
    return k;
}

// encoder_pass on an H x W image.
static cost encoder_cost(const sana_dcae_config *c, int64_t H, int64_t W) {
    cost k = {0};
    const int n = c->n_stages;
    const sana_dcae_stage *st = c->encoder;
    int64_t C, N = H * W;
    if (st[0].layers > 0) {
        C = st[0].out_channels;
        need(&k, C * N);
        k.flops += conv_flops(C, c->in_channels, 9, N);
    } else {
        C = st[1].out_channels;
        if (c->downsample_pixel_unshuffle) {
            need(&k, 2 * C * (N / 4));
            k.flops += conv_flops(C / 4, c->in_channels, 9, N);
        } else {
            need(&k, C * (N / 4));
            k.flops += conv_flops(C, c->in_channels, 9, N / 4);
        }
        N /= 4;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < st[i].layers; j++) block_cost(&k, c, &st[i], N);
        if (i < n - 1 && st[i].layers > 0) {
            const int64_t Co = st[i + 1].out_channels;
            if (c->downsample_pixel_unshuffle) {
                need(&k, C * N + 2 * Co * (N / 4));
                k.flops += conv_flops(Co / 4, C, 9, N);
            } else {
                need(&k, C * N + Co * (N / 4));
                k.flops += conv_flops(Co, C, 9, N / 4);
            }
            C = Co;
            N /= 4;
        }
    }
    k.flops += conv_flops(c->latent_channels, C, 9, N);
    return k;
}

// ------------------------------------------------------------------------------------------------
// Workspace: one arena tensor; the running activation X sits at its bottom or top end, a
// block's temporaries are carved from the rest, and a resampling block writes its output at the
// other end.

typedef struct dcae_ws {
    float *base;
    int64_t size; // floats
} dcae_ws;

typedef struct span {
    float *p, *end;
} span;

static sana_tensor img(float *data, int64_t C, int64_t H, int64_t W) {
    return (sana_tensor){.data = data, .dtype = SANA_DTYPE_F32, .ndim = 4, .shape = {1, C, H, W}};
}

static int64_t pixels(const sana_tensor *t) { return t->shape[2] * t->shape[3]; }

// Channels [c0, c0 + n) of a (1, C, H, W) image: a contiguous view.
static sana_tensor chan(const sana_tensor *t, int64_t c0, int64_t n) {
    SANA_ASSERT(t->shape[0] == 1 && c0 >= 0 && c0 + n <= t->shape[1]);
    return img((float *)t->data + c0 * pixels(t), n, t->shape[2], t->shape[3]);
}

static sana_tensor take(span *s, int64_t C, int64_t H, int64_t W) {
    SANA_ASSERT(C * H * W <= s->end - s->p); // the cost model sized the workspace for this
    sana_tensor t = img(s->p, C, H, W);
    s->p += C * H * W;
    return t;
}

static sana_tensor ws_at(const dcae_ws *ws, bool top, int64_t C, int64_t H, int64_t W) {
    const int64_t n = C * H * W;
    SANA_ASSERT(n <= ws->size);
    return img(top ? ws->base + ws->size - n : ws->base, C, H, W);
}

static bool ws_is_top(const dcae_ws *ws, const sana_tensor *X) { return (float *)X->data != ws->base; }

// The part of the workspace X does not occupy.
static span ws_rest(const dcae_ws *ws, const sana_tensor *X) {
    const int64_t n = sana_tensor_numel(X);
    if (ws_is_top(ws, X)) return (span){ws->base, (float *)X->data};
    return (span){ws->base + n, ws->base + ws->size};
}

// The part between X at one end and Y at the other.
static span ws_between(const dcae_ws *ws, const sana_tensor *X, const sana_tensor *Y) {
    const sana_tensor *lo = ws_is_top(ws, X) ? Y : X, *hi = ws_is_top(ws, X) ? X : Y;
    span s = {(float *)lo->data + sana_tensor_numel(lo), (float *)hi->data};
    SANA_ASSERT(s.p <= s.end);
    return s;
}

// ------------------------------------------------------------------------------------------------
// Blocks

static const sana_tensor *opt(const sana_tensor *t) { return sana_tensor_is_bound(t) ? t : NULL; }

static sana_act act_of(sana_dcae_act_fn a) { return a == SANA_DCAE_RELU ? SANA_ACT_RELU : SANA_ACT_SILU; }

static void conv(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_dcae_conv_w *c,
                 int stride, int padding, int upsample) {
    sana_op_conv2d(be, y, x, &c->weight, opt(&c->bias), stride, padding, 1, upsample);
}

// y = act(conv(x) + bias), stride 1, no upsampling: the convolution without its bias, then the
// bias and the activation in one pass (channel_bias_act).
static void conv_act(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_dcae_conv_w *c, int padding,
                     sana_act act) {
    sana_op_conv2d(be, y, x, &c->weight, NULL, 1, padding, 1, 1);
    if (sana_tensor_is_bound(&c->bias))
        sana_op_channel_bias_act(be, y, y, &c->bias, act);
    else
        sana_op_act(be, y, y, act);
}

// y = norm(x) (+ r), channel-wise, eps 1e-5.
static void norm(sana_backend *be, sana_tensor *y, const sana_tensor *x, const sana_dcae_norm_w *n,
                 sana_dcae_norm_type type, const sana_tensor *r) {
    if (type == SANA_DCAE_BATCH_NORM)
        sana_op_batch_norm(be, y, x, &n->running_mean, &n->running_var, &n->weight, &n->bias, r, NORM_EPS);
    else
        sana_op_channel_rms_norm(be, y, x, &n->weight, &n->bias, r, NORM_EPS);
}

// ResBlock: X = norm(conv2(act(conv1(X)))) + X. Workspace: X + 1 temporary (block_cost).
static void res_block(sana_backend *be, const sana_dcae_block_w *b, const sana_dcae_stage *st,
                      sana_tensor *X, span free) {
    const int64_t C = X->shape[1], H = X->shape[2], W = X->shape[3];
    sana_tensor h = take(&free, C, H, W); // (1, C, H, W)
    conv_act(be, &h, X, &b->conv1, 1, act_of(st->act_fn));
    conv(be, &h, &h, &b->conv2, 1, 1, 1); // in place
    norm(be, X, &h, &b->norm, st->norm_type, X);
}

// EfficientViTBlock: X = attn(X) (with residual), then X = GLUMBConv(X) (with residual).
// Workspace: X + max(4 inner (1+S), 8C) pixels' worth (block_cost).
static void evit_block(sana_backend *be, const sana_dcae_config *c, const sana_dcae_block_w *b,
                       const sana_dcae_stage *st, sana_tensor *X, span free, const sana_tap *tap,
                       const char *path) {
    const int64_t C = X->shape[1], H = X->shape[2], W = X->shape[3];
    const int64_t d = c->attention_head_dim, heads = C / d, inner = heads * d, S = st->n_scales;

    // attn: qkv = [to_q; to_k; to_v](X), then each multi-scale branch proj_out(proj_in(qkv)),
    // concatenated along channels: (1, 3 inner (1 + S), H, W). Its heads are 3d consecutive
    // channels each (q, k, v of a head come from one projection: upstream's layout).
    span s = free;
    sana_tensor qkv = take(&s, 3 * inner * (1 + S), H, W);
    const sana_tensor *proj[3] = {&b->to_q, &b->to_k, &b->to_v};
    for (int t = 0; t < 3; t++) {
        sana_tensor y = chan(&qkv, t * inner, inner);
        sana_tensor wv = sana_tensor_reshape(*proj[t], 4, (int64_t[]){inner, C, 1, 1});
        sana_op_conv2d(be, &y, X, &wv, NULL, 1, 0, 1, 1);
    }
    sana_tensor base = chan(&qkv, 0, 3 * inner);
    for (int k = 0; k < S; k++) {
        sana_tensor ms = chan(&qkv, 3 * inner * (1 + k), 3 * inner);
        const int ks = st->scales[k];
        sana_op_conv2d(be, &ms, &base, &b->proj_in[k], NULL, 1, ks / 2, (int)(3 * inner), 1); // depthwise
        sana_op_conv2d(be, &ms, &ms, &b->proj_out[k], NULL, 1, 0, (int)(3 * heads), 1);      // grouped 1x1, in place
    }
    sana_tensor o = take(&s, inner * (1 + S), H, W); // (1, inner (1 + S), H, W)
    sana_op_linear_attention_packed(be, &o, &qkv, (int)d, ATTN_EPS);
    sana_tensor a = chan(&qkv, 0, C); // qkv is dead
    sana_tensor wo = sana_tensor_reshape(b->to_out, 4, (int64_t[]){C, inner * (1 + S), 1, 1});
    sana_op_conv2d(be, &a, &o, &wo, NULL, 1, 0, 1, 1);
    norm(be, X, &a, &b->norm_out, st->norm_type, X);
    sana_tap_emit(tap, X, "%s.attn", path);

    // conv_out (GLUMBConv): 1x1 to 8C + SiLU, depthwise 3x3, value * SiLU(gate), 1x1 to C.
    s = free;
    sana_tensor z = take(&s, 8 * C, H, W); // (1, 8C, H, W)
    conv_act(be, &z, X, &b->conv_inverted, 0, SANA_ACT_SILU);
    sana_op_conv2d(be, &z, &z, &b->conv_depth.weight, &b->conv_depth.bias, 1, 1, (int)(8 * C), 1); // in place
    sana_tensor value = chan(&z, 0, 4 * C), gate = chan(&z, 4 * C, 4 * C);
    sana_op_act(be, &gate, &gate, SANA_ACT_SILU);
    sana_op_mul(be, &value, &value, &gate);
    sana_tensor p = chan(&z, 4 * C, C); // the gate is dead
    sana_op_conv2d(be, &p, &value, &b->conv_point, NULL, 1, 0, 1, 1);
    norm(be, X, &p, &b->conv_out_norm, SANA_DCAE_RMS_NORM, X);
    sana_tap_emit(tap, X, "%s.conv_out", path);
}

static void block(sana_backend *be, const sana_dcae_config *c, const sana_dcae_block_w *b,
                  const sana_dcae_stage *st, dcae_ws *ws, sana_tensor *X, const sana_tap *tap,
                  const char *path) {
    span free = ws_rest(ws, X);
    if (st->block_type == SANA_DCAE_RES_BLOCK) res_block(be, b, st, X, free);
    else evit_block(be, c, b, st, X, free, tap, path);
    sana_tap_emit(tap, X, "%s", path);
}

// ------------------------------------------------------------------------------------------------
// Passes over one batch entry, sized by decoder_cost / encoder_cost.

static void decoder_pass(sana_dcae *m, dcae_ws *ws, sana_tensor *out, const sana_tensor *z,
                         const sana_tap *tap) {
    sana_backend *be = m->be;
    const sana_dcae_config *c = &m->config;
    const sana_dcae_stage *st = c->decoder;
    const int n = c->n_stages;
    char path[64];
    int64_t C = st[n - 1].out_channels, H = z->shape[2], W = z->shape[3];

    // conv_in (+ repeat_interleave of the latent over channels)
    sana_tensor X = ws_at(ws, false, C, H, W); // (1, C, h, w)
    conv(be, &X, z, &m->dec_conv_in, 1, 1, 1);
    sana_tap_emit(tap, &X, "decoder.conv_in");
    if (c->decoder_in_shortcut) sana_op_pixel_shuffle(be, &X, z, 1, (int)(C / c->latent_channels), true);

    for (int i = n - 1; i >= 0; i--) {
        const sana_dcae_stage_w *sw = &m->dec[i];
        int j0 = 0;
        if (sw->has_resample) { // DCUpBlock2d: y = up(X) + pixel_shuffle(repeat_interleave(X))
            const int64_t Co = st[i].out_channels;
            sana_tensor Y = ws_at(ws, !ws_is_top(ws, &X), Co, 2 * H, 2 * W); // (1, Co, 2H, 2W)
            if (c->upsample_interpolate) {
                conv(be, &Y, &X, &sw->resample, 1, 1, 2); // nearest x2 folded into the conv
            } else {
                span mid = ws_between(ws, &X, &Y);
                sana_tensor t = take(&mid, 4 * Co, H, W);
                conv(be, &t, &X, &sw->resample, 1, 1, 1);
                sana_op_pixel_shuffle(be, &Y, &t, 2, 1, false);
            }
            sana_op_pixel_shuffle(be, &Y, &X, 2, (int)(4 * Co / C), true);
            X = Y, C = Co, H *= 2, W *= 2;
            sana_tap_emit(tap, &X, "decoder.up_blocks.%d.0", i);
            j0 = 1;
        }
        for (int j = 0; j < st[i].layers; j++) {
            snprintf(path, sizeof path, "decoder.up_blocks.%d.%d", i, j + j0);
            block(be, c, &sw->blocks[j], &st[i], ws, &X, tap, path);
        }
        sana_tap_emit(tap, &X, "decoder.up_blocks.%d", i);
    }

    sana_op_channel_rms_norm(be, &X, &X, &m->dec_norm_out.weight, &m->dec_norm_out.bias, NULL, NORM_EPS);
    sana_tap_emit(tap, &X, "decoder.norm_out");
    sana_op_act(be, &X, &X, act_of(c->decoder_conv_act_fn));
    sana_tap_emit(tap, &X, "decoder.conv_act");
    if (st[0].layers > 0) {
        conv(be, out, &X, &m->dec_conv_out, 1, 1, 1);
    } else if (c->upsample_interpolate) { // DCUpBlock2d without shortcut
        conv(be, out, &X, &m->dec_conv_out, 1, 1, 2);
    } else {
        span rest = ws_rest(ws, &X);
        sana_tensor t = take(&rest, 4 * c->in_channels, H, W);
        conv(be, &t, &X, &m->dec_conv_out, 1, 1, 1);
        sana_op_pixel_shuffle(be, out, &t, 2, 1, false);
    }
    sana_tap_emit(tap, out, "decoder.conv_out");
}

// A DCDownBlock2d from X to Y: stride-2 conv, or conv then pixel_unshuffle; + the shortcut.
static void down_block(sana_backend *be, const sana_dcae_config *c, const sana_dcae_conv_w *w,
                       dcae_ws *ws, sana_tensor *Y, const sana_tensor *X, bool shortcut) {
    if (!c->downsample_pixel_unshuffle) {
        conv(be, Y, X, w, 2, 1, 1);
    } else {
        span mid = ws_between(ws, X, Y);
        sana_tensor t = take(&mid, Y->shape[1] / 4, X->shape[2], X->shape[3]);
        conv(be, &t, X, w, 1, 1, 1);
        sana_op_pixel_unshuffle(be, Y, &t, 2, 1, false);
    }
    if (shortcut) sana_op_pixel_unshuffle(be, Y, X, 2, (int)(4 * X->shape[1] / Y->shape[1]), true);
}

static void encoder_pass(sana_dcae *m, dcae_ws *ws, sana_tensor *out, const sana_tensor *x,
                         const sana_tap *tap) {
    sana_backend *be = m->be;
    const sana_dcae_config *c = &m->config;
    const sana_dcae_stage *st = c->encoder;
    const int n = c->n_stages;
    char path[64];
    const int64_t H = x->shape[2], W = x->shape[3];

    sana_tensor X;
    if (st[0].layers > 0) {
        X = ws_at(ws, false, st[0].out_channels, H, W); // (1, C0, H, W)
        conv(be, &X, x, &m->enc_conv_in, 1, 1, 1);
    } else { // DCDownBlock2d without shortcut
        X = ws_at(ws, true, st[1].out_channels, H / 2, W / 2);
        if (!c->downsample_pixel_unshuffle) {
            conv(be, &X, x, &m->enc_conv_in, 2, 1, 1);
        } else {
            span rest = ws_rest(ws, &X);
            sana_tensor u = take(&rest, st[1].out_channels / 4, H, W);
            conv(be, &u, x, &m->enc_conv_in, 1, 1, 1);
            sana_op_pixel_unshuffle(be, &X, &u, 2, 1, false);
        }
    }
    sana_tap_emit(tap, &X, "encoder.conv_in");

    for (int i = 0; i < n; i++) {
        for (int j = 0; j < st[i].layers; j++) {
            snprintf(path, sizeof path, "encoder.down_blocks.%d.%d", i, j);
            block(be, c, &m->enc[i].blocks[j], &st[i], ws, &X, tap, path);
        }
        if (m->enc[i].has_resample) {
            sana_tensor Y = ws_at(ws, !ws_is_top(ws, &X), st[i + 1].out_channels, X.shape[2] / 2, X.shape[3] / 2);
            down_block(be, c, &m->enc[i].resample, ws, &Y, &X, true);
            X = Y;
            sana_tap_emit(tap, &X, "encoder.down_blocks.%d.%d", i, st[i].layers);
        }
        sana_tap_emit(tap, &X, "encoder.down_blocks.%d", i);
    }

    // conv_out (+ mean over groups of consecutive channels)
    conv(be, out, &X, &m->enc_conv_out, 1, 1, 1);
    sana_tap_emit(tap, out, "encoder.conv_out");
    if (c->encoder_out_shortcut)
        sana_op_pixel_unshuffle(be, out, &X, 1, (int)(X.shape[1] / c->latent_channels), true);
}

// ------------------------------------------------------------------------------------------------
// Tiling (AutoencoderDC.tiled_decode / tiled_encode, blend_v, blend_h)

typedef struct tile_geom {
    int64_t min_h, min_w;       // tile size, in input pixels (latent for decode, image for encode)
    int64_t stride_h, stride_w; // tile starts, input pixels
    int64_t blend_h, blend_w;   // blend extents, output pixels
    int64_t crop_h, crop_w;     // the kept top-left part of each tile, output pixels
    int64_t rows, cols;
    int64_t out_min_h, out_min_w; // output size of a full tile
} tile_geom;

static sana_status tile_geometry(const sana_dcae *m, bool decode, const sana_dcae_tiling *t,
                                 int64_t Hin, int64_t Win, tile_geom *g, sana_error *err) {
    const int64_t r = m->config.spatial_compression_ratio;
    const int64_t smh = t->tile_sample_min_height ? t->tile_sample_min_height : 512;
    const int64_t smw = t->tile_sample_min_width ? t->tile_sample_min_width : 512;
    const int64_t ssh = t->tile_sample_stride_height ? t->tile_sample_stride_height : 448;
    const int64_t ssw = t->tile_sample_stride_width ? t->tile_sample_stride_width : 448;
    const int64_t v[4] = {smh, smw, ssh, ssw};
    const char *names[4] = {"tile_sample_min_height", "tile_sample_min_width", "tile_sample_stride_height",
                            "tile_sample_stride_width"};
    for (int i = 0; i < 4; i++)
        if (v[i] < r || v[i] % r != 0 || v[i] > (int64_t)1 << 20)
            return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae tiling: %s is %lld; expected a positive multiple of %lld "
                               "(the spatial compression ratio)", names[i], (long long)v[i], (long long)r);
    if (ssh > smh || ssw > smw)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae tiling: stride %lld x %lld exceeds the tile size %lld x %lld; "
                           "expected stride <= size (tiles must overlap or touch)", (long long)ssh, (long long)ssw,
                           (long long)smh, (long long)smw);
    if (decode) {
        *g = (tile_geom){.min_h = smh / r, .min_w = smw / r, .stride_h = ssh / r, .stride_w = ssw / r,
                         .blend_h = smh - ssh, .blend_w = smw - ssw, .crop_h = ssh, .crop_w = ssw,
                         .out_min_h = smh, .out_min_w = smw};
    } else {
        *g = (tile_geom){.min_h = smh, .min_w = smw, .stride_h = ssh, .stride_w = ssw,
                         .blend_h = smh / r - ssh / r, .blend_w = smw / r - ssw / r, .crop_h = ssh / r,
                         .crop_w = ssw / r, .out_min_h = smh / r, .out_min_w = smw / r};
    }
    g->rows = (Hin + g->stride_h - 1) / g->stride_h;
    g->cols = (Win + g->stride_w - 1) / g->stride_w;
    return SANA_OK;
}

typedef struct pass_plan {
    sana_dcae_plan pub;
    tile_geom g;
    int64_t ws_floats;   // the pass workspace (one tile when tiled)
    int64_t tile_floats; // one output tile buffer (tiled only)
    int64_t in_floats;   // the input tile buffer (tiled only)
} pass_plan;

static cost pass_cost(const sana_dcae *m, bool decode, int64_t h, int64_t w) {
    return decode ? decoder_cost(&m->config, h, w) : encoder_cost(&m->config, h, w);
}

static sana_status plan_pass(const sana_dcae *m, bool decode, int64_t Hin, int64_t Win,
                             const sana_dcae_tiling *tiling, pass_plan *p, sana_error *err) {
    memset(p, 0, sizeof *p);
    const sana_dcae_tiling def = {0};
    const sana_dcae_tiling *t = tiling ? tiling : &def;
    if ((unsigned)t->mode > SANA_DCAE_TILING_ON)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae tiling: mode %d; expected AUTO (0), OFF (1) or ON (2)", (int)t->mode);
    sana_status s = tile_geometry(m, decode, t, Hin, Win, &p->g, err);
    if (s) return s;
    const cost untiled = pass_cost(m, decode, Hin, Win);
    const size_t budget = t->memory_budget ? t->memory_budget : SANA_DCAE_DEFAULT_BUDGET;
    const bool bigger = Hin > p->g.min_h || Win > p->g.min_w; // upstream's condition to tile
    p->pub.untiled_bytes = (size_t)untiled.floats * sizeof(float);
    p->pub.tiled = t->mode == SANA_DCAE_TILING_ON ? bigger
                   : t->mode == SANA_DCAE_TILING_AUTO ? bigger && p->pub.untiled_bytes > budget
                                                      : false;
    if (!p->pub.tiled) {
        p->pub.tiles = 1;
        p->pub.flops = untiled.flops;
        p->pub.flops_upsample = untiled.up_flops;
        p->ws_floats = untiled.floats;
        p->pub.workspace_bytes = p->pub.untiled_bytes;
        return SANA_OK;
    }
    const tile_geom *g = &p->g;
    for (int64_t i = 0; i < g->rows; i++)
        for (int64_t j = 0; j < g->cols; j++) {
            cost k = pass_cost(m, decode, SANA_MIN(g->min_h, Hin - i * g->stride_h),
                               SANA_MIN(g->min_w, Win - j * g->stride_w));
            p->ws_floats = SANA_MAX(p->ws_floats, k.floats);
            p->pub.flops += k.flops;
            p->pub.flops_upsample += k.up_flops;
        }
    const int64_t cin = decode ? m->config.latent_channels : m->config.in_channels;
    const int64_t cout = decode ? m->config.in_channels : m->config.latent_channels;
    p->in_floats = cin * g->min_h * g->min_w;
    p->tile_floats = cout * g->out_min_h * g->out_min_w;
    p->pub.tiles = (int)(g->rows * g->cols);
    p->pub.workspace_bytes = (size_t)(p->ws_floats + p->in_floats + 2 * g->cols * p->tile_floats) * sizeof(float);
    return SANA_OK;
}

typedef void (*pass_fn)(sana_dcae *m, dcae_ws *ws, sana_tensor *out, const sana_tensor *in,
                        const sana_tap *tap);

// Upstream's loops: decode every tile, then in row-major order blend each tile in place with
// the (already blended) tile above and the one to its left, and keep its top-left crop.
// Blending right after each tile's pass is the same computation: it only reads tiles that
// come earlier in that order. Only two rows of tiles are kept.
static void tiled_pass(sana_dcae *m, pass_fn pass, const pass_plan *p, dcae_ws *ws, float *in_buf,
                       float *tiles, sana_tensor *prev, sana_tensor *cur, sana_tensor *out,
                       const sana_tensor *in) {
    sana_backend *be = m->be;
    const tile_geom *g = &p->g;
    const int64_t Hin = in->shape[2], Win = in->shape[3], Hout = out->shape[2], Wout = out->shape[3];
    const int64_t cin = in->shape[1], cout = out->shape[1];
    for (int64_t i = 0; i < g->rows; i++) {
        float *row_buf = tiles + (i % 2) * g->cols * p->tile_floats;
        for (int64_t j = 0; j < g->cols; j++) {
            const int64_t th = SANA_MIN(g->min_h, Hin - i * g->stride_h), tw = SANA_MIN(g->min_w, Win - j * g->stride_w);
            sana_tensor tin = img(in_buf, cin, th, tw); // (1, cin, th, tw)
            sana_op_copy2d(be, &tin, 0, 0, in, (int)(i * g->stride_h), (int)(j * g->stride_w), (int)th, (int)tw);
            const int64_t oh = th * Hout / Hin, ow = tw * Wout / Win;
            cur[j] = img(row_buf + j * p->tile_floats, cout, oh, ow);
            pass(m, ws, &cur[j], &tin, NULL);
            if (i > 0) {
                const int64_t e = SANA_MIN(SANA_MIN(prev[j].shape[2], oh), g->blend_h);
                if (e > 0) sana_op_blend(be, &cur[j], &prev[j], 2, (int)e);
            }
            if (j > 0) {
                const int64_t e = SANA_MIN(SANA_MIN(cur[j - 1].shape[3], ow), g->blend_w);
                if (e > 0) sana_op_blend(be, &cur[j], &cur[j - 1], 3, (int)e);
            }
            // The crop lands at (i crop_h, j crop_w); the last row/column is cut at the image
            // edge (upstream's final [:h, :w], a no-op when the sizes are whole tiles).
            const int64_t y0 = i * g->crop_h, x0 = j * g->crop_w;
            const int64_t ch = SANA_MIN(SANA_MIN(g->crop_h, oh), Hout - y0);
            const int64_t cw = SANA_MIN(SANA_MIN(g->crop_w, ow), Wout - x0);
            if (ch > 0 && cw > 0) sana_op_copy2d(be, out, (int)y0, (int)x0, &cur[j], 0, 0, (int)ch, (int)cw);
        }
        for (int64_t j = 0; j < g->cols; j++) prev[j] = cur[j];
    }
}

// Runs `pass` (or its tiled form) over every batch entry of in into out.
static sana_status run(sana_dcae *m, sana_arena *arena, pass_fn pass, const pass_plan *p,
                       sana_tensor *out, const sana_tensor *in, const sana_tap *tap,
                       sana_error *err) {
    sana_backend *be = m->be;
    const int64_t total = p->ws_floats + (p->pub.tiled ? p->in_floats + 2 * p->g.cols * p->tile_floats : 0);
    sana_tensor *rows = p->pub.tiled ? calloc((size_t)(2 * p->g.cols), sizeof *rows) : NULL;
    if (p->pub.tiled && !rows) return sana_errorf(err, SANA_STATUS_NO_MEMORY, "dc-ae: out of memory for the tile list");
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor wst = sana_new_f32(arena, SANA_MAX(total, (int64_t)1));
    if (!sana_backend_failed(be) && wst.data) {
        dcae_ws ws = {wst.data, p->ws_floats};
        float *in_buf = (float *)wst.data + p->ws_floats, *tiles = in_buf + p->in_floats;
        for (int64_t b = 0; b < in->shape[0]; b++) {
            sana_tensor ib = sana_tensor_slice0(*in, b, 1), ob = sana_tensor_slice0(*out, b, 1);
            if (p->pub.tiled) tiled_pass(m, pass, p, &ws, in_buf, tiles, rows, rows + p->g.cols, &ob, &ib);
            else pass(m, &ws, &ob, &ib, tap);
        }
    }
    sana_arena_reset(arena, mark);
    free(rows);
    if (sana_backend_failed(be)) return sana_errorf(err, be->error.status, "%s", be->error.message);
    return SANA_OK;
}

// ------------------------------------------------------------------------------------------------
// Public passes

sana_status sana_dcae_plan_decode(const sana_dcae *m, int64_t h, int64_t w,
                                  const sana_dcae_tiling *tiling, sana_dcae_plan *plan,
                                  sana_error *err) {
    pass_plan p;
    memset(plan, 0, sizeof *plan);
    if (h < 1 || w < 1 || h > (1 << 16) || w > (1 << 16))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae decode: latent is %lld x %lld; expected 1 to 65536 per side",
                           (long long)h, (long long)w);
    sana_status s = plan_pass(m, true, h, w, tiling, &p, err);
    if (!s) *plan = p.pub;
    return s;
}

sana_status sana_dcae_plan_encode(const sana_dcae *m, int64_t H, int64_t W,
                                  const sana_dcae_tiling *tiling, sana_dcae_plan *plan,
                                  sana_error *err) {
    pass_plan p;
    memset(plan, 0, sizeof *plan);
    const int64_t r = m->config.spatial_compression_ratio;
    if (H < r || W < r || H % r || W % r || H > ((int64_t)r << 16) || W > ((int64_t)r << 16))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae encode: image is %lld x %lld pixels; expected sides that are "
                           "positive multiples of %lld (whole latent pixels)", (long long)H, (long long)W, (long long)r);
    sana_status s = plan_pass(m, false, H, W, tiling, &p, err);
    if (!s) *plan = p.pub;
    return s;
}

sana_status sana_dcae_decode(sana_dcae *m, sana_arena *arena, sana_tensor *image,
                             const sana_tensor *latent, const sana_dcae_tiling *tiling,
                             const sana_tap *tap, sana_error *err) {
    const sana_dcae_config *c = &m->config;
    const int64_t r = c->spatial_compression_ratio;
    char a[96], b[96];
    if (!(m->parts & SANA_DCAE_DECODER))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: dc-ae decode: the decoder was not loaded", m->dir);
    if (latent->ndim != 4 || latent->dtype != SANA_DTYPE_F32)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae decode: latent is a %d-d %s tensor %s; expected F32 (B, %d, h, w)",
                           latent->ndim, sana_dtype_name(latent->dtype), sana_shape_str(latent, a, sizeof a),
                           c->latent_channels);
    if (latent->shape[1] != c->latent_channels)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae decode: latent %s has %lld channels; expected %d (latent_channels "
                           "of %s/config.json)", sana_shape_str(latent, a, sizeof a), (long long)latent->shape[1],
                           c->latent_channels, m->dir);
    pass_plan p;
    const int64_t h = latent->shape[2], w = latent->shape[3];
    if (h < 1 || w < 1 || h > (1 << 16) || w > (1 << 16))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae decode: latent %s is %lld x %lld; expected 1 to 65536 per side",
                           sana_shape_str(latent, a, sizeof a), (long long)h, (long long)w);
    sana_tensor want = {.dtype = SANA_DTYPE_F32, .ndim = 4, .shape = {latent->shape[0], c->in_channels, h * r, w * r}};
    if (image->ndim != 4 || image->dtype != SANA_DTYPE_F32 || !sana_tensor_same_shape(image, &want))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae decode: image tensor is %s; expected F32 %s for latent %s "
                           "(%lld pixels per latent pixel)", sana_shape_str(image, a, sizeof a),
                           sana_shape_str(&want, b, sizeof b), sana_shape_str(latent, (char[96]){0}, 96), (long long)r);
    sana_status s = plan_pass(m, true, h, w, tiling, &p, err);
    if (s) return s;
    return run(m, arena, decoder_pass, &p, image, latent, tap, err);
}

sana_status sana_dcae_encode(sana_dcae *m, sana_arena *arena, sana_tensor *latent,
                             const sana_tensor *image, const sana_dcae_tiling *tiling,
                             const sana_tap *tap, sana_error *err) {
    const sana_dcae_config *c = &m->config;
    const int64_t r = c->spatial_compression_ratio;
    char a[96], b[96];
    if (!(m->parts & SANA_DCAE_ENCODER))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: dc-ae encode: the encoder was not loaded", m->dir);
    if (image->ndim != 4 || image->dtype != SANA_DTYPE_F32 || image->shape[1] != c->in_channels)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae encode: image is a %d-d %s tensor %s; expected F32 (B, %d, H, W) "
                           "(in_channels of %s/config.json)", image->ndim, sana_dtype_name(image->dtype),
                           sana_shape_str(image, a, sizeof a), c->in_channels, m->dir);
    const int64_t H = image->shape[2], W = image->shape[3];
    if (H < r || W < r || H % r || W % r || H > (r << 16) || W > (r << 16))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae encode: image %s is %lld x %lld pixels; expected sides that are "
                           "positive multiples of %lld (whole latent pixels)", sana_shape_str(image, a, sizeof a),
                           (long long)H, (long long)W, (long long)r);
    sana_tensor want = {.dtype = SANA_DTYPE_F32, .ndim = 4, .shape = {image->shape[0], c->latent_channels, H / r, W / r}};
    if (latent->ndim != 4 || latent->dtype != SANA_DTYPE_F32 || !sana_tensor_same_shape(latent, &want))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "dc-ae encode: latent tensor is %s; expected F32 %s for image %s",
                           sana_shape_str(latent, a, sizeof a), sana_shape_str(&want, b, sizeof b),
                           sana_shape_str(image, (char[96]){0}, 96));
    pass_plan p;
    sana_status s = plan_pass(m, false, H, W, tiling, &p, err);
    if (s) return s;
    return run(m, arena, encoder_pass, &p, latent, image, tap, err);
}
