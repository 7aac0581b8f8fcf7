/* generate.c — plug-in-dream-txt2img and plug-in-dream-img2img, the GIMP 3
 * front end of Text to Image and Reimagine Layer (Filters ▸ Render ▸
 * Dream ▸ …). The pixel work is dream-gen-pixels.c, shared with GIMP 2.10.
 *
 * plug-in-dream-txt2img (after run-mode, image, drawables — the drawables
 * are not used):
 *   prompt, negative-prompt   strings
 *   model          string, "" = the first SD model installed in the model
 *                  folders, else the bundled shapes-sd; a model name, or the
 *                  path of a .safetensors checkpoint (or diffusers folder)
 *   width, height  int 0..4096; 0 = the image's size; rounded to the
 *                  nearest multiple of 8
 *   seed           int, -1 = random; image i gets seed + i
 *   steps          int 0..1000, 0 = the model's default
 *   cfg            double -1..100, negative = the model's default
 *   sampler        choice: default, euler, euler-a, ddim, dpmpp-2m-karras, lcm
 *   count          int 1..16, images to make
 *   rank-by-clip   boolean: order the new layers by CLIP score, best on top,
 *                  the score in each name
 *   clip-model     string, "" = a CLIP you installed, else the bundled shapes-clip
 * Returns layers (the new layers, top first), seed (the first seed: image
 * i of the run used seed + i) and seeds (int32 array, the seed of each
 * layer, same order as layers; GIMP 3.0's Python cannot read int32 arrays
 * from return values, hence also `seed` and the seed in each parasite).
 * The new layers (width × height, at 0,0, never resizing the image) go on
 * top of the layer stack; each is named “prompt…” seed N and carries the
 * full settings in the "dreamlayer-settings" parasite.
 *
 * plug-in-dream-img2img (after run-mode, image, drawables): prompt,
 * negative-prompt, model, strength (0..1), seed, steps, cfg, sampler,
 * count. The first selected layer — the part inside the selection bounds
 * — is the start image; each result goes above it, same place and size.
 *
 * Both: the engine runs first; only when every image is done are the
 * layers added, in one undo group. A cancel or an error adds nothing.
 */
#include <string.h>

#include "dream-gimp3.h"
#include "dream-gen-pixels.h"
#include "generate-dialog.h"

#define TXT2IMG_PROC "plug-in-dream-txt2img"
#define IMG2IMG_PROC "plug-in-dream-img2img"

static GimpValueArray *generate_run (GimpProcedure        *procedure,
                                     GimpRunMode           run_mode,
                                     GimpImage            *image,
                                     GimpDrawable        **drawables,
                                     GimpProcedureConfig  *config,
                                     gpointer              run_data);

/* The arguments both procedures share, in their order. */
static void
add_prompt_args (GimpProcedure *procedure)
{
  gimp_procedure_add_string_argument (procedure, "prompt", "_Prompt",
                                      "What to draw", "", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "negative-prompt", "_Negative prompt",
                                      "What to avoid", "", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model", "Model",
                                      "\"\" = an SD model you installed, else the bundled "
                                      "shapes-sd; a model name, or a checkpoint path",
                                      "", G_PARAM_READWRITE);
}

static void
add_sampling_args (GimpProcedure *procedure)
{
  gimp_procedure_add_int_argument (procedure, "seed", "_Seed",
                                   "-1 = random; image i gets seed + i",
                                   -1, G_MAXINT32 - DREAM_GEN_MAX_COUNT, -1,
                                   G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "steps", "S_teps",
                                   "Sampling steps; 0 = the model's default",
                                   0, 1000, 0, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "cfg", "Gu_idance scale",
                                      "Classifier-free guidance; negative = the "
                                      "model's default", -1.0, 100.0, -1.0,
                                      G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "sampler", "Sa_mpler",
                                      "The sampler",
                                      gimp_choice_new_with_values (
                                        "default",         0, "Model's default", NULL,
                                        "euler",           1, "Euler", NULL,
                                        "euler-a",         2, "Euler ancestral", NULL,
                                        "ddim",            3, "DDIM", NULL,
                                        "dpmpp-2m-karras", 4, "DPM++ 2M Karras", NULL,
                                        "lcm",             5, "LCM / Turbo", NULL,
                                        NULL),
                                      "default", G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "count", "N_umber of images",
                                   "How many images (seeds seed, seed + 1, …)",
                                   1, DREAM_GEN_MAX_COUNT, 1, G_PARAM_READWRITE);
}

