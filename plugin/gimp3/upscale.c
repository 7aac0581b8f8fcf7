/* upscale.c — plug-in-dream-upscale, the GIMP 3 front end of Dream
 * Upscale (Filters ▸ Enhance ▸ Dream Upscale…). */
#include <math.h>
#include <string.h>

#include "dream-gimp3.h"
#include "upscale-dialog.h"

#define UPSCALE_PROC "plug-in-dream-upscale"

static GimpValueArray *upscale_run (GimpProcedure        *procedure,
                                    GimpRunMode           run_mode,
                                    GimpImage            *image,
                                    GimpDrawable        **drawables,
                                    GimpProcedureConfig  *config,
                                    gpointer              run_data);

GimpProcedure *
dream_gimp3_upscale_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, UPSCALE_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        upscale_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "Dream _Upscale…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");
  gimp_procedure_set_documentation (
    procedure,
    "Enlarge with a super-resolution network (Real-ESRGAN, RDN)",
    "Upscales the active layer (colour and alpha) by `scale` (1 to 8) with "
    "Dreamlayer's built-in engine. The image is then scaled by the same "
    "factor (the other layers with GIMP's interpolation) and the result is "
    "added above the active layer, all in one undo step; with new-image "
    "the result opens as a new image and the source stays as it is. The "
    "model is \"photo\" (Real-ESRGAN general v3), \"anime\" (Real-ESRGAN "
    "animevideo v3), \"fast\" (RDN esrgan-slim) or the path of a model "
    "file. Indexed images must be converted to RGB or Grayscale first.",
    UPSCALE_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");

  gimp_procedure_add_double_argument (procedure, "scale", "_Scale",
                                      "Enlargement factor, 1 to 8",
                                      1.0, 8.0, 4.0, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model", "_Model",
                                      "\"photo\", \"anime\", \"fast\", or the path "
                                      "of a model file",
                                      "photo", G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "new-image", "Open as _new image",
                                       "Put the result in a new image and leave "
                                       "this one unchanged",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_image_return_value (procedure, "result-image", "Result image",
                                         "The image holding the upscaled layer",
                                         TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value (procedure, "result-layer", "Result layer",
                                         "The upscaled layer",
                                         TRUE, G_PARAM_READWRITE);

  /* settings of the dialog only; turned into model */
  gimp_procedure_add_choice_aux_argument (procedure, "model-kind", "_Model",
                                          "Which network to use",
                                          gimp_choice_new_with_values (
                                            "photo", 0, "Photo (Real-ESRGAN general)", NULL,
                                            "anime", 1, "Anime (Real-ESRGAN animevideo)", NULL,
                                            "fast",  2, "Fast (RDN slim)", NULL,
                                            "file",  3, "Model file…", NULL,
                                            NULL),
                                          "photo", G_PARAM_READWRITE);
  gimp_procedure_add_file_aux_argument (procedure, "model-file", "Model _file",
                                        "A .safetensors super-resolution model file",
                                        GIMP_FILE_CHOOSER_ACTION_OPEN,
                                        TRUE, NULL, G_PARAM_READWRITE);
  return procedure;
}

/* ---- Dream Upscale ------------------------------------------------------
 *
 * PDB arguments (after run-mode, image, drawables):
 *   scale      double 1..8, default 4
 *   model      string, default "photo": photo, anime, fast, or a model file
 *   new-image  boolean, default FALSE
 * Returns result-image and result-layer.
 *
 * The engine upscales the first selected layer (colour and alpha). Only
 * when it succeeded: the image is scaled by the factor (every layer with
 * GIMP's interpolation) and the upscaled layer goes above the source,
 * in one undo group; or, with new-image, a new image holds the result and
 * the source image is not touched. */

static gboolean
upscale_model_builtin (const char *model, const char **canonical)
{
  static const char *names[] = { "photo", "anime", "fast" };
  guint i;

  if (!model || !*model)
    {
      *canonical = "photo";
      return TRUE;
    }
  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (model, names[i]) == 0)
      {
        *canonical = names[i];
        return TRUE;
      }
  *canonical = model;
  return FALSE;
}

/* "2", "2.5", "3.25": never locale dependent */
static char *
scale_text (double scale)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.3g", scale));
}

