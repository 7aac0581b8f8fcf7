/* test_upscale_quality.c — ×4 super-resolution quality on Set5 and Set14.
 *
 * The usual protocol: the HR image cropped to a multiple of 4, the LR
 * image made from it by bicubic downscaling (Keys a = -0.5, antialiased,
 * like MATLAB's imresize) and rounded to 8 bits; the result clamped and
 * rounded to 8 bits; PSNR on the luma Y = 16 + 65.481 R + 128.553 G +
 * 24.966 B (R, G, B in 0..1; grey images as R = G = B) after cropping 4
 * pixels from every border. Sharpness is the mean gradient magnitude of
 * that Y (central differences), over the same region, relative to the HR
 * image's (1.0 = as sharp as the original).
 *
 * Models: bicubic (the same resampler), "fast" RDN ×4 (esrgan-slim,
 * trained for fidelity: must beat bicubic on PSNR-Y), "photo" Real-ESRGAN
 * general v3 and "anime" animevideo v3 (trained for perceived detail, they
 * also remove noise and may score below bicubic on PSNR-Y, but must be
 * clearly sharper: general v3 at least 1.25 × bicubic's sharpness,
 * animevideo v3, which draws flatter regions, 1.1 ×).
 *
 * The sets are read from ../shared/data/testsets (or $DREAM_SHARED_DATA)
 * and never copied into the project; the test is skipped, saying so, when
 * they are absent. Set DREAM_QUALITY_OUT to a folder to get every result
 * as PNG for looking at.
 */
#include "dream.h"
#include "imageio.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

#define SCALE 4
/* Sharpness over bicubic's that each detail-trained model must reach
 * (measured: general v3 1.42 / 1.38, animevideo v3 1.20 / 1.16 on Set5 /
 * Set14). */
#define SHARPER_PHOTO 1.25
#define SHARPER_ANIME 1.10

