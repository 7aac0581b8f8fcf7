/* srvgg.c — SRVGGNetCompact forward pass (see srvgg.h).
 *
 *   x (h, w, 3)
 *   -> conv 3×3 + PReLU       a (h, w, F)
 *   -> num_conv × (conv 3×3 + PReLU), ping-pong a <-> b (h, w, F)
 *   -> conv 3×3               (h, w, 3s²)
 *   -> pixel_shuffle(s)       y (hs, ws, 3)
 *   -> y += nearest_up(x, s)
 */
#include "models/srvgg.h"

#include <math.h>
#include <stdio.h>

enum { SRVGG_MAX_LAYERS = 256 };

void
dream_srvgg_free (void *data)
{
  dream_srvgg *net = data;
  if (!net)
    return;
  g_free (net->convs);
  g_free (net->weights);
  g_free (net);
}

dream_srvgg *
dream_srvgg_load (const dream_st_file *file, GError **error)
{
  char name[64];
  int n = 0;   /* body.{n}.weight entries: 2 * num_conv + 3 */
  for (;;)
    {
      snprintf (name, sizeof name, "body.%d.weight", n);
      if (n >= 2 * SRVGG_MAX_LAYERS || !dream_st_find (file, name))
        break;
      n++;
    }
  const dream_st_tensor *w0 = dream_st_find (file, "body.0.weight");
  if (n < 3 || n % 2 == 0 || !w0 || w0->n_dims != 4 || w0->shape[1] != 3)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an SRVGGNetCompact model: needs body.0.weight (F, 3, 3, 3), "
                   "body.1.weight (F), ... an odd number of body.N.weight (found %d)", n);
      return NULL;
    }
  const int num_conv = (n - 3) / 2, F = (int) w0->shape[0];
  snprintf (name, sizeof name, "body.%d.weight", n - 1);
  const dream_st_tensor *wl = dream_st_find (file, name);
  int scale = 0;
  if (wl->n_dims == 4)
    for (int s = 1; s <= 8; s++)
      if (wl->shape[0] == 3 * s * s)
        scale = s;
  if (F < 1 || F > 1024 || scale == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an SRVGGNetCompact model: %s must be (3*s*s, F, 3, 3) with s = 1..8",
                   name);
      return NULL;
    }

  const int n_conv = num_conv + 2;
  size_t total = (size_t) (num_conv + 1) * F;   /* slopes */
  for (int i = 0; i < n_conv; i++)
    {
      int in = i == 0 ? 3 : F, out = i == n_conv - 1 ? 3 * scale * scale : F;
      total += (size_t) out * in * 9 + out;
    }
  dream_srvgg *net = g_new0 (dream_srvgg, 1);
  net->num_conv = num_conv;
  net->features = F;
  net->scale = scale;
  net->convs = g_new0 (dream_conv, n_conv);
  net->weights = dream_alloc (total, sizeof (float), "SRVGG weights", error);
  float *tmp = net->weights
    ? dream_alloc ((size_t) MAX (F, 3 * scale * scale) * F * 9, sizeof (float),
                   "SRVGG weights", error)
    : NULL;
  if (!tmp)
    goto fail;

  float *p = net->weights;
  net->slopes = p;
  p += (size_t) (num_conv + 1) * F;
  for (int i = 0; i < n_conv; i++)
    {
      int in = i == 0 ? 3 : F, out = i == n_conv - 1 ? 3 * scale * scale : F;
      snprintf (name, sizeof name, "body.%d", 2 * i);
      size_t used = dream_sr_load_conv (file, name, out, in, 3, p, tmp,
                                        &net->convs[i], error);
      if (!used)
        goto fail;
      p += used;
      if (i == n_conv - 1)
        break;
      int64_t ss[1] = { F };
      snprintf (name, sizeof name, "body.%d.weight", 2 * i + 1);
      const dream_st_tensor *sl = dream_st_expect (file, name, 1, ss, error);
      if (!sl || !dream_st_to_f32 (sl, net->slopes + (size_t) i * F, F, error))
        goto fail;
    }
  g_free (tmp);
  return net;

fail:
  g_free (tmp);
  dream_srvgg_free (net);
  return NULL;
}

/* ---- run state ---------------------------------------------------------- */

