// image.c: resolution binning, resize-and-crop, 8-bit conversion (see image.h).
#include "image.h"

#include <math.h>
#include <stdlib.h>

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
    // ratio = max(new_h / h, new_w / w) in Python floats; sizes truncate.
    const double ratio = fmax((double)new_h / h, (double)new_w / w);
    const int rw = (int)(w * ratio), rh = (int)(h * ratio);
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
