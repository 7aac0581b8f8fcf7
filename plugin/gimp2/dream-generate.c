/* dream-generate.c — Dreamlayer for GIMP 2.10: Filters ▸ Render ▸ Dream ▸
 * Text to Image… and Reimagine Layer… (the GIMP 3 front end is
 * plugin/gimp3/generate.c; the pixel work is plugin/dream-gen-pixels.c).
 *
 * plug-in-dream-txt2img (run-mode, image, drawable, prompt, negative-prompt,
 *   model, width, height, seed, steps, cfg, sampler, count, rank-by-clip,
 *   clip-model)
 * plug-in-dream-img2img (run-mode, image, drawable, prompt, negative-prompt,
 *   model, strength, seed, steps, cfg, sampler, count)
 * both return (layer, num-layers, layers INT32ARRAY, num-seeds, seeds
 * INT32ARRAY): the top new layer, all new layers top first, their seeds.
 *
 * Same arguments, names, placement and parasites as GIMP 3: model "" =
 * an installed SD model, else the bundled shapes-sd; width/height 0 = the image's size, rounded to
 * multiples of 8; seed -1 = random, image i gets seed + i; steps 0, cfg < 0
 * and sampler "default" (or "") = the model's own settings. The engine
 * runs first; the layers are added only when every image is done, in one
 * undo group: a cancel or an error leaves the image unchanged.
 */
#include <math.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <gegl.h>

#include "dream.h"
#include "dream-gen-pixels.h"
#include "dream-gimp2.h"
#include "generate-dialog.h"

#define PDB_COMMON_HEAD \
    { GIMP_PDB_INT32,    "run-mode",  "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" }, \
    { GIMP_PDB_IMAGE,    "image",     "Input image" }, \
    { GIMP_PDB_DRAWABLE, "drawable",  "The layer (Text to Image: unused)" }, \
    { GIMP_PDB_STRING,   "prompt",    "What to draw" }, \
    { GIMP_PDB_STRING,   "negative-prompt", "What to avoid" }, \
    { GIMP_PDB_STRING,   "model",     "\"\" = an SD model you installed, else the bundled shapes-sd; a model name, or a checkpoint path" }

#define PDB_SAMPLING \
    { GIMP_PDB_INT32,    "seed",      "-1 = random; image i gets seed + i" }, \
    { GIMP_PDB_INT32,    "steps",     "Sampling steps, 0 = the model's default" }, \
    { GIMP_PDB_FLOAT,    "cfg",       "Guidance scale 0..100, negative = the model's default" }, \
    { GIMP_PDB_STRING,   "sampler",   "\"euler\", \"euler-a\", \"ddim\", \"dpmpp-2m-karras\", \"lcm\", or \"default\"" }, \
    { GIMP_PDB_INT32,    "count",     "Number of images, 1..16" }

/* The first return value is not an array count: on failure GIMP puts the
 * error message there, and an array right behind it would read its length
 * from the message. */
static const GimpParamDef return_vals[] = {
  { GIMP_PDB_LAYER,      "layer",      "The top new layer (the best one with rank-by-clip)" },
  { GIMP_PDB_INT32,      "num-layers", "Number of new layers" },
  { GIMP_PDB_INT32ARRAY, "layers",     "The new layers, top first" },
  { GIMP_PDB_INT32,      "num-seeds",  "Number of seeds" },
  { GIMP_PDB_INT32ARRAY, "seeds",      "The seed of each new layer, same order" },
};

void
dream_gimp2_txt2img_query (void)
{
  static const GimpParamDef t_args[] = {
    PDB_COMMON_HEAD,
    { GIMP_PDB_INT32,    "width",     "Width, 0 = the image's width (rounded to a multiple of 8)" },
    { GIMP_PDB_INT32,    "height",    "Height, 0 = the image's height (rounded to a multiple of 8)" },
    PDB_SAMPLING,
    { GIMP_PDB_INT32,    "rank-by-clip", "TRUE: order the new layers by CLIP score, best on top" },
    { GIMP_PDB_STRING,   "clip-model", "\"\" = a CLIP you installed, else the bundled shapes-clip; or a path" },
  };

  gimp_install_procedure (DREAM_GIMP2_TXT2IMG_PROC,
                          "Draw new layers from a text prompt (Stable Diffusion)",
                          "Generates `count` images from the prompt with "
                          "Dreamlayer's built-in engine and adds each as a new "
                          "layer on top of the image (width × height at 0,0; "
                          "0 = the image's size; rounded to multiples of 8; the "
                          "image is never resized), named with the prompt and "
                          "seed, the full settings in the \"dreamlayer-settings\" "
                          "parasite. Seed -1 = random; image i uses seed + i. "
                          "Steps 0, negative cfg and sampler \"default\" take the "
                          "model's own settings. rank-by-clip orders the new "
                          "layers by CLIP similarity to the prompt, best on top, "
                          "the score in each name. Model \"\" = an installed "
                          "SD model, else the bundled shapes-sd. A cancel or an error leaves the image "
                          "unchanged.",
                          "Dreamlayer developers", "Dreamlayer developers", "2026",
                          "_Text to Image…", "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (t_args), G_N_ELEMENTS (return_vals),
                          t_args, return_vals);
  gimp_plugin_menu_register (DREAM_GIMP2_TXT2IMG_PROC, "<Image>/Filters/Render/Dream");
}

