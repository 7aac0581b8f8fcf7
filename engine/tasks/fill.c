/* fill.c — content-aware fill (multi-scale PatchMatch with coherent
 * voting), the smooth (harmonic) fill, and canvas extension.
 *
 * The method is Wexler, Shechtman & Irani, "Space-time completion of
 * video" (2007), with the nearest-neighbour field found by PatchMatch
 * (Barnes et al. 2009):
 *
 *   1. Crop: the hole (mask > 0) and its bounding box grown by
 *      `context` pixels (or the whole image). All work happens on copies
 *      of that crop, so memory is a few times the crop, and the caller's
 *      `out` is written once, at the end.
 *   2. Pyramid: halve the crop until the hole is at most a patch wide
 *      (distance to the known part ≤ 2 patch radii) or the crop would be
 *      under 4 patches a side. A coarse pixel is known only if its 2×2
 *      children all are. Every pixel carries its colours plus two texture
 *      features (see add_features).
 *   3. Coarsest level: the hole starts from the smooth fill, the
 *      nearest-neighbour field (NNF) at random.
 *   4. Each level, a few EM rounds:
 *        E: PatchMatch — every "target" patch (a patch that touches the
 *           hole) looks for the most similar "source" patch (fully inside
 *           the crop, no hole pixel): propagation from the neighbours'
 *           matches, then random search at halving radii (from the
 *           whole crop at the coarsest level, from SEARCH_FINE below).
 *        M: vote — each hole pixel becomes the weighted mean of what the
 *           overlapping target patches' matches say it should be. The
 *           weight is exp(−d / 2σ²) (d: the match's mean squared
 *           difference, σ²: its 75th percentile over the level) times
 *           1.3^−(distance of the patch centre to the known part), so the
 *           patches anchored on real pixels win. At the BEST_LEVELS
 *           finest levels the pixel takes the value of the single
 *           highest-weighted patch instead (averaging blurs texture away,
 *           and a blurred hole then matches flat sources ever better),
 *           except within BLEND_BAND px of the known part, where the
 *           mean of the patches anchored on both sides hides the seam.
 *   5. The NNF is upsampled to the next finer level (a match at 2× the
 *      coarse source) and voted with the fine pixels straight away, so
 *      fine texture appears before the first fine EM round.
 *   6. Seam correction: the mismatch between the known pixels along the
 *      hole's edge and what the votes would put there is spread over the
 *      hole harmonically and added (seam_correct), so the fill meets its
 *      border without a step and keeps its texture.
 *   7. Finally out = m·filled + (1 − m)·image.
 *
 * Parameters were chosen on the Kodak hole test (tests/test_fill_quality.c;
 * patch 9 over 7 and 11, the stop depth, best-patch votes, the blend
 * band, the search cap),
 * not on the images the benchmark uses.
 *
 * Threads: PatchMatch and voting run over horizontal bands of BAND rows
 * on the engine's pool. The band layout and every band's random stream
 * depend only on the seed, the level and the round — not on the thread
 * count — and a band only propagates from inside itself, so the result is
 * the same bits for any number of threads. Voting writes hole pixels and
 * reads source pixels (never in the hole), so bands do not race.
 */
#include "tasks/fill.h"

#include <math.h>
#include <string.h>

enum {
  MAX_SIDE = 65536,
  BAND = 16,             /* rows of target centres per PatchMatch task */
  DEFAULT_PATCH = 9,
  BEST_LEVELS = 2,       /* the finest levels vote by the best patch ... */
  BLEND_BAND = 2,        /* ... except within 2 px of the known part,
                            where the weighted mean hides the seam */
  SEARCH_FINE = 32,      /* random search radius below the coarsest level:
                            the upsampled field is already about right */
  MAX_LEVELS = 10,
  SAMPLE_SIGMA = 4096,   /* targets sampled for the σ² percentile */
  N_FEAT = 2,            /* texture features appended to the colours */
  MAX_CH = 4 + N_FEAT,
};

/* ---- small helpers ----------------------------------------------------- */

