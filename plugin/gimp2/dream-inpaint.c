/* dream-inpaint.c — Dreamlayer for GIMP 2.10: Filters ▸ Dream ▸ Inpaint
 * Selection… and Filters ▸ Dream ▸ Extend Canvas…
 *
 * plug-in-dream-inpaint (run-mode, image, drawable, mode, sample-from,
 *     context, seed, prompt, negative-prompt, model, steps, cfg-scale,
 *     strength)
 * plug-in-dream-outpaint (run-mode, image, drawable, left, right, top,
 *     bottom, feather, then the same as above from mode on, then
 *     target-width, target-height, aspect, anchor)
 *   mode         INT32  0 content-aware fill; 1 generate with a Stable
 *                       Diffusion checkpoint (`model`) from `prompt`
 *   sample-from  INT32  0 around the area (within `context` pixels), 1 the
 *                       whole layer
 *   context      INT32  8..8192 sampling width
 *   seed         INT32  >= 0
 *   prompt, negative-prompt, model (SD checkpoint, "" = the default), steps, cfg-scale,
 *   strength: for generate
 *   target-width, target-height  INT32  grow the canvas to this size (0 =
 *                       keep that side); aspect STRING "16:9" grow the
 *                       least to this ratio ("" = not used); any of them
 *                       set replaces left/right/top/bottom (the margins
 *                       come from libdream's dream_canvas_margins(), as in
 *                       GIMP 3 and the CLI); anchor STRING where the old
 *                       picture sits: center, top-left, top, top-right,
 *                       left, right, bottom-left, bottom, bottom-right
 *                       ("" = center)
 * returns  LAYER  the new layer
 *
 * Same behaviour, names and parasites as the GIMP 3 front end
 * (plugin/gimp3/inpaint.c): the engine runs first; only once it succeeded
 * does the image change (canvas, new layer with a layer mask, parasite),
 * as one undo step. The pixel path is plugin/dream-fill-pixels.c.
 */
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <gegl.h>

#include "dream.h"
#include "dream-fill-pixels.h"
#include "dream-gimp2.h"
#include "inpaint-dialog.h"

#define FILL_ARGS \
    { GIMP_PDB_INT32,  "mode",            "0: content-aware fill (no model); 1: generate with a Stable Diffusion model and a prompt" }, \
    { GIMP_PDB_INT32,  "sample-from",     "0: around the area (within context pixels); 1: the whole image" }, \
    { GIMP_PDB_INT32,  "context",         "Sampling width around the area, 8 to 8192 pixels" }, \
    { GIMP_PDB_INT32,  "seed",            "Random seed (same seed, same result)" }, \
    { GIMP_PDB_STRING, "prompt",          "generate: what to paint" }, \
    { GIMP_PDB_STRING, "negative-prompt", "generate: what to avoid" }, \
    { GIMP_PDB_STRING, "model",           "generate: a Stable Diffusion checkpoint path, an installed model's name, or \"\" = an installed SD model, else the bundled shapes-sd" }, \
    { GIMP_PDB_INT32,  "steps",           "generate: sampling steps, 1 to 150" }, \
    { GIMP_PDB_FLOAT,  "cfg-scale",       "generate: guidance scale, 0 to 30" }, \
    { GIMP_PDB_FLOAT,  "strength",        "generate: 0 to 1 (1 = from noise)" }
#define N_FILL_ARGS 10

