/* dreamlayer.c — the GIMP 3 front end of Dreamlayer.
 *
 * Registers plug-in-dream-denoise (Filters ▸ Enhance ▸ Dream Denoise…)
 * and plug-in-dream-upscale (Filters ▸ Enhance ▸ Dream Upscale…, see
 * upscale_run below).
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

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dream-config.h"
#include "dream-pixels.h"
#include "denoise-dialog.h"
#include "upscale-dialog.h"

#define PLUG_IN_PROC   "plug-in-dream-denoise"
#define UPSCALE_PROC   "plug-in-dream-upscale"
#define PLUG_IN_BINARY "dreamlayer"
#define PARASITE_NAME  "dreamlayer-settings"

typedef struct _Dreamlayer      Dreamlayer;
typedef struct _DreamlayerClass DreamlayerClass;

struct _Dreamlayer
{
  GimpPlugIn parent_instance;
};

struct _DreamlayerClass
{
  GimpPlugInClass parent_class;
};

#define DREAMLAYER_TYPE (dreamlayer_get_type ())

GType dreamlayer_get_type (void) G_GNUC_CONST;

G_DEFINE_TYPE (Dreamlayer, dreamlayer, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (DREAMLAYER_TYPE)

/* ---- registration ------------------------------------------------------ */

static GimpValueArray *denoise_run (GimpProcedure        *procedure,
                                    GimpRunMode           run_mode,
                                    GimpImage            *image,
                                    GimpDrawable        **drawables,
                                    GimpProcedureConfig  *config,
                                    gpointer              run_data);
static GimpValueArray *upscale_run (GimpProcedure        *procedure,
                                    GimpRunMode           run_mode,
                                    GimpImage            *image,
                                    GimpDrawable        **drawables,
                                    GimpProcedureConfig  *config,
                                    gpointer              run_data);

static GList *
dreamlayer_query_procedures (GimpPlugIn *plug_in)
{
  (void) plug_in;
  return g_list_append (g_list_append (NULL, g_strdup (PLUG_IN_PROC)),
                        g_strdup (UPSCALE_PROC));
}

static GimpProcedure *
create_upscale_procedure (GimpPlugIn *plug_in)
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

static GimpProcedure *
dreamlayer_create_procedure (GimpPlugIn  *plug_in,
                             const gchar *name)
{
  GimpProcedure *procedure;

  if (strcmp (name, UPSCALE_PROC) == 0)
    return create_upscale_procedure (plug_in);
  if (strcmp (name, PLUG_IN_PROC) != 0)
    return NULL;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
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

static void
dreamlayer_class_init (DreamlayerClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = dreamlayer_query_procedures;
  plug_in_class->create_procedure = dreamlayer_create_procedure;
  plug_in_class->set_i18n         = NULL;
}

static void
dreamlayer_init (Dreamlayer *self)
{
  (void) self;
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

typedef struct {
  double base, span;  /* this drawable's share of the whole run */
  double shown;       /* last fraction sent to GIMP */
} run_progress;

static gboolean
progress_to_gimp (gpointer user, double fraction)
{
  run_progress *rp = user;
  double f = rp->base + rp->span * CLAMP (fraction, 0.0, 1.0);

  if (f - rp->shown >= 0.01 || (fraction >= 1.0 && f > rp->shown))
    {
      gimp_progress_update (f);
      rp->shown = f;
    }
  /* GIMP's own Cancel ends the plug-in process; nothing was written yet */
  return TRUE;
}

static GimpValueArray *
fail (GimpProcedure *procedure, GError *error)
{
  if (g_error_matches (error, DREAM_ERROR, DREAM_ERROR_CANCELLED))
    {
      g_error_free (error);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
}

/* The dialog's "model-kind" (a built-in name or "file") and "model-file"
 * into the "model" argument. Shared by both procedures. */
static gboolean
dialog_model_to_arg (GimpProcedureConfig *config, const char *fallback,
                     const char *what, GError **error)
{
  char *kind = NULL;
  GFile *file = NULL;
  gboolean ok = TRUE;

  g_object_get (config, "model-kind", &kind, "model-file", &file, NULL);
  if (g_strcmp0 (kind, "file") == 0)
    {
      char *path = file ? g_file_get_path (file) : NULL;
      if (!path)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "Choose a model file, or %s.", what);
          ok = FALSE;
        }
      else
        g_object_set (config, "model", path, NULL);
      g_free (path);
    }
  else
    g_object_set (config, "model", kind ? kind : fallback, NULL);
  g_free (kind);
  g_clear_object (&file);
  return ok;
}

/* And back: a built-in name selects its choice, anything else the file. */
static void
arg_model_to_dialog (GimpProcedureConfig *config, const char *model, gboolean builtin)
{
  if (builtin)
    g_object_set (config, "model-kind", model, NULL);
  else
    {
      GFile *f = g_file_new_for_path (model);
      g_object_set (config, "model-kind", "file", "model-file", f, NULL);
      g_object_unref (f);
    }
}

/* Why `drawable` cannot be worked on (NULL if it can). */
static GError *
layer_problem (const char *title, GimpDrawable *drawable)
{
  GimpItem *item = GIMP_ITEM (drawable);

  if (!GIMP_IS_LAYER (item))
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s works on layers; \"%s\" is a channel or a mask.",
                        title, gimp_item_get_name (item));
  if (gimp_item_is_group (item))
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "\"%s\" is a layer group; %s works on ordinary "
                        "layers. Select a layer inside the group, or merge the group first.",
                        gimp_item_get_name (item), title);
  if (gimp_drawable_is_indexed (drawable))
    return g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                        "%s cannot work on an indexed layer; "
                        "convert the image to RGB or Grayscale first (Image ▸ Mode).",
                        title);
  return NULL;
}

