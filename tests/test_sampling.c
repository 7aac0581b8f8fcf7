/* test_sampling.c — whole txt2img loops against the original samplers.
 *
 * Golden case ../shared/data/golden/sampling (see its README.txt): the
 * unet_sd1 (ε) and unet_sd2 (v) golden UNets and the golden VAE, contexts
 * c / uc from the tiny CLIP, x_T given, 4 steps, guidance 7.5:
 *   ddim          LDM DDIMSampler, η = 0, ε-prediction
 *   ddim_v        the same with v-prediction
 *   euler         k-diffusion sample_euler, discrete sigmas
 *   euler_karras  the same, Karras sigmas (fractional UNet timesteps)
 * Every step's latent and clean-latent estimate is compared with
 * PyTorch's float32 run, the final latent and decoded image with the
 * float64 re-run.
 *
 * Tolerances: guidance at 7.5 multiplies a UNet's float32 rounding by
 * about 14 and the steps divide by √ᾱ down to 0.24, so the reference's
 * own float32 and float64 runs end 9.5e-5 apart (DDIM latents, |x| up to
 * 16) and 3.1e-4 (Euler Karras, |x| up to 54); its decoded images 7.5e-6.
 * A float32 engine lands at that distance from either, so latents are
 * held to 2e-5 relative to the largest latent value (≈ 3e-4 and 1e-3
 * absolute: a few times the observed gap), decoded images to 1e-4. The
 * schedule itself must match to float32 rounding (1e-6 relative).
 */
#include "io/safetensors.h"
#include "models/unet.h"
#include "models/vae.h"
#include "sched/sampler.h"
#include "sched/schedule.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define LATENT_REL_TOL 2e-5
#define DECODED_TOL 1e-4

static dream_st_file *
open_golden (const char *dir, const char *file)
{
  const char *shared = g_getenv ("DREAM_SHARED_DATA");
  char *p = g_build_filename (shared ? shared : "../shared/data", "golden", dir, file, NULL);
  dream_st_file *f = dream_st_open (p, NULL);
  g_free (p);
  return f;
}

static float *
read_all (const dream_st_file *f, const char *name, const dream_st_tensor **t_out)
{
  const dream_st_tensor *t = dream_st_find (f, name);
  if (!t)
    g_error ("golden tensor %s missing", name);
  float *v = g_new (float, t->n_elements);
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, NULL));
  if (t_out)
    *t_out = t;
  return v;
}

/* n images (C, H, W) → (H, W, C) */
static void
to_nhwc (const float *x, int n, int c, int h, int w, float *y)
{
  for (int i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < h * w; p++)
        y[((size_t) i * h * w + p) * c + ch] = x[((size_t) i * c + ch) * h * w + p];
}

static float *
read_nhwc (const dream_st_file *f, const char *name, int c, int h, int w, size_t *n_out)
{
  const dream_st_tensor *t;
  float *v = read_all (f, name, &t);
  size_t n = (size_t) t->n_elements;
  int imgs = (int) (n / ((size_t) c * h * w));
  float *y = g_new (float, n);
  to_nhwc (v, imgs, c, h, w, y);
  g_free (v);
  if (n_out)
    *n_out = n;
  return y;
}

static double
max_abs (const float *a, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i]));
  return m;
}

static double
max_abs_diff (const float *a, const float *b, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      m = MAX (m, fabs ((double) a[i] - b[i]));
    }
  return m;
}

/* ---- schedule ----------------------------------------------------------- */

