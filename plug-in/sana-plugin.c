/* sana-plugin.c: the GIMP 3 plug-in: Filters ▸ Generate ▸ Text to Image... and
 * ControlNet from Layer...
 *
 * PDB procedure plug-in-sana-generate (prompt, width, height, steps, seed, guidance, model,
 * model-folder, device) returns the new layer; called without an image it creates one (and
 * shows it when interactive).  plug-in-sana-controlnet (prompt, control-type, control-scale,
 * steps, seed, guidance, negative-prompt, model, model-folder, controlnet-folder, device) takes
 * the selected drawable, clipped to the selection, as the control image, and puts the result
 * exactly over that area.  Both work interactively (a GimpProcedureDialog), with last values,
 * and from Script-Fu / batch mode with named arguments.
 *
 * The generation runs to completion before the image is touched (sana-job.c); only then one
 * undo group inserts the layer (sana-layer.c).  GIMP's Cancel kills this process, so a
 * cancelled run leaves the image exactly as it was.
 */

#include "config.h"

#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>

#include "sana-dialog.h"
#include "sana-job.h"
#include "sana-layer.h"

#define PLUG_IN_PROC    "plug-in-sana-generate"
#define PLUG_IN_PROC_CN "plug-in-sana-controlnet"
#define MAX_MODELS     32

typedef struct _Sana      Sana;
typedef struct _SanaClass SanaClass;

struct _Sana
{
  GimpPlugIn parent_instance;
};

struct _SanaClass
{
  GimpPlugInClass parent_class;
};

#define SANA_TYPE (sana_get_type ())
#define SANA(obj) (G_TYPE_CHECK_INSTANCE_CAST ((obj), SANA_TYPE, Sana))

GType                   sana_get_type         (void) G_GNUC_CONST;

static GList          * sana_query_procedures (GimpPlugIn           *plug_in);
static GimpProcedure  * sana_create_procedure (GimpPlugIn           *plug_in,
                                               const gchar          *name);
static GimpValueArray * sana_run_generate     (GimpProcedure        *procedure,
                                               GimpRunMode           run_mode,
                                               GimpImage            *image,
                                               GimpDrawable        **drawables,
                                               GimpProcedureConfig  *config,
                                               gpointer              run_data);
static GimpValueArray * sana_run_controlnet   (GimpProcedure        *procedure,
                                               GimpRunMode           run_mode,
                                               GimpImage            *image,
                                               GimpDrawable        **drawables,
                                               GimpProcedureConfig  *config,
                                               gpointer              run_data);

