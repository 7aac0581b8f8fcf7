/* ops.h — engine-internal tensor operations.
 *
 * Feature maps are single images in HWC layout: x[(y * w + xx) * c + ch].
 * Every op has a naive reference in tests/test_ops.c.
 */
#ifndef DREAM_OPS_H
#define DREAM_OPS_H

#include "core/core.h"

/* ---- gemm.c: the only caller of OpenBLAS ------------------------------- */

/* C(m,n) = alpha * A(m,k) · B(k,n) + beta * C, all row-major with leading
 * dimensions lda, ldb, ldc. Single-threaded: parallelism comes from the
 * pool, which calls this on disjoint blocks. */
void dream_gemm (int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);

/* C(m,n) = alpha * A(m,k) · B(n,k)ᵀ + beta * C (B stored (n, k) row-major
 * with leading dimension ldb, e.g. a PyTorch Linear weight). Same
 * threading rules as dream_gemm. */
void dream_gemm_bt (int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc);

/* Called once per public call: loads OpenBLAS (with a kernel that suits
 * this CPU) and keeps it on one thread, so that the pool's threads are the
 * only ones computing. Cheap after the first call. */
void dream_gemm_init (void);

/* The kernel family in use, e.g. "SkylakeX" (for benchmarks and logs). */
const char *dream_gemm_backend (void);

/* ---- conv2d.c ---------------------------------------------------------- */

/* A k×k convolution, stride 1, zero padding k/2, with weights packed for
 * the GEMM: w is (k*k*in_ch, out_ch) row-major, row index
 * (ky * k + kx) * in_ch + ic. */
typedef struct {
  int in_ch;
  int out_ch;
  int k;              /* 1 or 3 (odd) */
  const float *w;     /* (k*k*in_ch, out_ch) */
  const float *b;     /* (out_ch) or NULL */
} dream_conv;

/* Packs PyTorch-layout weights (out_ch, in_ch, k, k) into conv->w layout.
 * dst has k*k*in_ch*out_ch floats. */
void dream_conv_pack_oihw (const float *oihw, int out_ch, int in_ch, int k,
                           float *dst);

typedef enum {
  DREAM_ACT_NONE,
  DREAM_ACT_RELU,
} dream_act;

/* Scratch floats per pool thread that dream_conv2d needs for this conv. */
size_t dream_conv2d_scratch_size (const dream_conv *conv);

/* y (h, w, out_ch) = act(conv(x (h, w, in_ch)) + b). x and y must not
 * overlap. scratch holds dream_pool_n_threads(pool) blocks of
 * dream_conv2d_scratch_size() floats. */
void dream_conv2d (const dream_conv *conv, dream_act act,
                   const float *x, int h, int w, float *y,
                   dream_pool *pool, float *scratch);

/* ---- activations.c ----------------------------------------------------- */

void dream_relu (float *x, size_t n);

/* ---- shuffle.c --------------------------------------------------------- */

/* (h, w, c) -> (h/2, w/2, 4c) with out channel ch*4 + dy*2 + dx (PyTorch's
 * pixel_unshuffle order). h and w must be even. out_stride is the channel
 * count of the output pixel (>= 4c), so extra channels can follow. */
void dream_pixel_unshuffle2 (const float *x, int h, int w, int c,
                             float *y, int out_stride);

/* (h, w, 4c) -> (2h, 2w, c), the inverse of the above. */
void dream_pixel_shuffle2 (const float *x, int h, int w, int c, float *y);

#endif /* DREAM_OPS_H */