static inline guint64
splitmix64 (guint64 *s)
{
  guint64 z = (*s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* uniform integer in [0, n) */
static inline int
rand_below (guint64 *s, int n)
{
  return (int) ((splitmix64 (s) >> 33) % (guint64) n);
}

/* Halves (w, h, c) image + hole map into ((w+1)/2, (h+1)/2): a coarse
 * pixel is a hole if any child is; its value is the mean of its known
 * children (0 if none — it is a hole then and will be filled). */
static void
downsample (const float *img, const guint8 *hole, int w, int h, int c,
            float *cimg, guint8 *chole)
{
  int cw = (w + 1) / 2, ch = (h + 1) / 2;
  for (int y = 0; y < ch; y++)
    for (int x = 0; x < cw; x++)
      {
        float acc[MAX_CH] = { 0 };
        int n = 0, any_hole = 0;
        for (int j = 0; j < 2; j++)
          for (int i = 0; i < 2; i++)
            {
              int fx = MIN (2 * x + i, w - 1), fy = MIN (2 * y + j, h - 1);
              size_t f = (size_t) fy * w + fx;
              if (hole[f])
                any_hole = 1;
              else
                {
                  for (int k = 0; k < c; k++)
                    acc[k] += img[f * c + k];
                  n++;
                }
            }
        size_t o = (size_t) y * cw + x;
        chole[o] = (guint8) any_hole;
        for (int k = 0; k < c; k++)
          cimg[o * c + k] = n ? acc[k] / n : 0.0f;
      }
}

/* Sets the hole pixels of the fine image (w, h) from the coarse one
 * ((w+1)/2, (h+1)/2) by bilinear interpolation. */
static void
upsample_hole (const float *cimg, int cw, int chh, float *img,
               const guint8 *hole, int w, int h, int c)
{
  for (int y = 0; y < h; y++)
    {
      float fy = CLAMP ((y + 0.5f) * 0.5f - 0.5f, 0.0f, (float) (chh - 1));
      int y0 = (int) fy, y1 = MIN (y0 + 1, chh - 1);
      float ay = fy - y0;
      for (int x = 0; x < w; x++)
        {
          size_t i = (size_t) y * w + x;
          if (!hole[i])
            continue;
          float fx = CLAMP ((x + 0.5f) * 0.5f - 0.5f, 0.0f, (float) (cw - 1));
          int x0 = (int) fx, x1 = MIN (x0 + 1, cw - 1);
          float ax = fx - x0;
          for (int k = 0; k < c; k++)
            {
              float a = cimg[((size_t) y0 * cw + x0) * c + k];
              float b = cimg[((size_t) y0 * cw + x1) * c + k];
              float d = cimg[((size_t) y1 * cw + x0) * c + k];
              float e = cimg[((size_t) y1 * cw + x1) * c + k];
              img[i * c + k] = (1 - ay) * ((1 - ax) * a + ax * b)
                               + ay * ((1 - ax) * d + ax * e);
            }
        }
    }
}

/* ---- the smooth fill: harmonic interpolation --------------------------- */

/* Red-black SOR sweeps of Laplace's equation on the hole pixels; image
 * edges are mirrors (only in-bounds neighbours are averaged). */
static void
sor_sweeps (float *img, const guint8 *hole, int w, int h, int c, int iters)
{
  const float omega = 1.8f;
  int bx0 = w, by0 = h, bx1 = -1, by1 = -1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (hole[(size_t) y * w + x])
        {
          bx0 = MIN (bx0, x); bx1 = MAX (bx1, x);
          by0 = MIN (by0, y); by1 = MAX (by1, y);
        }
  for (int it = 0; it < iters; it++)
    for (int colour = 0; colour < 2; colour++)
      for (int y = by0; y <= by1; y++)
        for (int x = bx0 + ((y + colour + bx0) & 1); x <= bx1; x += 2)
          {
            size_t i = (size_t) y * w + x;
            if (!hole[i])
              continue;
            for (int k = 0; k < c; k++)
              {
                float s = 0.0f;
                int n = 0;
                if (x > 0) { s += img[(i - 1) * c + k]; n++; }
                if (x < w - 1) { s += img[(i + 1) * c + k]; n++; }
                if (y > 0) { s += img[(i - w) * c + k]; n++; }
                if (y < h - 1) { s += img[(i + w) * c + k]; n++; }
                float v = img[i * c + k];
                img[i * c + k] = v + omega * (s / n - v);
              }
          }
}

/* Fills the hole pixels of img (w, h, c) in place with the harmonic
 * interpolation, coarse to fine. */
static gboolean
harmonic_fill (float *img, const guint8 *hole, int w, int h, int c,
               int iters, int depth, GError **error)
{
  size_t n = (size_t) w * h, n_known = 0;
  double mean[MAX_CH] = { 0 };
  for (size_t i = 0; i < n; i++)
    if (!hole[i])
      {
        for (int k = 0; k < c; k++)
          mean[k] += img[i * c + k];
        n_known++;
      }
  if (n_known == n)
    return TRUE;

  gboolean coarse_done = FALSE;
  if (w > 4 && h > 4 && depth < MAX_LEVELS + 6 && n_known > 0)
    {
      int cw = (w + 1) / 2, chh = (h + 1) / 2;
      float *cimg = dream_alloc ((size_t) cw * chh * c, sizeof (float), "smooth fill", error);
      guint8 *chole = cimg ? dream_alloc ((size_t) cw * chh, 1, "smooth fill", error) : NULL;
      if (!chole)
        {
          g_free (cimg);
          return FALSE;
        }
      downsample (img, hole, w, h, c, cimg, chole);
      size_t cn = (size_t) cw * chh, ck = 0;
      for (size_t i = 0; i < cn; i++)
        ck += !chole[i];
      if (ck > 0)
        {
          if (!harmonic_fill (cimg, chole, cw, chh, c, iters, depth + 1, error))
            {
              g_free (cimg);
              g_free (chole);
              return FALSE;
            }
          upsample_hole (cimg, cw, chh, img, hole, w, h, c);
          coarse_done = TRUE;
        }
      g_free (cimg);
      g_free (chole);
    }
  if (!coarse_done)
    for (size_t i = 0; i < n; i++)
      if (hole[i])
        for (int k = 0; k < c; k++)
          img[i * c + k] = n_known ? (float) (mean[k] / n_known) : 0.0f;

  sor_sweeps (img, hole, w, h, c, iters);
  return TRUE;
}

/* ---- argument checks shared by the fills -------------------------------- */

static gboolean
check_fill_args (const char *who, const dream_image *image,
                 const dream_image *mask, const dream_image *out,
                 GError **error)
{
  const char *why = NULL;
  if (!image || !image->data || !mask || !mask->data || !out || !out->data)
    why = "missing image, mask or output";
  else if (image->width < 1 || image->height < 1
           || image->width > MAX_SIDE || image->height > MAX_SIDE)
    why = "image size must be between 1 and 65536 pixels per side";
  else if (image->channels < 1 || image->channels > 4)
    why = "image must have 1 to 4 channels";
  else if (mask->channels != 1)
    why = "the mask must have 1 channel";
  else if (mask->width != image->width || mask->height != image->height)
    why = "the mask must have the image's size";
  else if (out->width != image->width || out->height != image->height
           || out->channels != image->channels)
    why = "the output must have the image's size and channels";
  if (why)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "%s: %s", who, why);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  int x0, y0, x1, y1;   /* bounding box of mask > 0, inclusive */
  size_t n_hole;
} hole_box;

/* Bounding box of the hole; FALSE + error for NaN, empty or full masks. */
static gboolean
find_hole (const char *who, const dream_image *mask, hole_box *b,
           GError **error)
{
  int w = mask->width, h = mask->height;
  b->x0 = w; b->y0 = h; b->x1 = -1; b->y1 = -1; b->n_hole = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float m = mask->data[(size_t) y * w + x];
        if (isnan (m))
          {
            g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                         "%s: the mask holds NaN values", who);
            return FALSE;
          }
        if (m > 0.0f)
          {
            b->n_hole++;
            b->x0 = MIN (b->x0, x); b->x1 = MAX (b->x1, x);
            b->y0 = MIN (b->y0, y); b->y1 = MAX (b->y1, y);
          }
      }
  if (b->n_hole == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "%s: the mask is empty, there is nothing to fill", who);
      return FALSE;
    }
  if (b->n_hole == (size_t) w * h)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "%s: the mask covers the whole image, there is nothing "
                   "left to fill it from", who);
      return FALSE;
    }
  return TRUE;
}

