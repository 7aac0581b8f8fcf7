/* clip-dialog.c — the GIMP 2.10 dialogs of Score Captions… and Describe
 * Layer… (see clip-dialog.h).
 *
 *   Score Captions                      Describe Layer
 *   Captions (one per line):            Caption (edit it, copy it, or
 *   [ a cat                 ]           send it to Text to Image):
 *   [ a dog                 ]           [a photograph of a cat, warm light]
 *   CLIP model: [           ] ("" =     [Copy] [Text to Image…]   [Close]
 *     the default)
 *   Prob.   Cosine  Caption
 *   81.2 %  0.3012  a cat
 *   [Score] [Copy]         [Close]
 */
#include <string.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "clip-dialog.h"
#include "generate-dialog.h"   /* DreamGimp2GenerateVals: Text to Image's last values */

enum { RESPONSE_SCORE = 1, RESPONSE_COPY = 2, RESPONSE_TXT2IMG = 3 };
enum { COL_PROB, COL_COSINE, COL_CAPTION, N_COLS };

static gchar *
text_view_get (GtkWidget *view)
{
  GtkTextBuffer *b = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  GtkTextIter s, e;
  gtk_text_buffer_get_bounds (b, &s, &e);
  return gtk_text_buffer_get_text (b, &s, &e, FALSE);
}

static void
copy_text (GtkWidget *widget, const gchar *text)
{
  GtkClipboard *c = gtk_widget_get_clipboard (widget, GDK_SELECTION_CLIPBOARD);
  gtk_clipboard_set_text (c, text, -1);
  gtk_clipboard_store (c);
}

static void
fill_list (GtkListStore *store, const gchar *ranking)
{
  gchar **lines = g_strsplit (ranking, "\n", -1), **l;
  GtkTreeIter it;

  gtk_list_store_clear (store);
  for (l = lines; *l; l++)
    {
      gchar **f = g_strsplit (*l, "\t", 3);
      if (g_strv_length (f) == 3)
        {
          gchar *p = g_strdup_printf ("%.1f %%", 100.0 * g_ascii_strtod (f[0], NULL));
          gtk_list_store_append (store, &it);
          gtk_list_store_set (store, &it, COL_PROB, p, COL_COSINE, f[1], COL_CAPTION, f[2], -1);
          g_free (p);
        }
      g_strfreev (f);
    }
  g_strfreev (lines);
}

gchar *
dream_gimp2_clip_score_dialog (DreamGimp2ClipScoreVals *vals,
                               DreamGimp2ScoreFunc score, gpointer user)
{
  GtkWidget *dialog, *vbox, *label, *scrolled, *captions, *model, *tree, *hbox, *status;
  GtkListStore *store;
  GtkCellRenderer *cell;
  gchar *ranking = NULL;
  gint response;

  dialog = gimp_dialog_new ("Score Captions", DREAM_GIMP2_BINARY, NULL, 0,
                            gimp_standard_help_func, DREAM_GIMP2_CLIP_SCORE_PROC,
                            "_Copy", RESPONSE_COPY,
                            "_Score", RESPONSE_SCORE,
                            "_Close", GTK_RESPONSE_CLOSE,
                            NULL);
  gtk_window_set_default_size (GTK_WINDOW (dialog), 460, 480);
  vbox = gtk_vbox_new (FALSE, 6);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox,
                      TRUE, TRUE, 0);

  label = gtk_label_new ("Captions to rank for the layer (one per line):");
  gtk_misc_set_alignment (GTK_MISC (label), 0.0, 0.5);
  gtk_box_pack_start (GTK_BOX (vbox), label, FALSE, FALSE, 0);
  scrolled = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_AUTOMATIC,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  captions = gtk_text_view_new ();
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (captions)),
                            vals->captions, -1);
  gtk_container_add (GTK_CONTAINER (scrolled), captions);
  gtk_widget_set_size_request (scrolled, -1, 120);
  gtk_box_pack_start (GTK_BOX (vbox), scrolled, TRUE, TRUE, 0);

  hbox = gtk_hbox_new (FALSE, 6);
  label = gtk_label_new ("CLIP model:");
  gtk_box_pack_start (GTK_BOX (hbox), label, FALSE, FALSE, 0);
  model = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (model), vals->model);
  gtk_widget_set_tooltip_text (model, "Empty: the default CLIP (a CLIP you installed, else "
                               "the bundled shapes-clip). Or a model name or file.");
  gtk_box_pack_start (GTK_BOX (hbox), model, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), hbox, FALSE, FALSE, 0);

  store = gtk_list_store_new (N_COLS, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  tree = gtk_tree_view_new_with_model (GTK_TREE_MODEL (store));
  cell = gtk_cell_renderer_text_new ();
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (tree), -1, "Probability", cell,
                                               "text", COL_PROB, NULL);
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (tree), -1, "Cosine", cell,
                                               "text", COL_COSINE, NULL);
  gtk_tree_view_insert_column_with_attributes (GTK_TREE_VIEW (tree), -1, "Caption", cell,
                                               "text", COL_CAPTION, NULL);
  scrolled = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_AUTOMATIC,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_container_add (GTK_CONTAINER (scrolled), tree);
  gtk_widget_set_size_request (scrolled, -1, 160);
  gtk_box_pack_start (GTK_BOX (vbox), scrolled, TRUE, TRUE, 0);
  status = gtk_label_new ("Press Score to rank the captions.");
  gtk_misc_set_alignment (GTK_MISC (status), 0.0, 0.5);
  gtk_label_set_line_wrap (GTK_LABEL (status), TRUE);
  gtk_box_pack_start (GTK_BOX (vbox), status, FALSE, FALSE, 0);
  gtk_widget_show_all (dialog);

  while ((response = gimp_dialog_run (GIMP_DIALOG (dialog))) == RESPONSE_SCORE
         || response == RESPONSE_COPY)
    {
      if (response == RESPONSE_COPY)
        {
          if (ranking)
            copy_text (dialog, ranking);
          continue;
        }
      gchar *text = text_view_get (captions);
      GError *error = NULL;
      gchar *r;

      g_strlcpy (vals->captions, text, sizeof vals->captions);
      g_strlcpy (vals->model, gtk_entry_get_text (GTK_ENTRY (model)), sizeof vals->model);
      gtk_label_set_text (GTK_LABEL (status), "Scoring…");
      gtk_widget_set_sensitive (dialog, FALSE);
      while (gtk_events_pending ())
        gtk_main_iteration ();
      r = score (user, text, vals->model, &error);
      gtk_widget_set_sensitive (dialog, TRUE);
      if (r)
        {
          g_free (ranking);
          ranking = r;
          fill_list (store, ranking);
          gtk_label_set_text (GTK_LABEL (status), "Best first. Copy puts the ranking "
                              "(probability, cosine, caption) on the clipboard.");
        }
      else
        {
          gtk_label_set_text (GTK_LABEL (status), error ? error->message : "Scoring failed.");
          g_clear_error (&error);
        }
      g_free (text);
    }
  gtk_widget_destroy (dialog);
  g_object_unref (store);
  return ranking;
}

