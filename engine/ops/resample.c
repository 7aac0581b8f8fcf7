/* resample.c — changing resolution: pixel shuffle by any factor, nearest
 * upsampling, and separable filtered resampling (bilinear, bicubic,
 * Lanczos-3) with antialiasing when shrinking.
 *
 * Filtered resampling follows the usual convention of image resizers
 * (pixel centres aligned): destination sample i of an axis of dst_len
 * samples sits at source position u = (i + 0.5) * src_len / dst_len - 0.5.
 * When shrinking, the filter is stretched by src_len / dst_len so that it
 * also low-passes (antialiasing). Weights are normalised to sum 1; taps
 * beyond the ends are folded onto the edge sample (edge replication), so
 * every destination sample reads a contiguous run of valid source samples.
 */
#include "ops/ops.h"

#include <math.h>
#include <string.h>

void
dream_pixel_shuffle (const float *x, int h, int w, int c, int r, float *y)
{
  const int rr = r * r, wo = w * r;
  for (int iy = 0; iy < h; iy++)
    for (int ix = 0; ix < w; ix++)
      {
        const float *src = x + ((size_t) iy * w + ix) * c * rr;
        for (int dy = 0; dy < r; dy++)
          for (int dx = 0; dx < r; dx++)
            {
              float *dst = y + ((size_t) (iy * r + dy) * wo + ix * r + dx) * c;
              for (int ch = 0; ch < c; ch++)
                dst[ch] = src[ch * rr + dy * r + dx];
            }
      }
}

void
dream_pixel_unshuffle (const float *x, int h, int w, int c, int r, float *y)
{
  const int rr = r * r, ho = h / r, wo = w / r;
  for (int oy = 0; oy < ho; oy++)
    for (int ox = 0; ox < wo; ox++)
      {
        float *dst = y + ((size_t) oy * wo + ox) * c * rr;
        for (int dy = 0; dy < r; dy++)
          for (int dx = 0; dx < r; dx++)
            {
              const float *src = x + ((size_t) (oy * r + dy) * w + ox * r + dx) * c;
              for (int ch = 0; ch < c; ch++)
                dst[ch * rr + dy * r + dx] = src[ch];
            }
      }
}

void
dream_add_nearest_up (float *y, const float *x, int h, int w, int c, int r)
{
  const int wo = w * r;
  for (int oy = 0; oy < h * r; oy++)
    {
      const float *src_row = x + (size_t) (oy / r) * w * c;
      float *dst = y + (size_t) oy * wo * c;
      for (int ox = 0; ox < wo; ox++, dst += c)
        {
          const float *s = src_row + (size_t) (ox / r) * c;
          for (int ch = 0; ch < c; ch++)
            dst[ch] += s[ch];
        }
    }
}

/* ---- filtered resampling ------------------------------------------------ */

double
dream_filter_radius (dream_filter filter)
{
  switch (filter)
    {
    case DREAM_FILTER_BILINEAR:
      return 1.0;
    case DREAM_FILTER_BICUBIC:
      return 2.0;
    case DREAM_FILTER_LANCZOS3:
    default:
      return 3.0;
    }
}

static double
sinc (double x)
{
  if (fabs (x) < 1e-9)
    return 1.0;
  return sin (G_PI * x) / (G_PI * x);
}

double
dream_filter_eval (dream_filter filter, double x)
{
  x = fabs (x);
  switch (filter)
    {
    case DREAM_FILTER_BILINEAR:
      return x < 1.0 ? 1.0 - x : 0.0;
    case DREAM_FILTER_BICUBIC:
      {
        const double a = -0.5;   /* Keys; what MATLAB and PIL use */
        if (x <= 1.0)
          return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
        if (x < 2.0)
          return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
        return 0.0;
      }
    case DREAM_FILTER_LANCZOS3:
    default:
      return x < 3.0 ? sinc (x) * sinc (x / 3.0) : 0.0;
    }
}

