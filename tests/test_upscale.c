/* test_upscale.c — super-resolution: ops, networks against PyTorch, the
 * upscale task.
 *
 * Ops (conv2d_ex, pixel shuffle, the upsample fold, resampling, blend
 * weights) against naive loops written from their definitions, by
 * normalised error like tests/test_ops.c.
 *
 * Networks: tests/data/upscale_ref.safetensors holds inputs and float64
 * PyTorch outputs (tools/make_upscale_reference.py, references in
 * tools/sr_torch.py) for SRVGGNetCompact (general v3, animevideo v3), RDN
 * ×2/×3/×4/×8 (esrgan-slim) and RRDBNet at its real size (23 blocks, 64
 * features, growth 32) with synthetic weights that this file regenerates
 * bit for bit (synthetic_rrdb in sr_torch.py), plus a 2-block ×2 RRDBNet
 * (pixel_unshuffle input). The engine must match within 1e-3 on 0..1
 * (observed ~1e-6).
 *
 * Task: tiled equals untiled (exactly for SRVGG and RDN, within 1/255 for
 * RRDBNet's cross-faded tiles), any factor equals a naive Lanczos-3
 * resample of the untiled native result, grey and alpha, threads and
 * determinism, the row-band variant, progress and cancel, bad arguments
 * and bad models, and the `dream upscale` command.
 */
#include "dream.h"
#include "io/model.h"
#include "io/safetensors.h"
#include "models/sr.h"
#include "ops/ops.h"
#include "tile/tile.h"
#include "imageio.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#define REF_TOL 1e-3
#define NMSE_MAX 1e-5

/* ---- helpers ------------------------------------------------------------ */

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

static dream_model *
load_named (const char *name)
{
  GError *error = NULL;
  char *path = dream_model_find (name, &error);
  g_assert_no_error (error);
  dream_model *m = dream_model_load (path, &error);
  g_assert_no_error (error);
  g_free (path);
  return m;
}

static void
fill_random (GRand *r, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, lo, hi);
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

static double
max_abs_diff (const float *a, const float *b, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]) || !isfinite (b[i]))
        return INFINITY;
      m = MAX (m, fabs ((double) a[i] - b[i]));
    }
  return m;
}

/* A smooth image with some texture, (h, w, c), values in about 0..1. */
static float *
test_image (int w, int h, int c, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  float *x = g_new (float, (size_t) w * h * c);
  for (int y = 0; y < h; y++)
    for (int xx = 0; xx < w; xx++)
      for (int ch = 0; ch < c; ch++)
        x[((size_t) y * w + xx) * c + ch] =
          (float) (0.5 + 0.3 * sin (xx * 0.21 + ch) * cos (y * 0.17)
                   + g_rand_double_range (r, -0.15, 0.15));
  g_rand_free (r);
  return x;
}

/* Runs a model's network untiled: x (h, w, 3) -> y (h*s, w*s, 3), not
 * clamped. */
static void
run_net (const dream_model *m, const float *x, int h, int w, float *y, int threads)
{
  const dream_sr_class *cls = dream_sr_class_find (m->arch);
  g_assert_nonnull (cls);
  GError *error = NULL;
  dream_gemm_init ();
  dream_pool *pool = dream_pool_new (threads);
  void *st = cls->state_new (m->net, h, w, dream_pool_n_threads (pool), &error);
  g_assert_no_error (error);
  g_assert_true (cls->forward (m->net, st, x, h, w, y, pool, NULL, 0.0, &error));
  g_assert_no_error (error);
  cls->state_free (st);
  dream_pool_free (pool);
}

/* ---- synthetic RRDBNet weights (mirror of tools/sr_torch.py) ------------ */

static uint64_t
splitmix64 (uint64_t x)
{
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

typedef struct { int seed, num_block, in_ch; double gain; } rrdb_cfg;

/* Writes the synthetic RRDBNet (nf 64, gc 32) to a temporary file. */
static char *
write_synthetic_rrdb (const rrdb_cfg *cfg)
{
  const int nf = 64, gc = 32;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GArray *outs = g_array_new (FALSE, TRUE, sizeof (dream_st_out));
  GArray *rdb_flags = g_array_new (FALSE, TRUE, sizeof (gboolean));
#define CONV(nm, i, o, rdb)                                             \
  do {                                                                  \
    for (int wb = 0; wb < 2; wb++)                                      \
      {                                                                 \
        char *n = g_strdup_printf ("%s.%s", nm, wb ? "bias" : "weight"); \
        dream_st_out t = { n, wb ? 1 : 4, { o, i, 3, 3 }, NULL };        \
        if (wb)                                                         \
          t.shape[0] = o;                                               \
        g_ptr_array_add (names, n);                                     \
        g_array_append_val (outs, t);                                   \
        gboolean flag = rdb;                                            \
        g_array_append_val (rdb_flags, flag);                           \
      }                                                                 \
  } while (0)
  CONV ("conv_first", cfg->in_ch, nf, 0);
  for (int b = 0; b < cfg->num_block; b++)
    for (int r = 1; r <= 3; r++)
      for (int c = 0; c < 5; c++)
        {
          char nm[64];
          g_snprintf (nm, sizeof nm, "body.%d.rdb%d.conv%d", b, r, c + 1);
          CONV (nm, nf + c * gc, c < 4 ? gc : nf, 1);
        }
  CONV ("conv_body", nf, nf, 0);
  CONV ("conv_up1", nf, nf, 0);
  CONV ("conv_up2", nf, nf, 0);
  CONV ("conv_hr", nf, nf, 0);
  CONV ("conv_last", nf, 3, 0);
#undef CONV
  GPtrArray *buffers = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < outs->len; k++)
    {
      dream_st_out *t = &g_array_index (outs, dream_st_out, k);
      gboolean rdb = g_array_index (rdb_flags, gboolean, k);
      size_t n = 1;
      for (int d = 0; d < t->n_dims; d++)
        n *= (size_t) t->shape[d];
      double scale;
      if (t->n_dims == 1)
        scale = 0.01;
      else
        {
          int fan_in = (int) t->shape[1] * 9;
          scale = rdb ? 0.1 * sqrt (6.0 / fan_in) * cfg->gain : 1.0 / sqrt (fan_in);
        }
      float s32 = (float) scale;
      float *v = g_new (float, n);
      uint64_t base = ((uint64_t) (guint32) cfg->seed << 32) | ((uint64_t) k << 20);
      for (size_t i = 0; i < n; i++)
        {
          uint64_t z = splitmix64 (base + i);
          float u = (float) (z >> 40) * (1.0f / 8388608.0f) - 1.0f;
          v[i] = u * s32;
        }
      t->data = v;
      g_ptr_array_add (buffers, v);
    }
  char *dir = g_dir_make_tmp ("dream-upscale-XXXXXX", NULL);
  char *path = g_build_filename (dir, "rrdb.safetensors", NULL);
  const char *meta[] = { "architecture", "rrdb", NULL };
  GError *error = NULL;
  g_assert_true (dream_st_write (path, (dream_st_out *) outs->data, (int) outs->len, meta, &error));
  g_assert_no_error (error);
  g_ptr_array_unref (buffers);
  g_array_free (rdb_flags, TRUE);
  g_array_free (outs, TRUE);
  g_ptr_array_unref (names);
  g_free (dir);
  return path;
}

