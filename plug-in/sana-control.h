/* sana-control.h: the ControlNet control image from a drawable, clipped to the selection.
 *
 * SANA's ControlNets were trained on HED scribbles: white lines on black, as NVlabs'
 * get_scribble_map makes them (HED soft edges, non-maximum suppression, threshold, a Gaussian
 * blur of sigma 3 and a threshold of 4/255 that thickens the lines).  Three sources:
 * - SANA_CONTROL_SOURCE_AS_IS:  the drawable already is such a map (used as it is);
 * - SANA_CONTROL_SOURCE_SKETCH: dark strokes on a light ground: the core's sketch map
 *                               (inverted, thinned to one-pixel lines, blurred, thresholded),
 *                               the same as `sana generate --control-mode sketch`;
 * - SANA_CONTROL_SOURCE_EDGES:  a picture: GEGL's Gaussian blur, a Sobel gradient, non-maximum
 *                               suppression and hysteresis thresholds (a Canny-like stand-in for
 *                               HED + NMS), then the same thinning, blur and threshold.
 * Everything runs at the generation size, as NVlabs detects at the bin's size.
 */

#ifndef __SANA_CONTROL_H__
#define __SANA_CONTROL_H__

#include <libgimp/gimp.h>

#include "sana.h"

typedef enum
{
  SANA_CONTROL_SOURCE_AS_IS,
  SANA_CONTROL_SOURCE_SKETCH,
  SANA_CONTROL_SOURCE_EDGES
} SanaControlSource;

/* Reads @drawable inside the selection's bounds (the whole drawable without a selection) as
 * RGB8 (transparent parts over black for an edge map, over white otherwise) into @rgb (free
 * with sana_image_free()), and the bounds' corner in image coordinates (@x, @y).  FALSE with
 * @error set when the selection does not touch the drawable or the area is under 32 × 32.
 * Main thread only (libgimp).
 */
gboolean  sana_control_read    (GimpDrawable       *drawable,
                                SanaControlSource   source,
                                sana_image         *rgb,
                                gint               *x,
                                gint               *y,
                                GError            **error);

/* Makes the control image the model sees from what sana_control_read() returned: resized to
 * @width × @height as diffusers resizes a PIL image (Lanczos), then turned into a line map per
 * @source.  Any thread (GEGL and the core only).
 */
sana_status sana_control_prepare (const sana_image  *src,
                                  SanaControlSource  source,
                                  gint               width,
                                  gint               height,
                                  sana_image        *out,
                                  sana_error        *err);

#endif /* __SANA_CONTROL_H__ */