gboolean
dream_resampler_init (dream_resampler *r, dream_filter filter,
                      int src_len, int dst_len, GError **error)
{
  *r = (dream_resampler) { 0 };
  if (src_len < 1 || dst_len < 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Resample: lengths must be positive (%d -> %d)", src_len, dst_len);
      return FALSE;
    }
  const double ratio = (double) src_len / dst_len;      /* source per dest */
  const double stretch = MAX (ratio, 1.0);
  const double support = dream_filter_radius (filter) * stretch;
  const int n_taps = 2 * (int) ceil (support) + 1;
  r->src_len = src_len;
  r->dst_len = dst_len;
  r->n_taps = n_taps;
  r->first = dream_alloc (dst_len, sizeof (int), "resampler", error);
  r->count = r->first ? dream_alloc (dst_len, sizeof (int), "resampler", error) : NULL;
  r->weights = r->count ? dream_alloc ((size_t) dst_len * n_taps, sizeof (float),
                                       "resampler", error) : NULL;
  double *acc = r->weights ? dream_alloc (n_taps, sizeof (double), "resampler", error) : NULL;
  if (!acc)
    {
      dream_resampler_clear (r);
      return FALSE;
    }
  for (int i = 0; i < dst_len; i++)
    {
      double u = (i + 0.5) * ratio - 0.5;
      int j0 = (int) ceil (u - support), j1 = (int) floor (u + support);
      int lo = CLAMP (j0, 0, src_len - 1), hi = CLAMP (j1, 0, src_len - 1);
      memset (acc, 0, sizeof (double) * n_taps);
      double sum = 0.0;
      for (int j = j0; j <= j1; j++)
        {
          double wgt = dream_filter_eval (filter, (j - u) / stretch);
          acc[CLAMP (j, 0, src_len - 1) - lo] += wgt;
          sum += wgt;
        }
      /* trim zero taps at both ends (the filter's own zeros) */
      int a = 0, b = hi - lo;
      while (a < b && acc[a] == 0.0)
        a++;
      while (b > a && acc[b] == 0.0)
        b--;
      r->first[i] = lo + a;
      r->count[i] = b - a + 1;
      float *wr = r->weights + (size_t) i * n_taps;
      memset (wr, 0, sizeof (float) * n_taps);
      for (int t = a; t <= b; t++)
        wr[t - a] = (float) (sum != 0.0 ? acc[t] / sum : (t == a ? 1.0 : 0.0));
    }
  g_free (acc);
  return TRUE;
}

void
dream_resampler_clear (dream_resampler *r)
{
  g_clear_pointer (&r->first, g_free);
  g_clear_pointer (&r->count, g_free);
  g_clear_pointer (&r->weights, g_free);
}

void
dream_resampler_span (const dream_resampler *r, int d0, int n, int *s0, int *s1)
{
  int lo = G_MAXINT, hi = G_MININT;
  for (int i = d0; i < d0 + n; i++)
    {
      lo = MIN (lo, r->first[i]);
      hi = MAX (hi, r->first[i] + r->count[i]);
    }
  *s0 = lo;
  *s1 = hi;
}

size_t
dream_resample_2d_scratch_size (const dream_resampler *ry, int dst_y0,
                                int dst_h, int dst_w, int c)
{
  int s0, s1;
  dream_resampler_span (ry, dst_y0, dst_h, &s0, &s1);
  return (size_t) (s1 - s0) * dst_w * c;
}

void
dream_resample_2d (const dream_resampler *rx, const dream_resampler *ry,
                   const float *src, int src_x0, int src_y0, int src_w, int c,
                   int dst_x0, int dst_y0, int dst_w, int dst_h,
                   float *dst, float *scratch)
{
  int sy0, sy1;
  dream_resampler_span (ry, dst_y0, dst_h, &sy0, &sy1);

  /* horizontal: source rows [sy0, sy1) -> scratch (sy1 - sy0, dst_w, c) */
  for (int y = sy0; y < sy1; y++)
    {
      const float *row = src + (size_t) (y - src_y0) * src_w * c;
      float *out = scratch + (size_t) (y - sy0) * dst_w * c;
      for (int x = 0; x < dst_w; x++, out += c)
        {
          int i = dst_x0 + x;
          const float *wt = rx->weights + (size_t) i * rx->n_taps;
          const float *s = row + (size_t) (rx->first[i] - src_x0) * c;
          for (int ch = 0; ch < c; ch++)
            out[ch] = 0.0f;
          for (int t = 0; t < rx->count[i]; t++, s += c)
            for (int ch = 0; ch < c; ch++)
              out[ch] += wt[t] * s[ch];
        }
    }

  /* vertical: scratch -> dst (dst_h, dst_w, c) */
  const size_t row_len = (size_t) dst_w * c;
  for (int y = 0; y < dst_h; y++)
    {
      int i = dst_y0 + y;
      const float *wt = ry->weights + (size_t) i * ry->n_taps;
      float *out = dst + (size_t) y * row_len;
      memset (out, 0, sizeof (float) * row_len);
      for (int t = 0; t < ry->count[i]; t++)
        {
          const float *s = scratch + (size_t) (ry->first[i] + t - sy0) * row_len;
          const float wv = wt[t];
          for (size_t k = 0; k < row_len; k++)
            out[k] += wv * s[k];
        }
    }
}
