/* sana-control.c: control images for ControlNet (see sana-control.h). */

#include "config.h"

#include <math.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>

#include "sana-control.h"

/* NVlabs works at a detect resolution of about 1024 on the short side and blurs with sigma 3
 * there; here the image stays at its own size and the sigmas scale with it. */
#define DETECT_RESOLUTION 1024.0
#define LINE_SIGMA        3.0
#define LINE_THRESHOLD    (4.0f / 255.0f)

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

/* Zhang-Suen thinning of a 0/1 image to one-pixel-wide lines. */
static void
thin (guchar *m,
      gint    w,
      gint    h)
{
  guchar  *del     = g_malloc0 ((gsize) w * h);
  gboolean changed = TRUE;

  while (changed)
    {
      changed = FALSE;
      for (gint pass = 0; pass < 2; pass++)
        {
          for (gint y = 1; y < h - 1; y++)
            for (gint x = 1; x < w - 1; x++)
              {
                const guchar *r = m + (gsize) y * w + x;
                gint p[8], b = 0, a = 0;

                if (! *r)
                  continue;
                /* neighbours clockwise from north */
                p[0] = r[-w];  p[1] = r[-w + 1]; p[2] = r[1];  p[3] = r[w + 1];
                p[4] = r[w];   p[5] = r[w - 1];  p[6] = r[-1]; p[7] = r[-w - 1];
                for (gint i = 0; i < 8; i++)
                  {
                    b += p[i];
                    a += ! p[i] && p[(i + 1) % 8];
                  }
                if (b < 2 || b > 6 || a != 1)
                  continue;
                /* step 1: N, E or S background and E, S or W background; step 2: N, E or
                 * W and N, S or W */
                if (pass == 0 ? ((p[0] && p[2] && p[4]) || (p[2] && p[4] && p[6]))
                              : ((p[0] && p[2] && p[6]) || (p[0] && p[4] && p[6])))
                  continue;
                del[(gsize) y * w + x] = 1;
              }
          for (gsize i = 0; i < (gsize) w * h; i++)
            if (del[i])
              {
                m[i]   = 0;
                del[i] = 0;
                changed = TRUE;
              }
        }
    }
  g_free (del);
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

void
sana_control_prepare (gfloat          *gray,
                      gint             width,
                      gint             height,
                      SanaControlMode  mode)
{
  const gsize   n     = (gsize) width * height;
  const gdouble scale = MIN (width, height) / DETECT_RESOLUTION;
  guchar       *lines;

  if (mode == SANA_CONTROL_AS_IS)
    return;

  lines = g_malloc0 (n);
  if (mode == SANA_CONTROL_SKETCH)
    {
      for (gsize i = 0; i < n; i++)
        lines[i] = gray[i] < 0.5f; /* dark ink */
      thin (lines, width, height);
    }
  else
    {
      blur (gray, width, height, MAX (0.7, 1.4 * scale));
      edges (gray, lines, width, height);
    }

  /* NVlabs' last steps: Gaussian blur of sigma 3, then everything above 4/255 is a line. */
  for (gsize i = 0; i < n; i++)
    gray[i] = lines[i];
  blur (gray, width, height, MAX (0.5, LINE_SIGMA * scale));
  for (gsize i = 0; i < n; i++)
    gray[i] = gray[i] > LINE_THRESHOLD ? 1.0f : 0.0f;
  g_free (lines);
}

gboolean
sana_control_from_drawable (GimpDrawable     *drawable,
                            SanaControlMode   mode,
                            guchar          **rgb,
                            gint             *x,
                            gint             *y,
                            gint             *width,
                            gint             *height,
                            GError          **error)
{
  GeglBuffer *buffer;
  gfloat     *ya, *gray;
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
  ya     = g_malloc_n (n * 2, sizeof (gfloat));
  gray   = g_malloc_n (n, sizeof (gfloat));
  buffer = gimp_drawable_get_buffer (drawable);
  gegl_buffer_get (buffer, GEGL_RECTANGLE (*x, *y, w, h), 1.0, babl_format ("Y'A float"), ya,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);

  /* Transparent parts: black for an edge map, white paper for sketches and pictures. */
  for (gsize i = 0; i < n; i++)
    {
      gfloat a = CLAMP (ya[2 * i + 1], 0.0f, 1.0f);

      gray[i] = ya[2 * i] * a + (mode == SANA_CONTROL_AS_IS ? 0.0f : 1.0f - a);
    }
  g_free (ya);

  sana_control_prepare (gray, w, h, mode);

  *rgb = g_malloc (n * 3);
  for (gsize i = 0; i < n; i++)
    {
      guchar v = (guchar) lrintf (CLAMP (gray[i], 0.0f, 1.0f) * 255.0f);

      (*rgb)[3 * i] = (*rgb)[3 * i + 1] = (*rgb)[3 * i + 2] = v;
    }
  g_free (gray);

  gimp_drawable_get_offsets (drawable, &ox, &oy);
  *x += ox;
  *y += oy;
  *width  = w;
  *height = h;

  return TRUE;
}
