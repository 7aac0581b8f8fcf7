/* clip_score.c — the public CLIP calls (dream.h): loading, text and image
 * embeddings, caption scores.
 *
 * Captions are tokenized (77 ids, cut with a flag when longer), run
 * through the text tower in batches of params->batch so that memory stays
 * bounded whatever the number of captions, projected and L2-normalised.
 * Only the positions up to the batch's last <|endoftext|> are computed
 * (the causal mask makes the rest irrelevant to the embedding). Images
 * are preprocessed as the original (clip_vision.h) and encoded one at a
 * time. Scores follow CLIP's forward(): logit = exp(logit_scale) · cosine,
 * probability = softmax over the captions.
 */
#include "models/clip.h"

#include <math.h>
#include <string.h>

enum { DEFAULT_BATCH = 32, MAX_BATCH = 4096 };

dream_clip_params
dream_clip_default_params (void)
{
  return (dream_clip_params) { .n_threads = 0, .batch = 0, .progress = NULL,
                               .progress_user = NULL };
}

dream_model *
dream_clip_load (const char *path, const char *config_path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  dream_st_file *file = dream_st_open (path, error);
  if (!file)
    return NULL;
  GError *local = NULL;
  dream_clip *clip = dream_clip_net_load (file, path, config_path, &local);
  if (!clip)
    {
      char *base = g_path_get_basename (path);
      g_set_error (error, local->domain, local->code, "%s: %s", base, local->message);
      g_free (base);
      g_error_free (local);
      dream_st_close (file);
      return NULL;
    }
  dream_model *model = g_new0 (dream_model, 1);
  model->path = g_strdup (path);
  model->arch = g_strdup ("clip");
  model->file = file;
  model->net = clip;
  model->net_free = dream_clip_net_free;
  model->channels = 3;
  return model;
}

static const dream_clip *
get_clip (const dream_model *model)
{
  return model && g_strcmp0 (model->arch, "clip") == 0 ? model->net : NULL;
}

int
dream_clip_get_embed_dim (const dream_model *model)
{
  const dream_clip *c = get_clip (model);
  return c ? c->embed_dim : 0;
}

int
dream_clip_get_image_size (const dream_model *model)
{
  const dream_clip *c = get_clip (model);
  return c && c->vision ? c->vision->image_size : 0;
}

double
dream_clip_get_logit_scale (const dream_model *model)
{
  const dream_clip *c = get_clip (model);
  return c ? c->logit_scale : 0.0;
}

gboolean
dream_clip_has_text (const dream_model *model)
{
  const dream_clip *c = get_clip (model);
  return c && c->text && c->text->projection;
}

gboolean
dream_clip_has_vision (const dream_model *model)
{
  const dream_clip *c = get_clip (model);
  return c && c->vision && c->vision->projection;
}

static void
normalise (float *v, int n)
{
  double s = 0.0;
  for (int i = 0; i < n; i++)
    s += (double) v[i] * v[i];
  float inv = s > 0.0 ? (float) (1.0 / sqrt (s)) : 0.0f;
  for (int i = 0; i < n; i++)
    v[i] *= inv;
}

static gboolean
check_common (const dream_clip *clip, const dream_clip_params *p, GError **error)
{
  const char *why = NULL;
  if (!clip)
    why = "the model is not a CLIP model";
  else if (!p || p->n_threads < 0 || p->batch < 0)
    why = "thread count and batch may not be negative";
  if (why)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "CLIP: %s", why);
  return why == NULL;
}

/* Text embeddings; progress runs from p0 to p1 of the whole call. */
static gboolean
encode_text (const dream_clip *clip, const char *const *captions, int n,
             const dream_clip_params *p, float *emb, gboolean *truncated,
             dream_progress *progress, GError **error)
{
  if (!clip->text || !clip->text->projection)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP: this model has no text tower with a projection");
      return FALSE;
    }
  if (n < 1 || !captions)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "CLIP: no captions");
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    if (!captions[i])
      {
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "CLIP: caption %d is NULL", i + 1);
        return FALSE;
      }
  const dream_clip_text *net = clip->text;
  const int ctx = net->context, e = net->embed_dim;
  int batch = MIN (p->batch > 0 ? MIN (p->batch, MAX_BATCH) : DEFAULT_BATCH, n);
  dream_pool *pool = dream_pool_new (p->n_threads);
  dream_clip_text_state s;
  gint32 *tokens = NULL;
  float *out = NULL;
  gboolean ok = FALSE;
  if (!dream_clip_text_state_init (&s, net, batch, dream_pool_n_threads (pool), error))
    {
      dream_pool_free (pool);
      return FALSE;
    }
  tokens = dream_alloc ((size_t) batch * ctx, sizeof (gint32), "CLIP tokens", error);
  out = tokens ? dream_alloc ((size_t) batch * e, sizeof (float), "CLIP embeddings", error) : NULL;
  if (!out)
    goto done;
  for (int b0 = 0; b0 < n; b0 += batch)
    {
      int nb = MIN (batch, n - b0);
      for (int i = 0; i < nb; i++)
        {
          gboolean cut = dream_tokenizer_tokenize (clip->tokenizer, captions[b0 + i], ctx, 0,
                                                   tokens + (size_t) i * ctx, NULL);
          if (truncated)
            truncated[b0 + i] = cut;
        }
      dream_clip_text_outputs o = { .embeds = out };
      if (!dream_clip_text_forward (net, &s, tokens, nb, &o, pool, error))
        goto done;
      for (int i = 0; i < nb; i++)
        normalise (out + (size_t) i * e, e);
      memcpy (emb + (size_t) b0 * e, out, sizeof (float) * nb * e);
      if (progress && !dream_progress_step (progress, nb, error))
        goto done;
    }
  ok = TRUE;
