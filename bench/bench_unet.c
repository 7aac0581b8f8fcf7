/* bench_unet.c — time the full-size SD 1.5 UNet and VAE decoder.
 *
 *   bench-unet --weights CKPT.safetensors [--what unet|vae|sgemm] [--threads N]
 *              [--runs R] [--latent L]
 *
 * Same work as `bench/sd_torch.py bench`: unet = one classifier-free-
 * guidance evaluation (batch 2, L×L latent, 77×768 context, t = 500);
 * vae = the decoder from an L×L latent to 8L×8L pixels. CKPT is a
 * checkpoint in the original layout (e.g. random weights from
 * `sd_torch.py make-weights`, F16 or F32). One untimed warm-up run, then
 * R timed runs; prints each and a summary line
 *   dream sd15-unet 64x64 batch=2 threads=N best=X.XXXs median=Y.YYYs cpu_best=C.CCCs
 *         peak_rss=Z MiB gflops=G
 * (C the process's CPU time of its cheapest run: on a busy machine wall
 * times vary, CPU time much less; peak RSS of the process; G the UNet's
 * multiply-adds ×2 per second at the best run). bench/compare_sd.sh alternates it with PyTorch.
 */
#include "io/ldm_config.h"
#include "io/safetensors.h"
#include "models/unet.h"
#include "models/vae.h"
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  const float *a, *b;
  float *c;
  int m, n, k, rows;
} gemm_job;

