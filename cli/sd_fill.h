/* sd_fill.h — generation with a prompt for `dream inpaint` / `outpaint`. */
#ifndef DREAM_CLI_SD_FILL_H
#define DREAM_CLI_SD_FILL_H

#include <glib.h>

typedef struct {
  const char *prompt, *negative;
  const char *model;     /* file or name (dream_sd_model_find); NULL = the default */
  int steps;             /* 0 = the model's */
  double cfg;            /* < 0 = the model's */
  double strength;       /* 0..1 */
  guint64 seed;
  int n_threads;
  gboolean progress;
} cli_sd_fill_args;

/* Regenerates the masked part of `data` (w, h, c: 1..4 channels, in
 * place) with dream_inpaint(): colours through RGB (grey as R = G = B,
 * back as their mean), alpha kept. FALSE + error, data unchanged. */
gboolean cli_sd_fill (const cli_sd_fill_args *a, float *data, int w, int h, int c,
                      const float *mask, GError **error);

#endif
