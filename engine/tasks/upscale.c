/* upscale.c — the upscale task: a super-resolution network over tiles,
 * then a Lanczos-3 resample to the requested size.
 *
 * The network runs at its native factor s (SRVGGNetCompact ×4, RDN ×2/3/4/8,
 * RRDBNet ×4/×2/×1) on tiles of the input planned by the shared planner;
 * the native result of each tile is weighted by its blend weight (tile.h)
 * and, when the requested size is not exactly s times the input, resampled
 * by Lanczos-3 straight into the output (resampling is linear, so the sum
 * of the resampled weighted tiles is the resampled whole). Tiles add into
 * a band of output rows; when a row of tiles is done, the rows no later
 * tile touches are finished and handed over (dream_upscale_rows), so
 * memory is bounded by the tile and the output width: no native-size
 * image is ever held, and dream_upscale() just copies the bands out.
 *
 * Two ways to cut tiles:
 *  - Networks with a small receptive field (SRVGGNetCompact 34 pixels,
 *    RDN 10) read an overlap that covers it, and each output pixel comes
 *    from the one tile whose core holds it: the tiled result equals the
 *    untiled one.
 *  - RRDBNet's field is hundreds of pixels wide, so tiles read CONTEXT
 *    pixels beyond a linear cross-fade of 2 * FEATHER pixels centred on
 *    the core boundaries (tests/test_upscale.c checks tiled against
 *    untiled within 1/255).
 *
 * Channels: 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA). The networks
 * are RGB: grey is replicated to RGB and the mean of the three outputs
 * kept. Alpha does not go through the network: it is resampled from the
 * input by Lanczos-3. Results are clamped to 0..1.
 */
#include "models/sr.h"
#include "ops/ops.h"
#include "tile/tile.h"

#include <math.h>
#include <string.h>

enum {
  MAX_SIDE = 1 << 16,        /* input side */
  MAX_OUT_SIDE = 1 << 19,    /* output side */
  EXACT_RADIUS_MAX = 40,     /* wider receptive fields are blended */
  FEATHER = 8,               /* input pixels each side of a boundary */
  CONTEXT = 16,              /* input pixels read beyond the cross-fade */
  ALPHA_BAND = 64,           /* output rows per alpha band */
  MIN_TILE = 32,
  MAX_AUTO_TILE = 1024,
};
#define MEMORY_BUDGET ((size_t) 384 << 20)   /* bytes, for the automatic tile */
#define FILTER DREAM_FILTER_LANCZOS3

dream_upscale_params
dream_upscale_default_params (void)
{
  return (dream_upscale_params) {
    .scale = 4.0, .n_threads = 0, .tile = 0,
    .progress = NULL, .progress_user = NULL,
  };
}

int
dream_upscale_size (int size, double scale)
{
  double v = floor (size * scale + 0.5);
  return v < 1.0 ? 1 : v > G_MAXINT ? G_MAXINT : (int) v;
}

int
dream_upscale_native_scale (const dream_model *model)
{
  const dream_sr_class *cls = model ? dream_sr_class_find (model->arch) : NULL;
  if (!cls)
    return 0;
  dream_sr_info info;
  cls->info (model->net, &info);
  return info.scale;
}

char *
dream_upscale_model_find (const char *choice, double scale, GError **error)
{
  static const int rdn_scales[] = { 2, 3, 4, 8 };
  g_return_val_if_fail (choice != NULL, NULL);
  if (!strcmp (choice, "photo"))
    return dream_model_find ("realesr-general-x4v3", error);
  if (!strcmp (choice, "anime"))
    return dream_model_find ("realesr-animevideov3-x4", error);
  if (!strcmp (choice, "fast"))
    {
      int s = 8;
      for (size_t i = 0; i < G_N_ELEMENTS (rdn_scales); i++)
        if (rdn_scales[i] >= scale - 1e-9)
          {
            s = rdn_scales[i];
            break;
          }
      char name[32];
      g_snprintf (name, sizeof name, "rdn-slim-x%d", s);
      return dream_model_find (name, error);
    }
  return dream_model_find (choice, error);
}

