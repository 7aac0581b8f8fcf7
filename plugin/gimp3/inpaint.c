/* inpaint.c — the GIMP 3 front end of Inpaint Selection and Extend Canvas:
 *
 *   plug-in-dream-inpaint   Filters ▸ Dream ▸ Inpaint Selection…
 *   plug-in-dream-outpaint  Filters ▸ Dream ▸ Extend Canvas…
 *
 * Inpaint Selection fills the selected part of the active layer from the
 * rest of the picture (content-aware fill, libdream's dream_fill through
 * plugin/dream-fill-pixels.c) and adds the filled pixels as a NEW layer
 * above it, over the selection's bounds, with a layer mask made from the
 * selection (its feather kept), so only the filled pixels show and they
 * blend in as the selection says. The layer below is not touched.
 *
 * Extend Canvas grows the canvas by left/right/top/bottom pixels — or to
 * target-width × target-height, or to the aspect ratio `aspect`, with
 * `anchor` saying where the old picture sits (when any target argument is
 * set it replaces the four sides; the margins come from libdream's
 * dream_canvas_margins(), shared with the CLI and GIMP 2.10) — and adds
 * a new canvas-sized layer above the active one holding the new area
 * filled from the picture, with a layer mask that is white over the new
 * area and ramps to black over `feather` pixels into the old picture, so
 * no seam shows. The active layer and every other layer keep their pixels
 * and their size (they are only moved by left, top with the canvas).
 *
 * Both: the engine runs first, into the plug-in's own buffers; only when
 * it succeeded is the image changed (canvas, layer, mask, parasite) in one
 * undo group. A cancel or an error leaves the image as it was.
 *
 * mode "generate" fills with a Stable Diffusion checkpoint (`model`, an
 * inpainting one or an ordinary one) and a prompt instead (libdream's
 * dream_inpaint: the selection's bounds plus a margin, worked at the
 * model's size and scaled back), same layer and mask.
 */
#include <string.h>

#include "dream-gimp3.h"
#include "dream-fill-pixels.h"
#include "inpaint-dialog.h"

#define INPAINT_PROC  "plug-in-dream-inpaint"
#define OUTPAINT_PROC "plug-in-dream-outpaint"

static GimpValueArray *inpaint_run (GimpProcedure *procedure, GimpRunMode run_mode,
                                    GimpImage *image, GimpDrawable **drawables,
                                    GimpProcedureConfig *config, gpointer run_data);
static GimpValueArray *outpaint_run (GimpProcedure *procedure, GimpRunMode run_mode,
                                     GimpImage *image, GimpDrawable **drawables,
                                     GimpProcedureConfig *config, gpointer run_data);

