/* rdn.c — RDN forward pass (see rdn.h). Everything runs at input
 * resolution; "cat" is one wide buffer per block whose channel slices the
 * dense convs read as a prefix and write in turn (no copies):
 *
 *   x (h, w, 3)
 *   -> F_m1                       fm1 (h, w, G0)
 *   -> F_0                        cat[0:G0]          cat (h, w, G0 + C*G)
 *   block d: F_d_c + ReLU         cat[G0 + (c-1)G : +G]
 *            LFF_d + cat[0:G0]    lrls[(d-1)G0 : dG0]  lrls (h, w, D*G0)
 *            (next block: lrls slice copied to cat[0:G0])
 *   -> GFF_1                      a (h, w, G0)
 *   -> GFF_2 + fm1                b (h, w, G0)
 *   -> UPN1 5×5 + ReLU            a (h, w, 64)
 *   -> UPN2 + ReLU                b (h, w, 32)
 *   -> UPN3                       a (h, w, 3s²)
 *   -> SR (folded)                b (h, w, 3s²)
 *   -> pixel_shuffle(s)           y (hs, ws, 3)
 */
#include "models/rdn.h"

#include <stdio.h>
#include <string.h>

enum { RDN_MAX = 64 };

void
dream_rdn_free (void *data)
{
  dream_rdn *net = data;
  if (!net)
    return;
  g_free (net->dense);
  g_free (net->lff);
  g_free (net->weights);
  g_free (net);
}

static const dream_st_tensor *
kernel (const dream_st_file *file, const char *name)
{
  char k[96];
  snprintf (k, sizeof k, "%s/kernel", name);
  return dream_st_find (file, k);
}

/* Loads NAME/kernel (k, k, in, out) and NAME/bias (out) into dst;
 * returns the floats used or 0 + error. */
static size_t
load_tf_conv (const dream_st_file *file, const char *name, int k, int in,
              int out, float *dst, dream_conv *cv, GError **error)
{
  char kn[96], bn[96];
  snprintf (kn, sizeof kn, "%s/kernel", name);
  snprintf (bn, sizeof bn, "%s/bias", name);
  int64_t ks[4] = { k, k, in, out }, bs[1] = { out };
  const dream_st_tensor *kt = dream_st_expect (file, kn, 4, ks, error);
  const dream_st_tensor *bt = kt ? dream_st_expect (file, bn, 1, bs, error) : NULL;
  if (!bt || !dream_st_to_f32 (kt, dst, kt->n_elements, error)
      || !dream_st_to_f32 (bt, dst + kt->n_elements, out, error))
    return 0;
  /* (ky, kx, ic, o) -> dream_conv2d_ex's (ky, ic, kx, o), in place per ky */
  if (k > 1)
    {
      size_t row = (size_t) k * in * out;
      float *tmp = g_new (float, row);
      for (int ky = 0; ky < k; ky++)
        {
          float *base = dst + ky * row;
          memcpy (tmp, base, sizeof (float) * row);
          for (int kx = 0; kx < k; kx++)
            for (int i = 0; i < in; i++)
              memcpy (base + ((size_t) i * k + kx) * out,
                      tmp + ((size_t) kx * in + i) * out, sizeof (float) * out);
        }
      g_free (tmp);
    }
  *cv = (dream_conv) { in, out, k, dst, dst + kt->n_elements };
  return (size_t) kt->n_elements + out;
}

static size_t
conv_floats (int k, int in, int out)
{
  return (size_t) k * k * in * out + out;
}

