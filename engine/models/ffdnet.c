/* ffdnet.c — FFDNet forward pass (see ffdnet.h for the network).
 *
 *   x (h, w, c)
 *   -> unshuffle       a (h/2, w/2, 4c + 1)   last channel = sigma/255
 *   -> conv 3×3 + ReLU b (h/2, w/2, F)        F = features
 *   -> (L-2) × conv 3×3 + ReLU (h/2, w/2, F)
 *   -> conv 3×3        (h/2, w/2, 4c)
 *   -> shuffle         y (h, w, c)
 */
#include "models/ffdnet.h"

#include <stdio.h>

enum { FFDNET_MAX_LAYERS = 64 };

void
dream_ffdnet_free (void *data)
{
  dream_ffdnet *net = data;
  if (!net)
    return;
  g_free (net->layers);
  g_free (net->weights);
  g_free (net);
}

static const dream_st_tensor *
find_layer (const dream_st_file *file, int i, const char *what)
{
  char name[64];
  snprintf (name, sizeof name, "layers.%d.%s", i, what);
  return dream_st_find (file, name);
}

dream_ffdnet *
dream_ffdnet_load (const dream_st_file *file, GError **error)
{
  /* Count layers and check the chain of shapes before allocating. */
  int n = 0;
  while (n < FFDNET_MAX_LAYERS && find_layer (file, n, "weight"))
    n++;
  if (n < 2)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an FFDNet model: needs layers.0.weight ... (found %d layers)", n);
      return NULL;
    }
  const dream_st_tensor *w0 = find_layer (file, 0, "weight");
  if (w0->n_dims != 4)
    goto bad_shape;
  int in0 = (int) w0->shape[1], features = (int) w0->shape[0];
  int c = (in0 - 1) / 4;
  if ((c != 1 && c != 3) || in0 != 4 * c + 1 || features < 1 || features > 4096)
    goto bad_shape;

  size_t total = 0;
  for (int i = 0; i < n; i++)
    {
      int in = i == 0 ? in0 : features;
      int out = i == n - 1 ? 4 * c : features;
      int64_t ws[4] = { out, in, 3, 3 }, bs[1] = { out };
      char wn[64], bn[64];
      snprintf (wn, sizeof wn, "layers.%d.weight", i);
      snprintf (bn, sizeof bn, "layers.%d.bias", i);
      if (!dream_st_expect (file, wn, 4, ws, error)
          || !dream_st_expect (file, bn, 1, bs, error))
        return NULL;
      total += (size_t) out * in * 9 + out;
    }

  dream_ffdnet *net = g_new0 (dream_ffdnet, 1);
  net->channels = c;
  net->n_layers = n;
  net->features = features;
  net->layers = g_new0 (dream_conv, n);
  net->weights = dream_alloc (total, sizeof (float), "FFDNet weights", error);
  float *tmp = net->weights
    ? dream_alloc ((size_t) features * features * 9, sizeof (float), "FFDNet weights", error)
    : NULL;
  if (!tmp)
    {
      dream_ffdnet_free (net);
      return NULL;
    }

  float *p = net->weights;
  for (int i = 0; i < n; i++)
    {
      const dream_st_tensor *w = find_layer (file, i, "weight");
      const dream_st_tensor *b = find_layer (file, i, "bias");
      dream_conv *cv = &net->layers[i];
      cv->in_ch = (int) w->shape[1];
      cv->out_ch = (int) w->shape[0];
      cv->k = 3;
      if (!dream_st_to_f32 (w, tmp, w->n_elements, error))
        goto fail;
      dream_conv_pack_oihw (tmp, cv->out_ch, cv->in_ch, 3, p);
      cv->w = p;
      p += w->n_elements;
      if (!dream_st_to_f32 (b, p, b->n_elements, error))
        goto fail;
      cv->b = p;
      p += b->n_elements;
    }
  g_free (tmp);
  return net;

fail:
  g_free (tmp);
  dream_ffdnet_free (net);
  return NULL;

bad_shape:
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
               "Not an FFDNet model: layers.0.weight must be (features, 4c+1, 3, 3) with c = 1 or 3");
  return NULL;
}

gboolean
dream_ffdnet_state_init (dream_ffdnet_state *s, const dream_ffdnet *net,
                         int max_h, int max_w, int n_threads, GError **error)
{
  *s = (dream_ffdnet_state) { 0 };
  s->max_h = (max_h + 1) & ~1;
  s->max_w = (max_w + 1) & ~1;
  size_t px = (size_t) (s->max_h / 2) * (s->max_w / 2);
  int ch = MAX (net->features, 4 * net->channels + 1);
  size_t scratch = 0;
  for (int i = 0; i < net->n_layers; i++)
    scratch = MAX (scratch, dream_conv2d_scratch_size (&net->layers[i]));
  s->a = dream_alloc (px, ch * sizeof (float), "FFDNet feature map", error);
  s->b = s->a ? dream_alloc (px, ch * sizeof (float), "FFDNet feature map", error) : NULL;
  s->scratch = s->b ? dream_alloc (scratch, (size_t) n_threads * sizeof (float),
                                   "FFDNet scratch", error) : NULL;
  if (!s->scratch)
    {
      dream_ffdnet_state_clear (s);
      return FALSE;
    }
  return TRUE;
}

void
dream_ffdnet_state_clear (dream_ffdnet_state *s)
{
  g_clear_pointer (&s->a, g_free);
  g_clear_pointer (&s->b, g_free);
  g_clear_pointer (&s->scratch, g_free);
}

gboolean
dream_ffdnet_forward (const dream_ffdnet *net, dream_ffdnet_state *s,
                      const float *x, int h, int w, float sigma01,
                      float *y, dream_pool *pool,
                      dream_progress *progress, double work_per_layer,
                      GError **error)
{
  g_return_val_if_fail (h % 2 == 0 && w % 2 == 0 && h <= s->max_h && w <= s->max_w, FALSE);
  const int c = net->channels, in0 = 4 * c + 1;
  const int h2 = h / 2, w2 = w / 2;
  const size_t px = (size_t) h2 * w2;

  /* a (h2, w2, 4c + 1): sub-images, then the noise map */
  dream_pixel_unshuffle2 (x, h, w, c, s->a, in0);
  for (size_t i = 0; i < px; i++)
    s->a[i * in0 + 4 * c] = sigma01;

  float *src = s->a, *dst = s->b;
  for (int i = 0; i < net->n_layers; i++)
    {
      dream_act act = i == net->n_layers - 1 ? DREAM_ACT_NONE : DREAM_ACT_RELU;
      dream_conv2d (&net->layers[i], act, src, h2, w2, dst, pool, s->scratch);
      float *t = src; src = dst; dst = t;
      if (progress && !dream_progress_step (progress, work_per_layer, error))
        return FALSE;
    }
  /* src (h2, w2, 4c) -> y (h, w, c) */
  dream_pixel_shuffle2 (src, h2, w2, c, y);
  return TRUE;
}
