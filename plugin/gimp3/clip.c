/* clip.c — plug-in-dream-clip-score and plug-in-dream-describe, the GIMP 3
 * front end of Score Captions… and Describe Layer… (Filters ▸ Dream ▸ …).
 * The pixel work is plugin/dream-clip-pixels.c (shared with GIMP 2.10),
 * the dialogs ui/gimp3/clip-dialog.c.
 *
 * plug-in-dream-clip-score (after run-mode, image, drawables):
 *   captions  string, one per line (blank lines skipped)
 *   model     string, "" = the default CLIP (dream.h: a CLIP the user
 *             installed, else the bundled shapes-clip), a name or a file
 * returns ranking (string: "probability<TAB>cosine<TAB>caption" lines,
 *   best first), probabilities and cosines (double arrays, in the
 *   captions' order).
 *
 * plug-in-dream-describe (after run-mode, image, drawables):
 *   model       string, as above
 *   vocabulary  string, "" = the bundled describe-vocabulary.json
 * returns caption (string).
 *
 * Both look at the first selected layer inside the selection's bounding
 * box (the whole layer without a selection), colour only: the layer's
 * alpha and the selection's feather are ignored, grey is replicated to
 * RGB, indexed is refused. Neither changes the image (no layer, no
 * parasite, no undo step).
 */
#include <string.h>

#include "dream-gimp3.h"
#include "dream-clip-pixels.h"
#include "clip-dialog.h"

#define SCORE_PROC    "plug-in-dream-clip-score"
#define DESCRIBE_PROC "plug-in-dream-describe"

static GimpValueArray *score_run (GimpProcedure *procedure, GimpRunMode run_mode,
                                  GimpImage *image, GimpDrawable **drawables,
                                  GimpProcedureConfig *config, gpointer run_data);
static GimpValueArray *describe_run (GimpProcedure *procedure, GimpRunMode run_mode,
                                     GimpImage *image, GimpDrawable **drawables,
                                     GimpProcedureConfig *config, gpointer run_data);

static void
add_model_argument (GimpProcedure *procedure)
{
  gimp_procedure_add_string_argument (procedure, "model", "CLIP _model",
                                      "\"\" = the default CLIP (one you installed, else "
                                      "the bundled shapes-clip), a model name or a file",
                                      "", G_PARAM_READWRITE);
}

GimpProcedure *
dream_gimp3_clip_score_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, SCORE_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        score_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Score Captions…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Dream");
  gimp_procedure_set_documentation (
    procedure,
    "Rank captions by how well they match the layer (CLIP)",
    "Scores each caption (one per line) against the selected layer — the "
    "part inside the selection's bounding box, colour only (alpha and "
    "feather ignored, grey as RGB) — with CLIP, and returns them ranked, "
    "best first, with each one's probability (softmax over the captions) "
    "and cosine similarity, plus both as arrays in the captions' order. "
    "The image is not changed.",
    SCORE_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");
  gimp_procedure_add_string_argument (procedure, "captions", "_Captions",
                                      "Captions to rank, one per line",
                                      "a photograph\na drawing\na painting",
                                      G_PARAM_READWRITE);
  add_model_argument (procedure);
  gimp_procedure_add_string_return_value (procedure, "ranking", "Ranking",
                                          "Best first: probability<TAB>cosine<TAB>caption per line",
                                          "", G_PARAM_READWRITE);
  gimp_procedure_add_double_array_return_value (procedure, "probabilities", "Probabilities",
                                                "Softmax over the captions, in their order",
                                                G_PARAM_READWRITE);
  gimp_procedure_add_double_array_return_value (procedure, "cosines", "Cosines",
                                                "Cosine similarity of each caption, in their order",
                                                G_PARAM_READWRITE);
  return procedure;
}

GimpProcedure *
dream_gimp3_describe_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, DESCRIBE_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        describe_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Describe Layer…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Dream");
  gimp_procedure_set_documentation (
    procedure,
    "Describe the layer in words (CLIP)",
    "Ranks a vocabulary of media, subjects, settings, lighting, styles and "
    "colours against the selected layer with CLIP and composes a caption "
    "from the categories whose best entry stands out — a prompt to edit, "
    "copy, or send to Text to Image. The image is not changed.",
    DESCRIBE_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");
  add_model_argument (procedure);
  gimp_procedure_add_string_argument (procedure, "vocabulary", "_Vocabulary",
                                      "A vocabulary JSON file (dream.h, dream_clip_describe); "
                                      "\"\" = the bundled one",
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value (procedure, "caption", "Caption",
                                          "A caption for the layer", "", G_PARAM_READWRITE);
  return procedure;
}

/* The layer and the region CLIP sees; an error if there is none. */
static GError *
region (const char *title, GimpImage *image, GimpDrawable **drawables,
        GimpDrawable **drawable, GeglRectangle *roi)
{
  GError *error;
  gboolean non_empty = FALSE;
  int x1, y1, x2, y2, ox = 0, oy = 0;

  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s cannot work on an indexed image; convert it to RGB or "
                        "Grayscale first (Image ▸ Mode).", title);
  if (!drawables || !drawables[0])
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s needs a selected layer.", title);
  *drawable = drawables[0];
  if ((error = dream_gimp3_layer_problem (title, *drawable)))
    return error;
  *roi = (GeglRectangle) { 0, 0, gimp_drawable_get_width (*drawable),
                           gimp_drawable_get_height (*drawable) };
  gimp_drawable_get_offsets (*drawable, &ox, &oy);
  if (gimp_selection_bounds (image, &non_empty, &x1, &y1, &x2, &y2) && non_empty)
    {
      GeglRectangle sel = { x1 - ox, y1 - oy, x2 - x1, y2 - y1 };
      if (!gegl_rectangle_intersect (roi, roi, &sel))
        return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                            "%s: the selection does not cover any of the layer.", title);
    }
  return NULL;
}

