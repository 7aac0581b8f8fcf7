/* test_imageio.c — tests for cli/imageio.c (PNG/JPEG in, PNG out).
 *
 * Every input file is made here with libpng or libjpeg themselves, in a
 * temporary folder that is removed at the end, so there are no fixtures:
 * round trips at 8 and 16 bits for 1–4 channels, low-bit grey, palettes
 * with and without tRNS, tRNS on grey and RGB, Adam7 interlace, grey, RGB
 * and CMYK JPEGs, every prefix of a PNG and a JPEG (truncation), a flipped
 * byte, headers claiming huge sizes, text, empty and missing files, and
 * saves that must fail without leaving anything behind.
 *
 * Standalone: gcc -std=c11 -Wall -Wextra -D_GNU_SOURCE -Icli
 *   tests/test_imageio.c cli/imageio.c
 *   $(pkg-config --cflags --libs glib-2.0 libpng libjpeg) -lm && ./a.out
 */
#include "imageio.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <png.h>
#include <jpeglib.h>

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Number of entries in tmp_dir (to see that no temporary file is left). */
static int
count_dir_entries (void)
{
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  int n = 0;
  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

static void
write_bytes (const char *path, const void *bytes, gsize length)
{
  GError *error = NULL;
  g_file_set_contents (path, bytes, (gssize) length, &error);
  g_assert_no_error (error);
}

/* Loads a file that must be rejected with an error in @domain. */
static void
assert_load_fails (const char *path, GQuark domain, const char *substring)
{
  dream_file_image img;
  GError *error = NULL;
  g_assert_false (dream_file_image_load (path, &img, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == domain);
  g_assert_null (img.data);
  if (substring != NULL && strstr (error->message, substring) == NULL)
    g_error ("message “%s” lacks “%s”", error->message, substring);
  g_error_free (error);
}

/* ------------------------------------------------ writing test PNGs */

typedef struct {
  int width, height;
  int color_type;       /* PNG_COLOR_TYPE_* */
  int bit_depth;        /* 1, 2, 4, 8 or 16 */
  int interlace;        /* PNG_INTERLACE_NONE or PNG_INTERLACE_ADAM7 */
  const guint16 *samples;   /* (height, width, file channels) raw values */
  const png_color *palette;
  int num_palette;
  const guint8 *trans_alpha;    /* palette tRNS */
  int num_trans;
  const png_color_16 *trans_color;   /* grey/RGB tRNS */
} TestPng;

static int
file_channels (int color_type)
{
  switch (color_type)
    {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
    }
}

static void
write_test_png (const char *path, const TestPng *t)
{
  int channels = file_channels (t->color_type);
  gsize rowbytes = ((gsize) t->width * channels * t->bit_depth + 7) / 8;
  guint8 *pixels = g_malloc0 (rowbytes * t->height);
  png_bytep *rows = g_new (png_bytep, t->height);

  /* Pack the samples: MSB first below 8 bits, big-endian at 16. */
  for (int y = 0; y < t->height; y++)
    {
      guint8 *row = pixels + y * rowbytes;
      rows[y] = row;
      for (int i = 0; i < t->width * channels; i++)
        {
          guint v = t->samples[(gsize) y * t->width * channels + i];
          if (t->bit_depth == 16)
            {
              row[2 * i] = v >> 8;
              row[2 * i + 1] = v & 0xff;
            }
          else if (t->bit_depth == 8)
            row[i] = v;
          else
            {
              int bit = i * t->bit_depth;
              row[bit / 8] |= v << (8 - t->bit_depth - bit % 8);
            }
        }
    }

  FILE *fp = g_fopen (path, "wb");
  g_assert_nonnull (fp);
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING,
                                             NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  g_assert_nonnull (info);
  if (setjmp (png_jmpbuf (png)))
    g_error ("libpng failed writing a test file");
  png_init_io (png, fp);
  png_set_IHDR (png, info, t->width, t->height, t->bit_depth, t->color_type,
                t->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                PNG_FILTER_TYPE_DEFAULT);
  if (t->palette != NULL)
    png_set_PLTE (png, info, t->palette, t->num_palette);
  if (t->trans_alpha != NULL || t->trans_color != NULL)
    png_set_tRNS (png, info, t->trans_alpha, t->num_trans, t->trans_color);
  png_write_info (png, info);
  png_write_image (png, rows);   /* does the Adam7 passes itself */
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  fclose (fp);
  g_free (rows);
  g_free (pixels);
}

/* A PNG with a valid IHDR for width x height and one row of image data,
 * then nothing: enough for the loader to read the header. */
static void
write_png_header_only (const char *path, png_uint_32 width, png_uint_32 height)
{
  FILE *fp = g_fopen (path, "wb");
  g_assert_nonnull (fp);
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING,
                                             NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  guint8 *row = g_malloc (width);
  for (png_uint_32 x = 0; x < width; x++)   /* noise: does not compress */
    row[x] = (guint8) ((x * 2654435761u) >> 13);
  if (setjmp (png_jmpbuf (png)))
    g_error ("libpng failed writing a test header");
  png_init_io (png, fp);
  png_set_user_limits (png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_set_compression_buffer_size (png, 64);   /* IDAT comes out early */
  png_set_IHDR (png, info, width, height, 8, PNG_COLOR_TYPE_GRAY,
                PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                PNG_FILTER_TYPE_DEFAULT);
  png_write_info (png, info);
  png_write_row (png, row);
  png_write_flush (png);
  g_assert_cmpint (ftell (fp), >, 33);   /* signature + IHDR + some IDAT */
  png_destroy_write_struct (&png, &info);
  fclose (fp);
  g_free (row);
}

/* ----------------------------------------------- writing test JPEGs */

/* samples: (height, width, components), 8-bit. */
static void
write_test_jpeg (const char *path, int width, int height, int components,
                 J_COLOR_SPACE space, const guint8 *samples)
{
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  FILE *fp = g_fopen (path, "wb");
  g_assert_nonnull (fp);

  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_compress (&cinfo);
  jpeg_stdio_dest (&cinfo, fp);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = space;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, 95, TRUE);
  jpeg_start_compress (&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height)
    {
      JSAMPROW row = (JSAMPROW) samples
                     + (gsize) cinfo.next_scanline * width * components;
      jpeg_write_scanlines (&cinfo, &row, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);
  fclose (fp);
}

/* A smooth colour gradient, what JPEG keeps well. */
static guint8 *
gradient (int width, int height, int components)
{
  guint8 *s = g_malloc ((gsize) width * height * components);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < components; c++)
        s[((gsize) y * width + x) * components + c] =
          (guint8) MIN (255, 30 + x * (c + 1) + y * ABS (3 - c));
  return s;
}

/* --------------------------------------------------------- round trip */

static void
test_roundtrip (gconstpointer data)
{
  int bits = GPOINTER_TO_INT (data) / 10;
  int channels = GPOINTER_TO_INT (data) % 10;
  double max = bits == 16 ? 65535.0 : 255.0;
  dream_file_image src = { NULL, 37, 23, channels, bits };
  gsize n = (gsize) src.width * src.height * channels;
  GRand *rand = g_rand_new_with_seed (1234 + GPOINTER_TO_INT (data));
  GError *error = NULL;

  src.data = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    src.data[i] = (float) g_rand_double_range (rand, 0.0, 1.0);
  /* Out-of-range values are clamped; exact levels stay exact. */
  src.data[0] = -0.25f;
  src.data[1] = 1.75f;
  src.data[2] = NAN;
  src.data[3] = 0.0f;
  src.data[4] = 1.0f;
  src.data[5] = (float) (1.0 / max);
  src.data[6] = (float) (0.51 / max);   /* rounds up */
  src.data[7] = (float) (0.49 / max);

  g_autofree char *path = tmp_path ("roundtrip.png");
  int entries = count_dir_entries ();
  g_assert_true (dream_file_image_save_png (path, &src, bits, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_dir_entries (), ==, entries + 1);

  dream_file_image got;
  g_assert_true (dream_file_image_load (path, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpint (got.width, ==, src.width);
  g_assert_cmpint (got.height, ==, src.height);
  g_assert_cmpint (got.channels, ==, channels);
  g_assert_cmpint (got.bit_depth, ==, bits);
  for (gsize i = 0; i < n; i++)
    {
      double v = src.data[i];
      v = isnan (v) ? 0.0 : CLAMP (v, 0.0, 1.0);
      float expected = (float) floor (v * max + 0.5) / (float) max;
      if (got.data[i] != expected)
        g_error ("sample %" G_GSIZE_FORMAT ": got %.9g, expected %.9g "
                 "(from %.9g)", i, got.data[i], expected, src.data[i]);
    }
  g_assert_cmpfloat (got.data[6], ==, (float) (1.0 / max));
  g_assert_cmpfloat (got.data[7], ==, 0.0f);

  /* Saving what was loaded gives the same values again. */
  dream_file_image again;
  g_assert_true (dream_file_image_save_png (path, &got, bits, &error));
  g_assert_true (dream_file_image_load (path, &again, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (again.data, n * sizeof (float), got.data,
                   n * sizeof (float));

  dream_file_image_clear (&again);
  dream_file_image_clear (&got);
  g_assert_null (got.data);
  g_free (src.data);
  g_rand_free (rand);
  g_unlink (path);
}

/* -------------------------------------------------- PNG colour types */

static void
assert_loads (const char *path, int width, int height, int channels,
              int bit_depth, const float *expected)
{
  dream_file_image img;
  GError *error = NULL;
  g_assert_true (dream_file_image_load (path, &img, &error));
  g_assert_no_error (error);
  g_assert_cmpint (img.width, ==, width);
  g_assert_cmpint (img.height, ==, height);
  g_assert_cmpint (img.channels, ==, channels);
  g_assert_cmpint (img.bit_depth, ==, bit_depth);
  for (gsize i = 0; i < (gsize) width * height * channels; i++)
    if (img.data[i] != expected[i])
      g_error ("sample %" G_GSIZE_FORMAT ": got %.9g, expected %.9g",
               i, img.data[i], expected[i]);
  dream_file_image_clear (&img);
}

static void
test_png_grey_low_bits (void)
{
  g_autofree char *path = tmp_path ("grey-low.png");
  const int width = 11, height = 3;
  for (int bits = 1; bits <= 4; bits *= 2)
    {
      guint maxv = (1u << bits) - 1;
      guint16 samples[11 * 3];
      float expected[11 * 3];
      for (int i = 0; i < width * height; i++)
        {
          samples[i] = (i * 7 + i / width) % (maxv + 1);
          /* libpng scales to 8 bits by bit replication: v * 255 / max. */
          expected[i] = (float) (samples[i] * 255 / maxv) / 255.0f;
        }
      TestPng t = { width, height, PNG_COLOR_TYPE_GRAY, bits,
                    PNG_INTERLACE_NONE, samples, NULL, 0, NULL, 0, NULL };
      write_test_png (path, &t);
      assert_loads (path, width, height, 1, 8, expected);
    }
  g_unlink (path);
}

static void
test_png_palette (void)
{
  static const png_color palette[4] = {
    { 255, 0, 0 }, { 0, 128, 7 }, { 1, 2, 250 }, { 200, 200, 200 }
  };
  static const guint8 alpha[3] = { 0, 100, 255 };   /* entry 3: opaque */
  g_autofree char *path = tmp_path ("palette.png");
  const int width = 9, height = 4;
  guint16 index[9 * 4];
  float rgb[9 * 4 * 3], rgba[9 * 4 * 4];

  for (int i = 0; i < width * height; i++)
    {
      const png_color *p = &palette[index[i] = (i * 5 + 1) % 4];
      guint8 a = index[i] < 3 ? alpha[index[i]] : 255;
      float v[4] = { p->red / 255.0f, p->green / 255.0f, p->blue / 255.0f,
                     a / 255.0f };
      memcpy (rgb + 3 * i, v, 3 * sizeof (float));
      memcpy (rgba + 4 * i, v, 4 * sizeof (float));
    }

  /* 8-bit palette, no tRNS: RGB. */
  TestPng t = { width, height, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE,
                index, palette, 4, NULL, 0, NULL };
  write_test_png (path, &t);
  assert_loads (path, width, height, 3, 8, rgb);

  /* 2-bit palette with a shorter tRNS: RGBA. */
  t.bit_depth = 2;
  t.trans_alpha = alpha;
  t.num_trans = 3;
  write_test_png (path, &t);
  assert_loads (path, width, height, 4, 8, rgba);
  g_unlink (path);
}

static void
test_png_trns (void)
{
  g_autofree char *path = tmp_path ("trns.png");
  const int width = 6, height = 2;

  /* Grey 8-bit: the tRNS grey level becomes alpha 0, others alpha 1. */
  guint16 grey[12] = { 0, 7, 8, 255, 7, 100, 7, 7, 1, 2, 3, 7 };
  float grey_alpha[24];
  for (int i = 0; i < 12; i++)
    {
      grey_alpha[2 * i] = grey[i] / 255.0f;
      grey_alpha[2 * i + 1] = grey[i] == 7 ? 0.0f : 1.0f;
    }
  png_color_16 key = { .gray = 7 };
  TestPng t = { width, height, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE,
                grey, NULL, 0, NULL, 0, &key };
  write_test_png (path, &t);
  assert_loads (path, width, height, 2, 8, grey_alpha);

  /* RGB 16-bit: RGBA 16-bit. */
  guint16 rgb[36];
  float rgba[48];
  png_color_16 rgb_key = { .red = 1000, .green = 65535, .blue = 3 };
  for (int i = 0; i < 12; i++)
    {
      gboolean keyed = i % 3 == 1;
      rgb[3 * i] = keyed ? 1000 : (guint16) (i * 5000);
      rgb[3 * i + 1] = keyed ? 65535 : (guint16) (65535 - i * 77);
      rgb[3 * i + 2] = keyed ? 3 : (guint16) (i * i * 300);
      for (int c = 0; c < 3; c++)
        rgba[4 * i + c] = rgb[3 * i + c] / 65535.0f;
      rgba[4 * i + 3] = keyed ? 0.0f : 1.0f;
    }
  TestPng t16 = { width, height, PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE,
                  rgb, NULL, 0, NULL, 0, &rgb_key };
  write_test_png (path, &t16);
  assert_loads (path, width, height, 4, 16, rgba);
  g_unlink (path);
}

static void
test_png_interlaced (void)
{
  g_autofree char *path = tmp_path ("adam7.png");
  const int width = 13, height = 11;

  /* 8-bit RGB. */
  guint16 rgb[13 * 11 * 3];
  float rgb_f[13 * 11 * 3];
  for (int i = 0; i < width * height * 3; i++)
    {
      rgb[i] = (i * 37 + i / 3) % 256;
      rgb_f[i] = rgb[i] / 255.0f;
    }
  TestPng t = { width, height, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7,
                rgb, NULL, 0, NULL, 0, NULL };
  write_test_png (path, &t);
  assert_loads (path, width, height, 3, 8, rgb_f);

  /* 16-bit grey+alpha. */
  guint16 ga[13 * 11 * 2];
  float ga_f[13 * 11 * 2];
  for (int i = 0; i < width * height * 2; i++)
    {
      ga[i] = (guint16) (i * 4099u + 17);
      ga_f[i] = ga[i] / 65535.0f;
    }
  TestPng t16 = { width, height, PNG_COLOR_TYPE_GRAY_ALPHA, 16,
                  PNG_INTERLACE_ADAM7, ga, NULL, 0, NULL, 0, NULL };
  write_test_png (path, &t16);
  assert_loads (path, width, height, 2, 16, ga_f);
  g_unlink (path);
}

/* --------------------------------------------------------------- JPEG */

static void
check_jpeg (int components, J_COLOR_SPACE space)
{
  g_autofree char *path = tmp_path ("test.jpg");
  const int width = 48, height = 40;
  g_autofree guint8 *src = gradient (width, height, components);
  GError *error = NULL;
  dream_file_image img;

  write_test_jpeg (path, width, height, components, space, src);
  g_assert_true (dream_file_image_load (path, &img, &error));
  g_assert_no_error (error);
  g_assert_cmpint (img.width, ==, width);
  g_assert_cmpint (img.height, ==, height);
  g_assert_cmpint (img.channels, ==, components);
  g_assert_cmpint (img.bit_depth, ==, 8);
  for (int c = 0; c < components; c++)
    {
      double mean_src = 0, mean_got = 0, abs_err = 0;
      for (int i = 0; i < width * height; i++)
        {
          double s = src[i * components + c] / 255.0;
          double g = img.data[i * components + c];
          g_assert_cmpfloat (g, >=, 0.0);
          g_assert_cmpfloat (g, <=, 1.0);
          mean_src += s;
          mean_got += g;
          abs_err += fabs (s - g);
        }
      mean_src /= width * height;
      mean_got /= width * height;
      abs_err /= width * height;
      g_assert_cmpfloat_with_epsilon (mean_got, mean_src, 2.0 / 255.0);
      g_assert_cmpfloat (abs_err, <, 4.0 / 255.0);
    }
  dream_file_image_clear (&img);
  g_unlink (path);
}

static void
test_jpeg_rgb (void)
{
  check_jpeg (3, JCS_RGB);
}

static void
test_jpeg_grey (void)
{
  check_jpeg (1, JCS_GRAYSCALE);
}

static void
test_jpeg_cmyk (void)
{
  g_autofree char *path = tmp_path ("cmyk.jpg");
  g_autofree guint8 *src = gradient (16, 16, 4);
  write_test_jpeg (path, 16, 16, 4, JCS_CMYK, src);
  assert_load_fails (path, DREAM_IMAGEIO_ERROR, "CMYK");
  g_unlink (path);
}

/* --------------------------------------------------------- truncation */

/* Every proper prefix of @path must be rejected, without crash or leak. */
static void
assert_prefixes_fail (const char *path, const char *half_message)
{
  g_autofree char *cut = tmp_path ("cut");
  g_autofree char *contents = NULL;
  gsize length;
  GError *error = NULL;
  dream_file_image img;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_true (dream_file_image_load (path, &img, &error));
  dream_file_image_clear (&img);

  for (gsize n = 0; n < length; n++)
    {
      write_bytes (cut, contents, n);
      assert_load_fails (cut, DREAM_IMAGEIO_ERROR, NULL);
    }
  write_bytes (cut, contents, length / 2);
  assert_load_fails (cut, DREAM_IMAGEIO_ERROR, half_message);
  g_unlink (cut);
}

static void
test_png_truncated (void)
{
  g_autofree char *path = tmp_path ("whole.png");
  const int width = 20, height = 16;
  guint16 samples[20 * 16 * 4];
  GRand *rand = g_rand_new_with_seed (7);
  for (int i = 0; i < width * height * 4; i++)
    samples[i] = g_rand_int_range (rand, 0, 256);   /* noise: big IDAT */
  g_rand_free (rand);
  TestPng t = { width, height, PNG_COLOR_TYPE_RGB_ALPHA, 8,
                PNG_INTERLACE_NONE, samples, NULL, 0, NULL, 0, NULL };
  write_test_png (path, &t);
  assert_prefixes_fail (path, "truncated");
  g_unlink (path);
}

static void
test_png_interlaced_truncated (void)
{
  g_autofree char *path = tmp_path ("whole-adam7.png");
  guint16 samples[9 * 7 * 2];
  for (int i = 0; i < 9 * 7 * 2; i++)
    samples[i] = (guint16) (i * 9973u);
  TestPng t = { 9, 7, PNG_COLOR_TYPE_GRAY_ALPHA, 16, PNG_INTERLACE_ADAM7,
                samples, NULL, 0, NULL, 0, NULL };
  write_test_png (path, &t);
  assert_prefixes_fail (path, "truncated");
  g_unlink (path);
}

static void
test_png_corrupt_byte (void)
{
  g_autofree char *path = tmp_path ("corrupt.png");
  g_autofree char *contents = NULL;
  gsize length;
  guint16 samples[16 * 16];
  for (int i = 0; i < 16 * 16; i++)
    samples[i] = (i * 31) % 256;
  TestPng t = { 16, 16, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE,
                samples, NULL, 0, NULL, 0, NULL };
  write_test_png (path, &t);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  contents[length / 2] ^= 0x5a;   /* inside IDAT: bad CRC */
  write_bytes (path, contents, length);
  assert_load_fails (path, DREAM_IMAGEIO_ERROR, NULL);
  g_unlink (path);
}

static void
test_jpeg_truncated (void)
{
  g_autofree char *path = tmp_path ("whole.jpg");
  g_autofree guint8 *src = gradient (24, 16, 3);
  write_test_jpeg (path, 24, 16, 3, JCS_RGB, src);
  assert_prefixes_fail (path, "Premature end");
  g_unlink (path);
}

/* ------------------------------------------------------------- limits */

static void
test_png_huge (void)
{
  g_autofree char *path = tmp_path ("huge.png");
  /* 10^10 pixels: must fail on the header, not on a 40 GB allocation. */
  write_png_header_only (path, 100000, 100000);
  assert_load_fails (path, DREAM_IMAGEIO_ERROR, "32768");
  /* Each side allowed, but 4 * 10^8 pixels > 2^28. */
  write_png_header_only (path, 20000, 20000);
  assert_load_fails (path, DREAM_IMAGEIO_ERROR, "268435456");
  write_png_header_only (path, 32769, 1);
  assert_load_fails (path, DREAM_IMAGEIO_ERROR, "32768");
  g_unlink (path);
}

static void
test_jpeg_huge (void)
{
  g_autofree char *path = tmp_path ("wide.jpg");
  g_autofree guint8 *src = g_malloc0 (40000);
  write_test_jpeg (path, 40000, 1, 1, JCS_GRAYSCALE, src);
  assert_load_fails (path, DREAM_IMAGEIO_ERROR, "32768");
  g_unlink (path);
}

/* ---------------------------------------------------- non-image files */

static void
test_reject_non_images (void)
{
  g_autofree char *text = tmp_path ("notes.png");
  g_autofree char *empty = tmp_path ("empty.png");
  g_autofree char *missing = tmp_path ("no-such-file.png");
  g_autofree char *tiny = tmp_path ("tiny.jpg");

  const char *words = "This is not an image.\n";
  write_bytes (text, words, strlen (words));
  assert_load_fails (text, DREAM_IMAGEIO_ERROR, "not a PNG or JPEG");
  write_bytes (empty, "", 0);
  assert_load_fails (empty, DREAM_IMAGEIO_ERROR, "empty");
  write_bytes (tiny, "\xff\xd8", 2);
  assert_load_fails (tiny, DREAM_IMAGEIO_ERROR, NULL);
  assert_load_fails (missing, G_FILE_ERROR, "no-such-file");
  assert_load_fails (tmp_dir, G_FILE_ERROR, NULL);   /* a folder */

  dream_file_image img;
  GError *error = NULL;
  g_assert_false (dream_file_image_load (missing, &img, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  g_unlink (text);
  g_unlink (empty);
  g_unlink (tiny);
}

/* --------------------------------------------------------- save errors */

static void
test_save_errors (void)
{
  float pixels[4 * 3 * 3] = { 0.5f };
  dream_file_image img = { pixels, 4, 3, 3, 8 };
  dream_file_image got;
  GError *error = NULL;
  g_autofree char *path = tmp_path ("out.png");
  g_autofree char *no_dir = tmp_path ("no-such-dir/out.png");
  g_autofree char *a_dir = tmp_path ("a-folder");
  int entries = count_dir_entries ();

  g_assert_false (dream_file_image_save_png (path, &img, 12, &error));
  g_assert_true (error != NULL && error->domain == DREAM_IMAGEIO_ERROR);
  g_clear_error (&error);

  img.channels = 5;
  g_assert_false (dream_file_image_save_png (path, &img, 8, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  img.channels = 3;

  g_assert_false (dream_file_image_save_png (no_dir, &img, 8, &error));
  g_assert_true (error != NULL && error->domain == G_FILE_ERROR);
  g_clear_error (&error);
  g_assert_cmpint (count_dir_entries (), ==, entries);

  /* Renaming over a folder fails: the temporary file must go too. */
  g_assert_cmpint (g_mkdir (a_dir, 0700), ==, 0);
  g_assert_false (dream_file_image_save_png (a_dir, &img, 8, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (count_dir_entries (), ==, entries + 1);
  g_rmdir (a_dir);

  /* Overwriting an existing file works and leaves one file. */
  write_bytes (path, "old", 3);
  g_assert_true (dream_file_image_save_png (path, &img, 16, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_dir_entries (), ==, entries + 1);
  g_assert_true (dream_file_image_load (path, &got, &error));
  g_assert_cmpint (got.bit_depth, ==, 16);
  g_assert_cmpfloat (got.data[0], ==, 32768.0f / 65535.0f);
  dream_file_image_clear (&got);
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  GError *error = NULL;
  tmp_dir = g_dir_make_tmp ("dream-imageio-XXXXXX", &error);
  g_assert_no_error (error);

  for (int bits = 8; bits <= 16; bits += 8)
    for (int channels = 1; channels <= 4; channels++)
      {
        char name[64];
        g_snprintf (name, sizeof name, "/imageio/roundtrip/%d-bit/%d-channel",
                    bits, channels);
        g_test_add_data_func (name, GINT_TO_POINTER (bits * 10 + channels),
                              test_roundtrip);
      }
  g_test_add_func ("/imageio/png/grey-1-2-4-bit", test_png_grey_low_bits);
  g_test_add_func ("/imageio/png/palette", test_png_palette);
  g_test_add_func ("/imageio/png/trns", test_png_trns);
  g_test_add_func ("/imageio/png/interlaced", test_png_interlaced);
  g_test_add_func ("/imageio/png/truncated", test_png_truncated);
  g_test_add_func ("/imageio/png/interlaced-truncated",
                   test_png_interlaced_truncated);
  g_test_add_func ("/imageio/png/corrupt-byte", test_png_corrupt_byte);
  g_test_add_func ("/imageio/png/huge", test_png_huge);
  g_test_add_func ("/imageio/jpeg/rgb", test_jpeg_rgb);
  g_test_add_func ("/imageio/jpeg/grey", test_jpeg_grey);
  g_test_add_func ("/imageio/jpeg/cmyk", test_jpeg_cmyk);
  g_test_add_func ("/imageio/jpeg/truncated", test_jpeg_truncated);
  g_test_add_func ("/imageio/jpeg/huge", test_jpeg_huge);
  g_test_add_func ("/imageio/reject/non-images", test_reject_non_images);
  g_test_add_func ("/imageio/save/errors", test_save_errors);

  int status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
