/* sana-dialog.c: the Text to Image and ControlNet dialogs (see sana-dialog.h).
 *
 * Mnemonics are unique and avoid the dialog's own buttons (_Help, _Reset, _Cancel, _Generate,
 * _Load Saved Settings, _Save Settings): Text to Image p m f t w e d n u v; ControlNet
 * p y w t d n u o m f e v.
 */

#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>

#include "sana-dialog.h"

gboolean
sana_dialog_run (GimpProcedure       *procedure,
                 GimpProcedureConfig *config,
                 gboolean             controlnet)
{
  GtkWidget *dialog;
  GtkWidget *view;
  GtkWidget *label;
  gboolean   run;

  gimp_ui_init (PLUG_IN_BINARY);

  dialog = gimp_procedure_dialog_new (procedure, config,
                                      controlnet ? _("ControlNet from Layer") : _("Text to Image"));
  gimp_procedure_dialog_set_ok_label (GIMP_PROCEDURE_DIALOG (dialog), _("_Generate"));

  /* A multi-line prompt in a labelled frame (a GtkTextView gets no label of its own). */
  view = gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog), "prompt",
                                           GTK_TYPE_TEXT_VIEW);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_widget_set_size_request (view, 420, 96);
  label = gimp_procedure_dialog_get_label (GIMP_PROCEDURE_DIALOG (dialog), "prompt-label",
                                           _("_Prompt"), FALSE, TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), view);
  gimp_procedure_dialog_fill_frame (GIMP_PROCEDURE_DIALOG (dialog), "prompt-frame",
                                    "prompt-label", FALSE, "prompt");

  gimp_procedure_dialog_get_spin_scale (GIMP_PROCEDURE_DIALOG (dialog), "steps", 1.0);
  gimp_procedure_dialog_get_spin_scale (GIMP_PROCEDURE_DIALOG (dialog), "guidance", 1.0);

  if (! controlnet)
    {
      gimp_procedure_dialog_fill_box (GIMP_PROCEDURE_DIALOG (dialog), "size-box",
                                      "width", "height", NULL);
      gtk_orientable_set_orientation (GTK_ORIENTABLE (gimp_procedure_dialog_get_widget (
                                        GIMP_PROCEDURE_DIALOG (dialog), "size-box", G_TYPE_NONE)),
                                      GTK_ORIENTATION_HORIZONTAL);
    }
  else
    {
      gimp_procedure_dialog_get_spin_scale (GIMP_PROCEDURE_DIALOG (dialog), "control-scale", 1.0);
    }
  gimp_procedure_dialog_fill_box (GIMP_PROCEDURE_DIALOG (dialog), "seed-box",
                                  "seed", "randomize-seed", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gimp_procedure_dialog_get_widget (
                                    GIMP_PROCEDURE_DIALOG (dialog), "seed-box", G_TYPE_NONE)),
                                  GTK_ORIENTATION_HORIZONTAL);
  gimp_procedure_dialog_set_sensitive (GIMP_PROCEDURE_DIALOG (dialog), "seed", TRUE,
                                       G_OBJECT (config), "randomize-seed", TRUE);

  if (controlnet)
    gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog),
                                "prompt-frame", "control-type", "control-scale", "steps",
                                "seed-box", "guidance", "negative-prompt", "model",
                                "model-folder", "controlnet-folder", "device", NULL);
  else
    gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog),
                                "prompt-frame", "model", "model-folder", "steps", "size-box",
                                "seed-box", "guidance", "device", NULL);

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);

  return run;
}
