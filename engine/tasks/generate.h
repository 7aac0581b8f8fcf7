/* generate.h — engine-internal parts of the Stable Diffusion pipeline
 * (generate.c) that tests reach. */
#ifndef DREAM_GENERATE_H
#define DREAM_GENERATE_H

#include <glib.h>

/* z (n) = deviates 0..n−1 of `stream` for `seed`: Philox4x32-10 +
 * Box–Muller as documented at the top of generate.c (stream 0: x_T in
 * (4, h, w) order; stream 1 + i: the noise of sampler step i). */
void dream_sd_gauss (guint64 seed, guint32 stream, float *z, size_t n);

#endif /* DREAM_GENERATE_H */
