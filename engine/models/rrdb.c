/* rrdb.c — RRDBNet forward pass (see rrdb.h).
 *
 * Body, at input resolution (after the optional unshuffle), px pixels:
 *   x                                        (h, w, in_ch)
 *   -> conv_first                            f (px, nf)
 *   cat (px, nf + 4gc): [0:nf] is the dense block input, conv c (1..4)
 *   reads the prefix [0 : nf + (c-1)gc] and writes [nf + (c-1)gc : +gc];
 *   conv5 reads it all and writes t (px, nf) = cat[0:nf] + 0.2 * conv5,
 *   copied back to cat[0:nf] for the next dense block. Each RRDB keeps
 *   its input in r (px, nf) and ends with cat[0:nf] = r + 0.2 * cat[0:nf].
 *   -> conv_body + f                         r (px, nf)
 * Tail, in bands of input rows with a halo of HALO rows each side:
 *   -> up1 (folded) + LeakyReLU              p (hb, w, 4nf)
 *   -> pixel_shuffle(2)                      q (2hb, 2w, nf)
 *   -> up2 (folded) + LeakyReLU, shuffle     q (4hb, 4w, nf)
 *   -> conv_hr + LeakyReLU                   p (4hb, 4w, nf)
 *   -> conv_last                             q (4hb, 4w, 3) -> rows of y
 */
#include "models/rrdb.h"

#include <stdio.h>
#include <string.h>

enum {
  RRDB_MAX_BLOCKS = 256,
  /* Rows of the body output a tail band needs beyond its own: a wrong
   * (zero-padded) row at a band edge spreads 14 output rows = 3.5 input
   * rows through up1, up2, hr and last. */
  HALO = 4,
  /* Tail band buffers hold about this many floats each. */
  TAIL_FLOATS = 16 << 20,
};

#define LRELU 0.2f

void
dream_rrdb_free (void *data)
{
  dream_rrdb *net = data;
  if (!net)
    return;
  g_free (net->rdb);
  g_free (net->weights);
  g_free (net);
}

static size_t
conv_floats (int in, int out)
{
  return (size_t) 9 * in * out + out;
}

dream_rrdb *
dream_rrdb_load (const dream_st_file *file, GError **error)
{
  const dream_st_tensor *w0 = dream_st_find (file, "conv_first.weight");
  const dream_st_tensor *c1 = dream_st_find (file, "body.0.rdb1.conv1.weight");
  if (!w0 || !c1 || w0->n_dims != 4 || c1->n_dims != 4)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an RRDBNet model: needs conv_first.weight and body.0.rdb1.conv1.weight");
      return NULL;
    }
  const int nf = (int) w0->shape[0], in_ch = (int) w0->shape[1], gc = (int) c1->shape[0];
  int nb = 0;
  char name[96];
  for (;;)
    {
      snprintf (name, sizeof name, "body.%d.rdb1.conv1.weight", nb);
      if (nb >= RRDB_MAX_BLOCKS || !dream_st_find (file, name))
        break;
      nb++;
    }
  int unshuffle = in_ch == 3 ? 1 : in_ch == 12 ? 2 : in_ch == 48 ? 4 : 0;
  if (unshuffle == 0 || nf < 1 || nf > 1024 || gc < 1 || gc > 1024)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an RRDBNet model: conv_first.weight must take 3, 12 or 48 "
                   "channels (has %d), with 1..1024 features", in_ch);
      return NULL;
    }

  /* conv_first, conv_body, conv_hr, conv_last, and up1, up2 folded (4x) */
  size_t total = conv_floats (in_ch, nf) + 2 * conv_floats (nf, nf)
    + conv_floats (nf, 3) + 2 * 4 * conv_floats (nf, nf);
  for (int c = 0; c < 5; c++)
    total += (size_t) nb * 3 * conv_floats (nf + c * gc, c < 4 ? gc : nf);

  dream_rrdb *net = g_new0 (dream_rrdb, 1);
  *net = (dream_rrdb) { .num_block = nb, .nf = nf, .gc = gc,
                        .unshuffle = unshuffle, .scale = 4 / unshuffle };
  net->rdb = g_new0 (dream_conv, (gsize) nb * 15);
  net->weights = dream_alloc (total, sizeof (float), "RRDBNet weights", error);
  /* tmp: the largest OIHW tensor, and room for a folded one */
  size_t big = MAX ((size_t) 9 * (nf + 4 * gc) * MAX (nf, gc), (size_t) 9 * nf * nf);
  float *tmp = net->weights
    ? dream_alloc (big + (size_t) 9 * nf * nf * 8 + 8 * nf, sizeof (float),
                   "RRDBNet weights", error)
    : NULL;
  if (!tmp)
    goto fail;

  float *p = net->weights;
  size_t used;
