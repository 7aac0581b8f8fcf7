/* unet_ops.h — engine-internal ops of the Stable Diffusion UNet and VAE
 * that the generic ops (ops.h, nn.h) do not have.
 *
 * Feature maps are HWC, one image at a time: x[(y * w + xx) * c + ch];
 * token sequences are row-major (n, dim). Every op has a naive reference
 * in tests/test_unet.c.
 */
#ifndef DREAM_UNET_OPS_H
#define DREAM_UNET_OPS_H

#include "core/core.h"
#include "io/safetensors.h"
#include "ops/nn.h"
#include "ops/ops.h"

/* A weight and its bias as stored in the file: pointers into the mapping,
 * any float dtype; b may be NULL. */
typedef struct {
  const dream_st_tensor *w;
  const dream_st_tensor *b;
} dream_wb;

/* A bump allocator over one block of floats, sized up front by a dry run:
 * with base NULL it only counts (take returns NULL), so running a network
 * once with base NULL gives the exact size its temporaries need. Every
 * block is a multiple of 16 floats. */
typedef struct {
  float *base;
  size_t cap;     /* floats */
  size_t used;
  size_t peak;
} dream_arena;

float *dream_arena_take (dream_arena *a, size_t n);
/* The mark to release to: everything taken after it is given back. */
static inline size_t dream_arena_mark (const dream_arena *a) { return a->used; }
static inline void dream_arena_release (dream_arena *a, size_t mark) { a->used = mark; }

/* ---- norm.c -------------------------------------------------------------- */

/* GroupNorm over one (n_px, c) map: channels split into `groups` equal
 * groups, each normalised over all its pixels and channels with the
 * biased variance, then y = (x − μ)/√(σ² + eps) · gamma[ch] + beta[ch]
 * and, if silu, y = y · sigmoid(y). Statistics accumulate in double.
 * y may equal x. c must be a multiple of groups. */
void dream_group_norm (const float *x, int n_px, int c, int groups,
                       const float *gamma, const float *beta, float eps,
                       gboolean silu, float *y, dream_pool *pool);

/* ---- unet_ops.c ---------------------------------------------------------- */

/* x ← x · sigmoid(x) */
void dream_silu (float *x, size_t n);

/* GEGLU: h (n, 2f) = [a | g] → y (n, f) = a · gelu(g), exact (erf) GELU
 * (dream_gelu of nn.h, which overwrites the g half of h). y may not
 * overlap h. */
void dream_geglu (float *h, int n, int f, float *y, dream_pool *pool);

/* Channel concatenation: a (n, ca), b (n, cb) → y (n, ca + cb). */
void dream_concat_channels (const float *a, int ca, const float *b, int cb,
                            size_t n, float *y);

/* Sinusoidal timestep embedding of the LDM UNet: half = dim / 2,
 * f_i = exp(−ln(10000) · i / half), out = [cos(t f_0..), sin(t f_0..)]
 * (cos first), computed in float32 the way PyTorch does. dim even. */
void dream_timestep_embedding (float t, int dim, float *out);

/* A k×k convolution on HWC maps with the weight in (out, k, k, in) order
 * ("OHWI": PyTorch's (out, in, k, k) with the input channels moved last,
 * see dream_weight_widen_ohwi) so that each tap's input channels are one
 * run of floats both in the map and in the weight. Pixels are cut into
 * chunks; per chunk a pool thread gathers the neighbourhoods in
 * (ky, kx, in) order with one memcpy per tap (an im2col of that chunk
 * only, in its own scratch) and multiplies them by Wᵀ with one GEMM
 * straight into the output rows, then adds the bias. When there are fewer
 * chunks than threads the output channels are split too. Options:
 *   stride 1 or 2, pad = zero rows/columns added at the top and left (the
 *   bottom/right padding is what the output size implies: the UNet's
 *   Downsample is stride 2, pad 1, oh = ⌈h/2⌉; the VAE's is stride 2,
 *   pad 0, oh = h/2, one zero row/column at the bottom/right);
 *   upsample: x is read as its nearest-neighbour ×2 enlargement
 *   (Upsample's interpolate + conv without the enlarged map).
 * Stride-1 3×3 convolutions on wide maps skip the gather: nine GEMMs on
 * shifted views of a zero-padded band of input rows (see unet_ops.c).
 * y (batch, oh, ow, out) from x (batch, h, w, in); scratch holds
 * dream_pool_n_threads(pool) blocks of dream_conv_ohwi_scratch_size(). */
typedef struct {
  int in_ch, out_ch, k;  /* k odd */
  const float *w;     /* (out_ch, k, k, in_ch) */
  const float *b;     /* (out_ch) or NULL */
} dream_conv_ohwi;

size_t dream_conv_ohwi_scratch_size (const dream_conv_ohwi *conv, int stride, int oh, int ow);
void dream_conv_ohwi_run (const dream_conv_ohwi *conv, int stride, int pad, gboolean upsample,
                          const float *x, int batch, int h, int w, float *y, int oh, int ow,
                          dream_pool *pool, float *scratch);

/* y (n, out) = x (n, in) · Wᵀ + b, or y += x · Wᵀ + b with accumulate;
 * W (out, in) row-major as PyTorch stores it (dream_linear_w, nn.h).
 * Like dream_linear() but cut into a few tall GEMMs (256..4096 rows,
 * about two per thread; output columns split when rows are few), since
 * OpenBLAS repacks W on every call. x and y must not overlap. */
void dream_sd_linear_run (const dream_linear_w *l, const float *x, int n, int ldx, float *y,
                          int ldy, gboolean accumulate, dream_pool *pool);

/* ---- sd_attention.c --------------------------------------------------------- */

/* Multi-head attention as dream_attention() (nn.h, without the causal
 * mask), for long sequences: query blocks of up to 256 rows so each GEMM
 * amortises the repacking of k and v, and a vectorised softmax. scratch:
 * dream_pool_n_threads(pool) blocks of dream_sd_attention_scratch_size(). */
size_t dream_sd_attention_scratch_size (int n_q, int n_k);
void dream_sd_attention_run (const dream_attention_args *a, dream_pool *pool, float *scratch);

/* y (n, c) += b (c) broadcast over rows (a bias, or a ResBlock's
 * time embedding added to every pixel). */
void dream_add_bias_rows (float *y, size_t n, int c, const float *b);

/* y (n) += x (n) */
void dream_add (float *y, const float *x, size_t n);

/* ---- weights: widened per layer ------------------------------------------ */

/* A floating tensor as float32, like dream_weight_f32() (nn.h): a pointer
 * into the mapping for aligned F32, else widened into buf (t->n_elements
 * floats) — F16 with the CPU's F16C conversion when it has one, split
 * over the pool. NULL + DREAM_ERROR_MODEL for non-floating tensors. */
const float *dream_weight_widen (const dream_st_tensor *t, float *buf, dream_pool *pool,
                                 GError **error);

/* A conv weight (out, in, k, k) of any float dtype as float32 in
 * (out, k, k, in) order for dream_conv_ohwi: widened and permuted into
 * buf (t->n_elements floats), split over the pool; a 1×1 weight is the
 * same in both orders and comes back as dream_weight_widen() gives it. */
const float *dream_weight_widen_ohwi (const dream_st_tensor *t, float *buf, dream_pool *pool,
                                      GError **error);

#endif /* DREAM_UNET_OPS_H */
