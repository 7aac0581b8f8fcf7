/* dream-upscale.c — Dreamlayer for GIMP 2.10: Filters ▸ Enhance ▸ Dream Upscale…
 *
 * Procedure plug-in-dream-upscale (run-mode, image, drawable, scale, model,
 * new-image)
 *   scale      FLOAT   1..8
 *   model      STRING  "photo", "anime", "fast", or a model file ("" = photo)
 *   new-image  INT32   0: scale this image and add the result as a layer
 *                      above the active one; 1: open the result as a new
 *                      image and leave this one unchanged
 * returns  IMAGE, LAYER  the image holding the result, the result layer
 *
 * The engine upscales the active layer (colour and alpha) first; only when
 * it succeeded does any image change: the image is scaled by the factor
 * (its layers with GIMP's interpolation) and the new layer, named
 * "Upscaled ×4 (photo)" and tagged "dreamlayer-settings", goes above the
 * active one, all as one undo step. Same names and parasite texts as the
 * GIMP 3 front end.
 */
#include <math.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <gegl.h>

#include "dream.h"
#include "dream-pixels.h"
#include "dream-gimp2.h"
#include "upscale-dialog.h"

void
dream_gimp2_upscale_query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32,    "run-mode",  "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" },
    { GIMP_PDB_IMAGE,    "image",     "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable",  "The layer to upscale" },
    { GIMP_PDB_FLOAT,    "scale",     "Enlargement factor, 1 to 8" },
    { GIMP_PDB_STRING,   "model",     "\"photo\", \"anime\", \"fast\", or the path of a model file (\"\" = photo)" },
    { GIMP_PDB_INT32,    "new-image", "TRUE: open the result as a new image, leave this one unchanged" },
  };
  static const GimpParamDef return_vals[] = {
    { GIMP_PDB_IMAGE,    "result-image", "The image holding the upscaled layer" },
    { GIMP_PDB_LAYER,    "result-layer", "The upscaled layer" },
  };

  gimp_install_procedure (DREAM_GIMP2_UPSCALE_PROC,
                          "Enlarge with a super-resolution network (Real-ESRGAN, RDN)",
                          "Upscales the active layer (colour and alpha) by "
                          "`scale` (1 to 8) with Dreamlayer's built-in engine. "
                          "The image is then scaled by the same factor (the "
                          "other layers with GIMP's interpolation) and the "
                          "result is added above the active layer, as one undo "
                          "step; with new-image the result opens as a new image "
                          "and this one stays as it is. Models: photo "
                          "(Real-ESRGAN general v3), anime (Real-ESRGAN "
                          "animevideo v3), fast (RDN esrgan-slim), or a model "
                          "file. Indexed images must be converted to RGB or "
                          "Grayscale first.",
                          "Dreamlayer developers",
                          "Dreamlayer developers",
                          "2026",
                          "Dream _Upscale…",
                          "RGB*, GRAY*",
                          GIMP_PLUGIN,
                          G_N_ELEMENTS (args), G_N_ELEMENTS (return_vals),
                          args, return_vals);
  gimp_plugin_menu_register (DREAM_GIMP2_UPSCALE_PROC, "<Image>/Filters/Enhance");
}

/* "photo", "anime", "fast" (any case; "" = photo), or the path itself. */
static gboolean
model_canonical (const char *model, const char **canonical)
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