static char *
set_dir (const char *set)
{
  const char *shared = g_getenv ("DREAM_SHARED_DATA");
  char *dir = g_build_filename (shared ? shared : "../shared/data", "testsets", set, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_free (dir);
      return NULL;
    }
  return dir;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static float
q8 (float v)
{
  return roundf (CLAMP (v, 0.0f, 1.0f) * 255.0f) / 255.0f;
}

/* Y (0..255 scale) of pixel i of an image with c = 1 or 3 channels. */
static double
luma (const float *img, int c, size_t i)
{
  const float *p = img + i * c;
  double r = p[0], g = c == 3 ? p[1] : p[0], b = c == 3 ? p[2] : p[0];
  return 16.0 + 65.481 * r + 128.553 * g + 24.966 * b;
}

static double
psnr_y (const float *a, const float *b, int w, int h, int c, int border)
{
  double se = 0.0;
  size_t n = 0;
  for (int y = border; y < h - border; y++)
    for (int x = border; x < w - border; x++)
      {
        size_t i = (size_t) y * w + x;
        double d = luma (a, c, i) - luma (b, c, i);
        se += d * d;
        n++;
      }
  return 10.0 * log10 (255.0 * 255.0 / (se / n));
}

static double
sharpness (const float *img, int w, int h, int c, int border)
{
  double s = 0.0;
  size_t n = 0;
  for (int y = MAX (border, 1); y < h - MAX (border, 1); y++)
    for (int x = MAX (border, 1); x < w - MAX (border, 1); x++)
      {
        size_t i = (size_t) y * w + x;
        double gx = 0.5 * (luma (img, c, i + 1) - luma (img, c, i - 1));
        double gy = 0.5 * (luma (img, c, i + w) - luma (img, c, i - w));
        s += sqrt (gx * gx + gy * gy);
        n++;
      }
  return s / n;
}

/* dst (dw, dh) = resample of src (sw, sh) with the given filter. */
static void
resize (dream_filter f, const float *src, int sw, int sh, int c,
        float *dst, int dw, int dh)
{
  dream_resampler rx, ry;
  g_assert_true (dream_resampler_init (&rx, f, sw, dw, NULL));
  g_assert_true (dream_resampler_init (&ry, f, sh, dh, NULL));
  float *scratch = g_new (float, dream_resample_2d_scratch_size (&ry, 0, dh, dw, c));
  dream_resample_2d (&rx, &ry, src, 0, 0, sw, c, 0, 0, dw, dh, dst, scratch);
  g_free (scratch);
  dream_resampler_clear (&rx);
  dream_resampler_clear (&ry);
}

static void
save (const char *dir, const char *method, const char *name, const float *img,
      int w, int h, int c)
{
  if (!dir)
    return;
  char *file = g_strdup_printf ("%s-%s", method, name);
  char *path = g_build_filename (dir, file, NULL);
  dream_file_image fi = { (float *) img, w, h, c, 8 };
  g_assert_true (dream_file_image_save_png (path, &fi, 8, NULL));
  g_free (path);
  g_free (file);
}

enum { BICUBIC, FAST, PHOTO, ANIME, N_METHODS };
static const char *const method_names[N_METHODS] = { "bicubic", "fast", "photo", "anime" };

static void
run_set (gconstpointer data)
{
  const char *set = data;
  char *dir = set_dir (set);
  if (!dir)
    {
      g_test_skip ("test set not found: set DREAM_SHARED_DATA to ../shared/data (CI has it)");
      return;
    }
  const char *out_dir = g_getenv ("DREAM_QUALITY_OUT");
  GError *error = NULL;
  dream_model *models[N_METHODS] = { NULL };
  for (int m = FAST; m < N_METHODS; m++)
    {
      char *path = dream_upscale_model_find (method_names[m], SCALE, &error);
      g_assert_no_error (error);
      models[m] = dream_model_load (path, &error);
      g_assert_no_error (error);
      g_free (path);
    }

  GDir *d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".png"))
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  g_ptr_array_sort (names, compare_names);
  g_assert_cmpuint (names->len, >, 0);

  double sum_psnr[N_METHODS] = { 0 }, sum_sharp[N_METHODS] = { 0 };
  for (guint i = 0; i < names->len; i++)
    {
      const char *nm = g_ptr_array_index (names, i);
      char *path = g_build_filename (dir, nm, NULL);
      dream_file_image img = { 0 };
      g_assert_true (dream_file_image_load (path, &img, &error));
      g_assert_no_error (error);
      /* colour (or grey) without alpha, cropped to a multiple of 4 */
      int c = img.channels >= 3 ? 3 : 1;
      int w = img.width / SCALE * SCALE, h = img.height / SCALE * SCALE;
      int lw = w / SCALE, lh = h / SCALE;
      float *hr = g_new (float, (size_t) w * h * c);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          memcpy (hr + ((size_t) y * w + x) * c,
                  img.data + ((size_t) y * img.width + x) * img.channels, sizeof (float) * c);
      float *lr = g_new (float, (size_t) lw * lh * c), *sr = g_new (float, (size_t) w * h * c);
      resize (DREAM_FILTER_BICUBIC, hr, w, h, c, lr, lw, lh);
      for (size_t k = 0; k < (size_t) lw * lh * c; k++)
        lr[k] = q8 (lr[k]);
      double hr_sharp = sharpness (hr, w, h, c, SCALE);
      GString *line = g_string_new (NULL);
      g_string_append_printf (line, "%s %-15s", set, nm);
      for (int m = 0; m < N_METHODS; m++)
        {
          if (m == BICUBIC)
            resize (DREAM_FILTER_BICUBIC, lr, lw, lh, c, sr, w, h);
          else
            {
              dream_upscale_params p = dream_upscale_default_params ();
              p.scale = SCALE;
              dream_image in = { lr, lw, lh, c }, out = { sr, w, h, c };
              g_assert_true (dream_upscale (models[m], &in, &out, &p, &error));
              g_assert_no_error (error);
            }
          for (size_t k = 0; k < (size_t) w * h * c; k++)
            sr[k] = q8 (sr[k]);
          double q = psnr_y (sr, hr, w, h, c, SCALE);
          double s = sharpness (sr, w, h, c, SCALE) / hr_sharp;
          sum_psnr[m] += q;
          sum_sharp[m] += s;
          g_string_append_printf (line, "  %s %.2f dB %.2f", method_names[m], q, s);
          save (out_dir, method_names[m], nm, sr, w, h, c);
        }
      g_test_message ("%s", line->str);
      g_string_free (line, TRUE);
      g_free (hr); g_free (lr); g_free (sr); g_free (path);
      dream_file_image_clear (&img);
    }
  double n = names->len;
  g_printerr ("%s x4 over %u images: PSNR-Y / sharpness (1 = HR's):", set, names->len);
  for (int m = 0; m < N_METHODS; m++)
    g_printerr ("  %s %.2f dB %.2f", method_names[m], sum_psnr[m] / n, sum_sharp[m] / n);
  g_printerr ("\n");
  g_assert_cmpfloat (sum_psnr[FAST], >, sum_psnr[BICUBIC]);
  g_assert_cmpfloat (sum_sharp[PHOTO], >, SHARPER_PHOTO * sum_sharp[BICUBIC]);
  g_assert_cmpfloat (sum_sharp[ANIME], >, SHARPER_ANIME * sum_sharp[BICUBIC]);

  for (int m = FAST; m < N_METHODS; m++)
    dream_model_free (models[m]);
  g_ptr_array_unref (names);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/upscale-quality/set5", "set5", run_set);
  g_test_add_data_func ("/upscale-quality/set14", "set14", run_set);
  return g_test_run ();
}
