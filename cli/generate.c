/* generate.c — `dream generate` (text to image) and `dream img2img` with
 * Stable Diffusion (engine/tasks/generate.c).
 *
 *   dream generate PROMPT [-n NEGATIVE] [-m MODEL] [--config C] [--steps N]
 *                  [--cfg S] [--seed N] [--sampler NAME] [--width W]
 *                  [--height H] [--count N] [--threads N] [-q] -o OUT.png
 *   dream img2img PROMPT IN [--strength 0.6] [same options] -o OUT.png
 *
 * MODEL is a checkpoint file (single-file .safetensors, with NAME.yaml
 * next to it or --config) or a name dream_model_find() knows; default
 * dream_sd_model_default(): an SD model installed in the model folders,
 * else the bundled shapes-sd. Without --seed a random seed is drawn;
 * every image's seed is printed ("OUT.png: seed N") so that it can be
 * made again: the same seed and settings give the same pixels. With
 * --count N > 1 the images use seeds S, S+1, ... and are written to OUT
 * with "%d" replaced by 1..N, or OUT-1.png ... when it has no "%d".
 * img2img resizes IN to --width × --height (default: its own size rounded
 * to multiples of 8) with a bicubic filter. Exit 0 ok, 1 error, 2 usage.
 */
#include "commands.h"

#include "dream.h"
#include "imageio.h"
#include "ops/ops.h"

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

static char *
output_name (const char *out, int i, int count)
{
  if (count == 1 && !strstr (out, "%d"))
    return g_strdup (out);
  const char *pct = strstr (out, "%d");
  if (pct)
    {
      char *pre = g_strndup (out, pct - out);
      char *r = g_strdup_printf ("%s%d%s", pre, i + 1, pct + 2);
      g_free (pre);
      return r;
    }
  const char *dot = strrchr (out, '.'), *slash = strrchr (out, '/');
  if (!dot || (slash && dot < slash))
    return g_strdup_printf ("%s-%d", out, i + 1);
  char *pre = g_strndup (out, dot - out);
  char *r = g_strdup_printf ("%s-%d%s", pre, i + 1, dot);
  g_free (pre);
  return r;
}

/* src (sh, sw, c) → (dh, dw, c), bicubic; a new array or NULL + error */
static float *
resize (const float *src, int sw, int sh, int c, int dw, int dh, GError **error)
{
  dream_resampler rx = { 0 }, ry = { 0 };
  float *dst = NULL, *scratch = NULL;
  if (dream_resampler_init (&rx, DREAM_FILTER_BICUBIC, sw, dw, error)
      && dream_resampler_init (&ry, DREAM_FILTER_BICUBIC, sh, dh, error))
    {
      dst = g_new (float, (size_t) dw * dh * c);
      scratch = g_new (float, MAX (1, dream_resample_2d_scratch_size (&ry, 0, dh, dw, c)));
      dream_resample_2d (&rx, &ry, src, 0, 0, sw, c, 0, 0, dw, dh, dst, scratch);
    }
  g_free (scratch);
  dream_resampler_clear (&rx);
  dream_resampler_clear (&ry);
  return dst;
}

