/* sana-control.c: control images for ControlNet (see sana-control.h). */

#include "config.h"

#include <math.h>
#include <string.h>

#include <stdlib.h>

#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>

#include "sana-control.h"

/* The pre-blur of the edge detector, in pixels of a 1024-pixel short side. */
#define DETECT_RESOLUTION 1024.0
#define EDGE_SIGMA        1.4

/* GEGL's Gaussian blur (edges clamped) of a one-channel float image, in place. */
static void
blur (gfloat  *data,
      gint     width,
      gint     height,
      gdouble  sigma)
{
  const Babl     *format = babl_format ("Y float");
  GeglRectangle   rect   = { 0, 0, width, height };
  GeglBuffer     *in     = gegl_buffer_linear_new_from_data (data, format, &rect,
                                                            width * sizeof (gfloat), NULL, NULL);
  GeglBuffer     *out    = gegl_buffer_new (&rect, format);
  GeglNode       *graph  = gegl_node_new ();
  GeglNode       *source, *op, *sink;

  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", in, NULL);
  op     = gegl_node_new_child (graph, "operation", "gegl:gaussian-blur",
                                "std-dev-x", sigma, "std-dev-y", sigma, NULL);
  sink   = gegl_node_new_child (graph, "operation", "gegl:write-buffer", "buffer", out, NULL);
  gegl_node_link_many (source, op, sink, NULL);
  gegl_node_process (sink);
  gegl_buffer_get (out, &rect, 1.0, format, data, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);

  g_object_unref (graph);
  g_object_unref (out);
  g_object_unref (in);
}

/* Canny-like edges: Sobel gradient, non-maximum suppression, hysteresis thresholds at 10 %
 * and 25 % of the strongest gradient. */
static void
edges (const gfloat *g,
       guchar       *out,
       gint          w,
       gint          h)
{
  gfloat *mag  = g_malloc0_n ((gsize) w * h, sizeof (gfloat));
  guchar *dir  = g_malloc0 ((gsize) w * h);
  gint   *todo = g_malloc_n ((gsize) w * h, sizeof (gint));
  gfloat  top  = 0.0f, lo, hi;
  gint    n    = 0;

  for (gint y = 1; y < h - 1; y++)
    for (gint x = 1; x < w - 1; x++)
      {
        const gfloat *r  = g + (gsize) y * w + x;
        gfloat        gx = (r[-w + 1] + 2 * r[1] + r[w + 1]) - (r[-w - 1] + 2 * r[-1] + r[w - 1]);
        gfloat        gy = (r[w - 1] + 2 * r[w] + r[w + 1]) - (r[-w - 1] + 2 * r[-w] + r[-w + 1]);
        gfloat        a  = atan2f (gy, gx);
        gint          q  = (gint) lrintf (a / (gfloat) G_PI * 4.0f);

        mag[(gsize) y * w + x] = hypotf (gx, gy);
        dir[(gsize) y * w + x] = (guchar) ((q % 4 + 4) % 4); /* 0: E-W, 1: NE-SW, 2: N-S, 3: NW-SE */
        top = MAX (top, mag[(gsize) y * w + x]);
      }
  lo = 0.10f * top;
  hi = 0.25f * top;
  memset (out, 0, (gsize) w * h);
  for (gint y = 1; y < h - 1; y++)
    for (gint x = 1; x < w - 1; x++)
      {
        static const gint dx[4] = { 1, 1, 0, -1 }, dy[4] = { 0, 1, 1, 1 };
        gsize  i = (gsize) y * w + x;
        gint   d = dir[i];
        gfloat m = mag[i];

        if (m < lo || top <= 0.0f ||
            m < mag[i + dy[d] * w + dx[d]] || m < mag[i - dy[d] * w - dx[d]])
          continue;
        out[i] = m >= hi ? 2 : 1; /* 2: strong, 1: weak */
        if (out[i] == 2)
          todo[n++] = (gint) i;
      }
  /* Hysteresis: weak edges connected to strong ones stay. */
  while (n > 0)
    {
      gint i = todo[--n];

      for (gint oy = -1; oy <= 1; oy++)
        for (gint ox = -1; ox <= 1; ox++)
          {
            gint j = i + oy * w + ox;

            if (j >= 0 && j < w * h && out[j] == 1)
              {
                out[j]    = 2;
                todo[n++] = j;
              }
          }
    }
  for (gsize i = 0; i < (gsize) w * h; i++)
    out[i] = out[i] == 2;
  g_free (mag);
  g_free (dir);
  g_free (todo);
}

