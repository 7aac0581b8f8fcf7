/* nn.c — linear layers, layer norm, GELU and softmax (see nn.h).
 *
 * dream_linear cuts y (n, out) into blocks and runs one single-threaded
 * GEMM per block on the pool (OpenBLAS itself stays on one thread, see
 * gemm.c):
 *
 *   x rows [r0, r0+R) (R, in) · W rows [c0, c0+C)ᵀ (in, C) -> y block (R, C)
 *
 * then adds the bias and applies the activation while the block is hot.
 */
#include "ops/nn.h"

#include <math.h>
#include <string.h>

/* ---- weights ----------------------------------------------------------- */

gboolean
dream_weight_needs_copy (const dream_st_tensor *t)
{
  return t->dtype != DREAM_DTYPE_F32 || ((uintptr_t) t->data & 3) != 0;
}

const float *
dream_weight_f32 (const dream_st_tensor *t, float *buf, GError **error)
{
  if (!dream_weight_needs_copy (t))
    return t->data;
  if (!buf)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "tensor '%s': no buffer to widen %s into", t->name,
                   dream_dtype_name (t->dtype));
      return NULL;
    }
  if (!dream_st_to_f32 (t, buf, t->n_elements, error))
    return NULL;
  return buf;
}

gboolean
dream_weight_rows_f32 (const dream_st_tensor *t, int64_t row0, int64_t n_rows,
                       float *dst, GError **error)
{
  if (t->n_dims != 2 || row0 < 0 || n_rows < 0 || row0 + n_rows > t->shape[0])
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "tensor '%s': rows %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
                   " out of range", t->name, row0, row0 + n_rows);
      return FALSE;
    }
  size_t es = dream_dtype_size (t->dtype);
  dream_st_tensor view = *t;
  view.n_dims = 1;
  view.shape[0] = n_rows * t->shape[1];
  view.n_elements = view.shape[0];
  view.n_bytes = (size_t) view.n_elements * es;
  view.data = (const guint8 *) t->data + (size_t) row0 * t->shape[1] * es;
  return dream_st_to_f32 (&view, dst, view.n_elements, error);
}

/* ---- pointwise --------------------------------------------------------- */

/* GELU(x) = 0.5 x (1 + erf (x/√2)) = x − h for x >= 0 and h for x < 0,
 * with h = 0.5 x erfc (|x|/√2): no cancellation for negative x. erfc(a)
 * is 1 − a P(a²) for a < 0.9 and exp(−a²) Q(1/(1 + a/2)) above, P and Q
 * least-squares fits (tools/fit_erfc.py, relative error ~1e-9, so float32
 * rounding dominates: |error| < 3e-7 over the whole range). Each step is
 * its own loop over a block, so that every loop vectorises (the selects
 * store straight back, which gcc if-converts). */
static const float erf_p[7] = {
  1.128379167e+00f, -3.761263613e-01f, 1.128373294e-01f, -2.686152089e-02f,
  5.206430608e-03f, -8.205579475e-04f, 8.643222725e-05f,
};
static const float erfc_q[11] = {
  1.774807242e-06f, 2.820401503e-01f, 2.828338782e-01f, 2.410663665e-01f,
  2.048870821e-01f, -9.138864833e-03f, 1.906425462e-01f, -2.981687085e-01f,
  6.193188613e-02f, 8.001708267e-02f, -3.619192973e-02f,
};

