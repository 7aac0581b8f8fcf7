/* test_noise_estimate.c — dream_noise_estimate() against noise of known sigma.
 *
 * Two 256×256 crops of Kodak photos (tests/data/kodim08-256.ppm: houses,
 * roof tiles and shutters; kodim13-256.ppm: foliage over a mountain stream,
 * the hardest of the Kodak set for a noise estimator), cut from the centre
 * of the 500×500 Kodak24 test images with netpbm (pnmcut -left 122
 * -top 122 -width 256 -height 256). White Gaussian noise of a known sigma
 * (8-bit levels) is added in float with a fixed seed, and the estimate must
 * lie within max(1.5 levels, 10%) of the truth, also when clipped to 0..1
 * (sigma 25). The clean crops are real photographs and carry a little
 * noise of their own (film grain), and some fine texture reads as noise:
 * kodim08 gives 1.07 levels and must stay under 3; kodim13, all foliage
 * and rapids, gives 3.08 and must stay under 3.5. The same in grey (Rec.
 * 601 luma), with the looser bounds for kodim13 given below.
 *
 * The data folder comes from DREAM_TEST_DATA (meson sets it), else
 * tests/data. Run alone:
 *
 *     gcc -O2 -std=c11 -Wall -Wextra -D_GNU_SOURCE -Iengine/include \
 *         tests/test_noise_estimate.c engine/tasks/noise_estimate.c \
 *         $(pkg-config --cflags --libs glib-2.0) -lm && ./a.out
 */
#include "dream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The crops; bounds on the estimate of the clean crop, and the least
 * tolerance in levels (normally 1.5), in colour and in grey. */
static const struct {
  const char *name;
  double clean_limit, grey_clean_limit;
  double grey_min_tolerance;
} photos[] = {
  { "kodim08-256.ppm", 3.0, 3.0, 1.5 },
  /* Fine texture everywhere and no flat area: some of it reads as noise.
   * The clean crop gives 3.08 levels in colour and 3.37 in grey (the whole
   * 500×500 image, which has calmer parts, about 1), and grey at sigma 5
   * gives 6.43: one channel has a third of the patches to choose from. */
  { "kodim13-256.ppm", 3.5, 4.0, 2.0 },
};
static const double sigmas[] = { 5, 10, 15, 25, 35, 50, 75 };

/* ---- images ------------------------------------------------------------- */

static dream_image
image_new (int width, int height, int channels)
{
  dream_image im = { g_new0 (float, (gsize) width * height * channels),
                     width, height, channels };
  return im;
}

static void
image_free (dream_image *im)
{
  g_clear_pointer (&im->data, g_free);
}

static gsize
image_size (const dream_image *im)
{
  return (gsize) im->width * im->height * im->channels;
}

/* Reads the next header number of a binary PPM/PGM, skipping white space
 * and # comments. */
static int
pnm_number (const guchar **p, const guchar *end)
{
  for (;;)
    {
      while (*p < end && g_ascii_isspace (**p))
        (*p)++;
      if (*p < end && **p == '#')
        {
          while (*p < end && **p != '\n')
            (*p)++;
          continue;
        }
      break;
    }
  int value = -1;
  while (*p < end && g_ascii_isdigit (**p) && value < 100000)
    value = (value < 0 ? 0 : value * 10) + (*(*p)++ - '0');
  return value;
}

/* Loads a binary 8-bit PPM (P6) or PGM (P5) as floats 0..1. */
static dream_image
pnm_load (const char *path)
{
  gchar *contents = NULL;
  gsize length = 0;
  GError *error = NULL;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_true (length > 2 && contents[0] == 'P'
                 && (contents[1] == '5' || contents[1] == '6'));

  const int channels = contents[1] == '6' ? 3 : 1;
  const guchar *p = (const guchar *) contents + 2;
  const guchar *end = (const guchar *) contents + length;
  const int width = pnm_number (&p, end);
  const int height = pnm_number (&p, end);
  const int maxval = pnm_number (&p, end);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  g_assert_cmpint (maxval, ==, 255);
  p++;                                  /* the one white space after maxval */

  dream_image im = image_new (width, height, channels);
  g_assert_cmpuint ((gsize) (end - p), >=, image_size (&im));
  for (gsize i = 0; i < image_size (&im); i++)
    im.data[i] = p[i] / 255.0f;
  g_free (contents);
  return im;
}

