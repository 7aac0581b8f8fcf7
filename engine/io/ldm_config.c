/* ldm_config.c — LDM .yaml (libyaml) and metadata JSON (json-glib) settings.
 *
 * Both documents are flattened into one table of dotted keys → scalar
 * text, then the few settings the engine needs are looked up under the
 * prefixes where the original configs keep them (see ldm_config.h).
 */
#include "io/ldm_config.h"

#include "dream.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <yaml.h>

/* Real configs nest 6 deep; anchors and aliases could make a document
 * refer to itself, so the walk stops here. */
#define MAX_DEPTH 32
/* Configs are a few kB; a bigger "config" is not one. */
#define MAX_TEXT ((gsize) 4 * 1024 * 1024)

void
dream_ldm_config_init (dream_ldm_config *c)
{
  *c = (dream_ldm_config) {
    .num_heads = 0,
    .num_head_channels = 0,
    .context_dim = 0,
    .use_linear = -1,
    .prediction = DREAM_PREDICTION_EPS,
    .timesteps = 1000,
    .linear_start = 0.00085,
    .linear_end = 0.0120,
    .scale_factor = 0.18215,
    .beta_schedule = g_strdup ("linear"),
  };
}

void
dream_ldm_config_clear (dream_ldm_config *c)
{
  g_clear_pointer (&c->beta_schedule, g_free);
  g_clear_pointer (&c->cond_target, g_free);
  g_clear_pointer (&c->cond_layer, g_free);
  g_clear_pointer (&c->source, g_free);
}

/* ---- flattening ---------------------------------------------------------- */

static gboolean
flatten_yaml (yaml_document_t *doc, yaml_node_t *node, const char *key,
              GHashTable *out, int depth)
{
  if (!node || depth > MAX_DEPTH)
    return FALSE;
  switch (node->type)
    {
    case YAML_SCALAR_NODE:
      if (key)
        g_hash_table_replace (out, g_strdup (key),
                              g_strndup ((const char *) node->data.scalar.value,
                                         node->data.scalar.length));
      return TRUE;
    case YAML_SEQUENCE_NODE:
      {
        int i = 0;
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++, i++)
          {
            char *k = key ? g_strdup_printf ("%s.%d", key, i) : g_strdup_printf ("%d", i);
            gboolean ok = flatten_yaml (doc, yaml_document_get_node (doc, *it), k, out, depth + 1);
            g_free (k);
            if (!ok)
              return FALSE;
          }
        return TRUE;
      }
    case YAML_MAPPING_NODE:
      for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
           p < node->data.mapping.pairs.top; p++)
        {
          yaml_node_t *kn = yaml_document_get_node (doc, p->key);
          if (!kn || kn->type != YAML_SCALAR_NODE)
            continue;  /* complex keys: nothing the engine reads */
          char *name = g_strndup ((const char *) kn->data.scalar.value, kn->data.scalar.length);
          char *k = key ? g_strconcat (key, ".", name, NULL) : g_strdup (name);
          gboolean ok = flatten_yaml (doc, yaml_document_get_node (doc, p->value), k, out, depth + 1);
          g_free (k);
          g_free (name);
          if (!ok)
            return FALSE;
        }
      return TRUE;
    default:
      return TRUE;
    }
}

static void
flatten_json (JsonNode *node, const char *key, GHashTable *out, int depth)
{
  if (!node || depth > MAX_DEPTH)
    return;
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *o = json_node_get_object (node);
        GList *members = json_object_get_members (o);
        for (GList *l = members; l; l = l->next)
          {
            char *k = key ? g_strconcat (key, ".", l->data, NULL) : g_strdup (l->data);
            flatten_json (json_object_get_member (o, l->data), k, out, depth + 1);
            g_free (k);
          }
        g_list_free (members);
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);
        for (guint i = 0; i < json_array_get_length (a); i++)
          {
            char *k = key ? g_strdup_printf ("%s.%u", key, i) : g_strdup_printf ("%u", i);
            flatten_json (json_array_get_element (a, i), k, out, depth + 1);
            g_free (k);
          }
        break;
      }
    case JSON_NODE_VALUE:
      if (key)
        {
          char *text;
          GType t = json_node_get_value_type (node);
          if (t == G_TYPE_STRING)
            text = g_strdup (json_node_get_string (node));
          else if (t == G_TYPE_BOOLEAN)
            text = g_strdup (json_node_get_boolean (node) ? "true" : "false");
          else if (t == G_TYPE_INT64)
            text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
          else
            {
              char buf[G_ASCII_DTOSTR_BUF_SIZE];
              text = g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
            }
          g_hash_table_replace (out, g_strdup (key), text);
        }
      break;
    default:
      break;
    }
}

/* ---- applying ------------------------------------------------------------ */

