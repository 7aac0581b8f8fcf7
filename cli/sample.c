/* sample.c — `dream sample`: one whole Stable Diffusion sampler loop from
 * given text contexts and starting noise, every step written out. A
 * developer command with a stable interface, for checking the samplers
 * against reference runs.
 *
 *   dream sample --model UNET.safetensors [--vae VAE.safetensors]
 *                [--config MODEL.yaml] --in IN.safetensors --out OUT.safetensors
 *                [--sampler ddim|euler|euler-karras|euler-a|euler-a-karras|
 *                           dpmpp-2m|dpmpp-2m-karras|lcm|turbo]
 *                [--steps N] [--cfg S] [--prediction eps|v] [--threads N] [--quiet]
 *
 * --model is a checkpoint (original single-file layout, with or without
 * the model.diffusion_model. prefix); its .yaml next to it, --config or
 * its metadata give heads, prediction and schedule (see
 * engine/io/ldm_config.h); --prediction overrides. The VAE comes from
 * --vae, else from the model file when it holds one; without a VAE
 * nothing is decoded.
 *
 * IN (F32/F16/BF16, NCHW like PyTorch):
 *   c      (B, n_ctx, dim)     conditional context (text encoder output)
 *   uc     (B, n_ctx, dim)     unconditional context; absent: no guidance
 *   x_T    (B, 4, h, w)        starting noise, unit variance
 *   noise  (steps, B, 4, h, w) per-step noise of the ancestral samplers
 *                              (euler-a, lcm, turbo = LCM on SD-Turbo's
 *                              sigmas: t = 999, 899, ...)
 * OUT (F32, NCHW):
 *   x        (n + 1, B, 4, h, w)  x[0] the starting latent (x_T, or x_T·σ₀
 *                                 for the k-diffusion samplers), x[i+1]
 *                                 after step i
 *   x0       (n, B, 4, h, w)      each step's clean-latent estimate (DDIM
 *                                 pred_x0, k-diffusion denoised)
 *   t        (n)                  UNet timestep of each step
 *   sigmas   (n + 1)              k-diffusion samplers only
 *   samples  (B, 4, h, w)         = x[n]
 *   decoded  (B, 3, 8h, 8w)       VAE.decode(samples / scale_factor)
 * n is --steps, except for DDIM when T is not a multiple of it (LDM's
 * timesteps, see engine/sched/schedule.h). Exit 0 ok, 1 error, 2 usage.
 */
#include "commands.h"

#include "io/ldm_config.h"
#include "io/safetensors.h"
#include "models/sd_common.h"
#include "models/unet.h"
#include "models/vae.h"
#include "sched/sampler.h"
#include "sched/schedule.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef enum {
  S_DDIM, S_EULER, S_EULER_KARRAS, S_EULER_A, S_EULER_A_KARRAS, S_DPMPP_2M, S_DPMPP_2M_KARRAS,
  S_LCM, S_TURBO,
} sampler_kind;

static const struct { const char *name; sampler_kind kind; } samplers[] = {
  { "ddim", S_DDIM }, { "euler", S_EULER }, { "euler-karras", S_EULER_KARRAS },
  { "euler-a", S_EULER_A }, { "euler-a-karras", S_EULER_A_KARRAS },
  { "dpmpp-2m", S_DPMPP_2M }, { "dpmpp-2m-karras", S_DPMPP_2M_KARRAS },
  { "lcm", S_LCM }, { "turbo", S_TURBO },
};

/* n images (C, H, W) ↔ (H, W, C) */
static void
nchw_to_nhwc (const float *x, size_t n, int c, int hw, float *y)
{
  for (size_t i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < hw; p++)
        y[(i * hw + p) * c + ch] = x[(i * c + ch) * hw + p];
}

static void
nhwc_to_nchw (const float *x, size_t n, int c, int hw, float *y)
{
  for (size_t i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < hw; p++)
        y[(i * c + ch) * hw + p] = x[(i * hw + p) * c + ch];
}

/* A tensor of the input as float32 (newly allocated), NULL if absent. */
static float *
input (const dream_st_file *f, const char *name, const dream_st_tensor **t, GError **error)
{
  *t = dream_st_find (f, name);
  if (!*t)
    return NULL;
  float *v = g_try_new (float, MAX ((*t)->n_elements, 1));
  if (!v || !dream_st_to_f32 (*t, v, (*t)->n_elements, error))
    {
      if (!v)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "no memory for %s", name);
      g_free (v);
      return NULL;
    }
  return v;
}