dream_rdn *
dream_rdn_load (const dream_st_file *file, GError **error)
{
  const dream_st_tensor *f0 = kernel (file, "F_0"), *f11 = kernel (file, "F_1_1");
  const dream_st_tensor *upn3 = kernel (file, "UPN3");
  if (!f0 || !f11 || !upn3 || f0->n_dims != 4 || f11->n_dims != 4 || upn3->n_dims != 4)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an RDN model: needs F_0/kernel, F_1_1/kernel and UPN3/kernel");
      return NULL;
    }
  int D = 0, C = 0;
  char name[64];
  for (;;)
    {
      snprintf (name, sizeof name, "LFF_%d", D + 1);
      if (D >= RDN_MAX || !kernel (file, name))
        break;
      D++;
    }
  for (;;)
    {
      snprintf (name, sizeof name, "F_1_%d", C + 1);
      if (C >= RDN_MAX || !kernel (file, name))
        break;
      C++;
    }
  const int G0 = (int) f0->shape[3], G = (int) f11->shape[3];
  int scale = 0;
  for (int s = 1; s <= 8; s++)
    if (upn3->shape[3] == 3 * s * s)
      scale = s;
  if (D < 1 || C < 1 || G0 < 1 || G0 > 1024 || G < 1 || G > 1024 || scale == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "Not an RDN model: found %d blocks of %d convs, G0 %d, G %d, "
                   "UPN3 with %d outputs (3*s*s for s = 1..8 expected)",
                   D, C, G0, G, (int) upn3->shape[3]);
      return NULL;
    }
  const int s2 = 3 * scale * scale;

  size_t total = conv_floats (3, 3, G0) + conv_floats (3, G0, G0)
    + conv_floats (1, D * G0, G0) + conv_floats (3, G0, G0)
    + conv_floats (5, G0, 64) + conv_floats (3, 64, 32) + conv_floats (3, 32, s2)
    + conv_floats (3, s2, s2);
  for (int c = 0; c < C; c++)
    total += D * conv_floats (3, G0 + c * G, G);
  total += D * conv_floats (1, G0 + C * G, G0);

  dream_rdn *net = g_new0 (dream_rdn, 1);
  *net = (dream_rdn) { .C = C, .D = D, .G = G, .G0 = G0, .scale = scale };
  net->dense = g_new0 (dream_conv, (gsize) D * C);
  net->lff = g_new0 (dream_conv, D);
  net->weights = dream_alloc (total, sizeof (float), "RDN weights", error);
  /* tmp: the SR kernel (3, 3, s2, 3), its OIHW form and the folded OIHW */
  size_t sr_n = (size_t) 9 * s2 * 3, fold_n = (size_t) 9 * s2 * s2;
  float *tmp = net->weights
    ? dream_alloc (2 * sr_n + 3 + fold_n + s2, sizeof (float), "RDN weights", error)
    : NULL;
  if (!tmp)
    goto fail;

  float *p = net->weights;
  size_t used;
#define LOAD(nm, k, in, out, cv)                                         \
  do {                                                                   \
    if (!(used = load_tf_conv (file, nm, k, in, out, p, cv, error)))     \
      goto fail;                                                         \
    p += used;                                                           \
  } while (0)

  LOAD ("F_m1", 3, 3, G0, &net->f_m1);
  for (size_t i = 0; i < (size_t) 9 * 3 * G0; i++)   /* input 0..1 -> 0..255 */
    ((float *) net->f_m1.w)[i] *= 255.0f;
  LOAD ("F_0", 3, G0, G0, &net->f_0);
  for (int d = 0; d < D; d++)
    {
      for (int c = 0; c < C; c++)
        {
          snprintf (name, sizeof name, "F_%d_%d", d + 1, c + 1);
          LOAD (name, 3, G0 + c * G, G, &net->dense[d * C + c]);
        }
      snprintf (name, sizeof name, "LFF_%d", d + 1);
      LOAD (name, 1, G0 + C * G, G0, &net->lff[d]);
    }
  LOAD ("GFF_1", 1, D * G0, G0, &net->gff1);
  LOAD ("GFF_2", 3, G0, G0, &net->gff2);
  LOAD ("UPN1", 5, G0, 64, &net->upn1);
  LOAD ("UPN2", 3, 64, 32, &net->upn2);
  LOAD ("UPN3", 3, 32, s2, &net->upn3);
