/* dream-pixels.c — the pixel path shared by the GIMP 3 and GIMP 2.10 front
 * ends (see dream-pixels.h). GEGL and libdream only: nothing here may call
 * libgimp, so that both GIMP versions can link it.
 *
 * Test hook: if the environment variable DREAM_TEST_CANCEL_AT holds a
 * fraction f (e.g. "0.3"), the progress callback given to the engine
 * returns FALSE (cancel) as soon as the reported progress reaches f. The
 * GIMP test runners use it to check that a cancel leaves the image as it
 * was. It has no other use; users never set it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dream-pixels.h"

typedef struct {
  dream_progress_func progress;  /* the caller's; may be NULL */
  gpointer progress_user;
  double cancel_at;      /* test hook; > 1 when unset */
  double last;           /* last fraction seen */
  gboolean cancelled;
} progress_state;

static gboolean
progress_cb (gpointer user, double fraction)
{
  progress_state *st = user;

  st->last = fraction;
  if (fraction >= st->cancel_at)
    {
      st->cancelled = TRUE;
      return FALSE;
    }
  if (st->progress && !st->progress (st->progress_user, fraction))
    {
      st->cancelled = TRUE;
      return FALSE;
    }
  return TRUE;
}

double
dream_pixels_test_cancel_at (void)
{
  const char *s = g_getenv ("DREAM_TEST_CANCEL_AT");
  char *end = NULL;
  double v;

  if (!s || !*s)
    return 2.0;
  v = g_ascii_strtod (s, &end);
  if (end == s || !isfinite (v))
    return 2.0;
  return v;
}

static void
progress_state_init (progress_state *st, dream_progress_func progress,
                     gpointer progress_user)
{
  st->progress = progress;
  st->progress_user = progress_user;
  st->cancel_at = dream_pixels_test_cancel_at ();
  st->last = -1.0;
  st->cancelled = FALSE;
}

/* An engine that finished without reporting the end still gets the end
 * reported, so that the caller's bar and the test hook see it. */
static gboolean
progress_finish (progress_state *st, GError **error)
{
  if (st->last < 1.0 && !progress_cb (st, 1.0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED, "Cancelled.");
      return FALSE;
    }
  return TRUE;
}

/* "color" / "gray" (or "grey") name a bundled model; anything else is a
 * path to a model file. */
static dream_model *
load_model (const char *model, GError **error)
{
  const char *name = NULL;
  dream_model *m;

  if (!model || !*model || g_ascii_strcasecmp (model, "color") == 0
      || g_ascii_strcasecmp (model, "colour") == 0)
    name = "ffdnet-color";
  else if (g_ascii_strcasecmp (model, "gray") == 0
           || g_ascii_strcasecmp (model, "grey") == 0)
    name = "ffdnet-gray";

  if (name)
    {
      char *path = dream_model_find (name, error);
      if (!path)
        return NULL;
      m = dream_model_load (path, error);
      g_free (path);
      return m;
    }
  return dream_model_load (model, error);
}