static void
test_schedule (void)
{
  dream_st_file *io = open_golden ("sampling", "io.safetensors");
  if (!io)
    {
      g_test_skip ("golden data not found (set DREAM_SHARED_DATA)");
      return;
    }
  dream_schedule s;
  GError *error = NULL;
  g_assert_true (dream_schedule_init_linear (&s, 1000, 0.00085, 0.012, &error));
  float *ac = read_all (io, "schedule.alphas_cumprod", NULL);
  for (int i = 0; i < 1000; i++)
    g_assert_cmpfloat (fabs (s.alphas_cumprod[i] - ac[i]), <=, 1e-6 * ac[i]);

  int ts[1000];
  g_assert_cmpint (dream_ddim_timesteps (&s, 4, ts), ==, 4);
  float *gts = read_all (io, "ddim.timesteps", NULL);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (ts[i], ==, (int) gts[i]);
  g_assert_cmpint (dream_ddim_timesteps (&s, 7, ts), ==, 8);   /* LDM's quirk */
  g_assert_cmpint (ts[0], ==, 995);
  g_assert_cmpint (dream_ddim_timesteps (&s, 1000, ts), ==, 999);

  const char *tags[] = { "euler", "euler_karras" };
  for (int k = 0; k < 2; k++)
    {
      float sig[5], *ref, *tref;
      char *n1 = g_strconcat (tags[k], ".sigmas", NULL), *n2 = g_strconcat (tags[k], ".t_of_sigma", NULL);
      ref = read_all (io, n1, NULL);
      tref = read_all (io, n2, NULL);
      if (k == 0)
        dream_sigmas_discrete (&s, 4, sig);
      else
        dream_sigmas_karras (&s, 4, 7.0, sig);
      for (int i = 0; i < 5; i++)
        {
          g_test_message ("%s sigma %d: %.9g vs %.9g", tags[k], i, sig[i], ref[i]);
          g_assert_cmpfloat (fabs (sig[i] - ref[i]), <=, 1e-6 * ref[i]);
        }
      for (int i = 0; i < 4; i++)
        {
          float t = dream_schedule_sigma_to_t (&s, sig[i]);
          g_test_message ("%s t(sigma %d): %.9g vs %.9g", tags[k], i, t, tref[i]);
          g_assert_cmpfloat (fabs (t - tref[i]), <=, 2e-4);
        }
      g_free (n1); g_free (n2); g_free (ref); g_free (tref);
    }
  /* t → σ → t round trip */
  for (float t = 0.0f; t <= 999.0f; t += 37.25f)
    g_assert_cmpfloat (fabs (dream_schedule_sigma_to_t (&s, dream_schedule_t_to_sigma (&s, t)) - t), <, 2e-3);
  g_free (ac);
  g_free (gts);
  dream_schedule_clear (&s);
  dream_st_close (io);
}


/* ---- every sampler on a known answer ------------------------------------ */

/* Data that is one point x0: the ideal ε at (x_t, t) is (x_t − √ᾱ x0) / √(1−ᾱ)
 * (and v = √ᾱ ε − √(1−ᾱ) x0), with ᾱ at the fractional t from the
 * k-diffusion interpolation. Every sampler must then denoise to x0. */
typedef struct {
  const dream_schedule *s;
  const float *x0;
  size_t n;
  dream_prediction pred;
} point_model;

static gboolean
point_eval (gpointer user, const float *x, float t, float *out, GError **error)
{
  (void) error;
  const point_model *m = user;
  double sigma = dream_schedule_t_to_sigma (m->s, t);
  double ac = 1.0 / (sigma * sigma + 1.0), sa = sqrt (ac), s1 = sqrt (1.0 - ac);
  for (size_t k = 0; k < m->n; k++)
    {
      double eps = (x[k] - sa * m->x0[k]) / s1;
      out[k] = (float) (m->pred == DREAM_PREDICTION_V ? sa * eps - s1 * m->x0[k] : eps);
    }
  return TRUE;
}

/* For the k-diffusion samplers on the point model the exact path is
 * known: x_i = x0 + σ_i ε (the probability-flow ODE; Euler and DPM++ 2M
 * follow it exactly here), and for Euler ancestral x_{i+1} = x0 +
 * σ_down (x_i − x0)/σ_i + σ_up z_i. Checked after every step. */
typedef struct {
  const float *x0, *xt, *sig, *noise;
  size_t n;
  gboolean ancestral;
  gboolean lcm;          /* x_{i+1} = x0 + σ_{i+1} z_i */
  float *expect;        /* (n) running expectation */
  double worst;
} path_check;

