/* clip-dialog.c — the GIMP 3 dialogs of Score Captions… and Describe
 * Layer… (see clip-dialog.h).
 *
 *   Score Captions                      Describe Layer
 *   Captions to rank (one per line):    A caption for the layer:
 *   [ a cat                 ]           [a photograph of a cat, warm light]
 *   [ a dog                 ]           [Copy] [Text to Image…]   [Close]
 *   CLIP model [            ]
 *   Probability  Cosine  Caption
 *   81.2 %       0.3012  a cat
 *   [Copy] [Score]                [Close]
 */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "clip-dialog.h"

#define TXT2IMG_PROC "plug-in-dream-txt2img"

enum { RESPONSE_SCORE = 1, RESPONSE_COPY = 2, RESPONSE_TXT2IMG = 3 };
enum { COL_PROB, COL_COSINE, COL_CAPTION, N_COLS };

static char *
text_view_get (GtkWidget *view)
{
  GtkTextBuffer *b = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  GtkTextIter s, e;
  gtk_text_buffer_get_bounds (b, &s, &e);
  return gtk_text_buffer_get_text (b, &s, &e, FALSE);
}

static void
copy_text (GtkWidget *widget, const char *text)
{
  GtkClipboard *c = gtk_widget_get_clipboard (widget, GDK_SELECTION_CLIPBOARD);
  gtk_clipboard_set_text (c, text, -1);
  gtk_clipboard_store (c);
}

static void
fill_list (GtkListStore *store, const char *ranking)
{
  char **lines = g_strsplit (ranking, "\n", -1), **l;
  GtkTreeIter it;

  gtk_list_store_clear (store);
  for (l = lines; *l; l++)
    {
      char **f = g_strsplit (*l, "\t", 3);
      if (g_strv_length (f) == 3)
        {
          char *p = g_strdup_printf ("%.1f %%", 100.0 * g_ascii_strtod (f[0], NULL));
          gtk_list_store_append (store, &it);
          gtk_list_store_set (store, &it, COL_PROB, p, COL_COSINE, f[1], COL_CAPTION, f[2], -1);
          g_free (p);
        }
      g_strfreev (f);
    }
  g_strfreev (lines);
}

static GtkWidget *
scrolled (GtkWidget *child, int height)
{
  GtkWidget *s = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (s), GTK_POLICY_AUTOMATIC,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (s), GTK_SHADOW_IN);
  gtk_container_add (GTK_CONTAINER (s), child);
  gtk_widget_set_size_request (s, -1, height);
  return s;
}

static GtkWidget *
left_label (const char *text)
{
  GtkWidget *l = gtk_label_new_with_mnemonic (text);
  gtk_label_set_xalign (GTK_LABEL (l), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (l), TRUE);
  return l;
}

