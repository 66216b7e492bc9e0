/* sana-dialog.h: the Text to Image and ControlNet dialogs, built by GimpProcedureDialog from
 * the procedures' arguments, with a multi-line prompt.
 */

#ifndef __SANA_DIALOG_H__
#define __SANA_DIALOG_H__

#include <libgimp/gimp.h>

/* Shows the dialog of plug-in-sana-generate, or of plug-in-sana-controlnet when @controlnet;
 * TRUE when the user pressed Generate (the config then holds the values). */
gboolean sana_dialog_run (GimpProcedure       *procedure,
                          GimpProcedureConfig *config,
                          gboolean             controlnet);

#endif /* __SANA_DIALOG_H__ */
