/* sana-dialog.h: the Text to Image dialog, built by GimpProcedureDialog from the procedure's
 * arguments, with a multi-line prompt.
 */

#ifndef __SANA_DIALOG_H__
#define __SANA_DIALOG_H__

#include <libgimp/gimp.h>

/* Shows the dialog; TRUE when the user pressed Generate (the config then holds the values). */
gboolean sana_dialog_run (GimpProcedure       *procedure,
                          GimpProcedureConfig *config);

#endif /* __SANA_DIALOG_H__ */
