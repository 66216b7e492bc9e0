// image.c: resolution binning, resize-and-crop, 8-bit conversion (see image.h); control images
// (sana.h): PIL's Lanczos resize (Pillow src/libImaging/Resample.c) and the sketch map.
#include "image.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

// ASPECT_RATIO_1024_BIN: ratio key (height / width, as upstream spells it) -> trained size, in
// upstream's order.
static const struct {
    const char *ratio;
    int height, width;
} bins_1024[] = {
    {"0.25", 512, 2048}, {"0.28", 512, 1856}, {"0.32", 576, 1792}, {"0.33", 576, 1728},
    {"0.35", 576, 1664}, {"0.4", 640, 1600}, {"0.42", 640, 1536}, {"0.48", 704, 1472},
    {"0.5", 704, 1408}, {"0.52", 704, 1344}, {"0.57", 768, 1344}, {"0.6", 768, 1280},
    {"0.68", 832, 1216}, {"0.72", 832, 1152}, {"0.78", 896, 1152}, {"0.82", 896, 1088},
    {"0.88", 960, 1088}, {"0.94", 960, 1024}, {"1.0", 1024, 1024}, {"1.07", 1024, 960},
    {"1.13", 1088, 960}, {"1.21", 1088, 896}, {"1.29", 1152, 896}, {"1.38", 1152, 832},
    {"1.46", 1216, 832}, {"1.67", 1280, 768}, {"1.75", 1344, 768}, {"2.0", 1408, 704},
    {"2.09", 1472, 704}, {"2.4", 1536, 640}, {"2.5", 1600, 640}, {"3.0", 1728, 576},
    {"4.0", 2048, 512},
};

void sana_image_bin_1024(int height, int width, int *bin_height, int *bin_width) {
    // Python compares float(key) (the double parsed from the key) with height / width.
    const double ar = (double)height / (double)width;
    size_t best = 0;
    double best_d = INFINITY;
    for (size_t i = 0; i < SANA_ARRAY_LEN(bins_1024); i++) {
        double d = fabs(strtod(bins_1024[i].ratio, NULL) - ar);
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    *bin_height = bins_1024[best].height;
    *bin_width = bins_1024[best].width;
}

// Source index and weights of F.interpolate(mode="bilinear", align_corners=False) along one
// axis (aten/src/ATen/native/UpSample.h area_pixel_compute_source_index), in float.
static void linear_coeffs(int in, int out, int o, int *i0, int *i1, float *l0, float *l1) {
    const float scale = (float)in / (float)out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    *l1 = src - (float)*i0;
    *l0 = 1.0f - *l1;
}

void sana_image_resize_and_crop(float *dst, const float *src, int C, int h, int w, int new_h,
                                int new_w) {
    if (h == new_h && w == new_w) {
        for (size_t i = 0; i < (size_t)C * h * w; i++) dst[i] = src[i];
        return;
    }
    // ratio = max(new_h / h, new_w / w) in Python floats; sizes truncate. Where the truncation
    // leaves a side short of the request (832 * (120 / 832) = 119.99..., int 119), diffusers
    // slices from row -1 and returns a 1-row image; that side is resized to the request instead.
    const double ratio = fmax((double)new_h / h, (double)new_w / w);
    const int rw = SANA_MAX((int)(w * ratio), new_w), rh = SANA_MAX((int)(h * ratio), new_h);
    const int x0 = (rw - new_w) / 2, y0 = (rh - new_h) / 2;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < new_h; y++) {
            int h0, h1;
            float hl0, hl1;
            linear_coeffs(h, rh, y + y0, &h0, &h1, &hl0, &hl1);
            const float *r0 = src + ((size_t)c * h + h0) * w, *r1 = src + ((size_t)c * h + h1) * w;
            for (int x = 0; x < new_w; x++) {
                int w0, w1;
                float wl0, wl1;
                linear_coeffs(w, rw, x + x0, &w0, &w1, &wl0, &wl1);
                dst[((size_t)c * new_h + y) * new_w + x] =
                    hl0 * (wl0 * r0[w0] + wl1 * r0[w1]) + hl1 * (wl0 * r1[w0] + wl1 * r1[w1]);
            }
        }
}

void sana_image_to_rgb8(uint8_t *rgb, const float *chw, int H, int W) {
    const size_t plane = (size_t)H * W;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float v = chw[c * plane + i] / 2.0f + 0.5f;
            v = !(v >= 0.0f) ? 0.0f : v > 1.0f ? 1.0f : v; // NaN -> 0
            rgb[i * 3 + c] = (uint8_t)nearbyintf(v * 255.0f); // default rounding: half to even
        }
}

// ------------------------------------------------------------------------------------------------
// Control images (sana.h)

// PIL's Lanczos filter (libImaging/Resample.c): sinc(x) sinc(x / 3) on [-3, 3).
static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0; }

#define PIL_PRECISION_BITS (32 - 8 - 2)