static void
path_step (gpointer user, int i, float t, const float *x, const float *x0)
{
  (void) t;
  (void) x0;
  path_check *c = user;
  double from = c->sig[i], to = c->sig[i + 1];
  double up = 0.0, down = to;
  if (c->ancestral)
    {
      up = MIN (to, sqrt (to * to * (from * from - to * to) / (from * from)));
      down = sqrt (to * to - up * up);
    }
  if (c->lcm)
    up = to, down = 0.0;
  for (size_t k = 0; k < c->n; k++)
    {
      double eps = (c->expect[k] - c->x0[k]) / from;
      c->expect[k] = (float) (c->x0[k] + down * eps + (to > 0 ? up * c->noise[i * c->n + k] : 0.0));
      c->worst = MAX (c->worst, fabs (x[k] - c->expect[k]) / MAX (1.0, fabs (c->expect[k])));
    }
}

static void
test_point_mass (void)
{
  dream_schedule sch;
  g_assert_true (dream_schedule_init_linear (&sch, 1000, 0.00085, 0.012, NULL));
  const size_t n = 64;
  float x0[64], xt[64], x[64], *noise = g_new (float, 20 * n), sig[21];
  GRand *r = g_rand_new_with_seed (9);
  for (size_t k = 0; k < n; k++)
    {
      x0[k] = (float) g_rand_double_range (r, -2, 2);
      xt[k] = (float) g_rand_double_range (r, -1.7, 1.7);
    }
  for (size_t k = 0; k < 20 * n; k++)
    noise[k] = (float) g_rand_double_range (r, -1.7, 1.7);
  for (int p = 0; p < 2; p++)
    {
      point_model m = { &sch, x0, n, p ? DREAM_PREDICTION_V : DREAM_PREDICTION_EPS };
      float expect[64];
      path_check pc = { x0, xt, sig, noise, n, FALSE, FALSE, expect, 0.0 };
      dream_sampler s = { &sch, m.pred, n, point_eval, &m, path_step, &pc };
      for (int kind = 0; kind < 7; kind++)
        {
          memcpy (x, xt, sizeof x);
          pc.ancestral = kind == 2;
          pc.lcm = kind >= 5;
          pc.worst = 0.0;
          s.on_step = kind == 4 ? NULL : path_step;
          GError *error = NULL;
          const char *name = NULL;
          gboolean karras = kind % 2 == 1;
          int steps = kind == 6 ? 4 : 20;
          if (kind == 6)
            dream_sigmas_turbo (&sch, 4, sig);
          else if (karras)
            dream_sigmas_karras (&sch, 20, 7.0, sig);
          else
            dream_sigmas_discrete (&sch, 20, sig);
          for (size_t k = 0; k < n; k++)
            expect[k] = xt[k] * sig[0] + x0[k];   /* x_T σ₀ around x0 */
          if (kind != 4)
            for (size_t k = 0; k < n; k++)
              x[k] = xt[k] + x0[k] / sig[0];      /* the sampler scales by σ₀ */
          switch (kind)
            {
            case 0: name = "euler"; g_assert_true (dream_sample_euler (&s, sig, 20, x, &error)); break;
            case 1: name = "dpmpp-2m-karras"; g_assert_true (dream_sample_dpmpp_2m (&s, sig, 20, x, &error)); break;
            case 2: name = "euler-a"; g_assert_true (dream_sample_euler_ancestral (&s, sig, 20, noise, x, &error)); break;
            case 3: name = "euler-karras"; g_assert_true (dream_sample_euler (&s, sig, 20, x, &error)); break;
            case 4: name = "ddim"; g_assert_true (dream_sample_ddim (&s, 20, x, &error)); break;
            case 5: name = "lcm"; g_assert_true (dream_sample_lcm (&s, sig, 20, noise, x, &error)); break;
            case 6: name = "turbo"; g_assert_true (dream_sample_lcm (&s, sig, steps, noise, x, &error)); break;
            }
          /* DDIM stops at t = 0's noise level: √ᾱ₀ x0 + √(1−ᾱ₀) ε */
          double worst = 0.0;
          for (size_t k = 0; k < n; k++)
            {
              double want = x0[k];
              if (kind == 4)
                {
                  double a0 = sch.alphas_cumprod[0];
                  /* ε stays that of x_T: x_t = √ᾱ x0 + √(1−ᾱ) ε at every step */
                  double eps = (xt[k] - sqrt (sch.alphas_cumprod[951]) * x0[k])
                               / sqrt (1.0 - sch.alphas_cumprod[951]);
                  want = sqrt (a0) * x0[k] + sqrt (1.0 - a0) * eps;
                }
              worst = MAX (worst, fabs (x[k] - want));
            }
          g_test_message ("%s, %s: max |x - expected| = %.3g, along the path %.3g (relative)",
                          name, p ? "v" : "eps", worst, pc.worst);
          g_assert_cmpfloat (worst, <, 2e-3);
          g_assert_cmpfloat (pc.worst, <, 1e-3);
        }
    }
  g_free (noise);
  g_rand_free (r);
  dream_schedule_clear (&sch);
}