static void
remove_file_and_dir (char *path)
{
  char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static dream_model *
load_synthetic_rrdb (const rrdb_cfg *cfg)
{
  char *path = write_synthetic_rrdb (cfg);
  GError *error = NULL;
  dream_model *m = dream_model_load (path, &error);
  g_assert_no_error (error);
  remove_file_and_dir (path);   /* the mapping stays valid */
  return m;
}

/* ---- ops ---------------------------------------------------------------- */

static void
conv_naive (const float *x, int xs, int h, int w, int ci, const float *oihw,
            const float *b, int co, int k, const dream_conv_post *post,
            float *y, int ys)
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
                  s += (double) x[((size_t) sy * w + sx) * xs + i]
                       * oihw[(((size_t) o * ci + i) * k + ky) * k + kx];
                }
          if (post)
            {
              if (post->act == DREAM_POST_RELU && s < 0)
                s = 0;
              if (post->act == DREAM_POST_LEAKY && s < 0)
                s *= post->slope;
              if (post->act == DREAM_POST_PRELU && s < 0)
                s *= post->slopes[o];
              if (post->residual)
                s = s * post->res_scale
                    + post->residual[((size_t) yy * w + xx) * post->res_stride + o];
            }
          y[((size_t) yy * w + xx) * ys + o] = (float) s;
        }
}

static void
test_conv2d_ex (void)
{
  /* h, w, in_ch, x_stride, out_ch, y_stride, y_offset, k, act, residual */
  typedef struct { int h, w, ci, xs, co, ys, yo, k; dream_post_act act; int res; } conv_case;
  static const conv_case cases[] = {
    { 9, 7, 5, 5, 8, 8, 0, 3, DREAM_POST_LINEAR, 0 },
    { 17, 33, 64, 192, 32, 192, 96, 3, DREAM_POST_LEAKY, 0 },   /* dense block slice */
    { 12, 23, 192, 192, 64, 64, 0, 3, DREAM_POST_LINEAR, 1 },   /* conv5 + 0.2 x */
    { 31, 19, 64, 64, 64, 64, 0, 3, DREAM_POST_PRELU, 0 },
    { 10, 11, 68, 68, 64, 128, 64, 1, DREAM_POST_LINEAR, 1 },   /* 1x1, strided out */
    { 13, 15, 64, 64, 64, 64, 0, 5, DREAM_POST_RELU, 0 },       /* 5x5 (RDN UPN1) */
    { 1, 1, 3, 3, 4, 4, 0, 3, DREAM_POST_RELU, 0 },
  };
  GRand *r = g_rand_new_with_seed (11);
  dream_gemm_init ();
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const conv_case *t = &cases[c];
      size_t px = (size_t) t->h * t->w, nw = (size_t) t->co * t->ci * t->k * t->k;
      float *x = g_new (float, px * t->xs), *oihw = g_new (float, nw);
      float *b = g_new (float, t->co), *packed = g_new (float, nw);
      float *slopes = g_new (float, t->co), *res = g_new (float, px * t->co);
      float *y = g_new (float, px * t->ys), *ref = g_new (float, px * t->ys);
      fill_random (r, x, px * t->xs, -1, 1);
      fill_random (r, oihw, nw, -0.2, 0.2);
      fill_random (r, b, t->co, -0.5, 0.5);
      fill_random (r, slopes, t->co, 0, 0.5);
      fill_random (r, res, px * t->co, -1, 1);
      fill_random (r, y, px * t->ys, -1, 1);
      memcpy (ref, y, sizeof (float) * px * t->ys);   /* other channels kept */
      dream_conv_ex_pack_oihw (oihw, t->co, t->ci, t->k, packed);
      dream_conv cv = { t->ci, t->co, t->k, packed, b };
      dream_conv_post post = { .act = t->act, .slope = 0.2f, .slopes = slopes,
                               .residual = t->res ? res : NULL, .res_stride = t->co,
                               .res_scale = 0.2f };
      dream_pool *pool = dream_pool_new (2);
      float *scratch = g_new (float, MAX (dream_conv2d_ex_scratch_size (&cv), 1) * 2);
      dream_conv2d_ex (&cv, &post, x, t->xs, t->h, t->w, y + t->yo, t->ys, pool, scratch);
      conv_naive (x, t->xs, t->h, t->w, t->ci, oihw, b, t->co, t->k, &post, ref + t->yo, t->ys);
      double e = norm_error (y, ref, px * t->ys);
      g_test_message ("conv_ex %dx%d %d(/%d)->%d(/%d) k%d act %d res %d: error %.3g",
                      t->h, t->w, t->ci, t->xs, t->co, t->ys, t->k, t->act, t->res, e);
      g_assert_cmpfloat (e, <, NMSE_MAX);
      dream_pool_free (pool);
      g_free (x); g_free (oihw); g_free (b); g_free (packed); g_free (slopes);
      g_free (res); g_free (y); g_free (ref); g_free (scratch);
    }
  g_rand_free (r);
}

static void
test_activations (void)
{
  float x[6] = { -2, -0.5f, 0, 0.5f, 2, -1 }, s[3] = { 0.1f, 0.2f, 0.3f };
  float y[6];
  memcpy (y, x, sizeof x);
  dream_leaky_relu (y, 6, 0.2f);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (y[i], ==, x[i] >= 0 ? x[i] : 0.2f * x[i]);
  memcpy (y, x, sizeof x);
  dream_prelu (y, 2, 3, s);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (y[i], ==, x[i] >= 0 ? x[i] : s[i % 3] * x[i]);
}