#define LOAD(prefix, in, out, cv)                                             \
  do {                                                                        \
    if (!(used = dream_sr_load_conv (file, prefix, out, in, 3, p, tmp, cv, error))) \
      goto fail;                                                              \
    p += used;                                                                \
  } while (0)

  LOAD ("conv_first", in_ch, nf, &net->first);
  for (int b = 0; b < nb; b++)
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 5; c++)
        {
          snprintf (name, sizeof name, "body.%d.rdb%d.conv%d", b, r + 1, c + 1);
          LOAD (name, nf + c * gc, c < 4 ? gc : nf, &net->rdb[(b * 3 + r) * 5 + c]);
        }
  LOAD ("conv_body", nf, nf, &net->body);
  LOAD ("conv_hr", nf, nf, &net->hr);
  LOAD ("conv_last", nf, 3, &net->last);
#undef LOAD

  /* conv_up1, conv_up2: OIHW + bias -> folded (4nf, nf, 3, 3) -> packed */
  const char *ups[2] = { "conv_up1", "conv_up2" };
  dream_conv *up[2] = { &net->up1, &net->up2 };
  for (int i = 0; i < 2; i++)
    {
      char wn[64], bn[64];
      snprintf (wn, sizeof wn, "%s.weight", ups[i]);
      snprintf (bn, sizeof bn, "%s.bias", ups[i]);
      int64_t ws[4] = { nf, nf, 3, 3 }, bs[1] = { nf };
      const dream_st_tensor *w = dream_st_expect (file, wn, 4, ws, error);
      const dream_st_tensor *bt = w ? dream_st_expect (file, bn, 1, bs, error) : NULL;
      float *oihw = tmp, *bias = tmp + (size_t) 9 * nf * nf;
      float *fold = bias + nf, *fold_b = fold + (size_t) 9 * nf * nf * 4;
      if (!bt || !dream_st_to_f32 (w, oihw, w->n_elements, error)
          || !dream_st_to_f32 (bt, bias, nf, error))
        goto fail;
      dream_sr_fold_upsample (oihw, bias, nf, nf, 2, fold, fold_b);
      dream_conv_ex_pack_oihw (fold, 4 * nf, nf, 3, p);
      size_t nw = (size_t) 9 * nf * nf * 4;
      memcpy (p + nw, fold_b, sizeof (float) * 4 * nf);
      *up[i] = (dream_conv) { nf, 4 * nf, 3, p, p + nw };
      p += nw + 4 * nf;
    }
  g_free (tmp);
  return net;

fail:
  g_free (tmp);
  dream_rrdb_free (net);
  return NULL;
}

/* ---- run state ---------------------------------------------------------- */

typedef struct {
  float *xu;          /* (px, in_ch) unshuffled input, when unshuffle > 1 */
  float *f;           /* (px, nf) conv_first output */
  float *r;           /* (px, nf) RRDB input; then the body output */
  float *t;           /* (px, nf) conv5 output */
  float *cat;         /* (px, nf + 4gc) */
  float *p, *q;       /* tail band maps, tail_floats each */
  float *scratch;
  int max_h, max_w;   /* input size (before unshuffle) */
  int band;           /* body rows per tail band */
} rrdb_state;

static size_t
rrdb_scratch_floats (const dream_rrdb *net)
{
  const dream_conv *all[] = { &net->first, &net->body, &net->up1, &net->up2,
                              &net->hr, &net->last };
  size_t s = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    s = MAX (s, dream_conv2d_ex_scratch_size (all[i]));
  for (int i = 0; i < net->num_block * 15; i++)
    s = MAX (s, dream_conv2d_ex_scratch_size (&net->rdb[i]));
  return s;
}

