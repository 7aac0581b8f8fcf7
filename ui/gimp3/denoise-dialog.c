/* denoise-dialog.c — the GIMP 3 dialog of Dream Denoise (see the header).
 *
 *   [x] Estimate noise level
 *   Noise level (σ)  ───────●──────  25.0     (greyed while estimating)
 *   Measured in this layer: σ ≈ 24.6
 *   Model            [Colour (FFDNet)  ▾]
 *   Model file       [ (none)          ]     (only for "Model file…")
 */
#include <math.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dream.h"
#include "denoise-dialog.h"
#include "dialog-common.h"

/* Largest area measured for the hint: the estimate needs flat patches,
 * not the whole picture, and the dialog must open at once. */
#define MEASURE_MAX 512

/* Noise level of the part of `drawable` under the selection (centre crop
 * of at most MEASURE_MAX²), or a negative value if it cannot tell. */
static double
measure_noise (GimpDrawable *drawable)
{
  int x, y, w, h, cw, ch;
  gboolean grey;
  GeglBuffer *buf;
  const Babl *fmt;
  float *px;
  double sigma;

  if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w < 16 || h < 16)
    return -1.0;
  cw = MIN (w, MEASURE_MAX);
  ch = MIN (h, MEASURE_MAX);
  x += (w - cw) / 2;
  y += (h - ch) / 2;

  grey = gimp_drawable_is_gray (drawable);
  buf = gimp_drawable_get_buffer (drawable);
  fmt = babl_format_with_space (grey ? "Y' float" : "R'G'B' float",
                                babl_format_get_space (gegl_buffer_get_format (buf)));
  px = g_try_malloc_n ((gsize) cw * ch, (grey ? 1 : 3) * sizeof (float));
  if (!px)
    {
      g_object_unref (buf);
      return -1.0;
    }
  gegl_buffer_get (buf, GEGL_RECTANGLE (x, y, cw, ch), 1.0, fmt, px,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  {
    dream_image im = { px, cw, ch, grey ? 1 : 3 };
    sigma = dream_noise_estimate (&im);
  }
  g_free (px);
  g_object_unref (buf);
  return sigma;
}

gboolean
dream_denoise_dialog_run (GimpProcedure       *procedure,
                          GimpProcedureConfig *config,
                          GimpDrawable        *drawable)
{
  GtkWidget *dialog;
  GtkWidget *scale;
  GtkWidget *label;
  double measured;
  char *text;
  gboolean run;

  dialog = gimp_procedure_dialog_new (procedure, config, "Dream Denoise");
  gimp_procedure_dialog_set_ok_label (GIMP_PROCEDURE_DIALOG (dialog), "_Denoise");

  scale = gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog),
                                                 "noise-level", 1.0);
  gimp_label_spin_set_digits (GIMP_LABEL_SPIN (scale), 1);

  measured = drawable ? measure_noise (drawable) : -1.0;
  if (measured >= 0.0)
    text = g_strdup_printf ("Measured in this layer: σ ≈ %.1f", measured);
  else
    text = g_strdup ("The layer is too small to measure its noise level.");
  label = gimp_procedure_dialog_get_label (GIMP_PROCEDURE_DIALOG (dialog),
                                           "measured-label", text, FALSE, FALSE);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_widget_set_margin_bottom (label, 6);
  g_free (text);

  gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog), "model-file",
                                    G_TYPE_NONE);

  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog),
                              "estimate", "noise-level", "measured-label",
                              "model-kind", "model-file", NULL);

  /* the slider is for a known noise level; greyed while estimating */
  gimp_procedure_dialog_set_sensitive (GIMP_PROCEDURE_DIALOG (dialog), "noise-level",
                                       TRUE, G_OBJECT (config), "estimate", TRUE);
  /* the file chooser only matters for "Model file…" */
  dream_dialog_sensitive_if (GIMP_PROCEDURE_DIALOG (dialog), "model-file",
                             G_OBJECT (config), "model-kind", "file");

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);
  return run;
}
