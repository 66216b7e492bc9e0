// png-write.c: RGB8 images to PNG (libpng) with text chunks for the generation parameters.
#include "png-write.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sana_status png_write_rgb8(const char *path, const sana_image *img, const png_text_kv *text, int n_text,
                           sana_error *err) {
    // Write to a temporary file beside the target and rename, so a failure never leaves a
    // half-written image under the user's name.
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof tmp)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return sana_errorf(err, SANA_STATUS_IO, "%s: cannot create: %s", path, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = NULL;
    png_textp chunks = NULL;
    if (!png || !info) goto fail;
    rows = malloc(sizeof *rows * (size_t)img->height);
    chunks = calloc((size_t)(n_text > 0 ? n_text : 1), sizeof *chunks);
    if (!rows || !chunks) goto fail;
    if (setjmp(png_jmpbuf(png))) goto fail;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (int i = 0; i < n_text; i++) {
        // iTXt: UTF-8 values (a prompt may be any language).
        chunks[i].compression = PNG_ITXT_COMPRESSION_NONE;
        chunks[i].key = (png_charp)text[i].key;
        chunks[i].text = (png_charp)text[i].value;
        chunks[i].lang = (png_charp) "";
        chunks[i].lang_key = (png_charp) "";
    }
    if (n_text > 0) png_set_text(png, info, chunks, n_text);
    for (int y = 0; y < img->height; y++) rows[y] = img->rgb + (size_t)y * (size_t)img->width * 3;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(chunks);
    if (fclose(f) != 0) {
        unlink(tmp);
        return sana_errorf(err, SANA_STATUS_IO, "%s: write error: %s", path, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sana_errorf(err, SANA_STATUS_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return SANA_OK;
fail:
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(chunks);
    fclose(f);
    unlink(tmp);
    return sana_errorf(err, SANA_STATUS_IO, "%s: PNG encoding failed (disk full?)", path);
}
