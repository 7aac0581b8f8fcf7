/* unet_ops.c — pointwise, resampling and strided-conv ops of the SD UNet
 * and VAE, and per-layer weight widening (see unet_ops.h).
 */
#include "ops/unet_ops.h"

#include <math.h>
#include <string.h>

float *
dream_arena_take (dream_arena *a, size_t n)
{
  size_t off = a->used;
  a->used += (n + 15) & ~(size_t) 15;
  a->peak = MAX (a->peak, a->used);
  if (!a->base || a->used > a->cap)
    return NULL;
  return a->base + off;
}

void
dream_silu (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] / (1.0f + expf (-x[i]));
}

/* ---- GEGLU --------------------------------------------------------------- */

enum { GEGLU_ROWS = 64 };

typedef struct {
  const float *h;
  float *y;
  int n, f;
} geglu_job;

static void
geglu_task (void *ctx, int task, int thread)
{
  (void) thread;
  const geglu_job *j = ctx;
  int r1 = MIN (j->n, (task + 1) * GEGLU_ROWS);
  for (int r = task * GEGLU_ROWS; r < r1; r++)
    {
      const float *a = j->h + (size_t) r * 2 * j->f, *g = a + j->f;
      float *y = j->y + (size_t) r * j->f;
      for (int i = 0; i < j->f; i++)
        y[i] = a[i] * (0.5f * g[i] * (1.0f + erff (g[i] * (float) M_SQRT1_2)));
    }
}

void
dream_geglu (const float *h, int n, int f, float *y, dream_pool *pool)
{
  geglu_job j = { h, y, n, f };
  dream_pool_run (pool, (n + GEGLU_ROWS - 1) / GEGLU_ROWS, geglu_task, &j);
}

/* ---- resampling and plumbing --------------------------------------------- */

void
dream_upsample_nearest2 (const float *x, int h, int w, int c, float *y)
{
  const size_t px = sizeof (float) * c;
  for (int yy = 0; yy < h; yy++)
    {
      float *row = y + (size_t) 2 * yy * 2 * w * c;
      for (int xx = 0; xx < w; xx++)
        {
          const float *s = x + ((size_t) yy * w + xx) * c;
          memcpy (row + (size_t) 2 * xx * c, s, px);
          memcpy (row + (size_t) (2 * xx + 1) * c, s, px);
        }
      memcpy (row + (size_t) 2 * w * c, row, px * 2 * w);
    }
}

void
dream_concat_channels (const float *a, int ca, const float *b, int cb,
                       size_t n, float *y)
{
  for (size_t i = 0; i < n; i++)
    {
      memcpy (y + i * (ca + cb), a + i * ca, sizeof (float) * ca);
      memcpy (y + i * (ca + cb) + ca, b + i * cb, sizeof (float) * cb);
    }
}

void
dream_add_bias_rows (float *y, size_t n, int c, const float *b)
{
  for (size_t i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      y[i * c + ch] += b[ch];
}

void
dream_add (float *y, const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    y[i] += x[i];
}

void
dream_timestep_embedding (float t, int dim, float *out)
{
  /* PyTorch: exp(-log(10000) * arange(half, float32) / half), each
   * operation rounded to float32; then t * freq in float32. */
  const int half = dim / 2;
  const float neg_log = (float) -log (10000.0);
  for (int i = 0; i < half; i++)
    {
      float e = (neg_log * (float) i) / (float) half;
      float freq = (float) exp ((double) e);
      float arg = t * freq;
      out[i] = (float) cos ((double) arg);
      out[half + i] = (float) sin ((double) arg);
    }
}

/* ---- strided convolution ------------------------------------------------- */

enum { SCONV_CHUNK = 256 };

size_t
dream_conv2d_strided_scratch_size (const dream_conv *conv)
{
  return (size_t) SCONV_CHUNK * conv->k * conv->k * conv->in_ch;
}

typedef struct {
  const dream_conv *conv;
  int stride, pad_top, pad_left;
  const float *x;
  int h, w;
  float *y;
  int oh, ow;
  float *scratch;
  size_t scratch_size;
} sconv_job;

static void
sconv_task (void *ctx, int task, int thread)
{
  const sconv_job *j = ctx;
  const dream_conv *cv = j->conv;
  const int k = cv->k, c = cv->in_ch, kk = k * k * c;
  size_t n_px = (size_t) j->oh * j->ow, p0 = (size_t) task * SCONV_CHUNK;
  int n = (int) MIN ((size_t) SCONV_CHUNK, n_px - p0);
  float *cols = j->scratch + (size_t) thread * j->scratch_size;

  for (int i = 0; i < n; i++)
    {
      size_t p = p0 + i;
      int oy = (int) (p / j->ow), ox = (int) (p % j->ow);
      float *dst = cols + (size_t) i * kk;
      for (int ky = 0; ky < k; ky++)
        {
          int sy = oy * j->stride + ky - j->pad_top;
          for (int kx = 0; kx < k; kx++, dst += c)
            {
              int sx = ox * j->stride + kx - j->pad_left;
              if (sy < 0 || sy >= j->h || sx < 0 || sx >= j->w)
                memset (dst, 0, sizeof (float) * c);
              else
                memcpy (dst, j->x + ((size_t) sy * j->w + sx) * c, sizeof (float) * c);
            }
        }
    }
  float *out = j->y + p0 * cv->out_ch;
  dream_gemm (n, cv->out_ch, kk, 1.0f, cols, kk, cv->w, cv->out_ch, 0.0f, out, cv->out_ch);
  if (cv->b)
    dream_add_bias_rows (out, n, cv->out_ch, cv->b);
}

void
dream_conv2d_strided (const dream_conv *conv, int stride, int pad_top, int pad_left,
                      const float *x, int h, int w, float *y, int oh, int ow,
                      dream_pool *pool, float *scratch)
{
  sconv_job j = {
    .conv = conv, .stride = stride, .pad_top = pad_top, .pad_left = pad_left,
    .x = x, .h = h, .w = w, .y = y, .oh = oh, .ow = ow, .scratch = scratch,
    .scratch_size = dream_conv2d_strided_scratch_size (conv),
  };
  size_t n_px = (size_t) oh * ow;
  dream_pool_run (pool, (int) ((n_px + SCONV_CHUNK - 1) / SCONV_CHUNK), sconv_task, &j);
}

/* ---- weights ------------------------------------------------------------- */

gboolean
dream_weight_pack_conv (const dream_st_tensor *t, float *dst, float *tmp, GError **error)
{
  int out = (int) t->shape[0], in = t->n_dims > 1 ? (int) t->shape[1] : 1;
  int k = t->n_dims == 4 ? (int) t->shape[2] : 1;
  if (!dream_st_to_f32 (t, tmp, t->n_elements, error))
    return FALSE;
  dream_conv_pack_oihw (tmp, out, in, k, dst);
  return TRUE;
}
