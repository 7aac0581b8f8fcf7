/* test_fill.c — content-aware fill, smooth fill and canvas extension.
 *
 * Known answers, not self-comparisons:
 *   - a periodic texture with a hole must come back as that texture
 *     (every hole patch has exact matches a whole period away);
 *   - the smooth fill of a linear ramp is the ramp (linear functions are
 *     harmonic), to 1e-3;
 *   - pixels where the mask is 0 come out bit for bit as they went in;
 *   - the same seed gives the same bits with 1 and 2 threads;
 *   - bad input and cancel give the right error and leave `out` alone.
 */
#include "dream.h"
#include "imageio.h"
#include "tasks/fill.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

static float *
periodic_texture (int w, int h, int c, int px, int py, guint32 seed)
{
  float *tile = g_new (float, (size_t) px * py * c);
  GRand *rng = g_rand_new_with_seed (seed);
  for (int i = 0; i < px * py * c; i++)
    tile[i] = (float) g_rand_double (rng);
  g_rand_free (rng);
  float *img = g_new (float, (size_t) w * h * c);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int k = 0; k < c; k++)
        img[((size_t) y * w + x) * c + k] = tile[((y % py) * px + x % px) * c + k];
  g_free (tile);
  return img;
}

static float *
rect_mask (int w, int h, int x0, int y0, int rw, int rh, float value)
{
  float *m = g_new0 (float, (size_t) w * h);
  for (int y = y0; y < y0 + rh; y++)
    for (int x = x0; x < x0 + rw; x++)
      m[(size_t) y * w + x] = value;
  return m;
}

static double
grad_energy_in (const float *img, const float *m, int w, int h, int c)
{
  double s = 0.0;
  size_t n = 0;
  for (int y = 0; y < h - 1; y++)
    for (int x = 0; x < w - 1; x++)
      {
        size_t i = (size_t) y * w + x;
        if (!(m[i] > 0.0f))
          continue;
        for (int k = 0; k < c; k++)
          {
            double dx = img[(i + 1) * c + k] - img[i * c + k];
            double dy = img[(i + w) * c + k] - img[i * c + k];
            s += dx * dx + dy * dy;
            n++;
          }
      }
  return s / MAX (n, 1);
}

/* A periodic texture with a 24×20 hole comes back: mean absolute error in
 * the hole under 2% and gradient energy within 10% of the truth's. */
static void
test_periodic (void)
{
  const int w = 128, h = 96, c = 3;
  float *truth = periodic_texture (w, h, c, 7, 5, 1);
  float *mask = rect_mask (w, h, 50, 40, 24, 20, 1.0f);
  float *in = g_memdup2 (truth, sizeof (float) * w * h * c);
  for (size_t i = 0; i < (size_t) w * h; i++)
    if (mask[i] > 0.0f)
      in[i * c] = in[i * c + 1] = in[i * c + 2] = 0.5f;   /* garbage */
  float *out = g_new (float, (size_t) w * h * c);
  dream_image im = { in, w, h, c }, mk = { mask, w, h, 1 }, o = { out, w, h, c };
  dream_fill_params p = dream_fill_default_params ();
  GError *error = NULL;
  g_assert_true (dream_fill (&im, &mk, &o, &p, &error));
  g_assert_no_error (error);
  double mae = 0.0;
  size_t n = 0;
  for (size_t i = 0; i < (size_t) w * h; i++)
    if (mask[i] > 0.0f)
      for (int k = 0; k < c; k++, n++)
        mae += fabs (out[i * c + k] - truth[i * c + k]);
  mae /= n;
  double ge = grad_energy_in (out, mask, w, h, c), gt = grad_energy_in (truth, mask, w, h, c);
  g_test_message ("periodic: MAE %.4f, gradient energy %.4f vs truth %.4f", mae, ge, gt);
  g_assert_cmpfloat (mae, <, 0.02);
  g_assert_cmpfloat (fabs (ge / gt - 1.0), <, 0.10);
  g_free (truth); g_free (mask); g_free (in); g_free (out);
}

/* Outside the mask, bit for bit; feathered pixels between the image and
 * the fill; same seed -> same bits for 1 and 2 threads; another seed
 * differs somewhere. Four channels (RGBA). */
