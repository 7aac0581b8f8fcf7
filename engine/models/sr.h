/* sr.h — what the upscale task needs from a super-resolution network.
 *
 * Each network file (srvgg.c, rdn.c, rrdb.c) fills one dream_sr_class:
 * constant data and functions, no state. The task (tasks/upscale.c) finds
 * the class by the model's architecture name and drives every network the
 * same way: plan tiles with the class's alignment and receptive radius,
 * make one run state sized for the largest tile, and run forward on each
 * tile. Images are (h, w, 3) floats, 0..1, in and out; a network that
 * works on another range (RDN: 0..255) folds the scaling into its weights.
 */
#ifndef DREAM_SR_H
#define DREAM_SR_H

#include "core/core.h"
#include "io/model.h"
#include "ops/ops.h"

typedef struct {
  int scale;        /* native factor: output is (h*scale, w*scale) */
  int align;        /* tile sizes and origins must be multiples of this */
  int radius;       /* receptive radius in input pixels */
  int n_steps;      /* progress steps one forward reports */
} dream_sr_info;

typedef struct {
  const char *arch;     /* "srvgg", "rdn", "rrdb" */
  void *(*load) (const dream_st_file *file, GError **error);
  void (*free) (void *net);
  void (*info) (const void *net, dream_sr_info *info);
  /* Bytes a run state for max_h × max_w input tiles holds (for sizing). */
  size_t (*state_bytes) (const void *net, int max_h, int max_w, int n_threads);
  void *(*state_new) (const void *net, int max_h, int max_w, int n_threads,
                      GError **error);
  void (*state_free) (void *state);
  /* x (h, w, 3) -> y (h*scale, w*scale, 3); h, w multiples of align and
   * within the state's size. Reports n_steps steps of work / n_steps each;
   * FALSE + DREAM_ERROR_CANCELLED when the user cancels. */
  gboolean (*forward) (const void *net, void *state, const float *x, int h,
                       int w, float *y, dream_pool *pool,
                       dream_progress *progress, double work, GError **error);
} dream_sr_class;

extern const dream_sr_class dream_srvgg_class;
extern const dream_sr_class dream_rdn_class;
extern const dream_sr_class dream_rrdb_class;

/* The class for an architecture name, or NULL. */
const dream_sr_class *dream_sr_class_find (const char *arch);

/* Loads a conv from the file: weight (out, in, k, k) OIHW, bias (out),
 * checked shapes, packed into dst (k*k*in*out floats, then out biases).
 * Returns the floats used, 0 + DREAM_ERROR_MODEL on a bad tensor. */
size_t dream_sr_load_conv (const dream_st_file *file, const char *prefix,
                           int out_ch, int in_ch, int k, float *dst,
                           float *tmp, dream_conv *conv, GError **error);

/* A conv on the nearest-upsampled (×r) input, folded into a conv on the
 * input itself: the k=3 kernel w (out, in, 3, 3) OIHW with bias b becomes
 * a 3×3 kernel (out*r*r, in, 3, 3) OIHW, output channel o*r*r + dy*r + dx
 * giving output pixel (r*y + dy, r*x + dx): conv(up(x)) =
 * pixel_shuffle(folded(x), r), exactly, zero padding included. The same
 * number of multiplies, no upsampled map. dst_w has out*r*r*in*9 floats,
 * dst_b out*r*r. */
void dream_sr_fold_upsample (const float *w, const float *b, int out_ch,
                             int in_ch, int r, float *dst_w, float *dst_b);

#endif /* DREAM_SR_H */
