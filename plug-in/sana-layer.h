/* sana-layer.h: a generated image into the user's image, as one new layer in one undo step. */

#ifndef __SANA_LAYER_H__
#define __SANA_LAYER_H__

#include <libgimp/gimp.h>

#include "sana.h"

#define SANA_PARASITE_NAME "sana-generate-parameters"

/* Inserts @rgb as a new RGBA layer named @name above the active layer of @image (at the top
 * when none is active), at (@offset_x, @offset_y), inside one undo group, converted by babl
 * from sRGB 8-bit to the image's precision and colour space. @parameters is attached as a
 * persistent layer parasite.  Returns the layer, or NULL with @error set.
 */
GimpLayer * sana_layer_insert (GimpImage         *image,
                               const sana_image  *rgb,
                               const gchar       *name,
                               const gchar       *parameters,
                               gint               offset_x,
                               gint               offset_y,
                               GError           **error);

/* "a cat sleeping on a window… (seed 42)": the prompt's first line, shortened. */
gchar     * sana_layer_name   (const gchar       *prompt,
                               guint64            seed);

#endif /* __SANA_LAYER_H__ */
