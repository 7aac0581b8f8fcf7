/* conv2d.c — k×k convolution (stride 1, zero padding) as chunked GEMMs.
 *
 * The output pixels are split into chunks of CHUNK consecutive pixels (in
 * row-major order). For each chunk a pool thread gathers the k×k×in_ch
 * neighbourhood of every pixel into its own scratch (an im2col of just
 * that chunk, small enough to stay in cache), multiplies it by the packed
 * weights with one GEMM straight into the output rows, then adds the bias
 * and applies the activation while the rows are still in cache. No
 * im2col of the whole feature map is ever built.
 *
 *   scratch (CHUNK, k*k*in_ch) · w (k*k*in_ch, out_ch) -> y rows (CHUNK, out_ch)
 */
#include "ops/ops.h"

#include <string.h>

enum { CHUNK = 256 };

void
dream_conv_pack_oihw (const float *oihw, int out_ch, int in_ch, int k,
                      float *dst)
{
  for (int o = 0; o < out_ch; o++)
    for (int i = 0; i < in_ch; i++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          dst[((size_t) (ky * k + kx) * in_ch + i) * out_ch + o] =
            oihw[(((size_t) o * in_ch + i) * k + ky) * k + kx];
}

size_t
dream_conv2d_scratch_size (const dream_conv *conv)
{
  if (conv->k == 1)
    return 0;
  return (size_t) CHUNK * conv->k * conv->k * conv->in_ch;
}

typedef struct {
  const dream_conv *conv;
  dream_act act;
  const float *x;
  int h, w;
  float *y;
  float *scratch;
  size_t scratch_size;
  size_t n_pixels;
} conv_job;

/* Gathers the neighbourhoods of pixels [p0, p0 + n) into cols. */
static void
im2col_chunk (const conv_job *j, size_t p0, int n, float *cols)
{
  const int k = j->conv->k, r = k / 2, c = j->conv->in_ch;
  const size_t row = (size_t) k * k * c;
  for (int i = 0; i < n; i++)
    {
      size_t p = p0 + i;
      int y = (int) (p / j->w), x = (int) (p % j->w);
      float *dst = cols + i * row;
      for (int ky = 0; ky < k; ky++)
        {
          int sy = y + ky - r;
          if (sy < 0 || sy >= j->h)
            {
              memset (dst, 0, sizeof (float) * k * c);
              dst += k * c;
              continue;
            }
          const float *src_row = j->x + (size_t) sy * j->w * c;
          int x0 = x - r;
          if (x0 >= 0 && x0 + k <= j->w)
            {
              memcpy (dst, src_row + (size_t) x0 * c, sizeof (float) * k * c);
              dst += k * c;
              continue;
            }
          for (int kx = 0; kx < k; kx++, dst += c)
            {
              int sx = x0 + kx;
              if (sx < 0 || sx >= j->w)
                memset (dst, 0, sizeof (float) * c);
              else
                memcpy (dst, src_row + (size_t) sx * c, sizeof (float) * c);
            }
        }
    }
}

static void
conv_task (void *ctx, int task, int thread)
{
  const conv_job *j = ctx;
  const dream_conv *cv = j->conv;
  size_t p0 = (size_t) task * CHUNK;
  int n = (int) MIN ((size_t) CHUNK, j->n_pixels - p0);
  int kk = cv->k * cv->k * cv->in_ch;
  float *out = j->y + p0 * cv->out_ch;

  const float *a;
  if (cv->k == 1)
    a = j->x + p0 * cv->in_ch;
  else
    {
      float *cols = j->scratch + (size_t) thread * j->scratch_size;
      im2col_chunk (j, p0, n, cols);
      a = cols;
    }
  dream_gemm (n, cv->out_ch, kk, 1.0f, a, kk, cv->w, cv->out_ch,
              0.0f, out, cv->out_ch);

  for (int i = 0; i < n; i++)
    {
      float *o = out + (size_t) i * cv->out_ch;
      if (cv->b)
        for (int ch = 0; ch < cv->out_ch; ch++)
          o[ch] += cv->b[ch];
      if (j->act == DREAM_ACT_RELU)
        dream_relu (o, cv->out_ch);
    }
}

void
dream_conv2d (const dream_conv *conv, dream_act act,
              const float *x, int h, int w, float *y,
              dream_pool *pool, float *scratch)
{
  conv_job j = {
    .conv = conv, .act = act, .x = x, .h = h, .w = w, .y = y,
    .scratch = scratch, .scratch_size = dream_conv2d_scratch_size (conv),
    .n_pixels = (size_t) h * w,
  };
  int n_tasks = (int) ((j.n_pixels + CHUNK - 1) / CHUNK);
  dream_pool_run (pool, n_tasks, conv_task, &j);
}
