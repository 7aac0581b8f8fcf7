/* outpaint.c — `dream outpaint`: extend the canvas and fill the new area.
 *
 *   dream outpaint [--left N] [--right N] [--top N] [--bottom N]
 *                  [--feather F] [--context N] [--seed S] [--threads N]
 *                  [--quiet] IN OUT.png
 *
 * The canvas grows by N pixels on each side given; the new area is filled
 * with the content-aware fill, blended over a band of F pixels (default
 * 16) reaching into the old image so no seam shows. Pixels farther than F
 * from a new side are kept exactly. --prompt (generation) is not available
 * in this build yet and is refused. Exit 0 ok, 1 error, 2 bad usage.
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
cmd_outpaint (int argc, char **argv)
{
  int left = 0, right = 0, top = 0, bottom = 0, feather = 16;
  int context = 0, threads = 0;
  gint64 seed = 0;
  char *prompt = NULL;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "left", 0, 0, G_OPTION_ARG_INT, &left, "Pixels to add on the left", "N" },
    { "right", 0, 0, G_OPTION_ARG_INT, &right, "Pixels to add on the right", "N" },
    { "top", 0, 0, G_OPTION_ARG_INT, &top, "Pixels to add at the top", "N" },
    { "bottom", 0, 0, G_OPTION_ARG_INT, &bottom, "Pixels to add at the bottom", "N" },
    { "feather", 0, 0, G_OPTION_ARG_INT, &feather, "Blend band into the old image (default 16)", "F" },
    { "context", 0, 0, G_OPTION_ARG_INT, &context, "Sample from this many pixels around the new area (default 0: whole image)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 0)", "S" },
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Generate with Stable Diffusion (not in this build)", "TEXT" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("IN OUT.png — extend the canvas and fill the new area");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  dream_file_image img = { 0 }, res = { 0 };
  dream_image big = { 0 }, bigmask = { 0 };

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream outpaint [--left N] [--right N] [--top N] [--bottom N] IN OUT.png");
      status = 2;
      goto out;
    }
  if (left < 0 || right < 0 || top < 0 || bottom < 0 || feather < 0
      || context < 0 || threads < 0 || seed < 0)
    {
      g_printerr ("dream outpaint: sizes, --seed and --threads may not be negative\n");
      status = 2;
      goto out;
    }
  if (left + right + top + bottom == 0)
    {
      g_printerr ("dream outpaint: give at least one of --left, --right, --top, --bottom\n");
      status = 2;
      goto out;
    }
  if (prompt)
    {
      g_set_error (&error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "generating with a prompt needs Stable Diffusion inpainting, "
                   "which this build of the engine does not have yet; "
                   "leave out --prompt for the content-aware fill");
      goto out;
    }
  if (!dream_file_image_load (argv[1], &img, &error))
    goto out;
  dream_image in = { img.data, img.width, img.height, img.channels };
  if (!dream_canvas_extend (&in, left, right, top, bottom, feather, &big, &bigmask, &error))
    goto out;

  dream_fill_params p = dream_fill_default_params ();
  p.context = context;
  p.seed = (guint64) seed;
  p.n_threads = threads;
  if (!quiet && isatty (STDERR_FILENO))
    p.progress = print_progress;
  if (!dream_fill (&big, &bigmask, &big, &p, &error))
    goto out;
  res = (dream_file_image) { big.data, big.width, big.height, big.channels, img.bit_depth };
  if (!dream_file_image_save_png (argv[2], &res, res.bit_depth, &error))
    goto out;
  status = 0;

out:
  if (error)
    g_printerr ("dream outpaint: %s\n", error->message);
  g_clear_error (&error);
  g_free (prompt);
  g_free (big.data);
  g_free (bigmask.data);
  dream_file_image_clear (&img);
  g_option_context_free (ctx);
  return status;
}