/* The arguments both procedures share: how to fill. */
static void
add_fill_arguments (GimpProcedure *procedure, int default_context)
{
  gimp_procedure_add_choice_argument (procedure, "mode", "_Fill with",
                                      "content-aware: rebuild from the rest of the "
                                      "picture (no model); generate: a Stable "
                                      "Diffusion model and a prompt",
                                      gimp_choice_new_with_values (
                                        "content-aware", 0, "Content-aware fill", NULL,
                                        "generate",      1, "Generate from a prompt", NULL,
                                        NULL),
                                      "content-aware", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "sample-from", "_Sample from",
                                      "around: only within `context` pixels of the "
                                      "area to fill; whole: the whole layer",
                                      gimp_choice_new_with_values (
                                        "around", 0, "Around the area", NULL,
                                        "whole",  1, "The whole image", NULL,
                                        NULL),
                                      "around", G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "context", "Sampling _width",
                                   "With sample-from around: how far around the "
                                   "area's bounds to sample from, in pixels",
                                   8, 8192, default_context, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed", "S_eed",
                                   "Random seed (same seed, same result)",
                                   0, G_MAXINT, 0, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "prompt", "_Prompt",
                                      "generate: what to paint", "", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "negative-prompt", "_Negative prompt",
                                      "generate: what to avoid", "", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model", "_Model",
                                      "generate: a Stable Diffusion checkpoint (an "
                                      "inpainting one or an ordinary one): a path, an "
                                      "installed model's name, or \"\" = an installed "
                                      "SD model, else the bundled shapes-sd",
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "steps", "S_teps",
                                   "generate: sampling steps", 1, 150, 25, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "cfg-scale", "_Guidance",
                                      "generate: classifier-free guidance scale",
                                      0.0, 30.0, 7.5, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "strength", "St_rength",
                                      "generate: how much of the area is re-made "
                                      "(1 = from noise)", 0.0, 1.0, 1.0, G_PARAM_READWRITE);
  gimp_procedure_add_file_aux_argument (procedure, "model-file", "Model _file",
                                        "A Stable Diffusion checkpoint (.safetensors)",
                                        GIMP_FILE_CHOOSER_ACTION_OPEN,
                                        TRUE, NULL, G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value (procedure, "result-layer", "Result layer",
                                         "The new layer holding the filled pixels",
                                         TRUE, G_PARAM_READWRITE);
}

GimpProcedure *
dream_gimp3_inpaint_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, INPAINT_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        inpaint_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Inpaint Selection…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Dream");
  gimp_procedure_set_documentation (
    procedure,
    "Fill the selection from the rest of the image, as a new layer",
    "Removes what the selection covers in the active layer and rebuilds it "
    "from the rest of the picture so texture and structure continue across "
    "the edge (content-aware fill, no model needed). The filled pixels are "
    "added as a new layer above the active one, over the selection's "
    "bounds, with a layer mask made from the selection (feather kept); the "
    "active layer is not changed. sample-from \"around\" samples within "
    "`context` pixels of the selection, \"whole\" from the whole layer. "
    "Needs a selection that covers part, not all, of the layer. Mode "
    "\"generate\" paints the selection with a Stable Diffusion checkpoint "
    "(`model`: an inpainting one or an ordinary one) from `prompt`: the "
    "selection's bounds plus a margin are worked at the model's size and "
    "blended back with the selection's feather.",
    INPAINT_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");
  add_fill_arguments (procedure, 64);
  return procedure;
}

GimpProcedure *
dream_gimp3_outpaint_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, OUTPAINT_PROC, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        outpaint_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Extend Canvas…");
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Dream");
  gimp_procedure_set_documentation (
    procedure,
    "Grow the canvas and fill the new area from the image (outpainting)",
    "Grows the canvas by left/right/top/bottom pixels and fills the new "
    "area from the active layer's picture (content-aware fill), blended "
    "over `feather` pixels into the old picture so no seam shows. The "
    "result is a new canvas-sized layer above the active one with a layer "
    "mask over the new area and the blend band; every existing layer keeps "
    "its pixels and size (layers move with the canvas). The active layer "
    "is read over the old canvas (what it does not cover counts as "
    "transparent). Mode \"generate\" paints the new area with a Stable "
    "Diffusion checkpoint (`model`) from `prompt` instead. Instead of "
    "the four sides, `target-width` and/or `target-height` give the size "
    "to grow to, or `aspect` (\"16:9\") the ratio to grow to (the least "
    "growth of one side, rounded up), with `anchor` placing the old "
    "picture; the canvas never shrinks.",
    OUTPAINT_PROC);
  gimp_procedure_set_attribution (procedure, "Dreamlayer developers",
                                  "Dreamlayer developers", "2026");
  gimp_procedure_add_int_argument (procedure, "left", "_Left", "Pixels to add on the left",
                                   0, 16384, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "right", "_Right", "Pixels to add on the right",
                                   0, 16384, 256, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "top", "_Top", "Pixels to add at the top",
                                   0, 16384, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "bottom", "_Bottom", "Pixels to add at the bottom",
                                   0, 16384, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "feather", "Blend _width",
                                   "How far the fill blends into the old picture, in pixels",
                                   0, 512, 16, G_PARAM_READWRITE);
  add_fill_arguments (procedure, 256);
  /* Grow to a size or a ratio instead of by the four sides. Added after
   * the fill arguments so scripts passing the old ones in order still
   * work; 0 and "" mean "not used", and any of them set replaces
   * left/right/top/bottom. */
  gimp_procedure_add_int_argument (procedure, "target-width", "_Width",
                                   "Grow the canvas to this width (0 = not used; "
                                   "set, it replaces left/right/top/bottom)",
                                   0, 65536, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "target-height", "_Height",
                                   "Grow the canvas to this height (0 = not used; "
                                   "set, it replaces left/right/top/bottom)",
                                   0, 65536, 0, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "aspect", "_Aspect ratio",
                                      "Grow the canvas the least needed to this "
                                      "WIDTH:HEIGHT ratio, e.g. \"16:9\" (\"\" = not "
                                      "used; not together with target-width/height)",
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "anchor", "_Picture at",
                                      "With target-width/height or aspect: where the "
                                      "old picture sits on the grown canvas",
                                      gimp_choice_new_with_values (
                                        "center",       DREAM_ANCHOR_CENTER,       "Centre", NULL,
                                        "top-left",     DREAM_ANCHOR_TOP_LEFT,     "Top left", NULL,
                                        "top",          DREAM_ANCHOR_TOP,          "Top", NULL,
                                        "top-right",    DREAM_ANCHOR_TOP_RIGHT,    "Top right", NULL,
                                        "left",         DREAM_ANCHOR_LEFT,         "Left", NULL,
                                        "right",        DREAM_ANCHOR_RIGHT,        "Right", NULL,
                                        "bottom-left",  DREAM_ANCHOR_BOTTOM_LEFT,  "Bottom left", NULL,
                                        "bottom",       DREAM_ANCHOR_BOTTOM,       "Bottom", NULL,
                                        "bottom-right", DREAM_ANCHOR_BOTTOM_RIGHT, "Bottom right", NULL,
                                        NULL),
                                      "center", G_PARAM_READWRITE);
  /* The dialog's choice between the three ways; not a PDB argument
   * (scripts say it by which arguments they set). */
  gimp_procedure_add_choice_aux_argument (procedure, "extend-by", "E_xtend",
                                          "How the new size is given",
                                          gimp_choice_new_with_values (
                                            "sides",  0, "By pixels on each side", NULL,
                                            "size",   1, "To a size", NULL,
                                            "aspect", 2, "To an aspect ratio", NULL,
                                            NULL),
                                          "sides", G_PARAM_READWRITE);
  return procedure;
}

