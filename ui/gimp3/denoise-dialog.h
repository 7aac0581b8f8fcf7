/* denoise-dialog.h — the GIMP 3 dialog of Dream Denoise.
 * Interactive runs only; batch (PDB) runs never touch it. */
#ifndef DREAM_DENOISE_DIALOG_H
#define DREAM_DENOISE_DIALOG_H

#include <libgimp/gimp.h>

/* Shows the dialog on `config` (its "estimate", "noise-level",
 * "model-kind" and "model-file" settings). `drawable` is the first
 * selected layer: the dialog shows the noise level measured in it.
 * Returns TRUE when the user pressed OK. */
gboolean dream_denoise_dialog_run (GimpProcedure       *procedure,
                                   GimpProcedureConfig *config,
                                   GimpDrawable        *drawable);

#endif
