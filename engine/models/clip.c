/* clip.c — loading a CLIP model: towers, hints, tokenizer (see clip.h). */
#include "models/clip.h"
#include "io/ldm_config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- hints ------------------------------------------------------------- */

static gboolean
parse_act (const char *name, int *act, GError **error)
{
  if (!g_strcmp0 (name, "quick_gelu"))
    *act = DREAM_NN_ACT_QUICK_GELU;
  else if (!g_strcmp0 (name, "gelu"))
    *act = DREAM_NN_ACT_GELU;
  else
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "unsupported CLIP activation \"%s\" (quick_gelu or gelu)", name);
      return FALSE;
    }
  return TRUE;
}

static gint64
get_int (JsonObject *o, const char *key, gint64 fallback)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return fallback;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    return json_node_get_int (n);
  if (t == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (n);
  return fallback;
}

static JsonObject *
get_object (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static const char *
get_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_TYPE (n) == JSON_NODE_VALUE
         && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n) : NULL;
}

/* An HF CLIPTextConfig / CLIPVisionConfig: heads, activation, eps. */
static gboolean
parse_hf_tower (JsonObject *o, int *heads, int *act, float *eps, GError **error)
{
  gint64 h = get_int (o, "num_attention_heads", 0);
  if (h > 0)
    *heads = (int) h;
  const char *a = get_string (o, "hidden_act");
  if (!parse_act (a ? a : "quick_gelu", act, error))   /* HF's default */
    return FALSE;
  JsonNode *e = json_object_get_member (o, "layer_norm_eps");
  if (e && JSON_NODE_TYPE (e) == JSON_NODE_VALUE)
    *eps = (float) json_node_get_double (e);
  return TRUE;
}

static gboolean
parse_config (JsonObject *o, dream_clip_hints *h, GError **error)
{
  JsonObject *inner = get_object (o, "model_cfg");
  if (inner)
    return parse_config (inner, h, error);

  JsonObject *tc = get_object (o, "text_config"), *vc = get_object (o, "vision_config");
  const char *type = get_string (o, "model_type");
  if (tc || vc)                                    /* HF CLIPConfig */
    {
      if (tc && !parse_hf_tower (tc, &h->text_heads, &h->act, &h->ln_eps, error))
        return FALSE;
      if (vc && !parse_hf_tower (vc, &h->vision_heads, &h->vision_act, &h->ln_eps, error))
        return FALSE;
      return TRUE;
    }
  if (!g_strcmp0 (type, "clip_text_model"))
    return parse_hf_tower (o, &h->text_heads, &h->act, &h->ln_eps, error);
  if (!g_strcmp0 (type, "clip_vision_model"))
    return parse_hf_tower (o, &h->vision_heads, &h->vision_act, &h->ln_eps, error);

  JsonObject *otc = get_object (o, "text_cfg"), *ovc = get_object (o, "vision_cfg");
  if (otc || ovc)                                  /* open_clip */
    {
      JsonNode *q = json_object_get_member (o, "quick_gelu");
      h->act = q && JSON_NODE_TYPE (q) == JSON_NODE_VALUE && json_node_get_boolean (q)
               ? DREAM_NN_ACT_QUICK_GELU : DREAM_NN_ACT_GELU;
      if (otc)
        h->text_heads = (int) get_int (otc, "heads", 8);
      if (ovc)
        {
          gint64 w = get_int (ovc, "width", 0), hw = get_int (ovc, "head_width", 64);
          if (w > 0 && hw > 0)
            h->vision_heads = (int) (w / hw);
        }
    }
  if (json_object_has_member (o, "transformer_heads"))   /* OpenAI build_model */
    {
      h->text_heads = (int) get_int (o, "transformer_heads", 0);
      h->act = DREAM_NN_ACT_QUICK_GELU;
      JsonNode *vl = json_object_get_member (o, "vision_layers");
      if (vl && JSON_NODE_TYPE (vl) == JSON_NODE_VALUE)
        h->vision_heads = (int) (get_int (o, "vision_width", 0) / 64);
    }
  /* the project's own keys */
  if (json_object_has_member (o, "text_heads"))
    h->text_heads = (int) get_int (o, "text_heads", 0);
  if (json_object_has_member (o, "vision_heads"))
    h->vision_heads = (int) get_int (o, "vision_heads", 0);
  const char *a = get_string (o, "activation");
  if (a && !parse_act (a, &h->act, error))
    return FALSE;
  return TRUE;
}

