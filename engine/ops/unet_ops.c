/* unet_ops.c — the SD UNet's and VAE's pointwise ops, convolution and
 * linear layers on PyTorch-layout weights, and per-layer weight widening
 * (see unet_ops.h).
 */
#include "ops/unet_ops.h"
#include "ops/vexp.h"

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

/* x·sigmoid(x) with e = exp(−|x|) <= 1: sigmoid = 1/(1+e) for x >= 0,
 * e/(1+e) below; vectorised (vexp.h) for AVX-512, AVX2 and the baseline. */
__attribute__ ((target_clones ("avx512f", "avx2,fma", "default"))) void
dream_silu (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      float v = x[i], e = dream_vexp_neg (v < 0.0f ? v : -v);
      float num = v < 0.0f ? e : 1.0f;
      x[i] = v * num / (1.0f + e);
    }
}

/* ---- GEGLU --------------------------------------------------------------- */

enum { GEGLU_ROWS = 64 };

typedef struct {
  float *h;
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
      float *a = j->h + (size_t) r * 2 * j->f, *g = a + j->f, *y = j->y + (size_t) r * j->f;
      dream_gelu (g, j->f);   /* nn.h: exact (erf) GELU, in place */
      for (int i = 0; i < j->f; i++)
        y[i] = a[i] * g[i];
    }
}

void
dream_geglu (float *h, int n, int f, float *y, dream_pool *pool)
{
  geglu_job j = { h, y, n, f };
  dream_pool_run (pool, (n + GEGLU_ROWS - 1) / GEGLU_ROWS, geglu_task, &j);
}

/* ---- resampling and plumbing --------------------------------------------- */

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

/* ---- convolution on PyTorch-layout weights ------------------------------- */

/* Output pixels per GEMM: OpenBLAS repacks the whole weight for every
 * call, so calls should have many rows (the repacking costs about 32/rows
 * of the multiply-adds on AVX-512); the gathered rows should stay within
 * a few MiB per thread. */
enum { CONV_MIN_ROWS = 256, CONV_MAX_ROWS = 2048, CONV_TARGET_FLOATS = 1 << 21 };

static int
conv_rows (const dream_conv_ohwi *conv)
{
  int K = conv->k * conv->k * conv->in_ch;
  return CLAMP (CONV_TARGET_FLOATS / MAX (K, 1), CONV_MIN_ROWS, CONV_MAX_ROWS);
}

/* Stride-1 3×3 convolutions on maps at least BAND_MIN_W wide with at
 * least BAND_MIN_C input channels skip the gather: a task copies R output
 * rows' worth of input rows (R + 2, zero-padded to ow + 2 columns: a
 * "band") and runs nine GEMMs, one per tap, each reading the band shifted
 * by that tap (rows ow + 2 apart, so each output row gets two spare
 * columns, dropped afterwards) and adding into an (R·(ow+2), out) block.
 * OpenBLAS packs the shifted views itself; nothing writes the 9× larger
 * im2col. About BAND_ROWS pixels per GEMM, as for the gather path. */
enum { BAND_MIN_W = 32, BAND_MIN_C = 32, BAND_ROWS = 1536 };

static gboolean
use_band (const dream_conv_ohwi *conv, int stride, int ow)
{
  return stride == 1 && conv->k == 3 && conv->in_ch >= BAND_MIN_C && ow >= BAND_MIN_W;
}

static int
band_rows (int ow, int oh)
{
  return CLAMP (BAND_ROWS / (ow + 2), 1, MAX (oh, 1));
}

size_t
dream_conv_ohwi_scratch_size (const dream_conv_ohwi *conv, int stride, int oh, int ow)
{
  if (use_band (conv, stride, ow))
    {
      const size_t R = band_rows (ow, oh), pw = ow + 2;
      return ((R + 2) * pw + 2) * conv->in_ch + R * pw * conv->out_ch;
    }
  /* the gathered rows, then a row of zeros for taps outside the image */
  return (size_t) conv_rows (conv) * conv->k * conv->k * conv->in_ch + conv->in_ch;
}