static gboolean
check_args (const dream_model *model, const dream_image *in,
            const dream_image *out, const dream_upscale_params *p,
            GError **error)
{
  const char *why = NULL;
  if (!model || !dream_sr_class_find (model->arch))
    why = "the model is not a super-resolution model";
  else if (!in || !in->data || (out && !out->data))
    why = "missing image";
  else if (in->width < 1 || in->height < 1 || in->width > MAX_SIDE || in->height > MAX_SIDE)
    why = "image size must be between 1 and 65536 pixels per side";
  else if (in->channels < 1 || in->channels > 4)
    why = "image must have 1 to 4 channels (grey, grey+alpha, RGB, RGBA)";
  else if (!p || !isfinite (p->scale) || p->scale < 1.0 || p->scale > 8.0)
    why = "scale must be between 1 and 8";
  else if (dream_upscale_size (in->width, p->scale) > MAX_OUT_SIDE
           || dream_upscale_size (in->height, p->scale) > MAX_OUT_SIDE)
    why = "the result would be over 524288 pixels per side";
  else if (out && (out->width != dream_upscale_size (in->width, p->scale)
                   || out->height != dream_upscale_size (in->height, p->scale)
                   || out->channels != in->channels))
    why = "output image must have the input's channels and its size times the scale "
          "(dream_upscale_size)";
  else if (out && out->data == in->data)
    why = "output may not alias the input";
  else if (p->tile < 0 || p->n_threads < 0)
    why = "tile size and thread count may not be negative";
  if (why)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "Upscale: %s", why);
  return why == NULL;
}

/* ---- alpha: straight Lanczos resample of the input's last channel ------- */

typedef struct {
  dream_resampler rx, ry;     /* input -> output size */
  float *src;                 /* source rows of one sub-band (rows, W) */
  float *scratch;
  float *dst;                 /* (ALPHA_BAND, DW) */
} alpha_ctx;

static void
alpha_clear (alpha_ctx *ac)
{
  dream_resampler_clear (&ac->rx);
  dream_resampler_clear (&ac->ry);
  g_clear_pointer (&ac->src, g_free);
  g_clear_pointer (&ac->scratch, g_free);
  g_clear_pointer (&ac->dst, g_free);
}

static gboolean
alpha_init (alpha_ctx *ac, const dream_image *in, int DW, int DH, GError **error)
{
  *ac = (alpha_ctx) { 0 };
  if (!dream_resampler_init (&ac->rx, FILTER, in->width, DW, error)
      || !dream_resampler_init (&ac->ry, FILTER, in->height, DH, error))
    {
      alpha_clear (ac);
      return FALSE;
    }
  /* largest source span and scratch of any ALPHA_BAND rows */
  size_t rows_max = 0, scratch_max = 0;
  for (int y0 = 0; y0 < DH; y0++)
    {
      int n = MIN (ALPHA_BAND, DH - y0), s0, s1;
      dream_resampler_span (&ac->ry, y0, n, &s0, &s1);
      rows_max = MAX (rows_max, (size_t) (s1 - s0));
      scratch_max = MAX (scratch_max, dream_resample_2d_scratch_size (&ac->ry, y0, n, DW, 1));
      if (y0 + n == DH)
        break;
    }
  ac->src = dream_alloc (rows_max * in->width, sizeof (float), "alpha rows", error);
  ac->scratch = ac->src ? dream_alloc (scratch_max, sizeof (float), "alpha scratch", error) : NULL;
  ac->dst = ac->scratch ? dream_alloc ((size_t) ALPHA_BAND * DW, sizeof (float), "alpha band", error) : NULL;
  if (!ac->dst)
    {
      alpha_clear (ac);
      return FALSE;
    }
  return TRUE;
}

/* Alpha of output rows [y0, y0 + n) into channel oc - 1 of band (n, DW, oc). */
static void
alpha_rows (alpha_ctx *ac, const dream_image *in, int y0, int n, float *band, int oc)
{
  const int c = in->channels, W = in->width, DW = ac->rx.dst_len;
  for (int b0 = y0; b0 < y0 + n; b0 += ALPHA_BAND)
    {
      int m = MIN (ALPHA_BAND, y0 + n - b0), s0, s1;
      dream_resampler_span (&ac->ry, b0, m, &s0, &s1);
      for (int y = s0; y < s1; y++)
        for (int x = 0; x < W; x++)
          ac->src[(size_t) (y - s0) * W + x] = in->data[((size_t) y * W + x) * c + c - 1];
      dream_resample_2d (&ac->rx, &ac->ry, ac->src, 0, s0, W, 1, 0, b0, DW, m,
                         ac->dst, ac->scratch);
      for (int y = 0; y < m; y++)
        for (int x = 0; x < DW; x++)
          {
            float v = ac->dst[(size_t) y * DW + x];
            band[((size_t) (b0 - y0 + y) * DW + x) * oc + oc - 1] = CLAMP (v, 0.0f, 1.0f);
          }
    }
}