GeglBuffer *
dream_pixels_denoise (GeglBuffer *src,
                      GeglBuffer *mask, int mask_dx, int mask_dy,
                      const GeglRectangle *roi,
                      gboolean grey,
                      const dream_pixels_denoise_args *args,
                      double *sigma_used,
                      GError **error)
{
  const int nc = grey ? 1 : 3;          /* colour channels */
  const int na = nc + 1;                /* with alpha */
  const Babl *space, *fmt;
  GeglRectangle r;
  dream_model *model = NULL;
  float *px = NULL, *in = NULL, *out = NULL, *sel = NULL;
  GeglBuffer *result = NULL;
  dream_denoise_params p;
  progress_state st;
  double used = 0.0;
  gsize n, i;
  int c;

  g_return_val_if_fail (GEGL_IS_BUFFER (src), NULL);
  g_return_val_if_fail (roi != NULL && args != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!gegl_rectangle_intersect (&r, roi, gegl_buffer_get_extent (src)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The region to denoise does not overlap the layer.");
      return NULL;
    }
  if (!(args->sigma <= 75.0) || isnan (args->sigma))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Noise level %g is out of range (0 to 75, or negative to estimate).",
                   args->sigma);
      return NULL;
    }

  /* the model first: a bad model file costs nothing else */
  model = load_model (args->model, error);
  if (!model)
    return NULL;

  /* read as R'G'B'A / Y'A float in the drawable's own colour space */
  space = babl_format_get_space (gegl_buffer_get_format (src));
  fmt = babl_format_with_space (grey ? "Y'A float" : "R'G'B'A float", space);

  n = (gsize) r.width * (gsize) r.height;
  px = g_try_malloc_n (n, na * sizeof (float));
  in = g_try_malloc_n (n, nc * sizeof (float));
  out = g_try_malloc_n (n, nc * sizeof (float));
  if (mask)
    sel = g_try_malloc_n (n, sizeof (float));
  if (!px || !in || !out || (mask && !sel))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %d×%d region.", r.width, r.height);
      goto out;
    }

  gegl_buffer_get (src, &r, 1.0, fmt, px, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  for (i = 0; i < n; i++)
    for (c = 0; c < nc; c++)
      in[i * nc + c] = px[i * na + c];

  if (mask)
    {
      GeglRectangle mr = { r.x + mask_dx, r.y + mask_dy, r.width, r.height };
      /* selection values are plain coverage: read them linear, no TRC */
      gegl_buffer_get (mask, &mr, 1.0, babl_format ("Y float"), sel,
                       GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    }

  progress_state_init (&st, args->progress, args->progress_user);

  p = dream_denoise_default_params ();
  p.sigma = args->sigma;
  p.n_threads = args->n_threads;
  p.progress = progress_cb;
  p.progress_user = &st;

  {
    dream_image im_in = { in, r.width, r.height, nc };
    dream_image im_out = { out, r.width, r.height, nc };
    if (!dream_denoise (model, &im_in, &im_out, &p, &used, error))
      goto out;
  }
  if (!progress_finish (&st, error))
    goto out;

  /* colour = denoised colour; alpha = source alpha × selection */
  for (i = 0; i < n; i++)
    {
      for (c = 0; c < nc; c++)
        px[i * na + c] = out[i * nc + c];
      if (sel)
        {
          float s = sel[i];
          s = s < 0.0f ? 0.0f : (s > 1.0f ? 1.0f : s);
          px[i * na + nc] *= s;
        }
    }

  result = gegl_buffer_new (&r, fmt);
  gegl_buffer_set (result, &r, 0, fmt, px, GEGL_AUTO_ROWSTRIDE);
  if (sigma_used)
    *sigma_used = used;

out:
  g_free (px);
  g_free (in);
  g_free (out);
  g_free (sel);
  if (model)
    dream_model_free (model);
  return result;
}

/* ---- upscaling --------------------------------------------------------- */

/* "photo" / "anime" / "fast" name a bundled network (the file for the
 * factor); anything else is a path to a model file. */
static dream_model *
load_upscale_model (const char *model, double scale, GError **error)
{
  const char *choice = (model && *model) ? model : "photo";
  gboolean builtin = g_ascii_strcasecmp (choice, "photo") == 0
                     || g_ascii_strcasecmp (choice, "anime") == 0
                     || g_ascii_strcasecmp (choice, "fast") == 0;
  char *path;
  dream_model *m;

  if (builtin)
    {
      char *lower = g_ascii_strdown (choice, -1);
      path = dream_upscale_model_find (lower, scale, error);
      g_free (lower);
    }
  else if (g_file_test (choice, G_FILE_TEST_IS_REGULAR))
    path = g_strdup (choice);
  else
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Unknown upscaling model \"%s\": use photo, anime, fast, "
                   "or the path of a model file.", choice);
      return NULL;
    }
  if (!path)
    return NULL;
  m = dream_model_load (path, error);
  if (m && dream_upscale_native_scale (m) == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s is a \"%s\" model, not a super-resolution network.",
                   path, dream_model_get_arch (m));
      dream_model_free (m);
      m = NULL;
    }
  g_free (path);
  return m;
}