typedef struct {
  const dream_conv_ohwi *conv;
  int stride, pad;
  gboolean up;
  const float *x;
  int h, w;               /* x's own size */
  float *y;
  int oh, ow;
  int rows;               /* output pixels per chunk (band: output rows) */
  int chunks_per_image, n_chunks, col_blocks, cols_per_block;
  float *scratch;
  size_t scratch_size;
} conv_job;

/* Neighbourhoods of output pixels [p0, p0 + n) of one image, in
 * (ky, kx, in) order: cols[i·K + (ky·k + kx)·in + ic], one memcpy of the
 * source pixel's channels per tap (zeros outside the image). */
static void
gather (const conv_job *j, const float *x, int p0, int n, float *cols, const float *zeros)
{
  const int k = j->conv->k, c = j->conv->in_ch, K = c * k * k;
  const int vh = j->up ? 2 * j->h : j->h, vw = j->up ? 2 * j->w : j->w;  /* virtual input */
  const size_t bytes = sizeof (float) * c;
  for (int i = 0; i < n; i++)
    {
      const int p = p0 + i, oy = p / j->ow, ox = p % j->ow;
      float *dst = cols + (size_t) i * K;
      for (int ky = 0; ky < k; ky++)
        {
          const int sy = oy * j->stride + ky - j->pad;
          for (int kx = 0; kx < k; kx++, dst += c)
            {
              const int sx = ox * j->stride + kx - j->pad;
              if (sy < 0 || sy >= vh || sx < 0 || sx >= vw)
                memcpy (dst, zeros, bytes);
              else
                {
                  const int ry = j->up ? sy / 2 : sy, rx = j->up ? sx / 2 : sx;
                  memcpy (dst, x + ((size_t) ry * j->w + rx) * c, bytes);
                }
            }
        }
    }
}

static void
conv_task (void *ctx, int task, int thread)
{
  const conv_job *j = ctx;
  const dream_conv_ohwi *cv = j->conv;
  const int chunk = task / j->col_blocks, cb = task % j->col_blocks;
  const int b = chunk / j->chunks_per_image, p0 = (chunk % j->chunks_per_image) * j->rows;
  const int n = MIN (j->rows, j->oh * j->ow - p0);
  const int o0 = cb * j->cols_per_block, no = MIN (j->cols_per_block, cv->out_ch - o0);
  const int K = cv->in_ch * cv->k * cv->k;
  if (no <= 0)
    return;
  const float *x = j->x + (size_t) b * j->h * j->w * cv->in_ch;
  float *y = j->y + ((size_t) b * j->oh * j->ow + p0) * cv->out_ch + o0;
  float *cols = j->scratch + (size_t) thread * j->scratch_size;
  float *zeros = cols + j->scratch_size - cv->in_ch;
  memset (zeros, 0, sizeof (float) * cv->in_ch);
  gather (j, x, p0, n, cols, zeros);
  dream_gemm_bt (n, no, K, 1.0f, cols, K, cv->w + (size_t) o0 * K, K, 0.0f, y, cv->out_ch);
  if (cv->b)
    for (int i = 0; i < n; i++)
      for (int o = 0; o < no; o++)
        y[(size_t) i * cv->out_ch + o] += cv->b[o0 + o];
}

/* One band: output rows [y0, y0 + rr) of image b, output channels
 * [o0, o0 + no). */
