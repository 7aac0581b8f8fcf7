/* clip_score.c — `dream clip-score`: how well an image matches captions.
 *
 *   dream clip-score [--model NAME|FILE] [--threads N] [--tsv]
 *                    IMAGE "caption" ["caption" ...]
 *
 * Prints the captions best first: probability (softmax over the captions
 * given, CLIP's logit scale), cosine similarity, caption. --tsv prints
 * tab-separated "rank probability cosine logit caption" lines in input
 * order instead, for scripts. A caption longer than CLIP's 77 tokens is
 * scored on its first 77 and named in a warning on stderr.
 */
#include "commands.h"
#include "dream.h"
#include "imageio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const dream_clip_score_result *r;
  int index;
} ranked;

static int
by_probability (const void *a, const void *b)
{
  const ranked *x = a, *y = b;
  if (x->r->logit != y->r->logit)
    return x->r->logit < y->r->logit ? 1 : -1;
  return x->index - y->index;
}

int
cmd_clip_score (int argc, char **argv)
{
  char *model_choice = NULL;
  int threads = 0;
  gboolean tsv = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_choice, "CLIP model: an installed name or a file (default: the default CLIP, see dream.h)", "M" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "tsv", 0, 0, G_OPTION_ARG_NONE, &tsv, "Tab-separated output in caption order", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("IMAGE CAPTION... — score captions against an image with CLIP");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  dream_file_image img = { 0 };
  dream_model *model = NULL;
  char *path = NULL;
  dream_clip_score_result *res = NULL;
  ranked *order = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc < 3 || threads < 0)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream clip-score [--model M] IMAGE \"caption\" [\"caption\" ...]");
      g_clear_error (&error);
      g_option_context_free (ctx);
      g_free (model_choice);
      return 2;
    }
  if (!(path = dream_clip_model_find (model_choice, &error)) || !(model = dream_clip_load (path, NULL, &error)))
    goto out;
  if (!dream_file_image_load (argv[1], &img, &error))
    goto out;

  int n = argc - 2;
  const char *const *captions = (const char *const *) argv + 2;
  res = g_new0 (dream_clip_score_result, n);
  dream_image view = { img.data, img.width, img.height, img.channels };
  dream_clip_params p = dream_clip_default_params ();
  p.n_threads = threads;
  if (!dream_clip_score (model, &view, captions, n, &p, res, &error))
    goto out;
  for (int i = 0; i < n; i++)
    if (res[i].truncated)
      g_printerr ("dream clip-score: warning: caption %d is longer than CLIP's 77 tokens; "
                  "only its beginning was scored: \"%.40s...\"\n", i + 1, captions[i]);

  order = g_new (ranked, n);
  for (int i = 0; i < n; i++)
    order[i] = (ranked) { &res[i], i };
  qsort (order, n, sizeof (ranked), by_probability);
  if (tsv)
    {
      int *rank = g_new (int, n);
      for (int k = 0; k < n; k++)
        rank[order[k].index] = k + 1;
      for (int i = 0; i < n; i++)
        printf ("%d\t%.6f\t%.6f\t%.4f\t%s\n", rank[i], res[i].probability, res[i].cosine,
                res[i].logit, captions[i]);
      g_free (rank);
    }
  else
    {
      printf ("%-4s %8s %8s  %s\n", "rank", "prob", "cosine", "caption");
      for (int k = 0; k < n; k++)
        printf ("%-4d %7.2f%% %8.4f  %s%s\n", k + 1, 100.0 * order[k].r->probability,
                order[k].r->cosine, captions[order[k].index],
                order[k].r->truncated ? "  (cut to 77 tokens)" : "");
    }
  status = 0;

out:
  if (error)
    g_printerr ("dream clip-score: %s\n", error->message);
  g_clear_error (&error);
  g_free (res);
  g_free (order);
  g_free (path);
  g_free (model_choice);
  dream_file_image_clear (&img);
  dream_model_free (model);
  g_option_context_free (ctx);
  return status;
}