/* out = m·filled + (1 − m)·image for the crop (cx, cy, cw, chh) whose
 * filled pixels are `fill`; `image` elsewhere. */
static void
blend_out (const dream_image *image, const dream_image *mask, dream_image *out,
           const float *fill, int cx, int cy, int cw, int chh)
{
  int w = image->width, c = image->channels;
  if (out->data != image->data)
    memcpy (out->data, image->data, sizeof (float) * (size_t) w * image->height * c);
  for (int y = 0; y < chh; y++)
    for (int x = 0; x < cw; x++)
      {
        size_t g = (size_t) (cy + y) * w + (cx + x);
        float m = mask->data[g];
        if (!(m > 0.0f))
          continue;
        m = MIN (m, 1.0f);
        const float *f = fill + ((size_t) y * cw + x) * c;
        for (int k = 0; k < c; k++)
          {
            float v = image->data[g * c + k];
            out->data[g * c + k] = m >= 1.0f ? f[k] : v + m * (f[k] - v);
          }
      }
}

/* Copies the crop of `image` and its hole map (mask > 0). */
static gboolean
crop_copy (const dream_image *image, const dream_image *mask,
           int cx, int cy, int cw, int chh, float **img, guint8 **hole,
           GError **error)
{
  int w = image->width, c = image->channels;
  *img = dream_alloc ((size_t) cw * chh * c, sizeof (float), "fill", error);
  *hole = *img ? dream_alloc ((size_t) cw * chh, 1, "fill", error) : NULL;
  if (!*hole)
    {
      g_free (*img);
      *img = NULL;
      return FALSE;
    }
  for (int y = 0; y < chh; y++)
    {
      memcpy (*img + (size_t) y * cw * c,
              image->data + ((size_t) (cy + y) * w + cx) * c,
              sizeof (float) * (size_t) cw * c);
      for (int x = 0; x < cw; x++)
        (*hole)[(size_t) y * cw + x] = mask->data[(size_t) (cy + y) * w + cx + x] > 0.0f;
    }
  return TRUE;
}

gboolean
dream_fill_smooth (const dream_image *image, const dream_image *mask,
                   dream_image *out, int iters, GError **error)
{
  hole_box b;
  if (!check_fill_args ("Smooth fill", image, mask, out, error)
      || !find_hole ("Smooth fill", mask, &b, error))
    return FALSE;
  int w = image->width, h = image->height, c = image->channels;
  float *img;
  guint8 *hole;
  if (!crop_copy (image, mask, 0, 0, w, h, &img, &hole, error))
    return FALSE;
  gboolean ok = harmonic_fill (img, hole, w, h, c, iters > 0 ? iters : 200, 0, error);
  if (ok)
    blend_out (image, mask, out, img, 0, 0, w, h);
  g_free (img);
  g_free (hole);
  return ok;
}

/* ---- texture features ---------------------------------------------------
 *
 * Averaging overlapping patches blurs, and a blurred hole then matches
 * flat sources best: plain EM drifts towards flat fills. As Newson et al.
 * ("Video inpainting of complex scenes", 2014) do, every pixel carries two
 * more channels, the mean absolute horizontal and vertical gradient over
 * a window about a patch wide, computed once on the known pixels at full
 * resolution and filled in the hole by the same votes as the colours. A
 * hole whose colours are still blurry keeps the texture energy of where
 * its patches came from, and keeps matching textured sources.
 */

/* (h, w, c) + hole -> (h, w, c + N_FEAT): the colours, then the features
 * times `weight` (0 in the hole). `fr`: the window's radius. */
static gboolean
add_features (const float *img, const guint8 *hole, int w, int h, int c,
              int fr, float weight, float *out, GError **error)
{
  const int c2 = c + N_FEAT, W = w + 1;
  size_t n = (size_t) w * h, nI = (size_t) W * (h + 1);
  double *sum = dream_alloc (nI * (N_FEAT + 1), sizeof (double), "fill", error);
  if (!sum)
    return FALSE;
  /* integral images of |gx|, |gy| over pixels whose neighbours are known,
   * and of how many such pixels there are */
  memset (sum, 0, sizeof (double) * (N_FEAT + 1) * W);
  for (int y = 0; y < h; y++)
    {
      double row[N_FEAT + 1] = { 0 };
      for (int f = 0; f <= N_FEAT; f++)
        sum[((size_t) (y + 1) * W) * (N_FEAT + 1) + f] = 0.0;
      for (int x = 0; x < w; x++)
        {
          size_t i = (size_t) y * w + x;
          int xa = MAX (x - 1, 0), xb = MIN (x + 1, w - 1);
          int ya = MAX (y - 1, 0), yb = MIN (y + 1, h - 1);
          size_t l = (size_t) y * w + xa, r = (size_t) y * w + xb;
          size_t u = (size_t) ya * w + x, d = (size_t) yb * w + x;
          if (!hole[i] && !hole[l] && !hole[r] && !hole[u] && !hole[d])
            {
              double gx = 0.0, gy = 0.0;
              for (int k = 0; k < c; k++)
                {
                  gx += fabsf (img[r * c + k] - img[l * c + k]);
                  gy += fabsf (img[d * c + k] - img[u * c + k]);
                }
              row[0] += gx / (2.0 * c);
              row[1] += gy / (2.0 * c);
              row[2] += 1.0;
            }
          for (int f = 0; f <= N_FEAT; f++)
            sum[((size_t) (y + 1) * W + x + 1) * (N_FEAT + 1) + f]
              = sum[((size_t) y * W + x + 1) * (N_FEAT + 1) + f] + row[f];
        }
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        size_t i = (size_t) y * w + x;
        memcpy (out + i * c2, img + i * c, sizeof (float) * c);
        int xa = MAX (x - fr, 0), xb = MIN (x + fr, w - 1) + 1;
        int ya = MAX (y - fr, 0), yb = MIN (y + fr, h - 1) + 1;
        double v[N_FEAT + 1];
        for (int f = 0; f <= N_FEAT; f++)
          v[f] = sum[((size_t) yb * W + xb) * (N_FEAT + 1) + f]
                 - sum[((size_t) ya * W + xb) * (N_FEAT + 1) + f]
                 - sum[((size_t) yb * W + xa) * (N_FEAT + 1) + f]
                 + sum[((size_t) ya * W + xa) * (N_FEAT + 1) + f];
        for (int f = 0; f < N_FEAT; f++)
          out[i * c2 + c + f] = (!hole[i] && v[N_FEAT] > 0.5)
                                ? (float) (weight * v[f] / v[N_FEAT]) : 0.0f;
      }
  g_free (sum);
  (void) n;
  return TRUE;
}

