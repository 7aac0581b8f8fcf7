/* test_unet.c — the SD UNet against the original LDM code, and its ops.
 *
 * Golden cases (../shared/data/golden/unet_sd{1,2}, made by PyTorch 1.13
 * running Stability-AI's openaimodel.UNetModel on seeded random weights,
 * see their README.txt): the engine loads model.safetensors as it is
 * (heads from its "config" metadata), runs x, timesteps, context and must
 * match every top-level block's output (inter.*) and the final output.
 *
 * Tolerance: the reference's own float32 run differs from its float64
 * re-run by 3.4e-6 (SD1) and 2.8e-6 (SD2) at most, on outputs up to 1.7.
 * The engine is another float32 evaluation with a different summation
 * order (OpenBLAS blocks, double-accumulated norms), so it should sit at
 * the same distance from the float64 result; we allow 3e-5, about ten
 * times that gap, and check the mean error too (< 2e-6). A wrong eps,
 * head split or layer order moves outputs by 1e-3 or more.
 *
 * The ops (GroupNorm, GEGLU, nearest ×2, strided conv, timestep
 * embedding) are checked against naive loops written from their
 * definitions, the loader against broken files, and the LDM .yaml and
 * metadata readers against the original configs' layout.
 */
#include "io/ldm_config.h"
#include "io/safetensors.h"
#include "models/unet.h"
#include "models/vae.h"
#include "ops/nn.h"
#include "ops/unet_ops.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define OUT_TOL 3e-5
#define OUT_MEAN_TOL 2e-6
#define INTER_TOL 3e-5
#define NMSE_MAX 1e-5

/* ---- helpers -------------------------------------------------------------- */

static char *
golden_path (const char *dir, const char *file)
{
  const char *shared = g_getenv ("DREAM_SHARED_DATA");
  return g_build_filename (shared ? shared : "../shared/data", "golden", dir, file, NULL);
}

static dream_st_file *
open_golden (const char *dir, const char *file)
{
  char *p = golden_path (dir, file);
  GError *error = NULL;
  dream_st_file *f = dream_st_open (p, &error);
  if (!f)
    g_test_message ("%s: %s", p, error->message);
  g_clear_error (&error);
  g_free (p);
  return f;
}

static float *
read_all (const dream_st_file *f, const char *name, const dream_st_tensor **t_out)
{
  const dream_st_tensor *t = dream_st_find (f, name);
  g_assert_nonnull (t);
  float *v = g_new (float, t->n_elements);
  GError *error = NULL;
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, &error));
  if (t_out)
    *t_out = t;
  return v;
}

/* (B, C, H, W) → (B, H, W, C) */
static float *
nchw_to_nhwc (const float *x, int b, int c, int h, int w)
{
  float *y = g_new (float, (size_t) b * c * h * w);
  for (int i = 0; i < b; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < h * w; p++)
        y[((size_t) i * h * w + p) * c + ch] = x[((size_t) i * c + ch) * h * w + p];
  return y;
}

static double
max_abs_diff (const float *a, const float *b, size_t n, double *mean)
{
  double m = 0.0, s = 0.0;
  if (mean)
    *mean = INFINITY;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      double d = fabs ((double) a[i] - b[i]);
      m = MAX (m, d);
      s += d;
    }
  if (mean)
    *mean = s / (double) n;
  return m;
}

static double
norm_error (const float *a, const float *b, size_t n)
{
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      double d = (double) a[i] - b[i];
      num += d * d;
      den += (double) b[i] * b[i];
    }
  return den > 0.0 ? sqrt (num / den) : sqrt (num);
}

static void
fill_random (GRand *r, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, lo, hi);
}


/* ---- ops against naive loops --------------------------------------------- */

static void
test_group_norm (void)
{
  GRand *r = g_rand_new_with_seed (1);
  dream_pool *pool = dream_pool_new (2);
  const int cases[][3] = { { 64, 64, 32 }, { 3000, 96, 32 }, { 7, 320, 32 }, { 5000, 32, 1 } };
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      const int n = cases[k][0], c = cases[k][1], g = cases[k][2], cg = c / g;
      float *x = g_new (float, (size_t) n * c), *y = g_new (float, (size_t) n * c);
      float *ref = g_new (float, (size_t) n * c), gamma[320], beta[320];
      fill_random (r, x, (size_t) n * c, -2.0, 3.0);   /* a mean far from 0 */
      fill_random (r, gamma, c, 0.5, 1.5);
      fill_random (r, beta, c, -0.5, 0.5);
      for (int silu = 0; silu < 2; silu++)
        {
          for (int gi = 0; gi < g; gi++)
            {
              double s = 0, s2 = 0;
              for (int p = 0; p < n; p++)
                for (int ch = gi * cg; ch < (gi + 1) * cg; ch++)
                  s += x[(size_t) p * c + ch];
              double mean = s / ((double) n * cg);
              for (int p = 0; p < n; p++)
                for (int ch = gi * cg; ch < (gi + 1) * cg; ch++)
                  {
                    double d = x[(size_t) p * c + ch] - mean;
                    s2 += d * d;
                  }
              double rstd = 1.0 / sqrt (s2 / ((double) n * cg) + 1e-5);
              for (int p = 0; p < n; p++)
                for (int ch = gi * cg; ch < (gi + 1) * cg; ch++)
                  {
                    double v = (x[(size_t) p * c + ch] - mean) * rstd * gamma[ch] + beta[ch];
                    if (silu)
                      v = v / (1.0 + exp (-v));
                    ref[(size_t) p * c + ch] = (float) v;
                  }
            }
          dream_group_norm (x, n, c, g, gamma, beta, 1e-5f, silu, y, pool);
          double e = norm_error (y, ref, (size_t) n * c);
          g_test_message ("group_norm %d px x %d ch / %d groups, silu %d: nmse %.3g", n, c, g, silu, e);
          g_assert_cmpfloat (e, <, NMSE_MAX);
          /* in place gives the same */
          memcpy (ref, x, sizeof (float) * n * c);
          dream_group_norm (ref, n, c, g, gamma, beta, 1e-5f, silu, ref, pool);
          g_assert_cmpmem (ref, sizeof (float) * n * c, y, sizeof (float) * n * c);
        }
      g_free (x); g_free (y); g_free (ref);
    }
  dream_pool_free (pool);
  g_rand_free (r);
}