static void
band_task (void *ctx, int task, int thread)
{
  const conv_job *j = ctx;
  const dream_conv_ohwi *cv = j->conv;
  const int chunk = task / j->col_blocks, cb = task % j->col_blocks;
  const int b = chunk / j->chunks_per_image, y0 = (chunk % j->chunks_per_image) * j->rows;
  const int rr = MIN (j->rows, j->oh - y0), c = cv->in_ch, pw = j->ow + 2;
  const int o0 = cb * j->cols_per_block, no = MIN (j->cols_per_block, cv->out_ch - o0);
  if (no <= 0)
    return;
  const int vh = j->up ? 2 * j->h : j->h;   /* the virtual input is vh × ow */
  const float *x = j->x + (size_t) b * j->h * j->w * c;
  float *band = j->scratch + (size_t) thread * j->scratch_size;
  float *acc = band + ((size_t) (j->rows + 2) * pw + 2) * c;    /* (rr·pw, no) */
  const size_t px = sizeof (float) * c;

  /* band rows: virtual rows y0 − 1 .. y0 + rr, a zero column each side */
  for (int br = 0; br < rr + 2; br++)
    {
      float *row = band + (size_t) br * pw * c;
      const int vy = y0 - 1 + br;
      if (vy < 0 || vy >= vh)
        {
          memset (row, 0, px * pw);
          continue;
        }
      memset (row, 0, px);
      memset (row + (size_t) (pw - 1) * c, 0, px);
      const float *src = x + (size_t) (j->up ? vy / 2 : vy) * j->w * c;
      if (!j->up)
        memcpy (row + c, src, px * j->ow);
      else
        for (int vx = 0; vx < j->ow; vx++)
          memcpy (row + (size_t) (vx + 1) * c, src + (size_t) (vx / 2) * c, px);
    }
  memset (band + (size_t) (rr + 2) * pw * c, 0, 2 * px);

  /* nine shifted GEMMs: tap (ky, kx) reads the band from ky·pw + kx on */
  const int m = rr * pw, K9 = 9 * c;
  for (int t = 0; t < 9; t++)
    dream_gemm_bt (m, no, c, 1.0f, band + (size_t) ((t / 3) * pw + t % 3) * c, c,
                   cv->w + (size_t) o0 * K9 + (size_t) t * c, K9, t ? 1.0f : 0.0f, acc, no);

  for (int r = 0; r < rr; r++)
    for (int xx = 0; xx < j->ow; xx++)
      {
        const float *a = acc + ((size_t) r * pw + xx) * no;
        float *o = j->y + (((size_t) b * j->oh + y0 + r) * j->ow + xx) * cv->out_ch + o0;
        for (int q = 0; q < no; q++)
          o[q] = a[q] + (cv->b ? cv->b[o0 + q] : 0.0f);
      }
}

void
dream_conv_ohwi_run (const dream_conv_ohwi *conv, int stride, int pad, gboolean upsample,
                     const float *x, int batch, int h, int w, float *y, int oh, int ow,
                     dream_pool *pool, float *scratch)
{
  const gboolean band = use_band (conv, stride, ow);
  conv_job j = {
    .conv = conv, .stride = stride, .pad = pad, .up = upsample, .x = x, .h = h, .w = w,
    .y = y, .oh = oh, .ow = ow, .scratch = scratch,
    .scratch_size = dream_conv_ohwi_scratch_size (conv, stride, oh, ow),
  };
  j.rows = band ? band_rows (ow, oh) : conv_rows (conv);
  j.chunks_per_image = band ? (oh + j.rows - 1) / j.rows : (oh * ow + j.rows - 1) / j.rows;
  j.n_chunks = batch * j.chunks_per_image;
  /* split the output channels when the chunks cannot feed the threads
     (blocks of at least 64 channels) */
  const int want = 2 * dream_pool_n_threads (pool);
  j.col_blocks = 1;
  if (j.n_chunks < want)
    j.col_blocks = CLAMP ((want + j.n_chunks - 1) / j.n_chunks, 1, MAX (conv->out_ch / 64, 1));
  j.cols_per_block = (conv->out_ch + j.col_blocks - 1) / j.col_blocks;
  dream_pool_run (pool, j.n_chunks * j.col_blocks, band ? band_task : conv_task, &j);
}

/* ---- linear with tall GEMMs ---------------------------------------------- */

/* Rows per GEMM: OpenBLAS repacks W on every call, about 32/rows of the
 * multiply-adds on AVX-512, so calls take at least LIN_MIN_ROWS rows and
 * the work is split into only a few tasks per thread. */
enum { LIN_MIN_ROWS = 256, LIN_MAX_ROWS = 4096, LIN_TASKS_PER_THREAD = 2 };

typedef struct {
  const dream_linear_w *l;
  const float *x;
  int n, ldx;
  float *y;
  int ldy;
  gboolean accumulate;
  int rows, n_row_blocks, cols;
} lin_job;