/* ---- PatchMatch levels ------------------------------------------------- */

typedef struct {
  int w, h, c;
  float *img;      /* (h, w, c) known pixels + current estimate of the hole */
  guint8 *hole;    /* (h, w) 1 = a pixel to rebuild */
  guint8 *src;     /* (h, w) 1 = the patch centred here is a source: inside,
                      no hole pixel */
  guint8 *tgt;     /* (h, w) 1 = the patch centred here touches the hole */
  int *src_list;   /* (n_src) indices of source centres */
  int n_src;
  size_t n_tgt;
  float *dist;     /* (h, w) distance to the nearest known pixel, 0 if known */
  int *nnf;        /* (h, w) for targets: index of the matched source centre,
                      -1 = none yet */
  float *nnd;      /* (h, w) for targets: that match's sum of squared
                      differences over the in-bounds part of the patch */
  float *logw;     /* (h, w) for targets: log of the vote weight */
} level;

static void
level_free (level *L)
{
  g_free (L->img); g_free (L->hole); g_free (L->src); g_free (L->tgt);
  g_free (L->src_list); g_free (L->dist); g_free (L->nnf); g_free (L->nnd);
  g_free (L->logw);
  memset (L, 0, sizeof *L);
}

/* Allocates everything but img and hole, which the caller has set. */
static gboolean
level_alloc_rest (level *L, GError **error)
{
  size_t n = (size_t) L->w * L->h;
  L->src = dream_alloc (n, 1, "fill", error);
  L->tgt = L->src ? dream_alloc (n, 1, "fill", error) : NULL;
  L->src_list = L->tgt ? dream_alloc (n, sizeof (int), "fill", error) : NULL;
  L->dist = L->src_list ? dream_alloc (n, sizeof (float), "fill", error) : NULL;
  L->nnf = L->dist ? dream_alloc (n, sizeof (int), "fill", error) : NULL;
  L->nnd = L->nnf ? dream_alloc (n, sizeof (float), "fill", error) : NULL;
  L->logw = L->nnd ? dream_alloc (n, sizeof (float), "fill", error) : NULL;
  return L->logw != NULL;
}

/* Sources, targets and the distance map from the hole map; r = patch
 * radius. `box` is scratch of (w+1)·(h+1) ints. */
static void
level_prepare (level *L, int r, int *box)
{
  int w = L->w, h = L->h, W = w + 1;
  /* integral image of the hole */
  for (int x = 0; x <= w; x++)
    box[x] = 0;
  for (int y = 0; y < h; y++)
    {
      int row = 0;
      box[(size_t) (y + 1) * W] = 0;
      for (int x = 0; x < w; x++)
        {
          row += L->hole[(size_t) y * w + x];
          box[(size_t) (y + 1) * W + x + 1] = box[(size_t) y * W + x + 1] + row;
        }
    }
  L->n_src = 0;
  L->n_tgt = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int xa = MAX (x - r, 0), xb = MIN (x + r, w - 1) + 1;
        int ya = MAX (y - r, 0), yb = MIN (y + r, h - 1) + 1;
        int holes = box[(size_t) yb * W + xb] - box[(size_t) ya * W + xb]
                    - box[(size_t) yb * W + xa] + box[(size_t) ya * W + xa];
        size_t i = (size_t) y * w + x;
        gboolean inside = x >= r && y >= r && x < w - r && y < h - r;
        L->src[i] = inside && holes == 0;
        L->tgt[i] = holes > 0;
        L->nnf[i] = -1;
        if (L->src[i])
          L->src_list[L->n_src++] = (int) i;
        L->n_tgt += L->tgt[i];
      }
  /* chamfer (3-4) distance to the known part, in pixels */
  const float big = 1e30f;
  for (size_t i = 0; i < (size_t) w * h; i++)
    L->dist[i] = L->hole[i] ? big : 0.0f;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float *d = &L->dist[(size_t) y * w + x];
        if (x > 0) *d = MIN (*d, d[-1] + 1.0f);
        if (y > 0)
          {
            *d = MIN (*d, d[-w] + 1.0f);
            if (x > 0) *d = MIN (*d, d[-w - 1] + 1.3333f);
            if (x < w - 1) *d = MIN (*d, d[-w + 1] + 1.3333f);
          }
      }
  for (int y = h - 1; y >= 0; y--)
    for (int x = w - 1; x >= 0; x--)
      {
        float *d = &L->dist[(size_t) y * w + x];
        if (x < w - 1) *d = MIN (*d, d[1] + 1.0f);
        if (y < h - 1)
          {
            *d = MIN (*d, d[w] + 1.0f);
            if (x < w - 1) *d = MIN (*d, d[w + 1] + 1.3333f);
            if (x > 0) *d = MIN (*d, d[w - 1] + 1.3333f);
          }
      }
}

