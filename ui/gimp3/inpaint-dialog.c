/* inpaint-dialog.c — the GIMP 3 dialog of Inpaint Selection and Extend
 * Canvas (see the header).
 *
 *   (Extend Canvas only)  Left / Right / Top / Bottom   [   0 ]
 *                         Blend width                    [  16 ]
 *   Fill with        [Content-aware fill ▾]
 *   Sample from      [Around the area    ▾]
 *   Sampling width   ────●────  64            (greyed for "whole image")
 *   Seed             [ 0 ]
 *   ▸ Generate: Prompt, Negative prompt, Model file, Steps, Guidance,
 *     Strength                                 (greyed for content-aware)
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "inpaint-dialog.h"
#include "dialog-common.h"

gboolean
dream_inpaint_dialog_run (GimpProcedure       *procedure,
                          GimpProcedureConfig *config,
                          gboolean             extend)
{
  static const char *gen[] = { "prompt", "negative-prompt", "model-file",
                               "steps", "cfg-scale", "strength" };
  GimpProcedureDialog *d;
  GtkWidget *dialog;
  gboolean run;
  guint i;

  dialog = gimp_procedure_dialog_new (procedure, config,
                                      extend ? "Extend Canvas" : "Inpaint Selection");
  d = GIMP_PROCEDURE_DIALOG (dialog);
  gimp_procedure_dialog_set_ok_label (d, extend ? "_Extend" : "_Fill");

  gimp_procedure_dialog_get_scale_entry (d, "context", 1.0);
  gimp_procedure_dialog_get_widget (d, "model-file", G_TYPE_NONE);
  gimp_procedure_dialog_fill_box (d, "generate-box", "prompt", "negative-prompt",
                                  "model-file", "steps", "cfg-scale", "strength", NULL);
  if (extend)
    gimp_procedure_dialog_fill (d, "left", "right", "top", "bottom", "feather",
                                "mode", "sample-from", "context", "seed",
                                "generate-box", NULL);
  else
    gimp_procedure_dialog_fill (d, "mode", "sample-from", "context", "seed",
                                "generate-box", NULL);

  dream_dialog_sensitive_if (d, "context", G_OBJECT (config), "sample-from", "around");
  for (i = 0; i < G_N_ELEMENTS (gen); i++)
    dream_dialog_sensitive_if (d, gen[i], G_OBJECT (config), "mode", "generate");

  run = gimp_procedure_dialog_run (d);
  gtk_widget_destroy (dialog);
  return run;
}
