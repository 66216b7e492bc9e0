/* test-control: the control-image preparation of the plug-in (plug-in/sana-control.c) on
 * drawn shapes: a thick dark stroke becomes one white line of bounded width along its middle
 * (sketch); the outline of a filled square becomes its four edges and nothing inside (edges);
 * an edge map passes unchanged (as is).
 */

#include <math.h>
#include <stdio.h>
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

int
main (int argc, char **argv)
{
  const int W = 256, H = 192;
  gfloat   *g = g_new (gfloat, W * H);
  char      detail[128];
  int       on_line, off_line, inside, edge;

  gegl_init (&argc, &argv);

  /* Sketch: a 15-pixel-wide horizontal black stroke on white. */
  for (int i = 0; i < W * H; i++)
    g[i] = 1.0f;
  for (int y = 90; y < 105; y++)
    for (int x = 40; x < 216; x++)
      g[y * W + x] = 0.0f;
  sana_control_prepare (g, W, H, SANA_CONTROL_SKETCH);
  on_line  = g[97 * W + 128] == 1.0f;  /* the stroke's middle */
  off_line = g[40 * W + 128] == 0.0f && g[150 * W + 128] == 0.0f && g[97 * W + 5] == 0.0f;
  snprintf (detail, sizeof detail, "middle %g, far above %g", g[97 * W + 128], g[40 * W + 128]);
  check (on_line && off_line, "sketch: a dark stroke becomes a white line along its middle", detail);
  {
    int top = -1, bottom = -1;

    for (int y = 0; y < H; y++)
      if (g[y * W + 128] > 0.5f)
        {
          if (top < 0)
            top = y;
          bottom = y;
        }
    snprintf (detail, sizeof detail, "rows %d..%d", top, bottom);
    check (top > 80 && bottom < 115 && bottom - top >= 1,
           "sketch: the line is thinned then thickened, narrower than the stroke's surroundings", detail);
  }

  /* Edges: a mid-grey square on white: its border is found, its inside and the paper are not. */
  for (int i = 0; i < W * H; i++)
    g[i] = 1.0f;
  for (int y = 50; y < 150; y++)
    for (int x = 60; x < 180; x++)
      g[y * W + x] = 0.3f;
  sana_control_prepare (g, W, H, SANA_CONTROL_EDGES);
  edge   = g[50 * W + 120] == 1.0f || g[49 * W + 120] == 1.0f;
  edge  &= g[100 * W + 60] == 1.0f || g[100 * W + 59] == 1.0f;
  inside = g[100 * W + 120] == 0.0f && g[10 * W + 10] == 0.0f;
  snprintf (detail, sizeof detail, "border %g/%g, inside %g", g[50 * W + 120], g[100 * W + 60], g[100 * W + 120]);
  check (edge && inside, "edges: a square's outline, nothing inside or outside", detail);

  /* As is: values pass through. */
  for (int i = 0; i < W * H; i++)
    g[i] = (gfloat) (i % 7) / 6.0f;
  sana_control_prepare (g, W, H, SANA_CONTROL_AS_IS);
  {
    int same = 1;

    for (int i = 0; i < W * H; i++)
      same &= g[i] == (gfloat) (i % 7) / 6.0f;
    check (same, "as is: the edge map passes unchanged", "values changed");
  }

  g_free (g);
  gegl_exit ();
  printf ("control: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