static void
attach_settings (GimpItem *item, const char *text)
{
  GimpParasite *parasite = gimp_parasite_new (PARASITE_NAME, GIMP_PARASITE_PERSISTENT,
                                              strlen (text) + 1, text);
  gimp_item_attach_parasite (item, parasite);
  gimp_parasite_free (parasite);
}

/* Turns the dialog's settings into the procedure's arguments. */
static gboolean
dialog_settings_to_args (GimpProcedureConfig *config, GError **error)
{
  gboolean estimate;
  double level;

  g_object_get (config, "estimate", &estimate, "noise-level", &level, NULL);
  g_object_set (config, "sigma", estimate ? -1.0 : level, NULL);
  return dialog_model_to_arg (config, "color", "the colour or grey model", error);
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
    arg_model_to_dialog (config, m, builtin);
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
  run_progress rp = { 0.0, 1.0, 0.0 };
  GimpValueArray *ret = NULL;

  (void) run_data;
  gegl_init (NULL, NULL);

  while (drawables && drawables[n])
    n++;

  /* ---- checks that need no work ---- */
  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Denoise cannot work on an indexed image; "
                 "convert it to RGB or Grayscale first (Image ▸ Mode)."));
  if (n == 0)
    return fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Denoise needs a selected layer."));
  for (i = 0; i < n; i++)
    if ((error = layer_problem ("Dream Denoise", drawables[i])))
      return fail (procedure, error);

  /* ---- settings ---- */
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (PLUG_IN_BINARY);
      args_to_dialog_settings (config);
      if (!dream_denoise_dialog_run (procedure, config, drawables[0]))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      if (!dialog_settings_to_args (config, &error))
        return fail (procedure, error);
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
          error = g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                               "The selection does not cover any part of layer \"%s\".",
                               gimp_item_get_name (GIMP_ITEM (job->drawable)));
          goto out;
        }
      job->region = (GeglRectangle) { x, y, w, h };
      gimp_drawable_get_offsets (job->drawable, &ox, &oy);

      args.sigma = sigma;
      args.model = model;
      args.n_threads = gimp_get_num_processors ();
      args.progress = progress_to_gimp;
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
            g_prefix_error (&error, "Layer \"%s\": ",
                            gimp_item_get_name (GIMP_ITEM (job->drawable)));
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

      attach_settings (GIMP_ITEM (layer), text);
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
      ret = fail (procedure, error);
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
  run_progress rp = { 0.0, 1.0, 0.0 };
  dream_pixels_upscale_args args;
  GimpImage *target;
  GimpLayer *layer;
  GimpValueArray *ret;
  int ow, oh, lw, lh;

  (void) run_data;
  gegl_init (NULL, NULL);

  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    return fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Upscale cannot work on an indexed image; "
                 "convert it to RGB or Grayscale first (Image ▸ Mode)."));
  if (!drawables || !drawables[0])
    return fail (procedure, g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "Dream Upscale needs a selected layer."));
  drawable = drawables[0];
  if ((error = layer_problem ("Dream Upscale", drawable)))
    return fail (procedure, error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (PLUG_IN_BINARY);
      g_object_get (config, "model", &model, NULL);
      builtin = upscale_model_builtin (model, &m);
      arg_model_to_dialog (config, m, builtin);
      g_clear_pointer (&model, g_free);
      if (!dream_upscale_dialog_run (procedure, config))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      if (!dialog_model_to_arg (config, "photo", "one of the built-in models", &error))
        return fail (procedure, error);
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
  args.progress = progress_to_gimp;
  args.progress_user = &rp;
  src = gimp_drawable_get_buffer (drawable);
  result = dream_pixels_upscale (src, grey, alpha, &args, &error);
  g_object_unref (src);
  if (!result)
    {
      gimp_progress_end ();
      g_free (model);
      return fail (procedure, error);
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
  attach_settings (GIMP_ITEM (layer), text);

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