static void
add_common_tail (GimpProcedure *procedure)
{
  gimp_procedure_add_core_object_array_return_value (procedure, "layers", "Layers",
                                                     "The new layers, top first",
                                                     GIMP_TYPE_LAYER, G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "seed", "Seed",
                                       "The first seed: image i of the run used seed + i",
                                       0, G_MAXINT32, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int32_array_return_value (procedure, "seeds", "Seeds",
                                               "The seed of each new layer, same order",
                                               G_PARAM_READWRITE);

  /* settings of the dialog only */
  gimp_procedure_add_boolean_aux_argument (procedure, "random-seed", "R_andom seed",
                                           "A new seed on every run",
                                           TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_int_aux_argument (procedure, "last-seed", "Last seed",
                                       "The seed of the last run", -1, G_MAXINT32, -1,
                                       G_PARAM_READWRITE);
  gimp_procedure_add_choice_aux_argument (procedure, "model-kind", "Mo_del",
                                          "Which Stable Diffusion model",
                                          gimp_choice_new_with_values (
                                            "default", 0, "Default (installed SD, else shapes-sd)", NULL,
                                            "file",    1, "Model file…", NULL,
                                            NULL),
                                          "default", G_PARAM_READWRITE);
  gimp_procedure_add_file_aux_argument (procedure, "model-file", "Model _file",
                                        "A Stable Diffusion .safetensors checkpoint",
                                        GIMP_FILE_CHOOSER_ACTION_OPEN,
                                        TRUE, NULL, G_PARAM_READWRITE);
}

GimpProcedure *
dream_gimp3_txt2img_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, TXT2IMG_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        generate_run, GINT_TO_POINTER (0), NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLES |
                                       GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, "_Text to Image…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Render/Dream");
  gimp_procedure_set_documentation (
    procedure,
    "Draw new layers from a text prompt (Stable Diffusion)",
    "Generates `count` images from the prompt with Dreamlayer's built-in "
    "engine and adds each as a new layer on top of the image (width × "
    "height at 0,0; 0 = the image's size; sizes are rounded to multiples "
    "of 8 and the image is never resized). Layers are named with the "
    "prompt and seed and carry the full settings in the "
    "\"dreamlayer-settings\" parasite, so a result can be reproduced. Seed "
    "-1 picks a random one; image i uses seed + i. Steps 0, a negative "
    "cfg and sampler \"default\" take the model's own settings. With "
    "rank-by-clip the new layers are ordered by their CLIP similarity to "
    "the prompt, best on top, each name ending with its score. Model \"\" "
    "is the first SD model installed in the model folders, else the "
    "bundled shapes-sd; otherwise a model name or the path of a "
    "checkpoint. Returns the new layers and their seeds. A cancel or an "
    "error leaves the image unchanged.",
    TXT2IMG_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");

  add_prompt_args (procedure);
  gimp_procedure_add_int_argument (procedure, "width", "_Width",
                                   "Width in pixels; 0 = the image's width",
                                   0, DREAM_GEN_MAX_SIZE, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "height", "_Height",
                                   "Height in pixels; 0 = the image's height",
                                   0, DREAM_GEN_MAX_SIZE, 0, G_PARAM_READWRITE);
  add_sampling_args (procedure);
  gimp_procedure_add_boolean_argument (procedure, "rank-by-clip", "Rank by _CLIP",
                                       "Order the new layers by how well CLIP "
                                       "says they match the prompt, best on top",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "clip-model", "CLIP model",
                                      "\"\" = a CLIP you installed, else the bundled "
                                      "shapes-clip; or the path of a CLIP model",
                                      "", G_PARAM_READWRITE);
  add_common_tail (procedure);
  return procedure;
}

GimpProcedure *
dream_gimp3_img2img_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, IMG2IMG_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        generate_run, GINT_TO_POINTER (1), NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Reimagine Layer…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Render/Dream");
  gimp_procedure_set_documentation (
    procedure,
    "Redraw a layer from a text prompt (Stable Diffusion image to image)",
    "Uses the selected layer — the part inside the selection bounds — as "
    "the start image and redraws it following the prompt; strength 0 keeps "
    "it, 1 redraws it from noise. The region is padded to multiples of 8 "
    "(its last row and column repeated) and the result cropped back, so "
    "each new layer has exactly the region's place and size; it goes "
    "above the source layer, its alpha the source's times the selection. "
    "Named and tagged like Text to Image. Returns the new layers and "
    "their seeds. A cancel or an error leaves the image unchanged.",
    IMG2IMG_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");

  add_prompt_args (procedure);
  gimp_procedure_add_double_argument (procedure, "strength", "Str_ength",
                                      "How much to change: 0 keeps the layer, "
                                      "1 redraws it from noise",
                                      0.0, 1.0, 0.6, G_PARAM_READWRITE);
  add_sampling_args (procedure);
  add_common_tail (procedure);
  return procedure;
}

/* ---- the run --------------------------------------------------------------- */

static GimpValueArray *
generate_run (GimpProcedure        *procedure,
              GimpRunMode           run_mode,
              GimpImage            *image,
              GimpDrawable        **drawables,
              GimpProcedureConfig  *config,
              gpointer              run_data)
{
  const gboolean img2img = GPOINTER_TO_INT (run_data) == 1;
  const char *title = img2img ? "Reimagine Layer" : "Text to Image";
  GError *error = NULL;
  dream_gen_args a = { 0 };
  char *prompt = NULL, *negative = NULL, *model = NULL, *sampler = NULL, *clip_model = NULL;
  int seed = -1, width = 0, height = 0, n = 0, i;
  gboolean grey = gimp_image_get_base_type (image) == GIMP_GRAY;
  GimpDrawable *drawable = NULL;
  GeglBuffer *selection = NULL;
  GeglRectangle region = { 0, 0, 0, 0 };
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  dream_gen_result *res = NULL;
  GimpValueArray *ret;
  GimpLayer **layers;
  gint32 *seeds;

  gegl_init (NULL, NULL);

  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "%s cannot work on an indexed image; "
                 "convert it to RGB or Grayscale first (Image ▸ Mode).", title));
  if (img2img)
    {
      if (!drawables || !drawables[0])
        return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "%s needs a selected layer.", title));
      drawable = drawables[0];
      if ((error = dream_gimp3_layer_problem (title, drawable)))
        return dream_gimp3_fail (procedure, error);
    }

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      char *m = NULL;

      gimp_ui_init (DREAM_GIMP3_BINARY);
      g_object_get (config, "model", &m, NULL);
      dream_gimp3_model_to_dialog (config, (m && *m) ? m : "default", !(m && *m));
      g_free (m);
      if (!dream_generate_dialog_run (procedure, config, image, img2img))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      if (!dream_gimp3_model_from_dialog (config, "default", "the built-in model", &error))
        return dream_gimp3_fail (procedure, error);
      g_object_get (config, "model", &m, NULL);
      if (g_strcmp0 (m, "default") == 0)
        g_object_set (config, "model", "", NULL);
      g_free (m);
      {
        gboolean random_seed;
        g_object_get (config, "random-seed", &random_seed, NULL);
        if (random_seed)
          g_object_set (config, "seed", -1, NULL);
      }
    }

  g_object_get (config, "prompt", &prompt, "negative-prompt", &negative, "model", &model,
                "seed", &seed, "steps", &a.steps, "cfg", &a.cfg, "sampler", &sampler,
                "count", &a.count, NULL);
  a.prompt = prompt;
  a.negative = negative;
  a.model = model;
  a.sampler = sampler;
  a.seed = seed < 0 ? dream_gen_random_seed () : seed;
  a.n_threads = gimp_get_num_processors ();
  a.progress = dream_gimp3_progress;
  a.progress_user = &rp;

  gimp_progress_init (title);
  if (img2img)
    {
      GeglBuffer *src;
      int x, y, w, h, ox = 0, oy = 0;

      g_object_get (config, "strength", &a.strength, NULL);
      if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
        {
          error = dream_gimp3_outside_selection (drawable);
          goto out;
        }
      region = (GeglRectangle) { x, y, w, h };
      gimp_drawable_get_offsets (drawable, &ox, &oy);
      if (!gimp_selection_is_empty (image))
        selection = gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (image)));
      src = gimp_drawable_get_buffer (drawable);
      res = dream_gen_img2img (src, selection, ox, oy, &region, &a, &n, &error);
      g_object_unref (src);
    }
  else
    {
      g_object_get (config, "width", &width, "height", &height,
                    "rank-by-clip", &a.rank_by_clip, "clip-model", &clip_model, NULL);
      a.width = dream_gen_round8 (width > 0 ? width : gimp_image_get_width (image));
      a.height = dream_gen_round8 (height > 0 ? height : gimp_image_get_height (image));
      a.clip_model = clip_model;
      res = dream_gen_txt2img (&a, &n, &error);
    }
  if (!res)
    goto out;
  gimp_progress_update (1.0);
  gimp_progress_end ();

  /* ---- every image is done: now add the layers, as one undo step ---- */
  layers = g_new0 (GimpLayer *, n + 1);
  seeds = g_new0 (gint32, n);
  gimp_image_undo_group_start (image);
  for (i = 0; i < n; i++)
    {
      GeglBuffer *buf = res[i].buffer;
      const GeglRectangle *e = gegl_buffer_get_extent (buf);
      GimpImageType type = img2img ? (grey ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE)
                                   : (grey ? GIMP_GRAY_IMAGE : GIMP_RGB_IMAGE);
      GimpLayer *layer;
      GeglBuffer *dst;

      layer = gimp_layer_new (image, res[i].name, e->width, e->height, type, 100.0,
                              gimp_image_get_default_new_layer_mode (image));
      if (img2img)
        {
          GimpItem *src_item = GIMP_ITEM (drawable);
          GimpItem *parent = gimp_item_get_parent (src_item);
          int ox = 0, oy = 0;

          gimp_drawable_get_offsets (drawable, &ox, &oy);
          gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL,
                                   gimp_image_get_item_position (image, src_item));
          /* inserted at the source's position: directly above it, and
           * below the results inserted before (best stays on top) */
          gimp_layer_set_offsets (layer, ox + e->x, oy + e->y);
        }
      else
        {
          gimp_image_insert_layer (image, layer, NULL, i);
          gimp_layer_set_offsets (layer, 0, 0);
        }
      dst = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
      gegl_buffer_copy (buf, e, GEGL_ABYSS_NONE, dst,
                        GEGL_RECTANGLE (0, 0, e->width, e->height));
      gegl_buffer_flush (dst);
      g_object_unref (dst);
      gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, e->width, e->height);
      dream_gimp3_attach_settings (GIMP_ITEM (layer), res[i].settings);
      layers[i] = layer;
      seeds[i] = (gint32) res[i].seed;
    }
  gimp_image_undo_group_end (image);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  g_object_set (config, "last-seed", (int) a.seed, NULL);

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_CORE_OBJECT_ARRAY (ret, 1, layers);
  GIMP_VALUES_SET_INT (ret, 2, (int) a.seed);
  GIMP_VALUES_SET_INT32_ARRAY (ret, 3, seeds, n);
  g_free (layers);
  g_free (seeds);
  goto done;

out:
  gimp_progress_end ();
  ret = dream_gimp3_fail (procedure, error);
done:
  dream_gen_results_free (res, n);
  g_clear_object (&selection);
  g_free (prompt);
  g_free (negative);
  g_free (model);
  g_free (sampler);
  g_free (clip_model);
  return ret;
}
