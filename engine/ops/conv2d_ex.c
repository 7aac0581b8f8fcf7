/* conv2d_ex.c — k×k convolution on channel slices, with a fused epilogue.
 *
 * Input and output pixels may be strided: the input is the first in_ch
 * channels of pixels x_stride floats apart, the output goes to out_ch
 * channels of pixels y_stride floats apart. That is how the dense blocks
 * of RDN and RRDBNet concatenate without copying: every conv reads a
 * prefix of one wide buffer and writes its own slice of it. The epilogue
 * (bias, ReLU / leaky ReLU / PReLU, scaled residual add) runs on each
 * chunk while it is still in cache.
 *
 * No im2col: the output pixels are cut into chunks of consecutive pixels
 * (row-major, across rows), and each kernel tap (ky, kx) is one GEMM that
 * reads the input straight from the feature map, shifted by the tap's
 * offset, into the chunk's output rows (the centre tap first, beta 0; the
 * others accumulate):
 *
 *   x rows [p + (ky-r)*w + (kx-r)] (n, in_ch), lda = x_stride
 *     · w rows of the tap (in_ch, out_ch)  ->  y rows (n, out_ch), ldc = y_stride
 *
 * A shifted row may run off the top or bottom of the image (those pixels
 * are left out of that tap's GEMM) or wrap around a left or right edge
 * into the neighbouring row: the pixels within r of the left and right
 * edges are therefore computed again, from a gathered neighbourhood
 * (zeros outside the image), and overwrite the first result. OpenBLAS
 * packs its operands itself, so the input is copied once (by OpenBLAS),
 * not twice (im2col, then packing): for RRDBNet's 32-channel growth convs
 * that copying was a third of the time.
 */
#include "ops/ops.h"

#include <string.h>

/* Output pixels per chunk (a fixed number, so that results do not depend
 * on the thread count). */
enum { CHUNK = 1024 };

/* Scratch per thread: gathered neighbourhoods of the edge pixels of a
 * chunk and their results. */
size_t
dream_conv2d_ex_scratch_size (const dream_conv *conv)
{
  if (conv->k == 1)
    return 0;
  return (size_t) CHUNK * (conv->k * conv->k * conv->in_ch + conv->out_ch);
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
} convx_job;

/* Gathers the k×k×in_ch neighbourhoods of the n pixels px[] into cols
 * (n, k*k*in_ch); zeros outside the image. */
static void
gather (const convx_job *j, const size_t *px, int n, float *cols)
{
  const int k = j->conv->k, r = k / 2, c = j->conv->in_ch, xs = j->x_stride;
  const size_t row = (size_t) k * k * c;
  for (int i = 0; i < n; i++)
    {
      int y = (int) (px[i] / j->w), x = (int) (px[i] % j->w);
      float *dst = cols + i * row;
      for (int ky = 0; ky < k; ky++)
        {
          int sy = y + ky - r;
          for (int kx = 0; kx < k; kx++, dst += c)
            {
              int sx = x + kx - r;
              if (sy < 0 || sy >= j->h || sx < 0 || sx >= j->w)
                memset (dst, 0, sizeof (float) * c);
              else
                memcpy (dst, j->x + ((size_t) sy * j->w + sx) * xs, sizeof (float) * c);
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
  const int k = cv->k, r = k / 2, ci = cv->in_ch, co = cv->out_ch;
  const int w = j->w, xs = j->x_stride, ys = j->y_stride;
  const long total = (long) j->n_pixels;
  const long p0 = (long) task * CHUNK, p1 = MIN (p0 + CHUNK, total);
  float *out = j->y + p0 * ys;

  if (k == 1)
    {
      dream_gemm ((int) (p1 - p0), co, ci, 1.0f, j->x + p0 * xs, xs, cv->w, co,
                  0.0f, out, ys);
      epilogue (j, (size_t) p0, (int) (p1 - p0));
      return;
    }

  /* every tap as one shifted GEMM; the centre tap covers all pixels */
  for (int t = -1; t < k * k; t++)
    {
      int ky = t < 0 ? r : t / k, kx = t < 0 ? r : t % k;
      if (t == r * k + r)
        continue;
      long off = (long) (ky - r) * w + (kx - r);
      /* rows off the image, and reads outside the buffer, are left out */
      long a = MAX (p0, (long) MAX (r - ky, 0) * w);
      long b = MIN (p1, total - (long) MAX (ky - r, 0) * w);
      a = MAX (a, -off);
      b = MIN (b, total - off);
      if (a >= b)
        continue;
      dream_gemm ((int) (b - a), co, ci, 1.0f, j->x + (a + off) * xs, xs,
                  cv->w + (size_t) (ky * k + kx) * ci * co, co,
                  t < 0 ? 0.0f : 1.0f, j->y + a * ys, ys);
    }

  /* pixels within r of the left or right edge: again, from their
   * gathered neighbourhoods */
  float *cols = j->scratch + (size_t) thread * j->scratch_size;
  const size_t kk = (size_t) k * k * ci;
  size_t px[CHUNK];
  int n = 0;
  for (long p = p0; p < p1; p++)
    {
      int x = (int) (p % w);
      if (x < r || x >= w - r)
        px[n++] = (size_t) p;
    }
  if (n > 0)
    {
      float *res = cols + (size_t) n * kk;
      gather (j, px, n, cols);
      dream_gemm (n, co, (int) kk, 1.0f, cols, (int) kk, cv->w, co, 0.0f, res, co);
      for (int i = 0; i < n; i++)
        memcpy (j->y + px[i] * ys, res + (size_t) i * co, sizeof (float) * co);
    }
  epilogue (j, (size_t) p0, (int) (p1 - p0));
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
    .n_pixels = (size_t) h * w,
  };
  int n_tasks = (int) ((j.n_pixels + CHUNK - 1) / CHUNK);
  dream_pool_run (pool, n_tasks, convx_task, &j);
}
