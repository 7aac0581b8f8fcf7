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
 * No im2col. The output pixels are cut into chunks of consecutive pixels
 * (row-major, across rows). For each kernel row ky, one GEMM reads the
 * input straight from the feature map, shifted by ky - r rows, multiplies
 * it by the k taps of that kernel row side by side and accumulates into
 * t; then the k slices of t are added, shifted by kx - r pixels:
 *
 *   t (n + 2r, k*out_ch) = sum_ky x rows [q + (ky-r)*w] (n + 2r, in_ch) · w_ky (in_ch, k*out_ch)
 *   y[p] = sum_kx t[p + kx - r][kx*out_ch : (kx+1)*out_ch]
 *
 * (lda = x_stride, ldc = y_stride). OpenBLAS packs each input pixel k
 * times per conv (not k*k, and not after an im2col copy), and its GEMMs
 * are k times wider than out_ch, which matters for RRDBNet's 32-channel
 * growth convs. Rows off the top or bottom are left out; a pixel shift
 * that wraps around a left or right edge reads the neighbouring row, so
 * the pixels within r of those edges are computed again from a gathered
 * neighbourhood (zeros outside the image) and overwrite the first result.
 *
 * Packed weight layout (dream_conv_ex_pack_oihw): row (ky*in_ch + ic),
 * column (kx*out_ch + o), i.e. (k, in_ch, k, out_ch) row-major. For k = 1
 * it is the same as dream_conv_pack_oihw's.
 */
#include "ops/ops.h"

#include <string.h>

void
dream_conv_ex_pack_oihw (const float *oihw, int out_ch, int in_ch, int k,
                         float *dst)
{
  for (int o = 0; o < out_ch; o++)
    for (int i = 0; i < in_ch; i++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          dst[(((size_t) ky * in_ch + i) * k + kx) * out_ch + o] =
            oihw[(((size_t) o * in_ch + i) * k + ky) * k + kx];
}

/* Output pixels per chunk: the GEMM result t stays near 1 MiB. Depends
 * only on the conv, so results do not depend on the thread count. */
static int
chunk_pixels (const dream_conv *conv)
{
  int n = 262144 / MAX (conv->k * conv->out_ch, 1);
  return CLAMP (n / 64 * 64, 256, 2048);
}

/* Scratch per thread: t, then the gathered neighbourhoods of a chunk's
 * edge pixels and their results. */
size_t
dream_conv2d_ex_scratch_size (const dream_conv *conv)
{
  if (conv->k == 1)
    return 0;
  size_t n = chunk_pixels (conv), k = conv->k;
  return (n + k) * k * conv->out_ch + n * (k * k * conv->in_ch + conv->out_ch);
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

/* Gathers the neighbourhoods of the n pixels px[] into cols
 * (n, k*in_ch*k), in the packed weights' row order (ky, ic, kx); zeros
 * outside the image. */
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
          for (int kx = 0; kx < k; kx++)
            {
              int sx = x + kx - r;
              float *d = dst + (size_t) ky * c * k + kx;
              if (sy < 0 || sy >= j->h || sx < 0 || sx >= j->w)
                for (int ic = 0; ic < c; ic++)
                  d[(size_t) ic * k] = 0.0f;
              else
                {
                  const float *s = j->x + ((size_t) sy * j->w + sx) * xs;
                  for (int ic = 0; ic < c; ic++)
                    d[(size_t) ic * k] = s[ic];
                }
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
  const int k = cv->k, r = k / 2, ci = cv->in_ch, co = cv->out_ch, kco = k * co;
  const int w = j->w, xs = j->x_stride, ys = j->y_stride;
  const long total = (long) j->n_pixels;
  const long p0 = (long) task * j->chunk, p1 = MIN (p0 + j->chunk, total);

  if (k == 1)
    {
      dream_gemm ((int) (p1 - p0), co, ci, 1.0f, j->x + p0 * xs, xs, cv->w, co,
                  0.0f, j->y + p0 * ys, ys);
      epilogue (j, (size_t) p0, (int) (p1 - p0));
      return;
    }

  /* t[q] (q in [t0, t1)) = sum over kernel rows ky of input pixel
   * q + (ky - r) * w times that row's k taps side by side; rows above or
   * below the image are left out */
  float *t = j->scratch + (size_t) thread * j->scratch_size;
  float *cols = t + (size_t) (j->chunk + k) * kco;
  const long t0 = MAX (p0 - r, 0), t1 = MIN (p1 + r, total);
  dream_gemm ((int) (t1 - t0), kco, ci, 1.0f, j->x + t0 * xs, xs,
              cv->w + (size_t) r * ci * kco, kco, 0.0f, t, kco);
  for (int ky = 0; ky < k; ky++)
    {
      const long off = (long) (ky - r) * w;
      const long a = MAX (t0, -off), b = MIN (t1, total - off);
      if (ky == r || a >= b)
        continue;
      dream_gemm ((int) (b - a), kco, ci, 1.0f, j->x + (a + off) * xs, xs,
                  cv->w + (size_t) ky * ci * kco, kco, 1.0f,
                  t + (size_t) (a - t0) * kco, kco);
    }
  /* y[p] = sum over kx of t[p + kx - r], tap kx's slice */
  for (long p = p0; p < p1; p++)
    {
      float *o = j->y + p * ys;
      const float *tc = t + (size_t) (p - t0) * kco + (size_t) r * co;
      memcpy (o, tc, sizeof (float) * co);
      for (int kx = 0; kx < k; kx++)
        {
          long q = p + kx - r;
          if (kx == r || q < t0 || q >= t1)
            continue;
          const float *tr = t + (size_t) (q - t0) * kco + (size_t) kx * co;
          for (int c = 0; c < co; c++)
            o[c] += tr[c];
        }
    }

  /* pixels within r of the left or right edge: again, from their
   * gathered neighbourhoods */
  const size_t kk = (size_t) k * k * ci;
  size_t px[2048];
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
    .n_pixels = (size_t) h * w, .chunk = chunk_pixels (conv),
  };
  int n_tasks = (int) ((j.n_pixels + j.chunk - 1) / j.chunk);
  dream_pool_run (pool, n_tasks, convx_task, &j);
}
