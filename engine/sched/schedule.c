/* schedule.c — DDPM linear schedule, k-diffusion sigmas (see schedule.h). */
#include "sched/schedule.h"

#include "dream.h"

#include <math.h>

gboolean
dream_schedule_init_linear (dream_schedule *s, int n, double start, double end, GError **error)
{
  *s = (dream_schedule) { 0 };
  if (n < 2 || n > 100000 || !(start > 0.0) || !(end > start) || !(end < 1.0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "noise schedule: need 2..100000 steps and 0 < start < end < 1 (got %d, %g, %g)",
                   n, start, end);
      return FALSE;
    }
  s->n = n;
  s->alphas_cumprod64 = g_new (double, n);
  s->alphas_cumprod = g_new (float, n);
  s->sigmas = g_new (float, n);
  s->log_sigmas = g_new (float, n);
  const double a = sqrt (start), b = sqrt (end);
  double prod = 1.0;
  for (int i = 0; i < n; i++)
    {
      /* numpy linspace: start + i·step, the last point exactly `end` */
      double r = i == n - 1 ? b : a + i * ((b - a) / (n - 1));
      double beta = r * r;
      prod *= 1.0 - beta;
      s->alphas_cumprod64[i] = prod;
      float ac = (float) prod;
      s->alphas_cumprod[i] = ac;
      s->sigmas[i] = sqrtf ((1.0f - ac) / ac);
      s->log_sigmas[i] = logf (s->sigmas[i]);
    }
  return TRUE;
}

void
dream_schedule_clear (dream_schedule *s)
{
  g_clear_pointer (&s->alphas_cumprod64, g_free);
  g_clear_pointer (&s->alphas_cumprod, g_free);
  g_clear_pointer (&s->sigmas, g_free);
  g_clear_pointer (&s->log_sigmas, g_free);
}

float
dream_schedule_t_to_sigma (const dream_schedule *s, float t)
{
  t = CLAMP (t, 0.0f, (float) (s->n - 1));
  int lo = (int) floorf (t), hi = (int) ceilf (t);
  float w = t - floorf (t);
  return expf ((1.0f - w) * s->log_sigmas[lo] + w * s->log_sigmas[hi]);
}

float
dream_schedule_sigma_to_t (const dream_schedule *s, float sigma)
{
  float ls = logf (sigma);
  /* the last index whose log σ is <= ls (0 if none), at most T−2 */
  int lo = 0;
  for (int i = 0; i < s->n; i++)
    if (ls - s->log_sigmas[i] >= 0.0f)
      lo = i;
  lo = MIN (lo, s->n - 2);
  float low = s->log_sigmas[lo], high = s->log_sigmas[lo + 1];
  float w = CLAMP ((low - ls) / (low - high), 0.0f, 1.0f);
  return (1.0f - w) * (float) lo + w * (float) (lo + 1);
}

float
dream_linspace_f32 (float start, float end, int steps, int i)
{
  if (steps <= 1)
    return start;
  /* ATen's CPU kernel: step in float, the first half counted from start,
     the second from end */
  float step = (end - start) / (float) (steps - 1);
  int half = steps / 2;
  return i < half ? start + step * (float) i : end - step * (float) (steps - i - 1);
}

void
dream_sigmas_discrete (const dream_schedule *s, int steps, float *sigmas)
{
  for (int i = 0; i < steps; i++)
    sigmas[i] = dream_schedule_t_to_sigma (s, dream_linspace_f32 ((float) (s->n - 1), 0.0f, steps, i));
  sigmas[steps] = 0.0f;
}

void
dream_sigmas_karras (const dream_schedule *s, int steps, double rho, float *sigmas)
{
  /* the scalars are Python floats (double) from the float32 buffer; the
     ramp and the result are float32 tensors */
  double smin = s->sigmas[0], smax = s->sigmas[s->n - 1];
  double min_inv = pow (smin, 1.0 / rho), max_inv = pow (smax, 1.0 / rho);
  for (int i = 0; i < steps; i++)
    {
      float ramp = dream_linspace_f32 (0.0f, 1.0f, steps, i);
      float v = (float) max_inv + ramp * (float) (min_inv - max_inv);
      sigmas[i] = powf (v, (float) rho);
    }
  sigmas[steps] = 0.0f;
}

void
dream_sigmas_turbo (const dream_schedule *s, int steps, float *sigmas)
{
  for (int i = 0; i < steps; i++)
    sigmas[i] = s->sigmas[CLAMP (s->n - 1 - 100 * i, 0, s->n - 1)];
  sigmas[steps] = 0.0f;
}

int
dream_ddim_timesteps (const dream_schedule *s, int steps, int *ts)
{
  if (steps < 1 || steps > s->n)
    return 0;
  /* LDM also takes i·c + 1 = T, then fails on it; that one is left out */
  int c = s->n / steps, count = (s->n - 2) / c + 1;
  for (int i = 0; i < count; i++)
    ts[i] = (count - 1 - i) * c + 1;
  return count;
}
