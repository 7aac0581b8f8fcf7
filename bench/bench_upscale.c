/* bench_upscale.c — time the upscale task on a synthetic image.
 *
 *   bench-upscale [--model photo|anime|fast|FILE] [--size S] [--scale F]
 *                 [--threads N] [--runs R] [--tile T]
 *
 * Same work as bench/upscale_torch_bench.py: a smooth random S×S RGB
 * image (default 256) enlarged F times (default: the model's native
 * factor, so the network alone is timed, plus tiling and clamping). One
 * untimed warm-up run, then R timed runs; prints each run and a summary
 *   dream ARCH SxS->OxO threads=N best=X.XXXs median=Y.YYYs peak_rss=Z MiB
 * (peak RSS of the whole process, from getrusage). bench/compare_upscale.sh
 * alternates this with the PyTorch script and prints the ratio.
 */
#include "dream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  int threads = 0, runs = 3, size = 256, tile = 0;
  double scale = 0.0;
  char *choice = NULL;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &choice, "photo (default), anime, fast or a file", "M" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "input edge (default 256)", "S" },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &scale, "factor (default: native)", "F" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed runs", "R" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "tile edge (0 = automatic)", "T" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("— upscale benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1 || size < 1)
    {
      fprintf (stderr, "%s\n", error ? error->message : "bad arguments");
      return 2;
    }
  g_option_context_free (ctx);

  const char *c = choice ? choice : "photo";
  char *path = g_file_test (c, G_FILE_TEST_EXISTS) ? g_strdup (c)
    : dream_upscale_model_find (c, scale > 0 ? scale : 4.0, &error);
  dream_model *model = path ? dream_model_load (path, &error) : NULL;
  if (!model || dream_upscale_native_scale (model) == 0)
    {
      fprintf (stderr, "%s\n", error ? error->message : "not an upscaling model");
      return 1;
    }
  if (scale <= 0)
    scale = dream_upscale_native_scale (model);

  int os = dream_upscale_size (size, scale);
  size_t n = (size_t) size * size * 3;
  float *x = g_new (float, n), *y = g_new (float, (size_t) os * os * 3);
  GRand *r = g_rand_new_with_seed (0);
  for (int i = 0; i < size; i++)
    for (int j = 0; j < size; j++)
      for (int ch = 0; ch < 3; ch++)
        x[((size_t) i * size + j) * 3 + ch] =
          (float) (0.5 + 0.3 * sin (i * 0.05 + ch) * cos (j * 0.07)
                   + 0.1 * g_rand_double_range (r, -1, 1));
  g_rand_free (r);

  dream_image in = { x, size, size, 3 }, out = { y, os, os, 3 };
  dream_upscale_params p = dream_upscale_default_params ();
  p.scale = scale;
  p.n_threads = threads;
  p.tile = tile;
  double *t = g_new (double, runs);
  for (int i = -1; i < runs; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!dream_upscale (model, &in, &out, &p, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      double s = (g_get_monotonic_time () - t0) / 1e6;
      if (i >= 0)
        {
          t[i] = s;
          printf ("run %d: %.3fs\n", i + 1, s);
          fflush (stdout);
        }
    }
  qsort (t, runs, sizeof (double), cmp_double);
  double median = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("dream %s %dx%d->%dx%d threads=%d best=%.3fs median=%.3fs peak_rss=%ld MiB\n",
          dream_model_get_arch (model), size, size, os, os, threads, t[0], median,
          ru.ru_maxrss / 1024);
  g_free (t); g_free (x); g_free (y); g_free (path); g_free (choice);
  dream_model_free (model);
  return 0;
}