static void
test_shuffle (void)
{
  GRand *r = g_rand_new_with_seed (12);
  for (int rr = 1; rr <= 4; rr++)
    {
      int h = 5, w = 7, c = 3;
      size_t n = (size_t) h * w * c * rr * rr;
      float *x = g_new (float, n), *y = g_new (float, n), *z = g_new (float, n);
      fill_random (r, x, n, -1, 1);
      dream_pixel_shuffle (x, h, w, c, rr, y);
      /* definition: y[c][h*r + i][w*r + j] = x[c*r*r + i*r + j][h][w] */
      for (int yy = 0; yy < h * rr; yy++)
        for (int xx = 0; xx < w * rr; xx++)
          for (int ch = 0; ch < c; ch++)
            g_assert_cmpfloat (y[((size_t) yy * w * rr + xx) * c + ch], ==,
                               x[((size_t) (yy / rr) * w + xx / rr) * c * rr * rr
                                 + ch * rr * rr + (yy % rr) * rr + xx % rr]);
      dream_pixel_unshuffle (y, h * rr, w * rr, c, rr, z);
      g_assert_cmpmem (x, n * sizeof (float), z, n * sizeof (float));
      /* nearest add */
      float *base = g_new0 (float, n);
      dream_add_nearest_up (base, x, h, w, c, rr);
      for (int yy = 0; yy < h * rr; yy++)
        for (int xx = 0; xx < w * rr; xx++)
          g_assert_cmpfloat (base[((size_t) yy * w * rr + xx) * c], ==,
                             x[((size_t) (yy / rr) * w + xx / rr) * c]);
      g_free (x); g_free (y); g_free (z); g_free (base);
    }
  g_rand_free (r);
}

static void
test_fold_upsample (void)
{
  /* conv3x3(nearest_up(x, r)) == pixel_shuffle(folded conv(x), r) */
  GRand *rnd = g_rand_new_with_seed (13);
  dream_gemm_init ();
  dream_pool *pool = dream_pool_new (2);
  for (int r = 2; r <= 8; r *= 2)
    {
      int h = 6, w = 5, ci = 7, co = 3;
      size_t nw = (size_t) co * ci * 9, nf = nw * r * r;
      float *x = g_new (float, (size_t) h * w * ci), *up = g_new0 (float, (size_t) h * w * ci * r * r);
      float *wt = g_new (float, nw), *b = g_new (float, co);
      float *fw = g_new (float, nf), *fb = g_new (float, co * r * r), *pk = g_new (float, nf);
      float *ref = g_new (float, (size_t) h * w * r * r * co), *low = g_new (float, (size_t) h * w * co * r * r);
      float *got = g_new (float, (size_t) h * w * r * r * co);
      fill_random (rnd, x, (size_t) h * w * ci, -1, 1);
      fill_random (rnd, wt, nw, -1, 1);
      fill_random (rnd, b, co, -1, 1);
      dream_add_nearest_up (up, x, h, w, ci, r);
      conv_naive (up, ci, h * r, w * r, ci, wt, b, co, 3, NULL, ref, co);
      dream_sr_fold_upsample (wt, b, co, ci, r, fw, fb);
      dream_conv_ex_pack_oihw (fw, co * r * r, ci, 3, pk);
      dream_conv cv = { ci, co * r * r, 3, pk, fb };
      float *scratch = g_new (float, dream_conv2d_ex_scratch_size (&cv) * 2);
      dream_conv2d_ex (&cv, NULL, x, ci, h, w, low, co * r * r, pool, scratch);
      dream_pixel_shuffle (low, h, w, co, r, got);
      double e = norm_error (got, ref, (size_t) h * w * r * r * co);
      g_test_message ("fold x%d: error %.3g", r, e);
      g_assert_cmpfloat (e, <, NMSE_MAX);
      g_free (x); g_free (up); g_free (wt); g_free (b); g_free (fw); g_free (fb);
      g_free (pk); g_free (ref); g_free (low); g_free (got); g_free (scratch);
    }
  dream_pool_free (pool);
  g_rand_free (rnd);
}

/* Naive separable resample from the definition, in double: every output
 * sample is sum_j f((j - u) / stretch) src[clamp(j)] / sum_j f(...). */
static void
axis_weights_naive (dream_filter f, int src, int dst, int i, double *wts)
{
  double ratio = (double) src / dst, stretch = MAX (ratio, 1.0);
  double u = (i + 0.5) * ratio - 0.5, sum = 0.0;
  for (int j = 0; j < src; j++)
    wts[j] = 0.0;
  int reach = (int) ceil (dream_filter_radius (f) * stretch) + 2;
  for (int j = (int) floor (u) - reach; j <= (int) ceil (u) + reach; j++)
    {
      double v = dream_filter_eval (f, (j - u) / stretch);
      wts[CLAMP (j, 0, src - 1)] += v;
      sum += v;
    }
  for (int j = 0; j < src; j++)
    wts[j] /= sum;
}

static void
resample_naive (dream_filter f, const float *src, int sw, int sh, int c,
                int dw, int dh, float *dst)
{
  double *wx = g_new (double, (size_t) dw * sw), *wy = g_new (double, (size_t) dh * sh);
  for (int i = 0; i < dw; i++)
    axis_weights_naive (f, sw, dw, i, wx + (size_t) i * sw);
  for (int i = 0; i < dh; i++)
    axis_weights_naive (f, sh, dh, i, wy + (size_t) i * sh);
  for (int y = 0; y < dh; y++)
    for (int x = 0; x < dw; x++)
      for (int ch = 0; ch < c; ch++)
        {
          double s = 0.0;
          for (int j = 0; j < sh; j++)
            {
              double a = wy[(size_t) y * sh + j];
              if (a == 0.0)
                continue;
              for (int i = 0; i < sw; i++)
                s += a * wx[(size_t) x * sw + i] * src[((size_t) j * sw + i) * c + ch];
            }
          dst[((size_t) y * dw + x) * c + ch] = (float) s;
        }
  g_free (wx);
  g_free (wy);
}