static dream_image
photo_load (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  char *path = g_build_filename (dir ? dir : "tests/data", name, NULL);
  dream_image im = pnm_load (path);
  g_free (path);
  return im;
}

/* Rec. 601 luma of an RGB image. */
static dream_image
image_to_grey (const dream_image *rgb)
{
  dream_image grey = image_new (rgb->width, rgb->height, 1);
  for (gsize i = 0; i < image_size (&grey); i++)
    {
      const float *px = rgb->data + 3 * i;
      grey.data[i] = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
    }
  return grey;
}

/* ---- noise -------------------------------------------------------------- */

/* A standard normal sample by Box–Muller. */
static double
gaussian (GRand *rng)
{
  const double u1 = 1.0 - g_rand_double (rng);    /* (0, 1]: log is finite */
  const double u2 = g_rand_double (rng);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* A copy of `clean` with white Gaussian noise of sigma (8-bit levels)
 * added, optionally clipped to 0..1. */
static dream_image
image_add_noise (const dream_image *clean, double sigma, gboolean clip,
                 guint32 seed)
{
  dream_image noisy = image_new (clean->width, clean->height, clean->channels);
  GRand *rng = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < image_size (&noisy); i++)
    {
      float v = clean->data[i] + (float) (sigma / 255.0 * gaussian (rng));
      noisy.data[i] = clip ? CLAMP (v, 0.0f, 1.0f) : v;
    }
  g_rand_free (rng);
  return noisy;
}

/* max(1.5 levels, 10%), or max(least, 10%) */
static double
tolerance_at_least (double least, double sigma)
{
  return MAX (least, 0.1 * sigma);
}

static double
tolerance (double sigma)
{
  return tolerance_at_least (1.5, sigma);
}

/* ---- accuracy on photographs -------------------------------------------- */

/* Estimates sigma on `clean` and its noisy versions; prints one table row
 * and checks every entry: the clean estimate under clean_limit, the others
 * within max(least, 10%) of the truth. */
static void
check_photo (const char *label, const dream_image *clean, double clean_limit,
             double least)
{
  GString *row = g_string_new (NULL);
  const double e0 = dream_noise_estimate (clean);

  g_string_append_printf (row, "%-16s %6.2f", label, e0);
  g_assert_true (isfinite (e0));
  g_assert_cmpfloat (e0, >=, 0.0);
  g_assert_cmpfloat (e0, <, clean_limit);

  for (guint k = 0; k < G_N_ELEMENTS (sigmas); k++)
    {
      dream_image noisy = image_add_noise (clean, sigmas[k], FALSE, 1000 + k);
      const double e = dream_noise_estimate (&noisy);
      g_string_append_printf (row, " %6.2f", e);
      if (!(fabs (e - sigmas[k]) <= tolerance_at_least (least, sigmas[k])))
        g_test_message ("%s: sigma %.0f estimated %.2f", label, sigmas[k], e);
      g_assert_cmpfloat (fabs (e - sigmas[k]), <=,
                         tolerance_at_least (least, sigmas[k]));
      image_free (&noisy);
    }

  /* Clipped to 0..1: in bright and dark areas the noise is cut off. */
  dream_image clipped = image_add_noise (clean, 25.0, TRUE, 2000);
  const double ec = dream_noise_estimate (&clipped);
  g_string_append_printf (row, " %6.2f", ec);
  g_assert_cmpfloat (fabs (ec - 25.0), <=, tolerance_at_least (least, 25.0));
  image_free (&clipped);

  g_test_message ("%s", row->str);
  g_string_free (row, TRUE);
}

