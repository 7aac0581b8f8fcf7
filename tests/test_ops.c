/* test_ops.c — every engine op against a naive reference.
 *
 * Like ggml's test-backend-ops: random inputs, the optimised kernel and a
 * straightforward loop written from the definition, compared by
 * normalised error sqrt(sum (a-b)^2 / sum b^2) (float32 GEMM rounding
 * gives ~1e-7; the bound 1e-5 leaves room for summation order), and any
 * NaN/Inf is a failure.
 */
#include "ops/ops.h"

#include <math.h>
#include <string.h>

#define NMSE_MAX 1e-5

static void
fill_random (GRand *r, float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, -1.0, 1.0);
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

/* Naive convolution from the definition, PyTorch weight layout. */
static void
conv_naive (const float *x, int h, int w, int ci, const float *oihw,
            const float *b, int co, int k, gboolean relu, float *y)
{
  int r = k / 2;
  for (int yy = 0; yy < h; yy++)
    for (int xx = 0; xx < w; xx++)
      for (int o = 0; o < co; o++)
        {
          double s = b ? b[o] : 0.0;
          for (int i = 0; i < ci; i++)
            for (int ky = 0; ky < k; ky++)
              for (int kx = 0; kx < k; kx++)
                {
                  int sy = yy + ky - r, sx = xx + kx - r;
                  if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                    continue;
                  s += (double) x[((size_t) sy * w + sx) * ci + i]
                       * oihw[(((size_t) o * ci + i) * k + ky) * k + kx];
                }
          if (relu && s < 0)
            s = 0;
          y[((size_t) yy * w + xx) * co + o] = (float) s;
        }
}

typedef struct { int h, w, ci, co, k, relu, threads; } conv_case;

static void
test_conv2d (void)
{
  static const conv_case cases[] = {
    { 1, 1, 3, 5, 3, 0, 1 },
    { 7, 5, 13, 96, 3, 1, 2 },
    { 33, 17, 96, 96, 3, 1, 2 },   /* more pixels than one chunk */
    { 20, 31, 96, 12, 3, 0, 1 },
    { 9, 40, 8, 16, 1, 1, 2 },
    { 16, 16, 5, 64, 3, 1, 3 },
  };
  GRand *r = g_rand_new_with_seed (1);
  dream_gemm_init ();
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const conv_case *t = &cases[c];
      size_t nx = (size_t) t->h * t->w * t->ci, ny = (size_t) t->h * t->w * t->co;
      size_t nw = (size_t) t->co * t->ci * t->k * t->k;
      float *x = g_new (float, nx), *oihw = g_new (float, nw), *b = g_new (float, t->co);
      float *packed = g_new (float, nw), *y = g_new (float, ny), *ref = g_new (float, ny);
      fill_random (r, x, nx);
      fill_random (r, oihw, nw);
      fill_random (r, b, t->co);
      dream_conv_pack_oihw (oihw, t->co, t->ci, t->k, packed);
      dream_conv cv = { t->ci, t->co, t->k, packed, b };
      dream_pool *pool = dream_pool_new (t->threads);
      float *scratch = g_new (float, MAX (dream_conv2d_scratch_size (&cv), 1)
                              * dream_pool_n_threads (pool));
      dream_conv2d (&cv, t->relu ? DREAM_ACT_RELU : DREAM_ACT_NONE, x, t->h, t->w,
                    y, pool, scratch);
      conv_naive (x, t->h, t->w, t->ci, oihw, b, t->co, t->k, t->relu, ref);
      double e = norm_error (y, ref, ny);
      g_test_message ("conv %dx%d %d->%d k%d: normalised error %.3g", t->h, t->w,
                      t->ci, t->co, t->k, e);
      g_assert_cmpfloat (e, <, NMSE_MAX);
      dream_pool_free (pool);
      g_free (x); g_free (oihw); g_free (b); g_free (packed);
      g_free (y); g_free (ref); g_free (scratch);
    }
  g_rand_free (r);
}