void
dream_gelu (float *x, size_t n)
{
  float a[256], e1[256], e2[256];
  for (size_t i0 = 0; i0 < n; i0 += G_N_ELEMENTS (a))
    {
      size_t m = MIN (n - i0, G_N_ELEMENTS (a));
      float *xi = x + i0;
      for (size_t i = 0; i < m; i++)
        a[i] = fabsf (xi[i]) * (float) M_SQRT1_2;
      for (size_t i = 0; i < m; i++)
        a[i] = a[i] > 9.3f ? 9.3f : a[i];           /* erfc = 0 in float beyond */
      for (size_t i = 0; i < m; i++)
        {
          float u = a[i] * a[i], p = erf_p[6];
          for (int k = 5; k >= 0; k--)
            p = p * u + erf_p[k];
          e1[i] = 1.0f - a[i] * p;
        }
      for (size_t i = 0; i < m; i++)
        {
          float t = 1.0f / (1.0f + 0.5f * a[i]), q = erfc_q[10];
          for (int k = 9; k >= 0; k--)
            q = q * t + erfc_q[k];
          e2[i] = dream_expf_core (-a[i] * a[i]) * q;
        }
      for (size_t i = 0; i < m; i++)
        e2[i] = a[i] < 0.9f ? e1[i] : e2[i];
      for (size_t i = 0; i < m; i++)
        e1[i] = 0.5f * xi[i] * e2[i];               /* h */
      for (size_t i = 0; i < m; i++)
        e2[i] = xi[i] - e1[i];                      /* x − h */
      for (size_t i = 0; i < m; i++)
        xi[i] = xi[i] >= 0.0f ? e2[i] : e1[i];
    }
}

void
dream_exp_array (float *x, size_t n)
{
  /* Separate passes: with the clamps inside the exp loop gcc would not
   * if-convert (trapping math) and the loop would stay scalar. */
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] < -87.0f ? -87.0f : x[i];
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] > 88.0f ? 88.0f : x[i];
  for (size_t i = 0; i < n; i++)
    x[i] = dream_expf_core (x[i]);
}

void
dream_quick_gelu (float *x, size_t n)
{
  float t[256];
  for (size_t i0 = 0; i0 < n; i0 += G_N_ELEMENTS (t))
    {
      size_t m = MIN (n - i0, G_N_ELEMENTS (t));
      float *xi = x + i0;
      for (size_t i = 0; i < m; i++)
        t[i] = -1.702f * xi[i];
      dream_exp_array (t, m);
      for (size_t i = 0; i < m; i++)
        xi[i] = xi[i] / (1.0f + t[i]);
    }
}

void
dream_nn_activate (dream_nn_act act, float *x, size_t n)
{
  switch (act)
    {
    case DREAM_NN_ACT_GELU:
      dream_gelu (x, n);
      break;
    case DREAM_NN_ACT_QUICK_GELU:
      dream_quick_gelu (x, n);
      break;
    case DREAM_NN_ACT_NONE:
    default:
      break;
    }
}

void
dream_softmax (float *x, int n)
{
  float max = -INFINITY;
  for (int i = 0; i < n; i++)
    max = fmaxf (max, x[i]);
  if (max == -INFINITY)
    {
      memset (x, 0, sizeof (float) * n);
      return;
    }
  float sum = 0.0f;
  for (int i = 0; i < n; i++)
    {
      /* -inf − max is -inf: clamped in dream_expf to a tiny value, so
       * masked positions are zeroed explicitly. */
      float e = x[i] == -INFINITY ? 0.0f : dream_expf (x[i] - max);
      x[i] = e;
      sum += e;
    }
  float inv = 1.0f / sum;
  for (int i = 0; i < n; i++)
    x[i] *= inv;
}

/* ---- linear ------------------------------------------------------------ */

enum { LINEAR_MIN_ROWS = 128, LINEAR_MAX_ROWS = 1024, LINEAR_MIN_COLS = 64 };

typedef struct {
  const dream_linear_w *l;
  const float *x;
  int n, ldx;
  float *y;
  int ldy;
  dream_nn_act act;
  gboolean accumulate;
  int row_block, n_row_blocks, col_block;
} linear_job;

static void
linear_task (void *ctx, int task, int thread)
{
  (void) thread;
  const linear_job *j = ctx;
  const dream_linear_w *l = j->l;
  int r0 = (task % j->n_row_blocks) * j->row_block;
  int c0 = (task / j->n_row_blocks) * j->col_block;
  int rows = MIN (j->row_block, j->n - r0);
  int cols = MIN (j->col_block, l->out - c0);
  float *y = j->y + (size_t) r0 * j->ldy + c0;

  dream_gemm_bt (rows, cols, l->in, 1.0f, j->x + (size_t) r0 * j->ldx, j->ldx,
                 l->w + (size_t) c0 * l->in, l->in,
                 j->accumulate ? 1.0f : 0.0f, y, j->ldy);
  for (int i = 0; i < rows; i++)
    {
      float *yi = y + (size_t) i * j->ldy;
      if (l->b)
        for (int c = 0; c < cols; c++)
          yi[c] += l->b[c0 + c];
      dream_nn_activate (j->act, yi, cols);
    }
}

