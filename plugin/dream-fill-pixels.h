/* dream-fill-pixels.h — the pixel path of Inpaint Selection and Extend
 * Canvas, shared by the GIMP 3 and GIMP 2.10 front ends. GEGL and libdream
 * only (no libgimp): it reads a layer's and the selection's buffers into
 * floats, runs the engine's content-aware fill (dream_fill,
 * dream_canvas_extend) and hands back new buffers; it writes nothing into
 * GIMP's buffers, so the caller changes the image only after success.
 *
 * Both functions return TWO buffers of the same extent:
 *   pixels  the filled pixels, R'G'B'A float (Y'A float when `grey`) in the
 *           layer's own colour space; alpha is the layer's (filled like the
 *           colours) or 1 for a layer without alpha. Inside the hole these
 *           are the engine's fill, unblended.
 *   mask    "Y float": how much of `pixels` shows over the layer (the
 *           selection with its feather, or the canvas extension's ramp);
 *           meant as the new layer's layer mask. Composited, pixels ×
 *           mask over the layer gives what `dream inpaint --mask` /
 *           `dream outpaint` give for the same input.
 */
#ifndef DREAM_FILL_PIXELS_H
#define DREAM_FILL_PIXELS_H

#include <gegl.h>
#include "dream.h"

/* Generation with Stable Diffusion instead of the content-aware fill:
 * dream_inpaint() on the layer (RGB; alpha kept as it was), the hole
 * regenerated whole (the feather is left to the layer mask). */
typedef struct {
  const char *model;            /* SD checkpoint, inpainting or not: as
                                   dream_gen_load_sd() ("" = the default) */
  const char *prompt;           /* may be NULL */
  const char *negative_prompt;  /* may be NULL */
  int steps;                    /* 1..1000 */
  double cfg_scale;             /* 0..100 */
  double strength;              /* 0..1; 1 = from noise */
} dream_pixels_generate_args;

typedef struct {
  const dream_pixels_generate_args *generate;  /* NULL = content-aware fill */
  int context;                  /* content-aware: sample within this many
                                   pixels of the hole's bounds; 0 = the
                                   whole layer */
  guint64 seed;                 /* PatchMatch's or the diffusion's seed */
  int n_threads;                /* 0 = all cores */
  dream_progress_func progress; /* may be NULL; FALSE cancels */
  gpointer progress_user;
} dream_pixels_fill_args;

/* Content-aware fill of the selected part of `src`.
 *
 * src     the layer's buffer (extent 0, 0, w, h).
 * sel     the selection's buffer (image coordinates; values 0..1, read
 *         linearly); sel_dx, sel_dy = the layer's offsets.
 * bounds  where the selection may be non-zero, in layer coordinates
 *         (e.g. gimp_drawable_mask_intersect); only this and the context
 *         around the hole are read.
 * grey, alpha  the layer's kind (read format).
 *
 * The hole is where the selection is > 0 (feathered pixels included);
 * the engine sees the layer over the hole's bounds grown by `context`
 * (clipped to the layer), or the whole layer for context 0, exactly as
 * `dream inpaint --context N` sees the whole image. *pixels and *mask get
 * the extent of the hole's bounds (layer coordinates).
 *
 * With args->generate the whole layer goes to dream_inpaint(), which
 * crops the hole's bounds plus a margin and works at the model's size;
 * *pixels is then R'G'B'A float whatever the layer's kind.
 *
 * Errors (FALSE, nothing allocated): an empty selection over the layer,
 * a selection covering the whole layer (or the whole context), too little
 * to sample from, a bad model, out of memory, DREAM_ERROR_CANCELLED. */
gboolean dream_pixels_inpaint (GeglBuffer *src,
                               GeglBuffer *sel, int sel_dx, int sel_dy,
                               const GeglRectangle *bounds,
                               gboolean grey, gboolean alpha,
                               const dream_pixels_fill_args *args,
                               GeglBuffer **pixels, GeglBuffer **mask,
                               GError **error);

/* Extend Canvas: `src` read over `canvas` (the image's canvas in layer
 * coordinates: x = −offset_x, y = −offset_y, the image's width and
 * height; what the layer does not cover reads as transparent black), on a
 * canvas grown by left/right/top/bottom, the new area filled by the
 * content-aware fill and blended over a band `feather` pixels wide into
 * the old picture. *pixels and *mask get the extent of the new canvas
 * (0, 0, width + left + right, height + top + bottom) in the new canvas's
 * coordinates. Errors: nothing to add, a canvas over 65536 pixels a side,
 * out of memory, DREAM_ERROR_CANCELLED. To grow to a size or an aspect
 * ratio, the front ends get the four margins from libdream's
 * dream_canvas_margins() first (as `dream outpaint --width/--aspect`). */
gboolean dream_pixels_outpaint (GeglBuffer *src,
                                const GeglRectangle *canvas,
                                int left, int right, int top, int bottom,
                                int feather,
                                gboolean grey, gboolean alpha,
                                const dream_pixels_fill_args *args,
                                GeglBuffer **pixels, GeglBuffer **mask,
                                GError **error);

/* Extend Canvas to a size or an aspect ratio, for both front ends: the
 * margins from dream_canvas_margins() (same arguments, same errors) and,
 * in *settings (g_free), what the layer's settings parasite records of the
 * request after the margins: " aspect=16:9 anchor=left" (the ratio as
 * given, without surrounding spaces) or " to=342x192 anchor=center". */
gboolean dream_pixels_outpaint_target (int width, int height,
                                       int target_width, int target_height,
                                       const char *aspect, dream_anchor anchor,
                                       int *left, int *right, int *top, int *bottom,
                                       char **settings, GError **error);

#endif