void
dream_gimp2_inpaint_query (void)
{
  static const GimpParamDef inpaint_args[] = {
    { GIMP_PDB_INT32,    "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" },
    { GIMP_PDB_IMAGE,    "image",    "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "The layer to fill" },
    FILL_ARGS,
  };
  static const GimpParamDef return_vals[] = {
    { GIMP_PDB_LAYER, "result-layer", "The new layer holding the filled pixels" },
  };

  gimp_install_procedure (DREAM_GIMP2_INPAINT_PROC,
                          "Fill the selection from the rest of the image, as a new layer",
                          "Removes what the selection covers in the active layer "
                          "and rebuilds it from the rest of the picture so texture "
                          "and structure continue across the edge (content-aware "
                          "fill, no model needed). The filled pixels are added as a "
                          "new layer above the active one, over the selection's "
                          "bounds, with a layer mask made from the selection "
                          "(feather kept); the active layer is not changed. Needs a "
                          "selection that covers part, not all, of the layer. "
                          "Mode 1 (generate) paints it with a Stable Diffusion "
                          "checkpoint (model) from the prompt instead.",
                          "Dreamlayer developers", "Dreamlayer developers", "2026",
                          "_Inpaint Selection…", "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (inpaint_args), G_N_ELEMENTS (return_vals),
                          inpaint_args, return_vals);
  gimp_plugin_menu_register (DREAM_GIMP2_INPAINT_PROC, "<Image>/Filters/Dream");

}

void
dream_gimp2_outpaint_query (void)
{
  static const GimpParamDef outpaint_args[] = {
    { GIMP_PDB_INT32,    "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }" },
    { GIMP_PDB_IMAGE,    "image",    "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "The layer whose picture is extended" },
    { GIMP_PDB_INT32,    "left",     "Pixels to add on the left" },
    { GIMP_PDB_INT32,    "right",    "Pixels to add on the right" },
    { GIMP_PDB_INT32,    "top",      "Pixels to add at the top" },
    { GIMP_PDB_INT32,    "bottom",   "Pixels to add at the bottom" },
    { GIMP_PDB_INT32,    "feather",  "Blend width into the old picture, 0 to 512 pixels" },
    FILL_ARGS,
    { GIMP_PDB_INT32,    "target-width",  "Grow the canvas to this width (0 = not used); set, it replaces left/right/top/bottom" },
    { GIMP_PDB_INT32,    "target-height", "Grow the canvas to this height (0 = not used); set, it replaces left/right/top/bottom" },
    { GIMP_PDB_STRING,   "aspect",        "Grow the canvas the least needed to this WIDTH:HEIGHT ratio, e.g. \"16:9\" (\"\" = not used; not with target-width/height)" },
    { GIMP_PDB_STRING,   "anchor",        "With target-width/height or aspect, where the old picture sits: center, top-left, top, top-right, left, right, bottom-left, bottom, bottom-right (\"\" = center)" },
  };
  static const GimpParamDef return_vals[] = {
    { GIMP_PDB_LAYER, "result-layer", "The new layer holding the filled pixels" },
  };

  gimp_install_procedure (DREAM_GIMP2_OUTPAINT_PROC,
                          "Grow the canvas and fill the new area from the image (outpainting)",
                          "Grows the canvas by left/right/top/bottom pixels and "
                          "fills the new area from the active layer's picture "
                          "(content-aware fill), blended over `feather` pixels into "
                          "the old picture so no seam shows. The result is a new "
                          "canvas-sized layer above the active one with a layer "
                          "mask over the new area and the blend band; existing "
                          "layers keep their pixels and size (they move with the "
                          "canvas). Mode 1 (generate) paints the new area with a "
                          "Stable Diffusion checkpoint (model) from the prompt. "
                          "Instead of the four sides, target-width and/or "
                          "target-height give the size to grow to, or aspect "
                          "(\"16:9\") the ratio to grow to (the least growth of "
                          "one side, rounded up), with anchor placing the old "
                          "picture; the canvas never shrinks.",
                          "Dreamlayer developers", "Dreamlayer developers", "2026",
                          "_Extend Canvas…", "RGB*, GRAY*", GIMP_PLUGIN,
                          G_N_ELEMENTS (outpaint_args), G_N_ELEMENTS (return_vals),
                          outpaint_args, return_vals);
  gimp_plugin_menu_register (DREAM_GIMP2_OUTPAINT_PROC, "<Image>/Filters/Dream");
}

static void
set_defaults (DreamGimp2InpaintVals *v, gboolean extend)
{
  memset (v, 0, sizeof *v);
  v->context = extend ? 256 : 64;
  v->right = 256;
  v->feather = 16;
  g_strlcpy (v->aspect, "16:9", sizeof v->aspect);   /* used only once chosen */
  v->steps = 25;
  v->cfg_scale = 7.5;
  v->strength = 1.0;
}

/* Reads the fill arguments starting at param[i]; FALSE + message if bad. */
static gboolean
read_fill_args (const GimpParam *param, int i, DreamGimp2InpaintVals *v, gchar **message)
{
  const char *s;

  v->mode = param[i].data.d_int32;
  v->whole = param[i + 1].data.d_int32;
  v->context = param[i + 2].data.d_int32;
  v->seed = param[i + 3].data.d_int32;
  if (v->mode < 0 || v->mode > 1 || v->whole < 0 || v->whole > 1)
    {
      *message = g_strdup ("mode and sample-from must be 0 or 1.");
      return FALSE;
    }
  if (v->context < 8 || v->context > 8192 || v->seed < 0)
    {
      *message = g_strdup ("context must be 8 to 8192 and seed not negative.");
      return FALSE;
    }
  s = param[i + 4].data.d_string;
  g_strlcpy (v->prompt, s ? s : "", sizeof v->prompt);
  s = param[i + 5].data.d_string;
  g_strlcpy (v->negative, s ? s : "", sizeof v->negative);
  s = param[i + 6].data.d_string;
  if (s && strlen (s) >= sizeof v->model)
    {
      *message = g_strdup ("the model path is too long.");
      return FALSE;
    }
  g_strlcpy (v->model, s ? s : "", sizeof v->model);
  v->steps = param[i + 7].data.d_int32;
  v->cfg_scale = param[i + 8].data.d_float;
  v->strength = param[i + 9].data.d_float;
  if (v->steps < 1 || v->steps > 150 || !(v->cfg_scale >= 0.0 && v->cfg_scale <= 30.0)
      || !(v->strength >= 0.0 && v->strength <= 1.0))
    {
      *message = g_strdup ("steps must be 1 to 150, cfg-scale 0 to 30, strength 0 to 1.");
      return FALSE;
    }
  return TRUE;
}

/* Extend Canvas's target-width, target-height, aspect, anchor from
 * param[i]; FALSE + message if bad. Only the anchor's name and the
 * aspect's length are checked here: the size rules (never shrink, the
 * 65536 limit, a well-formed ratio) are dream_canvas_margins()'s, met
 * when the image's size is known. */
static gboolean
read_target_args (const GimpParam *param, int i, DreamGimp2InpaintVals *v, gchar **message)
{
  const char *aspect = param[i + 2].data.d_string;
  dream_anchor anchor;
  GError *error = NULL;

  v->target_width = param[i].data.d_int32;
  v->target_height = param[i + 1].data.d_int32;
  if (aspect && strlen (aspect) >= sizeof v->aspect)
    {
      *message = g_strdup_printf ("the aspect ratio \"%s\" is too long; give it as "
                                  "WIDTH:HEIGHT, e.g. 16:9.", aspect);
      return FALSE;
    }
  g_strlcpy (v->aspect, aspect ? aspect : "", sizeof v->aspect);
  if (!dream_anchor_from_string (param[i + 3].data.d_string, &anchor, &error))
    {
      *message = g_strdup (error->message);
      g_error_free (error);
      return FALSE;
    }
  v->anchor = anchor;
  /* any target set replaces the sides; a size and a ratio together are
   * refused by dream_canvas_margins() with its own message */
  v->extend_by = (v->target_width != 0 || v->target_height != 0 ? 1 : 0)
                 | (v->aspect[0] ? 2 : 0);
  return TRUE;
}

/* "mode=content-aware sample=around context=64 seed=0" or
 * "mode=generate seed=… prompt="…" …" (as GIMP 3) */
static gchar *
fill_settings_text (const DreamGimp2InpaintVals *v)
{
  int context = v->whole ? 0 : v->context;
  gchar cfg[G_ASCII_DTOSTR_BUF_SIZE], st[G_ASCII_DTOSTR_BUF_SIZE];
  gchar *pe, *ne, *t;

  if (v->mode != 1)
    return g_strdup_printf ("mode=content-aware sample=%s context=%d seed=%d",
                            context ? "around" : "whole", context, v->seed);
  g_ascii_formatd (cfg, sizeof cfg, "%g", v->cfg_scale);
  g_ascii_formatd (st, sizeof st, "%g", v->strength);
  pe = g_strescape (v->prompt, NULL);
  ne = g_strescape (v->negative, NULL);
  t = g_strdup_printf ("mode=generate seed=%d steps=%d cfg=%s strength=%s model=%s "
                       "prompt=\"%s\" negative=\"%s\"", v->seed, v->steps, cfg, st,
                       v->model, pe, ne);
  g_free (pe);
  g_free (ne);
  return t;
}

/* "Inpainted (content-aware)" / "Inpainted “a red boat” seed 7" (as GIMP 3) */
static gchar *
fill_layer_name (const char *what, const DreamGimp2InpaintVals *v)
{
  glong n = g_utf8_strlen (v->prompt, -1);
  gchar *p, *name;

  if (v->mode != 1)
    return g_strdup_printf ("%s (content-aware)", what);
  p = g_utf8_substring (v->prompt, 0, MIN (40, n));
  name = g_strdup_printf ("%s “%s%s” seed %d", what, p, n > 40 ? "…" : "", v->seed);
  g_free (p);
  return name;
}

/* The new layer above `drawable` at x, y, holding `pixels`, with `mask`
 * as its layer mask and the settings parasite. Inside the undo group. */
static gint32
add_result_layer (gint32 image, gint32 drawable, const char *name, const char *settings,
                  GeglBuffer *pixels, GeglBuffer *mask, gboolean grey, gint x, gint y)
{
  const GeglRectangle *r = gegl_buffer_get_extent (pixels);
  gint32 parent = gimp_item_get_parent (drawable);
  gint32 layer, lmask;
  GeglBuffer *dst;

  layer = gimp_layer_new (image, name, r->width, r->height,
                          grey ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE, 100.0,
                          gimp_image_get_default_new_layer_mode (image));
  gimp_image_insert_layer (image, layer, parent > 0 ? parent : 0,
                           gimp_image_get_item_position (image, drawable));
  gimp_layer_set_offsets (layer, x, y);

  dst = gimp_drawable_get_buffer (layer);
  gegl_buffer_copy (pixels, r, GEGL_ABYSS_NONE, dst,
                    GEGL_RECTANGLE (0, 0, r->width, r->height));
  g_object_unref (dst);
  gimp_drawable_update (layer, 0, 0, r->width, r->height);

  lmask = gimp_layer_create_mask (layer, GIMP_ADD_MASK_WHITE);
  gimp_layer_add_mask (layer, lmask);
  dst = gimp_drawable_get_buffer (lmask);
  gegl_buffer_copy (mask, r, GEGL_ABYSS_NONE, dst,
                    GEGL_RECTANGLE (0, 0, r->width, r->height));
  g_object_unref (dst);
  gimp_drawable_update (lmask, 0, 0, r->width, r->height);

  dream_gimp2_attach_settings (layer, settings);
  return layer;
}

/* Does the work once the settings are known; -1 + error on failure. */
static gint32
fill_to_new_layer (gboolean extend, gint32 image, gint32 drawable,
                   const DreamGimp2InpaintVals *v, GError **error)
{
  const char *title = extend ? "Extend Canvas" : "Inpaint Selection";
  gboolean grey = gimp_drawable_is_gray (drawable);
  gboolean alpha = gimp_drawable_has_alpha (drawable);
  dream_pixels_fill_args args = { 0 };
  dream_pixels_generate_args gen = { 0 };
  GeglBuffer *src, *pixels = NULL, *mask = NULL;
  gdouble progress = -1.0;
  gint ox = 0, oy = 0, iw, ih;
  gint left = v->left, right = v->right, top = v->top, bottom = v->bottom;
  gint32 layer;
  gchar *stext, *settings, *lname, *target = NULL;
  gboolean ok;

  if (v->mode == 1)
    {
      gen.model = v->model;
      gen.prompt = v->prompt;
      gen.negative_prompt = v->negative;
      gen.steps = v->steps;
      gen.cfg_scale = v->cfg_scale;
      gen.strength = v->strength;
      args.generate = &gen;
    }
  args.context = v->whole ? 0 : v->context;
  args.seed = (guint64) v->seed;
  args.n_threads = 0;
  args.progress = dream_gimp2_progress;
  args.progress_user = &progress;
  gimp_drawable_offsets (drawable, &ox, &oy);
  iw = gimp_image_width (image);
  ih = gimp_image_height (image);

  /* to a size or a ratio: the margins from libdream, as GIMP 3 and the CLI */
  if (extend && v->extend_by != 0)
    {
      const char *aspect = (v->extend_by & 2) ? v->aspect : "";
      gint tw = (v->extend_by & 1) ? v->target_width : 0;
      gint th = (v->extend_by & 1) ? v->target_height : 0;

      if (!dream_pixels_outpaint_target (iw, ih, tw, th, aspect, (dream_anchor) v->anchor,
                                         &left, &right, &top, &bottom, &target, error))
        return -1;
    }

  gimp_progress_init (title);
  src = gimp_drawable_get_buffer (drawable);
  if (extend)
    ok = dream_pixels_outpaint (src, GEGL_RECTANGLE (-ox, -oy, iw, ih),
                                left, right, top, bottom, v->feather,
                                grey, alpha, &args, &pixels, &mask, error);
  else
    {
      gint x, y, w, h;
      GeglBuffer *sel;

      if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
        {
          g_object_unref (src);
          gimp_progress_end ();
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "The selection does not cover any part of the layer.");
          return -1;
        }
      sel = gimp_drawable_get_buffer (gimp_image_get_selection (image));
      ok = dream_pixels_inpaint (src, sel, ox, oy, GEGL_RECTANGLE (x, y, w, h),
                                 grey, alpha, &args, &pixels, &mask, error);
      g_object_unref (sel);
    }
  g_object_unref (src);
  if (!ok)
    {
      g_free (target);
      gimp_progress_end ();
      return -1;
    }

  /* The engine has finished: now, and only now, change the image. */
  stext = fill_settings_text (v);
  gimp_image_undo_group_start (image);
  if (extend)
    {
      settings = g_strdup_printf ("outpaint left=%d right=%d top=%d bottom=%d feather=%d%s %s",
                                  left, right, top, bottom, v->feather,
                                  target ? target : "", stext);
      gimp_image_resize (image, iw + left + right, ih + top + bottom, left, top);
      lname = fill_layer_name ("Extended", v);
      layer = add_result_layer (image, drawable, lname, settings,
                                pixels, mask, grey, 0, 0);
    }
  else
    {
      const GeglRectangle *r = gegl_buffer_get_extent (pixels);
      settings = g_strconcat ("inpaint ", stext, NULL);
      lname = fill_layer_name ("Inpainted", v);
      layer = add_result_layer (image, drawable, lname, settings,
                                pixels, mask, grey, ox + r->x, oy + r->y);
    }
  gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);
  gimp_progress_end ();
  g_object_unref (pixels);
  g_object_unref (mask);
  g_free (stext);
  g_free (settings);
  g_free (lname);
  g_free (target);
  return layer;
}