/* ---- shared ------------------------------------------------------------- */

typedef struct {
  char *mode, *sample_from, *prompt, *negative, *model;
  int context, seed, steps;
  double cfg, strength;
} fill_settings;

static void
fill_settings_get (GimpProcedureConfig *config, fill_settings *s)
{
  g_object_get (config, "mode", &s->mode, "sample-from", &s->sample_from,
                "context", &s->context, "seed", &s->seed,
                "prompt", &s->prompt, "negative-prompt", &s->negative,
                "model", &s->model, "steps", &s->steps,
                "cfg-scale", &s->cfg, "strength", &s->strength, NULL);
}

static void
fill_settings_clear (fill_settings *s)
{
  g_free (s->mode);
  g_free (s->sample_from);
  g_free (s->prompt);
  g_free (s->negative);
  g_free (s->model);
}

/* The dialog's file chooser into "model" (only when one was chosen). */
static void
model_file_to_arg (GimpProcedureConfig *config)
{
  GFile *file = NULL;

  g_object_get (config, "model-file", &file, NULL);
  if (file)
    {
      char *path = g_file_get_path (file);
      if (path)
        g_object_set (config, "model", path, NULL);
      g_free (path);
      g_object_unref (file);
    }
}

/* The generation settings of `s` into `g`; NULL for content-aware. */
static const dream_pixels_generate_args *
fill_settings_generate (const fill_settings *s, dream_pixels_generate_args *g)
{
  if (g_strcmp0 (s->mode, "generate") != 0)
    return NULL;
  g->model = s->model;
  g->prompt = s->prompt;
  g->negative_prompt = s->negative;
  g->steps = s->steps;
  g->cfg_scale = s->cfg;
  g->strength = s->strength;
  return g;
}

/* "Inpainted (content-aware)" / "Inpainted “a red boat” seed 7" */
static char *
fill_layer_name (const char *what, const fill_settings *s)
{
  char *p, *name;

  if (g_strcmp0 (s->mode, "generate") != 0)
    return g_strdup_printf ("%s (content-aware)", what);
  p = g_utf8_substring (s->prompt ? s->prompt : "", 0,
                        MIN (40, g_utf8_strlen (s->prompt ? s->prompt : "", -1)));
  name = g_strdup_printf ("%s “%s%s” seed %d", what, p,
                          g_utf8_strlen (s->prompt ? s->prompt : "", -1) > 40 ? "…" : "",
                          s->seed);
  g_free (p);
  return name;
}

static int
fill_context (const fill_settings *s)
{
  return g_strcmp0 (s->sample_from, "whole") == 0 ? 0 : s->context;
}

