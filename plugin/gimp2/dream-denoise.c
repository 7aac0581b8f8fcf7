/* dream-denoise.c — Dreamlayer for GIMP 2.10: Filters ▸ Enhance ▸ Dream Denoise…
 *
 * Procedure plug-in-dream-denoise (run-mode, image, drawable, sigma, model)
 *   sigma  FLOAT   noise σ in 8-bit levels, 0..75; negative = estimate
 *   model  STRING  "color", "gray", a path to a .safetensors model,
 *                  or "" = colour for RGB layers, grey for grey layers
 * returns  LAYER   the new layer
 *
 * The denoised pixels go into a NEW layer above the active one, sized to the
 * selection bounds ∩ layer (the whole layer without a selection), alpha =
 * source alpha × selection, named "Denoised σ=25" (or "Denoised σ=12.3
 * (estimated)") and tagged with the parasite "dreamlayer-settings". Nothing
 * touches the image until the engine has finished: an error or a cancel
 * leaves it exactly as it was; a success is one undo step.
 *
 * Errors reach the caller the GIMP 2.10 way: status EXECUTION_ERROR (or
 * CALLING_ERROR) plus the message as a second, STRING return value, which
 * GIMP turns into the PDB error (shown in a dialog for interactive runs,
 * "Procedure execution of … failed: <message>" in Script-Fu).
 */
#include <math.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <gegl.h>

#include "dream.h"
#include "dream-pixels.h"
#include "denoise-dialog.h"
#include "dream-gimp2.h"

#define PARASITE_NAME DREAM_GIMP2_PARASITE
#define SIGMA_MAX     75.0

void
dream_gimp2_denoise_query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32,    "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" },
    { GIMP_PDB_IMAGE,    "image",    "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "The layer to denoise" },
    { GIMP_PDB_FLOAT,    "sigma",    "Noise standard deviation in 8-bit levels (0..75); negative: estimate it from the layer" },
    { GIMP_PDB_STRING,   "model",    "\"color\", \"gray\", or the path of a .safetensors FFDNet model; empty: colour for RGB layers, grey for grey ones" },
  };
  static const GimpParamDef return_vals[] = {
    { GIMP_PDB_LAYER,    "layer",    "The new layer holding the denoised pixels" },
  };

  gimp_install_procedure (DREAM_GIMP2_DENOISE_PROC,
                          "Remove noise with a neural network (FFDNet) into a new layer",
                          "Denoises the active layer, or the part of it under "
                          "the selection, with Dreamlayer's built-in FFDNet "
                          "engine. The result is a new layer above the "
                          "active one, with alpha = layer alpha × selection, "
                          "so feathered selections blend; the layer itself "
                          "is not changed. Sigma is the noise standard "
                          "deviation in 8-bit levels (0..75); a negative "
                          "sigma measures it from the layer. Indexed images "
                          "must be converted to RGB or Grayscale first.",
                          "Dreamlayer developers",
                          "Dreamlayer developers",
                          "2026",
                          "Dream _Denoise…",
                          "RGB*, GRAY*",
                          GIMP_PLUGIN,
                          G_N_ELEMENTS (args), G_N_ELEMENTS (return_vals),
                          args, return_vals);

  gimp_plugin_menu_register (DREAM_GIMP2_DENOISE_PROC, "<Image>/Filters/Enhance");
}

/* ---- helpers ------------------------------------------------------------ */

/* The model's canonical name: "color", "gray", or the file path itself.
 * TRUE for the built-in ones. */
static gboolean
model_canonical (const char *model, const char **canonical)
{
  if (g_ascii_strcasecmp (model, "color") == 0 || g_ascii_strcasecmp (model, "colour") == 0)
    *canonical = "color";
  else if (g_ascii_strcasecmp (model, "gray") == 0 || g_ascii_strcasecmp (model, "grey") == 0)
    *canonical = "gray";
  else
    {
      *canonical = model;
      return FALSE;
    }
  return TRUE;
}