typedef struct {
  float *x, *x0, *t;     /* records, NHWC */
  size_t per;
  int max_steps;
  int seen;
  dream_progress *progress;
} recorder;

static void
record (gpointer user, int i, float t, const float *x, const float *x0)
{
  recorder *r = user;
  if (i >= r->max_steps)
    return;
  memcpy (r->x + (size_t) (i + 1) * r->per, x, r->per * sizeof (float));
  memcpy (r->x0 + (size_t) i * r->per, x0, r->per * sizeof (float));
  r->t[i] = t;
  r->seen = MAX (r->seen, i + 1);
}

static gboolean
print_progress (gpointer user, double fraction)
{
  (void) user;
  fprintf (stderr, "\r%3d%%", (int) (fraction * 100.0 + 0.5));
  if (fraction >= 1.0)
    fputc ('\n', stderr);
  return TRUE;
}

int
cmd_sample (int argc, char **argv)
{
  char *model_path = NULL, *vae_path = NULL, *config_path = NULL, *in_path = NULL;
  char *out_path = NULL, *sampler_name = NULL, *prediction = NULL;
  int steps = 20, threads = 0;
  double cfg_scale = 7.5;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "UNet checkpoint (.safetensors)", "M" },
    { "vae", 0, 0, G_OPTION_ARG_FILENAME, &vae_path, "VAE (default: the model file's)", "V" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "LDM .yaml of the model", "C" },
    { "in", 'i', 0, G_OPTION_ARG_FILENAME, &in_path, "Inputs: c, uc, x_T [, noise]", "IN" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Outputs: x, x0, t, samples, decoded", "OUT" },
    { "sampler", 's', 0, G_OPTION_ARG_STRING, &sampler_name,
      "ddim (default), euler, euler-karras, euler-a, euler-a-karras, dpmpp-2m, dpmpp-2m-karras, "
      "lcm, turbo", "S" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Steps (default 20)", "N" },
    { "cfg", 0, 0, G_OPTION_ARG_DOUBLE, &cfg_scale, "Guidance scale (default 7.5)", "S" },
    { "prediction", 0, 0, G_OPTION_ARG_STRING, &prediction, "eps or v (default: the config's)", "P" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  GOptionContext *octx = g_option_context_new ("— run a Stable Diffusion sampler loop (developer)");
  g_option_context_add_main_entries (octx, entries, NULL);
  GError *error = NULL;
  int status = 2;
  sampler_kind kind = S_DDIM;
  dream_st_file *mf = NULL, *vf = NULL, *in = NULL;
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  dream_unet *unet = NULL;
  dream_vae *vae = NULL;
  dream_pool *pool = NULL;
  dream_guided g = { 0 };
  dream_schedule sch = { 0 };
  dream_vae_state vs = { 0 };
  float *c = NULL, *uc = NULL, *xt = NULL, *noise = NULL, *x = NULL, *sigmas = NULL;
  float *out_nchw = NULL, *img = NULL;
  recorder rec = { 0 };
  gboolean have_state = FALSE;

  if (!g_option_context_parse (octx, &argc, &argv, &error) || argc != 1 || !model_path
      || !in_path || !out_path)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream sample --model M --in IN.safetensors --out OUT.safetensors "
                    "[--sampler S] [--steps N] [--cfg S]  (see dream sample --help)");
      goto out;
    }
  if (sampler_name)
    {
      size_t i;
      for (i = 0; i < G_N_ELEMENTS (samplers); i++)
        if (!strcmp (sampler_name, samplers[i].name))
          break;
      if (i == G_N_ELEMENTS (samplers))
        {
          g_printerr ("dream sample: unknown sampler '%s'\n", sampler_name);
          goto out;
        }
      kind = samplers[i].kind;
    }
  if (steps < 1 || steps > 1000 || (kind == S_TURBO && steps > 10) || threads < 0 || !(cfg_scale >= 0.0 && cfg_scale <= 100.0)
      || (prediction && strcmp (prediction, "eps") && strcmp (prediction, "v")))
    {
      g_printerr ("dream sample: --steps 1..1000, --cfg 0..100, --prediction eps or v\n");
      goto out;
    }
  status = 1;

  /* the model and its settings */
  if (!(mf = dream_st_open (model_path, &error))
      || !dream_ldm_config_for_model (&cfg, mf, model_path, config_path, &error)
      || !(unet = dream_unet_load (mf, &cfg, &error)))
    goto out;
  if (prediction)
    cfg.prediction = !strcmp (prediction, "v") ? DREAM_PREDICTION_V : DREAM_PREDICTION_EPS;
  if (vae_path)
    {
      if (!(vf = dream_st_open (vae_path, &error)) || !(vae = dream_vae_load (vf, &error)))
        goto out;
    }
  else if (dream_vae_detect (mf) && !(vae = dream_vae_load (mf, &error)))
    goto out;

  /* inputs */
  const dream_st_tensor *tc, *tu, *tx, *tn;
  if (!(in = dream_st_open (in_path, &error)))
    goto out;
  c = input (in, "c", &tc, &error);
  uc = error ? NULL : input (in, "uc", &tu, &error);
  xt = error ? NULL : input (in, "x_T", &tx, &error);
  noise = error ? NULL : input (in, "noise", &tn, &error);
  if (error)
    goto out;
  if (!c || !xt || tc->n_dims != 3 || tx->n_dims != 4 || tx->shape[1] != 4
      || tc->shape[0] != tx->shape[0] || tc->shape[2] != unet->context_dim
      || (uc && (tu->n_dims != 3 || memcmp (tu->shape, tc->shape, 3 * sizeof (int64_t)))))
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "%s: needs c (B, n_ctx, %d), x_T (B, 4, h, w) and optionally uc shaped like c",
                   in_path, unet->context_dim);
      goto out;
    }
  const int B = (int) tx->shape[0], h = (int) tx->shape[2], w = (int) tx->shape[3];
  const int n_ctx = (int) tc->shape[1];
  const size_t per = (size_t) B * h * w * 4;
  gboolean ancestral = kind == S_EULER_A || kind == S_EULER_A_KARRAS || kind == S_LCM
                       || kind == S_TURBO;
  if (ancestral && (!noise || (size_t) tn->n_elements != (size_t) steps * per))
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "%s: this sampler needs noise (%d, %d, 4, %d, %d)", in_path, steps,
                   B, h, w);
      goto out;
    }

  pool = dream_pool_new (threads);
  if (!dream_schedule_init_linear (&sch, cfg.timesteps, cfg.linear_start, cfg.linear_end, &error)
      || !dream_guided_init (&g, unet, B, h, w, c, uc, n_ctx, (float) cfg_scale, NULL, pool,
                             &error))
    goto out;

  /* records: DDIM may take more steps than asked (schedule.h) */
  int n_steps = steps;
  if (kind == S_DDIM)
    {
      int *ts = g_new (int, sch.n);
      n_steps = dream_ddim_timesteps (&sch, steps, ts);
      g_free (ts);
    }
  rec.per = per;
  rec.max_steps = n_steps;
  rec.x = g_new (float, (size_t) (n_steps + 1) * per);
  rec.x0 = g_new (float, (size_t) n_steps * per);
  rec.t = g_new0 (float, n_steps);
  x = g_new (float, per);
  nchw_to_nhwc (xt, B, 4, h * w, x);
  float *noise_hwc = NULL;
  if (ancestral)
    {
      noise_hwc = g_new (float, (size_t) steps * per);
      nchw_to_nhwc (noise, (size_t) steps * B, 4, h * w, noise_hwc);
    }

  dream_progress progress;
  dream_progress_init (&progress, !quiet && isatty (STDERR_FILENO) ? print_progress : NULL, NULL,
                       (double) n_steps * dream_unet_n_blocks (unet));
  g.progress = &progress;
  g.work_per_eval = dream_unet_n_blocks (unet);

  dream_sampler s = { &sch, cfg.prediction, per, dream_guided_model, &g, record, &rec };
  gboolean ok;
  if (kind == S_DDIM)
    {
      memcpy (rec.x, x, per * sizeof (float));
      ok = dream_sample_ddim (&s, steps, x, &error);
    }
  else
    {
      sigmas = g_new (float, steps + 1);
      gboolean karras = kind == S_EULER_KARRAS || kind == S_EULER_A_KARRAS
                        || kind == S_DPMPP_2M_KARRAS;
      if (kind == S_TURBO)
        dream_sigmas_turbo (&sch, steps, sigmas);
      else if (karras)
        dream_sigmas_karras (&sch, steps, 7.0, sigmas);
      else
        dream_sigmas_discrete (&sch, steps, sigmas);
      for (size_t k = 0; k < per; k++)
        rec.x[k] = x[k] * sigmas[0];
      if (kind == S_LCM || kind == S_TURBO)
        ok = dream_sample_lcm (&s, sigmas, steps, noise_hwc, x, &error);
      else if (ancestral)
        ok = dream_sample_euler_ancestral (&s, sigmas, steps, noise_hwc, x, &error);
      else if (kind == S_DPMPP_2M || kind == S_DPMPP_2M_KARRAS)
        ok = dream_sample_dpmpp_2m (&s, sigmas, steps, x, &error);
      else
        ok = dream_sample_euler (&s, sigmas, steps, x, &error);
    }
  g_free (noise_hwc);
  if (!ok)
    goto out;

  /* decode, with the UNet's weights out of memory first */
  const int f = vae ? vae->factor : 8, H = h * f, W = w * f;
  dream_guided_clear (&g);
  dream_sd_release_tensors (mf, unet->prefix);
  if (vae)
    {
      for (size_t k = 0; k < per; k++)
        x[k] /= (float) cfg.scale_factor;
      img = g_new (float, (size_t) B * H * W * vae->image_channels);
      have_state = TRUE;
      if (!dream_vae_state_init (&vs, vae, DREAM_VAE_DECODE, B, h, w, dream_pool_n_threads (pool),
                                 &error)
          || !dream_vae_decode (vae, &vs, x, img, pool, NULL, 0.0, &error))
        goto out;
    }

  /* write, NCHW */
  size_t nx = (size_t) (n_steps + 1) * per, nx0 = (size_t) n_steps * per;
  size_t nimg = vae ? (size_t) B * H * W * vae->image_channels : 0;
  out_nchw = g_new (float, nx + nx0 + nimg);
  float *ox = out_nchw, *ox0 = ox + nx, *oimg = ox0 + nx0;
  nhwc_to_nchw (rec.x, (size_t) (n_steps + 1) * B, 4, h * w, ox);
  nhwc_to_nchw (rec.x0, (size_t) n_steps * B, 4, h * w, ox0);
  if (vae)
    nhwc_to_nchw (img, B, vae->image_channels, H * W, oimg);
  dream_st_out outs[6];
  int n_out = 0;
  outs[n_out++] = (dream_st_out) { "x", 5, { n_steps + 1, B, 4, h, w }, ox };
  outs[n_out++] = (dream_st_out) { "x0", 5, { n_steps, B, 4, h, w }, ox0 };
  outs[n_out++] = (dream_st_out) { "t", 1, { n_steps }, rec.t };
  outs[n_out++] = (dream_st_out) { "samples", 4, { B, 4, h, w }, ox + (size_t) n_steps * per };
  if (sigmas)
    outs[n_out++] = (dream_st_out) { "sigmas", 1, { steps + 1 }, sigmas };
  if (vae)
    outs[n_out++] = (dream_st_out) { "decoded", 4, { B, vae->image_channels, H, W }, oimg };
  const char *sampler_used = sampler_name ? sampler_name : "ddim";
  const char *meta[] = { "sampler", sampler_used,
                         "prediction", cfg.prediction == DREAM_PREDICTION_V ? "v" : "eps",
                         NULL };
  if (!dream_st_write (out_path, outs, n_out, meta, &error))
    goto out;
  status = 0;

out:
  if (error)
    g_printerr ("dream sample: %s\n", error->message);
  g_clear_error (&error);
  if (have_state)
    dream_vae_state_clear (&vs);
  dream_guided_clear (&g);
  dream_schedule_clear (&sch);
  if (pool)
    dream_pool_free (pool);
  dream_unet_free (unet);
  dream_vae_free (vae);
  dream_ldm_config_clear (&cfg);
  dream_st_close (mf);
  dream_st_close (vf);
  dream_st_close (in);
  g_free (c); g_free (uc); g_free (xt); g_free (noise); g_free (x); g_free (sigmas);
  g_free (out_nchw); g_free (img); g_free (rec.x); g_free (rec.x0); g_free (rec.t);
  g_free (model_path); g_free (vae_path); g_free (config_path); g_free (in_path);
  g_free (out_path); g_free (sampler_name); g_free (prediction);
  g_option_context_free (octx);
  return status;
}
