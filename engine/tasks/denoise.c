/* denoise.c — the denoise task: FFDNet over tiles.
 *
 * The image is cut by the tiling planner into tiles whose origins are
 * even (FFDNet works on 2×2 sub-images) and whose overlap covers the
 * network's receptive field, so the tiled result equals the untiled one.
 * Each tile is copied into an even-sized buffer (odd edges replicate the
 * last row/column, as the original code pads), run through the network,
 * and its core copied to the output. Memory is bounded by the tile size.
 *
 * Channel adaptation: a colour model on a grey image sees the grey
 * replicated to RGB and returns the mean of its three outputs; a grey
 * model on a colour image runs once per channel.
 */
#include "models/ffdnet.h"
#include "tile/tile.h"

#include <math.h>
#include <string.h>

enum { DEFAULT_TILE = 1024, MAX_SIDE = 1 << 16 };
#define MAX_SIGMA 75.0

dream_denoise_params
dream_denoise_default_params (void)
{
  return (dream_denoise_params) {
    .sigma = 25.0, .n_threads = 0, .tile = 0,
    .progress = NULL, .progress_user = NULL,
  };
}

static gboolean
check_args (const dream_model *model, const dream_image *in,
            const dream_image *out, const dream_denoise_params *p,
            GError **error)
{
  const char *why = NULL;
  if (!model || g_strcmp0 (model->arch, "ffdnet") != 0)
    why = "the model is not a denoising (FFDNet) model";
  else if (!in || !in->data || !out || !out->data)
    why = "missing image";
  else if (in->width < 1 || in->height < 1 || in->width > MAX_SIDE || in->height > MAX_SIDE)
    why = "image size must be between 1 and 65536 pixels per side";
  else if (in->channels != 1 && in->channels != 3)
    why = "image must have 1 (grey) or 3 (RGB) channels";
  else if (out->width != in->width || out->height != in->height || out->channels != in->channels)
    why = "output image must have the input's size and channels";
  else if (out->data == in->data)
    why = "output may not alias the input";
  else if (!p || isnan (p->sigma) || p->sigma > MAX_SIGMA)
    why = "sigma must be between 0 and 75 (or negative to estimate it)";
  else if (p->tile < 0 || p->n_threads < 0)
    why = "tile size and thread count may not be negative";
  if (why)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "Denoise: %s", why);
  return why == NULL;
}

/* Copies rect r of channel plane `pass` (or all channels) of `in` into t,
 * (th, tw, mc), th/tw = r size rounded up to even with edge replication. */
static void
gather_tile (const dream_image *in, dream_rect r, int mc, int pass,
             float *t, int th, int tw)
{
  for (int y = 0; y < th; y++)
    {
      int sy = r.y + MIN (y, r.h - 1);
      for (int x = 0; x < tw; x++)
        {
          int sx = r.x + MIN (x, r.w - 1);
          const float *s = in->data + ((size_t) sy * in->width + sx) * in->channels;
          float *d = t + ((size_t) y * tw + x) * mc;
          if (mc == in->channels)
            memcpy (d, s, sizeof (float) * mc);
          else if (mc == 3)            /* grey image, colour model */
            d[0] = d[1] = d[2] = s[0];
          else                         /* colour image, grey model */
            d[0] = s[pass];
        }
    }
}

/* Writes the core `out_r` of tile result t (th, tw, mc) read from `in_r`. */
static void
scatter_tile (const float *t, int tw, int mc, dream_rect in_r, dream_rect out_r,
              int pass, dream_image *out)
{
  for (int y = out_r.y; y < out_r.y + out_r.h; y++)
    for (int x = out_r.x; x < out_r.x + out_r.w; x++)
      {
        const float *s = t + ((size_t) (y - in_r.y) * tw + (x - in_r.x)) * mc;
        float *d = out->data + ((size_t) y * out->width + x) * out->channels;
        if (mc == out->channels)
          memcpy (d, s, sizeof (float) * mc);
        else if (mc == 3)
          d[0] = (s[0] + s[1] + s[2]) * (1.0f / 3.0f);
        else
          d[pass] = s[0];
      }
}

gboolean
dream_denoise (const dream_model *model, const dream_image *in,
               dream_image *out, const dream_denoise_params *params,
               double *sigma_used, GError **error)
{
  if (!check_args (model, in, out, params, error))
    return FALSE;
  const dream_ffdnet *net = model->net;

  double sigma = params->sigma;
  if (sigma < 0.0)
    {
      sigma = dream_noise_estimate (in);
      if (sigma < 0.0)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "Denoise: the image is too small to estimate its noise level; give sigma");
          return FALSE;
        }
      sigma = MIN (sigma, MAX_SIGMA);
    }

  const int mc = net->channels;
  const int passes = (mc == 1 && in->channels == 3) ? 3 : 1;
  dream_tile_spec spec = {
    .tile = params->tile > 0 ? params->tile : DEFAULT_TILE,
    .overlap = 2 * net->n_layers + 2,   /* receptive radius 2L+1 pixels */
    .align = 2,
  };
  int n_tiles, max_w, max_h;
  dream_tile *tiles = dream_tile_plan (in->width, in->height, &spec, &n_tiles);
  dream_tile_max_in (tiles, n_tiles, &max_w, &max_h);
  max_w = (max_w + 1) & ~1;
  max_h = (max_h + 1) & ~1;

  dream_gemm_init ();
  dream_pool *pool = dream_pool_new (params->n_threads);
  dream_ffdnet_state state;
  gboolean ok = FALSE;
  float *tin = NULL, *tout = NULL;
  size_t tile_floats = (size_t) max_w * max_h * mc;
  if (!dream_ffdnet_state_init (&state, net, max_h, max_w,
                                dream_pool_n_threads (pool), error))
    goto done;
  tin = dream_alloc (tile_floats, sizeof (float), "denoise tile", error);
  tout = tin ? dream_alloc (tile_floats, sizeof (float), "denoise tile", error) : NULL;
  if (!tout)
    goto done;

  double total = 0.0;
  for (int i = 0; i < n_tiles; i++)
    total += (double) tiles[i].in.w * tiles[i].in.h;
  dream_progress progress;
  dream_progress_init (&progress, params->progress, params->progress_user,
                       total * passes * net->n_layers);
  if (!dream_progress_step (&progress, 0.0, error))
    goto done;

  for (int pass = 0; pass < passes; pass++)
    for (int i = 0; i < n_tiles; i++)
      {
        dream_rect r = tiles[i].in;
        int th = (r.h + 1) & ~1, tw = (r.w + 1) & ~1;
        gather_tile (in, r, mc, pass, tin, th, tw);
        if (!dream_ffdnet_forward (net, &state, tin, th, tw, (float) (sigma / 255.0),
                                   tout, pool, &progress, (double) r.w * r.h, error))
          goto done;
        scatter_tile (tout, tw, mc, r, tiles[i].out, pass, out);
      }
  if (sigma_used)
    *sigma_used = sigma;
  ok = TRUE;

done:
  g_free (tin);
  g_free (tout);
  dream_ffdnet_state_clear (&state);
  dream_pool_free (pool);
  g_free (tiles);
  return ok;
}
