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

/* ---- act_extra.c ------------------------------------------------------- */

/* x = x >= 0 ? x : slope * x */
void dream_leaky_relu (float *x, size_t n, float slope);

/* x (n_pixels, channels): x = x >= 0 ? x : slopes[c] * x (PReLU). */
void dream_prelu (float *x, size_t n_pixels, int channels, const float *slopes);

/* ---- conv2d_ex.c: convolution on channel slices, fused epilogue -------- */

typedef enum {
  DREAM_POST_LINEAR,
  DREAM_POST_RELU,
  DREAM_POST_LEAKY,   /* slope * x below zero */
  DREAM_POST_PRELU,   /* slopes[c] * x below zero */
} dream_post_act;

/* What happens to each output value after the GEMM:
 *   v = act(conv + b);  if residual: v = v * res_scale + residual */
typedef struct {
  dream_post_act act;
  float slope;              /* DREAM_POST_LEAKY */
  const float *slopes;      /* DREAM_POST_PRELU: (out_ch) */
  const float *residual;    /* NULL or (h, w) pixels, res_stride floats apart */
  int res_stride;
  float res_scale;          /* used only with a residual */
} dream_conv_post;

/* Packs PyTorch-layout weights (out_ch, in_ch, k, k) for dream_conv2d_ex:
 * (k, in_ch, k, out_ch) row-major, i.e. row ky*in_ch + ic holds the k taps
 * of that kernel row side by side (the same as dream_conv_pack_oihw for
 * k = 1, not for k > 1). */
void dream_conv_ex_pack_oihw (const float *oihw, int out_ch, int in_ch, int k,
                              float *dst);

/* Scratch floats per pool thread that dream_conv2d_ex needs for this conv. */
size_t dream_conv2d_ex_scratch_size (const dream_conv *conv);

/* y = post(conv(x)) over an h × w image. Input pixel p is the first in_ch
 * floats at x + p * x_stride; output pixel p is out_ch floats at
 * y + p * y_stride (other channels of y are left alone). x and y may be
 * slices of one buffer when the channels read and written are disjoint.
 * post may be NULL (bias only). k may be any odd size; conv->w packed by
 * dream_conv_ex_pack_oihw. */
void dream_conv2d_ex (const dream_conv *conv, const dream_conv_post *post,
                      const float *x, int x_stride, int h, int w,
                      float *y, int y_stride, dream_pool *pool, float *scratch);

/* ---- resample.c -------------------------------------------------------- */

/* (h, w, c*r*r) -> (h*r, w*r, c); input channel ch*r*r + dy*r + dx goes to
 * offset (dy, dx) of channel ch (PyTorch's pixel_shuffle order). */
void dream_pixel_shuffle (const float *x, int h, int w, int c, int r, float *y);

/* (h, w, c) -> (h/r, w/r, c*r*r), the inverse; h and w multiples of r. */
void dream_pixel_unshuffle (const float *x, int h, int w, int c, int r, float *y);

/* y (h*r, w*r, c) += x (h, w, c) upsampled by nearest neighbour. */
void dream_add_nearest_up (float *y, const float *x, int h, int w, int c, int r);

typedef enum {
  DREAM_FILTER_BILINEAR,
  DREAM_FILTER_BICUBIC,    /* Keys cubic, a = -0.5 */
  DREAM_FILTER_LANCZOS3,
} dream_filter;

double dream_filter_radius (dream_filter filter);
double dream_filter_eval (dream_filter filter, double x);

/* Taps for resampling one axis of src_len samples to dst_len samples
 * (centres aligned, filter stretched when shrinking, edges replicated).
 * Output i reads count[i] consecutive source samples from first[i] with
 * weights[i * n_taps + t] (summing to 1). */
typedef struct {
  int src_len, dst_len;
  int n_taps;       /* row length of weights (>= every count) */
  int *first;       /* (dst_len) */
  int *count;       /* (dst_len) */
  float *weights;   /* (dst_len, n_taps) */
} dream_resampler;

gboolean dream_resampler_init (dream_resampler *r, dream_filter filter,
                               int src_len, int dst_len, GError **error);
void dream_resampler_clear (dream_resampler *r);

/* Source range [*s0, *s1) read by outputs [d0, d0 + n). */
void dream_resampler_span (const dream_resampler *r, int d0, int n,
                           int *s0, int *s1);

/* Scratch floats dream_resample_2d needs for these output rows. */
size_t dream_resample_2d_scratch_size (const dream_resampler *ry, int dst_y0,
                                       int dst_h, int dst_w, int c);

/* Resamples the output rectangle (dst_x0, dst_y0, dst_w, dst_h) of the
 * whole resized image into dst (dst_h, dst_w, c). src is a window of the
 * whole source image: its pixel (0, 0) is source (src_x0, src_y0), rows
 * are src_w pixels long, and it must hold every source pixel those
 * outputs read (dream_resampler_span). */
void dream_resample_2d (const dream_resampler *rx, const dream_resampler *ry,
                        const float *src, int src_x0, int src_y0, int src_w, int c,
                        int dst_x0, int dst_y0, int dst_w, int dst_h,
                        float *dst, float *scratch);

#endif /* DREAM_OPS_H */
