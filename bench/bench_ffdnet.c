/* bench_ffdnet.c — time FFDNet colour denoising of a 1024×1024 image.
 *
 *   bench-ffdnet [--threads N] [--runs R] [--size S] [--tile T]
 *
 * Same work as bench/ffdnet_torch_bench.py: a smooth random clean image
 * plus AWGN sigma 25, denoised at sigma 25. One untimed warm-up run, then
 * R timed runs. Prints each run and a summary line
 *   dream ffdnet-color 1024x1024 threads=N best=X.XXXs median=Y.YYYs peak_rss=Z MiB
 * (peak RSS of the whole process, from getrusage). bench/compare.sh
 * alternates this with the PyTorch script and prints the ratio.
 */
#include "dream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
  int threads = 0, runs = 5, size = 1024, tile = 0;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed runs", "R" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "image edge", "S" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "tile edge (0 = default)", "T" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("— FFDNet benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1 || size < 2)
    {
      fprintf (stderr, "%s\n", error ? error->message : "bad arguments");
      return 2;
    }
  g_option_context_free (ctx);

  char *path = dream_model_find ("ffdnet-color", &error);
  dream_model *model = path ? dream_model_load (path, &error) : NULL;
  if (!model)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  size_t n = (size_t) size * size * 3;
  float *x = g_new (float, n), *y = g_new (float, n);
  GRand *r = g_rand_new_with_seed (0);
  for (int i = 0; i < size; i++)
    for (int j = 0; j < size; j++)
      for (int c = 0; c < 3; c++)
        x[((size_t) i * size + j) * 3 + c] =
          (float) (0.5 + 0.4 * sin (i * 0.01 + c) * cos (j * 0.013)
                   + 25.0 / 255.0 * sqrt (-2 * log (1 - g_rand_double (r)))
                     * cos (2 * G_PI * g_rand_double (r)));
  g_rand_free (r);

  dream_image in = { x, size, size, 3 }, out = { y, size, size, 3 };
  dream_denoise_params p = dream_denoise_default_params ();
  p.sigma = 25.0;
  p.n_threads = threads;
  p.tile = tile;
  double *t = g_new (double, runs);
  for (int i = -1; i < runs; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!dream_denoise (model, &in, &out, &p, NULL, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      double s = (g_get_monotonic_time () - t0) / 1e6;
      if (i >= 0)
        {
          t[i] = s;
          printf ("run %d: %.3fs\n", i + 1, s);
        }
    }
  qsort (t, runs, sizeof (double), cmp_double);
  double median = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("dream ffdnet-color %dx%d threads=%d best=%.3fs median=%.3fs peak_rss=%ld MiB blas=%s\n",
          size, size, threads, t[0], median, ru.ru_maxrss / 1024,
          g_getenv ("OPENBLAS_CORETYPE") ? g_getenv ("OPENBLAS_CORETYPE") : "default");
  g_free (t); g_free (x); g_free (y); g_free (path);
  dream_model_free (model);
  return 0;
}
