/* dream-clip-pixels.h — Score Captions and Describe Layer, the part shared
 * by the GIMP 3 and GIMP 2.10 front ends (GEGL and libdream only, like
 * dream-pixels.h; no libgimp).
 *
 * What CLIP sees: the region `roi` of the layer (the selection's bounding
 * box clipped to the layer, or the whole layer), its colour only:
 *   - read as R'G'B' float in the layer's own encoding (the values GIMP
 *     shows); a grey layer is read as R' = G' = B' = Y' (replicated);
 *   - the layer's alpha is ignored (transparent pixels count with the
 *     colour they store), and the selection's shape and feather are
 *     ignored: only its bounding box matters;
 *   - CLIP then resizes the shortest side to its input and keeps the
 *     centre square (dream_clip_encode_image).
 * Nothing here writes to any buffer: these procedures never change the
 * image.
 */
#ifndef DREAM_CLIP_PIXELS_H
#define DREAM_CLIP_PIXELS_H

#include <gegl.h>
#include "dream.h"

/* Captions from a text: one a line, surrounding blanks stripped, empty
 * lines skipped. NULL-terminated, g_strfreev(); NULL + error if none. */
char **dream_clip_pixels_split_captions (const char *text, GError **error);

/* Scores captions (n >= 1) against `roi` of `src`. model: "" or NULL =
 * the default CLIP (dream_clip_model_default), a name or a path.
 * results (n) in the captions' order. FALSE + GError (a bad model fails
 * before any pixel is read; DREAM_TEST_CANCEL_AT is honoured as in
 * dream-pixels.c). */
gboolean dream_clip_pixels_score (GeglBuffer *src, const GeglRectangle *roi,
                                  const char *const *captions, int n,
                                  const char *model,
                                  dream_progress_func progress, gpointer progress_user,
                                  dream_clip_score_result *results,
                                  GError **error);

/* The ranking as text, best first (ties: the earlier caption first), one
 * line per caption: "probability<TAB>cosine<TAB>caption" with %.6f
 * numbers. Newly allocated. */
char *dream_clip_pixels_ranking (const char *const *captions, int n,
                                 const dream_clip_score_result *results);

/* Describes `roi` of `src` (dream_clip_describe). vocabulary "" or NULL =
 * the bundled one. Returns the caption, newly allocated, or NULL + GError. */
char *dream_clip_pixels_describe (GeglBuffer *src, const GeglRectangle *roi,
                                  const char *model, const char *vocabulary,
                                  dream_progress_func progress, gpointer progress_user,
                                  GError **error);

#endif
