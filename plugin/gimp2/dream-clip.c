/* dream-clip.c — Dreamlayer for GIMP 2.10: Filters ▸ Dream ▸ Score Captions…
 * and Describe Layer… (pixel work: plugin/dream-clip-pixels.c; dialogs:
 * ui/gimp2/clip-dialog.c; same names and behaviour as GIMP 3's clip.c).
 *
 * plug-in-dream-clip-score (run-mode, image, drawable, captions, model)
 *   captions  STRING  one per line (blank lines skipped)
 *   model     STRING  "" = the default CLIP (dream.h), a name or a file
 * returns ranking (STRING, "probability<TAB>cosine<TAB>caption" lines,
 *   best first), num-probabilities, probabilities (FLOATARRAY),
 *   num-cosines, cosines (FLOATARRAY) — the arrays in the captions' order.
 *
 * plug-in-dream-describe (run-mode, image, drawable, model, vocabulary)
 *   vocabulary STRING "" = the bundled describe-vocabulary.json
 * returns caption (STRING)
 *
 * Both look at the drawable inside the selection's bounding box (the whole
 * layer without a selection), colour only: alpha and the selection's
 * feather are ignored; grey is replicated to RGB; indexed is refused.
 * Neither changes the image: no layer, no parasite, no undo step.
 */
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <gegl.h>

#include "dream.h"
#include "dream-clip-pixels.h"
#include "dream-gimp2.h"
#include "clip-dialog.h"

#define RUN_MODE_ARG { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" }