G_DEFINE_TYPE (Sana, sana, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (SANA_TYPE)

static void
sana_class_init (SanaClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = sana_query_procedures;
  plug_in_class->create_procedure = sana_create_procedure;
}

static void
sana_init (Sana *sana)
{
}

static GList *
sana_query_procedures (GimpPlugIn *plug_in)
{
  return g_list_append (g_list_append (NULL, g_strdup (PLUG_IN_PROC)), g_strdup (PLUG_IN_PROC_CN));
}

/* A model's name as a choice nick: lower case, [a-z0-9] runs joined by '-'. */
static gchar *
model_nick (const gchar *name)
{
  GString *s    = g_string_new (NULL);
  gboolean dash = FALSE;

  for (const gchar *p = name; *p; p++)
    {
      if (g_ascii_isalnum (*p))
        {
          if (dash && s->len > 0)
            g_string_append_c (s, '-');
          g_string_append_c (s, g_ascii_tolower (*p));
          dash = FALSE;
        }
      else
        {
          dash = TRUE;
        }
    }

  return g_string_free (s, FALSE);
}

/* "auto", then every model folder found (SANA_MODEL_DIR, the Hugging Face cache). */
static GimpChoice *
model_choice (void)
{
  GimpChoice      *choice = gimp_choice_new ();
  sana_model_info  found[MAX_MODELS];
  gint             n      = MIN (sana_model_list (found, MAX_MODELS), MAX_MODELS);

  gimp_choice_add (choice, "auto", 0, _("First model found"),
                   _("A SANA-Sprint model from SANA_MODEL_DIR or the Hugging Face cache"));
  for (gint i = 0; i < n; i++)
    {
      gchar *nick = model_nick (found[i].name);

      if (! gimp_choice_is_valid (choice, nick))
        gimp_choice_add (choice, nick, i + 1, found[i].name, found[i].path);
      g_free (nick);
    }

  return choice;
}

/* The arguments both procedures share. */
static void
add_common_arguments (GimpProcedure *procedure)
{
  gimp_procedure_add_string_argument (procedure, "prompt", _("_Prompt"),
                                      _("What to draw"), "", G_PARAM_READWRITE);
}

static void
add_model_arguments (GimpProcedure *procedure)
{
  gimp_procedure_add_int_argument (procedure, "seed", _("See_d"),
                                   _("Random seed; the same seed and prompt give the same image"),
                                   0, G_MAXINT, 42, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "guidance", _("G_uidance"),
                                      _("How closely the image follows the prompt"),
                                      0.0, 20.0, 4.5, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "model", _("_Model"),
                                      _("The model to use"), model_choice (), "auto",
                                      G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model-folder", _("Model _folder"),
                                      _("A diffusers model folder; overrides Model when set"),
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "device", _("De_vice"),
                                      _("Where to compute"),
                                      gimp_choice_new_with_values (
                                        "auto", 0, _("Automatic (GPU when available)"), NULL,
                                        "cpu",  1, _("CPU"), NULL,
                                        "cuda", 2, _("NVIDIA GPU (CUDA)"), NULL,
                                        NULL),
                                      "auto", G_PARAM_READWRITE);
  gimp_procedure_add_boolean_aux_argument (procedure, "randomize-seed", _("Ra_ndomize seed"),
                                           _("Use a new random seed for each image"),
                                           TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value (procedure, "layer", _("Layer"),
                                         _("The generated layer"), FALSE, G_PARAM_READWRITE);
}

static GimpProcedure *
sana_create_procedure (GimpPlugIn  *plug_in,
                       const gchar *name)
{
  GimpProcedure *procedure;

  if (g_strcmp0 (name, PLUG_IN_PROC) == 0)
    {
      procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                            sana_run_generate, NULL, NULL);
      gimp_procedure_set_image_types (procedure, "*");
      gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_ALWAYS);
      gimp_procedure_set_menu_label (procedure, _("_Text to Image..."));
      gimp_procedure_set_documentation (procedure,
                                        _("Generate an image from a text prompt with SANA-Sprint"),
                                        _("Generates an image from a text prompt with the "
                                          "SANA-Sprint model, in one to four steps, and adds it "
                                          "as a new layer above the active layer. Without an "
                                          "image, a new image is created."),
                                        name);
      add_common_arguments (procedure);
      gimp_procedure_add_int_argument (procedure, "width", _("_Width"),
                                       _("Width of the new layer in pixels"),
                                       32, SANA_MAX_SIDE, 1024, G_PARAM_READWRITE);
      gimp_procedure_add_int_argument (procedure, "height", _("H_eight"),
                                       _("Height of the new layer in pixels"),
                                       32, SANA_MAX_SIDE, 1024, G_PARAM_READWRITE);
      gimp_procedure_add_int_argument (procedure, "steps", _("S_teps"),
                                       _("Denoising steps: 1 is fastest, 4 most detailed"),
                                       1, 4, 2, G_PARAM_READWRITE);
      add_model_arguments (procedure);
    }
  else if (g_strcmp0 (name, PLUG_IN_PROC_CN) == 0)
    {
      procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                            sana_run_controlnet, NULL, NULL);
      gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
      gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
      gimp_procedure_set_menu_label (procedure, _("_ControlNet from Layer..."));
      gimp_procedure_set_documentation (procedure,
                                        _("Generate an image guided by the lines of a layer"),
                                        _("Uses the selected layer, inside the selection, as "
                                          "a ControlNet control image (an edge map, a sketch, "
                                          "or the edges of a picture) and adds the generated "
                                          "image as a new layer exactly over that area. Needs "
                                          "a model with a ControlNet."),
                                        name);
      add_common_arguments (procedure);
      gimp_procedure_add_choice_argument (procedure, "control-type", _("Control t_ype"),
                                          _("What the layer holds"),
                                          gimp_choice_new_with_values (
                                            "sketch", 0, _("Sketch (dark strokes on light)"), NULL,
                                            "edge-map", 1, _("Edge map (white lines on black)"), NULL,
                                            "edges", 2, _("Edges from the image"), NULL,
                                            NULL),
                                          "sketch", G_PARAM_READWRITE);
      gimp_procedure_add_double_argument (procedure, "control-scale", _("Control _weight"),
                                          _("How strongly the lines steer the image"),
                                          0.0, 2.0, 1.0, G_PARAM_READWRITE);
      gimp_procedure_add_int_argument (procedure, "steps", _("S_teps"),
                                       _("Denoising steps; 0 uses the model's default"),
                                       0, 50, 0, G_PARAM_READWRITE);
      gimp_procedure_add_string_argument (procedure, "negative-prompt", _("Negative pr_ompt"),
                                          _("What to avoid (multi-step models)"), "",
                                          G_PARAM_READWRITE);
      gimp_procedure_add_string_argument (procedure, "controlnet-folder", _("ControlNet fold_er"),
                                          _("A ControlNet folder; empty: the model's own"), "",
                                          G_PARAM_READWRITE);
      add_model_arguments (procedure);
    }
  else
    {
      return NULL;
    }

  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Generate");
  gimp_procedure_set_attribution (procedure, "SANA-Sprint for GIMP authors",
                                  "SANA-Sprint for GIMP authors", "2026");
  return procedure;
}