gchar *
dream_gimp2_describe_dialog (gint32 image, gint32 drawable, const gchar *caption)
{
  GtkWidget *dialog, *vbox, *label, *entry, *txt2img = NULL;
  gboolean has_txt2img = gimp_procedural_db_proc_exists (DREAM_GIMP2_TXT2IMG_PROC_NAME);
  gchar *result;
  gint response;

  dialog = gimp_dialog_new ("Describe Layer", DREAM_GIMP2_BINARY, NULL, 0,
                            gimp_standard_help_func, DREAM_GIMP2_DESCRIBE_PROC,
                            "_Copy", RESPONSE_COPY,
                            NULL);
  if (has_txt2img)
    txt2img = gtk_dialog_add_button (GTK_DIALOG (dialog), "_Text to Image…", RESPONSE_TXT2IMG);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Close", GTK_RESPONSE_CLOSE);
  (void) txt2img;
  vbox = gtk_vbox_new (FALSE, 6);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox,
                      TRUE, TRUE, 0);
  label = gtk_label_new (has_txt2img
                         ? "A caption for the layer — edit it, copy it, or send it to Text to Image:"
                         : "A caption for the layer — edit it and copy it:");
  gtk_misc_set_alignment (GTK_MISC (label), 0.0, 0.5);
  gtk_box_pack_start (GTK_BOX (vbox), label, FALSE, FALSE, 0);
  entry = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (entry), caption);
  gtk_entry_set_width_chars (GTK_ENTRY (entry), 60);
  gtk_box_pack_start (GTK_BOX (vbox), entry, FALSE, FALSE, 0);
  gtk_widget_show_all (dialog);

  while ((response = gimp_dialog_run (GIMP_DIALOG (dialog))) == RESPONSE_COPY
         || response == RESPONSE_TXT2IMG)
    {
      const gchar *text = gtk_entry_get_text (GTK_ENTRY (entry));
      if (response == RESPONSE_COPY)
        copy_text (dialog, text);
      else
        {
          /* Text to Image's own dialog, its prompt set to the caption: an
           * interactive run of it starts from its last-used values (same
           * executable, same struct), so the caption goes there; before
           * its first use it starts from its defaults, and the caption is
           * on the clipboard to paste. */
          DreamGimp2GenerateVals gv;
          gint n = 0;
          if (gimp_get_data_size (DREAM_GIMP2_TXT2IMG_PROC) == sizeof gv)
            {
              gimp_get_data (DREAM_GIMP2_TXT2IMG_PROC, &gv);
              g_strlcpy (gv.prompt, text, sizeof gv.prompt);
              gimp_set_data (DREAM_GIMP2_TXT2IMG_PROC, &gv, sizeof gv);
            }
          copy_text (dialog, text);
          gtk_widget_hide (dialog);
          GimpParam *r = gimp_run_procedure (DREAM_GIMP2_TXT2IMG_PROC_NAME, &n,
                                             GIMP_PDB_INT32, GIMP_RUN_INTERACTIVE,
                                             GIMP_PDB_IMAGE, image,
                                             GIMP_PDB_DRAWABLE, drawable,
                                             GIMP_PDB_STRING, text,
                                             GIMP_PDB_STRING, "",
                                             GIMP_PDB_STRING, "",
                                             GIMP_PDB_INT32, 0, GIMP_PDB_INT32, 0,
                                             GIMP_PDB_INT32, -1, GIMP_PDB_INT32, 0,
                                             GIMP_PDB_FLOAT, -1.0,
                                             GIMP_PDB_STRING, "default",
                                             GIMP_PDB_INT32, 1, GIMP_PDB_INT32, 0,
                                             GIMP_PDB_STRING, "",
                                             GIMP_PDB_END);
          gimp_destroy_params (r, n);
          break;
        }
    }
  result = g_strdup (gtk_entry_get_text (GTK_ENTRY (entry)));
  gtk_widget_destroy (dialog);
  return result;
}
