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

#endif /* DREAM_TILE_H */