static gboolean
parse_json_text (const char *text, gssize len, const char *what,
                 dream_clip_hints *h, GError **error)
{
  JsonParser *parser = json_parser_new ();
  GError *local = NULL;
  gboolean ok = json_parser_load_from_data (parser, text, len, &local);
  JsonNode *root = ok ? json_parser_get_root (parser) : NULL;
  if (!ok || !root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: not a JSON object%s%s",
                   what, local ? ": " : "", local ? local->message : "");
      g_clear_error (&local);
      g_object_unref (parser);
      return FALSE;
    }
  ok = parse_config (json_node_get_object (root), h, error);
  if (!ok)
    g_prefix_error (error, "%s: ", what);
  g_object_unref (parser);
  return ok;
}

static gboolean
parse_json_file (const char *path, dream_clip_hints *h, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s", local->message);
      g_error_free (local);
      return FALSE;
    }
  char *base = g_path_get_basename (path);
  gboolean ok = parse_json_text (text, (gssize) len, base, h, error);
  g_free (base);
  g_free (text);
  return ok;
}

static gboolean
parse_yaml (const char *path, dream_clip_hints *h, GError **error)
{
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  gboolean ok = dream_ldm_config_load_yaml (&cfg, path, error);
  if (ok && cfg.cond_target)
    h->act = strstr (cfg.cond_target, "OpenCLIP") ? DREAM_NN_ACT_GELU
                                                   : DREAM_NN_ACT_QUICK_GELU;
  dream_ldm_config_clear (&cfg);
  return ok;
}

/* A config next to the model that turns out not to be a usable JSON
 * object is skipped: it may belong to something else. */
static void
try_sidecar (const char *path, dream_clip_hints *h)
{
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return;
  dream_clip_hints copy = *h;
  GError *local = NULL;
  if (!parse_json_file (path, &copy, &local))
    {
      g_debug ("ignoring %s: %s", path, local->message);
      g_error_free (local);
      return;
    }
  *h = copy;
}

gboolean
dream_clip_hints_read (const dream_st_file *file, const char *model_path,
                       const char *config_path, dream_clip_hints *h,
                       GError **error)
{
  *h = (dream_clip_hints) { .act = -1, .vision_act = -1 };
  const char *cfg = dream_st_metadata (file, "config");
  if (cfg)
    {
      /* not ours if it is not a JSON object (other tools use the key) */
      JsonParser *parser = json_parser_new ();
      JsonNode *root = json_parser_load_from_data (parser, cfg, -1, NULL)
                       ? json_parser_get_root (parser) : NULL;
      gboolean ok = !root || !JSON_NODE_HOLDS_OBJECT (root)
                    || parse_config (json_node_get_object (root), h, error);
      g_object_unref (parser);
      if (!ok)
        {
          g_prefix_error (error, "metadata \"config\": ");
          return FALSE;
        }
    }
  const char *k;
  if ((k = dream_st_metadata (file, "text_heads")))
    h->text_heads = atoi (k);
  if ((k = dream_st_metadata (file, "vision_heads")))
    h->vision_heads = atoi (k);
  if ((k = dream_st_metadata (file, "activation")) && !parse_act (k, &h->act, error))
    return FALSE;

  if (model_path)
    {
      /* NAME.json next to NAME.safetensors; config.json and
       * open_clip_config.json only beside the names Hugging Face
       * repositories and diffusers folders give their weights, so that a
       * config.json in a shared models folder is not applied to all. */
      char *dir = g_path_get_dirname (model_path);
      char *base = g_path_get_basename (model_path);
      char *dot = strrchr (base, '.');
      char *stem = dot ? g_strndup (base, dot - base) : g_strdup (base);
      char *own = g_strconcat (stem, ".json", NULL);
      char *p = g_build_filename (dir, own, NULL);
      try_sidecar (p, h);
      g_free (p);
      if (!strcmp (stem, "model") || !strcmp (stem, "open_clip_model")
          || !strcmp (stem, "open_clip_pytorch_model") || !strcmp (stem, "diffusion_pytorch_model"))
        {
          const char *names[] = { "config.json", "open_clip_config.json" };
          for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
            {
              p = g_build_filename (dir, names[i], NULL);
              try_sidecar (p, h);
              g_free (p);
            }
        }
      g_free (own); g_free (stem); g_free (base); g_free (dir);
      char *yaml = config_path ? NULL : dream_ldm_config_find_yaml (model_path);
      if (yaml)
        {
          dream_clip_hints copy = *h;
          GError *local = NULL;
          if (parse_yaml (yaml, &copy, &local))
            *h = copy;
          else
            {
              g_debug ("ignoring %s: %s", yaml, local->message);
              g_error_free (local);
            }
          g_free (yaml);
        }
    }
  if (config_path)
    {
      if (g_str_has_suffix (config_path, ".yaml") || g_str_has_suffix (config_path, ".yml"))
        return parse_yaml (config_path, h, error);
      return parse_json_file (config_path, h, error);
    }
  return TRUE;
}

