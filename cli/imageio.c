/* imageio.c — PNG and JPEG files in, PNG files out, for `dream` and the tests.
 *
 * Loading: the type is chosen by the file's magic bytes. PNGs go through
 * libpng's classic API (every bit depth and colour type, palette and tRNS
 * expanded, Adam7 interlace handled), JPEGs through libjpeg (grey and
 * YCbCr/RGB; CMYK is refused). Samples are the file's encoded values scaled
 * to 0..1 (v / 255 or v / 65535): no gamma, no colour management.
 *
 * Both libraries report fatal errors by longjmp() out of a callback; each
 * loader keeps its own buffers where the handler after setjmp() can free
 * them, so a corrupt or truncated file ends in FALSE + GError, never in
 * exit() or a leak. Image sizes are checked from the header before any
 * pixel memory is allocated.
 *
 * Saving: a PNG at 8 or 16 bits, written to "<path>.XXXXXX" in the target's
 * own folder, flushed to disk and renamed over the target; on any failure
 * the temporary file is removed and the target is left untouched.
 *
 * Error codes in DREAM_IMAGEIO_ERROR (the header does not name them):
 *   0 format not recognised, 1 corrupt or truncated data, 2 image too large,
 *   3 unsupported variant (e.g. CMYK JPEG), 4 invalid argument,
 *   5 out of memory, 6 write failure.
 * Missing or unreadable files give G_FILE_ERROR.
 */
#include "imageio.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

G_DEFINE_QUARK (dream-imageio-error-quark, dream_imageio_error)

enum {
  IMAGEIO_ERROR_UNKNOWN_FORMAT,
  IMAGEIO_ERROR_CORRUPT,
  IMAGEIO_ERROR_TOO_LARGE,
  IMAGEIO_ERROR_UNSUPPORTED,
  IMAGEIO_ERROR_INVALID_ARGUMENT,
  IMAGEIO_ERROR_NO_MEMORY,
  IMAGEIO_ERROR_WRITE,
};

#define IMAGEIO_MAX_SIDE   32768u
#define IMAGEIO_MAX_PIXELS (G_GUINT64_CONSTANT (1) << 28)

static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
static const guint8 jpeg_magic[3] = { 0xff, 0xd8, 0xff };

/* ---------------------------------------------------------------- common */

static gboolean
check_size (const char *name, guint64 width, guint64 height, GError **error)
{
  if (width == 0 || height == 0)
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_CORRUPT,
                   "“%s” claims an empty image (%" G_GUINT64_FORMAT "x%"
                   G_GUINT64_FORMAT " pixels)", name, width, height);
      return FALSE;
    }
  if (width > IMAGEIO_MAX_SIDE || height > IMAGEIO_MAX_SIDE)
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_TOO_LARGE,
                   "“%s” is %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " pixels; the largest side allowed is %u",
                   name, width, height, IMAGEIO_MAX_SIDE);
      return FALSE;
    }
  if (width * height > IMAGEIO_MAX_PIXELS)
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_TOO_LARGE,
                   "“%s” is %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " pixels; at most %" G_GUINT64_FORMAT " pixels (2^28) "
                   "are allowed", name, width, height, IMAGEIO_MAX_PIXELS);
      return FALSE;
    }
  return TRUE;
}

/* Allocates the float pixels of a checked width x height x channels image. */
static float *
alloc_pixels (const char *name, guint width, guint height, guint channels,
              GError **error)
{
  float *data = g_try_malloc_n ((gsize) width * height * channels,
                                sizeof (float));
  if (data == NULL)
    g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_NO_MEMORY,
                 "Not enough memory to load “%s” (%ux%u pixels)",
                 name, width, height);
  return data;
}

/* ------------------------------------------------------------- PNG read */

typedef struct {
  FILE *fp;
  char message[256];   /* libpng's (or our reader's) last error */
} PngReadCtx;

static void
png_error_cb (png_structp png, png_const_charp message)
{
  PngReadCtx *ctx = png_get_error_ptr (png);
  g_strlcpy (ctx->message, message, sizeof ctx->message);
  png_longjmp (png, 1);
}

static void
png_warning_cb (png_structp png, png_const_charp message)
{
  (void) png;
  g_debug ("libpng: %s", message);
}

/* Like libpng's default reader, but tells truncation from I/O errors. */
static void
png_read_cb (png_structp png, png_bytep out, size_t length)
{
  PngReadCtx *ctx = png_get_io_ptr (png);
  if (fread (out, 1, length, ctx->fp) == length)
    return;
  if (ferror (ctx->fp))
    png_error (png, g_strerror (errno));
  png_error (png, "the file is truncated");
}

