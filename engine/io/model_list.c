/* model_list.c — which model files are installed, and of what kind
 * (dream.h: dream_model_classify, dream_model_list, the default CLIP and SD models).
 *
 * A file is classified from its safetensors header alone (dream_st_open
 * maps the file and parses the JSON header; no weight is read): the
 * "architecture" metadata entry when it names a network libdream knows by
 * that entry, else the tensor names of the layouts the loaders accept.
 */
#include "io/model.h"

#include "dream-config.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#define SHAPES_CLIP "shapes-clip.safetensors"
#define SHAPES_SD   "shapes-sd.safetensors"

/* The folders dream_model_find() searches, in its order (NULL-terminated;
 * an unset $DREAM_MODELS_DIR left out). */
static char **
model_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new ();
  const char *env = g_getenv ("DREAM_MODELS_DIR");
  if (env && *env)
    g_ptr_array_add (dirs, g_strdup (env));
  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "dreamlayer", "models", NULL));
  g_ptr_array_add (dirs, g_strdup (DREAM_MODELS_INSTALLED));
  g_ptr_array_add (dirs, g_strdup (DREAM_MODELS_SOURCE));
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

char *
dream_data_find (const char *file, GError **error)
{
  char **dirs = model_dirs ();
  char *found = NULL;
  for (char **d = dirs; *d && !found; d++)
    {
      char *p = g_build_filename (*d, file, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        found = p;
      else
        g_free (p);
    }
  if (!found)
    {
      char *where = g_strjoinv (", ", dirs);
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s not found (looked in %s)", file, where);
      g_free (where);
    }
  g_strfreev (dirs);
  return found;
}

/* A diffusers folder of a Stable Diffusion 1.x/2.x pipeline. */
static dream_model_kind
classify_folder (const char *path)
{
  char *index = g_build_filename (path, "model_index.json", NULL);
  dream_model_kind kind = DREAM_MODEL_KIND_UNKNOWN;
  JsonParser *parser = json_parser_new ();
  if (g_file_test (index, G_FILE_TEST_IS_REGULAR)
      && json_parser_load_from_file (parser, index, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      const char *cls = json_object_has_member (o, "_class_name")
        ? json_object_get_string_member_with_default (o, "_class_name", "") : "";
      static const char *const sd[] = { "StableDiffusionPipeline",
        "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline" };
      for (size_t i = 0; i < G_N_ELEMENTS (sd); i++)
        if (!g_strcmp0 (cls, sd[i]))
          kind = DREAM_MODEL_KIND_SD;
    }
  g_object_unref (parser);
  g_free (index);
  return kind;
}

dream_model_kind
dream_model_classify (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, DREAM_MODEL_KIND_UNKNOWN);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return classify_folder (path);
  dream_st_file *f = dream_st_open (path, error);
  if (!f)
    return DREAM_MODEL_KIND_UNKNOWN;

  dream_model_kind kind = DREAM_MODEL_KIND_UNKNOWN;
  const char *arch = dream_st_metadata (f, "architecture");
  if (!g_strcmp0 (arch, "ffdnet"))
    kind = DREAM_MODEL_KIND_DENOISE;
  else if (!g_strcmp0 (arch, "srvgg") || !g_strcmp0 (arch, "rdn") || !g_strcmp0 (arch, "rrdb"))
    kind = DREAM_MODEL_KIND_UPSCALE;
  else
    {
      gboolean unet = FALSE, vae = FALSE, cond = FALSE, other_sd = FALSE;
      gboolean vision = FALSE, text = FALSE, text_proj = FALSE;
      for (int i = 0, n = dream_st_count (f); i < n; i++)
        {
          const char *name = dream_st_get (f, i)->name;
          unet |= g_str_has_prefix (name, "model.diffusion_model.");
          vae |= g_str_has_prefix (name, "first_stage_model.");
          cond |= g_str_has_prefix (name, "cond_stage_model.");
          other_sd |= g_str_has_prefix (name, "conditioner.");   /* SDXL */
          vision |= g_str_has_suffix (name, "visual.class_embedding")
            || g_str_has_suffix (name, "vision_model.embeddings.class_embedding");
          text |= g_str_has_suffix (name, "token_embedding.weight");
          text_proj |= g_str_has_suffix (name, "text_projection")
            || g_str_has_suffix (name, "text_projection.weight");
        }
      if (unet && vae && cond && !other_sd)
        kind = DREAM_MODEL_KIND_SD;
      else if (!unet && !other_sd && vision && text && text_proj)
        kind = DREAM_MODEL_KIND_CLIP;
    }
  dream_st_close (f);
  return kind;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char **
dream_model_list (dream_model_kind kind)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  char **dirs = model_dirs ();
  for (char **d = dirs; *d; d++)
    {
      GDir *dir = g_dir_open (*d, 0, NULL);
      if (!dir)
        continue;
      GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      while ((name = g_dir_read_name (dir)))
        g_ptr_array_add (names, g_strdup (name));
      g_dir_close (dir);
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          char *path = g_build_filename (*d, names->pdata[i], NULL);
          gboolean folder = g_file_test (path, G_FILE_TEST_IS_DIR);
          if (!folder && !g_str_has_suffix (names->pdata[i], ".safetensors"))
            {
              g_free (path);
              continue;
            }
          char *real = realpath (path, NULL);
          char *key = g_strdup (real ? real : path);
          free (real);
          if (g_hash_table_contains (seen, key))
            {
              g_free (key);
              g_free (path);
              continue;
            }
          g_hash_table_add (seen, key);
          dream_model_kind k = dream_model_classify (path, NULL);
          if (k != DREAM_MODEL_KIND_UNKNOWN && (kind == DREAM_MODEL_KIND_ANY || k == kind))
            g_ptr_array_add (out, path);
          else
            g_free (path);
        }
      g_ptr_array_free (names, TRUE);
    }
  g_strfreev (dirs);
  g_hash_table_destroy (seen);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

/* The first model of a kind that is not the bundled one (a model the user
 * installed wins), else the bundled one, else NULL + DREAM_ERROR_IO with
 * `missing` (a sentence saying what to install) and where to put it. */
static char *
model_default (dream_model_kind kind, const char *bundled, const char *missing,
               GError **error)
{
  char **found = dream_model_list (kind);
  char *chosen = NULL, *ours = NULL;
  for (char **p = found; *p && !chosen; p++)
    {
      char *base = g_path_get_basename (*p);
      if (strcmp (base, bundled) != 0)
        chosen = g_strdup (*p);
      else if (!ours)
        ours = g_strdup (*p);
      g_free (base);
    }
  g_strfreev (found);
  if (chosen)
    {
      g_free (ours);
      return chosen;
    }
  if (ours)
    return ours;
  char *user = g_build_filename (g_get_user_data_dir (), "dreamlayer", "models", NULL);
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s in %s or in $DREAM_MODELS_DIR",
               missing, user);
  g_free (user);
  return NULL;
}

