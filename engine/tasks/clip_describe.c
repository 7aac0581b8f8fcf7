/* clip_describe.c — a caption for an image from a vocabulary ranked by CLIP
 * (dream.h: dream_clip_describe).
 *
 * The vocabulary (JSON, json-glib) lists categories of entries. Every
 * entry's prompt is encoded in one batched dream_clip_encode_text() call,
 * the image once; each category is ranked by cosine, its softmax taken at
 * CLIP's logit scale, and its best entry kept when that probability is at
 * least KEEP_FACTOR / n (or the category is "always"). The kept entries,
 * each in its category's "format", make the caption.
 */
#include "io/model.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define KEEP_FACTOR 3.0
#define VOCABULARY "describe-vocabulary.json"

typedef struct {
  char *name, *format, *prompt;
  gboolean always;
  GPtrArray *entries;          /* char * */
} category;

static void
category_clear (category *c)
{
  g_free (c->name);
  g_free (c->format);
  g_free (c->prompt);
  if (c->entries)
    g_ptr_array_free (c->entries, TRUE);
}

static gboolean
bad (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
bad (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  char *base = g_path_get_basename (path);
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "vocabulary %s: %s", base, msg);
  g_free (base);
  g_free (msg);
  return FALSE;
}

/* A string member, or `fallback` if absent; FALSE if present but not a
 * string holding one "{}". */
static gboolean
template_member (JsonObject *o, const char *key, const char *fallback, char **out)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n)
    {
      *out = g_strdup (fallback);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return FALSE;
  const char *s = json_node_get_string (n);
  const char *at = strstr (s, "{}");
  if (!at || strstr (at + 2, "{}"))
    return FALSE;
  *out = g_strdup (s);
  return TRUE;
}

static GArray *
vocabulary_read (const char *path, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "vocabulary: %s", local->message);
      g_error_free (local);
      return NULL;
    }
  GArray *cats = g_array_new (FALSE, TRUE, sizeof (category));
  g_array_set_clear_func (cats, (GDestroyNotify) category_clear);
  JsonParser *parser = json_parser_new ();
  gboolean ok = FALSE;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local))
    {
      bad (error, path, "not valid JSON: %s", local->message);
      g_error_free (local);
      goto done;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *list = root && JSON_NODE_HOLDS_OBJECT (root)
    ? json_object_get_member (json_node_get_object (root), "categories") : NULL;
  if (!list || !JSON_NODE_HOLDS_ARRAY (list))
    {
      bad (error, path, "no \"categories\" list");
      goto done;
    }
  JsonArray *arr = json_node_get_array (list);
  guint n = json_array_get_length (arr);
  if (n == 0)
    {
      bad (error, path, "no categories");
      goto done;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *cn = json_array_get_element (arr, i);
      if (!JSON_NODE_HOLDS_OBJECT (cn))
        {
          bad (error, path, "category %u is not an object", i + 1);
          goto done;
        }
      JsonObject *co = json_node_get_object (cn);
      category c = { 0 };
      g_array_append_val (cats, c);
      category *cp = &g_array_index (cats, category, cats->len - 1);
      JsonNode *name = json_object_get_member (co, "name");
      if (!name || !JSON_NODE_HOLDS_VALUE (name) || json_node_get_value_type (name) != G_TYPE_STRING)
        {
          bad (error, path, "category %u has no \"name\"", i + 1);
          goto done;
        }
      cp->name = g_strdup (json_node_get_string (name));
      if (!template_member (co, "format", "{}", &cp->format)
          || !template_member (co, "prompt", "{}", &cp->prompt))
        {
          bad (error, path, "category \"%s\": \"format\" and \"prompt\" must be strings with one {}",
               cp->name);
          goto done;
        }
      JsonNode *always = json_object_get_member (co, "always");
      cp->always = always && JSON_NODE_HOLDS_VALUE (always)
        && json_node_get_value_type (always) == G_TYPE_BOOLEAN && json_node_get_boolean (always);
      JsonNode *en = json_object_get_member (co, "entries");
      if (!en || !JSON_NODE_HOLDS_ARRAY (en) || json_array_get_length (json_node_get_array (en)) == 0)
        {
          bad (error, path, "category \"%s\" has no entries", cp->name);
          goto done;
        }
      JsonArray *ea = json_node_get_array (en);
      cp->entries = g_ptr_array_new_with_free_func (g_free);
      for (guint k = 0; k < json_array_get_length (ea); k++)
        {
          JsonNode *e = json_array_get_element (ea, k);
          const char *s = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
            ? json_node_get_string (e) : NULL;
          gboolean blank = TRUE;
          for (const char *q = s; q && *q && blank; q++)
            blank = g_ascii_isspace (*q);
          if (blank)
            {
              bad (error, path, "category \"%s\": entry %u is not a non-empty string",
                   cp->name, k + 1);
              goto done;
            }
          g_ptr_array_add (cp->entries, g_strdup (s));
        }
    }
  ok = TRUE;
done:
  g_object_unref (parser);
  g_free (text);
  if (!ok)
    {
      g_array_free (cats, TRUE);
      return NULL;
    }
  return cats;
}

static char *
fill (const char *tmpl, const char *entry)
{
  const char *at = strstr (tmpl, "{}");
  return g_strdup_printf ("%.*s%s%s", (int) (at - tmpl), tmpl, entry, at + 2);
}