void
dream_gimp2_clip_score_query (void)
{
  static const GimpParamDef args[] = {
    RUN_MODE_ARG,
    { GIMP_PDB_IMAGE,    "image",    "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "The layer to look at (inside the selection's bounds)" },
    { GIMP_PDB_STRING,   "captions", "Captions, one per line" },
    { GIMP_PDB_STRING,   "model",    "CLIP model: \"\" = the default, a name or a file" },
  };
  static const GimpParamDef rets[] = {
    { GIMP_PDB_STRING,     "ranking", "Best first: probability<TAB>cosine<TAB>caption per line" },
    { GIMP_PDB_INT32,      "num-probabilities", "Number of captions" },
    { GIMP_PDB_FLOATARRAY, "probabilities", "Softmax over the captions, in their order" },
    { GIMP_PDB_INT32,      "num-cosines", "Number of captions" },
    { GIMP_PDB_FLOATARRAY, "cosines", "Cosine similarity of each caption, in their order" },
  };
  gimp_install_procedure (DREAM_GIMP2_CLIP_SCORE_PROC,
                          "Rank captions by how well they match the layer (CLIP)",
                          "Scores each caption (one per line) against the active "
                          "layer — the part inside the selection's bounding box, "
                          "colour only (alpha and feather ignored, grey as RGB) — "
                          "with CLIP, and returns them ranked with each one's "
                          "probability (softmax over the captions) and cosine "
                          "similarity. The image is not changed. Model \"\" = a "
                          "CLIP you installed, else the bundled shapes-clip.",
                          "Dreamlayer developers", "Dreamlayer developers", "2026",
                          "_Score Captions…", "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (args), G_N_ELEMENTS (rets), args, rets);
  gimp_plugin_menu_register (DREAM_GIMP2_CLIP_SCORE_PROC, "<Image>/Filters/Dream");
}

void
dream_gimp2_describe_query (void)
{
  static const GimpParamDef args[] = {
    RUN_MODE_ARG,
    { GIMP_PDB_IMAGE,    "image",      "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable",   "The layer to describe (inside the selection's bounds)" },
    { GIMP_PDB_STRING,   "model",      "CLIP model: \"\" = the default, a name or a file" },
    { GIMP_PDB_STRING,   "vocabulary", "Vocabulary JSON file, \"\" = the bundled one" },
  };
  static const GimpParamDef rets[] = {
    { GIMP_PDB_STRING, "caption", "A caption for the layer, e.g. a prompt for Text to Image" },
  };
  gimp_install_procedure (DREAM_GIMP2_DESCRIBE_PROC,
                          "Describe the layer in words (CLIP)",
                          "Ranks a vocabulary of media, subjects, settings, "
                          "lighting, styles and colours against the active layer "
                          "with CLIP and composes a caption from the categories "
                          "whose best entry stands out (dream.h, "
                          "dream_clip_describe) — a prompt to edit and send to "
                          "Text to Image. The image is not changed.",
                          "Dreamlayer developers", "Dreamlayer developers", "2026",
                          "_Describe Layer…", "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (args), G_N_ELEMENTS (rets), args, rets);
  gimp_plugin_menu_register (DREAM_GIMP2_DESCRIBE_PROC, "<Image>/Filters/Dream");
}

/* Checks the drawable; the region CLIP sees (drawable coordinates). */
static gboolean
region (gint32 image, gint32 drawable, const char *what, GeglRectangle *roi, gchar **message)
{
  gint ox, oy, x1, y1, x2, y2, w, h;
  gboolean non_empty = FALSE;

  if (gimp_image_base_type (image) == GIMP_INDEXED || gimp_drawable_is_indexed (drawable))
    {
      *message = g_strdup_printf ("%s cannot work on an indexed image: convert to RGB or "
                                  "Grayscale first (Image ▸ Mode ▸ RGB).", what);
      return FALSE;
    }
  if (!gimp_item_is_layer (drawable) || gimp_item_is_group (drawable))
    {
      *message = g_strdup_printf (gimp_item_is_group (drawable)
                                  ? "%s works on a single layer, not on a layer group: "
                                    "pick a layer inside the group."
                                  : "%s works on layers: make the layer itself active, "
                                    "not its mask or a channel.", what);
      return FALSE;
    }
  gimp_drawable_offsets (drawable, &ox, &oy);
  w = gimp_drawable_width (drawable);
  h = gimp_drawable_height (drawable);
  *roi = (GeglRectangle) { 0, 0, w, h };
  gimp_selection_bounds (image, &non_empty, &x1, &y1, &x2, &y2);
  if (non_empty)
    {
      GeglRectangle sel = { x1 - ox, y1 - oy, x2 - x1, y2 - y1 };
      if (!gegl_rectangle_intersect (roi, roi, &sel))
        {
          *message = g_strdup_printf ("%s: the selection does not cover any of the layer.", what);
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct {
  gint32 drawable;
  GeglRectangle roi;
  gdouble progress;
  dream_clip_score_result *results;   /* of the last scoring */
  gchar **captions;
} score_state;

/* Scores a captions text: the ranking text, and state->results/captions. */
static gchar *
score_text (gpointer user, const gchar *text, const gchar *model, GError **error)
{
  score_state *st = user;
  char **captions = dream_clip_pixels_split_captions (text, error);
  dream_clip_score_result *res;
  GeglBuffer *src;
  gchar *ranking;
  int n;

  if (!captions)
    return NULL;
  n = (int) g_strv_length (captions);
  res = g_new0 (dream_clip_score_result, n);
  st->progress = -1.0;
  gimp_progress_init ("Score Captions");
  src = gimp_drawable_get_buffer (st->drawable);
  if (!dream_clip_pixels_score (src, &st->roi, (const char *const *) captions, n, model,
                                dream_gimp2_progress, &st->progress, res, error))
    {
      g_object_unref (src);
      gimp_progress_end ();
      g_free (res);
      g_strfreev (captions);
      return NULL;
    }
  g_object_unref (src);
  gimp_progress_end ();
  ranking = dream_clip_pixels_ranking ((const char *const *) captions, n, res);
  g_free (st->results);
  g_strfreev (st->captions);
  st->results = res;
  st->captions = captions;
  return ranking;
}

static GimpParam *
fail (GimpParam *values, gint *nreturn_vals, GimpPDBStatusType status, gchar *message)
{
  static gchar *kept = NULL;
  g_free (kept);
  kept = message;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = status;
  *nreturn_vals = 1;
  if (message)
    {
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
      *nreturn_vals = 2;
    }
  return values;
}

static void
clip_score_run (gint nparams, const GimpParam *param, gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[6];
  static gchar *ranking = NULL;
  static gdouble *probs = NULL, *cosines = NULL;
  DreamGimp2ClipScoreVals vals;
  score_state st = { 0 };
  GimpRunMode run_mode;
  gint32 image, drawable;
  gchar *message = NULL;
  GError *error = NULL;
  int n, i;

  *return_vals = values;
  if (nparams < 3)
    {
      fail (values, nreturn_vals, GIMP_PDB_CALLING_ERROR, g_strdup ("Score Captions: too few arguments"));
      return;
    }
  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;
  memset (&vals, 0, sizeof vals);
  g_strlcpy (vals.captions, "a photograph\na drawing\na painting", sizeof vals.captions);
  if (gimp_get_data_size (DREAM_GIMP2_CLIP_SCORE_PROC) == sizeof vals)
    gimp_get_data (DREAM_GIMP2_CLIP_SCORE_PROC, &vals);
  vals.captions[sizeof vals.captions - 1] = vals.model[sizeof vals.model - 1] = '\0';

  if (!gimp_image_is_valid (image) || !gimp_item_is_valid (drawable))
    {
      fail (values, nreturn_vals, GIMP_PDB_CALLING_ERROR,
            g_strdup ("Score Captions: no valid image or drawable."));
      return;
    }
  if (!region (image, drawable, "Score Captions", &st.roi, &message))
    {
      fail (values, nreturn_vals, GIMP_PDB_EXECUTION_ERROR, message);
      return;
    }
  st.drawable = drawable;

  g_clear_pointer (&ranking, g_free);
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (DREAM_GIMP2_BINARY, FALSE);
      ranking = dream_gimp2_clip_score_dialog (&vals, score_text, &st);
      gimp_set_data (DREAM_GIMP2_CLIP_SCORE_PROC, &vals, sizeof vals);
      if (!ranking)
        {
          fail (values, nreturn_vals, GIMP_PDB_CANCEL, NULL);
          return;
        }
    }
  else
    {
      if (run_mode == GIMP_RUN_NONINTERACTIVE)
        {
          if (nparams != 5)
            {
              fail (values, nreturn_vals, GIMP_PDB_CALLING_ERROR,
                    g_strdup_printf ("plug-in-dream-clip-score takes 5 arguments (run-mode, "
                                     "image, drawable, captions, model), not %d", nparams));
              return;
            }
          g_strlcpy (vals.captions, param[3].data.d_string ? param[3].data.d_string : "",
                     sizeof vals.captions);
          g_strlcpy (vals.model, param[4].data.d_string ? param[4].data.d_string : "",
                     sizeof vals.model);
        }
      ranking = score_text (&st, vals.captions, vals.model, &error);
      if (!ranking)
        {
          fail (values, nreturn_vals, GIMP_PDB_EXECUTION_ERROR,
                g_strdup_printf ("Score Captions: %s", error ? error->message : "failed"));
          g_clear_error (&error);
          return;
        }
      gimp_set_data (DREAM_GIMP2_CLIP_SCORE_PROC, &vals, sizeof vals);
    }

  n = (int) g_strv_length (st.captions);
  g_free (probs);
  g_free (cosines);
  probs = g_new (gdouble, n);
  cosines = g_new (gdouble, n);
  for (i = 0; i < n; i++)
    {
      probs[i] = st.results[i].probability;
      cosines[i] = st.results[i].cosine;
    }
  g_free (st.results);
  g_strfreev (st.captions);
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;
  values[1].type = GIMP_PDB_STRING;
  values[1].data.d_string = ranking;
  values[2].type = GIMP_PDB_INT32;
  values[2].data.d_int32 = n;
  values[3].type = GIMP_PDB_FLOATARRAY;
  values[3].data.d_floatarray = probs;
  values[4].type = GIMP_PDB_INT32;
  values[4].data.d_int32 = n;
  values[5].type = GIMP_PDB_FLOATARRAY;
  values[5].data.d_floatarray = cosines;
  *nreturn_vals = 6;
}

static void
describe_run (gint nparams, const GimpParam *param, gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar *caption = NULL;
  DreamGimp2DescribeVals vals;
  GimpRunMode run_mode;
  gint32 image, drawable;
  GeglRectangle roi;
  gchar *message = NULL;
  GError *error = NULL;
  GeglBuffer *src;
  gdouble progress = -1.0;

  *return_vals = values;
  if (nparams < 3)
    {
      fail (values, nreturn_vals, GIMP_PDB_CALLING_ERROR, g_strdup ("Describe Layer: too few arguments"));
      return;
    }
  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;
  memset (&vals, 0, sizeof vals);
  if (gimp_get_data_size (DREAM_GIMP2_DESCRIBE_PROC) == sizeof vals)
    gimp_get_data (DREAM_GIMP2_DESCRIBE_PROC, &vals);
  vals.model[sizeof vals.model - 1] = vals.vocabulary[sizeof vals.vocabulary - 1] = '\0';
  if (!gimp_image_is_valid (image) || !gimp_item_is_valid (drawable))
    {
      fail (values, nreturn_vals, GIMP_PDB_CALLING_ERROR,
            g_strdup ("Describe Layer: no valid image or drawable."));
      return;
    }
  if (!region (image, drawable, "Describe Layer", &roi, &message))
    {
      fail (values, nreturn_vals, GIMP_PDB_EXECUTION_ERROR, message);
      return;
    }
  if (run_mode == GIMP_RUN_NONINTERACTIVE)
    {
      if (nparams != 5)
        {
          fail (values, nreturn_vals, GIMP_PDB_CALLING_ERROR,
                g_strdup_printf ("plug-in-dream-describe takes 5 arguments (run-mode, image, "
                                 "drawable, model, vocabulary), not %d", nparams));
          return;
        }
      g_strlcpy (vals.model, param[3].data.d_string ? param[3].data.d_string : "", sizeof vals.model);
      g_strlcpy (vals.vocabulary, param[4].data.d_string ? param[4].data.d_string : "",
                 sizeof vals.vocabulary);
    }

  g_clear_pointer (&caption, g_free);
  gimp_progress_init ("Describe Layer");
  src = gimp_drawable_get_buffer (drawable);
  caption = dream_clip_pixels_describe (src, &roi, vals.model, vals.vocabulary,
                                        dream_gimp2_progress, &progress, &error);
  g_object_unref (src);
  gimp_progress_end ();
  if (!caption)
    {
      gchar *message;
      GimpPDBStatusType status = dream_gimp2_error_status (error, run_mode, "Describe Layer",
                                                           &message);
      fail (values, nreturn_vals, status, message);
      return;
    }
  gimp_set_data (DREAM_GIMP2_DESCRIBE_PROC, &vals, sizeof vals);
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar *edited;
      gimp_ui_init (DREAM_GIMP2_BINARY, FALSE);
      edited = dream_gimp2_describe_dialog (image, drawable, caption);
      g_free (caption);
      caption = edited;
    }
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;
  values[1].type = GIMP_PDB_STRING;
  values[1].data.d_string = caption;
  *nreturn_vals = 2;
}

void
dream_gimp2_clip_run (const gchar *name, gint nparams, const GimpParam *param,
                      gint *nreturn_vals, GimpParam **return_vals)
{
  if (strcmp (name, DREAM_GIMP2_DESCRIBE_PROC) == 0)
    describe_run (nparams, param, nreturn_vals, return_vals);
  else
    clip_score_run (nparams, param, nreturn_vals, return_vals);
}
