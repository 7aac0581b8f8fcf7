/* inpaint-dialog.c — the GIMP 2.10 dialog of Inpaint Selection and Extend
 * Canvas (see the header).
 *
 *   Extend:  [By pixels on each side ▾]      (Extend Canvas only, from
 *            To a size / To an aspect ratio    here to Blend width)
 *   Left / Right / Top / Bottom  [ 0 ]        (greyed unless by the sides)
 *   Width / Height               [ 256 ]      (greyed unless to a size)
 *   Aspect ratio                 [16:9 ]      (greyed unless to an aspect)
 *   Picture at:  [Centre ▾]                   (greyed for the sides)
 *   Blend width                  [ 16 ]
 *   Fill with:       [Content-aware fill ▾]
 *   Sample from:     [Around the area    ▾]
 *   Sampling width:  [====|=====] [ 64 ]
 *   Seed:            [ 0 ]
 *   ┌ Generate ───────────────────────────┐  (greyed for content-aware)
 *   │ Prompt, Negative prompt, Model file, │
 *   │ Steps, Guidance, Strength            │
 *   └──────────────────────────────────────┘
 */
#include <string.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "inpaint-dialog.h"

typedef struct {
  gint mode, whole, extend_by;
  GtkWidget *gen_frame;
  GtkObject *context_adj;
  GtkWidget *sides[4], *size[2], *aspect, *anchor;   /* NULL for Inpaint */
} DialogState;

/* a table row: the widget and its label (the mnemonic's target) */
static void
row_sensitive (GtkWidget *w, gboolean on)
{
  GtkWidget *label;

  if (!w)
    return;
  gtk_widget_set_sensitive (w, on);
  label = g_object_get_data (G_OBJECT (w), "dream-label");
  if (label)
    gtk_widget_set_sensitive (label, on);
}

static void
update_sensitive (GtkWidget *w, DialogState *st)
{
  int i;

  (void) w;
  gtk_widget_set_sensitive (st->gen_frame, st->mode == 1);
  gimp_scale_entry_set_sensitive (st->context_adj, st->whole == 0);
  for (i = 0; i < 4; i++)
    row_sensitive (st->sides[i], st->extend_by == 0);
  row_sensitive (st->size[0], st->extend_by == 1);
  row_sensitive (st->size[1], st->extend_by == 1);
  row_sensitive (st->aspect, st->extend_by == 2);
  row_sensitive (st->anchor, st->extend_by != 0);
}

static void
extend_by_changed (GtkWidget *combo, DialogState *st)
{
  gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &st->extend_by);
  update_sensitive (combo, st);
}

static void
mode_changed (GtkWidget *combo, DialogState *st)
{
  gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &st->mode);
  update_sensitive (combo, st);
}

static void
whole_changed (GtkWidget *combo, DialogState *st)
{
  gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &st->whole);
  update_sensitive (combo, st);
}

static GtkWidget *
spin (GtkTable *table, int row, const char *label, int value, int lo, int hi)
{
  GtkObject *adj = gtk_adjustment_new (value, lo, hi, 1, 10, 0);
  GtkWidget *sb = gtk_spin_button_new (GTK_ADJUSTMENT (adj), 1, 0);
  GtkWidget *l = gimp_table_attach_aligned (table, 0, row, label, 0.0, 0.5, sb, 1, TRUE);
  g_object_set_data (G_OBJECT (sb), "dream-label", l);
  return sb;
}

static GtkWidget *
entry (GtkTable *table, int row, const char *label, const char *text)
{
  GtkWidget *e = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (e), text);
  GtkWidget *l;
  gtk_entry_set_width_chars (GTK_ENTRY (e), 40);
  l = gimp_table_attach_aligned (table, 0, row, label, 0.0, 0.5, e, 2, FALSE);
  g_object_set_data (G_OBJECT (e), "dream-label", l);
  return e;
}