static const char *const unet_prefixes[] = {
  "model.params.unet_config.params.", "params.unet_config.params.",
  "unet_config.params.", "",
};
static const char *const diffusion_prefixes[] = { "model.params.", "params.", "" };
/* only the LatentDiffusion one: UNetModel has an unrelated image_size */
static const char *const image_size_prefix[] = { "model.params." };

static const char *
lookup (GHashTable *t, const char *const *prefixes, int n_prefixes, const char *key)
{
  for (int i = 0; i < n_prefixes; i++)
    {
      char *k = g_strconcat (prefixes[i], key, NULL);
      const char *v = g_hash_table_lookup (t, k);
      g_free (k);
      if (v)
        return v;
    }
  return NULL;
}

static gboolean
bad_value (const char *source, const char *key, const char *value, const char *want,
           GError **error)
{
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
               "%s: %s = \"%s\" is not %s", source, key, value, want);
  return FALSE;
}

static gboolean
get_int (GHashTable *t, const char *const *pre, int n_pre, const char *key,
         gint64 min, gint64 max, int *dst, const char *source, GError **error)
{
  const char *v = lookup (t, pre, n_pre, key);
  if (!v)
    return TRUE;
  gint64 x;
  if (!g_ascii_string_to_signed (v, 10, min, max, &x, NULL))
    {
      char *want = g_strdup_printf ("an integer in %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, min, max);
      gboolean r = bad_value (source, key, v, want, error);
      g_free (want);
      return r;
    }
  *dst = (int) x;
  return TRUE;
}

static gboolean
get_double (GHashTable *t, const char *const *pre, int n_pre, const char *key,
            double min, double max, double *dst, const char *source, GError **error)
{
  const char *v = lookup (t, pre, n_pre, key);
  if (!v)
    return TRUE;
  char *end = NULL;
  double x = g_ascii_strtod (v, &end);
  if (end == v || *end != '\0' || !(x >= min && x <= max))
    return bad_value (source, key, v, "a number in range", error);
  *dst = x;
  return TRUE;
}

static gboolean
get_bool (GHashTable *t, const char *const *pre, int n_pre, const char *key,
          int *dst, const char *source, GError **error)
{
  const char *v = lookup (t, pre, n_pre, key);
  if (!v)
    return TRUE;
  static const char *const yes[] = { "true", "True", "TRUE", "yes", "1" };
  static const char *const no[] = { "false", "False", "FALSE", "no", "0" };
  for (size_t i = 0; i < G_N_ELEMENTS (yes); i++)
    if (!strcmp (v, yes[i]))
      return (*dst = 1), TRUE;
  for (size_t i = 0; i < G_N_ELEMENTS (no); i++)
    if (!strcmp (v, no[i]))
      return (*dst = 0), TRUE;
  return bad_value (source, key, v, "true or false", error);
}

static gboolean
apply (dream_ldm_config *c, GHashTable *t, const char *source, GError **error)
{
  const int nu = G_N_ELEMENTS (unet_prefixes), nd = G_N_ELEMENTS (diffusion_prefixes);
  int heads = -1, head_ch = -1;
  if (!get_int (t, unet_prefixes, nu, "num_heads", -1, 4096, &heads, source, error)
      || !get_int (t, unet_prefixes, nu, "num_head_channels", -1, 65536, &head_ch, source, error)
      || !get_int (t, unet_prefixes, nu, "context_dim", 0, 65536, &c->context_dim, source, error)
      || !get_bool (t, unet_prefixes, nu, "use_linear_in_transformer", &c->use_linear, source, error)
      || !get_int (t, diffusion_prefixes, nd, "timesteps", 2, 100000, &c->timesteps, source, error)
      || !get_double (t, diffusion_prefixes, nd, "linear_start", 1e-8, 0.5, &c->linear_start, source, error)
      || !get_double (t, diffusion_prefixes, nd, "linear_end", 1e-8, 0.99, &c->linear_end, source, error)
      || !get_double (t, diffusion_prefixes, nd, "scale_factor", 1e-6, 1e6, &c->scale_factor, source, error)
      || !get_int (t, image_size_prefix, 1, "image_size", 1, 4096, &c->image_size, source, error))
    return FALSE;
  /* UNetModel: num_head_channels = -1 means "use num_heads" */
  if (head_ch > 0)
    {
      c->num_head_channels = head_ch;
      c->num_heads = 0;
    }
  else if (heads > 0)
    {
      c->num_heads = heads;
      c->num_head_channels = 0;
    }

  const char *v = lookup (t, diffusion_prefixes, nd, "parameterization");
  if (v)
    {
      if (!strcmp (v, "eps"))
        c->prediction = DREAM_PREDICTION_EPS;
      else if (!strcmp (v, "v"))
        c->prediction = DREAM_PREDICTION_V;
      else
        return bad_value (source, "parameterization", v, "\"eps\" or \"v\"", error);
    }
  v = lookup (t, diffusion_prefixes, nd, "beta_schedule");
  if (v)
    {
      if (strcmp (v, "linear") != 0)
        return bad_value (source, "beta_schedule", v, "\"linear\" (the schedule SD uses)", error);
      g_free (c->beta_schedule);
      c->beta_schedule = g_strdup (v);
    }
  if (c->linear_end <= c->linear_start)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: linear_end (%g) must be above linear_start (%g)", source,
                   c->linear_end, c->linear_start);
      return FALSE;
    }
  v = g_hash_table_lookup (t, "model.params.cond_stage_config.target");
  if (v)
    {
      g_free (c->cond_target);
      c->cond_target = g_strdup (v);
    }
  v = g_hash_table_lookup (t, "model.params.cond_stage_config.params.layer");
  if (v)
    {
      g_free (c->cond_layer);
      c->cond_layer = g_strdup (v);
    }
  g_free (c->source);
  c->source = g_strdup (source);
  return TRUE;
}

