/* denoise.c — plug-in-dream-denoise, the GIMP 3 front end of Dream Denoise.
 *
 * Filters ▸ Enhance ▸ Dream Denoise….
 * For each selected layer it denoises the part under the selection with
 * libdream (through dream-pixels.c, shared with the GIMP 2.10 front end)
 * and adds the result as a NEW layer above it. The new layers are created
 * and inserted only once every engine run has succeeded, inside one undo
 * group, so a cancel or an error leaves the image exactly as it was.
 *
 * PDB arguments (after run-mode, image, drawables):
 *   sigma  double -1..75, default -1: noise level in 8-bit levels;
 *          negative = estimate it from the layer
 *   model  string, default "color": "color", "gray", or the path of a
 *          .safetensors model file
 * Interactive runs show a dialog (ui/gimp3/denoise-dialog.c); it edits
 * auxiliary settings (estimate, noise-level, model-kind, model-file) that
 * are turned into sigma and model before the run. GimpProcedureConfig
 * keeps all of them as last-used values.
 */
#include <math.h>
#include <string.h>

#include "dream-gimp3.h"
#include "denoise-dialog.h"

#define PLUG_IN_PROC "plug-in-dream-denoise"

static GimpValueArray *denoise_run (GimpProcedure        *procedure,
                                    GimpRunMode           run_mode,
                                    GimpImage            *image,
                                    GimpDrawable        **drawables,
                                    GimpProcedureConfig  *config,
                                    gpointer              run_data);

GimpProcedure *
dream_gimp3_denoise_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, PLUG_IN_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        denoise_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, "Dream _Denoise…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");

  gimp_procedure_set_documentation (
    procedure,
    "Remove noise with a neural network (FFDNet), as a new layer",
    "Denoises the selected layers (only the selected area, if there is a "
    "selection) with Dreamlayer's built-in engine and puts each result in "
    "a new layer above its source, named with the settings used. The "
    "noise level sigma is in 8-bit levels (0 to 75); a negative sigma "
    "measures it from the layer. The model is \"color\", \"gray\", or the "
    "path of a .safetensors model file. Indexed images must be converted "
    "to RGB or Grayscale first.",
    PLUG_IN_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");

  gimp_procedure_add_double_argument (procedure, "sigma",
                                      "_Noise level (σ)",
                                      "Noise standard deviation in 8-bit levels "
                                      "(0 to 75); negative: estimate it from the layer",
                                      -1.0, 75.0, -1.0, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model", "_Model",
                                      "\"color\", \"gray\", or the path of a "
                                      ".safetensors model file",
                                      "color", G_PARAM_READWRITE);

  /* settings of the dialog only; turned into sigma and model */
  gimp_procedure_add_boolean_aux_argument (procedure, "estimate",
                                           "_Estimate noise level",
                                           "Measure the noise level from the layer",
                                           TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_double_aux_argument (procedure, "noise-level",
                                          "_Noise level (σ)",
                                          "Noise standard deviation in 8-bit levels",
                                          0.0, 75.0, 25.0, G_PARAM_READWRITE);
  gimp_procedure_add_choice_aux_argument (procedure, "model-kind", "_Model",
                                          "Which network to use",
                                          gimp_choice_new_with_values (
                                            "color", 0, "Colour (FFDNet)", NULL,
                                            "gray",  1, "Grey (FFDNet)", NULL,
                                            "file",  2, "Model file…", NULL,
                                            NULL),
                                          "color", G_PARAM_READWRITE);
  gimp_procedure_add_file_aux_argument (procedure, "model-file", "Model _file",
                                        "A .safetensors model file",
                                        GIMP_FILE_CHOOSER_ACTION_OPEN,
                                        TRUE, NULL, G_PARAM_READWRITE);
  return procedure;
}

/* ---- helpers ----------------------------------------------------------- */

static gboolean
model_is_builtin (const char *model, const char **canonical)
{
  if (!model || !*model || g_ascii_strcasecmp (model, "color") == 0
      || g_ascii_strcasecmp (model, "colour") == 0)
    {
      *canonical = "color";
      return TRUE;
    }
  if (g_ascii_strcasecmp (model, "gray") == 0 || g_ascii_strcasecmp (model, "grey") == 0)
    {
      *canonical = "gray";
      return TRUE;
    }
  *canonical = model;
  return FALSE;
}

/* "25" for whole values, "12.3" otherwise; never locale dependent */
static char *
sigma_text (double sigma, gboolean estimated)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!estimated && fabs (sigma - round (sigma)) < 0.05)
    g_ascii_formatd (buf, sizeof buf, "%.0f", sigma);
  else
    g_ascii_formatd (buf, sizeof buf, "%.1f", sigma);
  return g_strdup (buf);
}