static void
print_header (void)
{
  GString *head = g_string_new ("estimate for sigma:   0");
  for (guint k = 0; k < G_N_ELEMENTS (sigmas); k++)
    g_string_append_printf (head, " %6.0f", sigmas[k]);
  g_string_append (head, "   25 clipped");
  g_test_message ("%s", head->str);
  g_string_free (head, TRUE);
}

static void
test_rgb (void)
{
  print_header ();
  for (guint i = 0; i < G_N_ELEMENTS (photos); i++)
    {
      dream_image photo = photo_load (photos[i].name);
      g_assert_cmpint (photo.channels, ==, 3);
      check_photo (photos[i].name, &photo, photos[i].clean_limit, 1.5);
      image_free (&photo);
    }
}

static void
test_grey (void)
{
  print_header ();
  for (guint i = 0; i < G_N_ELEMENTS (photos); i++)
    {
      dream_image photo = photo_load (photos[i].name);
      dream_image grey = image_to_grey (&photo);
      char *label = g_strdup_printf ("grey %.7s", photos[i].name);
      check_photo (label, &grey, photos[i].grey_clean_limit,
                   photos[i].grey_min_tolerance);
      g_free (label);
      image_free (&grey);
      image_free (&photo);
    }
}

/* ---- synthetic and odd input -------------------------------------------- */

static void
test_pure_noise (void)
{
  dream_image flat = image_new (300, 200, 1);
  for (gsize i = 0; i < image_size (&flat); i++)
    flat.data[i] = 0.5f;

  for (double sigma = 1.0; sigma <= 64.0; sigma *= 4.0)
    {
      dream_image noisy = image_add_noise (&flat, sigma, FALSE, 7);
      const double e = dream_noise_estimate (&noisy);
      g_test_message ("grey 300x200 of pure noise, sigma %.0f: %.3f", sigma, e);
      g_assert_cmpfloat (fabs (e - sigma), <=, 0.05 * sigma);
      image_free (&noisy);
    }
  image_free (&flat);
}

static void
test_constant (void)
{
  const float levels[] = { 0.0f, 0.5f, 1.0f, 0.123f };
  for (int channels = 1; channels <= 4; channels++)
    for (guint k = 0; k < G_N_ELEMENTS (levels); k++)
      {
        dream_image im = image_new (64, 48, channels);
        for (gsize i = 0; i < image_size (&im); i++)
          im.data[i] = levels[k];
        const double e = dream_noise_estimate (&im);
        g_assert_true (isfinite (e));
        g_assert_cmpfloat (e, >=, 0.0);
        g_assert_cmpfloat (e, <, 0.01);
        image_free (&im);
      }
}

static void
test_too_small (void)
{
  const int sizes[][2] = { { 10, 10 }, { 15, 100 }, { 100, 15 }, { 0, 0 },
                           { -5, 20 } };
  float pixels[100 * 16 * 3] = { 0 };

  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      dream_image im = { pixels, sizes[k][0], sizes[k][1], 3 };
      g_assert_cmpfloat (dream_noise_estimate (&im), <, 0.0);
    }
  dream_image no_data = { NULL, 64, 64, 3 };
  dream_image no_channels = { pixels, 16, 16, 0 };
  g_assert_cmpfloat (dream_noise_estimate (NULL), <, 0.0);
  g_assert_cmpfloat (dream_noise_estimate (&no_data), <, 0.0);
  g_assert_cmpfloat (dream_noise_estimate (&no_channels), <, 0.0);

  /* The smallest accepted size gives a number (with fewer, smaller
   * patches, so it is only roughly right). */
  dream_image flat = image_new (16, 16, 1);
  for (gsize i = 0; i < image_size (&flat); i++)
    flat.data[i] = 0.5f;
  dream_image noisy = image_add_noise (&flat, 20.0, FALSE, 3);
  const double e = dream_noise_estimate (&noisy);
  g_test_message ("16x16 grey, sigma 20: %.2f", e);
  g_assert_cmpfloat (e, >, 10.0);
  g_assert_cmpfloat (e, <, 30.0);
  image_free (&noisy);
  image_free (&flat);
}