/* ---- whole loops -------------------------------------------------------- */

typedef struct {
  const dream_st_file *io;
  const char *tag;
  float *x_ref, *x0_ref;   /* (steps + 1, B, h, w, 4) NHWC */
  const char *x0_name;
  size_t per;              /* floats per step */
  double scale;            /* largest |latent| of the whole run */
  double worst;
  int steps_seen;
} step_check;

static void
on_step (gpointer user, int i, float t, const float *x, const float *x0)
{
  step_check *c = user;
  (void) t;
  /* DDIM stores x_inter[i+1] / pred_x0[i+1]; k-diffusion x[i+1] and denoised[i] */
  double dx = max_abs_diff (x, c->x_ref + (size_t) (i + 1) * c->per, c->per);
  int i0 = strcmp (c->x0_name, "pred_x0") == 0 ? i + 1 : i;
  double d0 = max_abs_diff (x0, c->x0_ref + (size_t) i0 * c->per, c->per);
  g_test_message ("  %s step %d (t %.4g): max |x - torch| = %.3g, |x0 - torch| = %.3g", c->tag, i,
                  t, dx, d0);
  g_assert_cmpfloat (dx, <, LATENT_REL_TOL * c->scale);
  g_assert_cmpfloat (d0, <, LATENT_REL_TOL * c->scale);
  c->worst = MAX (c->worst, MAX (dx, d0));
  c->steps_seen++;
}

typedef enum { RUN_DDIM, RUN_EULER, RUN_EULER_KARRAS } run_kind;