static void
test_resample (void)
{
  typedef struct { dream_filter f; int sw, sh, dw, dh; } resample_case;
  static const resample_case cases[] = {
    { DREAM_FILTER_LANCZOS3, 13, 9, 40, 27 },     /* up ~3x */
    { DREAM_FILTER_LANCZOS3, 40, 30, 17, 11 },    /* down, antialiased */
    { DREAM_FILTER_BICUBIC, 48, 32, 12, 8 },      /* /4, as for SR test inputs */
    { DREAM_FILTER_BICUBIC, 12, 8, 48, 32 },
    { DREAM_FILTER_BILINEAR, 7, 5, 11, 13 },
    { DREAM_FILTER_LANCZOS3, 1, 1, 5, 3 },
    { DREAM_FILTER_LANCZOS3, 5, 4, 5, 4 },        /* same size: identity */
  };
  GRand *r = g_rand_new_with_seed (14);
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      const resample_case *t = &cases[k];
      const int c = 3;
      float *src = g_new (float, (size_t) t->sw * t->sh * c);
      float *ref = g_new (float, (size_t) t->dw * t->dh * c);
      float *got = g_new (float, (size_t) t->dw * t->dh * c);
      fill_random (r, src, (size_t) t->sw * t->sh * c, 0, 1);
      resample_naive (t->f, src, t->sw, t->sh, c, t->dw, t->dh, ref);
      dream_resampler rx, ry;
      g_assert_true (dream_resampler_init (&rx, t->f, t->sw, t->dw, NULL));
      g_assert_true (dream_resampler_init (&ry, t->f, t->sh, t->dh, NULL));
      /* whole image, then in two pieces from a window: same result */
      float *scratch = g_new (float, dream_resample_2d_scratch_size (&ry, 0, t->dh, t->dw, c) + 1);
      dream_resample_2d (&rx, &ry, src, 0, 0, t->sw, c, 0, 0, t->dw, t->dh, got, scratch);
      double e = norm_error (got, ref, (size_t) t->dw * t->dh * c);
      g_test_message ("resample filter %d %dx%d -> %dx%d: error %.3g",
                      t->f, t->sw, t->sh, t->dw, t->dh, e);
      g_assert_cmpfloat (e, <, 1e-6);
      if (t->sw == t->dw && t->sh == t->dh)
        g_assert_cmpfloat (max_abs_diff (got, src, (size_t) t->sw * t->sh * c), <, 1e-6);
      int y0 = t->dh / 2, x0 = t->dw / 3, s0, s1, u0, u1;
      dream_resampler_span (&ry, y0, t->dh - y0, &s0, &s1);
      dream_resampler_span (&rx, x0, t->dw - x0, &u0, &u1);
      float *win = g_new (float, (size_t) (s1 - s0) * (u1 - u0) * c);
      for (int y = s0; y < s1; y++)
        memcpy (win + (size_t) (y - s0) * (u1 - u0) * c, src + ((size_t) y * t->sw + u0) * c,
                sizeof (float) * (u1 - u0) * c);
      float *part = g_new (float, (size_t) (t->dh - y0) * (t->dw - x0) * c);
      dream_resample_2d (&rx, &ry, win, u0, s0, u1 - u0, c, x0, y0, t->dw - x0,
                         t->dh - y0, part, scratch);
      for (int y = y0; y < t->dh; y++)
        for (int x = x0; x < t->dw; x++)
          for (int ch = 0; ch < c; ch++)
            g_assert_cmpfloat (part[((size_t) (y - y0) * (t->dw - x0) + x - x0) * c + ch], ==,
                               got[((size_t) y * t->dw + x) * c + ch]);
      dream_resampler_clear (&rx);
      dream_resampler_clear (&ry);
      g_free (src); g_free (ref); g_free (got); g_free (scratch); g_free (win); g_free (part);
    }
  g_rand_free (r);
}

static void
test_blend_weights (void)
{
  /* weights of a plan sum to 1 everywhere, in [0, 1], zero outside spans */
  static const struct { int w, h, tile, feather; } cases[] = {
    { 300, 200, 64, 8 }, { 100, 37, 40, 16 }, { 64, 64, 64, 8 }, { 90, 50, 30, 0 },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      dream_tile_spec spec = { cases[k].tile, cases[k].feather + 4, 1 };
      int n;
      dream_tile *t = dream_tile_plan (cases[k].w, cases[k].h, &spec, &n);
      int f = dream_tile_max_feather (t, n, cases[k].feather);
      for (int y = 0; y < cases[k].h; y += 3)
        for (int x = 0; x < cases[k].w; x++)
          {
            double sum = 0.0;
            for (int i = 0; i < n; i++)
              {
                const dream_rect *o = &t[i].out;
                float wx = dream_tile_blend_weight (o->x, o->x + o->w, cases[k].w, f, x);
                float wy = dream_tile_blend_weight (o->y, o->y + o->h, cases[k].h, f, y);
                int lo, hi;
                dream_tile_blend_span (o->x, o->x + o->w, cases[k].w, f, &lo, &hi);
                g_assert_true (wx >= 0.0f && wx <= 1.0f);
                if (x < lo || x >= hi)
                  g_assert_cmpfloat (wx, ==, 0.0f);
                else
                  g_assert_cmpfloat (wx, >, 0.0f);
                /* the span lies inside the region the tile reads */
                g_assert_cmpint (lo, >=, t[i].in.x);
                g_assert_cmpint (hi, <=, t[i].in.x + t[i].in.w);
                sum += (double) wx * wy;
              }
            g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-6);
          }
      g_free (t);
    }
}

/* ---- networks against PyTorch ------------------------------------------- */

typedef struct { const char *name, *model; rrdb_cfg rrdb; } ref_case;

static void
check_reference (gconstpointer data)
{
  const ref_case *rc = data;
  GError *error = NULL;
  char *path = data_path ("upscale_ref.safetensors");
  dream_st_file *f = dream_st_open (path, &error);
  g_assert_no_error (error);
  char *ni = g_strconcat (rc->name, "_input", NULL), *no = g_strconcat (rc->name, "_output", NULL);
  const dream_st_tensor *ti = dream_st_find (f, ni), *to = dream_st_find (f, no);
  g_assert_nonnull (ti);
  g_assert_nonnull (to);
  int h = (int) ti->shape[0], w = (int) ti->shape[1];
  float *x = g_new (float, ti->n_elements), *ref = g_new (float, to->n_elements);
  float *y = g_new (float, to->n_elements);
  g_assert_true (dream_st_to_f32 (ti, x, ti->n_elements, NULL));
  g_assert_true (dream_st_to_f32 (to, ref, to->n_elements, NULL));

  dream_model *m = rc->model ? load_named (rc->model) : load_synthetic_rrdb (&rc->rrdb);
  int s = dream_upscale_native_scale (m);
  g_assert_cmpint (to->shape[0], ==, h * s);
  run_net (m, x, h, w, y, 2);
  double d = max_abs_diff (y, ref, to->n_elements), peak = 0.0;
  for (int64_t i = 0; i < to->n_elements; i++)
    peak = MAX (peak, fabs (ref[i]));
  g_test_message ("%s %dx%d x%d: max |engine - torch f64| = %.3g (output peak %.3f)",
                  rc->name, w, h, s, d, peak);
  g_assert_cmpfloat (d, <, REF_TOL);
  g_assert_cmpfloat (d, <, 1e-4 * MAX (peak, 1e-3) * 10);

  /* the public call gives the same, clamped */
  dream_upscale_params p = dream_upscale_default_params ();
  p.scale = s;
  float *o = g_new (float, to->n_elements);
  dream_image in = { x, w, h, 3 }, out = { o, w * s, h * s, 3 };
  g_assert_true (dream_upscale (m, &in, &out, &p, &error));
  g_assert_no_error (error);
  for (int64_t i = 0; i < to->n_elements; i++)
    g_assert_cmpfloat (fabs (o[i] - CLAMP (ref[i], 0.0f, 1.0f)), <, REF_TOL);

  dream_model_free (m);
  dream_st_close (f);
  g_free (x); g_free (ref); g_free (y); g_free (o);
  g_free (ni); g_free (no); g_free (path);
}