void
dream_gimp2_img2img_query (void)
{
  static const GimpParamDef i_args[] = {
    PDB_COMMON_HEAD,
    { GIMP_PDB_FLOAT,    "strength",  "0 keeps the layer, 1 redraws it from noise" },
    PDB_SAMPLING,
  };

  gimp_install_procedure (DREAM_GIMP2_IMG2IMG_PROC,
                          "Redraw a layer from a text prompt (Stable Diffusion image to image)",
                          "Uses the active layer — the part inside the selection "
                          "bounds — as the start image and redraws it following "
                          "the prompt; strength 0 keeps it, 1 redraws from noise. "
                          "The region is padded to multiples of 8 (last row and "
                          "column repeated) and the result cropped back: each new "
                          "layer has the region's place and size, goes above the "
                          "source, alpha = source alpha × selection. Named and "
                          "tagged like Text to Image. A cancel or an error leaves "
                          "the image unchanged.",
                          "Dreamlayer developers", "Dreamlayer developers", "2026",
                          "_Reimagine Layer…", "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (i_args), G_N_ELEMENTS (return_vals),
                          i_args, return_vals);
  gimp_plugin_menu_register (DREAM_GIMP2_IMG2IMG_PROC, "<Image>/Filters/Render/Dream");
}

static void
set_defaults (DreamGimp2GenerateVals *v)
{
  memset (v, 0, sizeof *v);
  v->seed = 0;
  v->random_seed = TRUE;
  v->last_seed = -1;
  v->steps = 0;
  v->cfg = -1.0;
  g_strlcpy (v->sampler, "default", sizeof v->sampler);
  v->count = 1;
  v->strength = 0.6;
}

static gboolean
copy_string (gchar *dst, gsize size, const gchar *src, const char *what, gchar **message)
{
  if (src && strlen (src) >= size)
    {
      *message = g_strdup_printf ("The %s is too long (at most %u bytes).", what,
                                  (unsigned) size - 1);
      return FALSE;
    }
  g_strlcpy (dst, src ? src : "", size);
  return TRUE;
}

