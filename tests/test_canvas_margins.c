/* test_canvas_margins.c — Extend Canvas to a target size or aspect ratio:
 * dream_canvas_margins() and dream_anchor_from_string(), the one place
 * where the CLI and both GIMP plug-ins get their margins from; then
 * `dream outpaint --width/--height/--aspect/--anchor`.
 *
 * Every expected value is worked out by hand in the comment beside it.
 * The rounding rule under test: with an aspect ratio one side grows, to
 * ceil(other side · A / B) (never short of the ratio); the anchor puts the
 * old picture at an edge (all new pixels on the other side) or in the
 * centre (new pixels halved, the odd one on the right / at the bottom).
 */
#include "dream.h"
#include "imageio.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

/* margins of w×h to tw×th or aspect with anchor, asserted to l r t b */
static void
check (int w, int h, int tw, int th, const char *aspect, dream_anchor anchor,
       int l, int r, int t, int b)
{
  GError *error = NULL;
  int L = -1, R = -1, T = -1, B = -1;

  g_assert_true (dream_canvas_margins (w, h, tw, th, aspect, anchor, &L, &R, &T, &B, &error));
  g_assert_no_error (error);
  g_assert_cmpint (L, ==, l);
  g_assert_cmpint (R, ==, r);
  g_assert_cmpint (T, ==, t);
  g_assert_cmpint (B, ==, b);
}

/* must fail with DREAM_ERROR_INVALID_ARGUMENT, a message holding `want`,
 * and the outputs untouched */
