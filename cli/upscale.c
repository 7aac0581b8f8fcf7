/* upscale.c — `dream upscale`: enlarge an image with a super-resolution
 * network.
 *
 *   dream upscale [--scale S] [--model photo|anime|fast|FILE]
 *                 [--threads N] [--tile N] [--quiet] IN OUT.png
 *
 * S is any factor from 1 to 8 (default 4): the network runs at its native
 * factor and a Lanczos-3 resample gives the rest. Models: photo
 * (Real-ESRGAN general v3, default), anime (Real-ESRGAN animevideo v3),
 * fast (RDN esrgan-slim, the ×2/×3/×4/×8 file nearest above S), or a
 * model file (e.g. RealESRGAN_x4plus converted by tools/convert_rrdb_pth.py).
 * Grey, grey+alpha, RGB and RGBA images work; alpha is resampled. The PNG
 * keeps the input's bit depth. Exit 0 ok, 1 error, 2 bad usage; nothing is
 * written on failure.
 */
#include "dream.h"
#include "imageio.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
print_progress (gpointer user, double fraction)
{
  (void) user;
  fprintf (stderr, "\r%3d%%", (int) (fraction * 100.0 + 0.5));
  if (fraction >= 1.0)
    fputc ('\n', stderr);
  return TRUE;
}

int
cmd_upscale (int argc, char **argv)
{
  double scale = 4.0;
  char *model_choice = NULL;
  int threads = 0, tile = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "scale", 's', 0, G_OPTION_ARG_DOUBLE, &scale, "Factor, 1..8 (default 4)", "S" },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_choice,
      "photo (default), anime, fast, or a model file", "M" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "Input tile edge in pixels (default: automatic)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("IN OUT.png — enlarge an image with a super-resolution network");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  dream_file_image img = { 0 }, res = { 0 };
  dream_model *model = NULL;
  char *path = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream upscale [--scale S] [--model photo|anime|fast|FILE] IN OUT.png");
      g_clear_error (&error);
      g_option_context_free (ctx);
      g_free (model_choice);
      return 2;
    }
  if (!(scale >= 1.0 && scale <= 8.0) || threads < 0 || tile < 0)
    {
      g_printerr ("dream upscale: --scale must be between 1 and 8, --threads and --tile not negative\n");
      g_option_context_free (ctx);
      g_free (model_choice);
      return 2;
    }

  const char *choice = model_choice ? model_choice : "photo";
  if (g_file_test (choice, G_FILE_TEST_EXISTS) || strchr (choice, '/'))
    path = g_strdup (choice);
  else
    path = dream_upscale_model_find (choice, scale, &error);
  if (!path || !(model = dream_model_load (path, &error)))
    goto out;
  if (dream_upscale_native_scale (model) == 0)
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s is a \"%s\" model, not a super-resolution network",
                   path, dream_model_get_arch (model));
      goto out;
    }
  if (!dream_file_image_load (argv[1], &img, &error))
    goto out;

  res.width = dream_upscale_size (img.width, scale);
  res.height = dream_upscale_size (img.height, scale);
  res.channels = img.channels;
  res.bit_depth = img.bit_depth;
  size_t n = (size_t) res.width * res.height * res.channels;
  res.data = g_try_new (float, n);
  if (!res.data)
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Out of memory for a %d×%d result", res.width, res.height);
      goto out;
    }

  dream_image in = { img.data, img.width, img.height, img.channels };
  dream_image out = { res.data, res.width, res.height, res.channels };
  dream_upscale_params p = dream_upscale_default_params ();
  p.scale = scale;
  p.n_threads = threads;
  p.tile = tile;
  if (!quiet && isatty (STDERR_FILENO))
    p.progress = print_progress;
  if (!dream_upscale (model, &in, &out, &p, &error))
    goto out;
  if (!dream_file_image_save_png (argv[2], &res, res.bit_depth, &error))
    goto out;
  status = 0;

out:
  if (error)
    g_printerr ("dream upscale: %s\n", error->message);
  g_clear_error (&error);
  g_free (path);
  g_free (model_choice);
  dream_file_image_clear (&img);
  dream_file_image_clear (&res);
  dream_model_free (model);
  g_option_context_free (ctx);
  return status;
}