/* ---- the model --------------------------------------------------------- */

void
dream_clip_net_free (void *data)
{
  dream_clip *clip = data;
  if (!clip)
    return;
  dream_clip_text_free (clip->text);
  dream_clip_vision_free (clip->vision);
  dream_tokenizer_free (clip->tokenizer);
  g_free (clip);
}

dream_clip *
dream_clip_net_load (const dream_st_file *file, const char *model_path,
                     const char *config_path, GError **error)
{
  dream_clip_hints hints;
  if (!dream_clip_hints_read (file, model_path, config_path, &hints, error))
    return NULL;
  dream_clip *clip = g_new0 (dream_clip, 1);
  GError *text_error = NULL, *vision_error = NULL;
  clip->text = dream_clip_text_load (file, NULL, &hints, &text_error);
  clip->vision = dream_clip_vision_load (file, NULL, &hints, &vision_error);
  /* A tower that is there but broken is an error; an absent one is not. */
  if (!clip->text && !clip->vision)
    {
      g_propagate_error (error, text_error);
      g_prefix_error (error, "not a CLIP model: ");
      g_clear_error (&vision_error);
      goto fail;
    }
  GError **broken = NULL;
  if (!clip->text && !g_str_has_prefix (text_error->message, "no CLIP"))
    broken = &text_error;
  else if (!clip->vision && !g_str_has_prefix (vision_error->message, "no CLIP"))
    broken = &vision_error;
  if (broken)
    {
      g_propagate_error (error, *broken);
      *broken = NULL;
      g_clear_error (&text_error);
      g_clear_error (&vision_error);
      goto fail;
    }
  g_clear_error (&text_error);
  g_clear_error (&vision_error);

  int et = clip->text ? clip->text->embed_dim : 0, ev = clip->vision ? clip->vision->embed_dim : 0;
  if (et && ev && et != ev)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "CLIP text and image projections disagree (%d and %d)", et, ev);
      goto fail;
    }
  clip->embed_dim = MAX (et, ev);

  clip->logit_scale = 100.0f;
  const char *ls_name = "logit_scale";
  const dream_st_tensor *ls = NULL;
  if (clip->text)
    {
      const char *pre = clip->text->prefix;
      char *outer = g_str_has_suffix (pre, "text_model.")
        ? g_strndup (pre, strlen (pre) - strlen ("text_model.")) : g_strdup (pre);
      ls = dream_clip_find (file, outer, ls_name);
      g_free (outer);
    }
  if (!ls)
    ls = dream_st_find (file, ls_name);
  if (ls && ls->n_elements == 1)
    {
      float v;
      if (!dream_st_to_f32 (ls, &v, 1, error))
        goto fail;
      clip->logit_scale = expf (v);
    }
  if (clip->text && !(clip->tokenizer = dream_tokenizer_load (NULL, error)))
    goto fail;
  return clip;

fail:
  dream_clip_net_free (clip);
  return NULL;
}

gboolean
dream_clip_model_init (dream_model *model, GError **error)
{
  dream_clip *clip = dream_clip_net_load (model->file, model->path, NULL, error);
  if (!clip)
    return FALSE;
  model->net = clip;
  model->net_free = dream_clip_net_free;
  model->channels = 3;
  return TRUE;
}
