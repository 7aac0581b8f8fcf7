/* sampler.c — DDIM, Euler, Euler ancestral, DPM++ 2M, and the guided UNet
 * (see sampler.h for the formulas and their sources).
 */
#include "sched/sampler.h"

#include <math.h>
#include <string.h>

typedef struct {
  float *out;   /* (n) model output */
  float *x0;    /* (n) denoised / pred_x0 */
  float *xin;   /* (n) scaled model input (k-diffusion) */
  float *prev;  /* (n) DPM++ 2M: the previous denoised */
} sampler_bufs;

static gboolean
bufs_init (sampler_bufs *b, size_t n, GError **error)
{
  *b = (sampler_bufs) { 0 };
  b->out = dream_alloc (n, 4 * sizeof (float), "sampler buffers", error);
  if (!b->out)
    return FALSE;
  b->x0 = b->out + n;
  b->xin = b->x0 + n;
  b->prev = b->xin + n;
  return TRUE;
}

static void
bufs_clear (sampler_bufs *b)
{
  g_clear_pointer (&b->out, g_free);
}

static gboolean
check (const dream_sampler *s, int steps, GError **error)
{
  if (!s->schedule || !s->model || s->n == 0 || steps < 1 || steps > s->schedule->n)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "sampler: %d steps (1..%d) on an empty latent or without a model", steps,
                   s->schedule ? s->schedule->n : 0);
      return FALSE;
    }
  return TRUE;
}

/* ---- DDIM ---------------------------------------------------------------- */

gboolean
dream_sample_ddim (const dream_sampler *s, int steps, float *x, GError **error)
{
  return dream_sample_ddim_from (s, steps, 0, x, error);
}

gboolean
dream_sample_ddim_from (const dream_sampler *s, int steps, int first, float *x, GError **error)
{
  if (!check (s, steps, error))
    return FALSE;
  const dream_schedule *sch = s->schedule;
  int *ts = g_new (int, sch->n);
  int count = dream_ddim_timesteps (sch, steps, ts);
  if (first < 0 || first > count)
    {
      g_free (ts);
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "DDIM: first step %d outside 0..%d", first, count);
      return FALSE;
    }
  sampler_bufs b;
  if (!bufs_init (&b, s->n, error))
    {
      g_free (ts);
      return FALSE;
    }
  float *eps = b.xin;
  gboolean ok = TRUE;
  for (int i = first; ok && i < count; i++)
    {
      const int t = ts[i];
      const float a_t = sch->alphas_cumprod[t];
      const float a_prev = i + 1 < count ? sch->alphas_cumprod[ts[i + 1]] : sch->alphas_cumprod[0];
      const float sqrt_a = sqrtf (a_t), sqrt_1ma = sqrtf (1.0f - a_t);
      const float sqrt_ap = sqrtf (a_prev), dir = sqrtf (1.0f - a_prev);
      ok = s->model (s->model_user, x, (float) t, b.out, error);
      if (!ok)
        break;
      if (s->prediction == DREAM_PREDICTION_V)
        {
          /* LatentDiffusion buffers: float64 square roots stored as float32 */
          const float sa = (float) sqrt (sch->alphas_cumprod64[t]);
          const float s1 = (float) sqrt (1.0 - sch->alphas_cumprod64[t]);
          for (size_t k = 0; k < s->n; k++)
            {
              eps[k] = sa * b.out[k] + s1 * x[k];
              b.x0[k] = sa * x[k] - s1 * b.out[k];
            }
        }
      else
        for (size_t k = 0; k < s->n; k++)
          {
            eps[k] = b.out[k];
            b.x0[k] = (x[k] - sqrt_1ma * eps[k]) / sqrt_a;
          }
      for (size_t k = 0; k < s->n; k++)
        x[k] = sqrt_ap * b.x0[k] + dir * eps[k];
      if (s->on_step)
        s->on_step (s->step_user, i, (float) t, x, b.x0);
    }
  bufs_clear (&b);
  g_free (ts);
  return ok;
}

/* ---- k-diffusion --------------------------------------------------------- */

/* denoised (n) = D(x, σ) on the CompVis ε or v denoiser; *t_out the UNet
 * timestep used. */
static gboolean
kdiff_denoise (const dream_sampler *s, sampler_bufs *b, const float *x, float sigma,
               float *denoised, float *t_out, GError **error)
{
  const float c_in = 1.0f / sqrtf (sigma * sigma + 1.0f);
  const float t = dream_schedule_sigma_to_t (s->schedule, sigma);
  for (size_t k = 0; k < s->n; k++)
    b->xin[k] = x[k] * c_in;
  if (!s->model (s->model_user, b->xin, t, b->out, error))
    return FALSE;
  if (s->prediction == DREAM_PREDICTION_V)
    {
      const float c_skip = 1.0f / (sigma * sigma + 1.0f);
      const float c_out = -sigma / sqrtf (sigma * sigma + 1.0f);
      for (size_t k = 0; k < s->n; k++)
        denoised[k] = b->out[k] * c_out + x[k] * c_skip;
    }
  else
    for (size_t k = 0; k < s->n; k++)
      denoised[k] = x[k] + b->out[k] * -sigma;
  *t_out = t;
  return TRUE;
}