void
dream_linear (const dream_linear_w *l, const float *x, int n, int ldx,
              float *y, int ldy, dream_nn_act act, gboolean accumulate,
              dream_pool *pool)
{
  g_return_if_fail (!accumulate || act == DREAM_NN_ACT_NONE);
  if (n <= 0 || l->out <= 0)
    return;
  int threads = pool ? dream_pool_n_threads (pool) : 1;
  /* Rows per GEMM: OpenBLAS packs the whole weight once per call, so
   * calls of many rows amortise it (128-row calls spent ~18% of a CLIP
   * text pass packing); but keep about four blocks per thread. */
  int row_block = (n + 4 * threads - 1) / (4 * threads);
  row_block = MIN (LINEAR_MAX_ROWS, MAX (LINEAR_MIN_ROWS, (row_block + 63) & ~63));
  int n_rb = (n + row_block - 1) / row_block;
  /* Split columns only when row blocks alone cannot keep every thread
   * busy (e.g. the 50 tokens of one ViT-B/32 image), in multiples of 16. */
  int n_cb = 1;
  if (n_rb < 4 * threads && threads > 1)
    n_cb = MAX (1, MIN ((4 * threads + n_rb - 1) / n_rb, l->out / LINEAR_MIN_COLS));
  int col_block = (l->out + n_cb - 1) / n_cb;
  col_block = MIN (l->out, (col_block + 15) & ~15);
  n_cb = (l->out + col_block - 1) / col_block;

  linear_job j = {
    .l = l, .x = x, .n = n, .ldx = ldx, .y = y, .ldy = ldy, .act = act,
    .accumulate = accumulate, .row_block = row_block, .n_row_blocks = n_rb,
    .col_block = col_block,
  };
  if (pool)
    dream_pool_run (pool, n_rb * n_cb, linear_task, &j);
  else
    for (int t = 0; t < n_rb * n_cb; t++)
      linear_task (&j, t, 0);
}

/* ---- layer norm -------------------------------------------------------- */

enum { LN_ROWS = 32 };

typedef struct {
  const float *x;
  int n, dim, ldx;
  const float *gamma, *beta;
  float eps;
  float *y;
  int ldy;
} ln_job;

static void
ln_task (void *ctx, int task, int thread)
{
  (void) thread;
  const ln_job *j = ctx;
  int r1 = MIN (j->n, (task + 1) * LN_ROWS);
  for (int r = task * LN_ROWS; r < r1; r++)
    {
      const float *x = j->x + (size_t) r * j->ldx;
      float *y = j->y + (size_t) r * j->ldy;
      double sum = 0.0;
      for (int i = 0; i < j->dim; i++)
        sum += x[i];
      double mean = sum / j->dim, var = 0.0;
      for (int i = 0; i < j->dim; i++)
        {
          double d = x[i] - mean;
          var += d * d;
        }
      float inv = (float) (1.0 / sqrt (var / j->dim + j->eps));
      float m = (float) mean;
      for (int i = 0; i < j->dim; i++)
        {
          float v = (x[i] - m) * inv;
          if (j->gamma)
            v *= j->gamma[i];
          if (j->beta)
            v += j->beta[i];
          y[i] = v;
        }
    }
}

void
dream_layer_norm (const float *x, int n, int dim, int ldx,
                  const float *gamma, const float *beta, float eps,
                  float *y, int ldy, dream_pool *pool)
{
  ln_job j = { x, n, dim, ldx, gamma, beta, eps, y, ldy };
  int n_tasks = (n + LN_ROWS - 1) / LN_ROWS;
  if (pool)
    dream_pool_run (pool, n_tasks, ln_task, &j);
  else
    for (int t = 0; t < n_tasks; t++)
      ln_task (&j, t, 0);
}