gboolean
dream_gimp2_inpaint_dialog (gboolean extend, DreamGimp2InpaintVals *vals,
                            gint image_width, gint image_height)
{
  DialogState st = { CLAMP (vals->mode, 0, 1), CLAMP (vals->whole, 0, 1),
                     CLAMP (vals->extend_by, 0, 2), NULL, NULL,
                     { NULL }, { NULL }, NULL, NULL };
  GtkWidget *dialog, *vbox, *table, *gtable, *mode_combo, *whole_combo;
  GtkWidget *extend_combo = NULL;
  GtkWidget **sides = st.sides, *feather = NULL, *seed, *steps;
  GtkWidget *prompt, *negative, *model;
  GtkObject *cfg_adj, *strength_adj;
  gint row = 0;
  gboolean ok;

  dialog = gimp_dialog_new (extend ? "Extend Canvas" : "Inpaint Selection",
                            DREAM_GIMP2_BINARY, NULL, 0, gimp_standard_help_func,
                            extend ? DREAM_GIMP2_OUTPAINT_PROC : DREAM_GIMP2_INPAINT_PROC,
                            "_Cancel", GTK_RESPONSE_CANCEL,
                            extend ? "_Extend" : "_Fill", GTK_RESPONSE_OK,
                            NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      vbox, TRUE, TRUE, 0);
  table = gtk_table_new (16, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);

  if (extend)
    {
      GtkWidget *l;

      extend_combo = gimp_int_combo_box_new ("By pixels on each side", 0,
                                             "To a size", 1,
                                             "To an aspect ratio", 2, NULL);
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (extend_combo), st.extend_by);
      gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "E_xtend:", 0.0, 0.5,
                                 extend_combo, 2, FALSE);
      sides[0] = spin (GTK_TABLE (table), row++, "_Left:", vals->left, 0, 16384);
      sides[1] = spin (GTK_TABLE (table), row++, "_Right:", vals->right, 0, 16384);
      sides[2] = spin (GTK_TABLE (table), row++, "_Top:", vals->top, 0, 16384);
      sides[3] = spin (GTK_TABLE (table), row++, "_Bottom:", vals->bottom, 0, 16384);
      /* the size fields start at the canvas's size, never below it */
      st.size[0] = spin (GTK_TABLE (table), row++, "Wi_dth:",
                         MAX (vals->target_width, image_width), 1, 65536);
      st.size[1] = spin (GTK_TABLE (table), row++, "_Height:",
                         MAX (vals->target_height, image_height), 1, 65536);
      st.aspect = gtk_entry_new ();
      gtk_entry_set_text (GTK_ENTRY (st.aspect), vals->aspect[0] ? vals->aspect : "16:9");
      gtk_entry_set_max_length (GTK_ENTRY (st.aspect), DREAM_GIMP2_ASPECT_MAX - 1);
      gtk_entry_set_width_chars (GTK_ENTRY (st.aspect), 10);
      gimp_help_set_help_data (st.aspect, "WIDTH:HEIGHT, e.g. 16:9, 4:3, 1:1, 2.39:1; "
                               "one side grows the least needed", NULL);
      l = gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Aspect ratio:", 0.0, 0.5,
                                     st.aspect, 1, TRUE);
      g_object_set_data (G_OBJECT (st.aspect), "dream-label", l);
      st.anchor = gimp_int_combo_box_new ("Centre", 0, "Top left", 1, "Top", 2,
                                          "Top right", 3, "Left", 4, "Right", 5,
                                          "Bottom left", 6, "Bottom", 7,
                                          "Bottom right", 8, NULL);
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (st.anchor), CLAMP (vals->anchor, 0, 8));
      l = gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Picture at:", 0.0, 0.5,
                                     st.anchor, 2, FALSE);
      g_object_set_data (G_OBJECT (st.anchor), "dream-label", l);
      feather = spin (GTK_TABLE (table), row++, "Blend _width:", vals->feather, 0, 512);
    }

  mode_combo = gimp_int_combo_box_new ("Content-aware fill", 0,
                                       "Generate from a prompt", 1, NULL);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (mode_combo), st.mode);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "Fill w_ith:", 0.0, 0.5,
                             mode_combo, 2, FALSE);
  whole_combo = gimp_int_combo_box_new ("Around the area", 0, "The whole image", 1, NULL);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (whole_combo), st.whole);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Sample from:", 0.0, 0.5,
                             whole_combo, 2, FALSE);
  st.context_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, row++, "Sampling _width:",
                                         200, 6, CLAMP (vals->context, 8, 8192), 8, 1024,
                                         8, 64, 0, FALSE, 8, 8192,
                                         "How far around the area to sample from (pixels)", NULL);
  seed = spin (GTK_TABLE (table), row++, "See_d:", vals->seed, 0, G_MAXINT);

  st.gen_frame = gimp_frame_new ("Generate (Stable Diffusion)");
  gtk_box_pack_start (GTK_BOX (vbox), st.gen_frame, FALSE, FALSE, 0);
  gtable = gtk_table_new (6, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (gtable), 6);
  gtk_table_set_row_spacings (GTK_TABLE (gtable), 6);
  gtk_container_add (GTK_CONTAINER (st.gen_frame), gtable);
  prompt = entry (GTK_TABLE (gtable), 0, "_Prompt:", vals->prompt);
  negative = entry (GTK_TABLE (gtable), 1, "_Negative prompt:", vals->negative);
  model = entry (GTK_TABLE (gtable), 2, "_Model:", vals->model);
  steps = spin (GTK_TABLE (gtable), 3, "S_teps:", CLAMP (vals->steps, 1, 150), 1, 150);
  cfg_adj = gimp_scale_entry_new (GTK_TABLE (gtable), 0, 4, "_Guidance:", 200, 6,
                                  CLAMP (vals->cfg_scale, 0.0, 30.0), 0.0, 30.0, 0.5, 1.0, 1,
                                  TRUE, 0, 0, "Classifier-free guidance scale", NULL);
  strength_adj = gimp_scale_entry_new (GTK_TABLE (gtable), 0, 5, "St_rength:", 200, 6,
                                       CLAMP (vals->strength, 0.0, 1.0), 0.0, 1.0, 0.05, 0.1, 2,
                                       TRUE, 0, 0, "1 = the area is made from noise", NULL);

  g_signal_connect (mode_combo, "changed", G_CALLBACK (mode_changed), &st);
  g_signal_connect (whole_combo, "changed", G_CALLBACK (whole_changed), &st);
  if (extend_combo)
    g_signal_connect (extend_combo, "changed", G_CALLBACK (extend_by_changed), &st);
  gtk_widget_show_all (dialog);
  update_sensitive (NULL, &st);

  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok)
    {
      if (extend)
        {
          vals->left = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (sides[0]));
          vals->right = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (sides[1]));
          vals->top = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (sides[2]));
          vals->bottom = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (sides[3]));
          vals->feather = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (feather));
          vals->extend_by = st.extend_by;
          vals->target_width = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (st.size[0]));
          vals->target_height = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (st.size[1]));
          g_strlcpy (vals->aspect, gtk_entry_get_text (GTK_ENTRY (st.aspect)), sizeof vals->aspect);
          gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (st.anchor), &vals->anchor);
        }
      vals->mode = st.mode;
      vals->whole = st.whole;
      vals->context = (gint) gtk_adjustment_get_value (GTK_ADJUSTMENT (st.context_adj));
      vals->seed = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (seed));
      vals->steps = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (steps));
      vals->cfg_scale = gtk_adjustment_get_value (GTK_ADJUSTMENT (cfg_adj));
      vals->strength = gtk_adjustment_get_value (GTK_ADJUSTMENT (strength_adj));
      g_strlcpy (vals->prompt, gtk_entry_get_text (GTK_ENTRY (prompt)), sizeof vals->prompt);
      g_strlcpy (vals->negative, gtk_entry_get_text (GTK_ENTRY (negative)), sizeof vals->negative);
      g_strlcpy (vals->model, gtk_entry_get_text (GTK_ENTRY (model)), sizeof vals->model);
    }
  gtk_widget_destroy (dialog);
  return ok;
}