/* Converts one row of 8- or 16-bit big-endian samples to floats. */
static void
samples_to_float (const guint8 *row, gsize n, int bit_depth, float *out)
{
  if (bit_depth == 16)
    for (gsize i = 0; i < n; i++)
      out[i] = (float) ((row[2 * i] << 8) | row[2 * i + 1]) / 65535.0f;
  else
    for (gsize i = 0; i < n; i++)
      out[i] = (float) row[i] / 255.0f;
}

static gboolean
load_png (FILE *fp, const char *name, dream_file_image *img, GError **error)
{
  PngReadCtx ctx = { fp, "" };
  /* Written after setjmp() and read by the cleanup code: volatile. */
  float *volatile data = NULL;
  guint8 *volatile raw = NULL;
  volatile gboolean ok = FALSE;
  png_structp png;
  png_infop info;

  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &ctx,
                                png_error_cb, png_warning_cb);
  info = png ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_read_struct (png ? &png : NULL, NULL, NULL);
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_NO_MEMORY,
                   "Not enough memory to read “%s”", name);
      return FALSE;
    }

  if (setjmp (png_jmpbuf (png)))
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_CORRUPT,
                   "Cannot read PNG “%s”: %s", name, ctx.message);
      goto out;
    }

  png_set_read_fn (png, &ctx, png_read_cb);
  png_set_sig_bytes (png, sizeof png_magic);
  /* Our own limits below give the clearer message. */
  png_set_user_limits (png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info (png, info);

  png_uint_32 width = png_get_image_width (png, info);
  png_uint_32 height = png_get_image_height (png, info);
  int color_type = png_get_color_type (png, info);
  int file_depth = png_get_bit_depth (png, info);
  if (!check_size (name, width, height, error))
    goto out;

  /* Everything becomes 8- or 16-bit grey, grey+alpha, RGB or RGBA. */
  if (color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (png);
  if (color_type == PNG_COLOR_TYPE_GRAY && file_depth < 8)
    png_set_expand_gray_1_2_4_to_8 (png);
  if (png_get_valid (png, info, PNG_INFO_tRNS))
    png_set_tRNS_to_alpha (png);
  int passes = png_set_interlace_handling (png);
  png_read_update_info (png, info);

  int channels = png_get_channels (png, info);
  int depth = png_get_bit_depth (png, info);
  size_t rowbytes = png_get_rowbytes (png, info);
  if (channels < 1 || channels > 4 || (depth != 8 && depth != 16)
      || rowbytes != (size_t) width * channels * (depth / 8))
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_UNSUPPORTED,
                   "Cannot read PNG “%s”: unexpected layout "
                   "(%d channels at %d bits)", name, channels, depth);
      goto out;
    }

  data = alloc_pixels (name, width, height, channels, error);
  if (data == NULL)
    goto out;
  /* Interlaced images need every row kept between passes; others are
   * converted one row at a time. */
  gsize raw_rows = passes > 1 ? height : 1;
  raw = g_try_malloc_n (raw_rows, rowbytes);
  if (raw == NULL)
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_NO_MEMORY,
                   "Not enough memory to load “%s” (%ux%u pixels)",
                   name, width, height);
      goto out;
    }

  gsize row_samples = (gsize) width * channels;
  if (passes > 1)
    {
      for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < height; y++)
          png_read_row (png, raw + y * rowbytes, NULL);
      for (png_uint_32 y = 0; y < height; y++)
        samples_to_float (raw + y * rowbytes, row_samples, depth,
                          data + y * row_samples);
    }
  else
    {
      for (png_uint_32 y = 0; y < height; y++)
        {
          png_read_row (png, raw, NULL);
          samples_to_float (raw, row_samples, depth, data + y * row_samples);
        }
    }
  /* Reads to IEND: checks the remaining CRCs and catches truncation. */
  png_read_end (png, NULL);

  img->data = data;
  img->width = (int) width;
  img->height = (int) height;
  img->channels = channels;
  img->bit_depth = depth;
  data = NULL;
  ok = TRUE;

out:
  png_destroy_read_struct (&png, &info, NULL);
  g_free (raw);
  g_free (data);
  return ok;
}

/* ------------------------------------------------------------ JPEG read */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} JpegErrorMgr;

static void
jpeg_error_exit_cb (j_common_ptr cinfo)
{
  JpegErrorMgr *err = (JpegErrorMgr *) cinfo->err;
  (*cinfo->err->format_message) (cinfo, err->message);
  longjmp (err->jump, 1);
}

/* libjpeg only warns about damaged or cut-short entropy data and goes on
 * to return grey filler; those warnings are fatal here. Harmless ones
 * (unknown JFIF revision, stray bytes before a marker, …) are ignored. */
