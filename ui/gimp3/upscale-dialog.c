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

gboolean
dream_upscale_dialog_run (GimpProcedure       *procedure,
                          GimpProcedureConfig *config)
{
  GtkWidget *dialog;
  GtkWidget *scale;
  GimpValueArray *file_kind;
  GValue v = G_VALUE_INIT;
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
  file_kind = gimp_value_array_new (1);
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, "file");
  gimp_value_array_append (file_kind, &v);
  g_value_unset (&v);
  gimp_procedure_dialog_set_sensitive_if_in (GIMP_PROCEDURE_DIALOG (dialog), "model-file",
                                             G_OBJECT (config), "model-kind",
                                             file_kind, TRUE);

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);
  gimp_value_array_unref (file_kind);
  return run;
}
