/* upscale-dialog.c — the GIMP 2.10 dialog of Filters ▸ Enhance ▸ Dream Upscale…
 *
 *   Scale:   [====|======] [ 4.00 ]
 *   Model:   [Photo (Real-ESRGAN general) v]
 *   [ ] Open the result as a new image
 *   “Background” 640 × 480 → 2560 × 1920
 */
#include <string.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dream.h"
#include "upscale-dialog.h"

#define SCALE_WIDTH 240

enum { MODEL_PHOTO, MODEL_ANIME, MODEL_FAST, MODEL_FILE };
static const char *model_names[] = { "photo", "anime", "fast" };

typedef struct {
  DreamGimp2UpscaleVals *vals;
  gint32     drawable_id;
  GtkWidget *size_label;
} DialogState;

static void
update_size (GtkAdjustment *adj, DialogState *st)
{
  gint w = gimp_drawable_width (st->drawable_id);
  gint h = gimp_drawable_height (st->drawable_id);
  gdouble s = gtk_adjustment_get_value (adj);
  gchar *name = gimp_item_get_name (st->drawable_id);
  gchar *text = g_strdup_printf ("“%s” %d × %d → %d × %d", name, w, h,
                                 dream_upscale_size (w, s), dream_upscale_size (h, s));

  gtk_label_set_text (GTK_LABEL (st->size_label), text);
  g_free (text);
  g_free (name);
}

gboolean
dream_gimp2_upscale_dialog (gint32                 drawable_id,
                            DreamGimp2UpscaleVals *vals)
{
  DialogState st = { vals, drawable_id, NULL };
  GtkWidget *dialog, *vbox, *table, *combo, *toggle;
  GtkObject *scale_adj;
  gchar *file_label = NULL;
  gint choice = MODEL_FILE, i;
  gboolean ok;

  for (i = 0; i < (gint) G_N_ELEMENTS (model_names); i++)
    if (g_ascii_strcasecmp (vals->model, model_names[i]) == 0 || (!vals->model[0] && i == 0))
      choice = i;

  dialog = gimp_dialog_new ("Dream Upscale", DREAM_GIMP2_BINARY,
                            NULL, 0,
                            gimp_standard_help_func, DREAM_GIMP2_UPSCALE_PROC,
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
  table = gtk_table_new (2, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);

  scale_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 0, "_Scale:",
                                    SCALE_WIDTH, 6, CLAMP (vals->scale, 1.0, 8.0),
                                    1.0, 8.0, 0.5, 1.0, 2, TRUE, 0, 0,
                                    "Enlargement factor (1 to 8)", NULL);

  combo = gimp_int_combo_box_new ("Photo (Real-ESRGAN general)", MODEL_PHOTO,
                                  "Anime (Real-ESRGAN animevideo)", MODEL_ANIME,
                                  "Fast (RDN slim)", MODEL_FAST,
                                  NULL);
  if (choice == MODEL_FILE)
    {
      gchar *base = g_path_get_basename (vals->model);
      file_label = g_strdup_printf ("File: %s", base);
      g_free (base);
      gimp_int_combo_box_append (GIMP_INT_COMBO_BOX (combo),
                                 GIMP_INT_STORE_VALUE, MODEL_FILE,
                                 GIMP_INT_STORE_LABEL, file_label, -1);
    }
  gimp_int_combo_box_connect (GIMP_INT_COMBO_BOX (combo), choice,
                              G_CALLBACK (gimp_int_combo_box_get_active), &choice);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 1, "_Model:", 0.0, 0.5,
                             combo, 2, FALSE);

  toggle = gtk_check_button_new_with_mnemonic ("Open the result as a _new image");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (toggle), vals->new_image);
  gimp_help_set_help_data (toggle, "Leave this image as it is; otherwise it "
                           "is scaled and the result added as a layer", NULL);
  gtk_box_pack_start (GTK_BOX (vbox), toggle, FALSE, FALSE, 0);

  st.size_label = gtk_label_new ("");
  gtk_misc_set_alignment (GTK_MISC (st.size_label), 0.0, 0.5);
  gimp_label_set_attributes (GTK_LABEL (st.size_label),
                             PANGO_ATTR_SCALE, PANGO_SCALE_SMALL, -1);
  gtk_box_pack_start (GTK_BOX (vbox), st.size_label, FALSE, FALSE, 0);
  g_signal_connect (scale_adj, "value-changed", G_CALLBACK (update_size), &st);
  update_size (GTK_ADJUSTMENT (scale_adj), &st);

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok)
    {
      vals->scale = gtk_adjustment_get_value (GTK_ADJUSTMENT (scale_adj));
      vals->new_image = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (toggle));
      if (choice != MODEL_FILE)
        g_strlcpy (vals->model, model_names[choice], sizeof vals->model);
    }
  gtk_widget_destroy (dialog);
  g_free (file_label);
  return ok;
}
