/* generate-dialog.c — the GIMP 2.10 dialog of Text to Image and Reimagine
 * Layer (see the header).
 *
 *   Prompt:           [ multi-line text                       ]
 *   Negative prompt:  [ multi-line text                       ]
 *   Model:            [ (empty = built-in shapes-sd)          ]
 *   Width × Height:   [ 0 ] × [ 0 ]  0 = image size (640 × 480)
 *   Strength:         [====|=====] [0.60]       (Reimagine only)
 *   Seed:             [x] Random  [ 1234 ]  Last seed: 1234
 *   Steps: [ 0 ]  Guidance: [ -1 ]  Sampler: [Model's default v]
 *   Images: [ 1 ]  [ ] Rank by CLIP           (Text to Image only)
 */
#include <string.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "generate-dialog.h"

static const char *samplers[] = { "default", "euler", "euler-a", "ddim",
                                  "dpmpp-2m-karras", "lcm" };

static GtkWidget *
text_area (const char *text, GtkTextBuffer **buffer)
{
  GtkWidget *sw = gtk_scrolled_window_new (NULL, NULL);
  GtkWidget *view = gtk_text_view_new ();

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (sw), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (sw), GTK_SHADOW_IN);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_text_buffer_set_text (*buffer, text, -1);
  gtk_container_add (GTK_CONTAINER (sw), view);
  gtk_widget_set_size_request (sw, 360, 64);
  return sw;
}

static void
buffer_to (GtkTextBuffer *buffer, gchar *dst, gsize size)
{
  GtkTextIter a, b;
  gchar *t;

  gtk_text_buffer_get_bounds (buffer, &a, &b);
  t = gtk_text_buffer_get_text (buffer, &a, &b, FALSE);
  g_strlcpy (dst, t, size);
  g_free (t);
}

static GtkWidget *
spin (gdouble value, gdouble lo, gdouble hi, gdouble step, gint digits)
{
  GtkWidget *w = gtk_spin_button_new_with_range (lo, hi, step);

  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (w), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), CLAMP (value, lo, hi));
  gtk_entry_set_width_chars (GTK_ENTRY (w), 10);
  return w;
}

static void
random_toggled (GtkToggleButton *toggle, GtkWidget *spin)
{
  gtk_widget_set_sensitive (spin, !gtk_toggle_button_get_active (toggle));
}

