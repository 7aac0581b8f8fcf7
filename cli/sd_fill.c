/* sd_fill.c — `dream inpaint/outpaint --prompt`: Stable Diffusion
 * inpainting (dream_inpaint: crop with context, model resolution, blend
 * back with the mask) on an image of any channel count. */
#include "dream.h"
#include "sd_fill.h"

#include <stdio.h>
#include <string.h>

static gboolean
print_progress (gpointer user, double fraction)
{
  (void) user;
  fprintf (stderr, "\r%3d%%", (int) (fraction * 100.0 + 0.5));
  if (fraction >= 1.0)
    fputc ('\n', stderr);
  return TRUE;
}

gboolean
cli_sd_fill (const cli_sd_fill_args *a, float *data, int w, int h, int c,
             const float *mask, GError **error)
{
  char *path = dream_sd_model_find (a->model, error);
  if (!path)
    return FALSE;
  dream_model *sd = dream_sd_load (path, NULL, error);
  g_free (path);
  if (!sd)
    return FALSE;

  size_t n = (size_t) w * h;
  int cc = (c == 2 || c == 4) ? c - 1 : c;
  float *rgb = g_try_new (float, n * 3), *res = g_try_new (float, n * 3);
  gboolean ok = FALSE;
  if (!rgb || !res)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "Out of memory for a %dx%d image", w, h);
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 3; k++)
      rgb[i * 3 + k] = data[i * c + (cc == 3 ? k : 0)];

  dream_image init = { rgb, w, h, 3 }, m = { (float *) mask, w, h, 1 }, o = { res, w, h, 3 };
  dream_generate_params p = dream_generate_default_params (sd);
  p.prompt = a->prompt;
  p.negative_prompt = a->negative;
  if (a->steps > 0)
    p.steps = a->steps;
  if (a->cfg >= 0.0)
    p.cfg_scale = a->cfg;
  p.strength = a->strength;
  p.seed = a->seed;
  p.n_threads = a->n_threads;
  p.init = &init;
  p.mask = &m;
  if (a->progress)
    p.progress = print_progress;
  if (!dream_inpaint (sd, &p, &o, error))
    goto out;
  for (size_t i = 0; i < n; i++)
    if (cc == 3)
      memcpy (data + i * c, res + i * 3, sizeof (float) * 3);
    else if (mask[i] > 0.0f)   /* grey: exactly unchanged where the mask is 0 */
      data[i * c] = (res[i * 3] + res[i * 3 + 1] + res[i * 3 + 2]) / 3.0f;
  ok = TRUE;

out:
  g_free (rgb);
  g_free (res);
  dream_model_free (sd);
  return ok;
}
