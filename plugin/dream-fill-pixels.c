/* dream-fill-pixels.c — Inpaint Selection and Extend Canvas: GEGL buffers
 * in, the engine's content-aware fill, GEGL buffers out (see the header).
 * Nothing here calls libgimp, so both GIMP front ends link it.
 */
#include <string.h>

#include "dream-pixels.h"
#include "dream-fill-pixels.h"
#include "dream-gen-pixels.h"

static const Babl *
read_format (GeglBuffer *src, gboolean grey, gboolean alpha)
{
  const char *name;

  if (grey)
    name = alpha ? "Y'A float" : "Y' float";
  else
    name = alpha ? "R'G'B'A float" : "R'G'B' float";
  return babl_format_with_space (name, babl_format_get_space (gegl_buffer_get_format (src)));
}

static const Babl *
result_format (GeglBuffer *src, gboolean grey)
{
  return babl_format_with_space (grey ? "Y'A float" : "R'G'B'A float",
                                 babl_format_get_space (gegl_buffer_get_format (src)));
}

/* The two result buffers over `r` (coordinates of the result) from the
 * engine's image `img` (nch channels, width iw, the region starting at
 * ix, iy in it) and the mask values `m` (same layout, 1 channel). */
static void
make_results (GeglBuffer *src, gboolean grey, gboolean alpha,
              const float *img, const float *m, int iw, int ix, int iy,
              const GeglRectangle *r, GeglBuffer **pixels, GeglBuffer **mask)
{
  const int nc = grey ? 1 : 3, nch = nc + (alpha ? 1 : 0), na = nc + 1;
  const Babl *fmt = result_format (src, grey);
  float *px = g_new (float, (gsize) r->width * r->height * na);
  float *mv = g_new (float, (gsize) r->width * r->height);
  int x, y, c;

  for (y = 0; y < r->height; y++)
    for (x = 0; x < r->width; x++)
      {
        gsize s = (gsize) (iy + y) * iw + (ix + x);
        gsize d = (gsize) y * r->width + x;
        for (c = 0; c < nc; c++)
          px[d * na + c] = img[s * nch + c];
        px[d * na + nc] = alpha ? img[s * nch + nc] : 1.0f;
        mv[d] = CLAMP (m[s], 0.0f, 1.0f);
      }
  *pixels = gegl_buffer_new (r, fmt);
  gegl_buffer_set (*pixels, r, 0, fmt, px, GEGL_AUTO_ROWSTRIDE);
  *mask = gegl_buffer_new (r, babl_format ("Y float"));
  gegl_buffer_set (*mask, r, 0, babl_format ("Y float"), mv, GEGL_AUTO_ROWSTRIDE);
  g_free (px);
  g_free (mv);
}

/* Stable Diffusion inpainting of `img` (w × h × 4, R'G'B'A; alpha kept)
 * where `hole` is 1. */
static gboolean
generate_binary (float *img, const float *hole, int w, int h,
                 const dream_pixels_fill_args *args, dream_pixels_progress *pr,
                 GError **error)
{
  const dream_pixels_generate_args *g = args->generate;
  dream_model *sd;
  dream_generate_params p;
  float *out;
  gsize n = (gsize) w * h, i;
  gboolean ok;

  {
    char *shown = NULL;
    sd = dream_gen_load_sd (g->model, &shown, error);
    g_free (shown);
  }
  if (!sd)
    return FALSE;
  out = g_try_malloc_n (n, 3 * sizeof (float));
  if (!out)
    {
      dream_model_free (sd);
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %d×%d image.", w, h);
      return FALSE;
    }
  p = dream_generate_default_params (sd);
  p.prompt = g->prompt;
  p.negative_prompt = g->negative_prompt;
  p.seed = args->seed;
  p.steps = g->steps;
  p.cfg_scale = g->cfg_scale;
  p.strength = g->strength;
  p.n_threads = args->n_threads;
  p.progress = dream_pixels_progress_cb;
  p.progress_user = pr;
  {
    dream_image im = { img, w, h, 4 };
    dream_image mk = { (float *) hole, w, h, 1 };
    dream_image o = { out, w, h, 3 };
    p.init = &im;
    p.mask = &mk;
    ok = dream_inpaint (sd, &p, &o, error);
  }
  if (ok)
    for (i = 0; i < n; i++)
      memcpy (img + i * 4, out + i * 3, 3 * sizeof (float));
  g_free (out);
  dream_model_free (sd);
  return ok;
}