gboolean
dream_sample_euler (const dream_sampler *s, const float *sigmas, int steps, float *x,
                    GError **error)
{
  if (!check (s, steps, error))
    return FALSE;
  sampler_bufs b;
  if (!bufs_init (&b, s->n, error))
    return FALSE;
  for (size_t k = 0; k < s->n; k++)
    x[k] *= sigmas[0];
  gboolean ok = TRUE;
  for (int i = 0; ok && i < steps; i++)
    {
      const float sigma = sigmas[i], dt = sigmas[i + 1] - sigma;
      float t;
      ok = kdiff_denoise (s, &b, x, sigma, b.x0, &t, error);
      if (!ok)
        break;
      for (size_t k = 0; k < s->n; k++)
        {
          float d = (x[k] - b.x0[k]) / sigma;
          x[k] = x[k] + d * dt;
        }
      if (s->on_step)
        s->on_step (s->step_user, i, t, x, b.x0);
    }
  bufs_clear (&b);
  return ok;
}

gboolean
dream_sample_euler_ancestral (const dream_sampler *s, const float *sigmas, int steps,
                              const float *noise, float *x, GError **error)
{
  if (!check (s, steps, error))
    return FALSE;
  sampler_bufs b;
  if (!bufs_init (&b, s->n, error))
    return FALSE;
  for (size_t k = 0; k < s->n; k++)
    x[k] *= sigmas[0];
  gboolean ok = TRUE;
  for (int i = 0; ok && i < steps; i++)
    {
      const float from = sigmas[i], to = sigmas[i + 1];
      float t;
      ok = kdiff_denoise (s, &b, x, from, b.x0, &t, error);
      if (!ok)
        break;
      /* get_ancestral_step, η = 1 */
      float up = fminf (to, sqrtf (to * to * (from * from - to * to) / (from * from)));
      float down = sqrtf (to * to - up * up);
      const float dt = down - from;
      const float *z = noise + (size_t) i * s->n;
      for (size_t k = 0; k < s->n; k++)
        {
          float d = (x[k] - b.x0[k]) / from;
          x[k] = x[k] + d * dt;
          if (to > 0.0f)
            x[k] = x[k] + z[k] * up;
        }
      if (s->on_step)
        s->on_step (s->step_user, i, t, x, b.x0);
    }
  bufs_clear (&b);
  return ok;
}

gboolean
dream_sample_dpmpp_2m (const dream_sampler *s, const float *sigmas, int steps, float *x,
                       GError **error)
{
  if (!check (s, steps, error))
    return FALSE;
  sampler_bufs b;
  if (!bufs_init (&b, s->n, error))
    return FALSE;
  for (size_t k = 0; k < s->n; k++)
    x[k] *= sigmas[0];
  gboolean ok = TRUE;
  for (int i = 0; ok && i < steps; i++)
    {
      const float sigma = sigmas[i], next = sigmas[i + 1];
      float t;
      ok = kdiff_denoise (s, &b, x, sigma, b.x0, &t, error);
      if (!ok)
        break;
      if (next == 0.0f)
        memcpy (x, b.x0, sizeof (float) * s->n);   /* σ_fn(∞) = 0, −expm1(−∞) = 1 */
      else
        {
          /* t = −ln σ; h = t_next − t; x = (σ_next/σ) x − expm1(−h) D' */
          const double h = -log ((double) next) + log ((double) sigma);
          const float ratio = next / sigma, coef = (float) -expm1 (-h);
          if (i == 0)
            for (size_t k = 0; k < s->n; k++)
              x[k] = ratio * x[k] + coef * b.x0[k];
          else
            {
              const double h_last = -log ((double) sigma) + log ((double) sigmas[i - 1]);
              const double r = h_last / h;
              const float c1 = (float) (1.0 + 1.0 / (2.0 * r)), c0 = (float) (1.0 / (2.0 * r));
              for (size_t k = 0; k < s->n; k++)
                x[k] = ratio * x[k] + coef * (c1 * b.x0[k] - c0 * b.prev[k]);
            }
        }
      memcpy (b.prev, b.x0, sizeof (float) * s->n);
      if (s->on_step)
        s->on_step (s->step_user, i, t, x, b.x0);
    }
  bufs_clear (&b);
  return ok;
}

