/* sd_attention.c — attention over long sequences (the UNet's 4096-token
 * self-attention at 64×64, the VAE's mid-block attention), same contract
 * as dream_attention() in nn.h without the causal mask.
 *
 * One pool task = one (sequence, head, block of R query rows), with R
 * large (up to 256) so that each GEMM amortises OpenBLAS's repacking of
 * k and v (which it redoes on every call):
 *
 *   s (R, n_k) = scale · q_h[rows] k_hᵀ            GEMM, B transposed
 *   s = exp (s − rowmax), rowsum                   vectorised, below
 *   out_h[rows] (R, d) = s v_h / rowsum             GEMM
 *
 * The softmax pass is compiled for AVX-512, AVX2+FMA and the baseline,
 * picked at run time (GCC target_clones), with an exp that vectorises
 * (vexp.h).
 */
#include "ops/unet_ops.h"
#include "ops/vexp.h"

#include <math.h>
#include <string.h>

enum { ROWS_MAX = 256, ROWS_MIN = 16, TARGET_FLOATS = 1 << 20, LANES = 16 };

static int
block_rows (int n_q, int n_k)
{
  int r = CLAMP (TARGET_FLOATS / MAX (n_k, 1), ROWS_MIN, ROWS_MAX);
  return MAX (1, MIN (r, n_q));
}

size_t
dream_sd_attention_scratch_size (int n_q, int n_k)
{
  return (size_t) block_rows (n_q, n_k) * MAX (n_k, 1);
}

/* Each row of s (rows, n): s = exp(s − max), inv_sum[i] = 1 / Σ. */
__attribute__ ((target_clones ("avx512f", "avx2,fma", "default"))) static void
softmax_rows (float *s, int rows, int n, float *inv_sum)
{
  for (int i = 0; i < rows; i++)
    {
      float *si = s + (size_t) i * n;
      float mx[LANES], sm[LANES];
      for (int l = 0; l < LANES; l++)
        {
          mx[l] = -INFINITY;
          sm[l] = 0.0f;
        }
      int c = 0;
      for (; c + LANES <= n; c += LANES)
        for (int l = 0; l < LANES; l++)
          mx[l] = si[c + l] > mx[l] ? si[c + l] : mx[l];
      float m = -INFINITY;
      for (int l = 0; l < LANES; l++)
        m = mx[l] > m ? mx[l] : m;
      for (int t = c; t < n; t++)
        m = si[t] > m ? si[t] : m;

      for (c = 0; c + LANES <= n; c += LANES)
        for (int l = 0; l < LANES; l++)
          {
            float e = dream_vexp_neg (si[c + l] - m);
            si[c + l] = e;
            sm[l] += e;
          }
      float sum = 0.0f;
      for (int l = 0; l < LANES; l++)
        sum += sm[l];
      for (int t = c; t < n; t++)
        {
          float e = dream_vexp_neg (si[t] - m);
          si[t] = e;
          sum += e;
        }
      inv_sum[i] = sum > 0.0f ? 1.0f / sum : 0.0f;
    }
}

typedef struct {
  const dream_attention_args *a;
  float scale;
  int rows, n_blocks;
  float *scratch;
  size_t scratch_size;
} attn_job;

static void
attn_task (void *ctx, int task, int thread)
{
  const attn_job *j = ctx;
  const dream_attention_args *a = j->a;
  const int blk = task % j->n_blocks, h = (task / j->n_blocks) % a->heads;
  const int b = task / (j->n_blocks * a->heads);
  const int q0 = blk * j->rows, rows = MIN (j->rows, a->n_q - q0), m = a->n_k;
  const float *q = a->q + ((size_t) b * a->n_q + q0) * a->ldq + (size_t) h * a->d;
  const float *k = a->k + (size_t) b * a->n_k * a->ldk + (size_t) h * a->d;
  const float *v = a->v + (size_t) b * a->n_k * a->ldv + (size_t) h * a->d;
  float *out = a->out + ((size_t) b * a->n_q + q0) * a->ldo + (size_t) h * a->d;
  float *s = j->scratch + (size_t) thread * j->scratch_size;
  float inv_sum[ROWS_MAX];

  dream_gemm_bt (rows, m, a->d, j->scale, q, a->ldq, k, a->ldk, 0.0f, s, m);
  softmax_rows (s, rows, m, inv_sum);
  dream_gemm (rows, a->d, m, 1.0f, s, m, v, a->ldv, 0.0f, out, a->ldo);
  for (int i = 0; i < rows; i++)
    {
      float *o = out + (size_t) i * a->ldo;
      for (int c = 0; c < a->d; c++)
        o[c] *= inv_sum[i];
    }
}

void
dream_sd_attention_run (const dream_attention_args *a, dream_pool *pool, float *scratch)
{
  if (a->batch <= 0 || a->n_q <= 0 || a->n_k <= 0 || a->heads <= 0 || a->d <= 0)
    return;
  attn_job j = {
    .a = a,
    .scale = a->scale != 0.0f ? a->scale : 1.0f / sqrtf ((float) a->d),
    .rows = block_rows (a->n_q, a->n_k),
    .scratch = scratch,
    .scratch_size = dream_sd_attention_scratch_size (a->n_q, a->n_k),
  };
  j.n_blocks = (a->n_q + j.rows - 1) / j.rows;
  dream_pool_run (pool, a->batch * a->heads * j.n_blocks, attn_task, &j);
}