#undef LOAD

  /* SR: loaded as (ky, ic, kx, o), /255 -> OIHW -> folded (s2, s2, 3, 3)
   * -> packed */
  {
    dream_conv sr_raw;
    float *hwio = tmp, *bias = tmp + sr_n;
    float *oihw = bias + 3, *fold = oihw + sr_n, *fold_b = fold + fold_n;
    if (!load_tf_conv (file, "SR", 3, s2, 3, hwio, &sr_raw, error))
      goto fail;
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++)
        for (int i = 0; i < s2; i++)
          for (int o = 0; o < 3; o++)
            oihw[(((size_t) o * s2 + i) * 3 + ky) * 3 + kx] =
              hwio[(((size_t) ky * s2 + i) * 3 + kx) * 3 + o] / 255.0f;
    for (int o = 0; o < 3; o++)
      bias[o] /= 255.0f;
    dream_sr_fold_upsample (oihw, bias, 3, s2, scale, fold, fold_b);
    dream_conv_ex_pack_oihw (fold, s2, s2, 3, p);
    memcpy (p + fold_n, fold_b, sizeof (float) * s2);
    net->sr = (dream_conv) { s2, s2, 3, p, p + fold_n };
    p += fold_n + s2;
  }
  g_free (tmp);
  return net;

fail:
  g_free (tmp);
  dream_rdn_free (net);
  return NULL;
}

/* ---- run state ---------------------------------------------------------- */

typedef struct {
  float *fm1;        /* (px, G0) */
  float *cat;        /* (px, G0 + C*G) */
  float *lrls;       /* (px, D*G0) */
  float *a, *b;      /* (px, max(G0, 64, 3s²)) */
  float *scratch;
  int max_h, max_w;
} rdn_state;

static int
rdn_wide (const dream_rdn *net)
{
  return MAX (MAX (net->G0, 64), 3 * net->scale * net->scale);
}

static size_t
rdn_scratch_floats (const dream_rdn *net)
{
  const dream_conv *all[] = { &net->f_m1, &net->f_0, &net->gff1, &net->gff2,
                              &net->upn1, &net->upn2, &net->upn3, &net->sr };
  size_t s = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    s = MAX (s, dream_conv2d_ex_scratch_size (all[i]));
  for (int i = 0; i < net->D * net->C; i++)
    s = MAX (s, dream_conv2d_ex_scratch_size (&net->dense[i]));
  return s;
}

static size_t
rdn_px_floats (const dream_rdn *net)
{
  return (size_t) net->G0 + net->G0 + net->C * net->G + net->D * net->G0
         + 2 * rdn_wide (net);
}

static size_t
rdn_state_bytes (const void *data, int max_h, int max_w, int n_threads)
{
  const dream_rdn *net = data;
  return sizeof (float) * ((size_t) max_h * max_w * rdn_px_floats (net)
                           + rdn_scratch_floats (net) * n_threads);
}

static void
rdn_state_free (void *data)
{
  rdn_state *s = data;
  if (!s)
    return;
  g_free (s->fm1);
  g_free (s->scratch);
  g_free (s);
}

static void *
rdn_state_new (const void *data, int max_h, int max_w, int n_threads,
               GError **error)
{
  const dream_rdn *net = data;
  rdn_state *s = g_new0 (rdn_state, 1);
  s->max_h = max_h;
  s->max_w = max_w;
  size_t px = (size_t) max_h * max_w;
  /* one block for all maps */
  s->fm1 = dream_alloc (px, rdn_px_floats (net) * sizeof (float), "RDN feature maps", error);
  s->scratch = s->fm1 ? dream_alloc (rdn_scratch_floats (net), (size_t) n_threads * sizeof (float),
                                     "RDN scratch", error) : NULL;
  if (!s->scratch)
    {
      rdn_state_free (s);
      return NULL;
    }
  s->cat = s->fm1 + px * net->G0;
  s->lrls = s->cat + px * (net->G0 + net->C * net->G);
  s->a = s->lrls + px * net->D * net->G0;
  s->b = s->a + px * rdn_wide (net);
  return s;
}