/* Upscales and, once the engine has finished, changes the image(s). */
static gboolean
upscale (gint32 image, gint32 drawable, const DreamGimp2UpscaleVals *vals,
         gboolean display, gint32 *image_out, gint32 *layer_out, GError **error)
{
  gboolean grey = gimp_drawable_is_gray (drawable);
  gboolean alpha = gimp_drawable_has_alpha (drawable);
  GimpImageType type = grey ? (alpha ? GIMP_GRAYA_IMAGE : GIMP_GRAY_IMAGE)
                            : (alpha ? GIMP_RGBA_IMAGE : GIMP_RGB_IMAGE);
  dream_pixels_upscale_args args = { 0 };
  gdouble progress = -1.0;
  gchar num[G_ASCII_DTOSTR_BUF_SIZE], *name, *settings;
  GeglBuffer *src, *result, *dest;
  const char *m;
  gboolean builtin = model_canonical (vals->model, &m);
  gint32 target, layer;
  gint lw, lh;

  args.scale = vals->scale;
  args.model = m;
  args.n_threads = 0;
  args.progress = dream_gimp2_progress;
  args.progress_user = &progress;

  gimp_progress_init ("Dream Upscale");
  src = gimp_drawable_get_buffer (drawable);
  result = dream_pixels_upscale (src, grey, alpha, &args, error);
  g_object_unref (src);
  if (!result)
    {
      gimp_progress_end ();
      return FALSE;
    }

  /* The engine has finished: now, and only now, change anything. */
  lw = gegl_buffer_get_width (result);
  lh = gegl_buffer_get_height (result);
  g_ascii_formatd (num, sizeof num, "%.3g", vals->scale);
  if (builtin)
    name = g_strdup_printf ("Upscaled ×%s (%s)", num, m);
  else
    {
      gchar *base = g_path_get_basename (m);
      name = g_strdup_printf ("Upscaled ×%s (model %s)", num, base);
      g_free (base);
    }
  settings = g_strdup_printf ("upscale scale=%s model=%s", num, m);

  if (vals->new_image)
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
      layer = gimp_layer_new (target, name, lw, lh, type, 100.0,
                              gimp_image_get_default_new_layer_mode (target));
      gimp_image_insert_layer (target, layer, 0, 0);
    }
  else
    {
      gint ox, oy, parent, position;

      target = image;
      gimp_image_undo_group_start (image);
      gimp_drawable_offsets (drawable, &ox, &oy);
      gimp_image_scale (image,
                        dream_upscale_size (gimp_image_width (image), vals->scale),
                        dream_upscale_size (gimp_image_height (image), vals->scale));
      layer = gimp_layer_new (image, name, lw, lh, type, 100.0,
                              gimp_image_get_default_new_layer_mode (image));
      parent = gimp_item_get_parent (drawable);            /* -1 = top level */
      position = gimp_image_get_item_position (image, drawable);
      gimp_image_insert_layer (image, layer, parent > 0 ? parent : 0, position);
      gimp_layer_set_offsets (layer, (gint) floor (ox * vals->scale + 0.5),
                              (gint) floor (oy * vals->scale + 0.5));
    }

  dest = gimp_drawable_get_buffer (layer);
  gegl_buffer_copy (result, NULL, GEGL_ABYSS_NONE, dest, NULL);
  g_object_unref (dest);            /* flushes the tiles to GIMP */
  g_object_unref (result);
  gimp_drawable_update (layer, 0, 0, lw, lh);
  dream_gimp2_attach_settings (layer, settings);

  if (vals->new_image)
    {
      gimp_image_undo_enable (target);
      gimp_image_clean_all (target);
      if (display)
        gimp_display_new (target);
    }
  else
    gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);
  gimp_progress_end ();
  g_free (name);
  g_free (settings);
  *image_out = target;
  *layer_out = layer;
  return TRUE;
}

