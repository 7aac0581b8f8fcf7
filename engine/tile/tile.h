/* tile.h — the one tiling planner of the engine.
 *
 * An operation declares what it needs (dream_tile_spec): how far each
 * output pixel looks into its input (overlap), the alignment its tiles'
 * origins and sizes must keep (e.g. 2 for a network that works on 2×2
 * sub-images) and the largest tile edge that keeps memory within budget.
 * The planner cuts the image into a grid of nearly equal cores; each tile
 * reads its core grown by the overlap (clamped to the image) and writes
 * only its core. When the overlap covers the network's receptive field
 * the tiled result equals the untiled one, and there is nothing to blend.
 */
#ifndef DREAM_TILE_H
#define DREAM_TILE_H

#include <glib.h>

typedef struct {
  int x, y, w, h;
} dream_rect;

typedef struct {
  int tile;     /* largest core edge in pixels (>= align) */
  int overlap;  /* context each side, in pixels */
  int align;    /* tile origins and core sizes are multiples of this
                   (except where the image ends) */
} dream_tile_spec;

typedef struct {
  dream_rect in;   /* region to read: core grown by overlap, clamped */
  dream_rect out;  /* core: region this tile writes */
} dream_tile;

/* Plans tiles over a width × height image. Returns a newly allocated array
 * (g_free) and stores the count in *n_tiles. Tiles are in row-major order
 * and their cores cover the image exactly once. */
dream_tile *dream_tile_plan (int width, int height, const dream_tile_spec *spec,
                             int *n_tiles);

/* Largest input region of any tile of the plan (for sizing buffers). */
void dream_tile_max_in (const dream_tile *tiles, int n_tiles, int *w, int *h);

/* ---- feathered blending (blend.c) --------------------------------------
 *
 * For networks whose receptive field is wider than any affordable overlap
 * (RRDBNet: hundreds of pixels), neighbouring tiles cross-fade linearly
 * over 2 * feather pixels centred on the boundary of their cores, and each
 * tile reads `context` more pixels beyond that: plan with overlap =
 * feather + context. The weights of all tiles sum to 1 at every pixel;
 * feather 0 gives each pixel to the one core holding it. All functions
 * work along one axis (core [c0, c1) of [0, length)); a pixel's weight is
 * the product of its x and y weights. Coordinates may be scaled (e.g. to
 * an upscaled output) as long as all arguments are scaled alike. */

/* Weight of the tile with core [c0, c1) at pixel i. */
float dream_tile_blend_weight (int c0, int c1, int length, int feather, int i);

/* [*lo, *hi): the pixels where that weight is not zero. */
void dream_tile_blend_span (int c0, int c1, int length, int feather,
                            int *lo, int *hi);

/* feather, reduced so that no core is narrower than two ramps. */
int dream_tile_max_feather (const dream_tile *tiles, int n_tiles, int feather);

#endif /* DREAM_TILE_H */