static gboolean
rdn_forward (const void *data, void *state, const float *x, int h, int w,
             float *y, dream_pool *pool, dream_progress *progress,
             double work, GError **error)
{
  const dream_rdn *net = data;
  rdn_state *s = state;
  g_return_val_if_fail (h <= s->max_h && w <= s->max_w, FALSE);
  const int G0 = net->G0, G = net->G, C = net->C, D = net->D;
  const int cw = G0 + C * G, lw = D * G0, s2 = 3 * net->scale * net->scale;
  const size_t px = (size_t) h * w;
  const double step = work / (8 + D * (C + 1));
  const dream_conv_post relu = { .act = DREAM_POST_RELU };
#define STEP()                                                          \
  do {                                                                  \
    if (progress && !dream_progress_step (progress, step, error))       \
      return FALSE;                                                     \
  } while (0)

  dream_conv2d_ex (&net->f_m1, NULL, x, 3, h, w, s->fm1, G0, pool, s->scratch);
  STEP ();
  dream_conv2d_ex (&net->f_0, NULL, s->fm1, G0, h, w, s->cat, cw, pool, s->scratch);
  STEP ();
  for (int d = 0; d < D; d++)
    {
      if (d > 0)   /* block input: the previous block's output */
        for (size_t i = 0; i < px; i++)
          memcpy (s->cat + i * cw, s->lrls + i * lw + (size_t) (d - 1) * G0,
                  sizeof (float) * G0);
      for (int c = 0; c < C; c++)
        {
          dream_conv2d_ex (&net->dense[d * C + c], &relu, s->cat, cw, h, w,
                           s->cat + G0 + c * G, cw, pool, s->scratch);
          STEP ();
        }
      dream_conv_post res = { .act = DREAM_POST_LINEAR, .residual = s->cat,
                              .res_stride = cw, .res_scale = 1.0f };
      dream_conv2d_ex (&net->lff[d], &res, s->cat, cw, h, w,
                       s->lrls + (size_t) d * G0, lw, pool, s->scratch);
      STEP ();
    }
  dream_conv2d_ex (&net->gff1, NULL, s->lrls, lw, h, w, s->a, G0, pool, s->scratch);
  STEP ();
  dream_conv_post fdf = { .act = DREAM_POST_LINEAR, .residual = s->fm1,
                          .res_stride = G0, .res_scale = 1.0f };
  dream_conv2d_ex (&net->gff2, &fdf, s->a, G0, h, w, s->b, G0, pool, s->scratch);
  STEP ();
  dream_conv2d_ex (&net->upn1, &relu, s->b, G0, h, w, s->a, 64, pool, s->scratch);
  STEP ();
  dream_conv2d_ex (&net->upn2, &relu, s->a, 64, h, w, s->b, 32, pool, s->scratch);
  STEP ();
  dream_conv2d_ex (&net->upn3, NULL, s->b, 32, h, w, s->a, s2, pool, s->scratch);
  STEP ();
  dream_conv2d_ex (&net->sr, NULL, s->a, s2, h, w, s->b, s2, pool, s->scratch);
  STEP ();
#undef STEP
  dream_pixel_shuffle (s->b, h, w, 3, net->scale, y);
  return TRUE;
}

static void *
rdn_load (const dream_st_file *file, GError **error)
{
  return dream_rdn_load (file, error);
}

static void
rdn_info (const void *data, dream_sr_info *info)
{
  const dream_rdn *net = data;
  *info = (dream_sr_info) {
    .scale = net->scale, .align = 1,
    /* F_m1, F_0, the dense convs, GFF_2, UPN1 (2), UPN2, UPN3, SR */
    .radius = 8 + net->D * net->C,
    .n_steps = 8 + net->D * (net->C + 1),
  };
}

const dream_sr_class dream_rdn_class = {
  .arch = "rdn",
  .load = rdn_load,
  .free = dream_rdn_free,
  .info = rdn_info,
  .state_bytes = rdn_state_bytes,
  .state_new = rdn_state_new,
  .state_free = rdn_state_free,
  .forward = rdn_forward,
};