/* ---- the task ----------------------------------------------------------- */

static float *
upscale_image (const dream_model *m, const float *x, int w, int h, int c,
               double scale, int tile, int threads, int *ow, int *oh)
{
  dream_upscale_params p = dream_upscale_default_params ();
  p.scale = scale;
  p.tile = tile;
  p.n_threads = threads;
  *ow = dream_upscale_size (w, scale);
  *oh = dream_upscale_size (h, scale);
  float *y = g_new (float, (size_t) *ow * *oh * c);
  dream_image in = { (float *) x, w, h, c }, out = { y, *ow, *oh, c };
  GError *error = NULL;
  g_assert_true (dream_upscale (m, &in, &out, &p, &error));
  g_assert_no_error (error);
  return y;
}

static void
test_tiled_equals_untiled (void)
{
  const char *names[] = { "realesr-animevideov3-x4", "rdn-slim-x3" };
  for (size_t k = 0; k < G_N_ELEMENTS (names); k++)
    {
      dream_model *m = load_named (names[k]);
      int w = 101, h = 67, ow, oh, ow2, oh2, s = dream_upscale_native_scale (m);
      float *x = test_image (w, h, 3, 21);
      float *a = upscale_image (m, x, w, h, 3, s, 0, 2, &ow, &oh);
      float *b = upscale_image (m, x, w, h, 3, s, 24, 2, &ow2, &oh2);
      double d = max_abs_diff (a, b, (size_t) ow * oh * 3);
      g_test_message ("%s: max |tiled - untiled| = %.3g", names[k], d);
      g_assert_cmpfloat (d, <, 1e-5);
      g_free (a); g_free (b); g_free (x);
      dream_model_free (m);
    }
}

static void
check_rrdb_tiles (const rrdb_cfg *cfg, int w, int h, int tile)
{
  dream_model *m = load_synthetic_rrdb (cfg);
  int ow, oh, ow2, oh2;
  float *x = test_image (w, h, 3, 22);
  float *a = upscale_image (m, x, w, h, 3, 4, 0, 2, &ow, &oh);
  float *b = upscale_image (m, x, w, h, 3, 4, tile, 2, &ow2, &oh2);
  double d = max_abs_diff (a, b, (size_t) ow * oh * 3), mean = 0.0;
  for (size_t i = 0; i < (size_t) ow * oh * 3; i++)
    mean += fabs (a[i] - b[i]);
  g_test_message ("rrdb %d blocks gain %.0f, %dx%d tile %d: max |tiled - untiled| = %.3g "
                  "(%.2f/255), mean %.3g", cfg->num_block, cfg->gain, w, h, tile, d,
                  d * 255, mean / ((size_t) ow * oh * 3));
  g_assert_cmpfloat (d, <, 1.0 / 255.0);
  g_free (a); g_free (b); g_free (x);
  dream_model_free (m);
}

static void
test_rrdb_tiled (void)
{
  /* 3 blocks (receptive radius 48 > the 24-pixel overlap: cross-faded
   * tiles), dense-block weights as strong as a plain Kaiming init. */
  const rrdb_cfg cfg = { 7, 3, 3, 10.0 };
  check_rrdb_tiles (&cfg, 80, 48, 40);
}

static void
test_rrdb_tiled_real_size (void)
{
  /* The real network (23 blocks): minutes of work, run with -m slow. */
  if (!g_test_slow ())
    {
      g_test_skip ("slow: run test-upscale -m slow");
      return;
    }
  const rrdb_cfg cfg = { 1234, 23, 3, 1.0 }, strong = { 5, 23, 3, 10.0 };
  check_rrdb_tiles (&cfg, 96, 64, 32);
  check_rrdb_tiles (&strong, 96, 64, 32);
}

static void
test_any_factor (void)
{
  /* Non-native factors: the task (tiled, weighted, windowed resample)
   * equals a naive Lanczos-3 resample of the untiled native result. */
  static const struct { const char *model; int w, h, tile; double scale; } cases[] = {
    { "rdn-slim-x2", 37, 23, 0, 1.5 },
    { "rdn-slim-x4", 37, 23, 12, 2.5 },     /* tiled, shrinking */
    { "rdn-slim-x2", 29, 17, 10, 3.3 },     /* tiled, enlarging */
    { "rdn-slim-x3", 20, 14, 0, 1.0 },
    { "realesr-animevideov3-x4", 19, 13, 0, 6.0 },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      dream_model *m = load_named (cases[k].model);
      int w = cases[k].w, h = cases[k].h, s = dream_upscale_native_scale (m), ow, oh;
      float *x = test_image (w, h, 3, 23 + k);
      float *nat = g_new (float, (size_t) w * h * s * s * 3);
      run_net (m, x, h, w, nat, 1);
      float *got = upscale_image (m, x, w, h, 3, cases[k].scale, cases[k].tile, 2, &ow, &oh);
      g_assert_cmpint (ow, ==, dream_upscale_size (w, cases[k].scale));
      float *ref = g_new (float, (size_t) ow * oh * 3);
      resample_naive (DREAM_FILTER_LANCZOS3, nat, w * s, h * s, 3, ow, oh, ref);
      for (size_t i = 0; i < (size_t) ow * oh * 3; i++)
        ref[i] = CLAMP (ref[i], 0.0f, 1.0f);
      double d = max_abs_diff (got, ref, (size_t) ow * oh * 3);
      g_test_message ("%s x%.1f (%dx%d -> %dx%d, tile %d): max |task - naive| = %.3g",
                      cases[k].model, cases[k].scale, w, h, ow, oh, cases[k].tile, d);
      g_assert_cmpfloat (d, <, 1e-5);
      g_free (x); g_free (nat); g_free (got); g_free (ref);
      dream_model_free (m);
    }
}