static void
run_case (const char *tag, const char *unet_dir, dream_prediction pred, run_kind kind,
          const char *x_name, const char *x0_name, gboolean has_f64)
{
  dream_st_file *io = open_golden ("sampling", "io.safetensors");
  dream_st_file *uf = open_golden (unet_dir, "model.safetensors");
  dream_st_file *vf = open_golden ("vae", "model.safetensors");
  if (!io || !uf || !vf)
    {
      g_test_skip ("golden data not found (set DREAM_SHARED_DATA)");
      dream_st_close (io); dream_st_close (uf); dream_st_close (vf);
      return;
    }
  GError *error = NULL;
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  g_assert_true (dream_ldm_config_load_metadata (&cfg, uf, &error));
  dream_unet *unet = dream_unet_load (uf, &cfg, &error);
  g_assert_no_error (error);
  dream_vae *vae = dream_vae_load (vf, &error);
  g_assert_no_error (error);

  const int B = 2, h = 8, w = 8, n_ctx = 77;
  const size_t n = (size_t) B * h * w * 4;
  float *c = read_all (io, "c", NULL), *uc = read_all (io, "uc", NULL);
  float *x = read_nhwc (io, "x_T", 4, h, w, NULL);

  dream_pool *pool = dream_pool_new (2);
  dream_guided g;
  g_assert_true (dream_guided_init (&g, unet, B, h, w, c, uc, n_ctx, 7.5f, NULL, pool, &error));
  g_assert_no_error (error);

  char *xn = g_strconcat (tag, ".", x_name, NULL), *x0n = g_strconcat (tag, ".", x0_name, NULL);
  size_t n_ref;
  step_check chk = { io, tag, NULL, NULL, x0_name, n, 0, 0, 0 };
  chk.x_ref = read_nhwc (io, xn, 4, h, w, &n_ref);
  chk.x0_ref = read_nhwc (io, x0n, 4, h, w, NULL);
  chk.scale = max_abs (chk.x_ref, n_ref);

  dream_schedule sch;
  g_assert_true (dream_schedule_init_linear (&sch, 1000, 0.00085, 0.012, &error));
  dream_sampler s = { &sch, pred, n, dream_guided_model, &g, on_step, &chk };

  float *eps_u = NULL, *eps_c = NULL;
  if (kind == RUN_DDIM && pred == DREAM_PREDICTION_EPS)
    {
      eps_u = g_new (float, n);
      eps_c = g_new (float, n);
      g.last_uncond = eps_u;
      g.last_cond = eps_c;
    }
  float sigmas[5];
  if (kind == RUN_DDIM)
    g_assert_true (dream_sample_ddim (&s, 4, x, &error));
  else
    {
      if (kind == RUN_EULER)
        dream_sigmas_discrete (&sch, 4, sigmas);
      else
        dream_sigmas_karras (&sch, 4, 7.0, sigmas);
      g_assert_true (dream_sample_euler (&s, sigmas, 4, x, &error));
    }
  g_assert_no_error (error);
  g_assert_cmpint (chk.steps_seen, ==, 4);

  /* the two halves of the guided batch at step 0 (x_T, t 751) */
  if (eps_u)
    {
      float *xt = read_nhwc (io, "x_T", 4, h, w, NULL), *o = g_new (float, n);
      float *ru = read_nhwc (io, "ddim.step0.eps_uncond", 4, h, w, NULL);
      float *rc = read_nhwc (io, "ddim.step0.eps_cond", 4, h, w, NULL);
      g_assert_true (dream_guided_model (&g, xt, 751.0f, o, &error));
      double du = max_abs_diff (eps_u, ru, n), dc = max_abs_diff (eps_c, rc, n);
      g_test_message ("  step 0 eps: uncond %.3g, cond %.3g", du, dc);
      g_assert_cmpfloat (du, <, 3e-5);
      g_assert_cmpfloat (dc, <, 3e-5);
      g_free (xt); g_free (o); g_free (ru); g_free (rc);
    }

  char *sn = g_strconcat (tag, has_f64 ? ".samples_f64ref" : ".samples", NULL);
  float *sref = read_nhwc (io, sn, 4, h, w, NULL);
  double ds = max_abs_diff (x, sref, n);
  g_test_message ("%s samples: max |engine - %s| = %.3g (max |x| %.3g)", tag,
                  has_f64 ? "f64" : "torch f32", ds, chk.scale);
  g_assert_cmpfloat (ds, <, LATENT_REL_TOL * chk.scale);

  /* decoded = VAE.decode(samples / scale_factor) */
  for (size_t k = 0; k < n; k++)
    x[k] /= 0.18215f;
  dream_vae_state vs;
  g_assert_true (dream_vae_state_init (&vs, vae, DREAM_VAE_DECODE, B, h, w,
                                       dream_pool_n_threads (pool), &error));
  size_t n_img = (size_t) B * 16 * 16 * 3;
  float *img = g_new (float, n_img);
  g_assert_true (dream_vae_decode (vae, &vs, x, img, pool, NULL, 0, &error));
  char *dn = g_strconcat (tag, ".decoded_f64ref", NULL);
  gboolean dec64 = dream_st_find (io, dn) != NULL;
  if (!dec64)
    dn[strlen (dn) - strlen ("_f64ref")] = '\0';
  float *dref = read_nhwc (io, dn, 3, 16, 16, NULL);
  double dd = max_abs_diff (img, dref, n_img);
  g_test_message ("%s decoded: max |engine - %s| = %.3g", tag, dec64 ? "f64" : "torch f32", dd);
  g_assert_cmpfloat (dd, <, DECODED_TOL);

  dream_vae_state_clear (&vs);
  dream_guided_clear (&g);
  dream_schedule_clear (&sch);
  dream_pool_free (pool);
  dream_unet_free (unet);
  dream_vae_free (vae);
  dream_ldm_config_clear (&cfg);
  g_free (c); g_free (uc); g_free (x); g_free (xn); g_free (x0n); g_free (chk.x_ref);
  g_free (chk.x0_ref); g_free (eps_u); g_free (eps_c); g_free (sn); g_free (sref);
  g_free (img); g_free (dn); g_free (dref);
  dream_st_close (io); dream_st_close (uf); dream_st_close (vf);
}

