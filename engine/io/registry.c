/* registry.c — loading models by architecture, and finding model files.
 *
 * dream_model_load() opens and validates the safetensors file, reads the
 * "architecture" entry of its metadata and hands the file to that
 * architecture's loader. Unknown or missing architectures are errors that
 * name what was found.
 */
#include "io/model.h"
#include "models/ffdnet.h"
#include "models/clip.h"
#include "models/sr.h"

#include "dream-config.h"

#include <string.h>

typedef struct {
  const char *arch;
  gboolean (*load) (dream_model *model, GError **error);
} arch_entry;

static gboolean
load_ffdnet (dream_model *model, GError **error)
{
  dream_ffdnet *net = dream_ffdnet_load (model->file, error);
  if (!net)
    return FALSE;
  model->net = net;
  model->net_free = dream_ffdnet_free;
  model->channels = net->channels;
  return TRUE;
}

/* Super-resolution networks (models/sr.h): srvgg, rdn, rrdb. */
static gboolean
load_sr (dream_model *model, GError **error)
{
  const dream_sr_class *cls = dream_sr_class_find (model->arch);
  void *net = cls ? cls->load (model->file, error) : NULL;
  if (!net)
    return FALSE;
  model->net = net;
  model->net_free = cls->free;
  model->channels = 3;
  return TRUE;
}

static const arch_entry architectures[] = {
  { "ffdnet", load_ffdnet },
  { "clip", dream_clip_model_init },
  { "srvgg", load_sr },
  { "rdn", load_sr },
  { "rrdb", load_sr },
};

dream_model *
dream_model_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GError *local = NULL;
  dream_st_file *file = dream_st_open (path, error);
  if (!file)
    return NULL;

  char *base = g_path_get_basename (path);
  const char *arch = dream_st_metadata (file, "architecture");
  if (!arch)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: not a Dreamlayer model (no \"architecture\" in its metadata)", base);
      goto fail;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (architectures); i++)
    if (g_strcmp0 (architectures[i].arch, arch) == 0)
      {
        dream_model *model = g_new0 (dream_model, 1);
        model->path = g_strdup (path);
        model->arch = g_strdup (arch);
        model->file = file;
        if (!architectures[i].load (model, &local))
          {
            if (strstr (local->message, base))
              g_propagate_error (error, local);
            else
              {
                g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: %s",
                             base, local->message);
                g_clear_error (&local);
              }
            model->file = NULL;
            dream_model_free (model);
            goto fail;
          }
        g_free (base);
        return model;
      }
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
               "%s: unsupported architecture \"%s\"", base, arch);
fail:
  g_free (base);
  dream_st_close (file);
  return NULL;
}

void
dream_model_free (dream_model *model)
{
  if (!model)
    return;
  if (model->net_free)
    model->net_free (model->net);
  dream_st_close (model->file);
  g_free (model->path);
  g_free (model->arch);
  g_free (model);
}

const char *
dream_model_get_arch (const dream_model *model)
{
  return model->arch;
}

int
dream_model_get_channels (const dream_model *model)
{
  return model->channels;
}

char *
dream_model_find (const char *name, GError **error)
{
  g_return_val_if_fail (name != NULL, NULL);
  char *file = g_strconcat (name, ".safetensors", NULL);
  char *dirs[4] = {
    g_strdup (g_getenv ("DREAM_MODELS_DIR")),
    g_build_filename (g_get_user_data_dir (), "dreamlayer", "models", NULL),
    g_strdup (DREAM_MODELS_INSTALLED),
    g_strdup (DREAM_MODELS_SOURCE),
  };
  char *found = NULL;
  for (int i = 0; i < 4 && !found; i++)
    {
      if (!dirs[i] || !*dirs[i])
        continue;
      char *p = g_build_filename (dirs[i], file, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        found = p;
      else
        g_free (p);
    }
  if (!found)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO,
                 "Model \"%s\" not found (looked in $DREAM_MODELS_DIR, %s, %s)",
                 name, dirs[1], dirs[2]);
  for (int i = 0; i < 4; i++)
    g_free (dirs[i]);
  g_free (file);
  return found;
}
