/* sana-job.c: a generation on a worker thread, progress relayed to GIMP (see sana-job.h). */

#include "config.h"

#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>

#include "sana-job.h"

typedef enum
{
  MSG_PROGRESS,
  MSG_DONE
} MsgKind;

typedef struct
{
  MsgKind    kind;
  sana_stage stage;
  gint       step;
  gint       total;
} Msg;

typedef struct
{
  const SanaJobParams *params;
  GAsyncQueue         *queue;
  sana_image           image;
  sana_error           err;
  sana_status          status;
  gchar               *model_dir;
} Job;

G_DEFINE_QUARK (sana-error-quark, sana_error)

void
sana_set_gerror (GError           **error,
                 const sana_error  *err)
{
  g_set_error_literal (error, SANA_ERROR, (gint) err->status,
                       err->message[0] ? err->message : sana_status_name (err->status));
}

static void
push (Job        *job,
      MsgKind     kind,
      sana_stage  stage,
      gint        step,
      gint        total)
{
  Msg *msg = g_new0 (Msg, 1);

  msg->kind  = kind;
  msg->stage = stage;
  msg->step  = step;
  msg->total = total;
  g_async_queue_push (job->queue, msg);
}

static bool
on_progress (void       *user,
             sana_stage  stage,
             int         step,
             int         total)
{
  push (user, MSG_PROGRESS, stage, step, total);

  /* Cancelling is GIMP's: its Cancel button ends this process. */
  return TRUE;
}

static gpointer
worker (gpointer data)
{
  Job                  *job     = data;
  const SanaJobParams  *params  = job->params;
  sana_pipeline_params  pp      = sana_pipeline_default_params ();
  sana_generate_params  gp;
  sana_pipeline        *pipeline;
  sana_image            control = { 0 };

  pp.model         = params->model;
  pp.device        = params->device;
  pp.controlnet    = params->controlnet;
  pp.progress      = on_progress;
  pp.progress_user = job;

  job->status = sana_pipeline_new (&pp, &pipeline, &job->err);
  if (job->status == SANA_OK)
    {
      job->model_dir = g_strdup (sana_pipeline_model_dir (pipeline));

      gp = sana_pipeline_generate_defaults (pipeline);
      gp.prompt          = params->prompt;
      gp.negative_prompt = params->negative_prompt;
      gp.width           = params->width;
      gp.height          = params->height;
      gp.seed            = params->seed;
      gp.guidance        = (float) params->guidance;
      gp.progress        = on_progress;
      gp.progress_user   = job;
      if (params->steps > 0)
        gp.steps = params->steps;

      if (params->control)
        {
          gint gw, gh;

          job->status = sana_pipeline_generation_size (pipeline, params->width, params->height,
                                                       gp.resolution_binning, &gw, &gh, &job->err);
          if (job->status == SANA_OK)
            job->status = sana_control_prepare (params->control, params->control_source,
                                                gw, gh, &control, &job->err);
          gp.control_image = &control;
          gp.control_scale = (float) params->control_scale;
        }

      if (job->status == SANA_OK)
        job->status = sana_generate (pipeline, &gp, &job->image, &job->err);
      sana_image_free (&control);
      sana_pipeline_free (pipeline);
    }

  push (job, MSG_DONE, 0, 0, 0);

  return NULL;
}

/* Overall fraction: loading 0-10 %, encoding 10-20 %, denoising 20-80 %, decoding 80-100 %. */
static gdouble
fraction (const Msg *msg)
{
  static const gdouble start[] = { 0.0, 0.1, 0.2, 0.8 };
  static const gdouble span[]  = { 0.1, 0.1, 0.6, 0.2 };
  gdouble              f       = msg->total > 0 ? (gdouble) msg->step / msg->total : 0.0;

  return start[msg->stage] + span[msg->stage] * f;
}

static void
show (const Msg *msg)
{
  switch (msg->stage)
    {
    case SANA_STAGE_LOAD:
      gimp_progress_set_text (_("Loading model"));
      break;
    case SANA_STAGE_ENCODE:
      gimp_progress_set_text (_("Encoding prompt"));
      break;
    case SANA_STAGE_DENOISE:
      gimp_progress_set_text_printf (_("Denoising step %d of %d"),
                                     MIN (msg->step + 1, msg->total), msg->total);
      break;
    case SANA_STAGE_DECODE:
      gimp_progress_set_text (_("Decoding"));
      break;
    default:
      break;
    }
  gimp_progress_update (fraction (msg));
}

gboolean
sana_job_run (const SanaJobParams  *params,
              sana_image           *image,
              gchar               **model_dir,
              GError              **error)
{
  Job      job = { 0 };
  GThread *thread;
  Msg     *msg;

  job.params = params;
  job.queue  = g_async_queue_new_full (g_free);

  gimp_progress_init (_("Generating image"));
  thread = g_thread_new ("sana-generate", worker, &job);

  while ((msg = g_async_queue_pop (job.queue)))
    {
      gboolean done = msg->kind == MSG_DONE;

      if (! done)
        show (msg);
      g_free (msg);
      if (done)
        break;
    }

  g_thread_join (thread);
  g_async_queue_unref (job.queue);
  gimp_progress_end ();

  if (job.status != SANA_OK)
    {
      sana_set_gerror (error, &job.err);
      g_free (job.model_dir);
      return FALSE;
    }

  *image = job.image;
  if (model_dir)
    *model_dir = job.model_dir;
  else
    g_free (job.model_dir);

  return TRUE;
}
