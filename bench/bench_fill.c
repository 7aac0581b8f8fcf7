/* bench_fill.c — content-aware fill of a 20% hole in a photo.
 *
 *   bench-fill IMAGE.png [THREADS] [RUNS]
 *
 * The hole is an ellipse in the middle with 20% of the image's area (the
 * image's aspect). Prints one line per run, "time=SECONDS", then
 * "best=… median=… peak_rss_mib=…" (peak resident memory of the
 * process, image loading included). bench/compare_fill.sh makes the
 * 2-megapixel input from a Kodak photo and runs it for 1 and 2 threads.
 */
#include "dream.h"
#include "imageio.h"

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
  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-fill IMAGE.png [THREADS] [RUNS]\n");
      return 2;
    }
  int threads = argc > 2 ? atoi (argv[2]) : 0, runs = argc > 3 ? atoi (argv[3]) : 3;
  runs = CLAMP (runs, 1, 100);
  dream_file_image img = { 0 };
  GError *error = NULL;
  if (!dream_file_image_load (argv[1], &img, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  int w = img.width, h = img.height, c = img.channels;
  size_t n = (size_t) w * h;
  float *mask = g_new0 (float, n);
  /* ellipse with semi-axes a = k w/2, b = k h/2: area π k² w h / 4 = 0.2 w h */
  double k = sqrt (0.8 / G_PI), a = k * w / 2, b = k * h / 2;
  size_t n_hole = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double u = (x - w / 2.0) / a, v = (y - h / 2.0) / b;
        if (u * u + v * v <= 1.0)
          {
            mask[(size_t) y * w + x] = 1.0f;
            n_hole++;
          }
      }
  float *out = g_new (float, n * c);
  dream_image in = { img.data, w, h, c }, m = { mask, w, h, 1 }, o = { out, w, h, c };
  dream_fill_params p = dream_fill_default_params ();
  p.n_threads = threads;
  printf ("image %dx%d (%.2f MP), hole %.1f%%, threads %d\n", w, h, n / 1e6,
          100.0 * n_hole / n, threads);
  double *t = g_new (double, runs);
  for (int i = 0; i < runs; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!dream_fill (&in, &m, &o, &p, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      t[i] = (g_get_monotonic_time () - t0) / 1e6;
      printf ("time=%.3f\n", t[i]);
      fflush (stdout);
    }
  qsort (t, runs, sizeof (double), cmp_double);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("best=%.3f median=%.3f peak_rss_mib=%.1f\n", t[0],
          runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2,
          ru.ru_maxrss / 1024.0);
  if (g_getenv ("BENCH_FILL_OUT"))
    {
      dream_file_image r = { out, w, h, c, 8 };
      if (!dream_file_image_save_png (g_getenv ("BENCH_FILL_OUT"), &r, 8, &error))
        fprintf (stderr, "%s\n", error->message);
    }
  g_free (t); g_free (out); g_free (mask);
  dream_file_image_clear (&img);
  return 0;
}
