/* nn.h — engine-internal transformer ops: linear layers, layer norm, GELU,
 * softmax and multi-head attention, shared by the CLIP towers and the
 * Stable Diffusion UNet (spatial and cross attention).
 *
 * Token sequences are row-major (n, dim): x[i * ld + j], with a leading
 * dimension ld >= dim so that a column block of a wider buffer (e.g. the
 * q part of a fused (n, 3·dim) qkv buffer) can be used in place. Weights
 * are in PyTorch's layout, read straight from the safetensors mapping:
 * a Linear is W (out, in) + b (out), applied as y = x · Wᵀ + b.
 *
 * Every op here has a naive reference in tests/test_nn_ops.c.
 *
 * Threads: functions taking a dream_pool split their work into tasks on
 * it (and must not be called from inside a pool task); pool may be NULL
 * for a serial run. Each output element is computed by exactly one task,
 * so results are deterministic for a given thread count. Layer norm and
 * attention do not even depend on it (their blocks are fixed); a linear
 * layer's blocks follow the thread count, and OpenBLAS may then pick a
 * different kernel for a block, so its last bits can differ between
 * thread counts.
 */
#ifndef DREAM_NN_H
#define DREAM_NN_H

#include "core/core.h"
#include "io/safetensors.h"
#include "ops/ops.h"

/* ---- weights ----------------------------------------------------------- */

/* A floating tensor as float32: a pointer into the file's mapping when it
 * holds F32 at a 4-byte aligned address (no copy), otherwise the tensor
 * widened (F16, BF16, F64, or unaligned F32) into buf, which must hold
 * t->n_elements floats (buf may be NULL when dream_weight_needs_copy() is
 * FALSE). NULL + DREAM_ERROR_MODEL for non-floating tensors. */
gboolean dream_weight_needs_copy (const dream_st_tensor *t);
const float *dream_weight_f32 (const dream_st_tensor *t, float *buf,
                               GError **error);

/* Rows [row0, row0 + n_rows) of a 2-D floating tensor (r, c) as float32
 * into dst (n_rows * c floats), e.g. the token-embedding rows of a
 * prompt without widening the whole table. FALSE + DREAM_ERROR_MODEL if
 * out of range or not floating. */
gboolean dream_weight_rows_f32 (const dream_st_tensor *t, int64_t row0,
                                int64_t n_rows, float *dst, GError **error);

/* ---- linear ------------------------------------------------------------ */

typedef enum {
  DREAM_NN_ACT_NONE,
  DREAM_NN_ACT_GELU,        /* exact: 0.5 x (1 + erf(x / √2)) */
  DREAM_NN_ACT_QUICK_GELU,  /* x · sigmoid(1.702 x) (OpenAI CLIP) */
} dream_nn_act;

typedef struct {
  int in, out;
  const float *w;   /* (out, in) row-major, PyTorch nn.Linear layout */
  const float *b;   /* (out) or NULL */
} dream_linear_w;

/* y (n, out) [row stride ldy] = act (x (n, in) [row stride ldx] · Wᵀ + b),
 * or, with accumulate, y += x · Wᵀ + b (a residual connection; act must
 * then be NONE). The rows × columns of y are cut into blocks (128 to 1024
 * rows, about four per thread; columns split only when there are too few
 * row blocks to feed the threads) and each block is one single-threaded
 * GEMM on the pool, with the bias and activation applied while it is in
 * cache. x and y must not overlap. */
void dream_linear (const dream_linear_w *l, const float *x, int n, int ldx,
                   float *y, int ldy, dream_nn_act act, gboolean accumulate,
                   dream_pool *pool);

/* ---- normalisation and pointwise --------------------------------------- */

/* Per row i < n: y = (x − mean) / sqrt(var + eps) · gamma + beta over dim
 * values (biased variance, statistics in double). gamma/beta may be NULL
 * (1 and 0). y may equal x (same ld). */
void dream_layer_norm (const float *x, int n, int dim, int ldx,
                       const float *gamma, const float *beta, float eps,
                       float *y, int ldy, dream_pool *pool);

/* Exact GELU 0.5 x (1 + erf (x/√2)) (not the tanh approximation), to
 * float32 rounding (|error| < 3e-7, also in the negative tail), and
 * vectorised: see nn.c. */
