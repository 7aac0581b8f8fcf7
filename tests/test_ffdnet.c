/* test_ffdnet.c — the FFDNet denoiser against PyTorch, and its task.
 *
 * tests/data/ffdnet_ref.safetensors holds small inputs and the outputs of
 * tools/ffdnet_torch.py (an independent PyTorch implementation of the
 * network on the same weights) in float64; the engine must match within
 * 1e-4 (float32 vs float64 differences are ~1e-6 here). The task-level
 * tests check tiling (tiled equals untiled), channel adaptation,
 * determinism, cancel and the errors bad input gets.
 */
#include "dream.h"
#include "io/safetensors.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#define REF_TOL 1e-4

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

static dream_model *
load_model (const char *name)
{
  GError *error = NULL;
  char *path = dream_model_find (name, &error);
  g_assert_no_error (error);
  dream_model *m = dream_model_load (path, &error);
  g_assert_no_error (error);
  g_free (path);
  return m;
}

static float *
read_tensor (const dream_st_file *f, const char *name, int64_t *n_out,
             const dream_st_tensor **t_out)
{
  GError *error = NULL;
  const dream_st_tensor *t = dream_st_find (f, name);
  g_assert_nonnull (t);
  float *v = g_new (float, t->n_elements);
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, &error));
  g_assert_no_error (error);
  if (n_out)
    *n_out = t->n_elements;
  if (t_out)
    *t_out = t;
  return v;
}

static double
max_abs_diff (const float *a, const float *b, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      m = MAX (m, fabs ((double) a[i] - b[i]));
    }
  return m;
}

static void
check_reference (const char *model_name, const char *prefix)
{
  GError *error = NULL;
  char *path = data_path ("ffdnet_ref.safetensors");
  dream_st_file *f = dream_st_open (path, &error);
  g_assert_no_error (error);
  char *n_in = g_strconcat (prefix, "_input", NULL), *n_sig = g_strconcat (prefix, "_sigma", NULL);
  char *n_out = g_strconcat (prefix, "_output_f64", NULL);
  const dream_st_tensor *t;
  int64_t n;
  float *in = read_tensor (f, n_in, &n, &t);
  float *sigma = read_tensor (f, n_sig, NULL, NULL);
  float *ref = read_tensor (f, n_out, NULL, NULL);
  g_assert_cmpint (t->n_dims, ==, 3);
  dream_image img = { in, (int) t->shape[1], (int) t->shape[0], (int) t->shape[2] };
  float *res = g_new (float, n);
  dream_image out = { res, img.width, img.height, img.channels };

  dream_model *m = load_model (model_name);
  dream_denoise_params p = dream_denoise_default_params ();
  p.sigma = sigma[0];
  g_assert_true (dream_denoise (m, &img, &out, &p, NULL, &error));
  g_assert_no_error (error);
  double d = max_abs_diff (res, ref, n);
  g_test_message ("%s %dx%d sigma %.0f: max |engine - torch f64| = %.3g", model_name,
                  img.width, img.height, sigma[0], d);
  g_assert_cmpfloat (d, <, REF_TOL);

  dream_model_free (m);
  dream_st_close (f);
  g_free (in); g_free (sigma); g_free (ref); g_free (res);
  g_free (n_in); g_free (n_sig); g_free (n_out); g_free (path);
}

static void
test_reference_color (void)
{
  check_reference ("ffdnet-color", "color");
}

static void
test_reference_gray (void)
{
  check_reference ("ffdnet-gray", "gray");
}

static float *
random_image (int w, int h, int c, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  float *x = g_new (float, (size_t) w * h * c);
  for (int y = 0; y < h; y++)
    for (int xx = 0; xx < w; xx++)
      for (int ch = 0; ch < c; ch++)
        x[((size_t) y * w + xx) * c + ch] =
          (float) (0.5 + 0.3 * sin (xx * 0.05 + ch) * cos (y * 0.07)
                   + g_rand_double_range (r, -0.1, 0.1));
  g_rand_free (r);
  return x;
}