static GimpValueArray *
upscale_run (GimpProcedure        *procedure,
             GimpRunMode           run_mode,
             GimpImage            *image,
             GimpDrawable        **drawables,
             GimpProcedureConfig  *config,
             gpointer              run_data)
{
  GError *error = NULL;
  double scale;
  char *model = NULL, *stext, *name, *text;
  const char *m;
  gboolean new_image, builtin, grey, alpha;
  GimpDrawable *drawable;
  GeglBuffer *src, *result, *dst;
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  dream_pixels_upscale_args args;
  GimpImage *target;
  GimpLayer *layer;
  GimpValueArray *ret;
  int ow, oh, lw, lh;

  (void) run_data;
  gegl_init (NULL, NULL);

  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Upscale cannot work on an indexed image; "
                 "convert it to RGB or Grayscale first (Image ▸ Mode)."));
  if (!drawables || !drawables[0])
    return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Upscale needs a selected layer."));
  drawable = drawables[0];
  if ((error = dream_gimp3_layer_problem ("Dream Upscale", drawable)))
    return dream_gimp3_fail (procedure, error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (DREAM_GIMP3_BINARY);
      g_object_get (config, "model", &model, NULL);
      builtin = upscale_model_builtin (model, &m);
      dream_gimp3_model_to_dialog (config, m, builtin);
      g_clear_pointer (&model, g_free);
      if (!dream_upscale_dialog_run (procedure, config))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      if (!dream_gimp3_model_from_dialog (config, "photo", "one of the built-in models", &error))
        return dream_gimp3_fail (procedure, error);
    }
  g_object_get (config, "scale", &scale, "model", &model, "new-image", &new_image, NULL);
  builtin = upscale_model_builtin (model, &m);

  /* ---- the work: nothing in any image changes here ---- */
  gimp_progress_init ("Dream Upscale");
  grey = gimp_drawable_is_gray (drawable);
  alpha = gimp_drawable_has_alpha (drawable);
  args.scale = scale;
  args.model = m;
  args.n_threads = gimp_get_num_processors ();
  args.progress = dream_gimp3_progress;
  args.progress_user = &rp;
  src = gimp_drawable_get_buffer (drawable);
  result = dream_pixels_upscale (src, grey, alpha, &args, &error);
  g_object_unref (src);
  if (!result)
    {
      gimp_progress_end ();
      g_free (model);
      return dream_gimp3_fail (procedure, error);
    }
  gimp_progress_update (1.0);
  gimp_progress_end ();

  lw = gegl_buffer_get_width (result);
  lh = gegl_buffer_get_height (result);
  stext = scale_text (scale);
  if (builtin)
    name = g_strdup_printf ("Upscaled ×%s (%s)", stext, m);
  else
    {
      char *base = g_path_get_basename (m);
      name = g_strdup_printf ("Upscaled ×%s (model %s)", stext, base);
      g_free (base);
    }
  text = g_strdup_printf ("upscale scale=%s model=%s", stext, m);

  if (new_image)
    {
      GimpColorProfile *profile = gimp_image_get_color_profile (image);

      target = gimp_image_new_with_precision (lw, lh, grey ? GIMP_GRAY : GIMP_RGB,
                                              gimp_image_get_precision (image));
      if (profile)
        {
          gimp_image_set_color_profile (target, profile);
          g_object_unref (profile);
        }
      gimp_image_undo_disable (target);
      layer = gimp_layer_new (target, name, lw, lh,
                              grey ? (alpha ? GIMP_GRAYA_IMAGE : GIMP_GRAY_IMAGE)
                                   : (alpha ? GIMP_RGBA_IMAGE : GIMP_RGB_IMAGE),
                              100.0, gimp_image_get_default_new_layer_mode (target));
      gimp_image_insert_layer (target, layer, NULL, 0);
    }
  else
    {
      GimpItem *src_item = GIMP_ITEM (drawable);
      GimpItem *parent;
      int ox = 0, oy = 0;

      target = image;
      ow = dream_upscale_size (gimp_image_get_width (image), scale);
      oh = dream_upscale_size (gimp_image_get_height (image), scale);
      gimp_image_undo_group_start (image);
      gimp_drawable_get_offsets (drawable, &ox, &oy);
      gimp_image_scale (image, ow, oh);
      parent = gimp_item_get_parent (src_item);
      layer = gimp_layer_new (image, name, lw, lh,
                              grey ? (alpha ? GIMP_GRAYA_IMAGE : GIMP_GRAY_IMAGE)
                                   : (alpha ? GIMP_RGBA_IMAGE : GIMP_RGB_IMAGE),
                              100.0, gimp_image_get_default_new_layer_mode (image));
      gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL,
                               gimp_image_get_item_position (image, src_item));
      gimp_layer_set_offsets (layer, (int) floor (ox * scale + 0.5),
                              (int) floor (oy * scale + 0.5));
    }

  dst = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_copy (result, NULL, GEGL_ABYSS_NONE, dst, NULL);
  gegl_buffer_flush (dst);
  g_object_unref (dst);
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, lw, lh);
  dream_gimp3_attach_settings (GIMP_ITEM (layer), text);

  if (new_image)
    {
      gimp_image_undo_enable (target);
      gimp_image_clean_all (target);
      if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_display_new (target);
    }
  else
    gimp_image_undo_group_end (image);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_IMAGE (ret, 1, target);
  GIMP_VALUES_SET_LAYER (ret, 2, layer);
  g_object_unref (result);
  g_free (stext);
  g_free (name);
  g_free (text);
  g_free (model);
  return ret;
}
