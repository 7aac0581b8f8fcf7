/* inpaint-dialog.c — the GIMP 3 dialog of Inpaint Selection and Extend
 * Canvas (see the header).
 *
 *   (Extend Canvas only)  Extend [By pixels on each side ▾ | To a size |
 *                                 To an aspect ratio]
 *                         Left / Right / Top / Bottom   [   0 ]  (sides)
 *                         Width / Height                 [ 256 ]  (size)
 *                         Aspect ratio                   [16:9 ]  (aspect)
 *                         Picture at     [Centre ▾]       (size, aspect)
 *                         Blend width                    [  16 ]
 *                         (fields of the other ways are greyed out)
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
    {
      static const char *sides[] = { "left", "right", "top", "bottom" };

      gimp_procedure_dialog_fill (d, "extend-by", "left", "right", "top", "bottom",
                                  "target-width", "target-height", "aspect", "anchor",
                                  "feather", "mode", "sample-from", "context", "seed",
                                  "generate-box", NULL);
      for (i = 0; i < G_N_ELEMENTS (sides); i++)
        dream_dialog_sensitive_if (d, sides[i], G_OBJECT (config), "extend-by", "sides");
      dream_dialog_sensitive_if (d, "target-width", G_OBJECT (config), "extend-by", "size");
      dream_dialog_sensitive_if (d, "target-height", G_OBJECT (config), "extend-by", "size");
      dream_dialog_sensitive_if (d, "aspect", G_OBJECT (config), "extend-by", "aspect");
      dream_dialog_sensitive_if_any (d, "anchor", G_OBJECT (config), "extend-by",
                                     "size", "aspect", NULL);
    }
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