static void
test_odd_values (void)
{
  dream_image photo = photo_load (photos[0].name);
  dream_image noisy = image_add_noise (&photo, 25.0, FALSE, 11);
  const double reference = dream_noise_estimate (&noisy);

  /* the same call twice gives the same bits */
  g_assert_cmpfloat (dream_noise_estimate (&noisy), ==, reference);

  /* RGBA: the alpha channel is ignored */
  dream_image rgba = image_new (noisy.width, noisy.height, 4);
  for (gsize i = 0; i < (gsize) noisy.width * noisy.height; i++)
    {
      memcpy (rgba.data + 4 * i, noisy.data + 3 * i, 3 * sizeof (float));
      rgba.data[4 * i + 3] = (i % 7) / 6.0f;
    }
  g_assert_cmpfloat (dream_noise_estimate (&rgba), ==, reference);
  image_free (&rgba);

  /* NaN and infinities in 0.5% of the pixels: their patches are skipped */
  GRand *rng = g_rand_new_with_seed (5);
  const float odd[] = { NAN, INFINITY, -INFINITY };
  for (int k = 0; k < noisy.width * noisy.height / 200; k++)
    noisy.data[g_rand_int_range (rng, 0, (gint32) image_size (&noisy))] = odd[k % 3];
  g_rand_free (rng);
  const double e = dream_noise_estimate (&noisy);
  g_test_message ("sigma 25 with NaN/Inf pixels: %.2f (clean of them %.2f)",
                  e, reference);
  g_assert_cmpfloat (fabs (e - 25.0), <=, tolerance (25.0));

  /* nothing finite at all */
  for (gsize i = 0; i < image_size (&noisy); i++)
    noisy.data[i] = NAN;
  g_assert_cmpfloat (dream_noise_estimate (&noisy), <, 0.0);

  /* values far outside 0..1 */
  for (gsize i = 0; i < image_size (&noisy); i++)
    noisy.data[i] = (float) ((i * 2654435761u) % 1000) * 1e3f - 5e5f;
  g_assert_true (isfinite (dream_noise_estimate (&noisy)));

  image_free (&noisy);
  image_free (&photo);
}

/* A 4000×3000 RGB image of uniform noise: the estimate of a large image
 * (the patch grid is subsampled) and its time. */
static void
test_large (void)
{
  dream_image im = image_new (4000, 3000, 3);
  GRand *rng = g_rand_new_with_seed (9);
  for (gsize i = 0; i < image_size (&im); i++)
    im.data[i] = (float) g_rand_double (rng);
  g_rand_free (rng);

  double best = G_MAXDOUBLE, e = 0.0;
  for (int run = 0; run < 3; run++)
    {
      gint64 start = g_get_monotonic_time ();
      e = dream_noise_estimate (&im);
      best = MIN (best, (g_get_monotonic_time () - start) / 1e6);
    }
  const double truth = 255.0 / sqrt (12.0);   /* std of uniform 0..1 */
  g_test_message ("4000x3000 RGB uniform noise: %.2f (std %.2f), best of 3 "
                  "runs %.3f s", e, truth, best);
  g_assert_cmpfloat (fabs (e - truth), <=, 0.05 * truth);
  image_free (&im);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/noise-estimate/rgb", test_rgb);
  g_test_add_func ("/noise-estimate/grey", test_grey);
  g_test_add_func ("/noise-estimate/pure-noise", test_pure_noise);
  g_test_add_func ("/noise-estimate/constant", test_constant);
  g_test_add_func ("/noise-estimate/too-small", test_too_small);
  g_test_add_func ("/noise-estimate/odd-values", test_odd_values);
  g_test_add_func ("/noise-estimate/large", test_large);
  return g_test_run ();
}