/* "mode=content-aware sample=around context=64 seed=0", or
 * "mode=generate seed=7 steps=20 cfg=7.5 strength=1 model=… prompt="…"
 * negative="…"" (prompts C-escaped) */
static char *
fill_settings_text (const fill_settings *s)
{
  char cfg[G_ASCII_DTOSTR_BUF_SIZE], st[G_ASCII_DTOSTR_BUF_SIZE];
  char *pe, *ne, *t;

  if (g_strcmp0 (s->mode, "generate") != 0)
    return g_strdup_printf ("mode=content-aware sample=%s context=%d seed=%d",
                            fill_context (s) ? "around" : "whole", fill_context (s), s->seed);
  g_ascii_formatd (cfg, sizeof cfg, "%g", s->cfg);
  g_ascii_formatd (st, sizeof st, "%g", s->strength);
  pe = g_strescape (s->prompt ? s->prompt : "", NULL);
  ne = g_strescape (s->negative ? s->negative : "", NULL);
  t = g_strdup_printf ("mode=generate seed=%d steps=%d cfg=%s strength=%s model=%s "
                       "prompt=\"%s\" negative=\"%s\"", s->seed, s->steps, cfg, st,
                       s->model ? s->model : "", pe, ne);
  g_free (pe);
  g_free (ne);
  return t;
}

/* Adds `pixels` as a new layer above `drawable` at image position x, y,
 * with `mask` as its layer mask. Call inside the undo group. */
static GimpLayer *
add_result_layer (GimpImage *image, GimpDrawable *drawable, const char *name,
                  const char *settings, GeglBuffer *pixels, GeglBuffer *mask,
                  gboolean grey, int x, int y)
{
  GimpItem *src_item = GIMP_ITEM (drawable);
  GimpItem *parent = gimp_item_get_parent (src_item);
  const GeglRectangle *r = gegl_buffer_get_extent (pixels);
  GimpLayer *layer;
  GimpLayerMask *lmask;
  GeglBuffer *dst;

  layer = gimp_layer_new (image, name, r->width, r->height,
                          grey ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE,
                          100.0, gimp_image_get_default_new_layer_mode (image));
  gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL,
                           gimp_image_get_item_position (image, src_item));
  gimp_layer_set_offsets (layer, x, y);

  dst = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_copy (pixels, r, GEGL_ABYSS_NONE, dst,
                    GEGL_RECTANGLE (0, 0, r->width, r->height));
  gegl_buffer_flush (dst);
  g_object_unref (dst);
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, r->width, r->height);

  lmask = gimp_layer_create_mask (layer, GIMP_ADD_MASK_WHITE);
  gimp_layer_add_mask (layer, lmask);
  dst = gimp_drawable_get_buffer (GIMP_DRAWABLE (lmask));
  gegl_buffer_copy (mask, r, GEGL_ABYSS_NONE, dst,
                    GEGL_RECTANGLE (0, 0, r->width, r->height));
  gegl_buffer_flush (dst);
  g_object_unref (dst);
  gimp_drawable_update (GIMP_DRAWABLE (lmask), 0, 0, r->width, r->height);

  dream_gimp3_attach_settings (GIMP_ITEM (layer), settings);
  return layer;
}

static GError *
check_image_and_layer (const char *title, GimpImage *image, GimpDrawable **drawables)
{
  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s cannot work on an indexed image; "
                        "convert it to RGB or Grayscale first (Image ▸ Mode).", title);
  if (!drawables || !drawables[0])
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s needs a selected layer.", title);
  if (drawables[1])
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s works on one layer at a time; select only one.", title);
  return dream_gimp3_layer_problem (title, drawables[0]);
}

/* ---- Inpaint Selection ---------------------------------------------------- */