static void
test_silu (void)
{
  const int n = 20001;
  float *x = g_new (float, n), *y = g_new (float, n);
  for (int i = 0; i < n; i++)
    x[i] = y[i] = (float) ((i - n / 2) * 0.01);   /* −100 .. 100 */
  dream_silu (y, n);
  double worst = 0.0;
  for (int i = 0; i < n; i++)
    {
      double ref = x[i] / (1.0 + exp (-(double) x[i]));
      /* relative, or absolute for the values that underflow (x < −87) */
      worst = MAX (worst, fabs (y[i] - ref) / MAX (fabs (ref), 1e-20));
    }
  g_test_message ("silu on [-100, 100]: max relative error %.3g", worst);
  g_assert_cmpfloat (worst, <, 1e-6);
  g_free (x);
  g_free (y);
}

static void
test_geglu (void)
{
  GRand *r = g_rand_new_with_seed (2);
  dream_pool *pool = dream_pool_new (2);
  const int n = 300, f = 40;
  float *h = g_new (float, (size_t) n * 2 * f), *y = g_new (float, (size_t) n * f);
  float *ref = g_new (float, (size_t) n * f);
  fill_random (r, h, (size_t) n * 2 * f, -4.0, 4.0);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < f; j++)
      {
        double a = h[(size_t) i * 2 * f + j], g = h[(size_t) i * 2 * f + f + j];
        ref[(size_t) i * f + j] = (float) (a * 0.5 * g * (1.0 + erf (g / sqrt (2.0))));
      }
  dream_geglu (h, n, f, y, pool);
  g_assert_cmpfloat (norm_error (y, ref, (size_t) n * f), <, NMSE_MAX);
  /* gelu over a fine grid: a = 1, g from −8 to 8 (erf's approximation
     pieces and their joints) */
  const int m = 16001;
  float *h2 = g_new (float, 2 * (size_t) m), *y2 = g_new (float, m);
  for (int i = 0; i < m; i++)
    {
      h2[i] = 1.0f;
      h2[m + i] = (float) ((i - m / 2) * 0.001);
    }
  dream_geglu (h2, 1, m, y2, pool);   /* overwrites the gate half */
  double worst = 0.0;
  for (int i = 0; i < m; i++)
    {
      double g = (float) ((i - m / 2) * 0.001), r = 0.5 * g * (1.0 + erf (g / sqrt (2.0)));
      worst = MAX (worst, fabs (y2[i] - r));
    }
  g_test_message ("gelu on [-8, 8]: max |error| %.3g", worst);
  g_assert_cmpfloat (worst, <, 1e-6);
  g_free (h2);
  g_free (y2);
  g_free (h); g_free (y); g_free (ref);
  dream_pool_free (pool);
  g_rand_free (r);
}

/* Naive convolution from the definition on PyTorch's layout, with the
 * input first enlarged ×2 (nearest) if up, zero padding pad at the top and
 * left and as much as needed at the bottom and right. */
static void
conv_naive (const float *x, int h, int w, int ci, const float *oihw, const float *b, int co,
            int k, int stride, int pad, gboolean up, float *y, int oh, int ow)
{
  const int vh = up ? 2 * h : h, vw = up ? 2 * w : w;
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox++)
      for (int o = 0; o < co; o++)
        {
          double s = b ? b[o] : 0.0;
          for (int i = 0; i < ci; i++)
            for (int ky = 0; ky < k; ky++)
              for (int kx = 0; kx < k; kx++)
                {
                  int sy = oy * stride + ky - pad, sx = ox * stride + kx - pad;
                  if (sy < 0 || sy >= vh || sx < 0 || sx >= vw)
                    continue;
                  if (up)
                    sy /= 2, sx /= 2;
                  s += (double) x[((size_t) sy * w + sx) * ci + i]
                       * oihw[(((size_t) o * ci + i) * k + ky) * k + kx];
                }
          y[((size_t) oy * ow + ox) * co + o] = (float) s;
        }
}

static void
test_conv_ohwi (void)
{
  GRand *r = g_rand_new_with_seed (3);
  /* in, out, k, h, w, stride, pad, up, batch */
  const int cases[][9] = {
    { 5, 7, 3, 9, 11, 1, 1, 0, 2 },     /* plain, odd sizes */
    { 16, 300, 3, 4, 4, 1, 1, 0, 2 },   /* one chunk: output channels split */
    { 8, 6, 1, 20, 30, 1, 0, 0, 1 },    /* 1×1 */
    { 6, 5, 3, 9, 7, 2, 1, 0, 2 },      /* UNet Downsample, odd input: ⌈h/2⌉ */
    { 6, 5, 3, 10, 8, 2, 0, 0, 2 },     /* VAE Downsample: pad bottom/right */
    { 4, 9, 3, 6, 5, 1, 1, 1, 2 },      /* Upsample: nearest ×2 + conv */
    { 3, 4, 3, 40, 33, 1, 1, 0, 1 },    /* many chunks */
    { 40, 24, 3, 37, 35, 1, 1, 0, 2 },  /* wide: the band path, several bands */
    { 32, 70, 3, 7, 33, 1, 1, 0, 2 },   /* band path, one band per image, channels split */
    { 33, 9, 3, 9, 17, 1, 1, 1, 2 },    /* band path reading the ×2 enlargement */
    { 48, 16, 3, 40, 40, 2, 1, 0, 1 },  /* wide but stride 2: gather path */
  };
  for (int nt = 1; nt <= 2; nt++)
    {
      dream_pool *pool = dream_pool_new (nt);
      for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          const int *p = cases[c];
          const int ci = p[0], co = p[1], k = p[2], h = p[3], w = p[4], stride = p[5];
          const int pad = p[6], up = p[7], B = p[8];
          const int ih = up ? 2 * h : h, iw = up ? 2 * w : w;
          const int oh = stride == 1 ? ih : (pad ? (ih + 1) / 2 : ih / 2);
          const int ow = stride == 1 ? iw : (pad ? (iw + 1) / 2 : iw / 2);
          size_t nx = (size_t) B * h * w * ci, ny = (size_t) B * oh * ow * co;
          float *x = g_new (float, nx), *wt = g_new (float, (size_t) co * ci * k * k);
          float *bias = g_new (float, co), *y = g_new (float, ny), *ref = g_new (float, ny);
          fill_random (r, x, nx, -1, 1);
          fill_random (r, wt, (size_t) co * ci * k * k, -1, 1);
          fill_random (r, bias, co, -1, 1);
          for (int b = 0; b < B; b++)
            conv_naive (x + (size_t) b * h * w * ci, h, w, ci, wt, bias, co, k, stride, pad, up,
                        ref + (size_t) b * oh * ow * co, oh, ow);
          /* the weight as a file tensor, through the per-layer widening */
          dream_st_tensor wtt = { .name = "w", .dtype = DREAM_DTYPE_F32, .n_dims = 4,
                                  .shape = { co, ci, k, k }, .n_elements = (int64_t) co * ci * k * k,
                                  .data = wt, .n_bytes = sizeof (float) * co * ci * k * k };
          float *wbuf = g_new (float, (size_t) co * ci * k * k);
          dream_conv_ohwi cv = { ci, co, k, dream_weight_widen_ohwi (&wtt, wbuf, pool, NULL), bias };
          g_assert_nonnull (cv.w);
          float *scratch = g_new (float, nt * dream_conv_ohwi_scratch_size (&cv, stride, oh, ow));
          dream_conv_ohwi_run (&cv, stride, stride == 1 ? k / 2 : pad, up, x, B, h, w, y, oh, ow,
                               pool, scratch);
          g_free (wbuf);
          double e = norm_error (y, ref, ny);
          g_test_message ("conv %d->%d k%d %dx%d stride %d pad %d up %d batch %d, %d threads: nmse %.3g",
                          ci, co, k, h, w, stride, pad, up, B, nt, e);
          g_assert_cmpfloat (e, <, NMSE_MAX);
          g_free (x); g_free (wt); g_free (bias); g_free (y); g_free (ref); g_free (scratch);
        }
      dream_pool_free (pool);
    }
  g_rand_free (r);
}