// Resample.c precompute_coeffs + normalize_coeffs_8bpc for in -> out samples along one axis:
// bounds (out x 2: first input, count), kk (out x ksize) fixed-point weights. Returns ksize, 0
// when out of memory.
static int lanczos_coeffs(int in, int out, int **bounds_out, int32_t **kk_out) {
    const double scale = (double)in / out;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 3.0 * filterscale;
    const int ksize = (int)ceil(support) * 2 + 1;
    int *bounds = malloc(sizeof(int) * 2 * (size_t)out);
    double *k = malloc(sizeof(double) * (size_t)ksize);
    int32_t *kk = calloc((size_t)out * ksize, sizeof *kk);
    if (!bounds || !k || !kk) {
        free(bounds);
        free(k);
        free(kk);
        return 0;
    }
    for (int xx = 0; xx < out; xx++) {
        const double center = (xx + 0.5) * scale, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in) xmax = in;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            k[x] = lanczos((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (int x = 0; x < xmax; x++) {
            const double w = ww != 0.0 ? k[x] / ww : k[x];
            kk[(size_t)xx * ksize + x] = (int32_t)(w < 0 ? -0.5 + w * (1 << PIL_PRECISION_BITS)
                                                         : 0.5 + w * (1 << PIL_PRECISION_BITS));
        }
        bounds[xx * 2] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    free(k);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static uint8_t clip8(int32_t v) {
    v >>= PIL_PRECISION_BITS; // arithmetic shift, as PIL's clip8
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

sana_status sana_image_resize_lanczos(const sana_image *src, int width, int height, sana_image *out,
                                      sana_error *err) {
    memset(out, 0, sizeof *out);
    if (!src || !src->rgb || src->width < 1 || src->height < 1)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "resize: the source image is empty");
    if (width < 1 || height < 1 || width > SANA_MAX_SIDE || height > SANA_MAX_SIDE)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "resize to %dx%d: width and height must be 1 to %d", width,
                           height, SANA_MAX_SIDE);
    const int W0 = src->width, H0 = src->height;
    if (!(out->rgb = malloc((size_t)width * height * 3)))
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory resizing to %dx%d", width, height);
    out->width = width;
    out->height = height;
    if (W0 == width && H0 == height) { // Image.resize returns a copy
        memcpy(out->rgb, src->rgb, (size_t)width * height * 3);
        return SANA_OK;
    }
    int *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    uint8_t *tmp = NULL;
    const int ksh = lanczos_coeffs(W0, width, &bh, &kh), ksv = lanczos_coeffs(H0, height, &bv, &kv);
    // Rows the vertical pass reads: the horizontal pass makes only those.
    const int y_first = ksv ? bv[0] : 0, y_last = ksv ? bv[(height - 1) * 2] + bv[(height - 1) * 2 + 1] : 0;
    const bool need_h = width != W0, need_v = height != H0;
    const int th = need_h ? y_last - y_first : H0;
    if (!ksh || !ksv || !(tmp = malloc((size_t)width * th * 3))) {
        sana_image_free(out);
        free(bh), free(bv), free(kh), free(kv);
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory resizing to %dx%d", width, height);
    }
    // Horizontal pass: src rows [y_first, y_last) -> tmp (th, width), or tmp = src.
    const uint8_t *in = src->rgb;
    int y_off = 0;
    if (need_h) {
        for (int y = 0; y < th; y++) {
            const uint8_t *row = src->rgb + (size_t)(y + y_first) * W0 * 3;
            for (int x = 0; x < width; x++) {
                const int xmin = bh[x * 2], n = bh[x * 2 + 1];
                const int32_t *k = kh + (size_t)x * ksh;
                for (int c = 0; c < 3; c++) {
                    int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
                    for (int i = 0; i < n; i++) ss += row[(size_t)(xmin + i) * 3 + c] * k[i];
                    tmp[((size_t)y * width + x) * 3 + c] = clip8(ss);
                }
            }
        }
        in = tmp;
        y_off = y_first; // the vertical bounds count from the first row made
    } else {
        memcpy(tmp, src->rgb, (size_t)width * th * 3);
        in = tmp;
    }
    // Vertical pass: in (rows, width) -> out (height, width).
    if (need_v) {
        for (int y = 0; y < height; y++) {
            const int ymin = bv[y * 2] - y_off, n = bv[y * 2 + 1];
            const int32_t *k = kv + (size_t)y * ksv;
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++) {
                    int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
                    for (int i = 0; i < n; i++) ss += in[((size_t)(ymin + i) * width + x) * 3 + c] * k[i];
                    out->rgb[((size_t)y * width + x) * 3 + c] = clip8(ss);
                }
        }
    } else {
        memcpy(out->rgb, in, (size_t)width * height * 3);
    }
    free(tmp);
    free(bh), free(bv), free(kh), free(kv);
    return SANA_OK;
}

// Zhang-Suen thinning of a 0/1 image (h, w) in place: peels boundary pixels in two alternating
// sub-iterations until nothing changes, leaving 8-connected one-pixel-wide lines.
static bool thin(uint8_t *b, int h, int w) {
    uint8_t *del = calloc((size_t)h * w, 1);
    if (!del) return false;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int pass = 0; pass < 2; pass++) {
            size_t n_del = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    if (!b[(size_t)y * w + x]) continue;
#define PX(dy, dx) ((y + (dy) >= 0 && y + (dy) < h && x + (dx) >= 0 && x + (dx) < w) ? b[(size_t)(y + (dy)) * w + x + (dx)] : 0)
                    // p2..p9 clockwise from north
                    const int p[8] = {PX(-1, 0), PX(-1, 1), PX(0, 1), PX(1, 1), PX(1, 0), PX(1, -1), PX(0, -1), PX(-1, -1)};
#undef PX
                    int nb = 0, trans = 0;
                    for (int i = 0; i < 8; i++) {
                        nb += p[i];
                        trans += !p[i] && p[(i + 1) % 8];
                    }
                    if (nb < 2 || nb > 6 || trans != 1) continue;
                    // pass 0: p2 p4 p6 and p4 p6 p8 have a background pixel; pass 1: p2 p4 p8, p2 p6 p8
                    const bool ok = pass == 0 ? (!(p[0] && p[2] && p[4]) && !(p[2] && p[4] && p[6]))
                                              : (!(p[0] && p[2] && p[6]) && !(p[0] && p[4] && p[6]));
                    if (ok) {
                        del[(size_t)y * w + x] = 1;
                        n_del++;
                    }
                }
            for (size_t i = 0; n_del && i < (size_t)h * w; i++)
                if (del[i]) b[i] = del[i] = 0;
            changed |= n_del > 0;
        }
    }
    free(del);
    return true;
}