gboolean
dream_sample_lcm (const dream_sampler *s, const float *sigmas, int steps, const float *noise,
                  float *x, GError **error)
{
  if (!check (s, steps, error))
    return FALSE;
  sampler_bufs b;
  if (!bufs_init (&b, s->n, error))
    return FALSE;
  for (size_t k = 0; k < s->n; k++)
    x[k] *= sigmas[0];
  gboolean ok = TRUE;
  for (int i = 0; ok && i < steps; i++)
    {
      float t;
      ok = kdiff_denoise (s, &b, x, sigmas[i], b.x0, &t, error);
      if (!ok)
        break;
      const float next = sigmas[i + 1];
      const float *z = noise + (size_t) i * s->n;
      for (size_t k = 0; k < s->n; k++)
        x[k] = next > 0.0f ? b.x0[k] + next * z[k] : b.x0[k];
      if (s->on_step)
        s->on_step (s->step_user, i, t, x, b.x0);
    }
  bufs_clear (&b);
  return ok;
}

/* ---- guidance ------------------------------------------------------------ */

void
dream_guided_clear (dream_guided *g)
{
  dream_unet_state_clear (&g->state);
  g_clear_pointer (&g->x2, g_free);
  g_clear_pointer (&g->t2, g_free);
  g_clear_pointer (&g->ctx2, g_free);
  g_clear_pointer (&g->out2, g_free);
}

gboolean
dream_guided_init (dream_guided *g, const dream_unet *unet, int batch, int h, int w,
                   const float *cond, const float *uncond, int n_ctx, float scale,
                   const float *concat, dream_pool *pool, GError **error)
{
  *g = (dream_guided) { .unet = unet, .pool = pool, .batch = batch, .h = h, .w = w,
                        .scale = scale };
  g->extra = unet->in_channels - 4;
  if (unet->out_channels != 4 || g->extra < 0 || (g->extra > 0 && !concat)
      || !isfinite (scale))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "guided UNet: a %d→%d-channel UNet needs %s", unet->in_channels,
                   unet->out_channels,
                   g->extra > 0 ? "its extra input channels (mask and masked image latent)"
                                : "4 latent channels out and a finite guidance scale");
      return FALSE;
    }
  g->concat = concat;
  g->guided = uncond != NULL && scale != 1.0f;
  const int nb = g->guided ? 2 * batch : batch;
  if (!dream_unet_state_init (&g->state, unet, nb, h, w, n_ctx, dream_pool_n_threads (pool),
                              error))
    return FALSE;
  const size_t px = (size_t) h * w, ctx = (size_t) n_ctx * unet->context_dim;
  g->x2 = dream_alloc ((size_t) nb * px, (4 + g->extra) * sizeof (float), "guidance", error);
  g->t2 = g->x2 ? dream_alloc (nb, sizeof (float), "guidance", error) : NULL;
  g->ctx2 = g->t2 ? dream_alloc ((size_t) nb * ctx, sizeof (float), "guidance", error) : NULL;
  g->out2 = g->ctx2 ? dream_alloc ((size_t) nb * px * 4, sizeof (float), "guidance", error) : NULL;
  if (!g->out2)
    {
      dream_guided_clear (g);
      return FALSE;
    }
  /* LDM's order: cat([uncond, cond]) */
  if (g->guided)
    {
      memcpy (g->ctx2, uncond, sizeof (float) * batch * ctx);
      memcpy (g->ctx2 + batch * ctx, cond, sizeof (float) * batch * ctx);
    }
  else
    memcpy (g->ctx2, cond, sizeof (float) * batch * ctx);
  return TRUE;
}

gboolean
dream_guided_model (gpointer data, const float *x, float t, float *out, GError **error)
{
  dream_guided *g = data;
  const int B = g->batch, nb = g->guided ? 2 * B : B, C = 4 + g->extra;
  const size_t px = (size_t) g->h * g->w, n = (size_t) B * px * 4;
  for (int k = 0; k < nb; k++)
    {
      const int b = k % B;
      for (size_t p = 0; p < px; p++)
        {
          float *dst = g->x2 + ((size_t) k * px + p) * C;
          memcpy (dst, x + ((size_t) b * px + p) * 4, 4 * sizeof (float));
          if (g->extra)
            memcpy (dst + 4, g->concat + ((size_t) b * px + p) * g->extra,
                    g->extra * sizeof (float));
        }
      g->t2[k] = t;
    }
  if (!dream_unet_forward (g->unet, &g->state, g->x2, g->t2, g->ctx2, g->out2, g->pool,
                           g->progress, g->work_per_eval, error))
    return FALSE;
  if (!g->guided)
    {
      memcpy (out, g->out2, n * sizeof (float));
      return TRUE;
    }
  const float *u = g->out2, *c = g->out2 + n;
  for (size_t k = 0; k < n; k++)
    out[k] = u[k] + g->scale * (c[k] - u[k]);
  if (g->last_uncond)
    memcpy (g->last_uncond, u, n * sizeof (float));
  if (g->last_cond)
    memcpy (g->last_cond, c, n * sizeof (float));
  return TRUE;
}
