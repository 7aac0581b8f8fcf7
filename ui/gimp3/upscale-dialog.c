/* upscale-dialog.c — the GIMP 3 dialog of Dream Upscale (see the header).
 *
 *   Scale            ───●──────────  4.00
 *   Model            [Photo (Real-ESRGAN) ▾]
 *   Model file       [ (none)             ]   (only for "Model file…")
 *   [ ] Open the result as a new image
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "upscale-dialog.h"
#include "dialog-common.h"

gboolean
dream_upscale_dialog_run (GimpProcedure       *procedure,
                          GimpProcedureConfig *config)
{
  GtkWidget *dialog;
  GtkWidget *scale;
  gboolean run;

  dialog = gimp_procedure_dialog_new (procedure, config, "Dream Upscale");
  gimp_procedure_dialog_set_ok_label (GIMP_PROCEDURE_DIALOG (dialog), "_Upscale");

  scale = gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog),
                                                 "scale", 1.0);
  gimp_label_spin_set_digits (GIMP_LABEL_SPIN (scale), 2);
  gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog), "model-file",
                                    G_TYPE_NONE);

  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog),
                              "scale", "model-kind", "model-file", "new-image", NULL);

  /* the file chooser only matters for "Model file…" */
  dream_dialog_sensitive_if (GIMP_PROCEDURE_DIALOG (dialog), "model-file",
                             G_OBJECT (config), "model-kind", "file");

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);
  return run;
}