// OpenCV's BORDER_REFLECT_101 index (gfedcb|abcdefgh|gfedcba), bouncing as often as needed.
static int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
}

// cv2.GaussianBlur(x, (0, 0), sigma) on float32 data: a separable kernel of
// cvRound(sigma * 4 * 2 + 1) | 1 taps (float images), border BORDER_REFLECT_101.
static bool gaussian_blur(float *x, int h, int w, double sigma) {
    const int ks = ((int)lround(sigma * 8.0 + 1.0)) | 1, r = ks / 2;
    float *k = malloc(sizeof(float) * (size_t)ks), *t = malloc(sizeof(float) * (size_t)h * w);
    if (!k || !t) {
        free(k);
        free(t);
        return false;
    }
    double sum = 0.0;
    for (int i = 0; i < ks; i++) sum += exp(-(double)(i - r) * (i - r) / (2.0 * sigma * sigma));
    for (int i = 0; i < ks; i++) k[i] = (float)(exp(-(double)(i - r) * (i - r) / (2.0 * sigma * sigma)) / sum);
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
            float s = 0.0f;
            for (int i = 0; i < ks; i++) s += k[i] * x[(size_t)y * w + reflect101(xx + i - r, w)];
            t[(size_t)y * w + xx] = s;
        }
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
            float s = 0.0f;
            for (int i = 0; i < ks; i++) s += k[i] * t[(size_t)reflect101(y + i - r, h) * w + xx];
            x[(size_t)y * w + xx] = s;
        }
    free(k);
    free(t);
    return true;
}

sana_status sana_control_preprocess(sana_image *img, sana_control_mode mode, sana_error *err) {
    if (!img || !img->rgb || img->width < 1 || img->height < 1)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "control image is empty");
    if (mode == SANA_CONTROL_AS_IS) return SANA_OK;
    if (mode != SANA_CONTROL_SKETCH)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "control mode %d; expected as-is (0) or sketch (1)", (int)mode);
    const int h = img->height, w = img->width;
    const size_t n = (size_t)h * w;
    uint8_t *b = malloc(n);
    float *f = malloc(sizeof(float) * n);
    if (!b || !f) {
        free(b);
        free(f);
        return sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory preparing a %dx%d control image", w, h);
    }
    // Luma (ITU-R 601, as PIL's "L" and OpenCV), inverted: dark strokes become bright; > 127 is a stroke.
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->rgb + i * 3;
        const int luma = (p[0] * 299 + p[1] * 587 + p[2] * 114 + 500) / 1000;
        b[i] = 255 - luma > 127;
    }
    bool ok = thin(b, h, w);
    // NVlabs after NMS: GaussianBlur(sigma 3) of the 0/255 lines, then > 4 -> 255.
    for (size_t i = 0; ok && i < n; i++) f[i] = b[i] ? 255.0f : 0.0f;
    ok = ok && gaussian_blur(f, h, w, 3.0);
    for (size_t i = 0; ok && i < n; i++) {
        const uint8_t v = f[i] > 4.0f ? 255 : 0;
        img->rgb[i * 3] = img->rgb[i * 3 + 1] = img->rgb[i * 3 + 2] = v;
    }
    free(b);
    free(f);
    return ok ? SANA_OK : sana_errorf(err, SANA_STATUS_NO_MEMORY, "out of memory preparing a %dx%d control image", w, h);
}
