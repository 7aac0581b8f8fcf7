/* upscale-dialog.h — the GIMP 3 dialog of Dream Upscale.
 * Interactive runs only; batch (PDB) runs never touch it. */
#ifndef DREAM_UPSCALE_DIALOG_H
#define DREAM_UPSCALE_DIALOG_H

#include <libgimp/gimp.h>

/* Shows the dialog on `config` (its "scale", "model-kind", "model-file"
 * and "new-image" settings). Returns TRUE when the user pressed OK. */
gboolean dream_upscale_dialog_run (GimpProcedure       *procedure,
                                   GimpProcedureConfig *config);

#endif