static void
test_unchanged_and_deterministic (void)
{
  const int w = 90, h = 70, c = 4;
  float *img = periodic_texture (w, h, c, 11, 9, 2);
  GRand *rng = g_rand_new_with_seed (3);
  for (size_t i = 0; i < (size_t) w * h * c; i++)
    img[i] += 0.1f * (float) g_rand_double (rng);    /* not exactly periodic */
  g_rand_free (rng);
  float *mask = g_new0 (float, (size_t) w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double d = hypot (x - 40.0, y - 30.0);
        mask[(size_t) y * w + x] = d < 10 ? 1.0f : d < 16 ? (float) ((16 - d) / 6) : 0.0f;
      }
  float *o1 = g_new (float, (size_t) w * h * c), *o2 = g_new (float, (size_t) w * h * c);
  float *o3 = g_new (float, (size_t) w * h * c);
  dream_image im = { img, w, h, c }, mk = { mask, w, h, 1 };
  dream_image a = { o1, w, h, c }, b = { o2, w, h, c }, d = { o3, w, h, c };
  dream_fill_params p = dream_fill_default_params ();
  p.seed = 42;
  p.n_threads = 1;
  GError *error = NULL;
  g_assert_true (dream_fill (&im, &mk, &a, &p, &error));
  p.n_threads = 2;
  g_assert_true (dream_fill (&im, &mk, &b, &p, &error));
  p.seed = 43;
  g_assert_true (dream_fill (&im, &mk, &d, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (o1, sizeof (float) * w * h * c, o2, sizeof (float) * w * h * c);
  g_assert_true (memcmp (o1, o3, sizeof (float) * w * h * c) != 0);
  size_t n_kept = 0;
  for (size_t i = 0; i < (size_t) w * h; i++)
    if (mask[i] == 0.0f)
      {
        g_assert_cmpmem (o1 + i * c, sizeof (float) * c, img + i * c, sizeof (float) * c);
        n_kept++;
      }
  g_assert_cmpint (n_kept, >, (size_t) w * h / 2);

  /* in place gives the same result */
  float *inplace = g_memdup2 (img, sizeof (float) * w * h * c);
  dream_image ip = { inplace, w, h, c };
  p.seed = 42;
  g_assert_true (dream_fill (&ip, &mk, &ip, &p, &error));
  g_assert_cmpmem (o1, sizeof (float) * w * h * c, inplace, sizeof (float) * w * h * c);
  g_free (inplace);
  g_free (img); g_free (mask); g_free (o1); g_free (o2); g_free (o3);
}

/* With a context, only pixels near the hole are sampled: the left half is
 * red, the right half a grey texture, the hole deep in the right half. */
static void
test_context (void)
{
  const int w = 160, h = 60, c = 3;
  float *img = periodic_texture (w, h, c, 5, 4, 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float *px = img + ((size_t) y * w + x) * c;
        if (x < 60)
          px[0] = 1.0f, px[1] = px[2] = 0.0f;
        else
          px[1] = px[2] = px[0];
      }
  float *mask = rect_mask (w, h, 120, 20, 16, 16, 1.0f);
  float *out = g_new (float, (size_t) w * h * c);
  dream_image im = { img, w, h, c }, mk = { mask, w, h, 1 }, o = { out, w, h, c };
  dream_fill_params p = dream_fill_default_params ();
  p.context = 20;
  GError *error = NULL;
  g_assert_true (dream_fill (&im, &mk, &o, &p, &error));
  for (size_t i = 0; i < (size_t) w * h; i++)
    if (mask[i] > 0.0f)
      g_assert_cmpfloat (fabsf (out[i * c] - out[i * c + 1]), <, 1e-5);   /* grey, no red */
  g_free (img); g_free (mask); g_free (out);
}

/* The smooth fill of a linear ramp is the ramp. */
static void
test_smooth_ramp (void)
{
  const int w = 80, h = 64, c = 2;
  float *img = g_new (float, (size_t) w * h * c);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        img[((size_t) y * w + x) * c] = 0.01f * x + 0.005f * y;
        img[((size_t) y * w + x) * c + 1] = 1.0f - 0.008f * y;
      }
  float *mask = rect_mask (w, h, 15, 10, 40, 35, 1.0f);
  float *in = g_memdup2 (img, sizeof (float) * w * h * c);
  for (size_t i = 0; i < (size_t) w * h; i++)
    if (mask[i] > 0.0f)
      in[i * c] = in[i * c + 1] = 0.0f;
  float *out = g_new (float, (size_t) w * h * c);
  dream_image im = { in, w, h, c }, mk = { mask, w, h, 1 }, o = { out, w, h, c };
  GError *error = NULL;
  g_assert_true (dream_fill_smooth (&im, &mk, &o, 0, &error));
  double maxerr = 0.0;
  for (size_t i = 0; i < (size_t) w * h * c; i++)
    maxerr = MAX (maxerr, fabs (out[i] - img[i]));
  g_test_message ("smooth fill of a ramp: max error %.2e", maxerr);
  g_assert_cmpfloat (maxerr, <, 1e-3);
  g_free (img); g_free (mask); g_free (in); g_free (out);
}

static gboolean
cancel_at_once (gpointer user, double fraction)
{
  int *calls = user;
  (void) fraction;
  return ++*calls < 3;
}

/* Bad input and cancel: the right error, `out` untouched. */
static void
test_errors (void)
{
  const int w = 40, h = 30, c = 3;
  float *img = periodic_texture (w, h, c, 6, 6, 5);
  float *empty = g_new0 (float, (size_t) w * h);
  float *full = rect_mask (w, h, 0, 0, w, h, 1.0f);
  float *hole = rect_mask (w, h, 10, 10, 8, 8, 1.0f);
  float *nan_mask = rect_mask (w, h, 10, 10, 8, 8, 1.0f);
  nan_mask[5] = NAN;
  float *out = g_new (float, (size_t) w * h * c);
  for (size_t i = 0; i < (size_t) w * h * c; i++)
    out[i] = -7.0f;
  dream_image im = { img, w, h, c }, o = { out, w, h, c };
  dream_fill_params p = dream_fill_default_params ();
  struct { float *m; int mw; const char *what; } cases[] = {
    { empty, w, "empty" }, { full, w, "whole image" }, { nan_mask, w, "NaN" },
    { hole, w - 1, "size" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GError *error = NULL;
      dream_image mk = { cases[i].m, cases[i].mw, h, 1 };
      g_assert_false (dream_fill (&im, &mk, &o, &p, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
      g_test_message ("%s: %s", cases[i].what, error->message);
      g_clear_error (&error);
      g_assert_false (dream_fill_smooth (&im, &mk, &o, 0, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  /* the message says what is wrong */
  GError *error = NULL;
  dream_image mk = { empty, w, h, 1 };
  g_assert_false (dream_fill (&im, &mk, &o, &p, &error));
  g_assert_nonnull (strstr (error->message, "nothing to fill"));
  g_clear_error (&error);

  /* bad parameters, channels */
  dream_image hm = { hole, w, h, 1 };
  p.patch = 4;
  g_assert_false (dream_fill (&im, &hm, &o, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p = dream_fill_default_params ();
  dream_image five = { img, w, h / 2, 5 }, o5 = { out, w, h / 2, 5 }, m5 = { hole, w, h / 2, 1 };
  g_assert_false (dream_fill (&five, &m5, &o5, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* too small to hold a single patch outside the hole */
  dream_image tiny = { img, 6, 5, c }, tout = { out, 6, 5, c };
  float tm[30] = { 0 };
  tm[14] = 1.0f;
  dream_image tmk = { tm, 6, 5, 1 };
  g_assert_false (dream_fill (&tiny, &tmk, &tout, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_test_message ("tiny: %s", error->message);
  g_clear_error (&error);

  /* cancel */
  int calls = 0;
  p.progress = cancel_at_once;
  p.progress_user = &calls;
  g_assert_false (dream_fill (&im, &hm, &o, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
  g_clear_error (&error);

  for (size_t i = 0; i < (size_t) w * h * c; i++)
    g_assert_cmpfloat (out[i], ==, -7.0f);
  g_free (img); g_free (empty); g_free (full); g_free (hole); g_free (nan_mask); g_free (out);
}

static gboolean
record_progress (gpointer user, double fraction)
{
  double *last = user;
  g_assert_cmpfloat (fraction, >=, *last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  *last = fraction;
  return TRUE;
}

/* Canvas extension: the old image in place, mask 1 on new pixels, a
 * feather ramp on the old side of grown edges only; then a fill of a
 * periodic texture continues it. */
static void
test_canvas_extend (void)
{
  const int w = 64, h = 48, c = 3;
  const int L = 5, R = 20, T = 0, B = 3, F = 8;
  float *img = periodic_texture (w, h, c, 6, 5, 6);
  dream_image im = { img, w, h, c }, big, bm;
  GError *error = NULL;
  g_assert_true (dream_canvas_extend (&im, L, R, T, B, F, &big, &bm, &error));
  const int W = w + L + R, H = h + T + B;
  g_assert_cmpint (big.width, ==, W);
  g_assert_cmpint (big.height, ==, H);
  g_assert_cmpint (big.channels, ==, c);
  g_assert_cmpint (bm.channels, ==, 1);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        int ox = x - L, oy = y - T;
        float m = bm.data[(size_t) y * W + x];
        if (ox < 0 || ox >= w || oy < 0 || oy >= h)
          g_assert_cmpfloat (m, ==, 1.0f);
        else
          {
            g_assert_cmpmem (big.data + ((size_t) y * W + x) * c, sizeof (float) * c,
                             img + ((size_t) oy * w + ox) * c, sizeof (float) * c);
            int d = MIN (MIN (ox, w - 1 - ox), h - 1 - oy);   /* top not grown */
            float want = d < F ? (float) (F - d) / F : 0.0f;
            g_assert_cmpfloat (fabsf (m - want), <, 1e-6);
          }
      }
  double last = 0.0;
  dream_fill_params p = dream_fill_default_params ();
  p.progress = record_progress;
  p.progress_user = &last;
  float *res = g_new (float, (size_t) W * H * c);
  dream_image o = { res, W, H, c };
  g_assert_true (dream_fill (&big, &bm, &o, &p, &error));
  g_assert_cmpfloat (last, ==, 1.0);
  /* the texture continues: compare with the periodic image drawn large */
  double mae = 0.0;
  size_t n = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      if (x - L < 0 || x - L >= w || y >= h)
        for (int k = 0; k < c; k++, n++)
          {
            int ox = ((x - L) % 6 + 6) % 6, oy = y % 5;
            mae += fabs (res[((size_t) y * W + x) * c + k] - img[((size_t) oy * w + ox) * c + k]);
          }
  mae /= n;
  g_test_message ("outpainted periodic texture: MAE %.4f", mae);
  g_assert_cmpfloat (mae, <, 0.03);
  g_free (res);
  g_free (big.data);
  g_free (bm.data);

  /* errors, nothing allocated */
  big.data = NULL;
  g_assert_false (dream_canvas_extend (&im, 0, 0, 0, 0, 4, &big, &bm, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_canvas_extend (&im, -1, 5, 0, 0, 4, &big, &bm, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_canvas_extend (&im, 65536, 0, 0, 0, 4, &big, &bm, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (big.data);
  g_free (img);
}

static int
run_dream (const char *const *args, char **err_out)
{
  const char *exe = g_getenv ("DREAM_EXE");
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  int status = -1;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, err_out, &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* `dream inpaint` and `dream outpaint` on 16-bit PNGs: black mask pixels
 * come back bit for bit, the result keeps 16 bits; an empty mask, a mask
 * of the wrong size give exit 1 and a clear message, and write nothing. */
static void
test_cli (void)
{
  if (!g_getenv ("DREAM_EXE"))
    {
      g_test_skip ("DREAM_EXE not set (run through meson test)");
      return;
    }
  const int w = 64, h = 48, c = 3;
  char *dir = g_dir_make_tmp ("dream-fill-XXXXXX", NULL);
  char *in = g_build_filename (dir, "in.png", NULL), *mk = g_build_filename (dir, "mask.png", NULL);
  char *em = g_build_filename (dir, "empty.png", NULL), *out = g_build_filename (dir, "out.png", NULL);
  char *op = g_build_filename (dir, "outp.png", NULL);
  float *img = periodic_texture (w, h, c, 7, 5, 8);
  float *mask = rect_mask (w, h, 20, 15, 16, 12, 1.0f);
  for (int x = 18; x < 38; x++)
    mask[14 * w + x] = 0.5f;                  /* a grey (feathered) row */
  float *zero = g_new0 (float, (size_t) w * h);
  GError *error = NULL;
  dream_file_image fi = { img, w, h, c, 16 }, fm = { mask, w, h, 1, 8 }, fe = { zero, w, h, 1, 8 };
  g_assert_true (dream_file_image_save_png (in, &fi, 16, &error));
  g_assert_true (dream_file_image_save_png (mk, &fm, 8, &error));
  g_assert_true (dream_file_image_save_png (em, &fe, 8, &error));
  dream_file_image a = { 0 }, b = { 0 };
  g_assert_true (dream_file_image_load (in, &a, &error));

  const char *args[] = { "inpaint", "-q", "--mask", mk, in, out, NULL };
  char *err = NULL;
  g_assert_cmpint (run_dream (args, &err), ==, 0);
  g_free (err);
  g_assert_true (dream_file_image_load (out, &b, &error));
  g_assert_cmpint (b.bit_depth, ==, 16);
  double mae = 0.0;
  size_t n = 0;
  for (size_t i = 0; i < (size_t) w * h; i++)
    if (mask[i] == 0.0f)
      g_assert_cmpmem (a.data + i * c, sizeof (float) * c, b.data + i * c, sizeof (float) * c);
    else if (mask[i] == 1.0f)
      for (int k = 0; k < c; k++, n++)
        mae += fabs (b.data[i * c + k] - a.data[i * c + k]);
  g_assert_cmpfloat (mae / n, <, 0.02);          /* the texture came back */
  dream_file_image_clear (&b);

  const char *args2[] = { "outpaint", "-q", "--right", "10", "--top", "4", in, op, NULL };
  g_assert_cmpint (run_dream (args2, NULL), ==, 0);
  g_assert_true (dream_file_image_load (op, &b, &error));
  g_assert_cmpint (b.width, ==, w + 10);
  g_assert_cmpint (b.height, ==, h + 4);
  /* far from the new sides the old pixels are kept exactly */
  for (int y = 0; y < h - 16; y++)
    for (int x = 0; x < w - 16; x++)
      g_assert_cmpmem (b.data + ((size_t) (y + 4 + 16) * (w + 10) + x) * c, sizeof (float) * c,
                       a.data + ((size_t) (y + 16) * w + x) * c, sizeof (float) * c);
  dream_file_image_clear (&b);

  g_remove (out);
  const char *args3[] = { "inpaint", "-q", "--mask", em, in, out, NULL };
  g_assert_cmpint (run_dream (args3, &err), ==, 1);
  g_assert_nonnull (strstr (err, "nothing to fill"));
  g_free (err);
  const char *args4[] = { "inpaint", "-q", "--mask", op, in, out, NULL };   /* wrong size */
  g_assert_cmpint (run_dream (args4, &err), ==, 1);
  g_assert_nonnull (strstr (err, "the mask is"));
  g_free (err);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  dream_file_image_clear (&a);
  g_remove (in); g_remove (mk); g_remove (em); g_remove (op); g_rmdir (dir);
  g_free (in); g_free (mk); g_free (em); g_free (out); g_free (op); g_free (dir);
  g_free (img); g_free (mask); g_free (zero);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fill/periodic-texture", test_periodic);
  g_test_add_func ("/fill/unchanged-deterministic", test_unchanged_and_deterministic);
  g_test_add_func ("/fill/context", test_context);
  g_test_add_func ("/fill/smooth-ramp", test_smooth_ramp);
  g_test_add_func ("/fill/errors", test_errors);
  g_test_add_func ("/fill/canvas-extend", test_canvas_extend);
  g_test_add_func ("/fill/cli", test_cli);
  return g_test_run ();
}