static char *
layer_name (double sigma, gboolean estimated, const char *model)
{
  const char *m;
  gboolean builtin = model_is_builtin (model, &m);
  char *s = sigma_text (sigma, estimated);
  GString *name = g_string_new (NULL);
  GPtrArray *notes = g_ptr_array_new_with_free_func (g_free);
  guint i;

  g_string_append_printf (name, "Denoised σ=%s", s);
  if (estimated)
    g_ptr_array_add (notes, g_strdup ("estimated"));
  if (builtin && strcmp (m, "gray") == 0)
    g_ptr_array_add (notes, g_strdup ("grey model"));
  else if (!builtin)
    {
      char *base = g_path_get_basename (model);
      g_ptr_array_add (notes, g_strdup_printf ("model %s", base));
      g_free (base);
    }
  if (notes->len > 0)
    {
      g_string_append (name, " (");
      for (i = 0; i < notes->len; i++)
        g_string_append_printf (name, "%s%s", i ? ", " : "",
                                (const char *) g_ptr_array_index (notes, i));
      g_string_append (name, ")");
    }
  g_ptr_array_free (notes, TRUE);
  g_free (s);
  return g_string_free (name, FALSE);
}

/* "denoise sigma=25 model=color"; with estimate
 * "denoise sigma=12.3456 estimated=yes model=color". The model comes last
 * so a path with spaces stays readable. */
static char *
settings_text (double sigma, gboolean estimated, const char *model)
{
  const char *m;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  model_is_builtin (model, &m);
  g_ascii_formatd (buf, sizeof buf, "%.6g", sigma);
  return g_strdup_printf ("denoise sigma=%s%s model=%s", buf,
                          estimated ? " estimated=yes" : "", m);
}

/* Turns the dialog's settings into the procedure's arguments. */
static gboolean
dialog_settings_to_args (GimpProcedureConfig *config, GError **error)
{
  gboolean estimate;
  double level;

  g_object_get (config, "estimate", &estimate, "noise-level", &level, NULL);
  g_object_set (config, "sigma", estimate ? -1.0 : level, NULL);
  return dream_gimp3_model_from_dialog (config, "color", "the colour or grey model", error);
}

/* And back, so the dialog opens on the last-used (or scripted) values. */
static void
args_to_dialog_settings (GimpProcedureConfig *config)
{
  double sigma;
  char *model = NULL;
  const char *m;

  g_object_get (config, "sigma", &sigma, "model", &model, NULL);
  if (sigma < 0.0)
    g_object_set (config, "estimate", TRUE, NULL);
  else
    g_object_set (config, "estimate", FALSE, "noise-level", sigma, NULL);
  {
    gboolean builtin = model_is_builtin (model, &m);
    dream_gimp3_model_to_dialog (config, m, builtin);
  }
  g_free (model);
}

/* ---- the run ----------------------------------------------------------- */

typedef struct {
  GimpDrawable *drawable;
  GeglBuffer *result;       /* extent = region in drawable coordinates */
  GeglRectangle region;
  gboolean grey;
  double sigma_used;
} denoise_job;