void
dream_gimp2_inpaint_run (const gchar      *name,
                         gint              nparams,
                         const GimpParam  *param,
                         gint             *nreturn_vals,
                         GimpParam       **return_vals)
{
  static GimpParam values[2];
  static gchar *message = NULL;
  gboolean extend = strcmp (name, DREAM_GIMP2_OUTPAINT_PROC) == 0;
  const char *title = extend ? "Extend Canvas" : "Inpaint Selection";
  GimpPDBStatusType status = GIMP_PDB_EXECUTION_ERROR;
  DreamGimp2InpaintVals vals;
  GimpRunMode run_mode;
  gint32 image, drawable, layer;
  GError *error = NULL;
  gchar *why = NULL;
  int n_args = 3 + (extend ? 5 + 4 : 0) + N_FILL_ARGS;

  g_clear_pointer (&message, g_free);
  *return_vals = values;
  *nreturn_vals = 1;
  values[0].type = GIMP_PDB_STATUS;

  if (nparams < 3)
    {
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf ("%s: too few arguments", title);
      goto fail;
    }
  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;

  set_defaults (&vals, extend);
  if (gimp_get_data_size (name) == sizeof vals)
    gimp_get_data (name, &vals);
  vals.prompt[sizeof vals.prompt - 1] = '\0';
  vals.negative[sizeof vals.negative - 1] = '\0';
  vals.model[sizeof vals.model - 1] = '\0';
  vals.aspect[sizeof vals.aspect - 1] = '\0';

  if (!gimp_image_is_valid (image) || !gimp_item_is_valid (drawable))
    {
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf ("%s: no valid image or drawable.", title);
      goto fail;
    }
  /* scripts are not held to the image-type restriction */
  if (gimp_image_base_type (image) == GIMP_INDEXED || gimp_drawable_is_indexed (drawable))
    {
      message = g_strdup_printf ("%s cannot work on an indexed image; convert it "
                                 "to RGB or Grayscale first (Image ▸ Mode).", title);
      goto fail;
    }
  if (!gimp_item_is_layer (drawable) || gimp_item_is_group (drawable))
    {
      message = g_strdup_printf (gimp_item_is_group (drawable)
                                 ? "%s works on a single layer, not on a layer "
                                   "group: pick a layer inside the group."
                                 : "%s works on layers: make the layer itself "
                                   "active, not its mask or a channel.", title);
      goto fail;
    }
  if (!extend && gimp_selection_is_empty (image))
    {
      message = g_strdup_printf ("%s needs a selection: select what should be "
                                 "removed (any shape, feathered or not), then run "
                                 "it again.", title);
      goto fail;
    }

  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      gimp_ui_init (DREAM_GIMP2_BINARY, FALSE);
      if (!dream_gimp2_inpaint_dialog (extend, &vals, gimp_image_width (image),
                                       gimp_image_height (image)))
        {
          status = GIMP_PDB_CANCEL;
          goto fail;
        }
      break;

    case GIMP_RUN_NONINTERACTIVE:
      if (nparams != n_args)
        {
          status = GIMP_PDB_CALLING_ERROR;
          message = g_strdup_printf ("%s takes %d arguments, not %d", name, n_args, nparams);
          goto fail;
        }
      if (extend)
        {
          vals.left = param[3].data.d_int32;
          vals.right = param[4].data.d_int32;
          vals.top = param[5].data.d_int32;
          vals.bottom = param[6].data.d_int32;
          vals.feather = param[7].data.d_int32;
          if (vals.left < 0 || vals.right < 0 || vals.top < 0 || vals.bottom < 0
              || vals.left > 16384 || vals.right > 16384 || vals.top > 16384
              || vals.bottom > 16384 || vals.feather < 0 || vals.feather > 512)
            {
              status = GIMP_PDB_CALLING_ERROR;
              message = g_strdup_printf ("%s: the sides must be 0 to 16384 pixels, "
                                         "the blend width 0 to 512.", title);
              goto fail;
            }
        }
      if (!read_fill_args (param, extend ? 8 : 3, &vals, &why)
          || (extend && !read_target_args (param, 8 + N_FILL_ARGS, &vals, &why)))
        {
          status = GIMP_PDB_CALLING_ERROR;
          message = g_strdup_printf ("%s: %s", title, why);
          g_free (why);
          goto fail;
        }
      break;

    case GIMP_RUN_WITH_LAST_VALS:
      break;

    default:
      status = GIMP_PDB_CALLING_ERROR;
      message = g_strdup_printf ("%s: unknown run mode %d", title, run_mode);
      goto fail;
    }

  layer = fill_to_new_layer (extend, image, drawable, &vals, &error);
  if (layer < 0)
    {
      gboolean cancelled = g_error_matches (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);

      status = cancelled && run_mode != GIMP_RUN_NONINTERACTIVE
               ? GIMP_PDB_CANCEL : GIMP_PDB_EXECUTION_ERROR;
      message = cancelled
        ? g_strdup_printf ("%s was cancelled; the image is unchanged.", title)
        : g_strdup (error ? error->message : "failed");
      g_clear_error (&error);
      goto fail;
    }

  gimp_set_data (name, &vals, sizeof vals);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  *nreturn_vals = 2;
  values[0].data.d_status = GIMP_PDB_SUCCESS;
  values[1].type = GIMP_PDB_LAYER;
  values[1].data.d_layer = layer;
  return;

fail:
  values[0].data.d_status = status;
  if (message)
    {
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
    }
}
