// png-read.c: PNG files -> RGB8 (libpng), for control images (see png-read.h).
#include "png-read.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct read_error {
    jmp_buf jmp;
    char message[200];
} read_error;

static void on_error(png_structp png, png_const_charp msg) {
    read_error *e = png_get_error_ptr(png);
    snprintf(e->message, sizeof e->message, "%s", msg);
    longjmp(e->jmp, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

sana_status png_read_rgb8(const char *path, bool over_white, sana_image *out, sana_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return sana_errorf(err, SANA_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: not a PNG file (expected a PNG image)", path);
    }
    read_error e = {.message = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    // Set after setjmp and read after a longjmp: volatile.
    uint8_t *volatile rgba = NULL;
    png_bytep *volatile rows = NULL;
    sana_status s = SANA_OK;
    if (!png || !info) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory reading the PNG", path);
        goto done;
    }
    if (setjmp(e.jmp)) {
        s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: unreadable PNG (%s); expected a complete PNG image", path,
                        e.message);
        goto done;
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w < 1 || h < 1 || w > 16384 || h > 16384) {
        s = sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: image is %ux%u; expected 1 to 16384 pixels a side", path,
                        (unsigned)w, (unsigned)h);
        goto done;
    }
    // -> 8-bit RGBA without gamma handling: palettes and low bit depths expanded, 16-bit samples
    // cut to their high byte, gray replicated, an opaque alpha added when there is none.
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) {
        s = sana_errorf(err, SANA_STATUS_BAD_FILE, "%s: unexpected PNG layout", path);
        goto done;
    }
    rgba = malloc((size_t)w * h * 4);
    rows = malloc(sizeof *rows * h);
    if (!(out->rgb = malloc((size_t)w * h * 3)) || !rgba || !rows) {
        s = sana_errorf(err, SANA_STATUS_NO_MEMORY, "%s: out of memory for a %ux%u image", path, (unsigned)w,
                        (unsigned)h);
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = rgba + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < 3; c++) {
            const unsigned v = rgba[i * 4 + c], a = rgba[i * 4 + 3];
            out->rgb[i * 3 + c] = over_white ? (uint8_t)((v * a + 255u * (255u - a) + 127u) / 255u) : (uint8_t)v;
        }
    out->width = (int)w;
    out->height = (int)h;
done:
    if (s) sana_image_free(out);
    png_destroy_read_struct(&png, &info, NULL);
    free((void *)rgba);
    free((void *)rows);
    fclose(f);
    return s;
}
