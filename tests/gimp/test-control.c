/* test-control: the plug-in's control-image preparation (plug-in/sana-control.c) on drawn
 * shapes: a thick dark stroke becomes one white line along its middle (sketch); the outline of
 * a filled square becomes white lines on its border and nothing inside (edges: GEGL blur,
 * Sobel, non-maximum suppression, hysteresis); an edge map passes unchanged (as is), and every
 * source comes out at the size asked.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gegl.h>

#include "sana-control.h"

static int failures;

static void
check (int ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, ok ? "" : ": ", ok ? "" : detail);
  failures += ! ok;
}

static sana_image
canvas (int w, int h, unsigned char v)
{
  sana_image img = { w, h, malloc ((size_t) w * h * 3) };

  memset (img.rgb, v, (size_t) w * h * 3);
  return img;
}

static void
rect (sana_image *img, int x0, int y0, int x1, int y1, unsigned char v)
{
  for (int y = y0; y < y1; y++)
    memset (img->rgb + ((size_t) y * img->width + x0) * 3, v, (size_t) (x1 - x0) * 3);
}

static int
at (const sana_image *img, int x, int y)
{
  return img->rgb[((size_t) y * img->width + x) * 3];
}

int
main (int argc, char **argv)
{
  const int  W = 256, H = 192;
  sana_image src, out;
  sana_error err = { 0 };
  char       detail[160];

  gegl_init (&argc, &argv);

  /* Sketch: a 15-pixel-wide horizontal black stroke on white. */
  src = canvas (W, H, 255);
  rect (&src, 40, 90, 216, 105, 0);
  check (sana_control_prepare (&src, SANA_CONTROL_SOURCE_SKETCH, W, H, &out, &err) == SANA_OK,
         "sketch: prepared", err.message);
  snprintf (detail, sizeof detail, "middle %d, above %d, below %d, left of it %d", at (&out, 128, 97),
            at (&out, 128, 40), at (&out, 128, 160), at (&out, 5, 97));
  check (at (&out, 128, 97) == 255 && at (&out, 128, 40) == 0 && at (&out, 128, 160) == 0 &&
         at (&out, 5, 97) == 0, "sketch: a dark stroke becomes a white line along its middle", detail);
  sana_image_free (&out);
  sana_image_free (&src);

  /* Edges: a dark square on white, at twice the size: its border is found, its inside and
   * the paper are not. */
  src = canvas (W, H, 255);
  rect (&src, 60, 50, 180, 150, 80);
  check (sana_control_prepare (&src, SANA_CONTROL_SOURCE_EDGES, 2 * W, 2 * H, &out, &err) == SANA_OK &&
         out.width == 2 * W && out.height == 2 * H, "edges: prepared at the size asked", err.message);
  snprintf (detail, sizeof detail, "top border %d, left border %d, inside %d, paper %d", at (&out, 240, 100),
            at (&out, 120, 200), at (&out, 240, 200), at (&out, 20, 20));
  check (at (&out, 240, 100) == 255 && at (&out, 120, 200) == 255 && at (&out, 240, 200) == 0 &&
         at (&out, 20, 20) == 0, "edges: a square's outline, nothing inside or outside", detail);
  sana_image_free (&out);
  sana_image_free (&src);

  /* As is: the same size passes unchanged. */
  src = canvas (W, H, 0);
  for (int i = 0; i < W * H * 3; i++)
    src.rgb[i] = (unsigned char) (i * 7);
  check (sana_control_prepare (&src, SANA_CONTROL_SOURCE_AS_IS, W, H, &out, &err) == SANA_OK &&
         memcmp (src.rgb, out.rgb, (size_t) W * H * 3) == 0, "as is: an edge map passes unchanged", err.message);
  sana_image_free (&out);
  sana_image_free (&src);

  gegl_exit ();
  printf ("control: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