static void
jpeg_emit_message_cb (j_common_ptr cinfo, int level)
{
  if (level != -1)
    return;   /* trace messages */
  switch (cinfo->err->msg_code)
    {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_BOGUS_PROGRESSION:
      jpeg_error_exit_cb (cinfo);
      break;
    default:
      break;
    }
}

static gboolean
load_jpeg (FILE *fp, const char *name, dream_file_image *img, GError **error)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrorMgr jerr;
  float *volatile data = NULL;
  volatile gboolean ok = FALSE;

  if (fseek (fp, 0, SEEK_SET) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Cannot read “%s”: %s", name, g_strerror (saved));
      return FALSE;
    }

  cinfo.err = jpeg_std_error (&jerr.pub);
  jerr.pub.error_exit = jpeg_error_exit_cb;
  jerr.pub.emit_message = jpeg_emit_message_cb;
  jerr.message[0] = '\0';
  if (setjmp (jerr.jump))
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_CORRUPT,
                   "Cannot read JPEG “%s”: %s", name, jerr.message);
      goto out;
    }
  jpeg_create_decompress (&cinfo);
  jpeg_stdio_src (&cinfo, fp);
  jpeg_read_header (&cinfo, TRUE);

  if (!check_size (name, cinfo.image_width, cinfo.image_height, error))
    goto out;
  switch (cinfo.jpeg_color_space)
    {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo.out_color_space = JCS_RGB;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_UNSUPPORTED,
                   "Cannot read JPEG “%s”: CMYK JPEGs are not supported; "
                   "convert it to RGB first", name);
      goto out;
    default:
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_UNSUPPORTED,
                   "Cannot read JPEG “%s”: unsupported colour space "
                   "(%d components)", name, cinfo.num_components);
      goto out;
    }

  jpeg_start_decompress (&cinfo);
  guint width = cinfo.output_width, height = cinfo.output_height;
  guint channels = cinfo.output_components;
  if (!check_size (name, width, height, error))
    goto out;
  data = alloc_pixels (name, width, height, channels, error);
  if (data == NULL)
    goto out;

  /* Freed by jpeg_destroy_decompress(), also after a longjmp. */
  JSAMPARRAY row = (*cinfo.mem->alloc_sarray) ((j_common_ptr) &cinfo,
                                               JPOOL_IMAGE,
                                               width * channels, 1);
  gsize row_samples = (gsize) width * channels;
  while (cinfo.output_scanline < height)
    {
      gsize y = cinfo.output_scanline;
      if (jpeg_read_scanlines (&cinfo, row, 1) != 1)
        {
          g_strlcpy (jerr.message, "no more scanlines", sizeof jerr.message);
          longjmp (jerr.jump, 1);
        }
      samples_to_float (row[0], row_samples, 8, data + y * row_samples);
    }
  jpeg_finish_decompress (&cinfo);

  img->data = data;
  img->width = (int) width;
  img->height = (int) height;
  img->channels = (int) channels;
  img->bit_depth = 8;
  data = NULL;
  ok = TRUE;

out:
  jpeg_destroy_decompress (&cinfo);
  g_free (data);
  return ok;
}

/* ----------------------------------------------------------------- load */

gboolean
dream_file_image_load (const char *path, dream_file_image *img,
                       GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (img != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (img, 0, sizeof *img);
  g_autofree char *name = g_filename_display_name (path);

  FILE *fp = g_fopen (path, "rb");
  if (fp == NULL)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Cannot open “%s”: %s", name, g_strerror (saved));
      return FALSE;
    }

  guint8 magic[sizeof png_magic];
  size_t n = fread (magic, 1, sizeof magic, fp);
  gboolean ok = FALSE;
  if (n < sizeof magic && ferror (fp))
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Cannot read “%s”: %s", name, g_strerror (saved));
    }
  else if (n == 0)
    g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_UNKNOWN_FORMAT,
                 "“%s” is empty", name);
  else if (n == sizeof png_magic && memcmp (magic, png_magic, n) == 0)
    ok = load_png (fp, name, img, error);
  else if (n >= sizeof jpeg_magic
           && memcmp (magic, jpeg_magic, sizeof jpeg_magic) == 0)
    ok = load_jpeg (fp, name, img, error);
  else
    g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_UNKNOWN_FORMAT,
                 "“%s” is not a PNG or JPEG file", name);

  fclose (fp);
  return ok;
}

void
dream_file_image_clear (dream_file_image *img)
{
  if (img == NULL)
    return;
  g_free (img->data);
  memset (img, 0, sizeof *img);
}

