/* imageio.h — image files for the `dream` command and the tests:
 * PNG (8/16-bit; grey, grey+alpha, RGB, RGBA, palette) and JPEG in,
 * PNG (8 or 16-bit) out. Uses libpng and libjpeg directly; no colour
 * management (values are the file's own encoded values scaled to 0..1).
 */
#ifndef DREAM_IMAGEIO_H
#define DREAM_IMAGEIO_H

#include <glib.h>

typedef struct {
  float *data;    /* (height, width, channels), 0..1, g_free() it */
  int width, height;
  int channels;   /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
  int bit_depth;  /* 8 or 16: the file's depth (palette and <8 give 8) */
} dream_file_image;

/* Loads a PNG or JPEG (chosen by content, not name). FALSE + GError
 * (G_FILE_ERROR or DREAM_IMAGEIO_ERROR) with a clear message on a missing,
 * truncated or corrupt file, or an image over 32768 pixels per side or
 * over 2^28 pixels in all. */
gboolean dream_file_image_load (const char *path, dream_file_image *img,
                                GError **error);

/* Writes a PNG with img->channels channels at bit_depth 8 or 16 (values
 * clamped to 0..1 and rounded). Writes to a temporary file in the same
 * folder and renames it, so a failure leaves no partial file. */
gboolean dream_file_image_save_png (const char *path,
                                    const dream_file_image *img,
                                    int bit_depth, GError **error);

void dream_file_image_clear (dream_file_image *img);

#define DREAM_IMAGEIO_ERROR (dream_imageio_error_quark ())
GQuark dream_imageio_error_quark (void);

#endif
