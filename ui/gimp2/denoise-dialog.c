/* denoise-dialog.c — the GIMP 2.10 dialog of Filters ▸ Enhance ▸ Dream Denoise…
 *
 *   Noise strength (σ)  [====|======] [ 25 ]
 *   [x] Estimate noise level            measured: σ ≈ 12.3
 *   Model               [Colour (FFDNet) v]
 *   The result is added as a new layer above “Background”.
 *
 * The estimate is measured once, the first time the toggle is switched on,
 * on the same region the filter will process, with the engine's own
 * estimator (dream_noise_estimate), so the number shown is the number used.
 */
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <gegl.h>

#include "dream.h"
#include "denoise-dialog.h"

#define SCALE_WIDTH     240
#define SPIN_DIGITS       6
/* Above this many pixels the estimate is measured on a centred crop. */
#define ESTIMATE_MAX_SIDE 2048

enum { MODEL_COLOR, MODEL_GRAY, MODEL_FILE };

typedef struct {
  DreamGimp2DenoiseVals *vals;
  gint32     drawable_id;
  GeglRectangle roi;
  GtkObject *sigma_adj;
  GtkWidget *estimate_label;
  gdouble    measured;        /* < 0 until measured (or not measurable) */
  gboolean   measured_done;
  gint       model_choice;
  gdouble    user_sigma;      /* the slider's value before estimating */
} DialogState;

/* Reads the region as the engine will see it and estimates σ. */
static gdouble
measure_sigma (gint32 drawable_id, const GeglRectangle *roi)
{
  GeglRectangle r = *roi;
  gboolean grey = gimp_drawable_is_gray (drawable_id);
  const Babl *fmt = babl_format (grey ? "Y' float" : "R'G'B' float");
  int channels = grey ? 1 : 3;
  GeglBuffer *buffer;
  dream_image img;
  gdouble sigma;

  if (r.width > ESTIMATE_MAX_SIDE)
    {
      r.x += (r.width - ESTIMATE_MAX_SIDE) / 2;
      r.width = ESTIMATE_MAX_SIDE;
    }
  if (r.height > ESTIMATE_MAX_SIDE)
    {
      r.y += (r.height - ESTIMATE_MAX_SIDE) / 2;
      r.height = ESTIMATE_MAX_SIDE;
    }

  img.width = r.width;
  img.height = r.height;
  img.channels = channels;
  img.data = g_try_new (float, (gsize) r.width * r.height * channels);
  if (!img.data)
    return -1.0;

  buffer = gimp_drawable_get_buffer (drawable_id);
  gegl_buffer_get (buffer, &r, 1.0, fmt, img.data,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_CLAMP);
  g_object_unref (buffer);

  sigma = dream_noise_estimate (&img);
  g_free (img.data);
  return sigma;
}

static void
update_sensitivity (DialogState *st)
{
  gimp_scale_entry_set_sensitive (st->sigma_adj, !st->vals->estimate);
}

static void
estimate_toggled (GtkToggleButton *button, DialogState *st)
{
  st->vals->estimate = gtk_toggle_button_get_active (button);

  if (st->vals->estimate && !st->measured_done)
    {
      GdkCursor *busy = gdk_cursor_new (GDK_WATCH);
      GdkWindow *win = gtk_widget_get_window (GTK_WIDGET (button));

      if (win)
        {
          gdk_window_set_cursor (win, busy);
          gdk_flush ();
        }
      st->measured = measure_sigma (st->drawable_id, &st->roi);
      st->measured_done = TRUE;
      if (win)
        gdk_window_set_cursor (win, NULL);
      gdk_cursor_unref (busy);
    }

  if (st->vals->estimate)
    {
      gchar *text;

      st->user_sigma = gtk_adjustment_get_value (GTK_ADJUSTMENT (st->sigma_adj));

      if (st->measured >= 0.0)
        {
          gchar num[G_ASCII_DTOSTR_BUF_SIZE];

          g_ascii_formatd (num, sizeof num, "%.1f", st->measured);
          text = g_strdup_printf ("measured: σ ≈ %s", num);
          /* Show it on the (insensitive) scale too. */
          gtk_adjustment_set_value (GTK_ADJUSTMENT (st->sigma_adj),
                                    CLAMP (st->measured, 0.0, 75.0));
        }
      else
        text = g_strdup ("the region is too small to measure");

      gtk_label_set_text (GTK_LABEL (st->estimate_label), text);
      g_free (text);
    }
  else
    {
      gtk_label_set_text (GTK_LABEL (st->estimate_label), "");
      gtk_adjustment_set_value (GTK_ADJUSTMENT (st->sigma_adj), st->user_sigma);
    }

  update_sensitivity (st);
}

static gint
model_choice_from_vals (const DreamGimp2DenoiseVals *vals, gint32 drawable_id)
{
  if (g_ascii_strcasecmp (vals->model, "color") == 0 ||
      g_ascii_strcasecmp (vals->model, "colour") == 0)
    return MODEL_COLOR;
  if (g_ascii_strcasecmp (vals->model, "gray") == 0 ||
      g_ascii_strcasecmp (vals->model, "grey") == 0)
    return MODEL_GRAY;
  if (vals->model[0] != '\0')
    return MODEL_FILE;
  return gimp_drawable_is_gray (drawable_id) ? MODEL_GRAY : MODEL_COLOR;
}

