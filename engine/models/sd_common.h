/* sd_common.h — what the Stable Diffusion networks (UNet, VAE) share:
 * reading checkpoint tensors with shape checks, and running layers over a
 * batch with weights widened one layer at a time into work buffers that a
 * dry run sized.
 *
 * Loading: a dream_sd_loader walks tensor names under a prefix
 * ("model.diffusion_model.", "first_stage_model." or ""); every want()
 * checks dtype and exact shape and remembers the largest weight and
 * vector, so the work buffers can be sized. The first problem is kept as
 * the GError (DREAM_ERROR_MODEL naming the tensor); later calls do
 * nothing.
 *
 * Running: a network's forward is written once against dream_sd_run; the
 * same code runs twice — at state init with work->measuring set (it takes
 * buffers from the arena and notes scratch and map sizes, computes
 * nothing, touches no data), then for real with buffers allocated to
 * exactly those sizes. Buffers are named by id (0..2 the three feature
 * maps; networks add their own ids above DREAM_SD_MAPS), so the dry run
 * follows the same path without pointers.
 */
#ifndef DREAM_SD_COMMON_H
#define DREAM_SD_COMMON_H

#include "core/core.h"
#include "io/safetensors.h"
#include "ops/unet_ops.h"

/* ---- loading --------------------------------------------------------------- */

typedef struct {
  const dream_st_file *file;
  const char *prefix;
  GError **error;
  gboolean failed;
  size_t max_weight;   /* largest ≥2-D tensor, elements */
  size_t max_vec;      /* largest 1-D tensor, elements */
} dream_sd_loader;

#define DREAM_SD_SHAPE(...) ((const int64_t[]) { __VA_ARGS__ })

/* prefix + printf(fmt) */
const dream_st_tensor *dream_sd_find (const dream_sd_loader *L, const char *fmt, ...)
  G_GNUC_PRINTF (2, 3);
/* The tensor with exactly this shape, or NULL (L->failed, error set). */
const dream_st_tensor *dream_sd_want (dream_sd_loader *L, int n_dims, const int64_t *shape,
                                      const char *fmt, ...) G_GNUC_PRINTF (4, 5);
void dream_sd_fail (dream_sd_loader *L, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* First dimension of base+name, or -1 if absent or absurd. */
int dream_sd_dim0 (const dream_sd_loader *L, const char *base, const char *name);

/* base+name.weight (out, in, k, k) and .bias (out) */
void dream_sd_load_conv (dream_sd_loader *L, dream_wb *wb, const char *base,
                         const char *name, int out, int in, int k);
/* A Linear (out, in) or a 1×1 conv (out, in, 1, 1), whichever the file
 * has (conv1x1 says which to name when it has neither), [+ bias (out)]. */
void dream_sd_load_linear (dream_sd_loader *L, dream_wb *wb, const char *base,
                           const char *name, int out, int in, gboolean conv1x1,
                           gboolean bias);
/* base+name.weight and .bias, both (c) */
void dream_sd_load_norm (dream_sd_loader *L, dream_wb *wb, const char *base,
                         const char *name, int c);

/* Gives back the memory of the file's tensors whose names start with
 * prefix (e.g. the UNet's "model.diffusion_model." before the VAE runs):
 * their pages of the read-only mapping are dropped (madvise DONTNEED)
 * and come back from the page cache if touched again, so nothing breaks;
 * peak resident memory is what drops. Pages shared with other tensors
 * are dropped too and simply re-read. Only for files opened with
 * dream_st_open() (a read-only file mapping): on a dream_st_open_memory()
 * buffer the kernel would zero the pages instead. */
void dream_sd_release_tensors (const dream_st_file *file, const char *prefix);

/* ---- running --------------------------------------------------------------- */

enum { DREAM_SD_MAPS = 3 };

typedef struct {
  dream_arena arena;                 /* per-layer temporaries */
  float *maps[DREAM_SD_MAPS];        /* (map_floats) each */
  size_t map_floats;
  float *wbuf;                       /* (max_weight) a layer's weight, widened */
  float *bbuf;                       /* (2·max_vec) bias, or gamma and beta */
  size_t max_weight, max_vec;
  float *scratch;                    /* (n_threads, scratch_per_thread) */
  size_t scratch_per_thread;
  int n_threads;
  gboolean measuring;
} dream_sd_work;

typedef struct {
  dream_sd_work *work;
  dream_pool *pool;
  GError **error;
  int batch;                          /* images run together */
} dream_sd_run;

/* Allocates everything the dry run noted. */
gboolean dream_sd_work_alloc (dream_sd_work *w, const char *what, GError **error);
void dream_sd_work_clear (dream_sd_work *w);
size_t dream_sd_work_bytes (const dream_sd_work *w);

float *dream_sd_take (dream_sd_run *r, size_t floats);
/* Map id 0..2: its buffer (NULL in the dry run) */
float *dream_sd_map (dream_sd_run *r, int id);
/* The dry run notes that map `id` holds `floats`. */
void dream_sd_note_map (dream_sd_run *r, int id, size_t floats);
void dream_sd_note_scratch (dream_sd_run *r, size_t floats);
/* A map id that is neither a nor b (either may be any id). */
int dream_sd_free_map (int a, int b);

/* y (rows, out) [+]= x (rows, in) [row stride ldx] · Wᵀ + b: a Linear or
 * a 1×1 conv over pixels. */
gboolean dream_sd_linear (dream_sd_run *r, const dream_wb *wb, const float *x, int rows,
                          int ldx, float *y, gboolean accumulate);
/* Per image: y = conv k×k (x (h, w, in)), stride 1 pad k/2; or stride 2
 * with top/left padding pad (1: UNet, ⌈h/2⌉ out; 0: VAE, h/2 out); with
 * upsample, of x enlarged ×2 (nearest), y (2h, 2w, out). */
gboolean dream_sd_conv (dream_sd_run *r, const dream_wb *wb, const float *x, int h, int w,
                        float *y, int stride, int pad, gboolean upsample);
/* Per image: y = [SiLU] GroupNorm32 (x (n_px, c)); y may equal x. */
gboolean dream_sd_group_norm (dream_sd_run *r, const dream_wb *wb, const float *x, int n_px,
                              int c, float eps, gboolean silu, float *y);
/* Over all rows: y = LayerNorm (x (rows, dim)); y may equal x. */
gboolean dream_sd_layer_norm (dream_sd_run *r, const dream_wb *wb, const float *x, int rows,
                              int dim, float eps, float *y);
/* Per image: out (n_q, heads·d) = attention of q (n_q, ·) over k, v
 * (n_k, ·), all with row stride ld; scale 1/√d. */
gboolean dream_sd_attention (dream_sd_run *r, const float *q, const float *k, const float *v,
                             int n_q, int n_k, int heads, int d, int ld, float *out);
/* Progress step outside the dry run. */
gboolean dream_sd_step (dream_sd_run *r, dream_progress *progress, double work);

#endif /* DREAM_SD_COMMON_H */
