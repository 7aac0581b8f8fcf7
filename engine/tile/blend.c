/* blend.c — feathered blending for the tiling planner (see tile.h).
 *
 * Along one axis a tile's core is [c0, c1) of [0, length). Where two cores
 * meet at b, the tiles cross-fade linearly over the 2F pixels centred on
 * b: the right one's weight at pixel i is clamp((i + 0.5 - (b - F)) / 2F,
 * 0, 1), the left one's is one minus that. A tile's weight is the product
 * of its left and right ramps (edges of the image have none), and a 2-D
 * weight is the product of the two axes' weights; since the plan is a grid
 * the weights of all tiles sum to 1 at every pixel. F = 0 gives hard
 * edges: each pixel belongs to the one core that contains it.
 */
#include "tile/tile.h"

static float
ramp (int b, int feather, int i)
{
  if (feather <= 0)
    return i >= b ? 1.0f : 0.0f;
  float r = ((float) i + 0.5f - (float) (b - feather)) / (float) (2 * feather);
  return CLAMP (r, 0.0f, 1.0f);
}

float
dream_tile_blend_weight (int c0, int c1, int length, int feather, int i)
{
  float w = 1.0f;
  if (c0 > 0)
    w *= ramp (c0, feather, i);
  if (c1 < length)
    w *= 1.0f - ramp (c1, feather, i);
  return w;
}

void
dream_tile_blend_span (int c0, int c1, int length, int feather, int *lo, int *hi)
{
  feather = MAX (feather, 0);
  *lo = c0 > 0 ? MAX (c0 - feather, 0) : 0;
  *hi = c1 < length ? MIN (c1 + feather, length) : length;
}

int
dream_tile_max_feather (const dream_tile *tiles, int n_tiles, int feather)
{
  for (int i = 0; i < n_tiles; i++)
    feather = MIN (feather, MIN (tiles[i].out.w, tiles[i].out.h) / 2);
  return MAX (feather, 0);
}