static void
test_conv2d_threads_deterministic (void)
{
  /* Chunks are fixed in size, so thread count must not change any bit. */
  GRand *r = g_rand_new_with_seed (2);
  int h = 23, w = 29, ci = 32, co = 48;
  size_t nx = (size_t) h * w * ci, ny = (size_t) h * w * co, nw = (size_t) co * ci * 9;
  float *x = g_new (float, nx), *oihw = g_new (float, nw), *packed = g_new (float, nw);
  float *y1 = g_new (float, ny), *y2 = g_new (float, ny);
  fill_random (r, x, nx);
  fill_random (r, oihw, nw);
  dream_conv_pack_oihw (oihw, co, ci, 3, packed);
  dream_conv cv = { ci, co, 3, packed, NULL };
  for (int pass = 0; pass < 2; pass++)
    {
      dream_pool *pool = dream_pool_new (pass == 0 ? 1 : 2);
      float *scratch = g_new (float, dream_conv2d_scratch_size (&cv) * dream_pool_n_threads (pool));
      dream_conv2d (&cv, DREAM_ACT_NONE, x, h, w, pass == 0 ? y1 : y2, pool, scratch);
      g_free (scratch);
      dream_pool_free (pool);
    }
  g_assert_cmpmem (y1, ny * sizeof (float), y2, ny * sizeof (float));
  g_free (x); g_free (oihw); g_free (packed); g_free (y1); g_free (y2);
  g_rand_free (r);
}

static void
test_gemm (void)
{
  GRand *r = g_rand_new_with_seed (3);
  int m = 37, n = 19, k = 53;
  float *a = g_new (float, m * k), *b = g_new (float, k * n);
  float *c = g_new (float, m * n), *ref = g_new (float, m * n);
  fill_random (r, a, m * k);
  fill_random (r, b, k * n);
  fill_random (r, c, m * n);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      {
        double s = 0.0;
        for (int l = 0; l < k; l++)
          s += (double) a[i * k + l] * b[l * n + j];
        ref[i * n + j] = (float) (0.5 * s + 2.0 * c[i * n + j]);
      }
  dream_gemm (m, n, k, 0.5f, a, k, b, n, 2.0f, c, n);
  g_assert_cmpfloat (norm_error (c, ref, m * n), <, NMSE_MAX);
  g_free (a); g_free (b); g_free (c); g_free (ref);
  g_rand_free (r);
}

static void
test_shuffle (void)
{
  GRand *r = g_rand_new_with_seed (4);
  int h = 6, w = 10, c = 3, stride = 4 * c + 1;
  size_t n = (size_t) h * w * c;
  float *x = g_new (float, n), *u = g_new0 (float, (n / 4) * stride / c + 64);
  float *packed = g_new (float, n), *back = g_new (float, n);
  fill_random (r, x, n);
  dream_pixel_unshuffle2 (x, h, w, c, u, stride);
  /* Definition (PyTorch pixel_unshuffle): out[ch*4 + dy*2 + dx](y, x) =
   * in[ch](2y + dy, 2x + dx). */
  for (int y = 0; y < h / 2; y++)
    for (int xx = 0; xx < w / 2; xx++)
      for (int ch = 0; ch < c; ch++)
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            g_assert_cmpfloat (u[((size_t) y * (w / 2) + xx) * stride + ch * 4 + dy * 2 + dx], ==,
                               x[((size_t) (2 * y + dy) * w + 2 * xx + dx) * c + ch]);
  /* Shuffle is its inverse. */
  for (int p = 0; p < h * w / 4; p++)
    memcpy (packed + (size_t) p * 4 * c, u + (size_t) p * stride, sizeof (float) * 4 * c);
  dream_pixel_shuffle2 (packed, h / 2, w / 2, c, back);
  g_assert_cmpmem (back, n * sizeof (float), x, n * sizeof (float));
  g_free (x); g_free (u); g_free (packed); g_free (back);
  g_rand_free (r);
}

static void
test_relu (void)
{
  float x[5] = { -1.0f, 0.0f, 2.5f, -0.0f, NAN };
  dream_relu (x, 4);
  g_assert_cmpfloat (x[0], ==, 0.0f);
  g_assert_cmpfloat (x[2], ==, 2.5f);
  g_assert_cmpfloat (x[3], ==, 0.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/gemm", test_gemm);
  g_test_add_func ("/ops/conv2d", test_conv2d);
  g_test_add_func ("/ops/conv2d-threads-deterministic", test_conv2d_threads_deterministic);
  g_test_add_func ("/ops/pixel-shuffle", test_shuffle);
  g_test_add_func ("/ops/relu", test_relu);
  return g_test_run ();
}
