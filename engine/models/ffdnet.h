/* ffdnet.h — FFDNet (Zhang, Zuo, Zhang, IEEE TIP 2018).
 *
 * The image (h, w, c) is split into its four 2×2 sub-images
 * (pixel_unshuffle: (h/2, w/2, 4c)), a constant noise map sigma/255 is
 * appended as one more channel, then L 3×3 convolutions (ReLU after all
 * but the last) give the four clean sub-images, shuffled back to
 * (h, w, c). File layout (tools/convert_ffdnet.py): layers.{i}.weight
 * (out, in, 3, 3) and layers.{i}.bias (out); metadata architecture=ffdnet,
 * image_channels, layers, features.
 */
#ifndef DREAM_FFDNET_H
#define DREAM_FFDNET_H

#include "core/core.h"
#include "io/model.h"
#include "ops/ops.h"

typedef struct {
  int channels;          /* image channels c: 3 or 1 */
  int n_layers;          /* L: 12 (colour) or 15 (grey) */
  int features;          /* hidden width: 96 or 64 */
  dream_conv *layers;    /* L convs; packed weights owned by the net */
  float *weights;        /* all packed weights and biases, one block */
} dream_ffdnet;

/* Builds the network from a validated file. NULL + DREAM_ERROR_MODEL if
 * tensors are missing or have the wrong shapes. */
dream_ffdnet *dream_ffdnet_load (const dream_st_file *file, GError **error);
void dream_ffdnet_free (void *net);

/* Work space for one forward pass on an h × w (even) tile. */
typedef struct {
  float *a, *b;          /* two (h/2 * w/2 * max_channels) ping-pong maps */
  float *scratch;        /* per-thread conv scratch */
  int max_h, max_w;
} dream_ffdnet_state;

gboolean dream_ffdnet_state_init (dream_ffdnet_state *s, const dream_ffdnet *net,
                                  int max_h, int max_w, int n_threads,
                                  GError **error);
void dream_ffdnet_state_clear (dream_ffdnet_state *s);

/* x (h, w, c) -> y (h, w, c); h and w even and within the state's size.
 * Reports one unit of progress per layer; FALSE + DREAM_ERROR_CANCELLED
 * when the user cancels. */
gboolean dream_ffdnet_forward (const dream_ffdnet *net, dream_ffdnet_state *s,
                               const float *x, int h, int w, float sigma01,
                               float *y, dream_pool *pool,
                               dream_progress *progress, double work_per_layer,
                               GError **error);

#endif /* DREAM_FFDNET_H */
