/* sana-layer.c: inserting the generated image as a layer (see sana-layer.h). */

#include "config.h"

#include <string.h>

#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>

#include "sana-layer.h"

#define NAME_CHARS 48

gchar *
sana_layer_name (const gchar *prompt,
                 guint64      seed)
{
  gchar   *first = g_strstrip (g_strdup (prompt));
  gchar   *nl    = strchr (first, '\n');
  gchar   *seed_text = g_strdup_printf ("%" G_GUINT64_FORMAT, seed);
  gchar   *name;
  glong    chars;

  if (nl)
    *nl = '\0';
  chars = g_utf8_strlen (first, -1);
  if (chars > NAME_CHARS)
    {
      gchar *cut = g_utf8_substring (first, 0, NAME_CHARS);

      /* TRANSLATORS: a layer name: the start of the prompt, then the seed */
      name = g_strdup_printf (_("%s… (seed %s)"), cut, seed_text);
      g_free (cut);
    }
  else
    {
      /* TRANSLATORS: a layer name: the prompt, then the seed */
      name = g_strdup_printf (_("%s (seed %s)"), first, seed_text);
    }
  g_free (first);
  g_free (seed_text);

  return name;
}

GimpLayer *
sana_layer_insert (GimpImage         *image,
                   const sana_image  *rgb,
                   const gchar       *name,
                   const gchar       *parameters,
                   gint               offset_x,
                   gint               offset_y,
                   GError           **error)
{
  GimpLayer    *layer;
  GeglBuffer   *buffer;
  GimpParasite *parasite;

  gimp_image_undo_group_start (image);

  layer = gimp_layer_new (image, name, rgb->width, rgb->height, GIMP_RGBA_IMAGE, 100.0,
                          gimp_image_get_default_new_layer_mode (image));
  if (layer == NULL ||
      ! gimp_image_insert_layer (image, layer, NULL, -1))
    {
      gimp_image_undo_group_end (image);
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   _("Could not add a %d × %d layer to the image."), rgb->width, rgb->height);
      return NULL;
    }
  gimp_layer_set_offsets (layer, offset_x, offset_y);

  /* babl converts sRGB 8-bit to the layer's own precision and colour space. */
  buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, rgb->width, rgb->height), 0,
                   babl_format ("R'G'B' u8"), rgb->rgb, rgb->width * 3);
  g_object_unref (buffer);

  parasite = gimp_parasite_new (SANA_PARASITE_NAME, GIMP_PARASITE_PERSISTENT,
                                strlen (parameters) + 1, parameters);
  gimp_item_attach_parasite (GIMP_ITEM (layer), parasite);
  gimp_parasite_free (parasite);

  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, rgb->width, rgb->height);
  gimp_image_undo_group_end (image);

  return layer;
}