static void
test_sd_attention (void)
{
  GRand *r = g_rand_new_with_seed (5);
  /* batch, n_q, n_k, heads, d */
  const int cases[][5] = { { 2, 70, 77, 4, 8 }, { 1, 300, 300, 2, 40 }, { 2, 5000, 21, 1, 16 },
                           { 1, 64, 1, 3, 5 } };
  for (int nt = 1; nt <= 2; nt++)
    {
      dream_pool *pool = dream_pool_new (nt);
      for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          const int B = cases[c][0], nq = cases[c][1], nk = cases[c][2], H = cases[c][3];
          const int d = cases[c][4], ld = H * d;
          float *q = g_new (float, (size_t) B * nq * ld), *k = g_new (float, (size_t) B * nk * ld);
          float *v = g_new (float, (size_t) B * nk * ld), *o = g_new (float, (size_t) B * nq * ld);
          float *ref = g_new (float, (size_t) B * nq * ld);
          double *sc = g_new (double, nk);
          fill_random (r, q, (size_t) B * nq * ld, -3, 3);
          fill_random (r, k, (size_t) B * nk * ld, -3, 3);
          fill_random (r, v, (size_t) B * nk * ld, -1, 1);
          for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
              for (int i = 0; i < nq; i++)
                {
                  double mx = -INFINITY, sum = 0;
                  for (int j = 0; j < nk; j++)
                    {
                      double dot = 0;
                      for (int e = 0; e < d; e++)
                        dot += (double) q[((size_t) b * nq + i) * ld + h * d + e]
                               * k[((size_t) b * nk + j) * ld + h * d + e];
                      sc[j] = dot / sqrt (d);
                      mx = MAX (mx, sc[j]);
                    }
                  for (int j = 0; j < nk; j++)
                    sum += sc[j] = exp (sc[j] - mx);
                  for (int e = 0; e < d; e++)
                    {
                      double acc = 0;
                      for (int j = 0; j < nk; j++)
                        acc += sc[j] * v[((size_t) b * nk + j) * ld + h * d + e];
                      ref[((size_t) b * nq + i) * ld + h * d + e] = (float) (acc / sum);
                    }
                }
          dream_attention_args a = { .batch = B, .n_q = nq, .n_k = nk, .heads = H, .d = d,
                                     .q = q, .ldq = ld, .k = k, .ldk = ld, .v = v, .ldv = ld,
                                     .out = o, .ldo = ld };
          float *scratch = g_new (float, nt * dream_sd_attention_scratch_size (nq, nk));
          dream_sd_attention_run (&a, pool, scratch);
          double e = norm_error (o, ref, (size_t) B * nq * ld);
          g_test_message ("attention %d x (%d q, %d k) x %d heads of %d, %d threads: nmse %.3g",
                          B, nq, nk, H, d, nt, e);
          g_assert_cmpfloat (e, <, NMSE_MAX);
          g_free (q); g_free (k); g_free (v); g_free (o); g_free (ref); g_free (sc); g_free (scratch);
        }
      dream_pool_free (pool);
    }
  g_rand_free (r);
}


static void
test_linear (void)
{
  GRand *r = g_rand_new_with_seed (6);
  const int cases[][3] = { { 1, 32, 128 }, { 2, 128, 1280 }, { 300, 40, 70 }, { 5000, 64, 48 },
                           { 154, 768, 320 } };
  for (int nt = 1; nt <= 2; nt++)
    {
      dream_pool *pool = dream_pool_new (nt);
      for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
        for (int acc = 0; acc < 2; acc++)
          {
            const int n = cases[c][0], in = cases[c][1], out = cases[c][2], ldx = in + 3;
            float *x = g_new (float, (size_t) n * ldx), *w = g_new (float, (size_t) out * in);
            float *b = g_new (float, out), *y = g_new (float, (size_t) n * out);
            float *ref = g_new (float, (size_t) n * out);
            fill_random (r, x, (size_t) n * ldx, -1, 1);
            fill_random (r, w, (size_t) out * in, -1, 1);
            fill_random (r, b, out, -1, 1);
            fill_random (r, y, (size_t) n * out, -1, 1);
            for (int i = 0; i < n; i++)
              for (int o = 0; o < out; o++)
                {
                  double sum = b[o] + (acc ? y[(size_t) i * out + o] : 0.0);
                  for (int k = 0; k < in; k++)
                    sum += (double) x[(size_t) i * ldx + k] * w[(size_t) o * in + k];
                  ref[(size_t) i * out + o] = (float) sum;
                }
            dream_linear_w l = { in, out, w, b };
            dream_sd_linear_run (&l, x, n, ldx, y, out, acc, pool);
            double e = norm_error (y, ref, (size_t) n * out);
            g_test_message ("linear %d rows %d->%d accumulate %d, %d threads: nmse %.3g", n, in,
                            out, acc, nt, e);
            g_assert_cmpfloat (e, <, NMSE_MAX);
            g_free (x); g_free (w); g_free (b); g_free (y); g_free (ref);
          }
      dream_pool_free (pool);
    }
  g_rand_free (r);
}