static void
test_tiled_equals_untiled (void)
{
  const char *names[] = { "ffdnet-color", "ffdnet-gray" };
  for (int k = 0; k < 2; k++)
    {
      dream_model *m = load_model (names[k]);
      int c = dream_model_get_channels (m), w = 301, h = 203;
      size_t n = (size_t) w * h * c;
      float *x = random_image (w, h, c, 5), *a = g_new (float, n), *b = g_new (float, n);
      dream_image in = { x, w, h, c }, oa = { a, w, h, c }, ob = { b, w, h, c };
      dream_denoise_params p = dream_denoise_default_params ();
      GError *error = NULL;
      g_assert_true (dream_denoise (m, &in, &oa, &p, NULL, &error));
      p.tile = 64;  /* many tiles, odd edges */
      g_assert_true (dream_denoise (m, &in, &ob, &p, NULL, &error));
      double d = max_abs_diff (b, a, n);
      g_test_message ("%s: max |tiled - untiled| = %.3g", names[k], d);
      g_assert_cmpfloat (d, <, 1e-5);
      dream_model_free (m);
      g_free (x); g_free (a); g_free (b);
    }
}

static void
test_deterministic (void)
{
  dream_model *m = load_model ("ffdnet-color");
  int w = 97, h = 61;
  size_t n = (size_t) w * h * 3;
  float *x = random_image (w, h, 3, 6), *a = g_new (float, n), *b = g_new (float, n);
  dream_image in = { x, w, h, 3 }, oa = { a, w, h, 3 }, ob = { b, w, h, 3 };
  dream_denoise_params p = dream_denoise_default_params ();
  g_assert_true (dream_denoise (m, &in, &oa, &p, NULL, NULL));
  g_assert_true (dream_denoise (m, &in, &ob, &p, NULL, NULL));
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  dream_model_free (m);
  g_free (x); g_free (a); g_free (b);
}

static void
test_channel_adaptation (void)
{
  /* Colour model on grey = mean of colour model on the replicated RGB;
   * grey model on RGB = grey model on each channel. */
  int w = 40, h = 30;
  size_t n = (size_t) w * h;
  float *g = random_image (w, h, 1, 7), *rgb = g_new (float, n * 3);
  float *g_out = g_new (float, n), *rgb_out = g_new (float, n * 3);
  for (size_t i = 0; i < n; i++)
    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i];
  dream_denoise_params p = dream_denoise_default_params ();
  dream_image gi = { g, w, h, 1 }, go = { g_out, w, h, 1 };
  dream_image ci = { rgb, w, h, 3 }, co = { rgb_out, w, h, 3 };

  dream_model *color = load_model ("ffdnet-color");
  g_assert_true (dream_denoise (color, &gi, &go, &p, NULL, NULL));
  g_assert_true (dream_denoise (color, &ci, &co, &p, NULL, NULL));
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (fabs (g_out[i] - (rgb_out[3 * i] + rgb_out[3 * i + 1] + rgb_out[3 * i + 2]) / 3), <, 1e-6);
  dream_model_free (color);

  dream_model *gray = load_model ("ffdnet-gray");
  g_assert_true (dream_denoise (gray, &gi, &go, &p, NULL, NULL));
  g_assert_true (dream_denoise (gray, &ci, &co, &p, NULL, NULL));
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat (fabs (g_out[i] - rgb_out[3 * i + c]), <, 1e-6);
  dream_model_free (gray);
  g_free (g); g_free (rgb); g_free (g_out); g_free (rgb_out);
}

typedef struct { double cancel_at, last; int calls; gboolean monotonic; } progress_probe;

static gboolean
probe_progress (gpointer user, double f)
{
  progress_probe *p = user;
  if (f < p->last)
    p->monotonic = FALSE;
  p->last = f;
  p->calls++;
  return f < p->cancel_at;
}

