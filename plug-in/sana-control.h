/* sana-control.h: the ControlNet control image from a drawable, clipped to the selection.
 *
 * SANA's ControlNets were trained on HED scribbles: white lines on black, as NVlabs'
 * get_scribble_map makes them (HED soft edges, non-maximum suppression, threshold, a Gaussian
 * blur of sigma 3 and a threshold of 4/255 that thickens the lines).  Three ways to get one:
 * - SANA_CONTROL_AS_IS:    the drawable already is such a map (its luminance is used);
 * - SANA_CONTROL_SKETCH:   dark strokes on a light ground: inverted, thinned to one-pixel
 *                          lines, then blurred and thresholded as the NVlabs chain ends;
 * - SANA_CONTROL_EDGES:    a picture: GEGL's Gaussian blur, a Sobel gradient, non-maximum
 *                          suppression and a threshold (a Canny-like stand-in for HED + NMS),
 *                          then the same blur and threshold.
 */

#ifndef __SANA_CONTROL_H__
#define __SANA_CONTROL_H__

#include <libgimp/gimp.h>

typedef enum
{
  SANA_CONTROL_AS_IS,
  SANA_CONTROL_SKETCH,
  SANA_CONTROL_EDGES
} SanaControlMode;

/* Reads @drawable inside the selection's bounds (the whole drawable without a selection) and
 * returns the control image (@width × @height RGB8, g_free it) and its bounds in image
 * coordinates (@x, @y).  FALSE with @error set when the selection does not touch the drawable.
 */
gboolean  sana_control_from_drawable (GimpDrawable     *drawable,
                                      SanaControlMode   mode,
                                      guchar          **rgb,
                                      gint             *x,
                                      gint             *y,
                                      gint             *width,
                                      gint             *height,
                                      GError          **error);

/* The preparation alone, on a luminance image (values 0..1, @width × @height): the output is
 * 0 or 1 per pixel, white lines on black.  Exposed for tests.
 */
void      sana_control_prepare       (gfloat           *gray,
                                      gint              width,
                                      gint              height,
                                      SanaControlMode   mode);

#endif /* __SANA_CONTROL_H__ */