gboolean
dream_gimp2_generate_dialog (gboolean                 img2img,
                             gint                     image_w,
                             gint                     image_h,
                             DreamGimp2GenerateVals  *vals)
{
  GtkWidget *dialog, *vbox, *table, *w, *hbox;
  GtkWidget *model_entry, *width_spin = NULL, *height_spin = NULL, *seed_spin, *random;
  GtkWidget *steps_spin, *cfg_spin, *combo, *count_spin, *rank = NULL;
  GtkObject *strength_adj = NULL;
  GtkTextBuffer *prompt_buf, *negative_buf;
  gint sampler = 0, row = 0, i;
  gchar *text;
  gboolean ok;

  for (i = 0; i < (gint) G_N_ELEMENTS (samplers); i++)
    if (g_ascii_strcasecmp (vals->sampler, samplers[i]) == 0)
      sampler = i;

  dialog = gimp_dialog_new (img2img ? "Reimagine Layer" : "Text to Image",
                            DREAM_GIMP2_BINARY, NULL, 0, gimp_standard_help_func,
                            img2img ? DREAM_GIMP2_IMG2IMG_PROC : DREAM_GIMP2_TXT2IMG_PROC,
                            "_Cancel", GTK_RESPONSE_CANCEL,
                            img2img ? "_Reimagine" : "_Generate", GTK_RESPONSE_OK,
                            NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      vbox, TRUE, TRUE, 0);
  table = gtk_table_new (10, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, TRUE, TRUE, 0);

  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Prompt:", 0.0, 0.0,
                             text_area (vals->prompt, &prompt_buf), 2, FALSE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Negative prompt:", 0.0, 0.0,
                             text_area (vals->negative, &negative_buf), 2, FALSE);

  model_entry = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (model_entry), vals->model);
  gimp_help_set_help_data (model_entry, "Empty: the built-in shapes-sd. Otherwise "
                           "a model name or the path of a Stable Diffusion "
                           ".safetensors checkpoint.", NULL);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Model:", 0.0, 0.5,
                             model_entry, 2, FALSE);

  if (!img2img)
    {
      hbox = gtk_hbox_new (FALSE, 6);
      width_spin = spin (vals->width, 0, 4096, 8, 0);
      height_spin = spin (vals->height, 0, 4096, 8, 0);
      gtk_box_pack_start (GTK_BOX (hbox), width_spin, FALSE, FALSE, 0);
      gtk_box_pack_start (GTK_BOX (hbox), gtk_label_new ("×"), FALSE, FALSE, 0);
      gtk_box_pack_start (GTK_BOX (hbox), height_spin, FALSE, FALSE, 0);
      text = g_strdup_printf ("0 = the image's size (%d × %d)", image_w, image_h);
      gtk_box_pack_start (GTK_BOX (hbox), gtk_label_new (text), FALSE, FALSE, 0);
      g_free (text);
      gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "Size:", 0.0, 0.5,
                                 hbox, 2, FALSE);
    }
  else
    strength_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, row++, "_Strength:",
                                         200, 6, CLAMP (vals->strength, 0.0, 1.0),
                                         0.0, 1.0, 0.05, 0.1, 2, TRUE, 0, 0,
                                         "0 keeps the layer, 1 redraws it from noise", NULL);

  hbox = gtk_hbox_new (FALSE, 6);
  random = gtk_check_button_new_with_mnemonic ("_Random");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (random), vals->random_seed);
  seed_spin = spin (MAX (vals->seed, 0), 0, G_MAXINT32 - 16, 1, 0);
  g_signal_connect (random, "toggled", G_CALLBACK (random_toggled), seed_spin);
  random_toggled (GTK_TOGGLE_BUTTON (random), seed_spin);
  gtk_box_pack_start (GTK_BOX (hbox), random, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), seed_spin, FALSE, FALSE, 0);
  text = vals->last_seed >= 0 ? g_strdup_printf ("Last seed: %d", vals->last_seed)
                              : g_strdup ("image i uses seed + i");
  w = gtk_label_new (text);
  gtk_label_set_selectable (GTK_LABEL (w), TRUE);
  g_free (text);
  gtk_box_pack_start (GTK_BOX (hbox), w, FALSE, FALSE, 0);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "Seed:", 0.0, 0.5, hbox, 2, FALSE);

  steps_spin = spin (vals->steps, 0, 1000, 1, 0);
  cfg_spin = spin (vals->cfg, -1.0, 100.0, 0.5, 1);
  count_spin = spin (vals->count, 1, 16, 1, 0);
  gimp_help_set_help_data (steps_spin, "0 = the model's default", NULL);
  gimp_help_set_help_data (cfg_spin, "Negative = the model's default", NULL);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "S_teps:", 0.0, 0.5,
                             steps_spin, 1, TRUE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "Gu_idance scale:", 0.0, 0.5,
                             cfg_spin, 1, TRUE);
  combo = gimp_int_combo_box_new ("Model's default", 0, "Euler", 1, "Euler ancestral", 2,
                                  "DDIM", 3, "DPM++ 2M Karras", 4, "LCM / Turbo", 5, NULL);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), sampler);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "Sa_mpler:", 0.0, 0.5,
                             combo, 1, TRUE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "N_umber of images:", 0.0, 0.5,
                             count_spin, 1, TRUE);
  if (!img2img)
    {
      rank = gtk_check_button_new_with_mnemonic ("Rank by _CLIP (best on top, score in the name)");
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (rank), vals->rank_by_clip);
      gtk_box_pack_start (GTK_BOX (vbox), rank, FALSE, FALSE, 0);
    }

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok)
    {
      buffer_to (prompt_buf, vals->prompt, sizeof vals->prompt);
      buffer_to (negative_buf, vals->negative, sizeof vals->negative);
      g_strlcpy (vals->model, gtk_entry_get_text (GTK_ENTRY (model_entry)), sizeof vals->model);
      if (width_spin)
        {
          vals->width = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (width_spin));
          vals->height = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (height_spin));
        }
      if (strength_adj)
        vals->strength = gtk_adjustment_get_value (GTK_ADJUSTMENT (strength_adj));
      vals->random_seed = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (random));
      vals->seed = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (seed_spin));
      vals->steps = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (steps_spin));
      vals->cfg = gtk_spin_button_get_value (GTK_SPIN_BUTTON (cfg_spin));
      vals->count = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (count_spin));
      gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &sampler);
      g_strlcpy (vals->sampler, samplers[CLAMP (sampler, 0, 5)], sizeof vals->sampler);
      if (rank)
        vals->rank_by_clip = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (rank));
    }
  gtk_widget_destroy (dialog);
  return ok;
}