static GimpValueArray *
inpaint_run (GimpProcedure        *procedure,
             GimpRunMode           run_mode,
             GimpImage            *image,
             GimpDrawable        **drawables,
             GimpProcedureConfig  *config,
             gpointer              run_data)
{
  const char *title = "Inpaint Selection";
  GError *error = NULL;
  GimpDrawable *drawable;
  fill_settings s = { 0 };
  dream_pixels_fill_args args = { 0 };
  dream_pixels_generate_args gen = { 0 };
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  GeglBuffer *src, *sel, *pixels = NULL, *mask = NULL;
  GimpLayer *layer;
  GimpValueArray *ret;
  int x, y, w, h, ox = 0, oy = 0;
  char *settings, *stext, *name;
  gboolean ok;

  (void) run_data;
  gegl_init (NULL, NULL);

  if ((error = check_image_and_layer (title, image, drawables)))
    return dream_gimp3_fail (procedure, error);
  drawable = drawables[0];
  if (gimp_selection_is_empty (image))
    return dream_gimp3_fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "%s needs a selection: select what should be removed "
                 "(any shape, feathered or not), then run it again.", title));

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (DREAM_GIMP3_BINARY);
      if (!dream_inpaint_dialog_run (procedure, config, FALSE))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      model_file_to_arg (config);
    }
  fill_settings_get (config, &s);

  if (!gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h) || w <= 0 || h <= 0)
    {
      fill_settings_clear (&s);
      return dream_gimp3_fail (procedure, dream_gimp3_outside_selection (drawable));
    }

  /* ---- the work: nothing in the image changes here ---- */
  gimp_progress_init (title);
  args.generate = fill_settings_generate (&s, &gen);
  args.context = fill_context (&s);
  args.seed = (guint64) s.seed;
  args.n_threads = gimp_get_num_processors ();
  args.progress = dream_gimp3_progress;
  args.progress_user = &rp;
  gimp_drawable_get_offsets (drawable, &ox, &oy);
  src = gimp_drawable_get_buffer (drawable);
  sel = gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (image)));
  ok = dream_pixels_inpaint (src, sel, ox, oy, GEGL_RECTANGLE (x, y, w, h),
                             gimp_drawable_is_gray (drawable),
                             gimp_drawable_has_alpha (drawable),
                             &args, &pixels, &mask, &error);
  g_object_unref (src);
  g_object_unref (sel);
  gimp_progress_end ();
  if (!ok)
    {
      fill_settings_clear (&s);
      return dream_gimp3_fail (procedure, error);
    }

  /* ---- it worked: one new layer, one undo step ---- */
  stext = fill_settings_text (&s);
  settings = g_strconcat ("inpaint ", stext, NULL);
  name = fill_layer_name ("Inpainted", &s);
  gimp_image_undo_group_start (image);
  {
    const GeglRectangle *r = gegl_buffer_get_extent (pixels);
    layer = add_result_layer (image, drawable, name, settings,
                              pixels, mask, gimp_drawable_is_gray (drawable),
                              ox + r->x, oy + r->y);
  }
  gimp_image_undo_group_end (image);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_LAYER (ret, 1, layer);
  g_object_unref (pixels);
  g_object_unref (mask);
  g_free (stext);
  g_free (settings);
  g_free (name);
  fill_settings_clear (&s);
  return ret;
}

/* ---- Extend Canvas ---------------------------------------------------------- */

/* Before the dialog: the "To a size" fields start at the canvas's size
 * (not 0, which only means "not used" to scripts) and the ratio at 16:9,
 * so switching the dialog's Extend choice shows sensible numbers. */
static void
extend_dialog_prepare (GimpProcedureConfig *config, int iw, int ih)
{
  int tw, th;
  char *aspect = NULL;

  g_object_get (config, "target-width", &tw, "target-height", &th, "aspect", &aspect, NULL);
  if (tw < iw || th < ih)   /* 65536: the argument's (and the engine's) limit */
    g_object_set (config, "target-width", CLAMP (MAX (tw, iw), 0, 65536),
                  "target-height", CLAMP (MAX (th, ih), 0, 65536), NULL);
  if (!aspect || !*aspect)
    g_object_set (config, "aspect", "16:9", NULL);
  g_free (aspect);
}

/* After the dialog: the Extend choice decides which arguments count; the
 * others are cleared so the run (and "repeat last") sees only those. */
static void
extend_dialog_apply (GimpProcedureConfig *config)
{
  char *by = NULL;

  g_object_get (config, "extend-by", &by, NULL);
  if (g_strcmp0 (by, "size") == 0)
    g_object_set (config, "aspect", "", NULL);
  else if (g_strcmp0 (by, "aspect") == 0)
    g_object_set (config, "target-width", 0, "target-height", 0, NULL);
  else
    g_object_set (config, "target-width", 0, "target-height", 0, "aspect", "", NULL);
  g_free (by);
}