/* ------------------------------------------------------------- PNG save */

typedef struct {
  char message[256];
} PngWriteCtx;

static void
png_write_error_cb (png_structp png, png_const_charp message)
{
  PngWriteCtx *ctx = png_get_error_ptr (png);
  g_strlcpy (ctx->message, message, sizeof ctx->message);
  png_longjmp (png, 1);
}

/* Clamps to 0..1 (NaN gives 0) and rounds to 0..max. */
static guint
quantise (float v, double max)
{
  if (!(v > 0.0f))
    return 0;
  if (v >= 1.0f)
    return (guint) max;
  return (guint) ((double) v * max + 0.5);
}

/* Writes the PNG stream to an open file; FALSE + ctx->message on error. */
static gboolean
write_png_stream (FILE *fp, const dream_file_image *img, int bit_depth,
                  PngWriteCtx *ctx)
{
  static const int color_types[5] = {
    0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
    PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA
  };
  guint8 *volatile row = NULL;
  volatile gboolean ok = FALSE;
  png_structp png;
  png_infop info;

  png = png_create_write_struct (PNG_LIBPNG_VER_STRING, ctx,
                                 png_write_error_cb, png_warning_cb);
  info = png ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_write_struct (png ? &png : NULL, NULL);
      g_strlcpy (ctx->message, "out of memory", sizeof ctx->message);
      return FALSE;
    }
  if (setjmp (png_jmpbuf (png)))
    goto out;

  png_init_io (png, fp);
  png_set_user_limits (png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_set_IHDR (png, info, (png_uint_32) img->width,
                (png_uint_32) img->height, bit_depth,
                color_types[img->channels], PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (png, info);

  gsize row_samples = (gsize) img->width * img->channels;
  row = g_try_malloc_n (row_samples, bit_depth / 8);
  if (row == NULL)
    png_error (png, "out of memory");
  for (int y = 0; y < img->height; y++)
    {
      const float *src = img->data + (gsize) y * row_samples;
      if (bit_depth == 16)
        for (gsize i = 0; i < row_samples; i++)
          {
            guint q = quantise (src[i], 65535.0);
            row[2 * i] = (guint8) (q >> 8);   /* PNG is big-endian */
            row[2 * i + 1] = (guint8) (q & 0xff);
          }
      else
        for (gsize i = 0; i < row_samples; i++)
          row[i] = (guint8) quantise (src[i], 255.0);
      png_write_row (png, row);
    }
  png_write_end (png, info);
  ok = TRUE;

out:
  png_destroy_write_struct (&png, &info);
  g_free (row);
  return ok;
}

gboolean
dream_file_image_save_png (const char *path, const dream_file_image *img,
                           int bit_depth, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (img != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *name = g_filename_display_name (path);
  if (bit_depth != 8 && bit_depth != 16)
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_INVALID_ARGUMENT,
                   "Cannot save “%s”: bit depth must be 8 or 16, not %d",
                   name, bit_depth);
      return FALSE;
    }
  if (img->data == NULL || img->channels < 1 || img->channels > 4
      || img->width <= 0 || img->height <= 0)
    {
      g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_INVALID_ARGUMENT,
                   "Cannot save “%s”: not a valid image (%dx%d, %d channels)",
                   name, img->width, img->height, img->channels);
      return FALSE;
    }

  /* The temporary file sits next to the target, so rename() is atomic. */
  g_autofree char *tmp_path = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp_path, O_WRONLY, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Cannot save “%s”: %s", name, g_strerror (saved));
      return FALSE;
    }
  FILE *fp = fdopen (fd, "wb");
  if (fp == NULL)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmp_path);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Cannot save “%s”: %s", name, g_strerror (saved));
      return FALSE;
    }

  PngWriteCtx ctx = { "" };
  gboolean ok = write_png_stream (fp, img, bit_depth, &ctx);
  int saved = 0;
  if (ok && (fflush (fp) != 0 || fsync (fileno (fp)) != 0))
    {
      saved = errno;
      ok = FALSE;
    }
  if (fclose (fp) != 0 && ok)
    {
      saved = errno;
      ok = FALSE;
    }
  if (ok && g_rename (tmp_path, path) != 0)
    {
      saved = errno;
      ok = FALSE;
    }
  if (!ok)
    {
      g_unlink (tmp_path);
      if (saved != 0)
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                     "Cannot save “%s”: %s", name, g_strerror (saved));
      else
        g_set_error (error, DREAM_IMAGEIO_ERROR, IMAGEIO_ERROR_WRITE,
                     "Cannot save “%s”: %s", name, ctx.message);
    }
  return ok;
}