/* Fills the hole mask > 0 outright (the feather is left to the caller's
 * layer mask), in place on `img`: dream_fill, or dream_inpaint with
 * args->generate (then img is R'G'B'A). */
static gboolean
fill_binary (float *img, const float *m, int w, int h, int nch,
             const dream_pixels_fill_args *args, GError **error)
{
  gsize n = (gsize) w * h, i;
  float *hole = g_try_malloc_n (n, sizeof (float));
  dream_pixels_progress *pr;
  dream_fill_params p;
  gboolean ok;

  if (!hole)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %d×%d mask.", w, h);
      return FALSE;
    }
  for (i = 0; i < n; i++)
    hole[i] = m[i] > 0.0f ? 1.0f : 0.0f;

  pr = dream_pixels_progress_new (args->progress, args->progress_user);
  if (args->generate)
    ok = generate_binary (img, hole, w, h, args, pr, error)
         && dream_pixels_progress_finish (pr, error);
  else
    {
      p = dream_fill_default_params ();
      p.context = args->context;
      p.seed = args->seed;
      p.n_threads = args->n_threads;
      p.progress = dream_pixels_progress_cb;
      p.progress_user = pr;
      {
        dream_image im = { img, w, h, nch };
        dream_image mk = { hole, w, h, 1 };
        ok = dream_fill (&im, &mk, &im, &p, error)
             && dream_pixels_progress_finish (pr, error);
      }
    }
  dream_pixels_progress_free (pr);
  g_free (hole);
  return ok;
}

gboolean
dream_pixels_inpaint (GeglBuffer *src,
                      GeglBuffer *sel, int sel_dx, int sel_dy,
                      const GeglRectangle *bounds,
                      gboolean grey, gboolean alpha,
                      const dream_pixels_fill_args *args,
                      GeglBuffer **pixels, GeglBuffer **mask,
                      GError **error)
{
  const GeglRectangle *ext;
  GeglRectangle r, hb, cr;
  int nch;
  float *m = NULL, *img = NULL;
  int x0, y0, x1, y1, x, y;
  gsize n, i, n_hole = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (GEGL_IS_BUFFER (src) && GEGL_IS_BUFFER (sel), FALSE);
  g_return_val_if_fail (bounds && args && pixels && mask, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (args->generate)    /* SD works on colour; alpha is kept as it is */
    grey = FALSE, alpha = TRUE;
  nch = (grey ? 1 : 3) + (alpha ? 1 : 0);
  ext = gegl_buffer_get_extent (src);
  if (args->context < 0 || args->n_threads < 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The sampling width and the thread count may not be negative.");
      return FALSE;
    }
  if (!gegl_rectangle_intersect (&r, bounds, ext))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The selection does not cover any part of the layer: "
                   "select the area to fill first.");
      return FALSE;
    }

  /* the hole's bounds: where the selection is > 0 */
  m = g_try_malloc_n ((gsize) r.width * r.height, sizeof (float));
  if (!m)
    goto oom;
  gegl_buffer_get (sel, GEGL_RECTANGLE (r.x + sel_dx, r.y + sel_dy, r.width, r.height),
                   1.0, babl_format ("Y float"), m, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  x0 = r.width; y0 = r.height; x1 = -1; y1 = -1;
  for (y = 0; y < r.height; y++)
    for (x = 0; x < r.width; x++)
      if (m[(gsize) y * r.width + x] > 0.0f)
        {
          x0 = MIN (x0, x); x1 = MAX (x1, x);
          y0 = MIN (y0, y); y1 = MAX (y1, y);
          n_hole++;
        }
  g_clear_pointer (&m, g_free);
  if (x1 < 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The selection is empty over this layer: select the area to fill first.");
      return FALSE;
    }
  if (n_hole == (gsize) ext->width * ext->height)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The selection covers the whole layer: nothing is left to "
                   "fill it from. Select only what should be replaced.");
      return FALSE;
    }
  n_hole = 0;
  hb = (GeglRectangle) { r.x + x0, r.y + y0, x1 - x0 + 1, y1 - y0 + 1 };

  /* what the engine sees: the hole's bounds + context, or the whole layer
   * (diffusion crops for itself) */
  if (args->context > 0 && !args->generate)
    {
      GeglRectangle grown = { hb.x - args->context, hb.y - args->context,
                              hb.width + 2 * args->context, hb.height + 2 * args->context };
      gegl_rectangle_intersect (&cr, &grown, ext);
    }
  else
    cr = *ext;

  n = (gsize) cr.width * cr.height;
  m = g_try_malloc_n (n, sizeof (float));
  img = g_try_malloc_n (n, nch * sizeof (float));
  if (!m || !img)
    goto oom;
  gegl_buffer_get (sel, GEGL_RECTANGLE (cr.x + sel_dx, cr.y + sel_dy, cr.width, cr.height),
                   1.0, babl_format ("Y float"), m, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  for (i = 0; i < n; i++)
    n_hole += m[i] > 0.0f;
  if (n_hole == n)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   args->context > 0 && !args->generate
                   ? "The selection covers everything within the sampling width: "
                     "nothing is left to fill it from. Sample from a wider area "
                     "or from the whole image."
                   : "The selection covers the whole layer: nothing is left to "
                     "fill it from. Select only what should be replaced.");
      goto out;
    }
  gegl_buffer_get (src, &cr, 1.0, read_format (src, grey, alpha), img,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);

  if (!fill_binary (img, m, cr.width, cr.height, nch, args, error))
    goto out;

  make_results (src, grey, alpha, img, m, cr.width, hb.x - cr.x, hb.y - cr.y,
                &hb, pixels, mask);
  ok = TRUE;
  goto out;