static GimpValueArray *
outpaint_run (GimpProcedure        *procedure,
              GimpRunMode           run_mode,
              GimpImage            *image,
              GimpDrawable        **drawables,
              GimpProcedureConfig  *config,
              gpointer              run_data)
{
  const char *title = "Extend Canvas";
  GError *error = NULL;
  GimpDrawable *drawable;
  fill_settings s = { 0 };
  dream_pixels_fill_args args = { 0 };
  dream_pixels_generate_args gen = { 0 };
  dream_gimp3_progress_state rp = { 0.0, 1.0, 0.0 };
  GeglBuffer *src, *pixels = NULL, *mask = NULL;
  GimpLayer *layer;
  GimpValueArray *ret;
  int left, right, top, bottom, feather, iw, ih, ox = 0, oy = 0;
  int target_width, target_height;
  char *settings, *stext, *name, *aspect = NULL, *anchor_name = NULL, *target = NULL;
  gboolean ok;

  (void) run_data;
  gegl_init (NULL, NULL);

  if ((error = check_image_and_layer (title, image, drawables)))
    return dream_gimp3_fail (procedure, error);
  drawable = drawables[0];
  iw = gimp_image_get_width (image);
  ih = gimp_image_get_height (image);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (DREAM_GIMP3_BINARY);
      extend_dialog_prepare (config, iw, ih);
      if (!dream_inpaint_dialog_run (procedure, config, TRUE))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      extend_dialog_apply (config);
      model_file_to_arg (config);
    }
  fill_settings_get (config, &s);
  g_object_get (config, "left", &left, "right", &right, "top", &top,
                "bottom", &bottom, "feather", &feather,
                "target-width", &target_width, "target-height", &target_height,
                "aspect", &aspect, "anchor", &anchor_name, NULL);

  /* a target size or ratio replaces the four sides */
  if (target_width != 0 || target_height != 0 || (aspect && *aspect))
    {
      dream_anchor anchor;

      /* the margins, and " to=WxH anchor=…" / " aspect=16:9 anchor=…" for
       * the parasite */
      if (!dream_anchor_from_string (anchor_name, &anchor, &error)
          || !dream_pixels_outpaint_target (iw, ih, target_width, target_height, aspect,
                                            anchor, &left, &right, &top, &bottom, &target,
                                            &error))
        {
          g_free (aspect);
          g_free (anchor_name);
          fill_settings_clear (&s);
          return dream_gimp3_fail (procedure, error);
        }
    }
  g_free (aspect);
  g_free (anchor_name);

  /* ---- the work: nothing in the image changes here ---- */
  gimp_progress_init (title);
  args.generate = fill_settings_generate (&s, &gen);
  args.context = fill_context (&s);
  args.seed = (guint64) s.seed;
  args.n_threads = gimp_get_num_processors ();
  args.progress = dream_gimp3_progress;
  args.progress_user = &rp;
  gimp_drawable_get_offsets (drawable, &ox, &oy);
  src = gimp_drawable_get_buffer (drawable);
  ok = dream_pixels_outpaint (src, GEGL_RECTANGLE (-ox, -oy, iw, ih),
                              left, right, top, bottom, feather,
                              gimp_drawable_is_gray (drawable),
                              gimp_drawable_has_alpha (drawable),
                              &args, &pixels, &mask, &error);
  g_object_unref (src);
  gimp_progress_end ();
  if (!ok)
    {
      g_free (target);
      fill_settings_clear (&s);
      return dream_gimp3_fail (procedure, error);
    }

  /* ---- it worked: bigger canvas + one new layer, one undo step ---- */
  stext = fill_settings_text (&s);
  settings = g_strdup_printf ("outpaint left=%d right=%d top=%d bottom=%d feather=%d%s %s",
                              left, right, top, bottom, feather, target ? target : "", stext);
  g_free (target);
  gimp_image_undo_group_start (image);
  gimp_image_resize (image, iw + left + right, ih + top + bottom, left, top);
  name = fill_layer_name ("Extended", &s);
  layer = add_result_layer (image, drawable, name, settings,
                            pixels, mask, gimp_drawable_is_gray (drawable), 0, 0);
  gimp_image_undo_group_end (image);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_LAYER (ret, 1, layer);
  g_object_unref (pixels);
  g_object_unref (mask);
  g_free (stext);
  g_free (settings);
  g_free (name);
  fill_settings_clear (&s);
  return ret;
}