gboolean
dream_gimp2_denoise_dialog (gint32                 drawable_id,
                            gint                   roi_x,
                            gint                   roi_y,
                            gint                   roi_width,
                            gint                   roi_height,
                            DreamGimp2DenoiseVals *vals)
{
  DialogState st = { 0 };
  GtkWidget *dialog, *vbox, *table, *toggle, *combo, *label, *hint;
  gchar *file_label = NULL, *layer_name, *hint_text;
  gboolean ok;
  gint row = 0;

  st.vals = vals;
  st.drawable_id = drawable_id;
  st.roi = (GeglRectangle) { roi_x, roi_y, roi_width, roi_height };
  st.measured = -1.0;
  st.user_sigma = CLAMP (vals->sigma, 0.0, 75.0);
  st.model_choice = model_choice_from_vals (vals, drawable_id);

  dialog = gimp_dialog_new ("Dream Denoise", DREAM_GIMP2_BINARY,
                            NULL, 0,
                            gimp_standard_help_func, DREAM_GIMP2_DENOISE_PROC,
                            "_Cancel", GTK_RESPONSE_CANCEL,
                            "_OK",     GTK_RESPONSE_OK,
                            NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog),
                                           GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      vbox, TRUE, TRUE, 0);

  table = gtk_table_new (3, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);

  /* σ */
  st.sigma_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, row++,
                                       "Noise _strength (σ):",
                                       SCALE_WIDTH, SPIN_DIGITS,
                                       CLAMP (vals->sigma, 0.0, 75.0),
                                       0.0, 75.0, 1.0, 5.0, 1,
                                       TRUE, 0, 0,
                                       "Standard deviation of the noise, in "
                                       "8-bit levels (0–255 scale)",
                                       NULL);

  /* Estimate */
  toggle = gtk_check_button_new_with_mnemonic ("_Estimate noise level");
  gimp_help_set_help_data (toggle,
                           "Measure σ from the flattest parts of the layer "
                           "(or of the selection) instead of using the "
                           "slider", NULL);
  gtk_table_attach (GTK_TABLE (table), toggle, 0, 2, row, row + 1,
                    GTK_FILL, GTK_FILL, 0, 0);
  st.estimate_label = gtk_label_new ("");
  gtk_misc_set_alignment (GTK_MISC (st.estimate_label), 0.0, 0.5);
  gimp_label_set_attributes (GTK_LABEL (st.estimate_label),
                             PANGO_ATTR_STYLE, PANGO_STYLE_ITALIC, -1);
  gtk_table_attach (GTK_TABLE (table), st.estimate_label, 2, 3, row, row + 1,
                    GTK_FILL, GTK_FILL, 0, 0);
  row++;

  /* Model */
  combo = gimp_int_combo_box_new ("Colour (FFDNet)", MODEL_COLOR,
                                  "Grey (FFDNet)",   MODEL_GRAY,
                                  NULL);
  if (st.model_choice == MODEL_FILE)
    {
      gchar *base = g_path_get_basename (vals->model);

      file_label = g_strdup_printf ("File: %s", base);
      g_free (base);
      gimp_int_combo_box_append (GIMP_INT_COMBO_BOX (combo),
                                 GIMP_INT_STORE_VALUE, MODEL_FILE,
                                 GIMP_INT_STORE_LABEL, file_label,
                                 -1);
    }
  gimp_int_combo_box_connect (GIMP_INT_COMBO_BOX (combo), st.model_choice,
                              G_CALLBACK (gimp_int_combo_box_get_active),
                              &st.model_choice);
  gimp_help_set_help_data (combo,
                           "The colour model denoises R, G and B together; "
                           "the grey model works on each channel alone",
                           NULL);
  label = gimp_table_attach_aligned (GTK_TABLE (table), 0, row++,
                                     "_Model:", 0.0, 0.5, combo, 2, FALSE);
  (void) label;

  /* What will happen. */
  layer_name = gimp_item_get_name (drawable_id);
  if (roi_width == gimp_drawable_width (drawable_id) &&
      roi_height == gimp_drawable_height (drawable_id))
    hint_text = g_strdup_printf ("The result is added as a new layer above "
                                 "“%s”.", layer_name);
  else
    hint_text = g_strdup_printf ("The result is added as a new layer above "
                                 "“%s”, covering the selection (%d × %d).",
                                 layer_name, roi_width, roi_height);
  hint = gtk_label_new (hint_text);
  gtk_misc_set_alignment (GTK_MISC (hint), 0.0, 0.5);
  gtk_label_set_line_wrap (GTK_LABEL (hint), TRUE);
  gimp_label_set_attributes (GTK_LABEL (hint),
                             PANGO_ATTR_SCALE, PANGO_SCALE_SMALL, -1);
  gtk_box_pack_start (GTK_BOX (vbox), hint, FALSE, FALSE, 0);
  g_free (hint_text);
  g_free (layer_name);

  /* Initial state: set the toggle last so its handler sees every widget. */
  g_signal_connect (toggle, "toggled", G_CALLBACK (estimate_toggled), &st);
  if (vals->estimate)
    {
      vals->estimate = FALSE;
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (toggle), TRUE);
    }
  update_sensitivity (&st);

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;

  if (ok)
    {
      /* The slider may show the measured value; keep the user's own. */
      vals->sigma = vals->estimate
        ? st.user_sigma
        : gtk_adjustment_get_value (GTK_ADJUSTMENT (st.sigma_adj));

      switch (st.model_choice)
        {
        case MODEL_COLOR:
          g_strlcpy (vals->model, "color", sizeof vals->model);
          break;
        case MODEL_GRAY:
          g_strlcpy (vals->model, "gray", sizeof vals->model);
          break;
        default:
          break; /* keep the file path */
        }
    }

  gtk_widget_destroy (dialog);
  g_free (file_label);
  return ok;
}