oom:
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
               "Not enough memory to fill this selection.");
out:
  g_free (m);
  g_free (img);
  return ok;
}

gboolean
dream_pixels_outpaint (GeglBuffer *src,
                       const GeglRectangle *canvas,
                       int left, int right, int top, int bottom,
                       int feather,
                       gboolean grey, gboolean alpha,
                       const dream_pixels_fill_args *args,
                       GeglBuffer **pixels, GeglBuffer **mask,
                       GError **error)
{
  dream_image big = { 0 }, bigmask = { 0 };
  float *img;
  gboolean ok = FALSE;
  int nch;

  g_return_val_if_fail (GEGL_IS_BUFFER (src), FALSE);
  g_return_val_if_fail (canvas && args && pixels && mask, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (args->generate)    /* SD works on colour; alpha is kept as it is */
    grey = FALSE, alpha = TRUE;
  nch = (grey ? 1 : 3) + (alpha ? 1 : 0);

  if (left < 0 || right < 0 || top < 0 || bottom < 0 || feather < 0
      || args->context < 0 || args->n_threads < 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Pixels to add, the blend width and the sampling width may "
                   "not be negative.");
      return FALSE;
    }
  if (left + right + top + bottom == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Nothing to extend: give the pixels to add on at least one side.");
      return FALSE;
    }
  if (canvas->width <= 0 || canvas->height <= 0
      || (gint64) canvas->width + left + right > 65536
      || (gint64) canvas->height + top + bottom > 65536)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The extended canvas would be %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " pixels; at most 65536 a side.",
                   (gint64) canvas->width + left + right,
                   (gint64) canvas->height + top + bottom);
      return FALSE;
    }

  img = g_try_malloc_n ((gsize) canvas->width * canvas->height, nch * sizeof (float));
  if (!img)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %d×%d canvas.", canvas->width, canvas->height);
      return FALSE;
    }
  gegl_buffer_get (src, canvas, 1.0, read_format (src, grey, alpha), img,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  {
    dream_image im = { img, canvas->width, canvas->height, nch };
    ok = dream_canvas_extend (&im, left, right, top, bottom, feather,
                              &big, &bigmask, error);
  }
  g_free (img);
  if (!ok)
    return FALSE;

  ok = fill_binary (big.data, bigmask.data, big.width, big.height, nch, args, error);
  if (ok)
    make_results (src, grey, alpha, big.data, bigmask.data, big.width, 0, 0,
                  GEGL_RECTANGLE (0, 0, big.width, big.height), pixels, mask);
  g_free (big.data);
  g_free (bigmask.data);
  return ok;
}

gboolean
dream_pixels_outpaint_target (int width, int height, int target_width, int target_height,
                              const char *aspect, dream_anchor anchor,
                              int *left, int *right, int *top, int *bottom,
                              char **settings, GError **error)
{
  char *ratio = g_strstrip (g_strdup (aspect ? aspect : ""));

  if (!dream_canvas_margins (width, height, target_width, target_height, ratio, anchor,
                             left, right, top, bottom, error))
    {
      g_free (ratio);
      return FALSE;
    }
  *settings = *ratio
    ? g_strdup_printf (" aspect=%s anchor=%s", ratio, dream_anchor_to_string (anchor))
    : g_strdup_printf (" to=%dx%d anchor=%s", width + *left + *right,
                       height + *top + *bottom, dream_anchor_to_string (anchor));
  g_free (ratio);
  return TRUE;
}