static void
test_widen (void)
{
  /* F16 and BF16 bit patterns, incl. subnormals, ±0, ±inf, through the
     pool-split (F16C) path and the generic one: both as dream_st_to_f32 */
  const int n = 200000;
  guint16 *h = g_new (guint16, n);
  GRand *r = g_rand_new_with_seed (4);
  for (int i = 0; i < n; i++)
    h[i] = (guint16) (i < 65536 ? (guint32) i : g_rand_int (r));
  dream_pool *pool = dream_pool_new (2);
  for (int d = 0; d < 2; d++)
    {
      dream_st_tensor t = { .name = "t", .dtype = d ? DREAM_DTYPE_BF16 : DREAM_DTYPE_F16,
                            .n_dims = 1, .shape = { n }, .n_elements = n, .data = h,
                            .n_bytes = (size_t) n * 2 };
      float *a = g_new (float, n), *b = g_new (float, n);
      g_assert_true (dream_st_to_f32 (&t, a, n, NULL));
      g_assert_true (dream_weight_widen (&t, b, pool, NULL) == b);
      for (int i = 0; i < n; i++)
        if (!(isnan (a[i]) && isnan (b[i])))
          g_assert_cmpmem (&a[i], 4, &b[i], 4);
      g_free (a);
      g_free (b);
    }
  /* conv weights: F16 (out, in, 3, 3) widened and permuted to (out, 3, 3, in) */
  {
    const int co = 37, ci = 21;
    dream_st_tensor t = { .name = "c", .dtype = DREAM_DTYPE_F16, .n_dims = 4,
                          .shape = { co, ci, 3, 3 }, .n_elements = co * ci * 9, .data = h,
                          .n_bytes = (size_t) co * ci * 9 * 2 };
    float *plain = g_new (float, co * ci * 9), *ohwi = g_new (float, co * ci * 9);
    g_assert_true (dream_st_to_f32 (&t, plain, t.n_elements, NULL));
    g_assert_true (dream_weight_widen_ohwi (&t, ohwi, pool, NULL) == ohwi);
    for (int o = 0; o < co; o++)
      for (int i = 0; i < ci; i++)
        for (int tap = 0; tap < 9; tap++)
          {
            float a = plain[((size_t) o * ci + i) * 9 + tap], b = ohwi[((size_t) o * 9 + tap) * ci + i];
            if (!(isnan (a) && isnan (b)))
              g_assert_cmpmem (&a, 4, &b, 4);
          }
    g_free (plain);
    g_free (ohwi);
  }
  /* aligned F32 is not copied */
  float f[4] = { 1, 2, 3, 4 };
  dream_st_tensor t = { .name = "f", .dtype = DREAM_DTYPE_F32, .n_dims = 1, .shape = { 4 },
                        .n_elements = 4, .data = f, .n_bytes = 16 };
  g_assert_true (dream_weight_widen (&t, NULL, pool, NULL) == f);
  dream_pool_free (pool);
  g_rand_free (r);
  g_free (h);
}


/* Runs `dream run-net --net NET` on a golden case's io file; the output
 * file opened, or NULL (test skipped) without the executable. */
static dream_st_file *
run_net_cli (const char *dir, const char *net, char **out_path)
{
  const char *exe = g_getenv ("DREAM_EXE");
  const char *shared = g_getenv ("DREAM_SHARED_DATA");
  if (!exe)
    return NULL;
  char *model = g_build_filename (shared ? shared : "../shared/data", "golden", dir, "model.safetensors", NULL);
  char *in = g_build_filename (shared ? shared : "../shared/data", "golden", dir, "io.safetensors", NULL);
  char *tmp = g_dir_make_tmp ("dream-run-net-XXXXXX", NULL);
  *out_path = g_build_filename (tmp, "out.safetensors", NULL);
  const char *argv[] = { exe, "run-net", "--model", model, "--net", net, "--in", in,
                         "--out", *out_path, NULL };
  int status = -1;
  char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
  if (status != 0)
    g_test_message ("run-net: %s", err);
  g_assert_cmpint (status, ==, 0);
  dream_st_file *f = dream_st_open (*out_path, NULL);
  g_assert_nonnull (f);
  g_free (model); g_free (in); g_free (tmp); g_free (err);
  return f;
}