static void
test_grey_and_alpha (void)
{
  dream_model *m = load_named ("rdn-slim-x2");
  int w = 31, h = 22, ow, oh;
  size_t n = (size_t) w * h;
  float *g = test_image (w, h, 1, 31), *rgb = g_new (float, n * 3);
  float *ga = g_new (float, n * 2), *rgba = g_new (float, n * 4);
  float *alpha = test_image (w, h, 1, 32);
  for (size_t i = 0; i < n; i++)
    {
      rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i];
      ga[2 * i] = g[i];
      ga[2 * i + 1] = alpha[i];
      for (int c = 0; c < 3; c++)
        rgba[4 * i + c] = rgb[3 * i + c];
      rgba[4 * i + 3] = alpha[i];
    }
  const double scale = 2.6;
  float *yg = upscale_image (m, g, w, h, 1, scale, 0, 2, &ow, &oh);
  float *yc = upscale_image (m, rgb, w, h, 3, scale, 0, 2, &ow, &oh);
  float *yga = upscale_image (m, ga, w, h, 2, scale, 0, 2, &ow, &oh);
  float *yrgba = upscale_image (m, rgba, w, h, 4, scale, 9, 2, &ow, &oh);
  size_t on = (size_t) ow * oh;
  float *aref = g_new (float, on);
  resample_naive (DREAM_FILTER_LANCZOS3, alpha, w, h, 1, ow, oh, aref);
  double dg = 0, da = 0, dc = 0;
  for (size_t i = 0; i < on; i++)
    {
      /* grey = mean of the colour result (clamping commutes closely enough) */
      double mean = (yc[3 * i] + yc[3 * i + 1] + yc[3 * i + 2]) / 3.0;
      dg = MAX (dg, fabs (yg[i] - mean));
      dg = MAX (dg, fabs (yga[2 * i] - yg[i]));
      da = MAX (da, fabs (yga[2 * i + 1] - CLAMP (aref[i], 0.0f, 1.0f)));
      da = MAX (da, fabs (yrgba[4 * i + 3] - CLAMP (aref[i], 0.0f, 1.0f)));
      for (int c = 0; c < 3; c++)
        dc = MAX (dc, fabs (yrgba[4 * i + c] - yc[3 * i + c]));
    }
  g_test_message ("grey vs colour mean %.3g, alpha vs naive Lanczos %.3g, RGBA colour vs RGB %.3g",
                  dg, da, dc);
  g_assert_cmpfloat (dg, <, 1e-5);
  g_assert_cmpfloat (da, <, 1e-5);
  g_assert_cmpfloat (dc, <, 1e-5);
  dream_model_free (m);
  g_free (g); g_free (rgb); g_free (ga); g_free (rgba); g_free (alpha);
  g_free (yg); g_free (yc); g_free (yga); g_free (yrgba); g_free (aref);
}

static void
test_deterministic (void)
{
  /* Same bits twice, and for 1 and 3 threads (chunks are fixed). */
  dream_model *m = load_named ("realesr-animevideov3-x4");
  int w = 40, h = 29, ow, oh;
  float *x = test_image (w, h, 3, 41);
  float *a = upscale_image (m, x, w, h, 3, 3.0, 16, 1, &ow, &oh);
  float *b = upscale_image (m, x, w, h, 3, 3.0, 16, 3, &ow, &oh);
  float *c = upscale_image (m, x, w, h, 3, 3.0, 16, 3, &ow, &oh);
  size_t n = (size_t) ow * oh * 3 * sizeof (float);
  g_assert_cmpmem (a, n, b, n);
  g_assert_cmpmem (b, n, c, n);
  g_free (x); g_free (a); g_free (b); g_free (c);
  dream_model_free (m);
}

typedef struct { float *img; int width, channels, next, bands, max_rows, stop_after; } rows_probe;

static gboolean
probe_rows (gpointer user, int y, int n, const float *rows)
{
  rows_probe *p = user;
  g_assert_cmpint (y, ==, p->next);     /* in order, each row once */
  g_assert_cmpint (n, >, 0);
  memcpy (p->img + (size_t) y * p->width * p->channels, rows,
          sizeof (float) * (size_t) n * p->width * p->channels);
  p->next = y + n;
  p->bands++;
  p->max_rows = MAX (p->max_rows, n);
  return p->bands != p->stop_after;
}

