/* tile.c — the tiling planner (see tile.h). */
#include "tile/tile.h"

/* Splits [0, length) into n nearly equal pieces whose boundaries are
 * multiples of align. Returns n; starts[i] for i in 0..n (starts[n] =
 * length), allocated. */
static int
split_axis (int length, int tile, int align, int **starts)
{
  int units = (length + align - 1) / align;        /* aligned units */
  int per = MAX (tile / align, 1);                  /* units per tile */
  int n = MAX ((units + per - 1) / per, 1);
  int *s = g_new (int, n + 1);
  for (int i = 0; i <= n; i++)
    s[i] = MIN ((int) ((gint64) units * i / n) * align, length);
  s[n] = length;
  *starts = s;
  return n;
}

dream_tile *
dream_tile_plan (int width, int height, const dream_tile_spec *spec,
                 int *n_tiles)
{
  int align = MAX (spec->align, 1);
  int tile = MAX (spec->tile, align);
  int overlap = (MAX (spec->overlap, 0) + align - 1) / align * align;
  int *xs, *ys;
  int nx = split_axis (width, tile, align, &xs);
  int ny = split_axis (height, tile, align, &ys);

  dream_tile *tiles = g_new (dream_tile, (gsize) nx * ny);
  int n = 0;
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++)
      {
        dream_tile *t = &tiles[n++];
        t->out = (dream_rect) { xs[i], ys[j], xs[i + 1] - xs[i], ys[j + 1] - ys[j] };
        int x0 = MAX (xs[i] - overlap, 0), x1 = MIN (xs[i + 1] + overlap, width);
        int y0 = MAX (ys[j] - overlap, 0), y1 = MIN (ys[j + 1] + overlap, height);
        t->in = (dream_rect) { x0, y0, x1 - x0, y1 - y0 };
      }
  g_free (xs);
  g_free (ys);
  *n_tiles = n;
  return tiles;
}

void
dream_tile_max_in (const dream_tile *tiles, int n_tiles, int *w, int *h)
{
  *w = *h = 0;
  for (int i = 0; i < n_tiles; i++)
    {
      *w = MAX (*w, tiles[i].in.w);
      *h = MAX (*h, tiles[i].in.h);
    }
}
