/* rrdb.h — RRDBNet (ESRGAN, Real-ESRGAN x4plus and friends).
 *
 *   conv_first 3→nf (or 12 / 48 channels after pixel_unshuffle by 2 / 4:
 *     the ×2 and ×1 models)
 *   num_block residual-in-residual dense blocks, each three residual dense
 *     blocks: five 3×3 convs over the growing concatenation [x, x1..x4]
 *     (gc channels each, LeakyReLU 0.2 after the first four),
 *     x + 0.2 * conv5; the RRDB is x + 0.2 * rdb3(rdb2(rdb1(x)))
 *   conv_body, plus the conv_first output
 *   2 × (nearest ×2, conv, LeakyReLU 0.2), conv_hr + LeakyReLU, conv_last
 *
 * File layout (tools/convert_rrdb_pth.py, basicsr's names): conv_first,
 * body.{i}.rdb{1,2,3}.conv{1..5}, conv_body, conv_up1, conv_up2, conv_hr,
 * conv_last (.weight (out, in, 3, 3), .bias); metadata architecture=rrdb.
 * conv_up1/2 are folded at load with their nearest upsampling into 3×3
 * convs nf → 4nf plus pixel_shuffle(2) (models/sr.h); the tail at 2× and
 * 4× runs in row bands so its memory stays small.
 */
#ifndef DREAM_RRDB_H
#define DREAM_RRDB_H

#include "models/sr.h"
#include "ops/ops.h"

typedef struct {
  int num_block;         /* 23 (x4plus), 6 (anime_6B) */
  int nf, gc;            /* features 64, growth 32 */
  int unshuffle;         /* 1, 2 or 4: input pixel_unshuffle factor */
  int scale;             /* 4 / unshuffle */
  dream_conv first;
  dream_conv *rdb;       /* (num_block, 3, 5) */
  dream_conv body;
  dream_conv up1, up2;   /* folded: 3×3, nf → 4nf */
  dream_conv hr, last;
  float *weights;
} dream_rrdb;

dream_rrdb *dream_rrdb_load (const dream_st_file *file, GError **error);
void dream_rrdb_free (void *net);

#endif /* DREAM_RRDB_H */