/* The work, once the settings are known; fills the new layers and seeds. */
static gboolean
generate (gboolean img2img, gint32 image, gint32 drawable, DreamGimp2GenerateVals *v,
          gint32 **layers_out, gint32 **seeds_out, gint *n_out, GError **error)
{
  const char *title = img2img ? "Reimagine Layer" : "Text to Image";
  gboolean grey = gimp_image_base_type (image) == GIMP_GRAY;
  dream_gen_args a;
  dream_gen_result *res = NULL;
  gdouble progress = -1.0;
  GeglBuffer *src = NULL, *mask = NULL;
  GeglRectangle region = { 0, 0, 0, 0 };
  gint n = 0, i, ox = 0, oy = 0;

  memset (&a, 0, sizeof a);
  a.prompt = v->prompt;
  a.negative = v->negative;
  a.model = v->model;
  a.seed = v->random_seed || v->seed < 0 ? dream_gen_random_seed () : v->seed;
  a.steps = v->steps;
  a.cfg = v->cfg;
  a.sampler = v->sampler;
  a.count = v->count;
  a.strength = v->strength;
  a.n_threads = 0;
  a.progress = dream_gimp2_progress;
  a.progress_user = &progress;

  gimp_progress_init (title);
  if (img2img)
    {
      gint x, y, w, h;

      if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
        {
          gchar *name = gimp_item_get_name (drawable);
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "The selection does not cover any part of layer \"%s\".", name);
          g_free (name);
          gimp_progress_end ();
          return FALSE;
        }
      region = (GeglRectangle) { x, y, w, h };
      gimp_drawable_offsets (drawable, &ox, &oy);
      src = gimp_drawable_get_buffer (drawable);
      if (!gimp_selection_is_empty (image))
        mask = gimp_drawable_get_buffer (gimp_image_get_selection (image));
      res = dream_gen_img2img (src, mask, ox, oy, &region, &a, &n, error);
      g_object_unref (src);
      g_clear_object (&mask);
    }
  else
    {
      a.width = dream_gen_round8 (v->width > 0 ? v->width : gimp_image_width (image));
      a.height = dream_gen_round8 (v->height > 0 ? v->height : gimp_image_height (image));
      a.rank_by_clip = v->rank_by_clip;
      a.clip_model = v->clip_model;
      res = dream_gen_txt2img (&a, &n, error);
    }
  if (!res)
    {
      gimp_progress_end ();
      return FALSE;
    }

  /* every image is done: now, and only now, change the image */
  *layers_out = g_new0 (gint32, n);
  *seeds_out = g_new0 (gint32, n);
  gimp_image_undo_group_start (image);
  for (i = 0; i < n; i++)
    {
      const GeglRectangle *e = gegl_buffer_get_extent (res[i].buffer);
      GimpImageType type = img2img ? (grey ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE)
                                   : (grey ? GIMP_GRAY_IMAGE : GIMP_RGB_IMAGE);
      gint32 layer = gimp_layer_new (image, res[i].name, e->width, e->height, type, 100.0,
                                     gimp_image_get_default_new_layer_mode (image));
      GeglBuffer *dst;

      if (img2img)
        {
          gint parent = gimp_item_get_parent (drawable);
          /* at the source's position: directly above it, below the
           * results inserted before (best stays on top) */
          gimp_image_insert_layer (image, layer, parent > 0 ? parent : 0,
                                   gimp_image_get_item_position (image, drawable));
          gimp_layer_set_offsets (layer, ox + e->x, oy + e->y);
        }
      else
        {
          gimp_image_insert_layer (image, layer, 0, i);
          gimp_layer_set_offsets (layer, 0, 0);
        }
      dst = gimp_drawable_get_buffer (layer);
      gegl_buffer_copy (res[i].buffer, e, GEGL_ABYSS_NONE, dst,
                        GEGL_RECTANGLE (0, 0, e->width, e->height));
      g_object_unref (dst);
      gimp_drawable_update (layer, 0, 0, e->width, e->height);
      dream_gimp2_attach_settings (layer, res[i].settings);
      (*layers_out)[i] = layer;
      (*seeds_out)[i] = (gint32) res[i].seed;
    }
  gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);
  gimp_progress_end ();
  v->last_seed = (gint) a.seed;
  *n_out = n;
  dream_gen_results_free (res, n);
  return TRUE;
}

