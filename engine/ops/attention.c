/* attention.c — multi-head scaled dot-product attention, sliced over
 * queries (see nn.h for the contract).
 *
 * One pool task = one (sequence b, head h, block of R query rows):
 *
 *   s (R, m)  = scale · q_h[rows] (R, d) · k_h[:m]ᵀ (d, m)     GEMM (B transposed)
 *   s         = exp (s − rowmax)   (causal: entries past the diagonal = 0)
 *   out_h[rows] (R, d) = s (R, m) · v_h[:m] (m, d)            GEMM
 *   out_h[rows] /= rowsum
 *
 * m = n_k, or with the causal mask only the keys the block's last row can
 * see. s lives in the thread's scratch; normalising the R·d outputs
 * instead of the R·m probabilities saves a pass over s.
 */
#include "ops/nn.h"

#include <math.h>

enum { ATTN_TARGET = 262144, ATTN_MIN_ROWS = 16, ATTN_MAX_ROWS = 256 };

static int
block_rows (int n_q, int n_k)
{
  int r = CLAMP (ATTN_TARGET / MAX (n_k, 1), ATTN_MIN_ROWS, ATTN_MAX_ROWS);
  return MAX (1, MIN (r, n_q));
}

size_t
dream_attention_scratch_size (int n_q, int n_k)
{
  return (size_t) block_rows (n_q, n_k) * MAX (n_k, 1);
}

typedef struct {
  const dream_attention_args *a;
  float scale;
  int rows;          /* query rows per block */
  int n_blocks;      /* blocks per (sequence, head) */
  float *scratch;
  size_t scratch_size;
} attn_job;

/* x[0..n) = exp (x − max x); returns their sum. The max with eight
 * partial maxima (independent chains), the exponentials vectorised
 * (dream_exp_array), the sum with eight partial sums. */
static float
exp_row (float *x, int n)
{
  float mx[8], sm[8];
  for (int j = 0; j < 8; j++)
    {
      mx[j] = -INFINITY;
      sm[j] = 0.0f;
    }
  int c = 0;
  for (; c + 8 <= n; c += 8)
    for (int j = 0; j < 8; j++)
      mx[j] = x[c + j] > mx[j] ? x[c + j] : mx[j];
  for (; c < n; c++)
    mx[0] = x[c] > mx[0] ? x[c] : mx[0];
  float max = mx[0];
  for (int j = 1; j < 8; j++)
    max = mx[j] > max ? mx[j] : max;
  for (c = 0; c < n; c++)
    x[c] -= max;
  dream_exp_array (x, n);
  for (c = 0; c + 8 <= n; c += 8)
    for (int j = 0; j < 8; j++)
      sm[j] += x[c + j];
  for (; c < n; c++)
    sm[0] += x[c];
  return ((sm[0] + sm[1]) + (sm[2] + sm[3])) + ((sm[4] + sm[5]) + (sm[6] + sm[7]));
}

static void
attn_task (void *ctx, int task, int thread)
{
  const attn_job *j = ctx;
  const dream_attention_args *a = j->a;
  int blk = task % j->n_blocks;
  int h = (task / j->n_blocks) % a->heads;
  int b = task / (j->n_blocks * a->heads);
  int q0 = blk * j->rows;
  int rows = MIN (j->rows, a->n_q - q0);
  int offset = a->n_k - a->n_q;     /* causal: row i sees keys <= i + offset */
  int m = a->n_k;
  if (a->causal)
    m = CLAMP (q0 + rows - 1 + offset + 1, 0, a->n_k);

  const float *q = a->q + ((size_t) b * a->n_q + q0) * a->ldq + (size_t) h * a->d;
  const float *k = a->k + (size_t) b * a->n_k * a->ldk + (size_t) h * a->d;
  const float *v = a->v + (size_t) b * a->n_k * a->ldv + (size_t) h * a->d;
  float *out = a->out + ((size_t) b * a->n_q + q0) * a->ldo + (size_t) h * a->d;
  float *s = j->scratch + (size_t) thread * j->scratch_size;

  if (m > 0)
    dream_gemm_bt (rows, m, a->d, j->scale, q, a->ldq, k, a->ldk, 0.0f, s, m);

  float inv_sum[ATTN_MAX_ROWS];
  for (int i = 0; i < rows; i++)
    {
      float *si = s + (size_t) i * m;
      int seen = a->causal ? CLAMP (q0 + i + offset + 1, 0, m) : m;
      float sum = exp_row (si, seen);
      for (int c = seen; c < m; c++)
        si[c] = 0.0f;
      inv_sum[i] = sum > 0.0f ? 1.0f / sum : 0.0f;
    }

  if (m > 0)
    dream_gemm (rows, a->d, m, 1.0f, s, m, v, a->ldv, 0.0f, out, a->ldo);
  for (int i = 0; i < rows; i++)
    {
      float *o = out + (size_t) i * a->ldo;
      for (int c = 0; c < a->d; c++)
        o[c] = m > 0 ? o[c] * inv_sum[i] : 0.0f;
    }
}

void
dream_attention (const dream_attention_args *a, dream_pool *pool,
                 float *scratch)
{
  if (a->batch <= 0 || a->n_q <= 0 || a->heads <= 0 || a->d <= 0)
    return;
  attn_job j = {
    .a = a,
    .scale = a->scale != 0.0f ? a->scale : 1.0f / sqrtf ((float) a->d),
    .rows = block_rows (a->n_q, a->n_k),
    .scratch = scratch,
    .scratch_size = dream_attention_scratch_size (a->n_q, a->n_k),
  };
  j.n_blocks = (a->n_q + j.rows - 1) / j.rows;
  int n_tasks = a->batch * a->heads * j.n_blocks;
  if (pool)
    dream_pool_run (pool, n_tasks, attn_task, &j);
  else
    for (int t = 0; t < n_tasks; t++)
      attn_task (&j, t, 0);
}