static GimpValueArray *
denoise_run (GimpProcedure        *procedure,
             GimpRunMode           run_mode,
             GimpImage            *image,
             GimpDrawable        **drawables,
             GimpProcedureConfig  *config,
             gpointer              run_data)
{
  GError *error = NULL;
  double sigma;
  char *model = NULL;
  guint n = 0, i;
  denoise_job *jobs = NULL;
  GeglBuffer *selection = NULL;
  gboolean has_selection;
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  GimpValueArray *ret = NULL;

  (void) run_data;
  gegl_init (NULL, NULL);

  while (drawables && drawables[n])
    n++;

  /* ---- checks that need no work ---- */
  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Denoise cannot work on an indexed image; "
                 "convert it to RGB or Grayscale first (Image ▸ Mode)."));
  if (n == 0)
    return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Denoise needs a selected layer."));
  for (i = 0; i < n; i++)
    if ((error = dream_gimp3_layer_problem ("Dream Denoise", drawables[i])))
      return dream_gimp3_fail (procedure, error);

  /* ---- settings ---- */
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (DREAM_GIMP3_BINARY);
      args_to_dialog_settings (config);
      if (!dream_denoise_dialog_run (procedure, config, drawables[0]))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      if (!dialog_settings_to_args (config, &error))
        return dream_gimp3_fail (procedure, error);
    }

  g_object_get (config, "sigma", &sigma, "model", &model, NULL);

  /* ---- the work: nothing in the image changes here ---- */
  gimp_progress_init (n > 1 ? "Dream Denoise (several layers)" : "Dream Denoise");
  has_selection = !gimp_selection_is_empty (image);
  if (has_selection)
    selection = gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (image)));

  jobs = g_new0 (denoise_job, n);
  for (i = 0; i < n; i++)
    {
      denoise_job *job = &jobs[i];
      GeglBuffer *src;
      int x, y, w, h, ox = 0, oy = 0;
      dream_pixels_denoise_args args;

      job->drawable = drawables[i];
      job->grey = gimp_drawable_is_gray (job->drawable);
      if (!gimp_drawable_mask_intersect (job->drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
        {
          error = dream_gimp3_outside_selection (job->drawable);
          goto out;
        }
      job->region = (GeglRectangle) { x, y, w, h };
      gimp_drawable_get_offsets (job->drawable, &ox, &oy);

      args.sigma = sigma;
      args.model = model;
      args.n_threads = gimp_get_num_processors ();
      args.progress = dream_gimp3_progress;
      args.progress_user = &rp;
      rp.base = (double) i / n;
      rp.span = 1.0 / n;

      src = gimp_drawable_get_buffer (job->drawable);
      job->result = dream_pixels_denoise (src, selection, ox, oy, &job->region,
                                          job->grey, &args, &job->sigma_used, &error);
      g_object_unref (src);
      if (!job->result)
        {
          if (n > 1 && !g_error_matches (error, DREAM_ERROR, DREAM_ERROR_CANCELLED))
            {
              char *name = gimp_item_get_name (GIMP_ITEM (job->drawable));
              g_prefix_error (&error, "Layer \"%s\": ", name);
              g_free (name);
            }
          goto out;
        }
    }
  gimp_progress_update (1.0);
  gimp_progress_end ();

  /* ---- every run succeeded: now add the layers, as one undo step ---- */
  gimp_image_undo_group_start (image);
  for (i = 0; i < n; i++)
    {
      denoise_job *job = &jobs[i];
      GimpItem *src_item = GIMP_ITEM (job->drawable);
      GimpItem *parent = gimp_item_get_parent (src_item);
      gboolean estimated = sigma < 0.0;
      char *name = layer_name (estimated ? job->sigma_used : sigma, estimated, model);
      char *text = settings_text (estimated ? job->sigma_used : sigma, estimated, model);
      GimpLayer *layer;
      GeglBuffer *dst;
      int ox = 0, oy = 0;

      layer = gimp_layer_new (image, name, job->region.width, job->region.height,
                              job->grey ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE,
                              100.0, gimp_image_get_default_new_layer_mode (image));
      gimp_drawable_get_offsets (job->drawable, &ox, &oy);
      gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL,
                               gimp_image_get_item_position (image, src_item));
      gimp_layer_set_offsets (layer, ox + job->region.x, oy + job->region.y);

      dst = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
      gegl_buffer_copy (job->result, &job->region, GEGL_ABYSS_NONE, dst,
                        GEGL_RECTANGLE (0, 0, job->region.width, job->region.height));
      gegl_buffer_flush (dst);
      g_object_unref (dst);
      gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0,
                            job->region.width, job->region.height);

      dream_gimp3_attach_settings (GIMP_ITEM (layer), text);
      g_free (name);
      g_free (text);
    }
  gimp_image_undo_group_end (image);

  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

out:
  if (error)
    {
      gimp_progress_end ();
      ret = dream_gimp3_fail (procedure, error);
    }
  else
    ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  for (i = 0; jobs && i < n; i++)
    g_clear_object (&jobs[i].result);
  g_free (jobs);
  g_clear_object (&selection);
  g_free (model);
  return ret;
}