static gboolean
generate_run (gboolean img2img, gint nparams, const GimpParam *param,
              gint32 **layers, gint32 **seeds, gint *n,
              GimpPDBStatusType *status, gchar **message)
{
  const char *proc = img2img ? DREAM_GIMP2_IMG2IMG_PROC : DREAM_GIMP2_TXT2IMG_PROC;
  const char *title = img2img ? "Reimagine Layer" : "Text to Image";
  const gint n_args = img2img ? 12 : 15;
  DreamGimp2GenerateVals vals;
  GimpRunMode run_mode;
  gint32 image, drawable;
  GError *error = NULL;

  if (nparams < 3)
    {
      *status = GIMP_PDB_CALLING_ERROR;
      *message = g_strdup_printf ("%s: too few arguments", title);
      return FALSE;
    }
  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;

  set_defaults (&vals);
  if (gimp_get_data_size (proc) == sizeof vals)
    gimp_get_data (proc, &vals);
  vals.prompt[sizeof vals.prompt - 1] = '\0';
  vals.negative[sizeof vals.negative - 1] = '\0';
  vals.model[sizeof vals.model - 1] = '\0';
  vals.sampler[sizeof vals.sampler - 1] = '\0';
  vals.clip_model[sizeof vals.clip_model - 1] = '\0';

  if (!gimp_image_is_valid (image))
    {
      *status = GIMP_PDB_CALLING_ERROR;
      *message = g_strdup_printf ("%s: no valid image.", title);
      return FALSE;
    }
  *status = GIMP_PDB_EXECUTION_ERROR;
  /* scripts are not held to the image-type restriction */
  if (gimp_image_base_type (image) == GIMP_INDEXED)
    {
      *message = g_strdup_printf ("%s cannot work on an indexed image: convert it "
                                  "to RGB or Grayscale first (Image ▸ Mode ▸ RGB).", title);
      return FALSE;
    }
  if (img2img)
    {
      if (!gimp_item_is_valid (drawable) || !gimp_item_is_layer (drawable)
          || gimp_item_is_group (drawable))
        {
          *message = g_strdup (gimp_item_is_valid (drawable) && gimp_item_is_group (drawable)
                               ? "Reimagine Layer works on a single layer, not on a "
                                 "layer group: pick a layer inside the group."
                               : "Reimagine Layer works on layers: make the layer "
                                 "itself active, not its mask or a channel.");
          return FALSE;
        }
    }

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      gimp_ui_init (DREAM_GIMP2_BINARY, FALSE);
      if (!dream_gimp2_generate_dialog (img2img, gimp_image_width (image),
                                        gimp_image_height (image), &vals))
        {
          *status = GIMP_PDB_CANCEL;
          return FALSE;
        }
      break;

    case GIMP_RUN_NONINTERACTIVE:
      if (nparams != n_args)
        {
          *status = GIMP_PDB_CALLING_ERROR;
          *message = g_strdup_printf ("%s takes %d arguments, not %d", proc, n_args, nparams);
          return FALSE;
        }
      if (!copy_string (vals.prompt, sizeof vals.prompt, param[3].data.d_string, "prompt", message)
          || !copy_string (vals.negative, sizeof vals.negative, param[4].data.d_string,
                           "negative prompt", message)
          || !copy_string (vals.model, sizeof vals.model, param[5].data.d_string,
                           "model path", message))
        return FALSE;
      {
        gint k = 6;
        if (img2img)
          vals.strength = param[k++].data.d_float;
        else
          {
            vals.width = param[k++].data.d_int32;
            vals.height = param[k++].data.d_int32;
          }
        vals.seed = param[k++].data.d_int32;
        vals.random_seed = vals.seed < 0;
        vals.steps = param[k++].data.d_int32;
        vals.cfg = param[k++].data.d_float;
        if (!copy_string (vals.sampler, sizeof vals.sampler, param[k++].data.d_string,
                          "sampler name", message))
          return FALSE;
        vals.count = param[k++].data.d_int32;
        if (!img2img)
          {
            vals.rank_by_clip = param[k++].data.d_int32 != 0;
            if (!copy_string (vals.clip_model, sizeof vals.clip_model,
                              param[k++].data.d_string, "CLIP model path", message))
              return FALSE;
          }
        if (!img2img && (vals.width < 0 || vals.height < 0
                         || vals.width > DREAM_GEN_MAX_SIZE || vals.height > DREAM_GEN_MAX_SIZE))
          {
            *message = g_strdup_printf ("%s: width and height must be 0 (the image's "
                                        "size) to %d.", title, DREAM_GEN_MAX_SIZE);
            return FALSE;
          }
      }
      break;

    case GIMP_RUN_WITH_LAST_VALS:
      break;

    default:
      *status = GIMP_PDB_CALLING_ERROR;
      *message = g_strdup_printf ("%s: unknown run mode %d", title, run_mode);
      return FALSE;
    }

  if (!generate (img2img, image, drawable, &vals, layers, seeds, n, &error))
    {
      *status = dream_gimp2_error_status (error, run_mode, title, message);
      return FALSE;
    }

  gimp_set_data (proc, &vals, sizeof vals);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  *status = GIMP_PDB_SUCCESS;
  return TRUE;
}

void
dream_gimp2_generate_run (const gchar      *name,
                          gint              nparams,
                          const GimpParam  *param,
                          gint             *nreturn_vals,
                          GimpParam       **return_vals)
{
  static GimpParam values[6];
  static gchar *message = NULL;
  static gint32 *layers = NULL, *seeds = NULL;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  gint n = 0;

  g_clear_pointer (&message, g_free);
  g_clear_pointer (&layers, g_free);
  g_clear_pointer (&seeds, g_free);
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  if (generate_run (strcmp (name, DREAM_GIMP2_IMG2IMG_PROC) == 0, nparams, param,
                    &layers, &seeds, &n, &status, &message))
    {
      *nreturn_vals = 6;
      values[0].data.d_status = GIMP_PDB_SUCCESS;
      values[1].type = GIMP_PDB_LAYER;
      values[1].data.d_layer = layers[0];
      values[2].type = GIMP_PDB_INT32;
      values[2].data.d_int32 = n;
      values[3].type = GIMP_PDB_INT32ARRAY;
      values[3].data.d_int32array = layers;
      values[4].type = GIMP_PDB_INT32;
      values[4].data.d_int32 = n;
      values[5].type = GIMP_PDB_INT32ARRAY;
      values[5].data.d_int32array = seeds;
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