static void
check_error (int w, int h, int tw, int th, const char *aspect, dream_anchor anchor,
             const char *want)
{
  GError *error = NULL;
  int L = -7, R = -7, T = -7, B = -7;

  g_assert_false (dream_canvas_margins (w, h, tw, th, aspect, anchor, &L, &R, &T, &B, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  if (!strstr (error->message, want))
    g_error ("%dx%d to %dx%d / \"%s\": message \"%s\" lacks \"%s\"",
             w, h, tw, th, aspect ? aspect : "(null)", error->message, want);
  g_assert_true (L == -7 && R == -7 && T == -7 && B == -7);
  g_clear_error (&error);
}

static void
test_aspect (void)
{
  /* 300×200 to 16:9: 300·9 = 2700 < 200·16 = 3200, narrower than 16:9,
   * so the width grows: ceil(200·16/9) = ceil(355.56) = 356; 56 new
   * columns, centre: 28 left, 28 right */
  check (300, 200, 0, 0, "16:9", DREAM_ANCHOR_CENTER, 28, 28, 0, 0);
  /* the same, the picture at the left edge: all 56 on the right */
  check (300, 200, 0, 0, "16:9", DREAM_ANCHOR_LEFT, 0, 56, 0, 0);
  check (300, 200, 0, 0, "16:9", DREAM_ANCHOR_TOP_LEFT, 0, 56, 0, 0);
  /* at the bottom right: all 56 on the left; top/bottom unaffected */
  check (300, 200, 0, 0, "16:9", DREAM_ANCHOR_BOTTOM_RIGHT, 56, 0, 0, 0);
  /* spaces around the terms are allowed */
  check (300, 200, 0, 0, " 16 : 9 ", DREAM_ANCHOR_CENTER, 28, 28, 0, 0);
  /* 300×200 to 1:1: wider than 1:1, the height grows to 300: 100 new
   * rows, centre 50/50; anchor top: all 100 at the bottom */
  check (300, 200, 0, 0, "1:1", DREAM_ANCHOR_CENTER, 0, 0, 50, 50);
  check (300, 200, 0, 0, "1:1", DREAM_ANCHOR_TOP, 0, 0, 0, 100);
  check (300, 200, 0, 0, "1:1", DREAM_ANCHOR_BOTTOM, 0, 0, 100, 0);
  /* 301×200 to 3:2: 301·2 = 602 ≥ 200·3 = 600, wider, so the height
   * grows to ceil(301·2/3) = ceil(200.67) = 201: one new row, centre
   * puts the odd one at the bottom */
  check (301, 200, 0, 0, "3:2", DREAM_ANCHOR_CENTER, 0, 0, 0, 1);
  /* 100×100 to 2.39:1 (read exactly as 2390/1000): width
   * ceil(100·2390/1000) = 239, 139 new columns: 69 left, 70 right */
  check (100, 100, 0, 0, "2.39:1", DREAM_ANCHOR_CENTER, 69, 70, 0, 0);
  /* 256×192 (4:3) to 9:16 portrait: 256·16 = 4096 ≥ 192·9 = 1728, the
   * height grows to ceil(256·16/9) = ceil(455.11) = 456: 264 rows, 132
   * each side */
  check (256, 192, 0, 0, "9:16", DREAM_ANCHOR_CENTER, 0, 0, 132, 132);
  /* exact in integers: 1600×899 to 16:9 → height ceil(1600·9/16) = 900,
   * one row (a double could make 900.0000001 → 901) */
  check (1600, 899, 0, 0, "16:9", DREAM_ANCHOR_TOP_LEFT, 0, 0, 0, 1);
  /* 32:18 is 16:9 */
  check (300, 200, 0, 0, "32:18", DREAM_ANCHOR_RIGHT, 56, 0, 0, 0);
}

static void
test_size (void)
{
  /* 300×200 to 400×250: 100 columns, 50 rows; centre 50/50, 25/25 */
  check (300, 200, 400, 250, NULL, DREAM_ANCHOR_CENTER, 50, 50, 25, 25);
  /* top-left: the picture stays at 0,0, everything right and below */
  check (300, 200, 400, 250, "", DREAM_ANCHOR_TOP_LEFT, 0, 100, 0, 50);
  check (300, 200, 400, 250, NULL, DREAM_ANCHOR_BOTTOM_RIGHT, 100, 0, 50, 0);
  check (300, 200, 400, 250, NULL, DREAM_ANCHOR_TOP_RIGHT, 100, 0, 0, 50);
  check (300, 200, 400, 250, NULL, DREAM_ANCHOR_BOTTOM_LEFT, 0, 100, 50, 0);
  /* width only (height 0 = kept): 20 columns, anchor right: all on the
   * left */
  check (300, 200, 320, 0, NULL, DREAM_ANCHOR_RIGHT, 20, 0, 0, 0);
  /* height only, one row more, centre: the odd row at the bottom */
  check (300, 200, 0, 201, NULL, DREAM_ANCHOR_CENTER, 0, 0, 0, 1);
  /* the same width given explicitly is "kept" too */
  check (300, 200, 300, 260, NULL, DREAM_ANCHOR_CENTER, 0, 0, 30, 30);
  /* up to the limit, 65536 a side */
  check (300, 200, 65536, 0, NULL, DREAM_ANCHOR_LEFT, 0, 65236, 0, 0);
}

static void
test_errors (void)
{
  /* target smaller than the canvas in some dimension */
  check_error (300, 200, 299, 250, NULL, DREAM_ANCHOR_CENTER, "smaller than the canvas (300×200) in its width");
  check_error (300, 200, 400, 199, NULL, DREAM_ANCHOR_CENTER, "in its height");
  check_error (300, 200, 10, 10, NULL, DREAM_ANCHOR_CENTER, "in its width and height");
  check_error (300, 200, 0, 100, NULL, DREAM_ANCHOR_CENTER, "smaller than the canvas");
  /* nothing to add */
  check_error (300, 200, 300, 200, NULL, DREAM_ANCHOR_CENTER, "Nothing to extend");
  check_error (300, 200, 300, 0, NULL, DREAM_ANCHOR_CENTER, "Nothing to extend");
  check_error (1600, 900, 0, 0, "16:9", DREAM_ANCHOR_CENTER, "already has the aspect ratio 16:9");
  /* neither / both / negative */
  check_error (300, 200, 0, 0, NULL, DREAM_ANCHOR_CENTER, "Give a target width");
  check_error (300, 200, 0, 0, "", DREAM_ANCHOR_CENTER, "Give a target width");
  check_error (300, 200, 400, 0, "16:9", DREAM_ANCHOR_CENTER, "not both");
  check_error (300, 200, -1, 0, NULL, DREAM_ANCHOR_CENTER, "may not be negative");
  check_error (300, 200, 400, -5, NULL, DREAM_ANCHOR_CENTER, "may not be negative");
  /* absurd sizes: over 65536 a side, asked for or reached by an aspect
   * (100×60000 to 16:9: ceil(60000·16/9) = 106667 columns) */
  check_error (300, 200, 65537, 0, NULL, DREAM_ANCHOR_CENTER, "65537×200 pixels; at most 65536");
  check_error (300, 200, G_MAXINT, G_MAXINT, NULL, DREAM_ANCHOR_CENTER, "at most 65536");
  check_error (100, 60000, 0, 0, "16:9", DREAM_ANCHOR_CENTER, "106667×60000");
  check_error (300, 200, 0, 0, "100000:1", DREAM_ANCHOR_CENTER, "at most 65536");
  check_error (0, 200, 400, 0, NULL, DREAM_ANCHOR_CENTER, "1 to 65536 pixels a side");
  /* malformed aspect ratios */
  check_error (300, 200, 0, 0, "16:0", DREAM_ANCHOR_CENTER, "neither side may be 0");
  check_error (300, 200, 0, 0, "0:9", DREAM_ANCHOR_CENTER, "neither side may be 0");
  check_error (300, 200, 0, 0, "0.0001:1", DREAM_ANCHOR_CENTER, "Bad aspect ratio");
  {
    static const char *bad[] = { "abc", "16", "16:", ":9", "16:9:1", "-16:9", "16:-9",
                                 "+16:9", "1e3:1", "16x9", "1.2345:1", "100001:1",
                                 "99999999999999999999:1", ".:1", "16 9:1", NULL };
    for (int i = 0; bad[i]; i++)
      check_error (300, 200, 0, 0, bad[i], DREAM_ANCHOR_CENTER, "Bad aspect ratio");
  }
  /* an anchor that is not one of the nine */
  check_error (300, 200, 400, 0, NULL, (dream_anchor) 42, "Unknown anchor");
}

static void
test_anchor_names (void)
{
  static const char *names[] = { "center", "top-left", "top", "top-right", "left", "right",
                                 "bottom-left", "bottom", "bottom-right" };
  GError *error = NULL;
  dream_anchor a = DREAM_ANCHOR_BOTTOM;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_true (dream_anchor_from_string (names[i], &a, &error));
      g_assert_cmpstr (dream_anchor_to_string (a), ==, names[i]);
    }
  g_assert_true (dream_anchor_from_string ("Centre", &a, &error));
  g_assert_cmpint (a, ==, DREAM_ANCHOR_CENTER);
  g_assert_true (dream_anchor_from_string ("TOP-LEFT", &a, &error));
  g_assert_cmpint (a, ==, DREAM_ANCHOR_TOP_LEFT);
  a = DREAM_ANCHOR_TOP;
  g_assert_true (dream_anchor_from_string (NULL, &a, &error));
  g_assert_cmpint (a, ==, DREAM_ANCHOR_CENTER);
  g_assert_true (dream_anchor_from_string ("", &a, &error));
  g_assert_cmpint (a, ==, DREAM_ANCHOR_CENTER);
  g_assert_no_error (error);
  g_assert_false (dream_anchor_from_string ("middle", &a, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Unknown anchor \"middle\""));
  g_clear_error (&error);
  g_assert_null (dream_anchor_to_string ((dream_anchor) 42));
}

/* ---- dream outpaint --------------------------------------------------- */

static int
run_dream (const char *const *args, char **err_out)
{
  const char *exe = g_getenv ("DREAM_EXE");
  GPtrArray *argv = g_ptr_array_new ();
  int status = -1;
  GError *error = NULL;

  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, err_out, &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* `out` is W×H and holds `in` unchanged at x, y */
static void
check_placed (const char *out, const dream_file_image *in, int W, int H, int x, int y)
{
  dream_file_image o = { 0 };
  GError *error = NULL;

  g_assert_true (dream_file_image_load (out, &o, &error));
  g_assert_no_error (error);
  g_assert_cmpint (o.width, ==, W);
  g_assert_cmpint (o.height, ==, H);
  g_assert_cmpint (o.channels, ==, in->channels);
  for (int r = 0; r < in->height; r++)
    g_assert_cmpmem (o.data + ((gsize) (y + r) * W + x) * o.channels,
                     sizeof (float) * in->width * in->channels,
                     in->data + (gsize) r * in->width * in->channels,
                     sizeof (float) * in->width * in->channels);
  dream_file_image_clear (&o);
}

static void
test_cli (void)
{
  if (!g_getenv ("DREAM_EXE"))
    {
      g_test_skip ("DREAM_EXE not set (run through meson test)");
      return;
    }
  const int w = 64, h = 48, c = 3;
  char *dir = g_dir_make_tmp ("dream-margins-XXXXXX", NULL);
  char *in = g_build_filename (dir, "in.png", NULL), *out = g_build_filename (dir, "out.png", NULL);
  float *px = g_new (float, (gsize) w * h * c);
  GRand *rng = g_rand_new_with_seed (5);
  GError *error = NULL;
  dream_file_image src = { px, w, h, c, 8 }, back = { 0 };
  char *err = NULL;

  /* a texture of 8×8 tiles: something for the fill to sample */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int k = 0; k < c; k++)
        px[((gsize) y * w + x) * c + k] = ((x / 8 + y / 8 + k) % 3) / 2.0f;
  for (int i = 0; i < 40; i++)
    px[g_rand_int_range (rng, 0, w * h * c)] = 0.25f;
  g_rand_free (rng);
  g_assert_true (dream_file_image_save_png (in, &src, 8, &error));
  g_assert_true (dream_file_image_load (in, &back, &error));   /* as 8-bit */

  /* 64×48 to 16:9: narrower (64·9 = 576 < 48·16 = 768), width
   * ceil(48·16/9) = ceil(85.33) = 86, 22 new columns; anchor right: all
   * 22 on the left, the picture at x = 22. Feather 0: old pixels exact. */
  const char *a1[] = { "outpaint", "-q", "--aspect", "16:9", "--anchor", "right",
                       "--feather", "0", in, out, NULL };
  g_assert_cmpint (run_dream (a1, NULL), ==, 0);
  check_placed (out, &back, 86, 48, 22, 0);
  g_remove (out);

  /* 64×48 to 80×60, anchor bottom-right: 16 columns on the left, 12
   * rows at the top: the picture at 16, 12 */
  const char *a2[] = { "outpaint", "-q", "--width", "80", "--height", "60", "--anchor",
                       "bottom-right", "--feather", "0", in, out, NULL };
  g_assert_cmpint (run_dream (a2, NULL), ==, 0);
  check_placed (out, &back, 80, 60, 16, 12);
  g_remove (out);

  /* height only, centre (default): 10 more rows, 5 above, 5 below;
   * without -q it says what it does (ASCII: stderr may be in the C
   * locale) */
  const char *a3[] = { "outpaint", "--height", "58", "--feather", "0", in, out, NULL };
  g_assert_cmpint (run_dream (a3, &err), ==, 0);
  g_assert_nonnull (strstr (err, "64x48 -> 64x58: left 0, right 0, top 5, bottom 5"));
  g_clear_pointer (&err, g_free);
  check_placed (out, &back, 64, 58, 0, 5);
  g_remove (out);

  /* bad usage: exit 2, a clear message, no file written */
  {
    static const struct { const char *args[8]; const char *want; } bad[] = {
      /* g_printerr writes × as ? in the C locale: ASCII needles */
      { { "--width", "60" },                     "smaller than the canvas (64" },
      { { "--width", "60", "--height", "50" },   "in its width" },
      { { "--width", "64", "--height", "48" },   "Nothing to extend" },
      { { "--aspect", "16:0" },                  "neither side may be 0" },
      { { "--aspect", "abc" },                   "Bad aspect ratio \"abc\"" },
      { { "--aspect", "" },                      "--aspect needs a ratio" },
      { { "--width", "-80" },                    "may not be negative" },
      { { "--width", "100", "--aspect", "4:3" }, "not both" },
      { { "--left", "5", "--width", "100" },     "not both" },
      { { "--right", "5", "--aspect", "1:1" },   "not both" },
      { { "--anchor", "left" },                  "--anchor goes with" },
      { { "--width", "100", "--anchor", "middle" }, "Unknown anchor \"middle\"" },
      { { "--width", "70000" },                  "at most 65536" },
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        const char *args[16] = { "outpaint", "-q" };
        int n = 2;
        for (int j = 0; bad[i].args[j]; j++)
          args[n++] = bad[i].args[j];
        args[n++] = in;
        args[n++] = out;
        args[n] = NULL;
        g_assert_cmpint (run_dream (args, &err), ==, 2);
        if (!strstr (err, bad[i].want))
          g_error ("case %u: stderr \"%s\" lacks \"%s\"", i, err, bad[i].want);
        g_clear_pointer (&err, g_free);
        g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
      }
  }

  dream_file_image_clear (&back);
  g_remove (in);
  g_rmdir (dir);
  g_free (in); g_free (out); g_free (dir); g_free (px);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/canvas-margins/aspect", test_aspect);
  g_test_add_func ("/canvas-margins/size", test_size);
  g_test_add_func ("/canvas-margins/errors", test_errors);
  g_test_add_func ("/canvas-margins/anchor-names", test_anchor_names);
  g_test_add_func ("/canvas-margins/cli", test_cli);
  return g_test_run ();
}
