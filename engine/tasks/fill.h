/* fill.h — internals of the content-aware fill shared with tests and the
 * benchmark. The public calls (dream_fill, dream_canvas_extend) are in
 * dream.h. */
#ifndef DREAM_TASKS_FILL_H
#define DREAM_TASKS_FILL_H

#include "core/core.h"

/* The smooth fill: pixels with mask > 0 are replaced by the harmonic
 * interpolation of the known pixels around them (Laplace's equation with
 * the known pixels as boundary values, zero normal derivative at the image
 * edges), solved coarse to fine on a pyramid with red-black SOR. The
 * result is blended like dream_fill(): out = m·smooth + (1 − m)·image.
 * `iters` SOR sweeps per pyramid level (0 = 200). Same arguments and
 * errors as dream_fill(), whose coarsest level starts from it. */
gboolean dream_fill_smooth (const dream_image *image, const dream_image *mask,
                            dream_image *out, int iters, GError **error);

#endif /* DREAM_TASKS_FILL_H */
