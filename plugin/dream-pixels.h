/* dream-pixels.h — the one pixel path shared by the GIMP 3 and GIMP 2.10
 * front ends. It speaks GEGL (which both GIMP versions hand to plug-ins)
 * and the engine; it knows nothing of PDB procedures, dialogs or layers.
 */
#ifndef DREAM_PIXELS_H
#define DREAM_PIXELS_H

#include <gegl.h>
#include "dream.h"

typedef struct {
  double sigma;                 /* 8-bit levels; negative = estimate */
  const char *model;            /* "color", "gray", or a path to a file */
  int n_threads;                /* 0 = all cores */
  dream_progress_func progress; /* may be NULL; FALSE cancels */
  gpointer progress_user;
} dream_pixels_denoise_args;

/* Denoises the region `roi` of `src`.
 *
 * src   the drawable's buffer, any babl format; read as R'G'B'A float (or
 *       Y'A float when `grey`), i.e. in the drawable's own perceptual
 *       encoding, the same values GIMP shows.
 * mask  the selection's buffer (values 0..1, image coordinates offset by
 *       the drawable's offsets: pass mask_dx, mask_dy = drawable offsets) or
 *       NULL for no selection.
 * roi   region of src to process (drawable coordinates), usually the
 *       selection bounds clipped to the drawable.
 *
 * Returns a new buffer with extent = roi, format R'G'B'A float (or Y'A
 * float), whose colour is the denoised colour and whose alpha is the
 * source alpha times the selection value, so that composited over the
 * source it blends with the selection's feather. NULL + GError on failure
 * or cancel; nothing is written anywhere. *sigma_used gets the sigma the
 * engine used (useful with estimate). */
GeglBuffer *dream_pixels_denoise (GeglBuffer *src,
                                  GeglBuffer *mask, int mask_dx, int mask_dy,
                                  const GeglRectangle *roi,
                                  gboolean grey,
                                  const dream_pixels_denoise_args *args,
                                  double *sigma_used,
                                  GError **error);

typedef struct {
  double scale;                 /* 1..8 */
  const char *model;            /* "photo", "anime", "fast", or a path */
  int n_threads;                /* 0 = all cores */
  dream_progress_func progress; /* may be NULL; FALSE cancels */
  gpointer progress_user;
} dream_pixels_upscale_args;

/* Upscales the whole of `src` (read as R'G'B'(A) float, or Y'(A) float
 * when `grey`, in its own colour space; alpha only when `alpha`) by
 * args->scale with the engine. Returns a new buffer of extent
 * 0, 0, dream_upscale_size (width, scale) × (height, scale), in that same
 * format. NULL + GError on failure or cancel (a bad model name or file
 * fails before any work). */
GeglBuffer *dream_pixels_upscale (GeglBuffer *src,
                                  gboolean grey,
                                  gboolean alpha,
                                  const dream_pixels_upscale_args *args,
                                  GError **error);

/* ---- progress for other pixel files (dream-fill-pixels.c, …) ----------- */

/* The progress path every engine call of the plug-in goes through: the
 * caller's callback plus the DREAM_TEST_CANCEL_AT test hook (see
 * dream-pixels.c). Give dream_pixels_progress_cb as the engine's
 * progress function and the state as its user data. */
typedef struct dream_pixels_progress dream_pixels_progress;

dream_pixels_progress *dream_pixels_progress_new (dream_progress_func progress,
                                                  gpointer progress_user);
gboolean dream_pixels_progress_cb (gpointer state, double fraction);
/* Reports the end if the engine did not; FALSE + DREAM_ERROR_CANCELLED
 * when that is cancelled. */
gboolean dream_pixels_progress_finish (dream_pixels_progress *state, GError **error);
void dream_pixels_progress_free (dream_pixels_progress *state);

/* The fraction DREAM_TEST_CANCEL_AT asks a run to cancel at (the test
 * hook, see dream-pixels.c); 2 (never) when it is unset or not a number. */
double dream_pixels_test_cancel_at (void);

#endif