static int
run (int argc, char **argv, gboolean img2img)
{
  char *neg = NULL, *model_arg = NULL, *config = NULL, *seed_arg = NULL, *sampler_arg = NULL;
  char *out = NULL;
  int steps = 0, width = 0, height = 0, count = 1, threads = 0;
  double cfg = -1.0, strength = 0.6;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "negative", 'n', 0, G_OPTION_ARG_STRING, &neg, "Negative prompt: what not to draw", "TEXT" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_arg,
      "Checkpoint file or model name (default: an installed SD model, else the bundled shapes-sd)", "MODEL" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "LDM .yaml of the checkpoint", "C" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampler steps (default: the model's)", "N" },
    { "cfg", 0, 0, G_OPTION_ARG_DOUBLE, &cfg, "Guidance scale (default: the model's)", "S" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &seed_arg, "Seed (default: random, printed)", "N" },
    { "sampler", 0, 0, G_OPTION_ARG_STRING, &sampler_arg,
      "euler, euler-a, ddim, dpmpp-2m-karras, lcm (default: the model's)", "NAME" },
    { "width", 'W', 0, G_OPTION_ARG_INT, &width, "Width, a multiple of 8 (default: native)", "W" },
    { "height", 'H', 0, G_OPTION_ARG_INT, &height, "Height, a multiple of 8 (default: native)", "H" },
    { "count", 0, 0, G_OPTION_ARG_INT, &count, "Images to make, seeds S, S+1, ... (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output PNG (with --count: %d or -1, -2...)", "OUT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  GOptionEntry strength_entry[] = {
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &strength,
      "How much to change the image, 0..1 (default 0.6)", "S" },
    { NULL }
  };
  GOptionContext *octx = g_option_context_new (img2img
                                               ? "PROMPT IN — reimagine an image with Stable Diffusion"
                                               : "PROMPT — make an image from text with Stable Diffusion");
  g_option_context_add_main_entries (octx, entries, NULL);
  if (img2img)
    g_option_context_add_main_entries (octx, strength_entry, NULL);
  GError *error = NULL;
  int status = 2;
  dream_model *sd = NULL;
  char *path = NULL;
  dream_file_image in = { 0 };
  float *init = NULL, *px = NULL;
  const char *cmd = img2img ? "dream img2img" : "dream generate";

  if (!g_option_context_parse (octx, &argc, &argv, &error) || argc != (img2img ? 3 : 2) || !out)
    {
      g_printerr ("%s: %s\n", cmd, error ? error->message
                  : img2img ? "usage: dream img2img PROMPT IN.png -o OUT.png [--strength S] (see --help)"
                            : "usage: dream generate PROMPT -o OUT.png (see --help)");
      goto done;
    }
  guint64 seed = 0;
  if (seed_arg && !g_ascii_string_to_unsigned (seed_arg, 10, 0, G_MAXUINT64, &seed, &error))
    {
      g_printerr ("%s: --seed: %s\n", cmd, error->message);
      goto done;
    }
  if (!seed_arg)
    {
      GRand *r = g_rand_new ();   /* seeded from /dev/urandom */
      seed = g_rand_int (r);
      g_rand_free (r);
    }
  dream_sampler_kind sampler = DREAM_SAMPLER_EULER;
  if (sampler_arg && !dream_sampler_from_name (sampler_arg, &sampler))
    {
      g_printerr ("%s: unknown sampler '%s' (euler, euler-a, ddim, dpmpp-2m-karras, lcm)\n", cmd,
                  sampler_arg);
      goto done;
    }
  if (count < 1 || count > 10000 || steps < 0 || width < 0 || height < 0 || threads < 0
      || (img2img && !(strength >= 0.0 && strength <= 1.0)))
    {
      g_printerr ("%s: --count 1..10000, --strength 0..1; steps, sizes and threads not negative\n",
                  cmd);
      goto done;
    }
  status = 1;

  /* the model */
  if (!(path = dream_sd_model_find (model_arg, &error)))
    {
      g_printerr ("%s: %s\n%s", cmd, error->message,
                  model_arg ? "" : "(give a Stable Diffusion checkpoint with -m FILE.safetensors)\n");
      goto done;
    }
  if (!(sd = dream_sd_load (path, config, &error)))
    goto fail;

  dream_generate_params p = dream_generate_default_params (sd);
  p.prompt = argv[1];
  p.negative_prompt = neg;
  if (steps)
    p.steps = steps;
  if (cfg >= 0.0)
    p.cfg_scale = cfg;
  if (sampler_arg)
    p.sampler = sampler;
  p.n_threads = threads;
  if (!quiet && isatty (STDERR_FILENO))
    p.progress = print_progress;

  int W = width ? width : dream_sd_get_native_size (sd);
  int H = height ? height : dream_sd_get_native_size (sd);
  dream_image init_im = { 0 };
  if (img2img)
    {
      if (!dream_file_image_load (argv[2], &in, &error))
        goto fail;
      W = width ? width : MAX (8, (in.width + 4) / 8 * 8);
      H = height ? height : MAX (8, (in.height + 4) / 8 * 8);
      if (W > 4096 || H > 4096)
        {
          g_set_error (&error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "%s is %d×%d: at most 4096 a side (give --width/--height)", argv[2],
                       in.width, in.height);
          goto fail;
        }
      if (W != in.width || H != in.height)
        {
          if (!(init = resize (in.data, in.width, in.height, in.channels, W, H, &error)))
            goto fail;
          init_im = (dream_image) { init, W, H, in.channels };
        }
      else
        init_im = (dream_image) { in.data, W, H, in.channels };
      p.init = &init_im;
      p.strength = strength;
    }
  p.width = W;
  p.height = H;
  if (W % 8 || H % 8 || W < 8 || H < 8 || W > 4096 || H > 4096)
    {
      g_printerr ("%s: --width and --height must be multiples of 8 from 8 to 4096\n", cmd);
      status = 2;
      goto done;
    }

  px = g_new (float, (size_t) W * H * 3);
  for (int i = 0; i < count; i++)
    {
      p.seed = seed + (guint64) i;
      dream_image o = { px, W, H, 3 };
      gboolean cut = FALSE;
      if (!dream_generate (sd, &p, &o, &cut, &error))
        goto fail;
      if (cut && i == 0)
        g_printerr ("%s: the prompt was cut to CLIP's 77 tokens\n", cmd);
      char *name = output_name (out, i, count);
      dream_file_image fi = { px, W, H, 3, 8 };
      gboolean ok = dream_file_image_save_png (name, &fi, 8, &error);
      if (ok)
        {
          if (img2img)
            printf ("%s: seed %" G_GUINT64_FORMAT " (%s, %d steps, cfg %g, %d×%d, strength %g)\n",
                    name, p.seed, dream_sampler_name (p.sampler), p.steps, p.cfg_scale, W, H,
                    p.strength);
          else
            printf ("%s: seed %" G_GUINT64_FORMAT " (%s, %d steps, cfg %g, %d×%d)\n", name,
                    p.seed, dream_sampler_name (p.sampler), p.steps, p.cfg_scale, W, H);
          fflush (stdout);
        }
      g_free (name);
      if (!ok)
        goto fail;
    }
  status = 0;
  goto done;

fail:
  g_printerr ("%s: %s\n", cmd, error ? error->message : "failed");
done:
  g_clear_error (&error);
  dream_model_free (sd);
  dream_file_image_clear (&in);
  g_free (init); g_free (px); g_free (path);
  g_free (neg); g_free (model_arg); g_free (config); g_free (seed_arg); g_free (sampler_arg);
  g_free (out);
  g_option_context_free (octx);
  return status;
}

int
cmd_generate (int argc, char **argv)
{
  return run (argc, argv, FALSE);
}

int
cmd_img2img (int argc, char **argv)
{
  return run (argc, argv, TRUE);
}