/* Progress of the whole call: the image is the first 1/(n+1) share. */
typedef struct {
  dream_progress_func func;
  gpointer user;
  double p0, p1;
} span;

static gboolean
span_progress (gpointer user, double f)
{
  span *s = user;
  return s->func (s->user, s->p0 + (s->p1 - s->p0) * f);
}

typedef struct {
  float cosine;
  int index;
} scored;

static int
by_cosine (gconstpointer a, gconstpointer b)
{
  const scored *x = a, *y = b;
  if (x->cosine != y->cosine)
    return x->cosine < y->cosine ? 1 : -1;
  return x->index - y->index;
}

void
dream_clip_description_free (dream_clip_description *d)
{
  if (!d)
    return;
  for (int i = 0; i < d->n_categories; i++)
    {
      dream_clip_category *c = &d->categories[i];
      g_free (c->name);
      g_strfreev (c->entries);
      g_free (c->cosines);
      g_free (c->probabilities);
    }
  g_free (d->categories);
  g_free (d->caption);
  g_free (d);
}

dream_clip_description *
dream_clip_describe (const dream_model *clip, const dream_image *image,
                     const char *vocabulary_path, const dream_clip_params *params,
                     GError **error)
{
  g_return_val_if_fail (params != NULL, NULL);
  if (!dream_clip_has_text (clip) || !dream_clip_has_vision (clip))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Describe needs a CLIP model with both a text and a vision tower%s",
                   clip && dream_clip_get_embed_dim (clip) ? " (this one has only one)" : "");
      return NULL;
    }
  char *path = vocabulary_path ? g_strdup (vocabulary_path) : dream_data_find (VOCABULARY, error);
  if (!path)
    return NULL;
  GArray *cats = vocabulary_read (path, error);
  g_free (path);
  if (!cats)
    return NULL;

  dream_clip_description *d = NULL;
  const int e = dream_clip_get_embed_dim (clip);
  GPtrArray *prompts = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < cats->len; i++)
    {
      category *c = &g_array_index (cats, category, i);
      for (guint k = 0; k < c->entries->len; k++)
        g_ptr_array_add (prompts, fill (c->prompt, c->entries->pdata[k]));
    }
  const int n = (int) prompts->len;
  float *img = g_try_new (float, e), *txt = g_try_new (float, (gsize) n * e);
  if (!img || !txt)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "Describe: out of memory");
      goto done;
    }
  dream_clip_params p = *params;
  span s = { params->progress, params->progress_user, 0.0, 1.0 / (n + 1) };
  if (params->progress)
    {
      p.progress = span_progress;
      p.progress_user = &s;
    }
  if (!dream_clip_encode_image (clip, image, &p, img, error))
    goto done;
  s.p0 = s.p1;
  s.p1 = 1.0;
  if (!dream_clip_encode_text (clip, (const char *const *) prompts->pdata, n, &p, txt, NULL, error))
    goto done;

  const double scale = dream_clip_get_logit_scale (clip);
  d = g_new0 (dream_clip_description, 1);
  d->n_categories = (int) cats->len;
  d->categories = g_new0 (dream_clip_category, cats->len);
  GString *caption = g_string_new (NULL);
  int base = 0;
  for (guint i = 0; i < cats->len; i++)
    {
      category *c = &g_array_index (cats, category, i);
      dream_clip_category *out = &d->categories[i];
      const int m = (int) c->entries->len;
      scored *sc = g_new (scored, m);
      for (int k = 0; k < m; k++)
        {
          const float *t = txt + (size_t) (base + k) * e;
          double dot = 0.0;
          for (int j = 0; j < e; j++)
            dot += (double) t[j] * img[j];
          sc[k] = (scored) { (float) dot, k };
        }
      qsort (sc, m, sizeof (scored), by_cosine);
      out->name = g_strdup (c->name);
      out->n = m;
      out->entries = g_new0 (char *, m + 1);
      out->cosines = g_new (float, m);
      out->probabilities = g_new (float, m);
      double sum = 0.0;
      for (int k = 0; k < m; k++)   /* sc[0] is the largest logit */
        sum += exp (scale * ((double) sc[k].cosine - sc[0].cosine));
      for (int k = 0; k < m; k++)
        {
          out->entries[k] = g_strdup (c->entries->pdata[sc[k].index]);
          out->cosines[k] = sc[k].cosine;
          out->probabilities[k] = (float) (exp (scale * ((double) sc[k].cosine - sc[0].cosine)) / sum);
        }
      out->kept = c->always || (m > 1 && out->probabilities[0] * m >= KEEP_FACTOR);
      if (out->kept)
        {
          char *piece = fill (c->format, out->entries[0]);
          g_string_append (caption, piece);
          g_free (piece);
        }
      g_free (sc);
      base += m;
    }
  /* A caption starts and ends with words, whatever was left out. */
  char *cap = g_string_free (caption, FALSE), *start = cap;
  while (*start == ',' || g_ascii_isspace (*start))
    start++;
  d->caption = g_strchomp (g_strdup (start));
  g_free (cap);

done:
  g_free (img);
  g_free (txt);
  g_ptr_array_free (prompts, TRUE);
  g_array_free (cats, TRUE);
  return d;
}