static void
test_rows (void)
{
  /* dream_upscale_rows hands over the same pixels as dream_upscale, in
   * bands no taller than a row of tiles; FALSE from the callback cancels. */
  static const struct { const char *model; double scale; int tile; } cases[] = {
    { "rdn-slim-x2", 2.0, 16 },             /* native, exact tiles */
    { "realesr-animevideov3-x4", 2.7, 20 }, /* resampled */
  };
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      dream_model *m = load_named (cases[k].model);
      int w = 45, h = 70, ow, oh;
      float *x = test_image (w, h, 4, 71);
      float *ref = upscale_image (m, x, w, h, 4, cases[k].scale, cases[k].tile, 2, &ow, &oh);
      rows_probe probe = { g_new (float, (size_t) ow * oh * 4), ow, 4, 0, 0, 0, -1 };
      dream_upscale_params p = dream_upscale_default_params ();
      p.scale = cases[k].scale;
      p.tile = cases[k].tile;
      dream_image in = { x, w, h, 4 };
      GError *error = NULL;
      g_assert_true (dream_upscale_rows (m, &in, &p, probe_rows, &probe, &error));
      g_assert_no_error (error);
      g_assert_cmpint (probe.next, ==, oh);
      g_test_message ("%s x%.1f: %d bands, at most %d of %d rows", cases[k].model,
                      cases[k].scale, probe.bands, probe.max_rows, oh);
      g_assert_cmpint (probe.bands, >, 2);
      g_assert_cmpint (probe.max_rows, <, oh / 2);
      g_assert_cmpmem (probe.img, (size_t) ow * oh * 4 * sizeof (float),
                       ref, (size_t) ow * oh * 4 * sizeof (float));

      probe = (rows_probe) { probe.img, ow, 4, 0, 0, 0, 2 };
      g_assert_false (dream_upscale_rows (m, &in, &p, probe_rows, &probe, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_false (dream_upscale_rows (m, &in, &p, NULL, NULL, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_free (probe.img); g_free (ref); g_free (x);
      dream_model_free (m);
    }
}

typedef struct { double cancel_at, last; int calls; gboolean monotonic; } progress_probe;

static gboolean
probe_progress (gpointer user, double f)
{
  progress_probe *p = user;
  if (f < p->last)
    p->monotonic = FALSE;
  p->last = f;
  p->calls++;
  return f < p->cancel_at;
}

static void
test_progress_and_cancel (void)
{
  dream_model *m = load_named ("realesr-animevideov3-x4");
  int w = 90, h = 60;
  float *x = test_image (w, h, 4, 51);
  int ow = dream_upscale_size (w, 2.0), oh = dream_upscale_size (h, 2.0);
  float *y = g_new (float, (size_t) ow * oh * 4);
  dream_image in = { x, w, h, 4 }, out = { y, ow, oh, 4 };
  dream_upscale_params p = dream_upscale_default_params ();
  progress_probe probe = { 2.0, 0.0, 0, TRUE };
  p.scale = 2.0;
  p.tile = 32;
  p.progress = probe_progress;
  p.progress_user = &probe;
  GError *error = NULL;
  g_assert_true (dream_upscale (m, &in, &out, &p, &error));
  g_assert_true (probe.monotonic);
  g_assert_cmpfloat (probe.last, ==, 1.0);
  g_assert_cmpint (probe.calls, >, 6 * 18);   /* per layer of 6 tiles */

  probe = (progress_probe) { 0.4, 0.0, 0, TRUE };
  g_assert_false (dream_upscale (m, &in, &out, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
  g_assert_cmpfloat (probe.last, <, 0.5);
  g_clear_error (&error);
  dream_model_free (m);
  g_free (x); g_free (y);
}

static void
test_bad_arguments (void)
{
  dream_model *m = load_named ("rdn-slim-x2");
  float px[8 * 8 * 5] = { 0 }, big[32 * 32 * 5];
  dream_image in = { px, 8, 8, 3 }, out = { big, 16, 16, 3 };
  dream_upscale_params p = dream_upscale_default_params ();
  GError *error = NULL;
  const double bad_scales[] = { 0.5, 8.5, NAN, INFINITY };
  for (size_t i = 0; i < G_N_ELEMENTS (bad_scales); i++)
    {
      p.scale = bad_scales[i];
      g_assert_false (dream_upscale (m, &in, &out, &p, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  p.scale = 2.0;
  g_assert_true (dream_upscale (m, &in, &out, &p, &error));
  g_assert_no_error (error);

  dream_image wrong = { big, 15, 16, 3 }, five = { px, 8, 8, 5 }, five_out = { big, 16, 16, 5 };
  dream_image zero = { px, 0, 8, 3 }, nodata = { NULL, 8, 8, 3 };
  dream_image grey_out = { big, 16, 16, 1 };
  g_assert_false (dream_upscale (m, &in, &wrong, &p, &error));
  g_clear_error (&error);
  g_assert_false (dream_upscale (m, &five, &five_out, &p, &error));
  g_clear_error (&error);
  g_assert_false (dream_upscale (m, &zero, &out, &p, &error));
  g_clear_error (&error);
  g_assert_false (dream_upscale (m, &nodata, &out, &p, &error));
  g_clear_error (&error);
  g_assert_false (dream_upscale (m, &in, &grey_out, &p, &error));
  g_clear_error (&error);
  p.scale = 1.0;
  dream_image same = { px, 8, 8, 3 };
  g_assert_false (dream_upscale (m, &in, &same, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.scale = 2.0;
  p.tile = -1;
  g_assert_false (dream_upscale (m, &in, &out, &p, &error));
  g_clear_error (&error);

  /* a denoiser is not an upscaler */
  dream_model *dn = load_named ("ffdnet-gray");
  p = dream_upscale_default_params ();
  p.scale = 2.0;
  g_assert_false (dream_upscale (dn, &in, &out, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (dream_upscale_native_scale (dn), ==, 0);
  dream_model_free (dn);

  /* 1×1 works at every native factor */
  const char *names[] = { "rdn-slim-x8", "realesr-general-x4v3" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      dream_model *mm = load_named (names[i]);
      dream_image one = { px, 1, 1, 4 }, one_out = { big, 7, 7, 4 };
      p.scale = 7.0;
      g_assert_true (dream_upscale (mm, &one, &one_out, &p, &error));
      g_assert_no_error (error);
      dream_model_free (mm);
    }
  dream_model_free (m);
}

static void
test_model_find (void)
{
  static const struct { const char *choice; double scale; const char *file; } cases[] = {
    { "photo", 4, "realesr-general-x4v3.safetensors" },
    { "anime", 2, "realesr-animevideov3-x4.safetensors" },
    { "fast", 1.0, "rdn-slim-x2.safetensors" },
    { "fast", 2.0, "rdn-slim-x2.safetensors" },
    { "fast", 2.5, "rdn-slim-x3.safetensors" },
    { "fast", 4.0, "rdn-slim-x4.safetensors" },
    { "fast", 5.0, "rdn-slim-x8.safetensors" },
    { "fast", 8.0, "rdn-slim-x8.safetensors" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GError *error = NULL;
      char *path = dream_upscale_model_find (cases[i].choice, cases[i].scale, &error);
      g_assert_no_error (error);
      g_assert_true (g_str_has_suffix (path, cases[i].file));
      dream_model *m = dream_model_load (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (dream_model_get_channels (m), ==, 3);
      dream_model_free (m);
      g_free (path);
    }
  GError *error = NULL;
  g_assert_null (dream_upscale_model_find ("no-such-model", 2.0, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);
}

static char *
write_model (const char *arch, const dream_st_out *t, int n)
{
  char *dir = g_dir_make_tmp ("dream-upscale-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  const char *meta[] = { "architecture", arch, NULL };
  g_assert_true (dream_st_write (path, t, n, meta, NULL));
  g_free (dir);
  return path;
}

static void
test_bad_models (void)
{
  static float z[64 * 64 * 9];
  const dream_st_out srvgg_bad[] = {   /* last conv 64 -> 47: no scale */
    { "body.0.weight", 4, { 64, 3, 3, 3 }, z }, { "body.0.bias", 1, { 64 }, z },
    { "body.1.weight", 1, { 64 }, z },
    { "body.2.weight", 4, { 47, 64, 3, 3 }, z }, { "body.2.bias", 1, { 47 }, z },
  };
  const dream_st_out srvgg_slope[] = {  /* PReLU with 32 slopes */
    { "body.0.weight", 4, { 64, 3, 3, 3 }, z }, { "body.0.bias", 1, { 64 }, z },
    { "body.1.weight", 1, { 32 }, z },
    { "body.2.weight", 4, { 48, 64, 3, 3 }, z }, { "body.2.bias", 1, { 48 }, z },
  };
  const dream_st_out rdn_partial[] = {
    { "F_0/kernel", 4, { 3, 3, 64, 64 }, z }, { "F_1_1/kernel", 4, { 3, 3, 64, 4 }, z },
    { "UPN3/kernel", 4, { 3, 3, 32, 12 }, z }, { "LFF_1/kernel", 4, { 1, 1, 68, 64 }, z },
  };
  const dream_st_out rrdb_partial[] = {
    { "conv_first.weight", 4, { 64, 3, 3, 3 }, z }, { "conv_first.bias", 1, { 64 }, z },
    { "body.0.rdb1.conv1.weight", 4, { 32, 64, 3, 3 }, z },
  };
  const dream_st_out rrdb_in[] = {
    { "conv_first.weight", 4, { 64, 5, 3, 3 }, z },
    { "body.0.rdb1.conv1.weight", 4, { 32, 64, 3, 3 }, z },
  };
  const struct { const char *arch; const dream_st_out *t; int n; const char *expect; } cases[] = {
    { "srvgg", srvgg_bad, 5, "SRVGGNetCompact" },
    { "srvgg", srvgg_slope, 5, "body.1.weight" },
    { "srvgg", rdn_partial, 4, "SRVGGNetCompact" },
    { "rdn", rdn_partial, 4, "F_m1/kernel" },
    { "rdn", srvgg_bad, 5, "RDN" },
    { "rrdb", rrdb_partial, 3, "body.0.rdb1.conv1.bias" },
    { "rrdb", rrdb_in, 2, "3, 12 or 48" },
    { "rrdb", srvgg_bad, 5, "RRDBNet" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GError *error = NULL;
      char *path = write_model (cases[i].arch, cases[i].t, cases[i].n);
      g_assert_null (dream_model_load (path, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
      g_test_message ("bad model %zu: %s", i, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
      g_clear_error (&error);
      remove_file_and_dir (path);
    }

  /* truncated copies of each bundled network */
  const char *names[] = { "realesr-general-x4v3", "rdn-slim-x4" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      GError *error = NULL;
      char *src = dream_model_find (names[i], &error), *contents;
      gsize len;
      g_assert_true (g_file_get_contents (src, &contents, &len, &error));
      char *dir = g_dir_make_tmp ("dream-upscale-XXXXXX", NULL);
      char *cut = g_build_filename (dir, "cut.safetensors", NULL);
      g_assert_true (g_file_set_contents (cut, contents, len - 1000, &error));
      g_assert_null (dream_model_load (cut, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
      g_clear_error (&error);
      g_unlink (cut);
      g_rmdir (dir);
      g_free (cut); g_free (dir); g_free (contents); g_free (src);
    }
}

static void
test_cli (void)
{
  const char *exe = g_getenv ("DREAM_EXE");
  if (!exe)
    {
      g_test_skip ("DREAM_EXE not set (run through meson test)");
      return;
    }
  /* an RGBA PNG ×2.5 with the fast model */
  int w = 21, h = 14;
  dream_file_image img = { test_image (w, h, 4, 61), w, h, 4, 8 };
  for (size_t i = 0; i < (size_t) w * h; i++)
    img.data[4 * i + 3] = i % 2 ? 1.0f : 0.25f;
  char *dir = g_dir_make_tmp ("dream-upscale-XXXXXX", NULL);
  char *in = g_build_filename (dir, "in.png", NULL), *out = g_build_filename (dir, "out.png", NULL);
  GError *error = NULL;
  g_assert_true (dream_file_image_save_png (in, &img, 8, &error));
  const char *argv[] = { exe, "upscale", "--scale", "2.5", "--model", "fast", "-q", in, out, NULL };
  int status;
  char *err_out = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, NULL, &err_out,
                               &status, &error));
  g_test_message ("dream upscale: %s", err_out);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  dream_file_image res = { 0 };
  g_assert_true (dream_file_image_load (out, &res, &error));
  g_assert_cmpint (res.width, ==, 53);
  g_assert_cmpint (res.height, ==, 35);
  g_assert_cmpint (res.channels, ==, 4);
  dream_file_image_clear (&res);
  g_free (err_out);

  /* bad usage and a missing model: exit 2 and 1, no output written */
  g_unlink (out);
  const char *bad[] = { exe, "upscale", "--scale", "9", in, out, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) bad, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  const char *missing[] = { exe, "upscale", "--model", "/nonexistent.safetensors", in, out, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) missing, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  g_unlink (in);
  g_rmdir (dir);
  g_free (in); g_free (out); g_free (dir);
  dream_file_image_clear (&img);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/upscale/ops/conv2d-ex", test_conv2d_ex);
  g_test_add_func ("/upscale/ops/activations", test_activations);
  g_test_add_func ("/upscale/ops/shuffle", test_shuffle);
  g_test_add_func ("/upscale/ops/fold-upsample", test_fold_upsample);
  g_test_add_func ("/upscale/ops/resample", test_resample);
  g_test_add_func ("/upscale/tile/blend-weights", test_blend_weights);

  static const ref_case refs[] = {
    { "srvgg_general", "realesr-general-x4v3", { 0 } },
    { "srvgg_anime", "realesr-animevideov3-x4", { 0 } },
    { "rdn_x2", "rdn-slim-x2", { 0 } },
    { "rdn_x3", "rdn-slim-x3", { 0 } },
    { "rdn_x4", "rdn-slim-x4", { 0 } },
    { "rdn_x8", "rdn-slim-x8", { 0 } },
    { "rrdb_x4", NULL, { 1234, 23, 3, 1.0 } },
    { "rrdb_x2", NULL, { 99, 2, 12, 1.0 } },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (refs); i++)
    {
      char *path = g_strdup_printf ("/upscale/reference/%s", refs[i].name);
      g_test_add_data_func (path, &refs[i], check_reference);
      g_free (path);
    }
  g_test_add_func ("/upscale/tiled-equals-untiled", test_tiled_equals_untiled);
  g_test_add_func ("/upscale/rrdb-tiled", test_rrdb_tiled);
  g_test_add_func ("/upscale/rrdb-tiled-real-size", test_rrdb_tiled_real_size);
  g_test_add_func ("/upscale/any-factor", test_any_factor);
  g_test_add_func ("/upscale/grey-and-alpha", test_grey_and_alpha);
  g_test_add_func ("/upscale/deterministic", test_deterministic);
  g_test_add_func ("/upscale/rows", test_rows);
  g_test_add_func ("/upscale/progress-and-cancel", test_progress_and_cancel);
  g_test_add_func ("/upscale/bad-arguments", test_bad_arguments);
  g_test_add_func ("/upscale/model-find", test_model_find);
  g_test_add_func ("/upscale/bad-models", test_bad_models);
  g_test_add_func ("/upscale/cli", test_cli);
  return g_test_run ();
}
