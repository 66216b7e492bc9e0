// png-write.h: writing the generated image as PNG with its parameters in text chunks.
#ifndef SANA_PNG_WRITE_H
#define SANA_PNG_WRITE_H

#include "sana.h"

typedef struct png_text_kv {
    const char *key;   // Latin-1 keyword, 1-79 characters
    const char *value; // UTF-8
} png_text_kv;

// Writes img to path atomically (a temporary file renamed into place).
sana_status png_write_rgb8(const char *path, const sana_image *img, const png_text_kv *text, int n_text,
                           sana_error *err);

#endif // SANA_PNG_WRITE_H
