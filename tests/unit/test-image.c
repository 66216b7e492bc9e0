// test-image: resolution binning, resize-and-crop and 8-bit conversion against diffusers'
// image processor (tests/reference/gen_image.py).
//
// usage: test-image DATA_DIR
#include <stdio.h>
#include <stdlib.h>

#include "../common/check.h"
#include "../common/compare.h"
#include "../common/fixture.h"
#include "image.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/image/image.safetensors", argv[1]);
    sana_safetensors *ref = fx_open(path);

    // Binning: every request maps to the same trained size.
    sana_tensor req = fx_get_as(ref, "bin.request", SANA_DTYPE_I32), res = fx_get_as(ref, "bin.result", SANA_DTYPE_I32);
    const int32_t *rq = req.data, *rs = res.data;
    int bad = 0;
    for (int64_t i = 0; i < req.shape[0]; i++) {
        int h, w;
        sana_image_bin_1024(rq[2 * i], rq[2 * i + 1], &h, &w);
        if (h != rs[2 * i] || w != rs[2 * i + 1]) {
            if (bad++ < 5)
                printf("     %dx%d -> %dx%d, reference %dx%d\n", rq[2 * i], rq[2 * i + 1], h, w, rs[2 * i], rs[2 * i + 1]);
        }
    }
    char what[128];
    snprintf(what, sizeof what, "binning of %lld requested sizes", (long long)req.shape[0]);
    check_true(bad == 0, what, "%d differ", bad);

    // Resize and crop back to the requested size; cases 5 and 6 are sizes where diffusers' int()
    // leaves a side short of the request (see gen_image.py).
    for (int i = 0; i < 7; i++) {
        char in_name[64], out_name[64];
        snprintf(in_name, sizeof in_name, "resize%d.input", i);
        snprintf(out_name, sizeof out_name, "resize%d.output", i);
        sana_tensor in = fx_get(ref, in_name), out = fx_get(ref, out_name);
        float *got = malloc(sana_tensor_nbytes(&out));
        sana_image_resize_and_crop(got, in.data, 3, (int)in.shape[2], (int)in.shape[3], (int)out.shape[2],
                                   (int)out.shape[3]);
        if (!compare_report(out_name, got, out.data, (size_t)sana_tensor_numel(&out), 1e-6, 0.999999)) check_failures++;
        free(got);
    }

    // [-1, 1] -> RGB8 with round-half-to-even, bit-exact.
    sana_tensor x = fx_get(ref, "rgb8.input"), want = fx_get_as(ref, "rgb8.output", SANA_DTYPE_I32);
    const int H = (int)x.shape[2], W = (int)x.shape[3];
    uint8_t *rgb = malloc((size_t)H * W * 3);
    sana_image_to_rgb8(rgb, x.data, H, W);
    bad = 0;
    for (int i = 0; i < H * W * 3; i++) bad += rgb[i] != ((int32_t *)want.data)[i];
    check_true(bad == 0, "8-bit conversion (incl. exact halves) bit-equal", "%d of %d differ", bad, H * W * 3);
    free(rgb);
    sana_st_free(ref);
    return check_summary("image");
}
