/* test_tile.c — the tiling planner: cores cover every pixel exactly once,
 * origins keep the alignment, each tile reads its core grown by the
 * overlap (clamped), and no core exceeds the tile size. */
#include "tile/tile.h"

static void
check_plan (int width, int height, int tile, int overlap, int align)
{
  dream_tile_spec spec = { tile, overlap, align };
  int n;
  dream_tile *t = dream_tile_plan (width, height, &spec, &n);
  guint8 *hits = g_new0 (guint8, (gsize) width * height);
  int ov = (overlap + align - 1) / align * align;
  g_assert_cmpint (n, >=, 1);
  for (int i = 0; i < n; i++)
    {
      dream_rect o = t[i].out, in = t[i].in;
      g_assert_cmpint (o.w, >, 0);
      g_assert_cmpint (o.h, >, 0);
      g_assert_cmpint (o.x % align, ==, 0);
      g_assert_cmpint (o.y % align, ==, 0);
      g_assert_cmpint (o.w, <=, MAX (tile, align));
      g_assert_cmpint (o.h, <=, MAX (tile, align));
      g_assert_cmpint (in.x, ==, MAX (o.x - ov, 0));
      g_assert_cmpint (in.y, ==, MAX (o.y - ov, 0));
      g_assert_cmpint (in.x + in.w, ==, MIN (o.x + o.w + ov, width));
      g_assert_cmpint (in.y + in.h, ==, MIN (o.y + o.h + ov, height));
      g_assert_cmpint (in.x % align, ==, 0);
      for (int y = o.y; y < o.y + o.h; y++)
        for (int x = o.x; x < o.x + o.w; x++)
          hits[(gsize) y * width + x]++;
    }
  for (gsize p = 0; p < (gsize) width * height; p++)
    g_assert_cmpint (hits[p], ==, 1);
  g_free (hits);
  g_free (t);
}

static void
test_plans (void)
{
  check_plan (1, 1, 512, 26, 2);
  check_plan (7, 3, 4, 2, 2);
  check_plan (1000, 700, 256, 26, 2);
  check_plan (1025, 513, 512, 32, 2);
  check_plan (4097, 31, 1024, 30, 2);
  check_plan (300, 200, 64, 10, 1);
  check_plan (64, 64, 64, 0, 8);
}

static void
test_single_tile (void)
{
  dream_tile_spec spec = { 1024, 26, 2 };
  int n;
  dream_tile *t = dream_tile_plan (800, 600, &spec, &n);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpint (t[0].in.w, ==, 800);
  g_assert_cmpint (t[0].in.h, ==, 600);
  g_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tile/plans", test_plans);
  g_test_add_func ("/tile/single", test_single_tile);
  return g_test_run ();
}