static void
test_progress_and_cancel (void)
{
  dream_model *m = load_model ("ffdnet-color");
  int w = 200, h = 150;
  size_t n = (size_t) w * h * 3;
  float *x = random_image (w, h, 3, 8), *y = g_new (float, n);
  dream_image in = { x, w, h, 3 }, out = { y, w, h, 3 };
  dream_denoise_params p = dream_denoise_default_params ();
  progress_probe probe = { 2.0, 0.0, 0, TRUE };
  p.progress = probe_progress;
  p.progress_user = &probe;
  p.tile = 64;
  GError *error = NULL;
  g_assert_true (dream_denoise (m, &in, &out, &p, NULL, &error));
  g_assert_true (probe.monotonic);
  g_assert_cmpfloat (probe.last, ==, 1.0);
  g_assert_cmpint (probe.calls, >, 12);

  probe = (progress_probe) { 0.4, 0.0, 0, TRUE };
  g_assert_false (dream_denoise (m, &in, &out, &p, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
  g_assert_cmpfloat (probe.last, <, 0.5);  /* stopped promptly */
  g_clear_error (&error);
  dream_model_free (m);
  g_free (x); g_free (y);
}

static void
test_bad_arguments (void)
{
  dream_model *m = load_model ("ffdnet-color");
  float px[4 * 4 * 3] = { 0 }, out_px[4 * 4 * 3];
  dream_image in = { px, 4, 4, 3 }, out = { out_px, 4, 4, 3 };
  dream_denoise_params p = dream_denoise_default_params ();
  GError *error = NULL;

  p.sigma = 80.0;
  g_assert_false (dream_denoise (m, &in, &out, &p, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.sigma = NAN;
  g_assert_false (dream_denoise (m, &in, &out, &p, NULL, &error));
  g_clear_error (&error);

  p = dream_denoise_default_params ();
  dream_image two = { px, 4, 4, 2 }, two_out = { out_px, 4, 4, 2 };
  g_assert_false (dream_denoise (m, &two, &two_out, &p, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  dream_image zero = { px, 0, 4, 3 };
  g_assert_false (dream_denoise (m, &zero, &out, &p, NULL, &error));
  g_clear_error (&error);

  dream_image small_out = { out_px, 2, 4, 3 };
  g_assert_false (dream_denoise (m, &in, &small_out, &p, NULL, &error));
  g_clear_error (&error);

  g_assert_false (dream_denoise (m, &in, &in, &p, NULL, &error));
  g_clear_error (&error);

  p.sigma = -1.0;  /* too small to estimate */
  g_assert_false (dream_denoise (m, &in, &out, &p, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* 1×1 image works (padded to 2×2). */
  p.sigma = 10.0;
  dream_image one = { px, 1, 1, 3 }, one_out = { out_px, 1, 1, 3 };
  g_assert_true (dream_denoise (m, &one, &one_out, &p, NULL, &error));
  g_assert_no_error (error);
  dream_model_free (m);
}

/* Writes a model file with the given tensors and architecture. */
static char *
write_model (const char *arch, const dream_st_out *t, int n)
{
  char *dir = g_dir_make_tmp ("dream-test-XXXXXX", NULL);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  const char *meta[] = { "architecture", arch, NULL };
  GError *error = NULL;
  g_assert_true (dream_st_write (path, t, n, arch ? meta : NULL, &error));
  g_free (dir);
  return path;
}

static void
remove_model (char *path)
{
  char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static void
test_bad_models (void)
{
  GError *error = NULL;
  float w[13 * 8 * 9] = { 0 }, b[12] = { 0 };
  dream_st_out wrong_shape[] = {
    { "layers.0.weight", 4, { 8, 13, 3, 3 }, w },
    { "layers.0.bias", 1, { 8 }, b },
    { "layers.1.weight", 4, { 12, 8, 3, 3 }, w },
    { "layers.1.bias", 1, { 10 }, b },   /* should be 12 */
  };
  const struct { const char *arch; int n; const char *expect; } cases[] = {
    { "ffdnet", 4, "layers.1.bias" },
    { "ffdnet", 1, "layers" },
    { "unet-sdxl", 4, "unsupported architecture" },
    { NULL, 4, "architecture" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char *path = write_model (cases[i].arch, wrong_shape, cases[i].n);
      dream_model *m = dream_model_load (path, &error);
      g_assert_null (m);
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
      g_test_message ("bad model %zu: %s", i, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
      g_clear_error (&error);
      remove_model (path);
    }

  /* A truncated copy of the real model. */
  char *src = NULL, *contents = NULL;
  gsize len;
  src = dream_model_find ("ffdnet-color", &error);
  g_assert_true (g_file_get_contents (src, &contents, &len, &error));
  char *dir = g_dir_make_tmp ("dream-test-XXXXXX", NULL);
  char *cut = g_build_filename (dir, "cut.safetensors", NULL);
  g_assert_true (g_file_set_contents (cut, contents, len / 2, &error));
  g_assert_null (dream_model_load (cut, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  g_assert_null (dream_model_load ("/nonexistent/x.safetensors", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_unlink (cut);
  g_rmdir (dir);
  g_free (cut); g_free (dir); g_free (contents); g_free (src);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ffdnet/reference-color", test_reference_color);
  g_test_add_func ("/ffdnet/reference-gray", test_reference_gray);
  g_test_add_func ("/ffdnet/tiled-equals-untiled", test_tiled_equals_untiled);
  g_test_add_func ("/ffdnet/deterministic", test_deterministic);
  g_test_add_func ("/ffdnet/channel-adaptation", test_channel_adaptation);
  g_test_add_func ("/ffdnet/progress-and-cancel", test_progress_and_cancel);
  g_test_add_func ("/ffdnet/bad-arguments", test_bad_arguments);
  g_test_add_func ("/ffdnet/bad-models", test_bad_models);
  return g_test_run ();
}