typedef struct {
  GeglBuffer *dst;
  const Babl *fmt;
  int width;
} upscale_sink;

static gboolean
upscale_rows_cb (gpointer user, int y, int n_rows, const float *rows)
{
  upscale_sink *sink = user;

  gegl_buffer_set (sink->dst, GEGL_RECTANGLE (0, y, sink->width, n_rows), 0,
                   sink->fmt, rows, GEGL_AUTO_ROWSTRIDE);
  return TRUE;
}

GeglBuffer *
dream_pixels_upscale (GeglBuffer *src,
                      gboolean grey,
                      gboolean alpha,
                      const dream_pixels_upscale_args *args,
                      GError **error)
{
  const int nch = (grey ? 1 : 3) + (alpha ? 1 : 0);
  const GeglRectangle *ext;
  const Babl *space, *fmt;
  const char *fmt_name;
  dream_model *model = NULL;
  float *px = NULL;
  GeglBuffer *result = NULL;
  dream_upscale_params p;
  progress_state st;
  upscale_sink sink;
  int ow, oh;

  g_return_val_if_fail (GEGL_IS_BUFFER (src), NULL);
  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!(args->scale >= 1.0 && args->scale <= 8.0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Scale %g is out of range (1 to 8).", args->scale);
      return NULL;
    }
  ext = gegl_buffer_get_extent (src);
  if (ext->width <= 0 || ext->height <= 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The layer is empty.");
      return NULL;
    }
  ow = dream_upscale_size (ext->width, args->scale);
  oh = dream_upscale_size (ext->height, args->scale);

  model = load_upscale_model (args->model, args->scale, error);
  if (!model)
    return NULL;

  if (grey)
    fmt_name = alpha ? "Y'A float" : "Y' float";
  else
    fmt_name = alpha ? "R'G'B'A float" : "R'G'B' float";
  space = babl_format_get_space (gegl_buffer_get_format (src));
  fmt = babl_format_with_space (fmt_name, space);

  px = g_try_malloc_n ((gsize) ext->width * ext->height, nch * sizeof (float));
  if (!px)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %d×%d layer.", ext->width, ext->height);
      goto out;
    }
  gegl_buffer_get (src, ext, 1.0, fmt, px, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);

  result = gegl_buffer_new (GEGL_RECTANGLE (0, 0, ow, oh), fmt);
  sink.dst = result;
  sink.fmt = fmt;
  sink.width = ow;

  progress_state_init (&st, args->progress, args->progress_user);
  p = dream_upscale_default_params ();
  p.scale = args->scale;
  p.n_threads = args->n_threads;
  p.progress = progress_cb;
  p.progress_user = &st;

  {
    dream_image im_in = { px, ext->width, ext->height, nch };
    if (!dream_upscale_rows (model, &im_in, &p, upscale_rows_cb, &sink, error)
        || !progress_finish (&st, error))
      g_clear_object (&result);
  }

out:
  g_free (px);
  dream_model_free (model);
  return result;
}

/* ---- progress for other pixel files ------------------------------------ */

struct dream_pixels_progress {
  progress_state st;
};

dream_pixels_progress *
dream_pixels_progress_new (dream_progress_func progress, gpointer progress_user)
{
  dream_pixels_progress *p = g_new0 (dream_pixels_progress, 1);

  progress_state_init (&p->st, progress, progress_user);
  return p;
}

gboolean
dream_pixels_progress_cb (gpointer state, double fraction)
{
  return progress_cb (&((dream_pixels_progress *) state)->st, fraction);
}

gboolean
dream_pixels_progress_finish (dream_pixels_progress *state, GError **error)
{
  return progress_finish (&state->st, error);
}

void
dream_pixels_progress_free (dream_pixels_progress *state)
{
  g_free (state);
}