void dream_gelu (float *x, size_t n);
void dream_quick_gelu (float *x, size_t n);  /* x · sigmoid(1.702 x) */
void dream_nn_activate (dream_nn_act act, float *x, size_t n);

/* In place over one row of n values: x = exp(x − max) / Σ exp(x − max).
 * -INFINITY entries give 0 (a masked position); an all -INFINITY row gives
 * all zeros. */
void dream_softmax (float *x, int n);

/* exp(x) in float32, relative error < 2e-7 on [-87, 88]: exp(x) =
 * 2^k · exp(r), k = round(x / ln 2), |r| <= ln2 / 2, exp(r) by its
 * Taylor series to degree 7, 2^k put straight into the exponent bits.
 * dream_expf_core needs x in [-87, 88] and is branch-free, so loops of it
 * vectorise; dream_expf clamps first (one value at a time). */
static inline float
dream_expf_core (float x)
{
  const float log2e = 1.44269504088896341f;
  const float ln2_hi = 0.693145751953125f;       /* exact in 16 bits */
  const float ln2_lo = 1.428606765330187e-06f;   /* ln 2 − ln2_hi */
  const float round_magic = 12582912.0f;         /* 1.5 · 2^23 */
  float kf = (x * log2e + round_magic) - round_magic;
  float r = (x - kf * ln2_hi) - kf * ln2_lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  union { gint32 i; float f; } scale = { .i = ((gint32) kf + 127) << 23 };
  return p * scale.f;
}

static inline float
dream_expf (float x)
{
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  return dream_expf_core (x);
}

/* x[i] = exp (x[i]) for n values, vectorised: a clamping pass then
 * dream_expf_core (-inf gives exp(-87) ≈ 1.6e-38, not 0). */
void dream_exp_array (float *x, size_t n);

/* ---- attention.c ------------------------------------------------------- */

/* Multi-head scaled dot-product attention for `batch` independent
 * sequences:
 *
 *   out_h = softmax (q_h k_hᵀ · scale [+ causal mask]) v_h,  h < heads
 *
 * where q_h is the column block [h·d, (h+1)·d) of q (likewise k, v, out).
 * Per sequence b: q (n_q, heads·d) at q + b·n_q·ldq, k and v (n_k, heads·d)
 * at k + b·n_k·ldk and v + b·n_k·ldv, out (n_q, heads·d) at
 * out + b·n_q·ldo. So a fused qkv buffer (n, 3·dim) is used as
 * q = qkv, k = qkv + dim, v = qkv + 2·dim with ldq = ldk = ldv = 3·dim.
 *
 * Causal: query i sees keys j <= i + (n_k − n_q) (the CLIP text mask when
 * n_q == n_k). scale 0 means 1/√d.
 *
 * The work is sliced over queries: each pool task takes one (sequence,
 * head, block of rows) and computes its scores block (rows × n_k) in the
 * calling thread's scratch with one GEMM, the softmax, and a second GEMM
 * straight into out. Nothing of size n_q × n_k is ever allocated, so
 * self-attention over 4096 tokens (a 64×64 latent) needs
 * dream_attention_scratch_size() = 64 × 4096 floats (1 MiB) per thread.
 * Rows per block: 262144 / n_k clamped to [16, 256] (and at most n_q):
 * blocks large enough that the GEMMs amortise packing k and v, small
 * enough to stay in cache. The exponentials are vectorised
 * (dream_exp_array); measured single-threaded on 4096 × 4096, 8 heads of
 * 40: 16-row blocks and a scalar exp took 4.5 s, this 1.0–1.3 s (on a
 * loaded machine).
 *
 * out must not overlap q, k or v. scratch holds dream_pool_n_threads(pool)
 * blocks (1 if pool is NULL) of dream_attention_scratch_size() floats. */
typedef struct {
  int batch;          /* independent sequences (>= 1) */
  int n_q, n_k;       /* query rows and key/value rows per sequence */
  int heads, d;       /* heads, and width of one head */
  gboolean causal;
  float scale;        /* 0 = 1/√d */
  const float *q; int ldq;
  const float *k; int ldk;
  const float *v; int ldv;
  float *out; int ldo;
} dream_attention_args;

size_t dream_attention_scratch_size (int n_q, int n_k);
void dream_attention (const dream_attention_args *a, dream_pool *pool,
                      float *scratch);

#endif /* DREAM_NN_H */
