/* dream-clip-pixels.c — see dream-clip-pixels.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dream-clip-pixels.h"

char **
dream_clip_pixels_split_captions (const char *text, GError **error)
{
  GPtrArray *out = g_ptr_array_new ();
  char **lines = g_strsplit (text ? text : "", "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *s = g_strstrip (g_strdup (*l));
      if (*s)
        g_ptr_array_add (out, s);
      else
        g_free (s);
    }
  g_strfreev (lines);
  g_ptr_array_add (out, NULL);
  char **captions = (char **) g_ptr_array_free (out, FALSE);
  if (!captions[0])
    {
      g_strfreev (captions);
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "no captions: type one or more, one per line");
      return NULL;
    }
  return captions;
}

/* The DREAM_TEST_CANCEL_AT hook of dream-pixels.c, for these calls. */
typedef struct {
  dream_progress_func progress;
  gpointer user;
  double cancel_at;
} hook;

static gboolean
hook_cb (gpointer user, double f)
{
  hook *h = user;
  if (f >= h->cancel_at)
    return FALSE;
  return h->progress ? h->progress (h->user, f) : TRUE;
}

static void
hook_init (hook *h, dream_progress_func progress, gpointer user)
{
  const char *s = g_getenv ("DREAM_TEST_CANCEL_AT");
  char *end = NULL;
  double v = s && *s ? g_ascii_strtod (s, &end) : 2.0;
  h->progress = progress;
  h->user = user;
  h->cancel_at = (s && *s && end != s && isfinite (v)) ? v : 2.0;
}

static dream_model *
load_clip (const char *model, GError **error)
{
  char *path = dream_clip_model_find (model, error);
  if (!path)
    return NULL;
  dream_model *clip = dream_clip_load (path, NULL, error);
  g_free (path);
  if (clip && (!dream_clip_has_text (clip) || !dream_clip_has_vision (clip)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s is not a CLIP model with both a text and an image tower",
                   model && *model ? model : "the default CLIP");
      dream_model_free (clip);
      return NULL;
    }
  return clip;
}

/* roi of src as R'G'B' float (grey replicated, alpha dropped). */
static float *
read_rgb (GeglBuffer *src, const GeglRectangle *roi, dream_image *img, GError **error)
{
  GeglRectangle r;
  if (!gegl_rectangle_intersect (&r, roi, gegl_buffer_get_extent (src)) || r.width < 1
      || r.height < 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the selection does not cover any of the layer");
      return NULL;
    }
  float *px = g_try_new (float, (gsize) r.width * r.height * 3);
  if (!px)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "not enough memory for a %d × %d layer", r.width, r.height);
      return NULL;
    }
  const Babl *space = babl_format_get_space (gegl_buffer_get_format (src));
  gegl_buffer_get (src, &r, 1.0, babl_format_with_space ("R'G'B' float", space), px,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  *img = (dream_image) { px, r.width, r.height, 3 };
  return px;
}

gboolean
dream_clip_pixels_score (GeglBuffer *src, const GeglRectangle *roi,
                         const char *const *captions, int n, const char *model,
                         dream_progress_func progress, gpointer progress_user,
                         dream_clip_score_result *results, GError **error)
{
  dream_model *clip = load_clip (model, error);
  if (!clip)
    return FALSE;
  dream_image img;
  float *px = read_rgb (src, roi, &img, error);
  gboolean ok = FALSE;
  if (px)
    {
      hook h;
      hook_init (&h, progress, progress_user);
      dream_clip_params p = dream_clip_default_params ();
      p.progress = hook_cb;
      p.progress_user = &h;
      ok = dream_clip_score (clip, &img, captions, n, &p, results, error)
           && hook_cb (&h, 1.0);
      if (!ok && error && !*error)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED, "Cancelled.");
    }
  g_free (px);
  dream_model_free (clip);
  return ok;
}

typedef struct {
  const dream_clip_score_result *r;
  int index;
} ranked;

static int
by_logit (const void *a, const void *b)
{
  const ranked *x = a, *y = b;
  if (x->r->logit != y->r->logit)
    return x->r->logit < y->r->logit ? 1 : -1;
  return x->index - y->index;
}

char *
dream_clip_pixels_ranking (const char *const *captions, int n,
                           const dream_clip_score_result *results)
{
  ranked *order = g_new (ranked, MAX (n, 1));
  for (int i = 0; i < n; i++)
    order[i] = (ranked) { &results[i], i };
  qsort (order, n, sizeof (ranked), by_logit);
  GString *s = g_string_new (NULL);
  for (int k = 0; k < n; k++)
    {
      char p[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (p, sizeof p, "%.6f", order[k].r->probability);
      g_ascii_formatd (c, sizeof c, "%.6f", order[k].r->cosine);
      g_string_append_printf (s, "%s\t%s\t%s\n", p, c, captions[order[k].index]);
    }
  g_free (order);
  return g_string_free (s, FALSE);
}

char *
dream_clip_pixels_describe (GeglBuffer *src, const GeglRectangle *roi,
                            const char *model, const char *vocabulary,
                            dream_progress_func progress, gpointer progress_user,
                            GError **error)
{
  dream_model *clip = load_clip (model, error);
  if (!clip)
    return NULL;
  dream_image img;
  float *px = read_rgb (src, roi, &img, error);
  char *caption = NULL;
  if (px)
    {
      hook h;
      hook_init (&h, progress, progress_user);
      dream_clip_params p = dream_clip_default_params ();
      p.progress = hook_cb;
      p.progress_user = &h;
      dream_clip_description *d =
        dream_clip_describe (clip, &img, vocabulary && *vocabulary ? vocabulary : NULL, &p, error);
      if (d && hook_cb (&h, 1.0))
        caption = g_strdup (d->caption);
      else if (d)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED, "Cancelled.");
      dream_clip_description_free (d);
    }
  g_free (px);
  dream_model_free (clip);
  return caption;
}
