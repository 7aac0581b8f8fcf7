/* srvgg.h — SRVGGNetCompact (Real-ESRGAN general v3, animevideo v3).
 *
 * A plain stack at input resolution: conv 3→F + PReLU, num_conv × (conv
 * F→F + PReLU), conv F→3s², then pixel_shuffle(s), plus the input
 * upsampled by nearest neighbour (the network learns a residual over it).
 * File layout (tools/convert_realesrgan_ncnn.py, the original checkpoint
 * names): body.{2i}.weight (out, in, 3, 3) and body.{2i}.bias for the
 * convs, body.{2i+1}.weight (F) for the PReLU slopes; metadata
 * architecture=srvgg.
 */
#ifndef DREAM_SRVGG_H
#define DREAM_SRVGG_H

#include "models/sr.h"
#include "ops/ops.h"

typedef struct {
  int num_conv;          /* body convs between first and last: 32 or 16 */
  int features;          /* F: 64 */
  int scale;             /* s: 4 */
  dream_conv *convs;     /* num_conv + 2; packed weights in `weights` */
  float *slopes;         /* (num_conv + 1, F) PReLU slopes */
  float *weights;        /* all packed weights, biases and slopes */
} dream_srvgg;

dream_srvgg *dream_srvgg_load (const dream_st_file *file, GError **error);
void dream_srvgg_free (void *net);

#endif /* DREAM_SRVGG_H */