/* For scripts a cancel is an execution error they can see (as the other
 * procedures do); every message names the procedure. Takes `error`. */
static GError *
script_error (const char *title, GError *error)
{
  GError *e;
  if (g_error_matches (error, DREAM_ERROR, DREAM_ERROR_CANCELLED))
    e = g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "%s was cancelled; the image is unchanged.", title);
  else
    e = g_error_new (DREAM_ERROR, error ? error->code : DREAM_ERROR_INVALID_ARGUMENT,
                     "%s: %s", title, error ? error->message : "failed");
  g_clear_error (&error);
  return e;
}

typedef struct {
  GimpDrawable *drawable;
  GeglRectangle roi;
  dream_clip_score_result *results;   /* of the last scoring */
  char **captions;
} score_state;

static char *
score_text (gpointer user, const char *text, const char *model, GError **error)
{
  score_state *st = user;
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  char **captions = dream_clip_pixels_split_captions (text, error);
  dream_clip_score_result *res;
  GeglBuffer *src;
  char *ranking;
  int n;

  if (!captions)
    return NULL;
  n = (int) g_strv_length (captions);
  res = g_new0 (dream_clip_score_result, n);
  gimp_progress_init ("Score Captions");
  src = gimp_drawable_get_buffer (st->drawable);
  if (!dream_clip_pixels_score (src, &st->roi, (const char *const *) captions, n, model,
                                dream_gimp3_progress, &rp, res, error))
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

static GimpValueArray *
score_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
           GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data)
{
  score_state st = { 0 };
  GError *error;
  char *captions = NULL, *model = NULL, *ranking = NULL;
  GimpValueArray *ret;
  double *probs, *cosines;
  int n, i;

  (void) run_data;
  gegl_init (NULL, NULL);
  if ((error = region ("Score Captions", image, drawables, &st.drawable, &st.roi)))
    return dream_gimp3_fail (procedure, error);
  g_object_get (config, "captions", &captions, "model", &model, NULL);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (DREAM_GIMP3_BINARY);
      ranking = dream_clip_score_dialog_run (&captions, &model, score_text, &st);
      g_object_set (config, "captions", captions, "model", model, NULL);
      if (!ranking)
        {
          g_free (captions);
          g_free (model);
          g_free (st.results);
          g_strfreev (st.captions);
          return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
        }
    }
  else
    {
      error = NULL;
      ranking = score_text (&st, captions, model, &error);
      if (!ranking)
        {
          g_free (captions);
          g_free (model);
          return dream_gimp3_fail (procedure, script_error ("Score Captions", error));
        }
    }

  n = (int) g_strv_length (st.captions);
  probs = g_new (double, n);
  cosines = g_new (double, n);
  for (i = 0; i < n; i++)
    {
      probs[i] = st.results[i].probability;
      cosines[i] = st.results[i].cosine;
    }
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_TAKE_STRING (ret, 1, ranking);
  GIMP_VALUES_TAKE_DOUBLE_ARRAY (ret, 2, probs, n);
  GIMP_VALUES_TAKE_DOUBLE_ARRAY (ret, 3, cosines, n);
  g_free (st.results);
  g_strfreev (st.captions);
  g_free (captions);
  g_free (model);
  return ret;
}

static GimpValueArray *
describe_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
              GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data)
{
  GimpDrawable *drawable = NULL;
  GeglRectangle roi;
  GError *error;
  char *model = NULL, *vocabulary = NULL, *caption;
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  GeglBuffer *src;
  GimpValueArray *ret;

  (void) run_data;
  gegl_init (NULL, NULL);
  if ((error = region ("Describe Layer", image, drawables, &drawable, &roi)))
    return dream_gimp3_fail (procedure, error);
  g_object_get (config, "model", &model, "vocabulary", &vocabulary, NULL);

  error = NULL;
  gimp_progress_init ("Describe Layer");
  src = gimp_drawable_get_buffer (drawable);
  caption = dream_clip_pixels_describe (src, &roi, model, vocabulary, dream_gimp3_progress,
                                        &rp, &error);
  g_object_unref (src);
  gimp_progress_end ();
  g_free (model);
  g_free (vocabulary);
  if (!caption)
    {
      if (run_mode == GIMP_RUN_NONINTERACTIVE)
        error = script_error ("Describe Layer", error);
      return dream_gimp3_fail (procedure, error);
    }
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      char *edited;
      gimp_ui_init (DREAM_GIMP3_BINARY);
      edited = dream_describe_dialog_run (image, caption);
      g_free (caption);
      caption = edited;
    }
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_TAKE_STRING (ret, 1, caption);
  return ret;
}