static float
level_max_dist (const level *L)
{
  float m = 0.0f;
  for (size_t i = 0; i < (size_t) L->w * L->h; i++)
    m = MAX (m, L->dist[i]);
  return m;
}

/* four floats in a vector register (GCC/Clang vector extension; SSE on
 * x86-64, NEON on arm64) */
typedef float v4sf __attribute__ ((vector_size (16)));

/* Sum of squared differences between the target patch at (tx, ty) and the
 * source patch at (sx, sy), over the target's in-bounds part; stops early
 * once it passes `best`. */
static inline float
patch_ssd (const level *L, int r, int tx, int ty, int sx, int sy, float best)
{
  const int w = L->w, c = L->c;
  const int x0 = MAX (-r, -tx), x1 = MIN (r, w - 1 - tx);
  const int y0 = MAX (-r, -ty), y1 = MIN (r, L->h - 1 - ty);
  const int n = (x1 - x0 + 1) * c;
  float sum = 0.0f;
  for (int dy = y0; dy <= y1; dy++)
    {
      const float *t = L->img + ((size_t) (ty + dy) * w + tx + x0) * c;
      const float *s = L->img + ((size_t) (sy + dy) * w + sx + x0) * c;
      v4sf a0 = { 0 }, a1 = { 0 };
      int i = 0;
      for (; i + 8 <= n; i += 8)
        {
          v4sf p0, p1, q0, q1;
          memcpy (&p0, t + i, sizeof p0); memcpy (&q0, s + i, sizeof q0);
          memcpy (&p1, t + i + 4, sizeof p1); memcpy (&q1, s + i + 4, sizeof q1);
          p0 -= q0; p1 -= q1;
          a0 += p0 * p0; a1 += p1 * p1;
        }
      a0 += a1;
      float row = a0[0] + a0[1] + a0[2] + a0[3];
      for (; i < n; i++)
        {
          float d = t[i] - s[i];
          row += d * d;
        }
      sum += row;
      if (sum >= best)
        return sum;
    }
  return sum;
}

typedef struct {
  level *L;
  int r;
  guint64 seed;      /* already mixed with level and round */
  int iter;          /* PatchMatch iteration: odd ones scan backwards */
  float inv_2sigma2; /* voting */
  int best;          /* vote: take the best covering patch's pixel */
  int search;        /* random search's first radius */
} pm_ctx;

static guint64
band_seed (guint64 seed, int band)
{
  guint64 s = seed ^ ((guint64) band * 0xD1B54A32D192ED03ULL);
  splitmix64 (&s);
  return s;
}

/* Gives unmatched targets a random source and computes every target's
 * distance for the current image estimate. */
static void
eval_task (void *data, int band, int thread)
{
  (void) thread;
  pm_ctx *ctx = data;
  level *L = ctx->L;
  guint64 rng = band_seed (ctx->seed, band);
  int y1 = MIN (L->h, (band + 1) * BAND);
  for (int y = band * BAND; y < y1; y++)
    for (int x = 0; x < L->w; x++)
      {
        size_t i = (size_t) y * L->w + x;
        if (!L->tgt[i])
          continue;
        if (L->nnf[i] < 0)
          L->nnf[i] = L->src_list[rand_below (&rng, L->n_src)];
        int s = L->nnf[i];
        L->nnd[i] = patch_ssd (L, ctx->r, x, y, s % L->w, s / L->w, G_MAXFLOAT);
      }
}

/* One PatchMatch iteration over a band: propagation from the previous
 * pixel in scan order (left/up, or right/down on odd iterations) when it
 * lies in the band, then random search around the best match. */
static void
pm_task (void *data, int band, int thread)
{
  (void) thread;
  pm_ctx *ctx = data;
  level *L = ctx->L;
  const int w = L->w, h = L->h, r = ctx->r;
  guint64 rng = band_seed (ctx->seed, band);
  const int ya = band * BAND, yb = MIN (h, (band + 1) * BAND);
  const int dir = (ctx->iter & 1) ? -1 : 1;
  const int max_r = ctx->search;

  for (int yy = 0; yy < yb - ya; yy++)
    {
      int y = dir > 0 ? ya + yy : yb - 1 - yy;
      for (int xx = 0; xx < w; xx++)
        {
          int x = dir > 0 ? xx : w - 1 - xx;
          size_t i = (size_t) y * w + x;
          if (!L->tgt[i])
            continue;
          int best = L->nnf[i];
          float bd = L->nnd[i];
          int bx = best % w, by = best / w;

          /* propagation: the neighbour's match, shifted by one */
          int nx = x - dir;
          if (nx >= 0 && nx < w && L->tgt[i - dir])
            {
              int s = L->nnf[i - dir];
              int sx = s % w + dir, sy = s / w;
              if (sx >= 0 && sx < w && L->src[(size_t) sy * w + sx])
                {
                  float d = patch_ssd (L, r, x, y, sx, sy, bd);
                  if (d < bd)
                    { bd = d; bx = sx; by = sy; }
                }
            }
          int ny = y - dir;
          if (ny >= ya && ny < yb && L->tgt[i - (ptrdiff_t) dir * w])
            {
              int s = L->nnf[i - (ptrdiff_t) dir * w];
              int sx = s % w, sy = s / w + dir;
              if (sy >= 0 && sy < h && L->src[(size_t) sy * w + sx])
                {
                  float d = patch_ssd (L, r, x, y, sx, sy, bd);
                  if (d < bd)
                    { bd = d; bx = sx; by = sy; }
                }
            }

          /* random search at halving radii around the best */
          for (int R = max_r; R >= 1; R /= 2)
            {
              int sx = bx + rand_below (&rng, 2 * R + 1) - R;
              int sy = by + rand_below (&rng, 2 * R + 1) - R;
              if (sx < r || sy < r || sx >= w - r || sy >= h - r
                  || !L->src[(size_t) sy * w + sx])
                continue;
              float d = patch_ssd (L, r, x, y, sx, sy, bd);
              if (d < bd)
                { bd = d; bx = sx; by = sy; }
            }
          L->nnf[i] = by * w + bx;
          L->nnd[i] = bd;
        }
    }
}

