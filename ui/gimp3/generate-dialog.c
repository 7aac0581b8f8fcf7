/* generate-dialog.c — the GIMP 3 dialog of Text to Image and Reimagine
 * Layer (see the header). Built by GimpProcedureDialog from the
 * procedure's arguments:
 *
 *   Prompt            [ multi-line text                ]
 *   Negative prompt   [ multi-line text                ]
 *   Model             [Built-in (shapes-sd) ▾]  Model file [ (none) ]
 *   Width / Height    [ 0 ] [ 0 ]   0 = the image's size (640 × 480)
 *   Strength          ───●─────  0.60          (Reimagine Layer only)
 *   [x] Random seed   Seed [ 1234 ]   Last seed: 1234
 *   Steps [ 0 ]  Guidance scale [ -1 ]  Sampler [Model's default ▾]
 *   Number of images [ 1 ]   [ ] Rank by CLIP   (Text to Image only)
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "generate-dialog.h"
#include "dialog-common.h"

static GtkWidget *
text_view (GimpProcedureDialog *dialog, const char *label_id, const char *label,
           const char *property, int height)
{
  GtkWidget *l = gimp_procedure_dialog_get_label (dialog, label_id, label, FALSE, TRUE);
  GtkWidget *view = gimp_procedure_dialog_get_widget (dialog, property, GTK_TYPE_TEXT_VIEW);

  gtk_label_set_xalign (GTK_LABEL (l), 0.0);
  if (GTK_IS_TEXT_VIEW (view))
    {
      gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
      gtk_widget_set_size_request (view, 400, height);
      gtk_label_set_mnemonic_widget (GTK_LABEL (l), view);
    }
  return view;
}

gboolean
dream_generate_dialog_run (GimpProcedure       *procedure,
                           GimpProcedureConfig *config,
                           GimpImage           *image,
                           gboolean             img2img)
{
  GimpProcedureDialog *d;
  GtkWidget *dialog, *label;
  int last_seed = -1;
  char *text;
  gboolean run;

  dialog = gimp_procedure_dialog_new (procedure, config,
                                      img2img ? "Reimagine Layer" : "Text to Image");
  d = GIMP_PROCEDURE_DIALOG (dialog);
  gimp_procedure_dialog_set_ok_label (d, img2img ? "_Reimagine" : "_Generate");

  text_view (d, "prompt-label", "_Prompt", "prompt", 72);
  text_view (d, "negative-label", "_Negative prompt", "negative-prompt", 40);
  gimp_procedure_dialog_get_widget (d, "model-file", G_TYPE_NONE);

  g_object_get (config, "last-seed", &last_seed, NULL);
  if (last_seed >= 0)
    text = g_strdup_printf ("Last seed: %d", last_seed);
  else
    text = g_strdup ("Each image i uses seed + i.");
  label = gimp_procedure_dialog_get_label (d, "seed-label", text, FALSE, FALSE);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  g_free (text);
  gimp_procedure_dialog_fill_box (d, "seed-box", "random-seed", "seed", "seed-label", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (
    gimp_procedure_dialog_get_widget (d, "seed-box", G_TYPE_NONE)), GTK_ORIENTATION_HORIZONTAL);
  gimp_procedure_dialog_set_sensitive (d, "seed", TRUE, G_OBJECT (config), "random-seed", TRUE);

  if (img2img)
    {
      gimp_procedure_dialog_get_scale_entry (d, "strength", 1.0);
      gimp_procedure_dialog_fill (d, "prompt-label", "prompt", "negative-label",
                                  "negative-prompt", "model-kind", "model-file",
                                  "strength", "seed-box", "steps", "cfg", "sampler",
                                  "count", NULL);
    }
  else
    {
      text = g_strdup_printf ("0 = the image's size (%d × %d); sizes are rounded to "
                              "multiples of 8.", gimp_image_get_width (image),
                              gimp_image_get_height (image));
      label = gimp_procedure_dialog_get_label (d, "size-label", text, FALSE, FALSE);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      g_free (text);
      gimp_procedure_dialog_fill_box (d, "size-box", "width", "height", NULL);
      gtk_orientable_set_orientation (GTK_ORIENTABLE (
        gimp_procedure_dialog_get_widget (d, "size-box", G_TYPE_NONE)), GTK_ORIENTATION_HORIZONTAL);
      gimp_procedure_dialog_fill (d, "prompt-label", "prompt", "negative-label",
                                  "negative-prompt", "model-kind", "model-file",
                                  "size-box", "size-label", "seed-box", "steps", "cfg",
                                  "sampler", "count", "rank-by-clip", NULL);
    }

  /* the file chooser only matters for "Model file…" */
  dream_dialog_sensitive_if (d, "model-file", G_OBJECT (config), "model-kind", "file");

  run = gimp_procedure_dialog_run (d);
  gtk_widget_destroy (dialog);
  return run;
}
