// image.h: the pipelines' image-size and pixel post-processing, on the host.
//
// Mirrors diffusers src/diffusers/image_processor.py (PixArtImageProcessor.
// classify_height_width_bin and resize_and_crop_tensor; VaeImageProcessor.postprocess with
// output_type "pil") and pipelines/pixart_alpha/pipeline_pixart_alpha.py (ASPECT_RATIO_1024_BIN,
// the table SanaSprintPipeline bins to when transformer.config.sample_size == 32).
#ifndef SANA_IMAGE_H
#define SANA_IMAGE_H

#include <stdint.h>

// The trained size nearest in aspect ratio to height x width (first minimum of
// |ratio - height/width| in the table's order, as Python's min()).
void sana_image_bin_1024(int height, int width, int *bin_height, int *bin_width);

// Bilinear resize (align_corners=False, no antialias, as torch.nn.functional.interpolate) of
// src (C, h, w) to cover (new_h, new_w) with the aspect ratio kept, then the centre crop:
// dst (C, new_h, new_w). Host floats. One deliberate difference: where int() truncation leaves
// a resized side short of the request, diffusers returns a 1-row (or 1-column) image (its open
// issue #8911); here that side is resized to exactly the request.
void sana_image_resize_and_crop(float *dst, const float *src, int C, int h, int w, int new_h,
                                int new_w);

// [-1, 1] (C=3, H, W) planes -> interleaved RGB8: round(clamp(x / 2 + 0.5, 0, 1) * 255) with
// round-half-to-even, in float32 as numpy computes it.
void sana_image_to_rgb8(uint8_t *rgb, const float *chw, int H, int W);

#endif // SANA_IMAGE_H