char *
dream_clip_score_dialog_run (char **captions, char **model,
                             dream_clip_score_func score, gpointer user)
{
  GtkWidget *dialog, *vbox, *hbox, *view, *entry, *tree, *status;
  GtkListStore *store;
  GtkCellRenderer *cell;
  char *ranking = NULL;
  int response;

  dialog = gimp_dialog_new ("Score Captions", "dreamlayer", NULL, 0,
                            gimp_standard_help_func, "plug-in-dream-clip-score",
                            "_Copy", RESPONSE_COPY,
                            "_Score", RESPONSE_SCORE,
                            "_Close", GTK_RESPONSE_CLOSE,
                            NULL);
  gtk_window_set_default_size (GTK_WINDOW (dialog), 480, 500);
  vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox,
                      TRUE, TRUE, 0);

  gtk_box_pack_start (GTK_BOX (vbox), left_label ("Captions to rank for the layer (one per line):"),
                      FALSE, FALSE, 0);
  view = gtk_text_view_new ();
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)),
                            *captions ? *captions : "", -1);
  gtk_box_pack_start (GTK_BOX (vbox), scrolled (view, 120), TRUE, TRUE, 0);

  hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_pack_start (GTK_BOX (hbox), gtk_label_new ("CLIP model"), FALSE, FALSE, 0);
  entry = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (entry), *model ? *model : "");
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "default");
  gtk_widget_set_tooltip_text (entry, "Empty: the default CLIP (a CLIP you installed, else "
                               "the bundled shapes-clip). Or a model name or file.");
  gtk_box_pack_start (GTK_BOX (hbox), entry, TRUE, TRUE, 0);
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
  gtk_box_pack_start (GTK_BOX (vbox), scrolled (tree, 160), TRUE, TRUE, 0);
  status = left_label ("Press Score to rank the captions.");
  gtk_box_pack_start (GTK_BOX (vbox), status, FALSE, FALSE, 0);
  gtk_widget_show_all (dialog);

  while ((response = gimp_dialog_run (GIMP_DIALOG (dialog))) == RESPONSE_SCORE
         || response == RESPONSE_COPY)
    {
      char *text, *r;
      GError *error = NULL;

      if (response == RESPONSE_COPY)
        {
          if (ranking)
            copy_text (dialog, ranking);
          continue;
        }
      text = text_view_get (view);
      g_free (*captions);
      g_free (*model);
      *captions = g_strdup (text);
      *model = g_strdup (gtk_entry_get_text (GTK_ENTRY (entry)));
      gtk_label_set_text (GTK_LABEL (status), "Scoring…");
      gtk_widget_set_sensitive (dialog, FALSE);
      while (gtk_events_pending ())
        gtk_main_iteration ();
      r = score (user, text, *model, &error);
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

/* Text to Image's own dialog, its prompt set to the caption. */
static void
run_txt2img (GimpImage *image, const char *caption)
{
  GimpProcedure *proc = gimp_pdb_lookup_procedure (gimp_get_pdb (), TXT2IMG_PROC);
  GimpProcedureConfig *config;
  GimpValueArray *r;

  if (!proc)
    return;
  config = gimp_procedure_create_config (proc);
  g_object_set (config, "run-mode", GIMP_RUN_INTERACTIVE, "image", image, NULL);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (config), "prompt"))
    g_object_set (config, "prompt", caption, NULL);
  r = gimp_procedure_run_config (proc, config);
  gimp_value_array_unref (r);
  g_object_unref (config);
}

char *
dream_describe_dialog_run (GimpImage *image, const char *caption)
{
  GtkWidget *dialog, *vbox, *entry;
  gboolean has_txt2img = gimp_pdb_procedure_exists (gimp_get_pdb (), TXT2IMG_PROC);
  char *result;
  int response;

  dialog = gimp_dialog_new ("Describe Layer", "dreamlayer", NULL, 0,
                            gimp_standard_help_func, "plug-in-dream-describe",
                            "_Copy", RESPONSE_COPY, NULL);
  if (has_txt2img)
    gtk_dialog_add_button (GTK_DIALOG (dialog), "_Text to Image…", RESPONSE_TXT2IMG);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Close", GTK_RESPONSE_CLOSE);
  vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox,
                      TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (vbox),
                      left_label (has_txt2img
                                  ? "A caption for the layer — edit it, copy it, or send it to Text to Image:"
                                  : "A caption for the layer — edit it and copy it:"),
                      FALSE, FALSE, 0);
  entry = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (entry), caption);
  gtk_entry_set_width_chars (GTK_ENTRY (entry), 60);
  gtk_box_pack_start (GTK_BOX (vbox), entry, FALSE, FALSE, 0);
  gtk_widget_show_all (dialog);

  while ((response = gimp_dialog_run (GIMP_DIALOG (dialog))) == RESPONSE_COPY
         || response == RESPONSE_TXT2IMG)
    {
      const char *text = gtk_entry_get_text (GTK_ENTRY (entry));
      if (response == RESPONSE_COPY)
        copy_text (dialog, text);
      else
        {
          char *prompt = g_strdup (text);
          gtk_widget_hide (dialog);
          run_txt2img (image, prompt);
          g_free (prompt);
          break;
        }
    }
  result = g_strdup (gtk_entry_get_text (GTK_ENTRY (entry)));
  gtk_widget_destroy (dialog);
  return result;
}
