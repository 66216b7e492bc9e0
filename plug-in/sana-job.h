/* sana-job.h: one generation on a worker thread, with GIMP progress on the plug-in's thread.
 *
 * libgimp talks to GIMP over a pipe from the plug-in's main thread only, so the worker never
 * calls libgimp: it posts progress to a queue that the main thread drains into
 * gimp_progress_*().  Nothing of the user's image is touched while the job runs; a Cancel on
 * GIMP's progress bar kills the plug-in process, which then leaves the image as it was.
 */

#ifndef __SANA_JOB_H__
#define __SANA_JOB_H__

#include <glib.h>

#include "sana.h"
#include "sana-control.h"

typedef struct
{
  gchar             *model;           /* folder or ORG/NAME; NULL: the first found */
  gchar             *device;          /* "auto", "cpu", "cuda" */
  gchar             *prompt;
  gchar             *negative_prompt; /* multi-step models; NULL: "" */
  gint               width;
  gint               height;
  gint               steps;           /* 0: the model's default */
  guint64            seed;
  gdouble            guidance;

  /* ControlNet: the drawable's area as read (NULL for text to image), how to turn it into
   * a line map, its weight, and a ControlNet folder (NULL: the model's own). */
  const sana_image  *control;
  SanaControlSource  control_source;
  gdouble            control_scale;
  gchar             *controlnet;
} SanaJobParams;

/* Runs the whole generation (load, encode, denoise, decode) on a worker thread while
 * showing its progress, and returns the image (free with sana_image_free()) or FALSE with
 * @error set (domain SANA_ERROR, the sana_status as code).
 */
gboolean  sana_job_run             (const SanaJobParams  *params,
                                    sana_image           *image,
                                    gchar               **model_dir,
                                    GError              **error);

#define SANA_ERROR (sana_error_quark ())
GQuark    sana_error_quark         (void);

/* The one conversion point from the core's sana_error to a GError. */
void      sana_set_gerror          (GError              **error,
                                    const sana_error     *err);

#endif /* __SANA_JOB_H__ */