/* Log vote weights of the targets in a band (needs inv_2sigma2). */
static void
weight_task (void *data, int band, int thread)
{
  (void) thread;
  pm_ctx *ctx = data;
  level *L = ctx->L;
  const int w = L->w, h = L->h, r = ctx->r, c = L->c;
  const float log_alpha = logf (1.3f);
  int yb = MIN (h, (band + 1) * BAND);
  for (int y = band * BAND; y < yb; y++)
    for (int x = 0; x < w; x++)
      {
        size_t i = (size_t) y * w + x;
        if (!L->tgt[i])
          continue;
        int nxp = MIN (r, w - 1 - x) - MAX (-r, -x) + 1;
        int nyp = MIN (r, h - 1 - y) - MAX (-r, -y) + 1;
        float d = L->nnd[i] / (float) (nxp * nyp * c);
        L->logw[i] = -MIN (d * ctx->inv_2sigma2, 30.0f) - log_alpha * L->dist[i];
      }
}

/* M step over a band of hole pixels: the weighted mean of the overlapping
 * targets' votes. */
static void
vote_task (void *data, int band, int thread)
{
  (void) thread;
  pm_ctx *ctx = data;
  level *L = ctx->L;
  const int w = L->w, h = L->h, r = ctx->r, c = L->c;
  const float log_alpha = logf (1.3f);
  int yb = MIN (h, (band + 1) * BAND);
  for (int y = band * BAND; y < yb; y++)
    for (int x = 0; x < w; x++)
      {
        size_t p = (size_t) y * w + x;
        if (!L->hole[p])
          continue;
        float acc[MAX_CH] = { 0 }, wsum = 0.0f;
        float ref = log_alpha * L->dist[p], best_lw = -G_MAXFLOAT;
        const int best = ctx->best && L->dist[p] > BLEND_BAND;
        for (int dy = -r; dy <= r; dy++)
          {
            int ty = y - dy;
            if (ty < 0 || ty >= h)
              continue;
            for (int dx = -r; dx <= r; dx++)
              {
                int tx = x - dx;
                if (tx < 0 || tx >= w)
                  continue;
                size_t t = (size_t) ty * w + tx;
                int s = L->nnf[t];      /* every t here is a target */
                const float *v = L->img + ((size_t) s + (ptrdiff_t) dy * w + dx) * c;
                if (best)
                  {
                    if (L->logw[t] > best_lw)
                      {
                        for (int k = 0; k < c; k++)
                          acc[k] = v[k];
                        best_lw = L->logw[t];
                        wsum = 1.0f;
                      }
                    continue;
                  }
                float wt = expf (L->logw[t] + ref);
                for (int k = 0; k < c; k++)
                  acc[k] += wt * v[k];
                wsum += wt;
              }
          }
        if (wsum > 0.0f)
          for (int k = 0; k < c; k++)
            L->img[p * c + k] = best ? acc[k] : acc[k] / wsum;
      }
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* σ² for the vote: the 75th percentile of the targets' mean squared
 * differences (an even sample of at most SAMPLE_SIGMA targets). */
static float
vote_sigma2 (const level *L, int r)
{
  float sample[SAMPLE_SIGMA];
  size_t step = MAX ((size_t) 1, L->n_tgt / SAMPLE_SIGMA), seen = 0;
  int n = 0;
  for (size_t i = 0; i < (size_t) L->w * L->h && n < SAMPLE_SIGMA; i++)
    if (L->tgt[i] && seen++ % step == 0)
      {
        int x = (int) (i % L->w), y = (int) (i / L->w);
        int nxp = MIN (r, L->w - 1 - x) - MAX (-r, -x) + 1;
        int nyp = MIN (r, L->h - 1 - y) - MAX (-r, -y) + 1;
        sample[n++] = L->nnd[i] / (float) (nxp * nyp * L->c);
      }
  if (n == 0)
    return 1.0f;
  qsort (sample, n, sizeof (float), cmp_float);
  return MAX (sample[(n * 3) / 4], 1e-8f);
}

static void
vote (dream_pool *pool, pm_ctx *ctx, int n_bands)
{
  ctx->inv_2sigma2 = 1.0f / (2.0f * vote_sigma2 (ctx->L, ctx->r));
  dream_pool_run (pool, n_bands, weight_task, ctx);
  dream_pool_run (pool, n_bands, vote_task, ctx);
}

/* Seam correction (a harmonic membrane, as in Poisson image editing):
 * what the final votes say the known pixels on the hole's edge should be
 * is compared with what they are, and that mismatch is interpolated
 * harmonically over the hole and added, so the fill meets its border
 * exactly while keeping its own texture. Only the first `c` channels
 * (the colours). */
static gboolean
seam_correct (level *L, int r, int c, GError **error)
{
  const int w = L->w, h = L->h, c2 = L->c;
  const float log_alpha = logf (1.3f);
  float *d = dream_alloc ((size_t) w * h * c, sizeof (float), "fill", error);
  if (!d)
    return FALSE;
  memset (d, 0, sizeof (float) * (size_t) w * h * c);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        size_t p = (size_t) y * w + x;
        if (L->hole[p]
            || !((x > 0 && L->hole[p - 1]) || (x < w - 1 && L->hole[p + 1])
                 || (y > 0 && L->hole[p - w]) || (y < h - 1 && L->hole[p + w])))
          continue;
        float acc[MAX_CH] = { 0 }, wsum = 0.0f;
        for (int dy = -r; dy <= r; dy++)
          for (int dx = -r; dx <= r; dx++)
            {
              int tx = x - dx, ty = y - dy;
              if (tx < 0 || ty < 0 || tx >= w || ty >= h)
                continue;
              size_t t = (size_t) ty * w + tx;
              if (!L->tgt[t])
                continue;
              const float *v = L->img + ((size_t) L->nnf[t] + (ptrdiff_t) dy * w + dx) * c2;
              float wt = expf (L->logw[t] + log_alpha * L->dist[p]);
              for (int k = 0; k < c; k++)
                acc[k] += wt * v[k];
              wsum += wt;
            }
        if (wsum > 0.0f)
          for (int k = 0; k < c; k++)
            d[p * c + k] = L->img[p * c2 + k] - acc[k] / wsum;
      }
  gboolean ok = harmonic_fill (d, L->hole, w, h, c, 100, 0, error);
  if (ok)
    for (size_t p = 0; p < (size_t) w * h; p++)
      if (L->hole[p])
        for (int k = 0; k < c; k++)
          L->img[p * c2 + k] += d[p * c + k];
  g_free (d);
  return ok;
}

