/* inpaint.c — `dream inpaint`: rebuild the masked part of an image.
 *
 *   dream inpaint --mask MASK.png [--context N] [--seed S] [--patch P]
 *                 [--threads N] [--quiet] IN OUT.png
 *
 * The mask has the image's size: white = fill, black = keep, grey = a
 * feather (the filled result is blended in by the grey level). Colour
 * masks count by the mean of their colour channels; a mask's alpha is
 * ignored. Pixels where the mask is black come out exactly as they were
 * (the PNG keeps the input's bit depth). Without --prompt the fill is
 * content-aware (PatchMatch, no model). Generation with a prompt
 * (--prompt -m MODEL) needs the Stable Diffusion inpainting of the
 * engine, which this build does not have yet: it is refused with a clear
 * message. Exit 0 ok, 1 error, 2 bad usage; nothing is written on failure.
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

/* One channel 0..1 from a mask file: the mean of its colour channels. */
static float *
mask_plane (const dream_file_image *m)
{
  int cc = (m->channels == 2 || m->channels == 4) ? m->channels - 1 : m->channels;
  size_t n = (size_t) m->width * m->height;
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      float s = 0.0f;
      for (int k = 0; k < cc; k++)
        s += m->data[i * m->channels + k];
      p[i] = CLAMP (s / cc, 0.0f, 1.0f);
    }
  return p;
}

int
cmd_inpaint (int argc, char **argv)
{
  char *mask_path = NULL, *prompt = NULL, *model_choice = NULL;
  int context = 0, patch = 0, threads = 0;
  gint64 seed = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path, "Mask image: white = fill, black = keep, grey = feathered (required)", "MASK" },
    { "context", 0, 0, G_OPTION_ARG_INT, &context, "Sample from this many pixels around the hole (default 0: whole image)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 0)", "S" },
    { "patch", 0, 0, G_OPTION_ARG_INT, &patch, "Patch edge, odd, 3..15 (default 9)", "P" },
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Generate with Stable Diffusion from this prompt (needs -m)", "TEXT" },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_choice, "Stable Diffusion model for --prompt", "M" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("IN OUT.png — fill the masked part of an image");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  dream_file_image img = { 0 }, msk = { 0 };
  float *mplane = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3 || !mask_path)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream inpaint --mask MASK.png [--context N] [--seed S] IN OUT.png");
      status = 2;
      goto out;
    }
  if (context < 0 || threads < 0 || seed < 0)
    {
      g_printerr ("dream inpaint: --context, --seed and --threads may not be negative\n");
      status = 2;
      goto out;
    }
  if (prompt || model_choice)
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "generating with a prompt needs Stable Diffusion inpainting, "
                   "which this build of the engine does not have yet; "
                   "leave out --prompt/-m for the content-aware fill");
      goto out;
    }
  if (!dream_file_image_load (argv[1], &img, &error)
      || !dream_file_image_load (mask_path, &msk, &error))
    goto out;
  if (msk.width != img.width || msk.height != img.height)
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the mask is %dx%d but the image is %dx%d",
                   msk.width, msk.height, img.width, img.height);
      goto out;
    }
  mplane = mask_plane (&msk);

  dream_image in = { img.data, img.width, img.height, img.channels };
  dream_image mask = { mplane, img.width, img.height, 1 };
  dream_fill_params p = dream_fill_default_params ();
  p.context = context;
  p.seed = (guint64) seed;
  p.patch = patch;
  p.n_threads = threads;
  if (!quiet && isatty (STDERR_FILENO))
    p.progress = print_progress;
  if (!dream_fill (&in, &mask, &in, &p, &error))   /* in place */
    goto out;
  if (!dream_file_image_save_png (argv[2], &img, img.bit_depth, &error))
    goto out;
  status = 0;

out:
  if (error)
    g_printerr ("dream inpaint: %s\n", error->message);
  g_clear_error (&error);
  g_free (mask_path);
  g_free (prompt);
  g_free (model_choice);
  g_free (mplane);
  dream_file_image_clear (&img);
  dream_file_image_clear (&msk);
  g_option_context_free (ctx);
  return status;
}