done:
  g_free (tokens);
  g_free (out);
  dream_clip_text_state_clear (&s);
  dream_pool_free (pool);
  return ok;
}

static gboolean
encode_image (const dream_clip *clip, const dream_image *image,
              const dream_clip_params *p, float *emb, GError **error)
{
  if (!clip->vision || !clip->vision->projection)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP: this model has no vision tower with a projection");
      return FALSE;
    }
  const dream_clip_vision *net = clip->vision;
  const int S = net->image_size;
  float *pixels = dream_alloc ((size_t) 3 * S * S, sizeof (float), "CLIP image", error);
  if (!pixels)
    return FALSE;
  if (!dream_clip_preprocess (image, S, pixels, error))
    {
      g_free (pixels);
      return FALSE;
    }
  dream_pool *pool = dream_pool_new (p->n_threads);
  dream_clip_vision_state s;
  gboolean ok = dream_clip_vision_state_init (&s, net, 1, dream_pool_n_threads (pool), error);
  if (ok)
    {
      dream_clip_vision_outputs o = { .embeds = emb };
      ok = dream_clip_vision_forward (net, &s, pixels, 1, &o, pool, error);
      dream_clip_vision_state_clear (&s);
    }
  if (ok)
    normalise (emb, net->embed_dim);
  dream_pool_free (pool);
  g_free (pixels);
  return ok;
}

gboolean
dream_clip_encode_text (const dream_model *model, const char *const *captions, int n,
                        const dream_clip_params *params, float *embeddings,
                        gboolean *truncated, GError **error)
{
  const dream_clip *clip = get_clip (model);
  if (!check_common (clip, params, error))
    return FALSE;
  dream_gemm_init ();
  dream_progress progress;
  dream_progress_init (&progress, params->progress, params->progress_user, n);
  return encode_text (clip, captions, n, params, embeddings, truncated, &progress, error);
}

gboolean
dream_clip_encode_image (const dream_model *model, const dream_image *image,
                         const dream_clip_params *params, float *embedding,
                         GError **error)
{
  const dream_clip *clip = get_clip (model);
  if (!check_common (clip, params, error))
    return FALSE;
  dream_gemm_init ();
  dream_progress progress;
  dream_progress_init (&progress, params->progress, params->progress_user, 1);
  return encode_image (clip, image, params, embedding, error)
         && dream_progress_step (&progress, 1, error);
}

gboolean
dream_clip_score (const dream_model *model, const dream_image *image,
                  const char *const *captions, int n,
                  const dream_clip_params *params,
                  dream_clip_score_result *results, GError **error)
{
  const dream_clip *clip = get_clip (model);
  if (!check_common (clip, params, error))
    return FALSE;
  if (!results)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "CLIP: no results array");
      return FALSE;
    }
  dream_gemm_init ();
  const int e = clip->embed_dim;
  float *img = dream_alloc (MAX (e, 1), sizeof (float), "CLIP embeddings", error);
  float *txt = img ? dream_alloc ((size_t) MAX (n, 1) * MAX (e, 1), sizeof (float),
                                  "CLIP embeddings", error) : NULL;
  gboolean *cut = txt ? g_new0 (gboolean, MAX (n, 1)) : NULL;
  gboolean ok = FALSE;
  /* work: one unit per caption, as much again for the image */
  dream_progress progress;
  dream_progress_init (&progress, params->progress, params->progress_user, MAX (n, 1) * 2.0);
  if (!cut
      || !encode_image (clip, image, params, img, error)
      || !dream_progress_step (&progress, MAX (n, 1), error)
      || !encode_text (clip, captions, n, params, txt, cut, &progress, error))
    goto done;

  double max = -INFINITY, sum = 0.0;
  for (int i = 0; i < n; i++)
    {
      double c = 0.0;
      for (int k = 0; k < e; k++)
        c += (double) img[k] * txt[(size_t) i * e + k];
      results[i].cosine = (float) c;
      results[i].logit = (float) (clip->logit_scale * c);
      results[i].truncated = cut[i];
      max = MAX (max, (double) results[i].logit);
    }
  for (int i = 0; i < n; i++)
    sum += exp ((double) results[i].logit - max);
  for (int i = 0; i < n; i++)
    results[i].probability = (float) (exp ((double) results[i].logit - max) / sum);
  ok = TRUE;
done:
  g_free (img);
  g_free (txt);
  g_free (cut);
  return ok;
}