/* The model folder to load: model-folder when set, else the chosen model, else auto. */
static gchar *
chosen_model (GimpProcedureConfig *config)
{
  gchar           *folder = NULL;
  gchar           *nick   = NULL;
  gchar           *model  = NULL;
  sana_model_info  found[MAX_MODELS];
  gint             n;

  g_object_get (config, "model-folder", &folder, "model", &nick, NULL);
  if (folder && *g_strstrip (folder))
    {
      g_free (nick);
      return folder;
    }
  g_free (folder);

  n = MIN (sana_model_list (found, MAX_MODELS), MAX_MODELS);
  for (gint i = 0; i < n && model == NULL; i++)
    {
      gchar *candidate = model_nick (found[i].name);

      if (g_strcmp0 (candidate, nick) == 0)
        model = g_strdup (found[i].path);
      g_free (candidate);
    }
  g_free (nick);

  return model; /* NULL: the first model found */
}

static gchar *
parameters_text (const SanaJobParams *p,
                 const gchar         *model_dir)
{
  gchar *prompt = g_strescape (p->prompt, NULL);
  gchar *text   = g_strdup_printf ("prompt=\"%s\"\nseed=%" G_GUINT64_FORMAT "\nsteps=%d\n"
                                   "guidance=%g\nwidth=%d\nheight=%d\nmodel=%s\n%s"
                                   "software=sana-sprint-gimp %s\n",
                                   prompt, p->seed, p->steps, p->guidance, p->width,
                                   p->height, model_dir, p->control ? "controlnet=yes\n" : "",
                                   PACKAGE_VERSION);

  g_free (prompt);
  return text;
}

static void
free_params (SanaJobParams *p)
{
  g_free (p->prompt);
  g_free (p->negative_prompt);
  g_free (p->device);
  g_free (p->model);
  g_free (p->controlnet);
}

/* Shows the dialog when interactive (a console GIMP has none: the last values are used),
 * reads the arguments both procedures share into @params, and checks the prompt and the
 * image's mode.  NULL when the run may go on, else the return values to give back. */
static GimpValueArray *
begin_run (GimpProcedure       *procedure,
           GimpRunMode          run_mode,
           GimpImage           *image,
           GimpProcedureConfig *config,
           gboolean             controlnet,
           SanaJobParams       *params)
{
  GError   *error     = NULL;
  gboolean  randomize = FALSE;
  gint      seed;

  gegl_init (NULL, NULL);

  if (run_mode == GIMP_RUN_INTERACTIVE && gtk_init_check (NULL, NULL))
    {
      if (! sana_dialog_run (procedure, config, controlnet))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  g_object_get (config,
                "prompt",         &params->prompt,
                "steps",          &params->steps,
                "seed",           &seed,
                "guidance",       &params->guidance,
                "device",         &params->device,
                "randomize-seed", &randomize,
                NULL);

  if (params->prompt == NULL || *g_strstrip (params->prompt) == '\0')
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   _("The prompt is empty: describe the image to generate."));
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
    }

  if (image && gimp_image_get_base_type (image) != GIMP_RGB)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   _("Text to Image adds a color layer, but this image is %s. "
                     "Convert it with Image ▸ Mode ▸ RGB first."),
                   gimp_image_get_base_type (image) == GIMP_GRAY ? _("grayscale")
                                                                 : _("indexed"));
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }

  /* A fresh seed per interactive run, stored back so the last values show the seed used. */
  if (randomize && run_mode != GIMP_RUN_NONINTERACTIVE)
    {
      seed = g_random_int_range (0, G_MAXINT);
      g_object_set (config, "seed", seed, NULL);
    }
  params->seed  = (guint64) seed;
  params->model = chosen_model (config);

  return NULL;
}