/* The result layer's name, the same as the GIMP 3 front end gives it:
 * "Denoised σ=25", "Denoised σ=12.3 (estimated)", "… (grey model)",
 * "… (model my-ffdnet.safetensors)". σ: whole values without decimals
 * unless estimated, else one decimal; never locale dependent. */
static gchar *
layer_name (gdouble sigma, gboolean estimated, const char *model)
{
  gchar num[G_ASCII_DTOSTR_BUF_SIZE];
  const char *m;
  gboolean builtin = model_canonical (model, &m);
  GString *name = g_string_new (NULL);
  gchar *base = NULL;
  const gchar *notes[2];
  gint n = 0, i;

  if (!estimated && fabs (sigma - round (sigma)) < 0.05)
    g_ascii_formatd (num, sizeof num, "%.0f", sigma);
  else
    g_ascii_formatd (num, sizeof num, "%.1f", sigma);
  g_string_append_printf (name, "Denoised σ=%s", num);

  if (estimated)
    notes[n++] = "estimated";
  if (builtin && strcmp (m, "gray") == 0)
    notes[n++] = "grey model";
  else if (!builtin)
    {
      gchar *file = g_path_get_basename (model);
      base = g_strdup_printf ("model %s", file);
      g_free (file);
      notes[n++] = base;
    }
  for (i = 0; i < n; i++)
    g_string_append_printf (name, "%s%s", i ? ", " : " (", notes[i]);
  if (n)
    g_string_append (name, ")");
  g_free (base);
  return g_string_free (name, FALSE);
}

/* The parasite text, as in the GIMP 3 front end: "denoise sigma=25
 * model=color", "denoise sigma=12.3456 estimated=yes model=color". */
static gchar *
settings_text (gdouble sigma, gboolean estimated, const char *model)
{
  gchar num[G_ASCII_DTOSTR_BUF_SIZE];
  const char *m;

  model_canonical (model, &m);
  g_ascii_formatd (num, sizeof num, "%.6g", sigma);
  return g_strdup_printf ("denoise sigma=%s%s model=%s", num,
                          estimated ? " estimated=yes" : "", m);
}

gboolean
dream_gimp2_progress (gpointer user, double fraction)
{
  gdouble *last = user;

  /* GIMP ends the plug-in itself when the user cancels; keep the PDB
   * traffic down to ~200 updates. */
  if (fraction >= 1.0 || fraction - *last >= 0.005)
    {
      gimp_progress_update (fraction);
      *last = fraction;
    }
  return TRUE;
}

GimpPDBStatusType
dream_gimp2_error_status (GError *error, GimpRunMode run_mode, const gchar *title,
                          gchar **message)
{
  gboolean cancelled = g_error_matches (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);

  *message = cancelled
    ? g_strdup_printf ("%s was cancelled; the image is unchanged.", title)
    : g_strdup_printf ("%s: %s", title, error ? error->message : "failed");
  g_clear_error (&error);
  return cancelled && run_mode != GIMP_RUN_NONINTERACTIVE
         ? GIMP_PDB_CANCEL : GIMP_PDB_EXECUTION_ERROR;
}

void
dream_gimp2_attach_settings (gint32 item, const gchar *text)
{
  GimpParasite *parasite = gimp_parasite_new (PARASITE_NAME,
                                              GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                                              strlen (text) + 1, text);
  gimp_item_attach_parasite (item, parasite);
  gimp_parasite_free (parasite);
}

static void
set_defaults (DreamGimp2DenoiseVals *vals)
{
  memset (vals, 0, sizeof *vals);
  vals->sigma = 25.0;
  vals->estimate = FALSE;
  vals->model[0] = '\0';
}

/* Does the work once the settings are known. Returns the new layer, or -1
 * with *error set (cancelled: DREAM_ERROR_CANCELLED). */
