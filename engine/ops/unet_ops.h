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

/* GEGLU: h (n, 2f) = [a | g] → y (n, f) = a · gelu(g), exact (erf) GELU.
 * y may not overlap h. */
void dream_geglu (const float *h, int n, int f, float *y, dream_pool *pool);

/* Nearest-neighbour ×2: x (h, w, c) → y (2h, 2w, c). */
void dream_upsample_nearest2 (const float *x, int h, int w, int c, float *y);

/* Channel concatenation: a (n, ca), b (n, cb) → y (n, ca + cb). */
void dream_concat_channels (const float *a, int ca, const float *b, int cb,
                            size_t n, float *y);

/* Sinusoidal timestep embedding of the LDM UNet: half = dim / 2,
 * f_i = exp(−ln(10000) · i / half), out = [cos(t f_0..), sin(t f_0..)]
 * (cos first), computed in float32 the way PyTorch does. dim even. */
void dream_timestep_embedding (float t, int dim, float *out);

/* A k×k convolution with stride and explicit zero padding on the top and
 * left (the bottom/right padding is whatever the output size implies):
 * y (oh, ow, out_ch)[oy, ox] = b + Σ w · x[oy·stride + ky − pad_top,
 * ox·stride + kx − pad_left]. Weights packed as for dream_conv2d.
 * The UNet's Downsample is stride 2, pad 1 (oh = ⌈h/2⌉); the VAE's is
 * stride 2, pad 0 with one extra zero row/column at the bottom/right
 * (oh = h/2). scratch: dream_pool_n_threads(pool) blocks of
 * dream_conv2d_strided_scratch_size() floats. */
size_t dream_conv2d_strided_scratch_size (const dream_conv *conv);
void dream_conv2d_strided (const dream_conv *conv, int stride,
                           int pad_top, int pad_left,
                           const float *x, int h, int w,
                           float *y, int oh, int ow,
                           dream_pool *pool, float *scratch);

/* y (n, c) += b (c) broadcast over rows (a bias, or a ResBlock's
 * time embedding added to every pixel). */
void dream_add_bias_rows (float *y, size_t n, int c, const float *b);

/* y (n) += x (n) */
void dream_add (float *y, const float *x, size_t n);

/* ---- weights: widened per layer ------------------------------------------ */

/* A torch conv weight (out, in, k, k) of any float dtype, widened to F32
 * and packed into dream_conv layout (k*k*in, out) in dst. tmp holds
 * out*in*k*k floats. (1×1 convs need no packing: their (out, in, 1, 1)
 * weight is a Linear weight, see nn.h.) FALSE + DREAM_ERROR_MODEL on a
 * non-float tensor. */
gboolean dream_weight_pack_conv (const dream_st_tensor *t, float *dst,
                                 float *tmp, GError **error);

#endif /* DREAM_UNET_OPS_H */