/* ---- colour through the network ----------------------------------------- */

typedef struct {
  const dream_sr_class *cls;
  const void *net;
  dream_sr_info info;
  int W, H, NW, NH, DW, DH;  /* input, native and output sizes */
  int cc;                    /* colour channels of the image: 1 or 3 */
  int feather;               /* in native pixels */
  gboolean identity;         /* output = native size: no resampling */
  dream_resampler rx, ry;
} plan;

/* Native-resolution span of a tile's weight along one axis. */
static void
tile_span (const plan *pl, int c0, int c1, int length, int *lo, int *hi)
{
  int s = pl->info.scale;
  dream_tile_blend_span (c0 * s, c1 * s, length * s, pl->feather, lo, hi);
}

/* Output range [*d0, *d1) whose filter taps touch native [lo, hi). */
static void
out_range (const dream_resampler *r, int lo, int hi, int *d0, int *d1)
{
  int a = 0, b = r->dst_len;
  while (a < b && r->first[a] + r->count[a] <= lo)
    a++;
  while (b > a && r->first[b - 1] >= hi)
    b--;
  *d0 = a;
  *d1 = b;
}

/* Where a tile's weighted result goes: its native window (the resampler
 * input, or the span itself when there is no resampling) and output rect. */
typedef struct {
  int sx0, sx1, sy0, sy1;   /* native weight span */
  int wx0, wx1, wy0, wy1;   /* native window read by the outputs */
  int dx0, dx1, dy0, dy1;   /* output rectangle */
} tile_dest;

static void
tile_destination (const plan *pl, const dream_tile *t, tile_dest *d)
{
  tile_span (pl, t->out.x, t->out.x + t->out.w, pl->W, &d->sx0, &d->sx1);
  tile_span (pl, t->out.y, t->out.y + t->out.h, pl->H, &d->sy0, &d->sy1);
  if (pl->identity)
    {
      d->wx0 = d->dx0 = d->sx0; d->wx1 = d->dx1 = d->sx1;
      d->wy0 = d->dy0 = d->sy0; d->wy1 = d->dy1 = d->sy1;
      return;
    }
  out_range (&pl->rx, d->sx0, d->sx1, &d->dx0, &d->dx1);
  out_range (&pl->ry, d->sy0, d->sy1, &d->dy0, &d->dy1);
  dream_resampler_span (&pl->rx, d->dx0, d->dx1 - d->dx0, &d->wx0, &d->wx1);
  dream_resampler_span (&pl->ry, d->dy0, d->dy1 - d->dy0, &d->wy0, &d->wy1);
}

/* Copies rect r of the colour channels of `in` into t (th, tw, 3); th, tw
 * are r's size rounded up to the alignment, edges replicated. */
static void
gather_tile (const dream_image *in, int cc, dream_rect r, float *t, int th, int tw)
{
  for (int y = 0; y < th; y++)
    {
      int sy = r.y + MIN (y, r.h - 1);
      for (int x = 0; x < tw; x++)
        {
          int sx = r.x + MIN (x, r.w - 1);
          const float *s = in->data + ((size_t) sy * in->width + sx) * in->channels;
          float *d = t + ((size_t) y * tw + x) * 3;
          if (cc == 3)
            memcpy (d, s, sizeof (float) * 3);
          else
            d[0] = d[1] = d[2] = s[0];
        }
    }
}

/* Adds v (3 floats) to output pixel o, as RGB or as their mean (grey). */
static inline void
add_pixel (float *o, int cc, const float *v, float w)
{
  if (cc == 3)
    {
      o[0] += w * v[0];
      o[1] += w * v[1];
      o[2] += w * v[2];
    }
  else
    o[0] += w * (v[0] + v[1] + v[2]) * (1.0f / 3.0f);
}

