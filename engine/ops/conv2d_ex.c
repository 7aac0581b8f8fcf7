/* conv2d_ex.c — k×k convolution on channel slices, with a fused epilogue.
 *
 * Same scheme as conv2d.c (chunks of consecutive output pixels, an im2col
 * of just the chunk in per-thread scratch, one GEMM into the output rows),
 * but input and output pixels may be strided: the input is the first
 * in_ch channels of pixels x_stride floats apart, the output goes to
 * out_ch channels of pixels y_stride floats apart. That is how the dense
 * blocks of RDN and RRDBNet concatenate without copying: every conv reads
 * a prefix of one wide buffer and writes its own slice of it. The
 * epilogue (bias, ReLU / leaky ReLU / PReLU, scaled residual add) runs on
 * each chunk while it is still in cache.
 *
 *   cols (n, k*k*in_ch) · w (k*k*in_ch, out_ch) -> y rows (n, out_ch), ldc = y_stride
 */
#include "ops/ops.h"

#include <string.h>

/* Output pixels per chunk: the im2col block stays near 512 KiB. Depends
 * only on the conv, so results do not depend on the thread count. */
static int
chunk_pixels (const dream_conv *conv)
{
  int kk = conv->k * conv->k * conv->in_ch;
  int n = 131072 / MAX (kk, 1);
  return CLAMP (n / 16 * 16, 64, 512);
}

size_t
dream_conv2d_ex_scratch_size (const dream_conv *conv)
{
  if (conv->k == 1)
    return 0;
  return (size_t) chunk_pixels (conv) * conv->k * conv->k * conv->in_ch;
}

typedef struct {
  const dream_conv *conv;
  const dream_conv_post *post;
  const float *x;
  int x_stride;
  int h, w;
  float *y;
  int y_stride;
  float *scratch;
  size_t scratch_size;
  size_t n_pixels;
  int chunk;
} convx_job;

/* Gathers the k×k×in_ch neighbourhoods of pixels [p0, p0 + n) into cols
 * (n, k*k*in_ch); zeros outside the image. */
static void
gather (const convx_job *j, size_t p0, int n, float *cols)
{
  const int k = j->conv->k, r = k / 2, c = j->conv->in_ch, xs = j->x_stride;
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
          const float *src_row = j->x + (size_t) sy * j->w * xs;
          for (int kx = 0; kx < k; kx++, dst += c)
            {
              int sx = x + kx - r;
              if (sx < 0 || sx >= j->w)
                memset (dst, 0, sizeof (float) * c);
              else
                memcpy (dst, src_row + (size_t) sx * xs, sizeof (float) * c);
            }
        }
    }
}

static void
epilogue (const convx_job *j, size_t p0, int n)
{
  const dream_conv *cv = j->conv;
  const dream_conv_post *post = j->post;
  const int oc = cv->out_ch;
  for (int i = 0; i < n; i++)
    {
      float *o = j->y + (p0 + i) * j->y_stride;
      if (cv->b)
        for (int ch = 0; ch < oc; ch++)
          o[ch] += cv->b[ch];
      if (!post)
        continue;
      switch (post->act)
        {
        case DREAM_POST_RELU:
          dream_relu (o, oc);
          break;
        case DREAM_POST_LEAKY:
          dream_leaky_relu (o, oc, post->slope);
          break;
        case DREAM_POST_PRELU:
          dream_prelu (o, 1, oc, post->slopes);
          break;
        case DREAM_POST_LINEAR:
          break;
        }
      if (post->residual)
        {
          const float *r = post->residual + (p0 + i) * post->res_stride;
          const float s = post->res_scale;
          for (int ch = 0; ch < oc; ch++)
            o[ch] = o[ch] * s + r[ch];
        }
    }
}

static void
convx_task (void *ctx, int task, int thread)
{
  const convx_job *j = ctx;
  const dream_conv *cv = j->conv;
  size_t p0 = (size_t) task * j->chunk;
  int n = (int) MIN ((size_t) j->chunk, j->n_pixels - p0);
  int kk = cv->k * cv->k * cv->in_ch;
  float *out = j->y + p0 * j->y_stride;

  if (cv->k == 1)
    dream_gemm (n, cv->out_ch, kk, 1.0f, j->x + p0 * j->x_stride, j->x_stride,
                cv->w, cv->out_ch, 0.0f, out, j->y_stride);
  else
    {
      float *cols = j->scratch + (size_t) thread * j->scratch_size;
      gather (j, p0, n, cols);
      dream_gemm (n, cv->out_ch, kk, 1.0f, cols, kk, cv->w, cv->out_ch,
                  0.0f, out, j->y_stride);
    }
  epilogue (j, p0, n);
}

void
dream_conv2d_ex (const dream_conv *conv, const dream_conv_post *post,
                 const float *x, int x_stride, int h, int w,
                 float *y, int y_stride, dream_pool *pool, float *scratch)
{
  convx_job j = {
    .conv = conv, .post = post, .x = x, .x_stride = x_stride, .h = h, .w = w,
    .y = y, .y_stride = y_stride, .scratch = scratch,
    .scratch_size = dream_conv2d_ex_scratch_size (conv),
    .n_pixels = (size_t) h * w, .chunk = chunk_pixels (conv),
  };
  int n_tasks = (int) ((j.n_pixels + j.chunk - 1) / j.chunk);
  dream_pool_run (pool, n_tasks, convx_task, &j);
}