/* Fine targets start from their coarse target's match at twice the
 * offset, when that lands on a fine source. */
static void
upsample_nnf (const level *C, level *F)
{
  for (int y = 0; y < F->h; y++)
    for (int x = 0; x < F->w; x++)
      {
        size_t i = (size_t) y * F->w + x;
        F->nnf[i] = -1;
        if (!F->tgt[i])
          continue;
        int cx = MIN (x / 2, C->w - 1), cy = MIN (y / 2, C->h - 1);
        size_t ci = (size_t) cy * C->w + cx;
        if (!C->tgt[ci] || C->nnf[ci] < 0)
          continue;
        int sx = 2 * (C->nnf[ci] % C->w) + (x - 2 * cx);
        int sy = 2 * (C->nnf[ci] / C->w) + (y - 2 * cy);
        if (sx >= 0 && sy >= 0 && sx < F->w && sy < F->h
            && F->src[(size_t) sy * F->w + sx])
          F->nnf[i] = sy * F->w + sx;
      }
}

/* ---- the public calls ---------------------------------------------------- */

/* texture features' weight against the colours (0..1 scale) */
#define FEATURE_WEIGHT 1.0f

dream_fill_params
dream_fill_default_params (void)
{
  return (dream_fill_params) {
    .context = 0, .seed = 0, .patch = 0, .n_threads = 0,
    .progress = NULL, .progress_user = NULL,
  };
}

/* EM rounds at a level (0 = finest) of n, and PatchMatch iterations per
 * round. */
static int
em_rounds (int lev, int n_levels)
{
  return lev == n_levels - 1 ? 6 : lev == 0 ? 2 : 4;
}
enum { PM_ITERS = 2 };