/* Body rows per tail band for a body width w (and the band buffer size). */
static int
rrdb_band (const dream_rrdb *net, int w, int h, size_t *tail_floats)
{
  size_t per_row = (size_t) 16 * w * net->nf;   /* floats per body row, at 4x */
  int band = (int) MAX ((size_t) TAIL_FLOATS / per_row, (size_t) (8 + 2 * HALO)) - 2 * HALO;
  band = MIN (band, h);
  *tail_floats = per_row * (size_t) MIN (band + 2 * HALO, h);
  return band;
}

static size_t
rrdb_state_bytes (const void *data, int max_h, int max_w, int n_threads)
{
  const dream_rrdb *net = data;
  int hl = max_h / net->unshuffle, wl = max_w / net->unshuffle;
  size_t px = (size_t) hl * wl, tail;
  rrdb_band (net, wl, hl, &tail);
  size_t in_ch = net->unshuffle > 1 ? 3 * net->unshuffle * net->unshuffle : 0;
  return sizeof (float) * (px * (in_ch + 3 * net->nf + net->nf + 4 * net->gc)
                           + 2 * tail + rrdb_scratch_floats (net) * n_threads);
}

static void
rrdb_state_free (void *data)
{
  rrdb_state *s = data;
  if (!s)
    return;
  g_free (s->f);
  g_free (s->p);
  g_free (s->q);
  g_free (s->scratch);
  g_free (s);
}

static void *
rrdb_state_new (const void *data, int max_h, int max_w, int n_threads,
                GError **error)
{
  const dream_rrdb *net = data;
  rrdb_state *s = g_new0 (rrdb_state, 1);
  s->max_h = max_h;
  s->max_w = max_w;
  int hl = max_h / net->unshuffle, wl = max_w / net->unshuffle;
  size_t px = (size_t) hl * wl, tail;
  s->band = rrdb_band (net, wl, hl, &tail);
  size_t in_ch = net->unshuffle > 1 ? 3 * net->unshuffle * net->unshuffle : 0;
  size_t per_px = in_ch + 3 * net->nf + net->nf + 4 * net->gc;
  s->f = dream_alloc (px, per_px * sizeof (float), "RRDBNet feature maps", error);
  s->p = s->f ? dream_alloc (tail, sizeof (float), "RRDBNet tail", error) : NULL;
  s->q = s->p ? dream_alloc (tail, sizeof (float), "RRDBNet tail", error) : NULL;
  s->scratch = s->q ? dream_alloc (rrdb_scratch_floats (net), (size_t) n_threads * sizeof (float),
                                   "RRDBNet scratch", error) : NULL;
  if (!s->scratch)
    {
      rrdb_state_free (s);
      return NULL;
    }
  s->r = s->f + px * net->nf;
  s->t = s->r + px * net->nf;
  s->cat = s->t + px * net->nf;
  s->xu = in_ch ? s->cat + px * (net->nf + 4 * net->gc) : NULL;
  return s;
}

/* dst[i * ds .. + n] = src[i * ss .. + n] for px pixels */
static void
copy_px (float *dst, int ds, const float *src, int ss, int n, size_t px)
{
  for (size_t i = 0; i < px; i++)
    memcpy (dst + i * ds, src + i * ss, sizeof (float) * n);
}