static void
test_ddim (void)
{
  run_case ("ddim", "unet_sd1", DREAM_PREDICTION_EPS, RUN_DDIM, "x_inter", "pred_x0", TRUE);
}

static void
test_ddim_v (void)
{
  run_case ("ddim_v", "unet_sd2", DREAM_PREDICTION_V, RUN_DDIM, "x_inter", "pred_x0", FALSE);
}

static void
test_euler (void)
{
  run_case ("euler", "unet_sd1", DREAM_PREDICTION_EPS, RUN_EULER, "x", "denoised", FALSE);
}

static void
test_euler_karras (void)
{
  run_case ("euler_karras", "unet_sd1", DREAM_PREDICTION_EPS, RUN_EULER_KARRAS, "x", "denoised",
            TRUE);
}


/* Progress moves with every UNet block and a cancel stops the loop
 * within the step it came in. */
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
  dream_st_file *io = open_golden ("sampling", "io.safetensors");
  dream_st_file *uf = open_golden ("unet_sd1", "model.safetensors");
  if (!io || !uf)
    {
      g_test_skip ("golden data not found");
      dream_st_close (io);
      dream_st_close (uf);
      return;
    }
  GError *error = NULL;
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  g_assert_true (dream_ldm_config_load_metadata (&cfg, uf, &error));
  dream_unet *unet = dream_unet_load (uf, &cfg, &error);
  float *c = read_all (io, "c", NULL), *uc = read_all (io, "uc", NULL);
  float *x = read_nhwc (io, "x_T", 4, 8, 8, NULL);
  dream_pool *pool = dream_pool_new (2);
  dream_schedule sch;
  g_assert_true (dream_schedule_init_linear (&sch, 1000, 0.00085, 0.012, &error));
  for (int k = 0; k < 2; k++)
    {
      dream_guided g;
      g_assert_true (dream_guided_init (&g, unet, 2, 8, 8, c, uc, 77, 7.5f, NULL, pool, &error));
      progress_probe probe = { k ? 0.3 : 2.0, 0.0, 0, TRUE };
      dream_progress progress;
      const int steps = 5, blocks = dream_unet_n_blocks (unet);
      dream_progress_init (&progress, probe_progress, &probe, (double) steps * blocks);
      g.progress = &progress;
      g.work_per_eval = blocks;
      dream_sampler s = { &sch, DREAM_PREDICTION_EPS, (size_t) 2 * 8 * 8 * 4, dream_guided_model,
                          &g, NULL, NULL };
      float sig[6];
      dream_sigmas_karras (&sch, steps, 7.0, sig);
      float *xx = g_memdup2 (x, sizeof (float) * 2 * 8 * 8 * 4);
      gboolean ok = dream_sample_euler (&s, sig, steps, xx, &error);
      g_assert_true (probe.monotonic);
      if (k == 0)
        {
          g_assert_true (ok);
          g_assert_cmpfloat (fabs (probe.last - 1.0), <, 1e-9);
          g_assert_cmpint (probe.calls, ==, steps * blocks);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
          g_assert_cmpfloat (probe.last, <, 0.3 + 1.0 / (steps * blocks) + 1e-9);
          g_clear_error (&error);
        }
      g_free (xx);
      dream_guided_clear (&g);
    }
  dream_schedule_clear (&sch);
  dream_pool_free (pool);
  dream_unet_free (unet);
  dream_ldm_config_clear (&cfg);
  g_free (c); g_free (uc); g_free (x);
  dream_st_close (io);
  dream_st_close (uf);
}