gboolean
dream_fill (const dream_image *image, const dream_image *mask,
            dream_image *out, const dream_fill_params *params,
            GError **error)
{
  hole_box b;
  if (!check_fill_args ("Content-aware fill", image, mask, out, error))
    return FALSE;
  if (!params || params->context < 0 || params->n_threads < 0
      || (params->patch != 0 && (params->patch < 3 || params->patch > 15
                                 || params->patch % 2 == 0)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Content-aware fill: context and threads may not be "
                   "negative; the patch size must be odd, 3 to 15 (or 0)");
      return FALSE;
    }
  if (!find_hole ("Content-aware fill", mask, &b, error))
    return FALSE;

  const int c = image->channels;
  const int patch = params->patch ? params->patch : DEFAULT_PATCH, r = patch / 2;
  int cx = 0, cy = 0, cw = image->width, chh = image->height;
  if (params->context > 0)
    {
      int m = params->context;
      cx = MAX (0, b.x0 - m);
      cy = MAX (0, b.y0 - m);
      cw = MIN (image->width - 1, b.x1 + m) - cx + 1;
      chh = MIN (image->height - 1, b.y1 + m) - cy + 1;
    }

  level levels[MAX_LEVELS];
  memset (levels, 0, sizeof levels);
  int n_levels = 0;
  int *box = NULL;
  dream_pool *pool = NULL;
  gboolean ok = FALSE;

  level *L0 = &levels[0];
  const int c2 = c + N_FEAT;
  float *colours = NULL;
  L0->w = cw; L0->h = chh; L0->c = c2;
  if (!crop_copy (image, mask, cx, cy, cw, chh, &colours, &L0->hole, error))
    goto done;
  L0->img = dream_alloc ((size_t) cw * chh * c2, sizeof (float), "fill", error);
  gboolean feat_ok = L0->img && add_features (colours, L0->hole, cw, chh, c, r,
                                              FEATURE_WEIGHT, L0->img, error);
  g_free (colours);
  if (!feat_ok || !level_alloc_rest (L0, error))
    goto done;
  box = dream_alloc ((size_t) (cw + 1) * (chh + 1), sizeof (int), "fill", error);
  if (!box)
    goto done;
  level_prepare (L0, r, box);
  n_levels = 1;
  if (L0->n_src == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Content-aware fill: too little of the image lies outside "
                   "the mask%s to sample from (no whole %dx%d patch)",
                   params->context > 0 ? " within the context" : "", patch, patch);
      goto done;
    }

  /* the pyramid: halve while the hole is deeper than a patch radius and
   * the coarser level still has sources */
  while (n_levels < MAX_LEVELS)
    {
      level *F = &levels[n_levels - 1], *C = &levels[n_levels];
      if (level_max_dist (F) <= 2 * r || (F->w + 1) / 2 < 4 * patch || (F->h + 1) / 2 < 4 * patch)
        break;
      C->w = (F->w + 1) / 2; C->h = (F->h + 1) / 2; C->c = c2;
      C->img = dream_alloc ((size_t) C->w * C->h * c2, sizeof (float), "fill", error);
      C->hole = C->img ? dream_alloc ((size_t) C->w * C->h, 1, "fill", error) : NULL;
      if (!C->hole || !level_alloc_rest (C, error))
        {
          level_free (C);
          goto done;
        }
      downsample (F->img, F->hole, F->w, F->h, c2, C->img, C->hole);
      level_prepare (C, r, box);
      if (C->n_src < 4 * patch * patch)
        {
          level_free (C);
          break;
        }
      n_levels++;
    }

  pool = dream_pool_new (params->n_threads);
  double total = 0.0;
  for (int l = 0; l < n_levels; l++)
    total += (double) levels[l].n_tgt * (em_rounds (l, n_levels) * (PM_ITERS + 1) + 1);
  dream_progress progress;
  dream_progress_init (&progress, params->progress, params->progress_user, total);
  if (!dream_progress_step (&progress, 0.0, error))
    goto done;

  for (int l = n_levels - 1; l >= 0; l--)
    {
      level *L = &levels[l];
      int n_bands = (L->h + BAND - 1) / BAND;
      pm_ctx ctx = { .L = L, .r = r, .search = MAX (L->w, L->h) };
      if (l < n_levels - 1)
        ctx.search = MIN (ctx.search, SEARCH_FINE);
      if (l == n_levels - 1)
        {
          if (!harmonic_fill (L->img, L->hole, L->w, L->h, c2, 100, 0, error))
            goto done;
        }
      else
        {
          level *C = &levels[l + 1];
          upsample_hole (C->img, C->w, C->h, L->img, L->hole, L->w, L->h, c2);
          upsample_nnf (C, L);
          ctx.seed = params->seed ^ ((guint64) l << 48) ^ 0xF111ULL;
          dream_pool_run (pool, n_bands, eval_task, &ctx);
          vote (pool, &ctx, n_bands);
        }
      if (!dream_progress_step (&progress, (double) L->n_tgt, error))
        goto done;

      int rounds = em_rounds (l, n_levels);
      ctx.best = 0;
      for (int round = 0; round < rounds; round++)
        {
          guint64 s = params->seed ^ ((guint64) l << 48) ^ ((guint64) round << 32);
          ctx.seed = band_seed (s, -1);
          dream_pool_run (pool, n_bands, eval_task, &ctx);
          for (int it = 0; it < PM_ITERS; it++)
            {
              ctx.iter = it;
              ctx.seed = band_seed (s, it);
              dream_pool_run (pool, n_bands, pm_task, &ctx);
              if (!dream_progress_step (&progress, (double) L->n_tgt, error))
                goto done;
            }
          ctx.best = l < BEST_LEVELS;
          vote (pool, &ctx, n_bands);
          if (!dream_progress_step (&progress, (double) L->n_tgt, error))
            goto done;
        }
    }

  if (!seam_correct (L0, r, c, error))
    goto done;
  /* drop the features: (h, w, c2) -> (h, w, c) in place */
  for (size_t i = 0; i < (size_t) cw * chh; i++)
    memmove (L0->img + i * c, L0->img + i * c2, sizeof (float) * c);
  blend_out (image, mask, out, L0->img, cx, cy, cw, chh);
  ok = TRUE;

done:
  for (int l = 0; l < MAX_LEVELS; l++)
    level_free (&levels[l]);
  g_free (box);
  dream_pool_free (pool);
  return ok;
}

gboolean
dream_canvas_extend (const dream_image *image,
                     int left, int right, int top, int bottom, int feather,
                     dream_image *out_image, dream_image *out_mask,
                     GError **error)
{
  const char *why = NULL;
  if (!image || !image->data || !out_image || !out_mask)
    why = "missing image or output";
  else if (image->width < 1 || image->height < 1
           || image->width > MAX_SIDE || image->height > MAX_SIDE
           || image->channels < 1 || image->channels > 4)
    why = "the image must be 1 to 65536 pixels per side with 1 to 4 channels";
  else if (left < 0 || right < 0 || top < 0 || bottom < 0 || feather < 0
           || left > MAX_SIDE || right > MAX_SIDE || top > MAX_SIDE
           || bottom > MAX_SIDE || feather > MAX_SIDE)
    why = "margins and feather must be between 0 and 65536";
  else if (left + right + top + bottom == 0)
    why = "nothing to extend: all margins are 0";
  else if ((gint64) image->width + left + right > MAX_SIDE
           || (gint64) image->height + top + bottom > MAX_SIDE)
    why = "the extended canvas would exceed 65536 pixels per side";
  if (why)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Extend canvas: %s", why);
      return FALSE;
    }
  const int w = image->width, h = image->height, c = image->channels;
  const int W = w + left + right, H = h + top + bottom;
  float *img = dream_alloc ((size_t) W * H * c, sizeof (float), "extended canvas", error);
  float *msk = img ? dream_alloc ((size_t) W * H, sizeof (float), "extended canvas", error) : NULL;
  if (!msk)
    {
      g_free (img);
      return FALSE;
    }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        int ox = x - left, oy = y - top;
        size_t o = (size_t) y * W + x;
        const float *s = image->data
          + ((size_t) CLAMP (oy, 0, h - 1) * w + CLAMP (ox, 0, w - 1)) * c;
        memcpy (img + o * c, s, sizeof (float) * c);
        float m;
        if (ox < 0 || oy < 0 || ox >= w || oy >= h)
          m = 1.0f;
        else
          {
            /* distance into the old image from each grown side */
            int d = G_MAXINT;
            if (left) d = MIN (d, ox);
            if (right) d = MIN (d, w - 1 - ox);
            if (top) d = MIN (d, oy);
            if (bottom) d = MIN (d, h - 1 - oy);
            m = d < feather ? (float) (feather - d) / (float) feather : 0.0f;
          }
        msk[o] = m;
      }
  *out_image = (dream_image) { img, W, H, c };
  *out_mask = (dream_image) { msk, W, H, 1 };
  return TRUE;
}