static gboolean
rrdb_forward (const void *data, void *state, const float *x, int h, int w,
              float *y, dream_pool *pool, dream_progress *progress,
              double work, GError **error)
{
  const dream_rrdb *net = data;
  rrdb_state *s = state;
  g_return_val_if_fail (h <= s->max_h && w <= s->max_w
                        && h % net->unshuffle == 0 && w % net->unshuffle == 0, FALSE);
  const int nf = net->nf, gc = net->gc, cw = nf + 4 * gc;
  const int u = net->unshuffle, hl = h / u, wl = w / u;
  const size_t px = (size_t) hl * wl;
  const double step = work / (3 * net->num_block + 3);
  const dream_conv_post lrelu = { .act = DREAM_POST_LEAKY, .slope = LRELU };
#define STEP()                                                          \
  do {                                                                  \
    if (progress && !dream_progress_step (progress, step, error))       \
      return FALSE;                                                     \
  } while (0)

  const float *in = x;
  if (u > 1)
    {
      dream_pixel_unshuffle (x, h, w, 3, u, s->xu);
      in = s->xu;
    }
  dream_conv2d_ex (&net->first, NULL, in, net->first.in_ch, hl, wl, s->f, nf,
                   pool, s->scratch);
  copy_px (s->cat, cw, s->f, nf, nf, px);
  STEP ();

  for (int b = 0; b < net->num_block; b++)
    {
      copy_px (s->r, nf, s->cat, cw, nf, px);
      for (int r = 0; r < 3; r++)
        {
          const dream_conv *cv = &net->rdb[(b * 3 + r) * 5];
          for (int c = 0; c < 4; c++)
            dream_conv2d_ex (&cv[c], &lrelu, s->cat, cw, hl, wl,
                             s->cat + nf + c * gc, cw, pool, s->scratch);
          dream_conv_post res = { .act = DREAM_POST_LINEAR, .residual = s->cat,
                                  .res_stride = cw, .res_scale = 0.2f };
          dream_conv2d_ex (&cv[4], &res, s->cat, cw, hl, wl, s->t, nf,
                           pool, s->scratch);
          if (r < 2)
            copy_px (s->cat, cw, s->t, nf, nf, px);
          STEP ();
        }
      /* cat[0:nf] = r + 0.2 * rdb3 output */
      for (size_t i = 0; i < px; i++)
        {
          float *d = s->cat + i * cw;
          const float *t = s->t + i * nf, *r = s->r + i * nf;
          for (int c = 0; c < nf; c++)
            d[c] = r[c] + 0.2f * t[c];
        }
    }

  /* r = f + conv_body(cat[0:nf]) */
  dream_conv_post res = { .act = DREAM_POST_LINEAR, .residual = s->f,
                          .res_stride = nf, .res_scale = 1.0f };
  dream_conv2d_ex (&net->body, &res, s->cat, cw, hl, wl, s->r, nf, pool, s->scratch);
  STEP ();

  /* tail, in bands of body rows */
  const int wo = 4 * wl;
  for (int r0 = 0; r0 < hl; r0 += s->band)
    {
      int r1 = MIN (hl, r0 + s->band);
      int a = MAX (0, r0 - HALO), e = MIN (hl, r1 + HALO), hb = e - a;
      dream_conv2d_ex (&net->up1, &lrelu, s->r + (size_t) a * wl * nf, nf, hb, wl,
                       s->p, 4 * nf, pool, s->scratch);
      dream_pixel_shuffle (s->p, hb, wl, nf, 2, s->q);
      dream_conv2d_ex (&net->up2, &lrelu, s->q, nf, 2 * hb, 2 * wl,
                       s->p, 4 * nf, pool, s->scratch);
      dream_pixel_shuffle (s->p, 2 * hb, 2 * wl, nf, 2, s->q);
      dream_conv2d_ex (&net->hr, &lrelu, s->q, nf, 4 * hb, wo, s->p, nf,
                       pool, s->scratch);
      dream_conv2d_ex (&net->last, NULL, s->p, nf, 4 * hb, wo, s->q, 3,
                       pool, s->scratch);
      memcpy (y + (size_t) 4 * r0 * wo * 3, s->q + (size_t) 4 * (r0 - a) * wo * 3,
              sizeof (float) * (size_t) 4 * (r1 - r0) * wo * 3);
    }
  STEP ();
#undef STEP
  return TRUE;
}

static void *
rrdb_load (const dream_st_file *file, GError **error)
{
  return dream_rrdb_load (file, error);
}

static void
rrdb_info (const void *data, dream_sr_info *info)
{
  const dream_rrdb *net = data;
  *info = (dream_sr_info) {
    .scale = net->scale, .align = net->unshuffle,
    /* conv_first, 15 convs per RRDB, conv_body, about one for the tail */
    .radius = (15 * net->num_block + 3) * net->unshuffle,
    .n_steps = 3 * net->num_block + 3,
  };
}

const dream_sr_class dream_rrdb_class = {
  .arch = "rrdb",
  .load = rrdb_load,
  .free = dream_rrdb_free,
  .info = rrdb_info,
  .state_bytes = rrdb_state_bytes,
  .state_new = rrdb_state_new,
  .state_free = rrdb_state_free,
  .forward = rrdb_forward,
};