typedef struct {
  float *a, *b;        /* (max_h * max_w, max(F, 3s²)) ping-pong maps */
  float *scratch;      /* per-thread conv scratch */
  int max_h, max_w;
} srvgg_state;

static size_t
srvgg_map_floats (const dream_srvgg *net, int max_h, int max_w)
{
  return (size_t) max_h * max_w * MAX (net->features, 3 * net->scale * net->scale);
}

static size_t
srvgg_scratch_floats (const dream_srvgg *net)
{
  size_t s = 0;
  for (int i = 0; i < net->num_conv + 2; i++)
    s = MAX (s, dream_conv2d_ex_scratch_size (&net->convs[i]));
  return s;
}

static size_t
srvgg_state_bytes (const void *data, int max_h, int max_w, int n_threads)
{
  const dream_srvgg *net = data;
  return sizeof (float) * (2 * srvgg_map_floats (net, max_h, max_w)
                           + srvgg_scratch_floats (net) * n_threads);
}

static void
srvgg_state_free (void *data)
{
  srvgg_state *s = data;
  if (!s)
    return;
  g_free (s->a);
  g_free (s->b);
  g_free (s->scratch);
  g_free (s);
}

static void *
srvgg_state_new (const void *data, int max_h, int max_w, int n_threads,
                 GError **error)
{
  const dream_srvgg *net = data;
  srvgg_state *s = g_new0 (srvgg_state, 1);
  s->max_h = max_h;
  s->max_w = max_w;
  size_t map = srvgg_map_floats (net, max_h, max_w);
  s->a = dream_alloc (map, sizeof (float), "SRVGG feature map", error);
  s->b = s->a ? dream_alloc (map, sizeof (float), "SRVGG feature map", error) : NULL;
  s->scratch = s->b ? dream_alloc (srvgg_scratch_floats (net), (size_t) n_threads * sizeof (float),
                                   "SRVGG scratch", error) : NULL;
  if (!s->scratch)
    {
      srvgg_state_free (s);
      return NULL;
    }
  return s;
}

static gboolean
srvgg_forward (const void *data, void *state, const float *x, int h, int w,
               float *y, dream_pool *pool, dream_progress *progress,
               double work, GError **error)
{
  const dream_srvgg *net = data;
  srvgg_state *s = state;
  g_return_val_if_fail (h <= s->max_h && w <= s->max_w, FALSE);
  const int F = net->features, n_conv = net->num_conv + 2, sc = net->scale;
  const double step = work / n_conv;

  const float *src = x;
  int src_ch = 3;
  float *dst = s->a;
  for (int i = 0; i < n_conv; i++)
    {
      const dream_conv *cv = &net->convs[i];
      dream_conv_post post = { .act = DREAM_POST_PRELU,
                               .slopes = net->slopes + (size_t) i * F };
      dream_conv2d_ex (cv, i < n_conv - 1 ? &post : NULL, src, src_ch, h, w,
                       dst, cv->out_ch, pool, s->scratch);
      src = dst;
      src_ch = cv->out_ch;
      dst = dst == s->a ? s->b : s->a;
      if (progress && !dream_progress_step (progress, step, error))
        return FALSE;
    }
  /* src (h, w, 3s²) -> y (hs, ws, 3), plus the upsampled input */
  dream_pixel_shuffle (src, h, w, 3, sc, y);
  dream_add_nearest_up (y, x, h, w, 3, sc);
  return TRUE;
}

static void *
srvgg_load (const dream_st_file *file, GError **error)
{
  return dream_srvgg_load (file, error);
}

static void
srvgg_info (const void *data, dream_sr_info *info)
{
  const dream_srvgg *net = data;
  *info = (dream_sr_info) {
    .scale = net->scale, .align = 1,
    .radius = net->num_conv + 2,        /* one pixel per 3×3 conv */
    .n_steps = net->num_conv + 2,
  };
}

const dream_sr_class dream_srvgg_class = {
  .arch = "srvgg",
  .load = srvgg_load,
  .free = dream_srvgg_free,
  .info = srvgg_info,
  .state_bytes = srvgg_state_bytes,
  .state_new = srvgg_state_new,
  .state_free = srvgg_state_free,
  .forward = srvgg_forward,
};