static void
lin_task (void *ctx, int task, int thread)
{
  (void) thread;
  const lin_job *j = ctx;
  const dream_linear_w *l = j->l;
  const int rb = task % j->n_row_blocks, cb = task / j->n_row_blocks;
  const int r0 = rb * j->rows, nr = MIN (j->rows, j->n - r0);
  const int c0 = cb * j->cols, nc = MIN (j->cols, l->out - c0);
  if (nr <= 0 || nc <= 0)
    return;
  float *y = j->y + (size_t) r0 * j->ldy + c0;
  dream_gemm_bt (nr, nc, l->in, 1.0f, j->x + (size_t) r0 * j->ldx, j->ldx,
                 l->w + (size_t) c0 * l->in, l->in, j->accumulate ? 1.0f : 0.0f, y, j->ldy);
  if (l->b)
    for (int i = 0; i < nr; i++)
      for (int c = 0; c < nc; c++)
        y[(size_t) i * j->ldy + c] += l->b[c0 + c];
}

void
dream_sd_linear_run (const dream_linear_w *l, const float *x, int n, int ldx, float *y, int ldy,
                     gboolean accumulate, dream_pool *pool)
{
  if (n <= 0 || l->out <= 0)
    return;
  const int threads = dream_pool_n_threads (pool), want = LIN_TASKS_PER_THREAD * threads;
  lin_job j = { .l = l, .x = x, .n = n, .ldx = ldx, .y = y, .ldy = ldy, .accumulate = accumulate };
  int n_rb = MAX ((n + LIN_MAX_ROWS - 1) / LIN_MAX_ROWS, MIN (want, n / LIN_MIN_ROWS));
  n_rb = MAX (n_rb, 1);
  j.rows = (n + n_rb - 1) / n_rb;
  j.n_row_blocks = (n + j.rows - 1) / j.rows;
  /* few rows: split the output columns instead (blocks of >= 64) */
  int n_cb = 1;
  if (j.n_row_blocks < want)
    n_cb = CLAMP (want / j.n_row_blocks, 1, MAX (l->out / 64, 1));
  j.cols = (l->out + n_cb - 1) / n_cb;
  j.cols = MIN (l->out, (j.cols + 15) & ~15);
  n_cb = (l->out + j.cols - 1) / j.cols;
  dream_pool_run (pool, j.n_row_blocks * n_cb, lin_task, &j);
}

/* ---- weights ------------------------------------------------------------- */

enum { WIDEN_CHUNK = 1 << 16 };

typedef struct {
  const dream_st_tensor *t;
  float *dst;
  gboolean f16c;
} widen_job;

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__ ((target ("avx,f16c"))) static void
f16_to_f32_f16c (const guint8 *src, float *dst, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + 2 * i))));
  for (; i < n; i++)
    {
      guint16 h;
      memcpy (&h, src + 2 * i, 2);
      dst[i] = _cvtsh_ss (h);
    }
}

static gboolean
have_f16c (void)
{
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("f16c") && __builtin_cpu_supports ("avx");
}
#else
static gboolean
have_f16c (void)
{
  return FALSE;
}
#endif

static void
widen_task (void *ctx, int task, int thread)
{
  (void) thread;
  const widen_job *j = ctx;
  const dream_st_tensor *t = j->t;
  const size_t i0 = (size_t) task * WIDEN_CHUNK;
  const size_t n = MIN ((size_t) WIDEN_CHUNK, (size_t) t->n_elements - i0);
  const guint8 *src = (const guint8 *) t->data + i0 * dream_dtype_size (t->dtype);
#if defined(__x86_64__) || defined(__i386__)
  if (j->f16c && t->dtype == DREAM_DTYPE_F16)
    {
      f16_to_f32_f16c (src, j->dst + i0, n);
      return;
    }
#endif
  if (t->dtype == DREAM_DTYPE_BF16)
    for (size_t i = 0; i < n; i++)
      {
        guint16 v;
        memcpy (&v, src + 2 * i, 2);
        guint32 bits = (guint32) GUINT16_FROM_LE (v) << 16;
        memcpy (j->dst + i0 + i, &bits, 4);
      }
  else
    {
      /* a view of the chunk as its own tensor for the generic converter */
      dream_st_tensor part = *t;
      part.data = src;
      part.n_elements = (int64_t) n;
      part.n_dims = 1;
      part.shape[0] = (int64_t) n;
      part.n_bytes = n * dream_dtype_size (t->dtype);
      dream_st_to_f32 (&part, j->dst + i0, (int64_t) n, NULL);
    }
}

