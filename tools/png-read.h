// png-read.h: reading a control image from a PNG file.
#ifndef SANA_PNG_READ_H
#define SANA_PNG_READ_H

#include <stdbool.h>

#include "sana.h"

// Reads path as 8-bit RGB: palette, gray and 16-bit files are expanded, 16-bit samples keep
// their high byte, and no gamma conversion is made (as PIL's Image.open(...).convert("RGB"),
// which SanaControlNetPipeline is given). An alpha channel is dropped (PIL's convert) or, with
// over_white, composited over white (NVlabs' HWC3, for drawings on a transparent layer).
// Errors name the file and what libpng reported (not a PNG, truncated, ...).
sana_status png_read_rgb8(const char *path, bool over_white, sana_image *out, sana_error *err);

#endif // SANA_PNG_READ_H