/* A user's choice: "" = the default, a path (contains '/' or exists) as
 * it is, else an installed name. */
static char *
model_choice (const char *choice, const char *what, char *(*fallback) (GError **),
              GError **error)
{
  if (!choice || !*choice)
    return fallback (error);
  if (strchr (choice, '/') || g_file_test (choice, G_FILE_TEST_EXISTS))
    {
      if (!g_file_test (choice, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s %s: no such file", what, choice);
          return NULL;
        }
      return g_strdup (choice);
    }
  return dream_model_find (choice, error);
}

char *
dream_clip_model_default (GError **error)
{
  return model_default (DREAM_MODEL_KIND_CLIP, SHAPES_CLIP,
                        "No CLIP model installed: put a CLIP .safetensors file "
                        "(e.g. OpenAI ViT-B/32)", error);
}

char *
dream_clip_model_find (const char *choice, GError **error)
{
  return model_choice (choice, "CLIP model", dream_clip_model_default, error);
}

char *
dream_sd_model_default (GError **error)
{
  return model_default (DREAM_MODEL_KIND_SD, SHAPES_SD,
                        "No Stable Diffusion model installed (not even the bundled shapes-sd): "
                        "put a checkpoint (.safetensors, or a diffusers folder)", error);
}

char *
dream_sd_model_find (const char *choice, GError **error)
{
  return model_choice (choice, "Stable Diffusion model", dream_sd_model_default, error);
}