static gboolean
upscale_run (gint               nparams,
             const GimpParam   *param,
             gint32            *image_out,
             gint32            *layer_out,
             GimpPDBStatusType *status,
             gchar            **message)
{
  DreamGimp2UpscaleVals vals;
  GimpRunMode run_mode;
  gint32 image, drawable;
  GError *error = NULL;

  if (nparams < 3)
    {
      *status = GIMP_PDB_CALLING_ERROR;
      *message = g_strdup ("Dream Upscale: too few arguments");
      return FALSE;
    }
  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;

  memset (&vals, 0, sizeof vals);
  vals.scale = 4.0;
  g_strlcpy (vals.model, "photo", sizeof vals.model);
  if (gimp_get_data_size (DREAM_GIMP2_UPSCALE_PROC) == sizeof vals)
    gimp_get_data (DREAM_GIMP2_UPSCALE_PROC, &vals);
  vals.model[sizeof vals.model - 1] = '\0';

  /* scripts are not held to the image-type restriction */
  if (!gimp_image_is_valid (image) || !gimp_item_is_valid (drawable))
    {
      *status = GIMP_PDB_CALLING_ERROR;
      *message = g_strdup ("Dream Upscale: no valid image or drawable.");
      return FALSE;
    }
  *status = GIMP_PDB_EXECUTION_ERROR;
  if (gimp_image_base_type (image) == GIMP_INDEXED || gimp_drawable_is_indexed (drawable))
    {
      *message = g_strdup ("Dream Upscale cannot work on an indexed image: "
                           "convert to RGB or Grayscale first "
                           "(Image ▸ Mode ▸ RGB).");
      return FALSE;
    }
  if (!gimp_item_is_layer (drawable) || gimp_item_is_group (drawable))
    {
      *message = g_strdup (gimp_item_is_group (drawable)
                           ? "Dream Upscale works on a single layer, not on a "
                             "layer group: pick a layer inside the group."
                           : "Dream Upscale works on layers: make the layer "
                             "itself active, not its mask or a channel.");
      return FALSE;
    }

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      gimp_ui_init (DREAM_GIMP2_BINARY, FALSE);
      if (!dream_gimp2_upscale_dialog (drawable, &vals))
        {
          *status = GIMP_PDB_CANCEL;
          return FALSE;
        }
      break;

    case GIMP_RUN_NONINTERACTIVE:
      if (nparams != 6)
        {
          *status = GIMP_PDB_CALLING_ERROR;
          *message = g_strdup_printf ("plug-in-dream-upscale takes 6 arguments "
                                      "(run-mode, image, drawable, scale, model, "
                                      "new-image), not %d", nparams);
          return FALSE;
        }
      vals.scale = param[3].data.d_float;
      if (!(vals.scale >= 1.0 && vals.scale <= 8.0))
        {
          *status = GIMP_PDB_CALLING_ERROR;
          *message = g_strdup ("Dream Upscale: scale must be between 1 and 8.");
          return FALSE;
        }
      if (param[4].data.d_string && strlen (param[4].data.d_string) >= sizeof vals.model)
        {
          *status = GIMP_PDB_CALLING_ERROR;
          *message = g_strdup ("Dream Upscale: the model path is too long.");
          return FALSE;
        }
      g_strlcpy (vals.model, param[4].data.d_string ? param[4].data.d_string : "",
                 sizeof vals.model);
      vals.new_image = param[5].data.d_int32 != 0;
      break;

    case GIMP_RUN_WITH_LAST_VALS:
      break;

    default:
      *status = GIMP_PDB_CALLING_ERROR;
      *message = g_strdup_printf ("Dream Upscale: unknown run mode %d", run_mode);
      return FALSE;
    }

  if (!upscale (image, drawable, &vals, run_mode != GIMP_RUN_NONINTERACTIVE,
                image_out, layer_out, &error))
    {
      *status = dream_gimp2_error_status (error, run_mode, "Dream Upscale", message);
      return FALSE;
    }

  gimp_set_data (DREAM_GIMP2_UPSCALE_PROC, &vals, sizeof vals);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  *status = GIMP_PDB_SUCCESS;
  return TRUE;
}

void
dream_gimp2_upscale_run (const gchar      *name,
                         gint              nparams,
                         const GimpParam  *param,
                         gint             *nreturn_vals,
                         GimpParam       **return_vals)
{
  static GimpParam values[3];
  static gchar *message = NULL;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  gint32 image_out = -1, layer_out = -1;

  (void) name;
  g_clear_pointer (&message, g_free);
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  if (upscale_run (nparams, param, &image_out, &layer_out, &status, &message))
    {
      *nreturn_vals = 3;
      values[0].data.d_status = GIMP_PDB_SUCCESS;
      values[1].type = GIMP_PDB_IMAGE;
      values[1].data.d_image = image_out;
      values[2].type = GIMP_PDB_LAYER;
      values[2].data.d_layer = layer_out;
      return;
    }
  values[0].data.d_status = status;
  *nreturn_vals = 1;
  if (message)
    {
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
    }
}