/* ---- entry points -------------------------------------------------------- */

gboolean
dream_ldm_config_parse_yaml (dream_ldm_config *c, const char *text, gssize length,
                             const char *name, GError **error)
{
  if (length < 0)
    length = (gssize) strlen (text);
  if ((gsize) length > MAX_TEXT)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: too large for a config", name);
      return FALSE;
    }
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize (&parser))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "%s: cannot start the YAML parser", name);
      return FALSE;
    }
  yaml_parser_set_input_string (&parser, (const unsigned char *) text, (size_t) length);
  if (!yaml_parser_load (&parser, &doc))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: not valid YAML: %s (line %zu)",
                   name, parser.problem ? parser.problem : "parse error",
                   parser.problem_mark.line + 1);
      yaml_parser_delete (&parser);
      return FALSE;
    }
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  yaml_node_t *root = yaml_document_get_root_node (&doc);
  gboolean ok;
  if (!root || root->type != YAML_MAPPING_NODE)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: not an LDM config (no top-level mapping)", name);
      ok = FALSE;
    }
  else if (!flatten_yaml (&doc, root, NULL, t, 0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: nested too deeply", name);
      ok = FALSE;
    }
  else
    ok = apply (c, t, name, error);
  g_hash_table_unref (t);
  yaml_document_delete (&doc);
  yaml_parser_delete (&parser);
  return ok;
}

gboolean
dream_ldm_config_load_yaml (dream_ldm_config *c, const char *path, GError **error)
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
  gboolean ok = dream_ldm_config_parse_yaml (c, text, (gssize) len, base, error);
  g_free (base);
  g_free (text);
  return ok;
}

gboolean
dream_ldm_config_load_metadata (dream_ldm_config *c, const dream_st_file *file,
                                GError **error)
{
  const char *text = dream_st_metadata (file, "config");
  if (!text)
    return TRUE;
  JsonParser *parser = json_parser_new ();
  GError *local = NULL;
  gboolean ok = strlen (text) <= MAX_TEXT
    && json_parser_load_from_data (parser, text, -1, &local)
    && json_node_get_node_type (json_parser_get_root (parser)) == JSON_NODE_OBJECT;
  if (!ok)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "metadata \"config\" is not a JSON object%s%s",
                   local ? ": " : "", local ? local->message : "");
      g_clear_error (&local);
      g_object_unref (parser);
      return FALSE;
    }
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  flatten_json (json_parser_get_root (parser), NULL, t, 0);
  ok = apply (c, t, "metadata \"config\"", error);
  g_hash_table_unref (t);
  g_object_unref (parser);
  return ok;
}

char *
dream_ldm_config_find_yaml (const char *model_path)
{
  if (!model_path)
    return NULL;
  const char *dot = strrchr (model_path, '.');
  const char *slash = strrchr (model_path, '/');
  gsize stem = dot && (!slash || dot > slash) ? (gsize) (dot - model_path) : strlen (model_path);
  static const char *const ext[] = { ".yaml", ".yml" };
  for (size_t i = 0; i < G_N_ELEMENTS (ext); i++)
    {
      char *p = g_strdup_printf ("%.*s%s", (int) stem, model_path, ext[i]);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return p;
      g_free (p);
    }
  return NULL;
}

gboolean
dream_ldm_config_for_model (dream_ldm_config *c, const dream_st_file *file,
                            const char *model_path, const char *config_path,
                            GError **error)
{
  if (file && !dream_ldm_config_load_metadata (c, file, error))
    return FALSE;
  char *found = config_path ? NULL : dream_ldm_config_find_yaml (model_path);
  const char *yaml = config_path ? config_path : found;
  gboolean ok = !yaml || dream_ldm_config_load_yaml (c, yaml, error);
  g_free (found);
  return ok;
}
