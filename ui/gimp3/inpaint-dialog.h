/* inpaint-dialog.h — the GIMP 3 dialog of Inpaint Selection and Extend
 * Canvas. Interactive runs only; batch (PDB) runs never touch it. */
#ifndef DREAM_INPAINT_DIALOG_H
#define DREAM_INPAINT_DIALOG_H

#include <libgimp/gimp.h>

/* Shows the dialog on `config` (the procedure's arguments; with `extend`
 * also extend-by, left/right/top/bottom, target-width/height, aspect,
 * anchor and feather). Returns TRUE when the user pressed OK. */
gboolean dream_inpaint_dialog_run (GimpProcedure       *procedure,
                                   GimpProcedureConfig *config,
                                   gboolean             extend);

#endif