static gint32
denoise_to_new_layer (gint32                        image,
                      gint32                        drawable,
                      const DreamGimp2DenoiseVals  *vals,
                      GError                      **error)
{
  gint x, y, w, h, off_x, off_y, parent, position;
  gboolean grey = gimp_drawable_is_gray (drawable);
  GeglBuffer *src, *mask = NULL, *result, *dest;
  GeglRectangle roi;
  dream_pixels_denoise_args args = { 0 };
  gdouble progress = -1.0;
  const char *model;
  double sigma_used = -1.0, sigma;
  gchar *layer_name_text, *settings;
  gint32 layer;

  if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
    {
      g_set_error_literal (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                           "The selection does not touch the active layer: "
                           "nothing to denoise.");
      return -1;
    }
  gimp_drawable_offsets (drawable, &off_x, &off_y);
  roi = (GeglRectangle) { x, y, w, h };

  model = vals->model[0] ? vals->model : (grey ? "gray" : "color");
  args.sigma = vals->estimate ? -1.0 : vals->sigma;
  args.model = model;
  args.n_threads = 0;
  args.progress = dream_gimp2_progress;
  args.progress_user = &progress;

  src = gimp_drawable_get_buffer (drawable);
  if (!gimp_selection_is_empty (image))
    mask = gimp_drawable_get_buffer (gimp_image_get_selection (image));

  gimp_progress_init ("Dream Denoise");
  result = dream_pixels_denoise (src, mask, off_x, off_y, &roi, grey,
                                 &args, &sigma_used, error);
  g_object_unref (src);
  if (mask)
    g_object_unref (mask);
  if (!result)
    {
      gimp_progress_end ();
      return -1;
    }

  /* The engine has finished: now, and only now, change the image. */
  sigma = vals->estimate ? sigma_used : vals->sigma;
  layer_name_text = layer_name (sigma, vals->estimate, model);

  gimp_image_undo_group_start (image);

  layer = gimp_layer_new (image, layer_name_text, w, h,
                          grey ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE,
                          100.0, gimp_image_get_default_new_layer_mode (image));
  g_free (layer_name_text);
  if (layer == -1)
    {
      gimp_image_undo_group_end (image);
      g_object_unref (result);
      gimp_progress_end ();
      g_set_error_literal (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                           "Could not create the result layer.");
      return -1;
    }

  parent = gimp_item_get_parent (drawable);            /* -1 = top level */
  position = gimp_image_get_item_position (image, drawable);
  gimp_image_insert_layer (image, layer, parent > 0 ? parent : 0, position);
  gimp_layer_set_offsets (layer, off_x + x, off_y + y);

  dest = gimp_drawable_get_buffer (layer);
  gegl_buffer_copy (result, &roi, GEGL_ABYSS_NONE,
                    dest, GEGL_RECTANGLE (0, 0, w, h));
  g_object_unref (dest);            /* flushes the tiles to GIMP */
  g_object_unref (result);
  gimp_drawable_update (layer, 0, 0, w, h);

  /* How this layer was made, so it can be made again. */
  settings = settings_text (sigma, vals->estimate, model);
  dream_gimp2_attach_settings (layer, settings);
  g_free (settings);

  gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);
  gimp_progress_end ();
  return layer;
}

/* ---- the procedure ------------------------------------------------------ */