/* Generates (nothing of the image is touched meanwhile), then inserts the layer at
 * (@x, @y) of @image (a new image when NULL) in one undo step. */
static GimpValueArray *
finish_run (GimpProcedure       *procedure,
            GimpRunMode          run_mode,
            GimpImage           *image,
            SanaJobParams       *params,
            gint                 x,
            gint                 y,
            const gchar         *name_prefix)
{
  GError         *error     = NULL;
  gchar          *model_dir = NULL;
  gchar          *name, *text;
  sana_image      rgb;
  GimpLayer      *layer;
  GimpValueArray *ret;
  gboolean        new_image = FALSE;

  if (! sana_job_run (params, &rgb, &model_dir, &error))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);

  if (image == NULL)
    {
      image     = gimp_image_new (rgb.width, rgb.height, GIMP_RGB);
      new_image = TRUE;
    }

  name = sana_layer_name (params->prompt, params->seed);
  if (name_prefix)
    {
      gchar *prefixed = g_strconcat (name_prefix, name, NULL);

      g_free (name);
      name = prefixed;
    }
  text  = parameters_text (params, model_dir);
  layer = sana_layer_insert (image, &rgb, name, text, x, y, &error);
  sana_image_free (&rgb);
  g_free (name);
  g_free (text);
  g_free (model_dir);

  if (layer == NULL)
    {
      if (new_image)
        gimp_image_delete (image);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }

  if (new_image && run_mode == GIMP_RUN_INTERACTIVE)
    gimp_display_new (image);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_LAYER (ret, 1, layer);

  return ret;
}

static GimpValueArray *
sana_run_generate (GimpProcedure        *procedure,
                   GimpRunMode           run_mode,
                   GimpImage            *image,
                   GimpDrawable        **drawables,
                   GimpProcedureConfig  *config,
                   gpointer              run_data)
{
  SanaJobParams   params = { 0 };
  GimpValueArray *ret    = begin_run (procedure, run_mode, image, config, FALSE, &params);

  if (ret == NULL)
    {
      g_object_get (config, "width", &params.width, "height", &params.height, NULL);
      ret = finish_run (procedure, run_mode, image, &params, 0, 0, NULL);
    }
  free_params (&params);

  return ret;
}

static GimpValueArray *
sana_run_controlnet (GimpProcedure        *procedure,
                     GimpRunMode           run_mode,
                     GimpImage            *image,
                     GimpDrawable        **drawables,
                     GimpProcedureConfig  *config,
                     gpointer              run_data)
{
  static const SanaControlSource sources[] = {
    SANA_CONTROL_SOURCE_SKETCH, SANA_CONTROL_SOURCE_AS_IS, SANA_CONTROL_SOURCE_EDGES
  };
  SanaJobParams   params  = { 0 };
  sana_image      control = { 0 };
  GError         *error   = NULL;
  GimpValueArray *ret;
  gchar          *folder  = NULL;
  gint            x, y, type;

  if (drawables == NULL || gimp_core_object_array_get_length ((GObject **) drawables) != 1)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   _("ControlNet from Layer works on one layer: select exactly one."));
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
    }

  ret = begin_run (procedure, run_mode, image, config, TRUE, &params);
  if (ret == NULL)
    {
      type = gimp_procedure_config_get_choice_id (config, "control-type");
      params.control_source = sources[CLAMP (type, 0, 2)];
      g_object_get (config,
                    "control-scale",     &params.control_scale,
                    "negative-prompt",   &params.negative_prompt,
                    "controlnet-folder", &folder,
                    NULL);
      if (folder && *g_strstrip (folder))
        params.controlnet = g_steal_pointer (&folder);
      g_free (folder);

      if (! sana_control_read (drawables[0], params.control_source, &control, &x, &y, &error))
        {
          ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
        }
      else
        {
          params.control = &control;
          params.width   = control.width;
          params.height  = control.height;
          ret = finish_run (procedure, run_mode, image, &params, x, y, _("ControlNet: "));
        }
    }
  sana_image_free (&control);
  free_params (&params);

  return ret;
}