/* The same loops through `dream sample`, the command other checks use. */
static void
run_cli (const char *sampler, const char *tag, const char *unet_dir, const char *prediction)
{
  const char *exe = g_getenv ("DREAM_EXE");
  dream_st_file *io = open_golden ("sampling", "io.safetensors");
  if (!exe || !io)
    {
      g_test_skip ("dream executable or golden data not found");
      dream_st_close (io);
      return;
    }
  const char *shared = g_getenv ("DREAM_SHARED_DATA");
  char *gold = g_build_filename (shared ? shared : "../shared/data", "golden", NULL);
  char *unet = g_build_filename (gold, unet_dir, "model.safetensors", NULL);
  char *vae = g_build_filename (gold, "vae", "model.safetensors", NULL);
  char *in = g_build_filename (gold, "sampling", "io.safetensors", NULL);
  char *dir = g_dir_make_tmp ("dream-sample-XXXXXX", NULL);
  char *out = g_build_filename (dir, "out.safetensors", NULL);
  const char *argv[] = { exe, "sample", "--model", unet, "--vae", vae, "--in", in, "--out", out,
                         "--sampler", sampler, "--steps", "4", "--cfg", "7.5", "--quiet",
                         "--prediction", prediction, NULL };
  int status = -1;
  GError *error = NULL;
  char *err_text = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err_text, &status, &error));
  g_assert_no_error (error);
  if (status != 0)
    g_test_message ("dream sample: %s", err_text);
  g_assert_cmpint (status, ==, 0);

  dream_st_file *res = dream_st_open (out, &error);
  g_assert_no_error (error);
  const dream_st_tensor *t;
  float *x = read_all (res, "x", &t);
  g_assert_cmpint (t->shape[0], ==, 5);
  char *xn = g_strconcat (tag, strncmp (tag, "ddim", 4) ? ".x" : ".x_inter", NULL);
  char *dn = g_strconcat (tag, ".decoded", NULL);
  float *xr = read_all (io, xn, NULL), *dec = read_all (res, "decoded", NULL);
  float *dr = read_all (io, dn, NULL);
  size_t n = (size_t) t->n_elements;
  double scale = max_abs (xr, n), dx = max_abs_diff (x, xr, n);
  double dd = max_abs_diff (dec, dr, (size_t) 2 * 3 * 16 * 16);
  g_test_message ("dream sample %s: max |x - torch| = %.3g (max |x| %.3g), decoded %.3g", sampler,
                  dx, scale, dd);
  g_assert_cmpfloat (dx, <, LATENT_REL_TOL * scale);
  g_assert_cmpfloat (dd, <, DECODED_TOL);

  dream_st_close (res);
  dream_st_close (io);
  g_unlink (out);
  g_rmdir (dir);
  g_free (x); g_free (xr); g_free (dec); g_free (dr); g_free (xn); g_free (dn); g_free (err_text);
  g_free (gold); g_free (unet); g_free (vae); g_free (in); g_free (dir); g_free (out);
}

static void
test_cli_ddim (void)
{
  run_cli ("ddim", "ddim", "unet_sd1", "eps");
}

static void
test_cli_ddim_v (void)
{
  run_cli ("ddim", "ddim_v", "unet_sd2", "v");
}

static void
test_cli_euler_karras (void)
{
  run_cli ("euler-karras", "euler_karras", "unet_sd1", "eps");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampling/schedule", test_schedule);
  g_test_add_func ("/sampling/point-mass", test_point_mass);
  g_test_add_func ("/sampling/ddim", test_ddim);
  g_test_add_func ("/sampling/ddim-v", test_ddim_v);
  g_test_add_func ("/sampling/euler", test_euler);
  g_test_add_func ("/sampling/euler-karras", test_euler_karras);
  g_test_add_func ("/sampling/progress-and-cancel", test_progress_and_cancel);
  g_test_add_func ("/sampling/cli-ddim", test_cli_ddim);
  g_test_add_func ("/sampling/cli-ddim-v", test_cli_ddim_v);
  g_test_add_func ("/sampling/cli-euler-karras", test_cli_euler_karras);
  return g_test_run ();
}
