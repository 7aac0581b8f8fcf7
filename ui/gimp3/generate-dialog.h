/* generate-dialog.h — the GIMP 3 dialog of Text to Image and Reimagine
 * Layer. Interactive runs only; batch (PDB) runs never touch it. */
#ifndef DREAM_GENERATE_DIALOG_H
#define DREAM_GENERATE_DIALOG_H

#include <libgimp/gimp.h>

/* Shows the dialog on `config` (the procedure's arguments and its aux
 * settings random-seed, last-seed, model-kind, model-file); img2img
 * shows strength instead of size, count-free ranking. Returns TRUE when
 * the user pressed OK. */
gboolean dream_generate_dialog_run (GimpProcedure       *procedure,
                                    GimpProcedureConfig *config,
                                    GimpImage           *image,
                                    gboolean             img2img);

#endif
