/* common.c — what the GIMP 3 procedures of Dreamlayer share: progress,
 * errors, the model choice of the dialogs, layer checks and the settings
 * parasite. Declared in dream-gimp3.h. */
#include <string.h>

#include "dream-gimp3.h"

gboolean
dream_gimp3_progress (gpointer user, double fraction)
{
  dream_gimp3_progress_state *rp = user;
  double f = rp->base + rp->span * CLAMP (fraction, 0.0, 1.0);

  if (f - rp->shown >= 0.01 || (fraction >= 1.0 && f > rp->shown))
    {
      gimp_progress_update (f);
      rp->shown = f;
    }
  /* GIMP's own Cancel ends the plug-in process; nothing was written yet */
  return TRUE;
}

GimpValueArray *
dream_gimp3_fail (GimpProcedure *procedure, GError *error)
{
  if (g_error_matches (error, DREAM_ERROR, DREAM_ERROR_CANCELLED))
    {
      g_error_free (error);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
}

gboolean
dream_gimp3_model_from_dialog (GimpProcedureConfig *config, const char *fallback,
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

void
dream_gimp3_model_to_dialog (GimpProcedureConfig *config, const char *model, gboolean builtin)
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

GError *
dream_gimp3_layer_problem (const char *title, GimpDrawable *drawable)
{
  GimpItem *item = GIMP_ITEM (drawable);
  char *name = gimp_item_get_name (item);   /* transfer full in GIMP 3 */
  GError *error = NULL;

  if (!GIMP_IS_LAYER (item))
    error = g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                         "%s works on layers; \"%s\" is a channel or a mask.", title, name);
  else if (gimp_item_is_group (item))
    error = g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                         "\"%s\" is a layer group; %s works on ordinary "
                         "layers. Select a layer inside the group, or merge the group first.",
                         name, title);
  else if (gimp_drawable_is_indexed (drawable))
    error = g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                         "%s cannot work on an indexed layer; "
                         "convert the image to RGB or Grayscale first (Image ▸ Mode).",
                         title);
  g_free (name);
  return error;
}

GError *
dream_gimp3_outside_selection (GimpDrawable *drawable)
{
  char *name = gimp_item_get_name (GIMP_ITEM (drawable));
  GError *error = g_error_new (DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                               "The selection does not cover any part of layer \"%s\".", name);
  g_free (name);
  return error;
}

void
dream_gimp3_attach_settings (GimpItem *item, const char *text)
{
  GimpParasite *parasite = gimp_parasite_new (DREAM_GIMP3_PARASITE, GIMP_PARASITE_PERSISTENT,
                                              strlen (text) + 1, text);
  gimp_item_attach_parasite (item, parasite);
  gimp_parasite_free (parasite);
}