static void
gemm_task (void *ctx, int task, int thread)
{
  (void) thread;
  const gemm_job *j = ctx;
  int r0 = task * j->rows, nr = MIN (j->rows, j->m - r0);
  dream_gemm (nr, j->n, j->k, 1.0f, j->a + (size_t) r0 * j->k, j->k, j->b, j->n, 0.0f,
              j->c + (size_t) r0 * j->n, j->n);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Multiply-adds of one forward, counted from the layer shapes. */
static double
unet_flops (const dream_unet *net, int B, int h, int w, int n_ctx)
{
  double f = 0.0;
  const dream_unet_block *blocks[128];
  int nb = 0;
  for (int i = 0; i < net->n_input; i++)
    blocks[nb++] = &net->input[i];
  blocks[nb++] = &net->middle;
  for (int i = 0; i < net->n_output; i++)
    blocks[nb++] = &net->output[i];
  for (int k = 0; k < nb; k++)
    {
      const dream_unet_block *blk = blocks[k];
      double n = (double) B * (h / blk->scale_in) * (w / blk->scale_in);
      for (int j = 0; j < blk->n_layers; j++)
        {
          const dream_unet_layer *L = &blk->layers[j];
          switch (L->kind)
            {
            case DREAM_UNET_CONV:
              f += n * 9.0 * L->in_ch * L->out_ch;
              break;
            case DREAM_UNET_RES:
              f += n * 9.0 * (L->in_ch * (double) L->out_ch + (double) L->out_ch * L->out_ch);
              if (L->in_ch != L->out_ch)
                f += n * L->in_ch * (double) L->out_ch;
              break;
            case DREAM_UNET_XF:
              {
                const double c = L->xf.inner, tok = n / B;
                f += 2 * n * c * c;                                 /* proj in/out */
                f += L->xf.depth * (n * c * c * 4                    /* q k v o self */
                                    + n * c * c * 2 + 2.0 * B * n_ctx * net->context_dim * c
                                    + n * c * c * 12                /* GEGLU 8c² + 4c² */
                                    + 2 * n * tok * c               /* self scores, values */
                                    + 2 * n * n_ctx * c);           /* cross */
                break;
              }
            case DREAM_UNET_DOWN:
              f += n / 4 * 9.0 * L->in_ch * L->out_ch;
              n /= 4;
              break;
            case DREAM_UNET_UP:
              n *= 4;
              f += n * 9.0 * L->in_ch * L->out_ch;
              break;
            }
        }
    }
  return 2.0 * f;
}

int
main (int argc, char **argv)
{
  char *weights = NULL, *what = NULL;
  int threads = 0, runs = 3, latent = 64;
  GOptionEntry entries[] = {
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "checkpoint", "F" },
    { "what", 0, 0, G_OPTION_ARG_STRING, &what, "unet (default) or vae", "W" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed runs", "R" },
    { "latent", 'l', 0, G_OPTION_ARG_INT, &latent, "latent edge (64 = 512 px)", "L" },
    { NULL }
  };
  GOptionContext *octx = g_option_context_new ("— SD UNet / VAE benchmark");
  g_option_context_add_main_entries (octx, entries, NULL);
  GError *error = NULL;
  gboolean parsed = g_option_context_parse (octx, &argc, &argv, &error);
  gboolean sgemm_run = what && !strcmp (what, "sgemm");
  if (!parsed || (!weights && !sgemm_run) || runs < 1 || latent < 8)
    {
      fprintf (stderr, "%s\n", error ? error->message : "usage: bench-unet --weights F [--what unet|vae]");
      return 2;
    }
  g_option_context_free (octx);
  gboolean vae_run = what && !strcmp (what, "vae");
  dream_gemm_init ();
  if (sgemm_run)
    {
      dream_pool *pool = dream_pool_new (threads);
      gemm_job j = { .m = 4096, .n = 4096, .k = 2048 };
      float *a = g_new (float, (size_t) j.m * j.k), *b = g_new (float, (size_t) j.k * j.n);
      float *c = g_new (float, (size_t) j.m * j.n);
      for (size_t i = 0; i < (size_t) j.m * j.k; i++)
        a[i] = (float) (i % 7) * 0.1f, b[i] = (float) (i % 5) * 0.1f;
      int tasks = 4 * dream_pool_n_threads (pool);
      j.a = a, j.b = b, j.c = c, j.rows = (j.m + tasks - 1) / tasks;
      double best = 1e30, best_cpu = 1e30;
      for (int i = -1; i < runs; i++)
        {
          gint64 t0 = g_get_monotonic_time ();
          double c0 = cpu_seconds ();
          dream_pool_run (pool, tasks, gemm_task, &j);
          double dt = (g_get_monotonic_time () - t0) / 1e6, dc = cpu_seconds () - c0;
          if (i >= 0)
            best = MIN (best, dt), best_cpu = MIN (best_cpu, dc);
        }
      const double fl = 2.0 * j.m * j.n * j.k;
      printf ("dream sgemm 4096x4096x2048 threads=%d best=%.3fs cpu_best=%.3fs gflops=%.1f "
              "gflops_per_cpu_s=%.1f (%s)\n", dream_pool_n_threads (pool), best, best_cpu,
              fl / best / 1e9, fl / best_cpu / 1e9, dream_gemm_backend ());
      dream_pool_free (pool);
      g_free (a); g_free (b); g_free (c); g_free (what);
      return 0;
    }

  dream_st_file *f = dream_st_open (weights, &error);
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  if (!f || !dream_ldm_config_for_model (&cfg, f, weights, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  dream_pool *pool = dream_pool_new (threads);
  const int nt = dream_pool_n_threads (pool), B = 2, L = latent, n_ctx = 77;
  GRand *r = g_rand_new_with_seed (0);
  dream_unet *unet = NULL;
  dream_vae *vae = NULL;
  dream_unet_state us = { 0 };
  dream_vae_state vs = { 0 };
  float *x, *t = NULL, *ctx = NULL, *out;
  double flops = 0.0;
  char label[96];
  if (!vae_run)
    {
      if (!(unet = dream_unet_load (f, &cfg, &error))
          || !dream_unet_state_init (&us, unet, B, L, L, n_ctx, nt, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      size_t n = (size_t) B * L * L * 4, nc = (size_t) B * n_ctx * unet->context_dim;
      x = g_new (float, n);
      out = g_new (float, n);
      ctx = g_new (float, nc);
      t = g_new (float, B);
      for (size_t i = 0; i < n; i++)
        x[i] = (float) g_rand_double_range (r, -1, 1);
      for (size_t i = 0; i < nc; i++)
        ctx[i] = (float) g_rand_double_range (r, -1, 1);
      t[0] = t[1] = 500.0f;
      flops = unet_flops (unet, B, L, L, n_ctx);
      snprintf (label, sizeof label, "sd15-unet %dx%d batch=2", L, L);
      fprintf (stderr, "UNet state %.0f MiB, %.0f GFLOP per run, %s\n",
               dream_unet_state_bytes (&us) / 1048576.0, flops / 1e9, dream_gemm_backend ());
    }
  else
    {
      if (!(vae = dream_vae_load (f, &error))
          || !dream_vae_state_init (&vs, vae, DREAM_VAE_DECODE, 1, L, L, nt, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      size_t n = (size_t) L * L * vae->embed_dim;
      x = g_new (float, n);
      out = g_new (float, (size_t) 64 * L * L * vae->image_channels);
      for (size_t i = 0; i < n; i++)
        x[i] = (float) g_rand_double_range (r, -2, 2);
      snprintf (label, sizeof label, "sd15-vae-decode %dx%d", 8 * L, 8 * L);
      fprintf (stderr, "VAE state %.0f MiB, %s\n", dream_vae_state_bytes (&vs) / 1048576.0,
               dream_gemm_backend ());
    }
  g_rand_free (r);

  double *times = g_new (double, runs), *cpus = g_new (double, runs);
  for (int i = -1; i < runs; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_seconds ();
      gboolean ok = vae_run ? dream_vae_decode (vae, &vs, x, out, pool, NULL, 0, &error)
                            : dream_unet_forward (unet, &us, x, t, ctx, out, pool, NULL, 0, &error);
      if (!ok)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      double dt = (g_get_monotonic_time () - t0) / 1e6, dc = cpu_seconds () - c0;
      if (i >= 0)
        {
          times[i] = dt;
          cpus[i] = dc;
          printf ("run %d: %.3fs (cpu %.3fs)\n", i, dt, dc);
          fflush (stdout);
        }
    }
  qsort (times, runs, sizeof (double), cmp_double);
  qsort (cpus, runs, sizeof (double), cmp_double);
  double median = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("dream %s threads=%d best=%.3fs median=%.3fs cpu_best=%.3fs peak_rss=%.0f MiB", label,
          nt, times[0], median, cpus[0], ru.ru_maxrss / 1024.0);
  if (flops > 0)
    printf (" gflops=%.1f gflops_per_cpu_s=%.1f", flops / times[0] / 1e9, flops / cpus[0] / 1e9);
  printf ("\n");

  dream_unet_state_clear (&us);
  dream_vae_state_clear (&vs);
  dream_unet_free (unet);
  dream_vae_free (vae);
  dream_pool_free (pool);
  dream_ldm_config_clear (&cfg);
  dream_st_close (f);
  g_free (x); g_free (out); g_free (ctx); g_free (t); g_free (times); g_free (cpus);
  g_free (weights); g_free (what);
  return 0;
}
