/* rdn.h — RDN (Zhang et al., CVPR 2018) in the idealo-ISR layout that
 * UpscalerJS "esrgan-slim" ships (×2, ×3, ×4, ×8).
 *
 *   F_m1 conv 3×3 3→G0; F_0 conv 3×3 G0→G0;
 *   D residual dense blocks: C × (conv 3×3 → G, ReLU, concatenated),
 *     LFF_d conv 1×1 → G0, plus the block input;
 *   GFF_1 conv 1×1 over all D block outputs, GFF_2 conv 3×3, plus F_m1;
 *   UPN1 conv 5×5 → 64 ReLU, UPN2 conv 3×3 → 32 ReLU, UPN3 conv 3×3 → 3s²;
 *   nearest ×s upsampling; SR conv 3×3 → 3.
 *
 * File layout (tools/convert_esrgan_slim.py, the Keras names): NAME/kernel
 * (k, k, in, out), repacked at load, and NAME/bias;
 * metadata architecture=rdn. The original works on 0..255: the ×255 of
 * the input is folded into F_m1 and the /255 of the output into SR at
 * load, and SR after the upsampling is folded into a 3×3 conv 3s²→3s² at
 * input resolution followed by pixel_shuffle(s) (models/sr.h).
 */
#ifndef DREAM_RDN_H
#define DREAM_RDN_H

#include "models/sr.h"
#include "ops/ops.h"

typedef struct {
  int C, D, G, G0;       /* convs per block, blocks, growth, features */
  int scale;             /* s */
  dream_conv f_m1, f_0;
  dream_conv *dense;     /* (D, C): F_{d}_{c} */
  dream_conv *lff;       /* (D) */
  dream_conv gff1, gff2, upn1, upn2, upn3;
  dream_conv sr;         /* folded: 3×3, 3s² → 3s² */
  float *weights;        /* every packed weight and bias */
} dream_rdn;

dream_rdn *dream_rdn_load (const dream_st_file *file, GError **error);
void dream_rdn_free (void *net);

#endif /* DREAM_RDN_H */
