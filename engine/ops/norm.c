/* norm.c — GroupNorm on HWC feature maps (optionally fused with SiLU).
 *
 * Two passes over the map, both split into pixel chunks run by the pool:
 *   1. per chunk, per channel Σx and Σx² in double into the chunk's own
 *      slot (no sharing, so the sum order is fixed: same bits every run);
 *      the slots are then reduced in chunk order and folded into groups;
 *   2. per chunk, y = (x − μ_g) · (r_g · gamma) + beta  [· sigmoid(y)],
 *      with μ and the per-channel scale precomputed (subtracting the mean
 *      first keeps the rounding relative to σ, not to |μ|).
 */
#include "ops/unet_ops.h"

#include <math.h>

enum { NORM_CHUNK = 1024, NORM_MAX_TASKS = 64 };

typedef struct {
  const float *x;
  float *y;
  int n_px, c, n_tasks, chunk;
  double *partial;           /* (n_tasks, 2c): Σx, Σx² per channel */
  const float *mean, *scale, *shift; /* (c) each, pass 2 */
  gboolean silu;
} gn_job;

static void
gn_stats_task (void *ctx, int task, int thread)
{
  (void) thread;
  gn_job *j = ctx;
  int p0 = task * j->chunk, p1 = MIN (j->n_px, p0 + j->chunk);
  double *s = j->partial + (size_t) task * 2 * j->c, *s2 = s + j->c;
  for (int ch = 0; ch < j->c; ch++)
    s[ch] = s2[ch] = 0.0;
  for (int p = p0; p < p1; p++)
    {
      const float *px = j->x + (size_t) p * j->c;
      for (int ch = 0; ch < j->c; ch++)
        {
          double v = px[ch];
          s[ch] += v;
          s2[ch] += v * v;
        }
    }
}

static void
gn_apply_task (void *ctx, int task, int thread)
{
  (void) thread;
  gn_job *j = ctx;
  int p0 = task * j->chunk, p1 = MIN (j->n_px, p0 + j->chunk);
  for (int p = p0; p < p1; p++)
    {
      const float *px = j->x + (size_t) p * j->c;
      float *py = j->y + (size_t) p * j->c;
      for (int ch = 0; ch < j->c; ch++)
        py[ch] = (px[ch] - j->mean[ch]) * j->scale[ch] + j->shift[ch];
      if (j->silu)
        dream_silu (py, j->c);
    }
}

void
dream_group_norm (const float *x, int n_px, int c, int groups,
                  const float *gamma, const float *beta, float eps,
                  gboolean silu, float *y, dream_pool *pool)
{
  g_return_if_fail (groups > 0 && c % groups == 0 && n_px > 0);
  int chunk = MAX (NORM_CHUNK, (n_px + NORM_MAX_TASKS - 1) / NORM_MAX_TASKS);
  int n_tasks = (n_px + chunk - 1) / chunk;
  double *partial = g_new (double, (size_t) n_tasks * 2 * c);
  float *scale = g_new (float, 3 * (size_t) c), *shift = scale + c, *mu = shift + c;
  gn_job j = { .x = x, .y = y, .n_px = n_px, .c = c, .n_tasks = n_tasks,
               .chunk = chunk, .partial = partial, .mean = mu, .scale = scale,
               .shift = shift, .silu = silu };
  dream_pool_run (pool, n_tasks, gn_stats_task, &j);

  int cg = c / groups;
  double count = (double) n_px * cg;
  for (int g = 0; g < groups; g++)
    {
      double s = 0.0, s2 = 0.0;
      for (int t = 0; t < n_tasks; t++)
        {
          const double *ps = partial + (size_t) t * 2 * c;
          for (int ch = g * cg; ch < (g + 1) * cg; ch++)
            {
              s += ps[ch];
              s2 += ps[c + ch];
            }
        }
      double mean = s / count;
      double var = MAX (s2 / count - mean * mean, 0.0);
      double r = 1.0 / sqrt (var + eps);
      for (int ch = g * cg; ch < (g + 1) * cg; ch++)
        {
          double gm = gamma ? gamma[ch] : 1.0, bt = beta ? beta[ch] : 0.0;
          mu[ch] = (float) mean;
          scale[ch] = (float) (r * gm);
          shift[ch] = (float) bt;
        }
    }
  dream_pool_run (pool, n_tasks, gn_apply_task, &j);
  g_free (partial);
  g_free (scale);
}
