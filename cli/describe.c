/* describe.c — `dream describe`: a caption for an image, from a vocabulary
 * ranked by CLIP (dream.h: dream_clip_describe).
 *
 *   dream describe [--model NAME|FILE] [--vocabulary FILE] [--top K]
 *                  [--threads N] IMAGE
 *
 * Prints the caption on the first line. With --top K, then the K best
 * entries of each category: "category<TAB>probability<TAB>cosine<TAB>entry",
 * the category marked "*" when its best entry is in the caption. Without
 * --model the default CLIP (dream_clip_model_default) is used.
 */
#include "commands.h"
#include "dream.h"
#include "imageio.h"

#include <stdio.h>

int
cmd_describe (int argc, char **argv)
{
  char *model_choice = NULL, *vocabulary = NULL;
  int threads = 0, top = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_choice, "CLIP model: an installed name or a file (default: the default CLIP)", "M" },
    { "vocabulary", 'v', 0, G_OPTION_ARG_FILENAME, &vocabulary, "Vocabulary JSON (default: the bundled describe-vocabulary.json)", "FILE" },
    { "top", 'k', 0, G_OPTION_ARG_INT, &top, "Also list the K best entries of each category", "K" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("IMAGE — describe an image in words with CLIP");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  dream_file_image img = { 0 };
  dream_model *model = NULL;
  char *path = NULL;
  dream_clip_description *d = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 || threads < 0 || top < 0)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream describe [--model M] [--vocabulary FILE] [--top K] IMAGE");
      g_clear_error (&error);
      g_option_context_free (ctx);
      g_free (model_choice);
      g_free (vocabulary);
      return 2;
    }
  if (!(path = dream_clip_model_find (model_choice, &error))
      || !(model = dream_clip_load (path, NULL, &error)))
    goto out;
  if (!dream_file_image_load (argv[1], &img, &error))
    goto out;
  dream_image view = { img.data, img.width, img.height, img.channels };
  dream_clip_params p = dream_clip_default_params ();
  p.n_threads = threads;
  if (!(d = dream_clip_describe (model, &view, vocabulary, &p, &error)))
    goto out;
  printf ("%s\n", d->caption);
  for (int c = 0; c < d->n_categories && top > 0; c++)
    for (int k = 0; k < MIN (top, d->categories[c].n); k++)
      printf ("%s%s\t%.6f\t%.6f\t%s\n", d->categories[c].name,
              d->categories[c].kept ? "*" : "", d->categories[c].probabilities[k],
              d->categories[c].cosines[k], d->categories[c].entries[k]);
  status = 0;

out:
  if (error)
    g_printerr ("dream describe: %s\n", error->message);
  g_clear_error (&error);
  dream_clip_description_free (d);
  g_free (path);
  g_free (model_choice);
  g_free (vocabulary);
  dream_file_image_clear (&img);
  dream_model_free (model);
  g_option_context_free (ctx);
  return status;
}