sana_status
sana_control_prepare (const sana_image  *src,
                      SanaControlSource  source,
                      gint               width,
                      gint               height,
                      sana_image        *out,
                      sana_error        *err)
{
  sana_status s = sana_image_resize_lanczos (src, width, height, out, err);
  const gsize n = (gsize) width * height;

  if (s != SANA_OK || source == SANA_CONTROL_SOURCE_AS_IS)
    return s;

  if (source == SANA_CONTROL_SOURCE_EDGES)
    {
      gfloat *gray  = g_malloc_n (n, sizeof (gfloat));
      guchar *lines = g_malloc (n);

      for (gsize i = 0; i < n; i++) /* ITU-R 601 luma, as the sketch map */
        gray[i] = (0.299f * out->rgb[3 * i] + 0.587f * out->rgb[3 * i + 1] +
                   0.114f * out->rgb[3 * i + 2]) / 255.0f;
      blur (gray, width, height, MAX (0.7, EDGE_SIGMA * MIN (width, height) / DETECT_RESOLUTION));
      edges (gray, lines, width, height);
      /* One-pixel edges as dark strokes on white: the sketch map then thins (a no-op on
       * them), blurs and thresholds exactly as for a drawing. */
      for (gsize i = 0; i < n; i++)
        out->rgb[3 * i] = out->rgb[3 * i + 1] = out->rgb[3 * i + 2] = lines[i] ? 0 : 255;
      g_free (gray);
      g_free (lines);
    }

  s = sana_control_preprocess (out, SANA_CONTROL_SKETCH, err);
  if (s != SANA_OK)
    sana_image_free (out);
  return s;
}

gboolean
sana_control_read (GimpDrawable       *drawable,
                   SanaControlSource   source,
                   sana_image         *rgb,
                   gint               *x,
                   gint               *y,
                   GError            **error)
{
  GeglBuffer *buffer;
  guchar     *rgba;
  gint        ox, oy, w, h;
  gsize       n;

  if (! gimp_drawable_mask_intersect (drawable, x, y, &w, &h) || w <= 0 || h <= 0)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   _("The selection does not touch the layer \"%s\": select part of it, or "
                     "nothing to use the whole layer."),
                   gimp_item_get_name (GIMP_ITEM (drawable)));
      return FALSE;
    }
  if (w < 32 || h < 32)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   _("The area to generate is %d × %d pixels; it must be at least 32 × 32."), w, h);
      return FALSE;
    }

  n      = (gsize) w * h;
  rgba   = g_malloc (n * 4);
  buffer = gimp_drawable_get_buffer (drawable);
  gegl_buffer_get (buffer, GEGL_RECTANGLE (*x, *y, w, h), 1.0, babl_format ("R'G'B'A u8"), rgba,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);

  /* Transparent parts: black for an edge map, white paper for sketches and pictures. */
  rgb->width  = w;
  rgb->height = h;
  rgb->rgb    = malloc (n * 3);
  for (gsize i = 0; i < n; i++)
    for (gint c = 0; c < 3; c++)
      {
        guint a = rgba[4 * i + 3], v = rgba[4 * i + c];

        rgb->rgb[3 * i + c] = (guchar) ((v * a + (source == SANA_CONTROL_SOURCE_AS_IS ? 0 : 255) * (255 - a) + 127) / 255);
      }
  g_free (rgba);

  gimp_drawable_get_offsets (drawable, &ox, &oy);
  *x += ox;
  *y += oy;

  return TRUE;
}