static int
round_up (int v, int a)
{
  return (v + a - 1) / a * a;
}

/* The automatic tile edge: the largest that keeps the run state and the
 * tile buffers within MEMORY_BUDGET. */
static int
auto_tile (const plan *pl, int overlap, int n_threads)
{
  const int a = pl->info.align, s = pl->info.scale;
  for (int t = MAX_AUTO_TILE; t > MIN_TILE; t -= 16)
    {
      int e = round_up (t + 2 * overlap, a);
      size_t bytes = pl->cls->state_bytes (pl->net, e, e, n_threads)
        + sizeof (float) * ((size_t) e * e * 3 * (1 + 2 * (size_t) s * s));
      if (bytes <= MEMORY_BUDGET)
        return round_up (t, a);
    }
  return round_up (MIN_TILE, a);
}

/* The task: tiles in the planner's row-major order add into a band of
 * output rows; when a row of tiles is done, the rows no later tile
 * touches are finished (alpha, clamping) and handed to `emit`. The band
 * holds at most one row of tiles' reach of output rows. */
static gboolean
upscale_rows (const dream_model *model, const dream_image *in,
              const dream_upscale_params *params,
              dream_upscale_rows_func emit, gpointer user, GError **error)
{
  plan pl = { .cls = dream_sr_class_find (model->arch), .net = model->net };
  pl.cls->info (pl.net, &pl.info);
  const int s = pl.info.scale, a = pl.info.align;
  pl.W = in->width;  pl.H = in->height;
  pl.NW = pl.W * s;  pl.NH = pl.H * s;
  pl.DW = dream_upscale_size (pl.W, params->scale);
  pl.DH = dream_upscale_size (pl.H, params->scale);
  pl.cc = in->channels >= 3 ? 3 : 1;
  pl.identity = pl.DW == pl.NW && pl.DH == pl.NH;
  const int oc = in->channels;
  const gboolean has_alpha = oc == 2 || oc == 4;

  const gboolean exact = pl.info.radius <= EXACT_RADIUS_MAX;
  int feather = exact ? 0 : FEATHER;
  const int context = exact ? pl.info.radius : CONTEXT;

  dream_gemm_init ();
  dream_pool *pool = dream_pool_new (params->n_threads);
  const int n_threads = dream_pool_n_threads (pool);
  dream_tile_spec spec = { .overlap = feather + context, .align = a };
  spec.tile = params->tile > 0 ? round_up (params->tile, a) : auto_tile (&pl, spec.overlap, n_threads);
  int n_tiles;
  dream_tile *tiles = dream_tile_plan (pl.W, pl.H, &spec, &n_tiles);
  pl.feather = dream_tile_max_feather (tiles, n_tiles, feather) * s;

  gboolean ok = FALSE;
  void *state = NULL;
  float *tin = NULL, *tnat = NULL, *win = NULL, *dst = NULL, *scratch = NULL, *band = NULL;
  tile_dest *dest = g_new (tile_dest, n_tiles);
  alpha_ctx ac = { 0 };
  if (!pl.identity
      && (!dream_resampler_init (&pl.rx, FILTER, pl.NW, pl.DW, error)
          || !dream_resampler_init (&pl.ry, FILTER, pl.NH, pl.DH, error)))
    goto done;
  if (has_alpha && !alpha_init (&ac, in, pl.DW, pl.DH, error))
    goto done;

  /* Buffers for the largest tile and band, allocated once. A row of
   * tiles (same core y) touches output rows [row_lo, row_hi). */
  int max_w, max_h;
  dream_tile_max_in (tiles, n_tiles, &max_w, &max_h);
  max_w = round_up (max_w, a);
  max_h = round_up (max_h, a);
  size_t win_max = 0, dst_max = 0, scratch_max = 0;
  int band_rows = 0;
  double total = 0.0;
  for (int i = 0, row_start = 0; i < n_tiles; i++)
    {
      tile_dest *d = &dest[i];
      tile_destination (&pl, &tiles[i], d);
      win_max = MAX (win_max, (size_t) (d->wx1 - d->wx0) * (d->wy1 - d->wy0) * 3);
      dst_max = MAX (dst_max, (size_t) (d->dx1 - d->dx0) * (d->dy1 - d->dy0) * 3);
      if (!pl.identity)
        scratch_max = MAX (scratch_max, dream_resample_2d_scratch_size (
                             &pl.ry, d->dy0, d->dy1 - d->dy0, d->dx1 - d->dx0, 3));
      total += (double) tiles[i].in.w * tiles[i].in.h;
      if (tiles[i].out.y != tiles[row_start].out.y)
        row_start = i;
      band_rows = MAX (band_rows, d->dy1 - dest[row_start].dy0);
    }
  state = pl.cls->state_new (pl.net, max_h, max_w, n_threads, error);
  if (!state)
    goto done;
  tin = dream_alloc ((size_t) max_w * max_h, 3 * sizeof (float), "upscale tile", error);
  tnat = tin ? dream_alloc ((size_t) max_w * max_h * s * s, 3 * sizeof (float),
                            "upscale tile", error) : NULL;
  band = tnat ? dream_alloc ((size_t) band_rows * pl.DW, oc * sizeof (float),
                             "upscale rows", error) : NULL;
  if (!band)
    goto done;
  if (!pl.identity)
    {
      win = dream_alloc (win_max, sizeof (float), "upscale window", error);
      dst = win ? dream_alloc (dst_max, sizeof (float), "upscale window", error) : NULL;
      scratch = dst ? dream_alloc (scratch_max, sizeof (float), "upscale window", error) : NULL;
      if (!scratch)
        goto done;
    }

  dream_progress progress;
  dream_progress_init (&progress, params->progress, params->progress_user, total);
  if (!dream_progress_step (&progress, 0.0, error))
    goto done;

  const size_t row_floats = (size_t) pl.DW * oc;
  int base = 0;     /* output row held in band row 0 */
  int filled = 0;   /* rows [base, filled) hold sums; later ones are not set */
  int emitted = 0;  /* rows before this one were handed over */
  for (int i = 0; i <= n_tiles; i++)
    {
      /* A new row of tiles (or the end): finish and hand over the rows
       * no later tile touches, then slide the band. */
      if (i == n_tiles || (i > 0 && tiles[i].out.y != tiles[i - 1].out.y) || i == 0)
        {
          int lo = i == n_tiles ? pl.DH : dest[i].dy0;
          int hi = lo;
          for (int k = i; k < n_tiles && tiles[k].out.y == tiles[i].out.y; k++)
            hi = MAX (hi, dest[k].dy1);
          if (lo > emitted)
            {
              float *rows = band + (size_t) (emitted - base) * row_floats;
              int n = lo - emitted;
              for (size_t p = 0; p < (size_t) n * pl.DW; p++)
                for (int c = 0; c < pl.cc; c++)
                  rows[p * oc + c] = CLAMP (rows[p * oc + c], 0.0f, 1.0f);
              if (has_alpha)
                alpha_rows (&ac, in, emitted, n, rows, oc);
              if (!emit (user, emitted, n, rows))
                {
                  g_set_error_literal (error, DREAM_ERROR, DREAM_ERROR_CANCELLED, "Cancelled");
                  goto done;
                }
              emitted = lo;
            }
          if (i == n_tiles)
            break;
          /* keep rows [lo, filled), clear new rows up to hi */
          if (filled > lo)
            memmove (band, band + (size_t) (lo - base) * row_floats,
                     sizeof (float) * (size_t) (filled - lo) * row_floats);
          else
            filled = lo;
          base = lo;
          if (hi > filled)
            {
              memset (band + (size_t) (filled - base) * row_floats, 0,
                      sizeof (float) * (size_t) (hi - filled) * row_floats);
              filled = hi;
            }
        }

      const dream_tile *t = &tiles[i];
      const tile_dest *d = &dest[i];
      dream_rect r = t->in;
      int th = round_up (r.h, a), tw = round_up (r.w, a);
      gather_tile (in, pl.cc, r, tin, th, tw);
      if (!pl.cls->forward (pl.net, state, tin, th, tw, tnat, pool, &progress,
                            (double) r.w * r.h, error))
        goto done;

      /* tnat (th*s, tw*s, 3) holds native pixels from (r.x*s, r.y*s) */
      const int nx0 = r.x * s, ny0 = r.y * s, nw = tw * s;
      const int cx0 = t->out.x * s, cx1 = (t->out.x + t->out.w) * s;
      const int cy0 = t->out.y * s, cy1 = (t->out.y + t->out.h) * s;
      if (pl.identity)
        {
          for (int y = d->sy0; y < d->sy1; y++)
            {
              float wy = dream_tile_blend_weight (cy0, cy1, pl.NH, pl.feather, y);
              const float *srow = tnat + (size_t) (y - ny0) * nw * 3;
              float *orow = band + (size_t) (y - base) * row_floats;
              for (int x = d->sx0; x < d->sx1; x++)
                add_pixel (orow + (size_t) x * oc, pl.cc, srow + (size_t) (x - nx0) * 3,
                           wy * dream_tile_blend_weight (cx0, cx1, pl.NW, pl.feather, x));
            }
        }
      else
        {
          /* weighted window, zero outside the span */
          const int ww = d->wx1 - d->wx0, wh = d->wy1 - d->wy0;
          memset (win, 0, sizeof (float) * (size_t) ww * wh * 3);
          for (int y = d->sy0; y < d->sy1; y++)
            {
              float wy = dream_tile_blend_weight (cy0, cy1, pl.NH, pl.feather, y);
              const float *srow = tnat + (size_t) (y - ny0) * nw * 3;
              float *wrow = win + (size_t) (y - d->wy0) * ww * 3;
              for (int x = d->sx0; x < d->sx1; x++)
                {
                  float wv = wy * dream_tile_blend_weight (cx0, cx1, pl.NW, pl.feather, x);
                  const float *sp = srow + (size_t) (x - nx0) * 3;
                  float *wp = wrow + (size_t) (x - d->wx0) * 3;
                  wp[0] = wv * sp[0];
                  wp[1] = wv * sp[1];
                  wp[2] = wv * sp[2];
                }
            }
          const int dw = d->dx1 - d->dx0, dh = d->dy1 - d->dy0;
          dream_resample_2d (&pl.rx, &pl.ry, win, d->wx0, d->wy0, ww, 3,
                             d->dx0, d->dy0, dw, dh, dst, scratch);
          for (int y = 0; y < dh; y++)
            {
              float *orow = band + (size_t) (d->dy0 + y - base) * row_floats
                            + (size_t) d->dx0 * oc;
              const float *drow = dst + (size_t) y * dw * 3;
              for (int x = 0; x < dw; x++)
                add_pixel (orow + (size_t) x * oc, pl.cc, drow + (size_t) x * 3, 1.0f);
            }
        }
    }

  /* the steps' fractions need not add up to exactly 1: say it once */
  progress.done = progress.total;
  ok = dream_progress_step (&progress, 0.0, error);

done:
  if (state)
    pl.cls->state_free (state);
  g_free (tin);
  g_free (tnat);
  g_free (win);
  g_free (dst);
  g_free (scratch);
  g_free (band);
  g_free (dest);
  alpha_clear (&ac);
  dream_resampler_clear (&pl.rx);
  dream_resampler_clear (&pl.ry);
  dream_pool_free (pool);
  g_free (tiles);
  return ok;
}

gboolean
dream_upscale_rows (const dream_model *model, const dream_image *in,
                    const dream_upscale_params *params,
                    dream_upscale_rows_func rows, gpointer user, GError **error)
{
  if (!rows)
    {
      g_set_error_literal (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                           "Upscale: no function to receive the rows");
      return FALSE;
    }
  if (!check_args (model, in, NULL, params, error))
    return FALSE;
  return upscale_rows (model, in, params, rows, user, error);
}

static gboolean
copy_rows (gpointer user, int y, int n_rows, const float *rows)
{
  dream_image *out = user;
  memcpy (out->data + (size_t) y * out->width * out->channels, rows,
          sizeof (float) * (size_t) n_rows * out->width * out->channels);
  return TRUE;
}

gboolean
dream_upscale (const dream_model *model, const dream_image *in,
               dream_image *out, const dream_upscale_params *params,
               GError **error)
{
  if (!out)
    {
      g_set_error_literal (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                           "Upscale: missing image");
      return FALSE;
    }
  if (!check_args (model, in, out, params, error))
    return FALSE;
  return upscale_rows (model, in, params, copy_rows, out, error);
}
