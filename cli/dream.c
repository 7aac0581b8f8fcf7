/* dream.c — the `dream` command: every engine capability from a shell.
 *
 *   dream denoise [--sigma S | --estimate] [--model color|gray|FILE]
 *                 [--threads N] [--tile N] in.png out.png
 *
 * Images are read with cli/imageio.c (PNG/JPEG in, PNG out at the input's
 * bit depth). Alpha is passed through untouched. Exit status 0 on success,
 * 1 on any error (message on stderr), 2 on bad usage; nothing is written
 * when a command fails.
 */
#include "dream.h"
#include "imageio.h"
#include "dream-config.h"
#include "commands.h"

#include <locale.h>
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

/* Resolves --model: a known short name or a path to a model file. */
static char *
resolve_model (const char *family, const char *choice, GError **error)
{
  if (g_file_test (choice, G_FILE_TEST_EXISTS) || strchr (choice, '/'))
    return g_strdup (choice);
  char *name = g_strconcat (family, "-", choice, NULL);
  char *path = dream_model_find (name, error);
  g_free (name);
  return path;
}

/* Splits an interleaved image with alpha into colour and alpha planes. */
static void
split_alpha (const dream_file_image *f, float *colour, int cc, float *alpha)
{
  size_t n = (size_t) f->width * f->height;
  for (size_t i = 0; i < n; i++)
    {
      memcpy (colour + i * cc, f->data + i * f->channels, sizeof (float) * cc);
      if (alpha)
        alpha[i] = f->data[i * f->channels + cc];
    }
}

int
cmd_denoise (int argc, char **argv)
{
  double sigma = 25.0;
  gboolean estimate = FALSE;
  char *model_choice = NULL;
  int threads = 0, tile = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "sigma", 's', 0, G_OPTION_ARG_DOUBLE, &sigma, "Noise level in 8-bit levels, 0..75 (default 25)", "S" },
    { "estimate", 'e', 0, G_OPTION_ARG_NONE, &estimate, "Estimate the noise level from the image", NULL },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_choice, "color (default), gray, or a model file", "M" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "Tile edge in pixels (default 1024)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("IN OUT.png — remove noise with FFDNet");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  dream_file_image img = { 0 };
  dream_model *model = NULL;
  char *path = NULL;
  float *colour = NULL, *alpha = NULL, *result = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream denoise [--sigma S | --estimate] [--model color|gray|FILE] IN OUT.png");
      g_clear_error (&error);
      g_option_context_free (ctx);
      return 2;
    }
  if (!estimate && (sigma < 0.0 || sigma > 75.0))
    {
      g_printerr ("dream denoise: --sigma must be between 0 and 75\n");
      g_option_context_free (ctx);
      return 2;
    }

  path = resolve_model ("ffdnet", model_choice ? model_choice : "color", &error);
  if (!path || !(model = dream_model_load (path, &error)))
    goto out;
  if (!dream_file_image_load (argv[1], &img, &error))
    goto out;

  int cc = (img.channels == 2 || img.channels == 4) ? img.channels - 1 : img.channels;
  size_t n = (size_t) img.width * img.height;
  colour = g_new (float, n * cc);
  result = g_new (float, n * cc);
  alpha = cc != img.channels ? g_new (float, n) : NULL;
  split_alpha (&img, colour, cc, alpha);

  dream_image in = { colour, img.width, img.height, cc };
  dream_image res = { result, img.width, img.height, cc };
  dream_denoise_params p = dream_denoise_default_params ();
  p.sigma = estimate ? -1.0 : sigma;
  p.n_threads = threads;
  p.tile = tile;
  if (!quiet && isatty (STDERR_FILENO))
    p.progress = print_progress;
  double used = 0.0;
  if (!dream_denoise (model, &in, &res, &p, &used, &error))
    goto out;
  if (estimate && !quiet)
    g_printerr ("estimated sigma: %.2f\n", used);

  /* Put the result back, with the original alpha. */
  for (size_t i = 0; i < n; i++)
    memcpy (img.data + i * img.channels, result + i * cc, sizeof (float) * cc);
  if (!dream_file_image_save_png (argv[2], &img, img.bit_depth, &error))
    goto out;
  status = 0;

out:
  if (error)
    g_printerr ("dream denoise: %s\n", error->message);
  g_clear_error (&error);
  g_free (colour);
  g_free (alpha);
  g_free (result);
  g_free (path);
  g_free (model_choice);
  dream_file_image_clear (&img);
  dream_model_free (model);
  g_option_context_free (ctx);
  return status;
}

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *help;
} command;

static const command commands[] = {
  { "denoise", cmd_denoise, "remove noise from a photo (FFDNet)" },
  { "upscale", cmd_upscale, "enlarge an image with a super-resolution network" },
  { "inpaint", cmd_inpaint, "fill the masked part of an image (content-aware fill)" },
  { "outpaint", cmd_outpaint, "extend the canvas and fill the new area" },
  { "generate", cmd_generate, "make an image from a text prompt (Stable Diffusion)" },
  { "img2img", cmd_img2img, "reimagine an image guided by a prompt (Stable Diffusion)" },
  { "clip-score", cmd_clip_score, "score how well an image matches captions (CLIP)" },
  { "describe", cmd_describe, "describe an image in words, a prompt to edit (CLIP)" },
  { "run-net", cmd_run_net, "developer: run one network on tensors from a safetensors file" },
  { "sd-info", cmd_sd_info, "what a Stable Diffusion checkpoint (file or diffusers folder) is" },
  { "sample", cmd_sample, "developer: run a Stable Diffusion sampler loop on given contexts" },
};

static void
usage (FILE *f)
{
  fprintf (f, "dream %s — Dreamlayer's engine from a shell\n\nusage: dream COMMAND [OPTIONS] ...\n\ncommands:\n",
           DREAM_VERSION);
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf (f, "\n'dream COMMAND --help' shows a command's options.\n");
}

int
main (int argc, char **argv)
{
  /* The user's locale for text: GLib then prints the engine's UTF-8
   * messages ("500×500") as they are on a UTF-8 terminal instead of '?'.
   * Numbers stay in the C locale: files we write (JSON, parasites) and the
   * numbers we read must not depend on a decimal comma. */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h") || !strcmp (argv[1], "help"))
    {
      usage (stdout);
      return 0;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!strcmp (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "dream: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}