void
dream_gimp2_denoise_run (const gchar      *name,
                         gint              nparams,
                         const GimpParam  *param,
                         gint             *nreturn_vals,
                         GimpParam       **return_vals)
{
  static GimpParam values[3];
  static gchar *message = NULL;
  GimpRunMode run_mode;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  DreamGimp2DenoiseVals vals;
  gint32 image, drawable, layer = -1;
  GError *error = NULL;

  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;
  g_clear_pointer (&message, g_free);

  if (strcmp (name, DREAM_GIMP2_DENOISE_PROC) != 0 || nparams < 3)
    {
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf ("%s: wrong procedure or too few arguments", name);
      goto out;
    }

  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;

  set_defaults (&vals);
  if (gimp_get_data_size (DREAM_GIMP2_DENOISE_PROC) == sizeof vals)
    gimp_get_data (DREAM_GIMP2_DENOISE_PROC, &vals);
  vals.model[sizeof vals.model - 1] = '\0';

  /* What the procedure can work on, whatever the menu sensitivity says
   * (scripts are not held to the image-type restriction). */
  if (!gimp_image_is_valid (image) || !gimp_item_is_valid (drawable))
    {
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup ("Dream Denoise: no valid image or drawable.");
      goto out;
    }
  if (gimp_image_base_type (image) == GIMP_INDEXED ||
      gimp_drawable_is_indexed (drawable))
    {
      status = GIMP_PDB_EXECUTION_ERROR;
      message = g_strdup ("Dream Denoise cannot work on an indexed image: "
                          "convert to RGB or Grayscale first "
                          "(Image ▸ Mode ▸ RGB).");
      goto out;
    }
  if (!gimp_item_is_layer (drawable) || gimp_item_is_group (drawable))
    {
      status = GIMP_PDB_EXECUTION_ERROR;
      message = g_strdup (gimp_item_is_group (drawable)
                          ? "Dream Denoise works on a single layer, not on a "
                            "layer group: pick a layer inside the group."
                          : "Dream Denoise works on layers: make the layer "
                            "itself active, not its mask or a channel.");
      goto out;
    }

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      {
        gint x, y, w, h;

        if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h))
          {
            x = y = 0;
            w = gimp_drawable_width (drawable);
            h = gimp_drawable_height (drawable);
          }
        gimp_ui_init (DREAM_GIMP2_BINARY, FALSE);
        if (!dream_gimp2_denoise_dialog (drawable, x, y, w, h, &vals))
          {
            status = GIMP_PDB_CANCEL;
            goto out;
          }
      }
      break;

    case GIMP_RUN_NONINTERACTIVE:
      if (nparams != 5)
        {
          status = GIMP_PDB_CALLING_ERROR;
          message = g_strdup_printf ("%s takes 5 arguments (run-mode, image, "
                                     "drawable, sigma, model), not %d",
                                     name, nparams);
          goto out;
        }
      {
        gdouble sigma = param[3].data.d_float;
        const gchar *model = param[4].data.d_string;

        if (isnan (sigma) || sigma > SIGMA_MAX)
          {
            status = GIMP_PDB_CALLING_ERROR;
            message = g_strdup ("Dream Denoise: sigma must be between 0 and 75 "
                                "(a negative sigma estimates it).");
            goto out;
          }
        vals.estimate = sigma < 0.0;
        vals.sigma = sigma < 0.0 ? vals.sigma : sigma;
        if (model && strlen (model) >= sizeof vals.model)
          {
            status = GIMP_PDB_CALLING_ERROR;
            message = g_strdup ("Dream Denoise: the model path is too long.");
            goto out;
          }
        g_strlcpy (vals.model, model ? model : "", sizeof vals.model);
      }
      break;

    case GIMP_RUN_WITH_LAST_VALS:
      break;

    default:
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf ("Dream Denoise: unknown run mode %d", run_mode);
      goto out;
    }

  layer = denoise_to_new_layer (image, drawable, &vals, &error);
  if (layer == -1)
    {
      status = dream_gimp2_error_status (error, run_mode, "Dream Denoise", &message);
      goto out;
    }

  gimp_set_data (DREAM_GIMP2_DENOISE_PROC, &vals, sizeof vals);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

out:
  values[0].data.d_status = status;
  if (status == GIMP_PDB_SUCCESS)
    {
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_LAYER;
      values[1].data.d_layer = layer;
    }
  else if (message)
    {
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
    }
}