static void
remove_out (char *path)
{
  char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

/* ---- golden UNets --------------------------------------------------------- */

typedef struct {
  const dream_st_file *io;
  int n_checked;
  double worst;
} probe_ctx;

static void
check_probe (gpointer user, const char *name, const float *data, int batch,
             int h, int w, int c)
{
  probe_ctx *p = user;
  char *key = g_strconcat ("inter.", name, NULL);
  const dream_st_tensor *t;
  float *ref = read_all (p->io, key, &t);
  float *ref_hwc = t->n_dims == 4 ? nchw_to_nhwc (ref, batch, c, h, w) : g_memdup2 (ref, sizeof (float) * t->n_elements);
  g_assert_cmpint (t->n_elements, ==, (gint64) batch * h * w * c);
  double mean, d = max_abs_diff (data, ref_hwc, t->n_elements, &mean);
  g_test_message ("  %-22s max |engine - torch f32| = %.3g (mean %.2g)", key, d, mean);
  g_assert_cmpfloat (d, <, INTER_TOL);
  p->worst = MAX (p->worst, d);
  p->n_checked++;
  g_free (ref);
  g_free (ref_hwc);
  g_free (key);
}

static void
run_golden (const char *dir, int expect_heads, int expect_dhead, gboolean linear)
{
  dream_st_file *mf = open_golden (dir, "model.safetensors");
  dream_st_file *io = open_golden (dir, "io.safetensors");
  if (!mf || !io)
    {
      g_test_skip ("golden data not found (set DREAM_SHARED_DATA)");
      dream_st_close (mf);
      dream_st_close (io);
      return;
    }
  GError *error = NULL;
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  g_assert_true (dream_ldm_config_load_metadata (&cfg, mf, &error));
  g_assert_no_error (error);
  dream_unet *net = dream_unet_load (mf, &cfg, &error);
  g_assert_no_error (error);
  g_assert_nonnull (net);
  g_assert_cmpint (net->in_channels, ==, 4);
  g_assert_cmpint (net->out_channels, ==, 4);
  g_assert_cmpint (net->model_channels, ==, 32);
  g_assert_cmpint (net->context_dim, ==, 32);
  g_assert_cmpint (net->n_input, ==, 4);
  g_assert_cmpint (net->n_output, ==, 4);
  g_assert_cmpint (net->input[1].layers[1].xf.heads, ==, expect_heads);
  g_assert_cmpint (net->input[1].layers[1].xf.d_head, ==, expect_dhead);
  g_assert_cmpint (net->input[1].layers[1].xf.linear, ==, linear);

  const dream_st_tensor *tx;
  float *x_nchw = read_all (io, "x", &tx);
  int B = (int) tx->shape[0], C = (int) tx->shape[1], H = (int) tx->shape[2], W = (int) tx->shape[3];
  float *x = nchw_to_nhwc (x_nchw, B, C, H, W);
  float *t = read_all (io, "timesteps", NULL);
  const dream_st_tensor *tc;
  float *ctx = read_all (io, "context", &tc);
  float *ref = read_all (io, "out", NULL);
  float *ref64 = read_all (io, "out_f64ref", NULL);
  float *ref_hwc = nchw_to_nhwc (ref, B, 4, H, W), *ref64_hwc = nchw_to_nhwc (ref64, B, 4, H, W);
  size_t n = (size_t) B * H * W * 4;
  float *out = g_new (float, n);

  /* the sinusoidal embedding, as PyTorch computes it in float32 */
  float *temb = read_all (io, "timestep_embedding", NULL), emb[32];
  for (int b = 0; b < B; b++)
    {
      dream_timestep_embedding (t[b], 32, emb);
      double d = max_abs_diff (emb, temb + b * 32, 32, NULL);
      g_test_message ("timestep_embedding t=%g: max diff %.3g", t[b], d);
      g_assert_cmpfloat (d, <, 1e-5);
    }

  dream_pool *pool = dream_pool_new (2);
  dream_unet_state s;
  g_assert_true (dream_unet_state_init (&s, net, B, H, W, (int) tc->shape[1],
                                        dream_pool_n_threads (pool), &error));
  g_assert_no_error (error);
  g_test_message ("%s: state %.1f kB", dir, dream_unet_state_bytes (&s) / 1024.0);
  probe_ctx pc = { io, 0, 0.0 };
  dream_unet_state_set_probe (&s, check_probe, &pc);
  g_assert_true (dream_unet_forward (net, &s, x, t, ctx, out, pool, NULL, 0.0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pc.n_checked, ==, 1 + 4 + 1 + 4);

  double mean, d32 = max_abs_diff (out, ref_hwc, n, NULL);
  double d64 = max_abs_diff (out, ref64_hwc, n, &mean);
  g_test_message ("%s out: max |engine - torch f32| = %.3g, max |engine - f64| = %.3g (mean %.2g)",
                  dir, d32, d64, mean);
  g_assert_cmpfloat (d64, <, OUT_TOL);
  g_assert_cmpfloat (mean, <, OUT_MEAN_TOL);

  /* same inputs, same bits */
  float *again = g_new (float, n);
  dream_unet_state_set_probe (&s, NULL, NULL);
  g_assert_true (dream_unet_forward (net, &s, x, t, ctx, again, pool, NULL, 0.0, &error));
  g_assert_cmpmem (out, n * sizeof (float), again, n * sizeof (float));

  /* batch 1 gives the same as each image of batch 2 */
  dream_unet_state s1;
  g_assert_true (dream_unet_state_init (&s1, net, 1, H, W, (int) tc->shape[1],
                                        dream_pool_n_threads (pool), &error));
  for (int b = 0; b < B; b++)
    {
      size_t per = (size_t) H * W * 4, cper = (size_t) tc->shape[1] * tc->shape[2];
      g_assert_true (dream_unet_forward (net, &s1, x + b * per, t + b, ctx + b * cper, again,
                                         pool, NULL, 0.0, &error));
      /* other GEMM shapes, other rounding: same to float32 noise */
      g_assert_cmpfloat (max_abs_diff (again, out + b * per, per, NULL), <, 1e-5);
    }
  dream_unet_state_clear (&s1);

  dream_unet_state_clear (&s);
  dream_pool_free (pool);
  dream_unet_free (net);
  dream_ldm_config_clear (&cfg);
  g_free (x_nchw); g_free (x); g_free (t); g_free (ctx); g_free (ref); g_free (ref64);
  g_free (ref_hwc); g_free (ref64_hwc); g_free (out); g_free (again); g_free (temb);
  dream_st_close (mf);
  dream_st_close (io);
}

static void
test_golden_sd1 (void)
{
  run_golden ("unet_sd1", 4, 8, FALSE);   /* num_heads 4 over 32 and 64 channels */
}

static void
test_golden_sd2 (void)
{
  run_golden ("unet_sd2", 4, 8, TRUE);    /* num_head_channels 8: 4 heads at 32 channels */
}


/* ---- files: layouts, dtypes, broken models ------------------------------- */

typedef struct {
  const char *drop;         /* tensor left out, or NULL */
  const char *reshape;      /* tensor given the shape below, or NULL */
  int n_dims;
  int64_t shape[4];
  const char *prefix;       /* put before every name ("" or NULL: none) */
  const dream_st_file *also;/* a second file's tensors added with also_prefix */
  const char *also_prefix;
  dream_dtype dtype;        /* F32, F16 or BF16; F32 with round_to: values rounded through it */
  dream_dtype round_to;
  const char *config;       /* metadata "config", or NULL to keep the source's */
} rewrite;

static guint16
f32_to_f16 (float f)
{
  /* round to nearest even through the hardware-free route: via double */
  guint32 x;
  memcpy (&x, &f, 4);
  guint32 sign = (x >> 16) & 0x8000;
  float a = fabsf (f);
  if (a >= 65520.0f)
    return (guint16) (sign | 0x7c00);
  if (a < 6.103515625e-05f)   /* subnormal: units of 2^-24 */
    return (guint16) (sign | (guint32) lrintf (a * 16777216.0f));
  int e;
  float m = frexpf (a, &e);                  /* a = m 2^e, m in [0.5, 1) */
  guint32 mant = (guint32) lrintf ((m * 2.0f - 1.0f) * 1024.0f);
  int ee = e - 1 + 15;
  if (mant == 1024)
    mant = 0, ee++;
  return (guint16) (sign | ((guint32) ee << 10) | mant);
}

static guint16
f32_to_bf16 (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  x += 0x7fff + ((x >> 16) & 1);
  return (guint16) (x >> 16);
}

static float
through (float f, dream_dtype d)
{
  guint16 h = d == DREAM_DTYPE_F16 ? f32_to_f16 (f) : f32_to_bf16 (f);
  dream_st_tensor t = { .name = "x", .dtype = d, .n_dims = 1, .shape = { 1 }, .n_elements = 1,
                        .data = &h, .n_bytes = 2 };
  float out;
  g_assert_true (dream_st_to_f32 (&t, &out, 1, NULL));
  return out;
}

/* Writes a copy of src's tensors (and also's) with the changes asked for:
 * a safetensors header by json-glib, then the data. */
static char *
write_rewrite (const dream_st_file *src, const rewrite *rw)
{
  char *dir = g_dir_make_tmp ("dream-unet-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  g_free (dir);
  JsonBuilder *jb = json_builder_new ();
  GByteArray *data = g_byte_array_new ();
  json_builder_begin_object (jb);
  const dream_st_file *files[2] = { src, rw->also };
  const char *prefixes[2] = { rw->prefix ? rw->prefix : "", rw->also_prefix ? rw->also_prefix : "" };
  const dream_dtype dt = rw->dtype;
  const size_t es = dream_dtype_size (dt);
  for (int f = 0; f < 2 && files[f]; f++)
    for (int i = 0; i < dream_st_count (files[f]); i++)
      {
        const dream_st_tensor *t = dream_st_get (files[f], i);
        if (rw->drop && f == 0 && !strcmp (t->name, rw->drop))
          continue;
        gboolean re = rw->reshape && f == 0 && !strcmp (t->name, rw->reshape);
        int nd = re ? rw->n_dims : t->n_dims;
        int64_t n = 1, shape[8];
        for (int d = 0; d < nd; d++)
          n *= shape[d] = re ? rw->shape[d] : t->shape[d];
        float *v = g_new0 (float, MAX (n, t->n_elements));
        g_assert_true (dream_st_to_f32 (t, v, t->n_elements, NULL));
        if (re && nd == 4 && t->n_dims == 4 && shape[1] > t->shape[1])
          {
            /* more input channels: the old ones first, zeros after */
            float *w = g_new0 (float, n);
            int64_t per_in = shape[2] * shape[3];
            for (int64_t o = 0; o < shape[0]; o++)
              memcpy (w + o * shape[1] * per_in, v + o * t->shape[1] * per_in,
                      sizeof (float) * t->shape[1] * per_in);
            g_free (v);
            v = w;
          }
        guint offset = data->len;
        for (int64_t k = 0; k < n; k++)
          {
            if (dt == DREAM_DTYPE_F32)
              {
                float x = rw->round_to == DREAM_DTYPE_F32 ? v[k] : through (v[k], rw->round_to);
                g_byte_array_append (data, (const guint8 *) &x, 4);
              }
            else
              {
                guint16 h = dt == DREAM_DTYPE_F16 ? f32_to_f16 (v[k]) : f32_to_bf16 (v[k]);
                g_byte_array_append (data, (const guint8 *) &h, 2);
              }
          }
        g_free (v);
        char *name = g_strconcat (prefixes[f], t->name, NULL);
        json_builder_set_member_name (jb, name);
        json_builder_begin_object (jb);
        json_builder_set_member_name (jb, "dtype");
        json_builder_add_string_value (jb, dream_dtype_name (dt));
        json_builder_set_member_name (jb, "shape");
        json_builder_begin_array (jb);
        for (int d = 0; d < nd; d++)
          json_builder_add_int_value (jb, shape[d]);
        json_builder_end_array (jb);
        json_builder_set_member_name (jb, "data_offsets");
        json_builder_begin_array (jb);
        json_builder_add_int_value (jb, offset);
        json_builder_add_int_value (jb, (gint64) (offset + n * es));
        json_builder_end_array (jb);
        json_builder_end_object (jb);
        g_free (name);
      }
  const char *config = rw->config ? rw->config : dream_st_metadata (src, "config");
  if (config)
    {
      json_builder_set_member_name (jb, "__metadata__");
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "config");
      json_builder_add_string_value (jb, config);
      json_builder_end_object (jb);
    }
  json_builder_end_object (jb);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (jb);
  json_generator_set_root (gen, root);
  gsize hlen;
  char *header = json_generator_to_data (gen, &hlen);
  guint64 len = GUINT64_TO_LE (hlen);
  FILE *out = fopen (path, "wb");
  g_assert_nonnull (out);
  g_assert_cmpint (fwrite (&len, 8, 1, out), ==, 1);
  g_assert_cmpint (fwrite (header, 1, hlen, out), ==, hlen);
  g_assert_cmpint (fwrite (data->data, 1, data->len, out), ==, data->len);
  fclose (out);
  g_free (header);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (jb);
  g_byte_array_unref (data);
  return path;
}

static void
remove_file (char *path)
{
  char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

/* Runs a model file on the golden sd1 inputs (x padded with `extra`
 * channels of noise); out (2, 8, 8, 4) newly allocated. */
static float *
run_file (const char *path, int extra, GError **error)
{
  dream_st_file *io = open_golden ("unet_sd1", "io.safetensors");
  dream_st_file *f = dream_st_open (path, error);
  if (!f)
    return NULL;
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  dream_unet *net = NULL;
  float *out = NULL;
  if (dream_ldm_config_load_metadata (&cfg, f, error) && (net = dream_unet_load (f, &cfg, error)))
    {
      const dream_st_tensor *tx;
      float *xn = read_all (io, "x", &tx), *x = nchw_to_nhwc (xn, 2, 4, 8, 8);
      float *t = read_all (io, "timesteps", NULL), *ctx = read_all (io, "context", NULL);
      int C = 4 + extra;
      float *xe = g_new (float, (size_t) 2 * 64 * C);
      for (int p = 0; p < 2 * 64; p++)
        for (int c = 0; c < C; c++)
          xe[p * C + c] = c < 4 ? x[p * 4 + c] : (float) sin (p * 0.37 + c);
      dream_pool *pool = dream_pool_new (2);
      dream_unet_state s;
      out = g_new (float, 2 * 64 * 4);
      g_assert_cmpint (net->in_channels, ==, C);
      g_assert_true (dream_unet_state_init (&s, net, 2, 8, 8, 77, 2, error));
      g_assert_true (dream_unet_forward (net, &s, xe, t, ctx, out, pool, NULL, 0, error));
      dream_unet_state_clear (&s);
      dream_pool_free (pool);
      g_free (xn); g_free (x); g_free (t); g_free (ctx); g_free (xe);
    }
  dream_unet_free (net);
  dream_ldm_config_clear (&cfg);
  dream_st_close (f);
  dream_st_close (io);
  return out;
}

static void
test_layouts_and_dtypes (void)
{
  dream_st_file *mf = open_golden ("unet_sd1", "model.safetensors");
  dream_st_file *vf = open_golden ("vae", "model.safetensors");
  if (!mf || !vf)
    {
      g_test_skip ("golden data not found");
      dream_st_close (mf);
      dream_st_close (vf);
      return;
    }
  GError *error = NULL;
  char *p0 = write_rewrite (mf, &(rewrite) { .dtype = DREAM_DTYPE_F32, .round_to = DREAM_DTYPE_F32 });
  float *ref = run_file (p0, 0, &error);
  g_assert_no_error (error);

  /* a whole checkpoint: prefixed UNet and VAE in one file */
  char *p1 = write_rewrite (mf, &(rewrite) { .prefix = "model.diffusion_model.", .also = vf,
                                             .also_prefix = "first_stage_model.",
                                             .dtype = DREAM_DTYPE_F32, .round_to = DREAM_DTYPE_F32 });
  float *out = run_file (p1, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (out, 2 * 64 * 4 * sizeof (float), ref, 2 * 64 * 4 * sizeof (float));
  g_free (out);
  dream_st_file *ck = dream_st_open (p1, &error);
  g_assert_true (dream_unet_detect (ck) && dream_vae_detect (ck));
  dream_vae *vae = dream_vae_load (ck, &error);
  g_assert_no_error (error);
  g_assert_true (vae->has_encoder && vae->has_decoder);
  dream_vae_free (vae);
  dream_st_close (ck);

  /* F16 and BF16 weights, widened per layer, give exactly what F32
     weights holding the same values give */
  const dream_dtype dts[] = { DREAM_DTYPE_F16, DREAM_DTYPE_BF16 };
  for (int i = 0; i < 2; i++)
    {
      char *ph = write_rewrite (mf, &(rewrite) { .dtype = dts[i], .round_to = dts[i] });
      char *pr = write_rewrite (mf, &(rewrite) { .dtype = DREAM_DTYPE_F32, .round_to = dts[i] });
      float *a = run_file (ph, 0, &error), *b = run_file (pr, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (a, 2 * 64 * 4 * sizeof (float), b, 2 * 64 * 4 * sizeof (float));
      double mean, d = max_abs_diff (a, ref, 2 * 64 * 4, &mean);
      g_test_message ("%s weights: max |out - F32 out| = %.3g", dream_dtype_name (dts[i]), d);
      g_assert_cmpfloat (d, <, 0.1);   /* same network, coarser weights */
      g_free (a); g_free (b);
      remove_file (ph);
      remove_file (pr);
    }

  /* an inpainting-style UNet: 9 input channels; zero weights on the five
     extra ones give the 4-channel result, up to rounding: the first
     convolution's reduction is 81 terms long instead of 36 and need not
     be summed in the same order (< 1e-6 with OpenBLAS's SkylakeX kernel, 2.3e-6
     with its Haswell kernel on an AMD EPYC; a miswired channel: ~1e-1) */
  char *p9 = write_rewrite (mf, &(rewrite) { .reshape = "input_blocks.0.0.weight", .n_dims = 4,
                                             .shape = { 32, 9, 3, 3 }, .dtype = DREAM_DTYPE_F32,
                                             .round_to = DREAM_DTYPE_F32 });
  out = run_file (p9, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (max_abs_diff (out, ref, 2 * 64 * 4, NULL), <, 1e-5);
  g_free (out);
  remove_file (p9);
  remove_file (p1);
  remove_file (p0);
  g_free (ref);
  dream_st_close (mf);
  dream_st_close (vf);
}

static void
test_bad_models (void)
{
  dream_st_file *mf = open_golden ("unet_sd1", "model.safetensors");
  dream_st_file *vf = open_golden ("vae", "model.safetensors");
  if (!mf || !vf)
    {
      g_test_skip ("golden data not found");
      dream_st_close (mf);
      dream_st_close (vf);
      return;
    }
  const struct { rewrite rw; const char *expect; } cases[] = {
    { { .drop = "input_blocks.1.0.emb_layers.1.weight" }, "input_blocks.1.0.emb_layers.1.weight" },
    { { .drop = "output_blocks.3.1.proj_out.bias" }, "output_blocks.3.1.proj_out.bias" },
    { { .reshape = "middle_block.1.transformer_blocks.0.attn2.to_k.weight", .n_dims = 2,
        .shape = { 64, 31 } }, "attn2.to_k.weight" },
    { { .reshape = "input_blocks.3.0.in_layers.2.weight", .n_dims = 4, .shape = { 64, 32, 3, 1 } },
      "input_blocks.3.0.in_layers.2.weight" },
    { { .drop = "output_blocks.3.0.in_layers.0.weight" }, "output blocks" },
    { { .config = "{\"num_heads\": 5}" }, "heads" },
    { { .config = "{\"num_heads\": \"many\"}" }, "num_heads" },
    { { .config = "[1, 2" }, "config" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      rewrite rw = cases[i].rw;
      rw.dtype = rw.round_to = DREAM_DTYPE_F32;
      char *p = write_rewrite (mf, &rw);
      GError *error = NULL;
      float *out = run_file (p, 0, &error);
      g_assert_null (out);
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
      g_test_message ("bad model %zu: %s", i, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
      g_clear_error (&error);
      remove_file (p);
    }
  /* not a UNet at all */
  GError *error = NULL;
  g_assert_false (dream_unet_detect (vf));
  g_assert_null (dream_unet_load (vf, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  g_assert_false (dream_vae_detect (mf));
  g_assert_null (dream_vae_load (mf, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);

  /* a latent the levels do not divide */
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  g_assert_true (dream_ldm_config_load_metadata (&cfg, mf, NULL));
  dream_unet *net = dream_unet_load (mf, &cfg, NULL);
  dream_unet_state s;
  g_assert_false (dream_unet_state_init (&s, net, 1, 9, 8, 77, 1, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  dream_unet_free (net);
  dream_ldm_config_clear (&cfg);
  dream_st_close (mf);
  dream_st_close (vf);
}

/* ---- LDM configs --------------------------------------------------------- */

static const char v1_yaml[] =
  "model:\n"
  "  base_learning_rate: 1.0e-04\n"
  "  target: ldm.models.diffusion.ddpm.LatentDiffusion\n"
  "  params:\n"
  "    linear_start: 0.00085\n"
  "    linear_end: 0.0120\n"
  "    timesteps: 1000\n"
  "    scale_factor: 0.18215\n"
  "    use_ema: False\n"
  "    unet_config:\n"
  "      target: ldm.modules.diffusionmodules.openaimodel.UNetModel\n"
  "      params:\n"
  "        attention_resolutions: [ 4, 2, 1 ]\n"
  "        channel_mult: [ 1, 2, 4, 4 ]\n"
  "        num_heads: 8\n"
  "        use_spatial_transformer: True\n"
  "        context_dim: 768\n"
  "    first_stage_config:\n"
  "      params:\n"
  "        ddconfig:\n"
  "          ch_mult:\n"
  "          - 1\n"
  "          - 2\n"
  "    cond_stage_config:\n"
  "      target: ldm.modules.encoders.modules.FrozenCLIPEmbedder\n";

static const char v2v_yaml[] =
  "model:\n"
  "  target: ldm.models.diffusion.ddpm.LatentDiffusion\n"
  "  params:\n"
  "    parameterization: \"v\"\n"
  "    linear_start: 0.00085\n"
  "    linear_end: 0.0120\n"
  "    scale_factor: 0.18215\n"
  "    unet_config:\n"
  "      params:\n"
  "        num_head_channels: 64 # need to fix for flash-attn\n"
  "        use_linear_in_transformer: True\n"
  "        context_dim: 1024\n"
  "    cond_stage_config:\n"
  "      target: ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder\n"
  "      params:\n"
  "        freeze: True\n"
  "        layer: \"penultimate\"\n";

static void
test_ldm_config (void)
{
  GError *error = NULL;
  dream_ldm_config c;
  dream_ldm_config_init (&c);
  g_assert_true (dream_ldm_config_parse_yaml (&c, v1_yaml, -1, "v1-inference.yaml", &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.num_heads, ==, 8);
  g_assert_cmpint (c.num_head_channels, ==, 0);
  g_assert_cmpint (c.context_dim, ==, 768);
  g_assert_cmpint (c.prediction, ==, DREAM_PREDICTION_EPS);
  g_assert_cmpint (c.timesteps, ==, 1000);
  g_assert_cmpfloat (c.linear_end, ==, 0.012);
  g_assert_cmpstr (c.cond_target, ==, "ldm.modules.encoders.modules.FrozenCLIPEmbedder");
  dream_ldm_config_clear (&c);

  dream_ldm_config_init (&c);
  g_assert_true (dream_ldm_config_parse_yaml (&c, v2v_yaml, -1, "v2-inference-v.yaml", &error));
  g_assert_cmpint (c.num_heads, ==, 0);
  g_assert_cmpint (c.num_head_channels, ==, 64);
  g_assert_cmpint (c.use_linear, ==, 1);
  g_assert_cmpint (c.prediction, ==, DREAM_PREDICTION_V);
  g_assert_cmpstr (c.cond_layer, ==, "penultimate");
  dream_ldm_config_clear (&c);

  const char *bad[][2] = {
    { "model: [unclosed", "not valid YAML" },
    { "- a\n- b\n", "not an LDM config" },
    { "model:\n  params:\n    parameterization: x0\n", "parameterization" },
    { "model:\n  params:\n    timesteps: lots\n", "timesteps" },
    { "model:\n  params:\n    linear_start: 0.5\n    linear_end: 0.1\n", "linear_end" },
    { "a: &x [*x]\n", "" },   /* a self-referencing alias: no crash */
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      dream_ldm_config_init (&c);
      gboolean ok = dream_ldm_config_parse_yaml (&c, bad[i][0], -1, "bad.yaml", &error);
      if (*bad[i][1])
        {
          g_assert_false (ok);
          g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
          g_test_message ("bad yaml %zu: %s", i, error->message);
          g_assert_nonnull (strstr (error->message, bad[i][1]));
        }
      g_clear_error (&error);
      dream_ldm_config_clear (&c);
    }

  /* the .yaml next to a model, by its name */
  char *dir = g_dir_make_tmp ("dream-cfg-XXXXXX", NULL);
  char *model = g_build_filename (dir, "my.model.safetensors", NULL);
  char *yaml = g_build_filename (dir, "my.model.yaml", NULL);
  g_assert_null (dream_ldm_config_find_yaml (model));
  g_assert_true (g_file_set_contents (yaml, v2v_yaml, -1, NULL));
  char *found = dream_ldm_config_find_yaml (model);
  g_assert_cmpstr (found, ==, yaml);
  dream_ldm_config_init (&c);
  g_assert_true (dream_ldm_config_for_model (&c, NULL, model, NULL, &error));
  g_assert_cmpint (c.prediction, ==, DREAM_PREDICTION_V);
  dream_ldm_config_clear (&c);
  g_unlink (yaml);
  g_rmdir (dir);
  g_free (found); g_free (yaml); g_free (model); g_free (dir);
}

/* The same through `dream run-net --net unet`, the command other checks use. */
static void
test_cli (void)
{
  const char *cases[] = { "unet_sd1", "unet_sd2" };
  for (int i = 0; i < 2; i++)
    {
      dream_st_file *io = open_golden (cases[i], "io.safetensors");
      char *out_path = NULL;
      dream_st_file *res = io ? run_net_cli (cases[i], "unet", &out_path) : NULL;
      if (!res)
        {
          g_test_skip ("dream executable or golden data not found");
          dream_st_close (io);
          return;
        }
      const dream_st_tensor *t;
      float *out = read_all (res, "out", &t), *ref = read_all (io, "out_f64ref", NULL);
      double mean, d = max_abs_diff (out, ref, t->n_elements, &mean);
      g_test_message ("run-net unet %s: max |out - f64| = %.3g", cases[i], d);
      g_assert_cmpint (t->n_dims, ==, 4);
      g_assert_cmpint (t->shape[1], ==, 4);
      g_assert_cmpfloat (d, <, OUT_TOL);
      g_free (out); g_free (ref);
      dream_st_close (res);
      dream_st_close (io);
      remove_out (out_path);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unet/group-norm", test_group_norm);
  g_test_add_func ("/unet/silu", test_silu);
  g_test_add_func ("/unet/geglu", test_geglu);
  g_test_add_func ("/unet/conv-ohwi", test_conv_ohwi);
  g_test_add_func ("/unet/sd-attention", test_sd_attention);
  g_test_add_func ("/unet/linear", test_linear);
  g_test_add_func ("/unet/widen", test_widen);
  g_test_add_func ("/unet/golden-sd1", test_golden_sd1);
  g_test_add_func ("/unet/golden-sd2", test_golden_sd2);
  g_test_add_func ("/unet/layouts-and-dtypes", test_layouts_and_dtypes);
  g_test_add_func ("/unet/bad-models", test_bad_models);
  g_test_add_func ("/unet/ldm-config", test_ldm_config);
  g_test_add_func ("/unet/cli-run-net", test_cli);
  return g_test_run ();
}