const float *
dream_weight_widen (const dream_st_tensor *t, float *buf, dream_pool *pool, GError **error)
{
  if (t->dtype == DREAM_DTYPE_F32 && ((guintptr) t->data % sizeof (float)) == 0
      && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    return t->data;
  if (t->dtype != DREAM_DTYPE_F32 && t->dtype != DREAM_DTYPE_F16
      && t->dtype != DREAM_DTYPE_BF16 && t->dtype != DREAM_DTYPE_F64)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "tensor '%s' is %s, not a float type",
                   t->name, dream_dtype_name (t->dtype));
      return NULL;
    }
  widen_job j = { t, buf, have_f16c () && G_BYTE_ORDER == G_LITTLE_ENDIAN };
  int n_tasks = (int) (((size_t) t->n_elements + WIDEN_CHUNK - 1) / WIDEN_CHUNK);
  if (pool && n_tasks > 1)
    dream_pool_run (pool, n_tasks, widen_task, &j);
  else
    for (int i = 0; i < n_tasks; i++)
      widen_task (&j, i, 0);
  return buf;
}

typedef struct {
  const dream_st_tensor *t;
  float *dst;
  int out, in, kk;
  int per_task;      /* output channels per task */
  float *tmp;        /* (n_threads, in·kk) one channel widened */
  gboolean f16c;
} ohwi_job;

static void
ohwi_task (void *ctx, int task, int thread)
{
  const ohwi_job *j = ctx;
  const int K = j->in * j->kk;
  float *row = j->tmp + (size_t) thread * K;
  for (int o = task * j->per_task; o < MIN (j->out, (task + 1) * j->per_task); o++)
    {
      /* widen channel o's (in, kk) block, then transpose it to (kk, in) */
      dream_st_tensor part = *j->t;
      part.data = (const guint8 *) j->t->data + (size_t) o * K * dream_dtype_size (j->t->dtype);
      part.n_elements = K;
      part.n_dims = 1;
      part.shape[0] = K;
      part.n_bytes = (size_t) K * dream_dtype_size (j->t->dtype);
      widen_job w = { &part, row, j->f16c };
      for (int c = 0; c * WIDEN_CHUNK < K; c++)
        widen_task (&w, c, 0);
      float *dst = j->dst + (size_t) o * K;
      for (int t = 0; t < j->kk; t++)
        for (int i = 0; i < j->in; i++)
          dst[(size_t) t * j->in + i] = row[(size_t) i * j->kk + t];
    }
}

const float *
dream_weight_widen_ohwi (const dream_st_tensor *t, float *buf, dream_pool *pool, GError **error)
{
  if (t->n_dims != 4 || t->shape[2] * t->shape[3] == 1)
    return dream_weight_widen (t, buf, pool, error);
  if (t->dtype != DREAM_DTYPE_F32 && t->dtype != DREAM_DTYPE_F16
      && t->dtype != DREAM_DTYPE_BF16 && t->dtype != DREAM_DTYPE_F64)
    return dream_weight_widen (t, buf, pool, error);   /* the error */
  ohwi_job j = { .t = t, .dst = buf, .out = (int) t->shape[0], .in = (int) t->shape[1],
                 .kk = (int) (t->shape[2] * t->shape[3]),
                 .f16c = have_f16c () && G_BYTE_ORDER == G_LITTLE_ENDIAN };
  const int threads = pool ? dream_pool_n_threads (pool) : 1;
  const int n_tasks = MIN (j.out, 4 * threads);
  j.per_task = (j.out + n_tasks - 1) / n_tasks;
  j.tmp = dream_alloc ((size_t) threads * j.in * j.kk, sizeof (float), "conv weight", error);
  if (!j.tmp)
    return NULL;
  if (pool)
    dream_pool_run (pool, (j.out + j.per_task - 1) / j.per_task, ohwi_task, &j);
  else
    for (int i = 0; i * j.per_task < j.out; i++)
      ohwi_task (&j, i, 0);
  g_free (j.tmp);
  return buf;
}
