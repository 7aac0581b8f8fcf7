/* noise_estimate.c — how much white Gaussian noise is in an image?
 *
 * dream_noise_estimate() returns the standard deviation of additive white
 * Gaussian noise in 8-bit levels (0..255 scale); Dream Denoise uses it as
 * FFDNet's sigma when the user picks "Estimate".
 *
 * Method: patch PCA restricted to weak-texture patches, after
 *
 *   [Liu] X. Liu, M. Tanaka, M. Okutomi, "Single-Image Noise Level
 *         Estimation for Blind Denoising", IEEE Trans. Image Processing
 *         22(12), 2013 — choose the patches whose texture is weak enough to
 *         be explained by the noise alone, and iterate;
 *   [Chen] G. Chen, F. Zhu, P. A. Heng, "An Efficient Statistical Method
 *         for Image Noise Level Estimation", ICCV 2015 — read σ² off the
 *         eigenvalues of the patch covariance with the mean = median rule.
 *
 * 1. Cut the image into overlapping r×r patches (r = 8) on a regular grid;
 *    each colour channel gives its own grey patches (noise is taken to be
 *    the same in every channel, as FFDNet assumes) and all are pooled.
 * 2. Natural images are redundant: their patches lie near a low-dimensional
 *    subspace, so the patch covariance has a few large eigenvalues (image
 *    structure) and many small ones. White noise of variance σ² adds σ² to
 *    every eigenvalue, so the smallest eigenvalues hold the noise. With a
 *    large sample they scatter around σ² (Marchenko–Pastur) with mean equal
 *    to median [Chen]: sorting λ1 ≤ … ≤ λd, σ² is the mean of the longest
 *    prefix {λ1 … λk} whose mean is not above its median. Eigenvalues
 *    carrying structure sit at the top and drag the mean above the median;
 *    dropping them stops once the rest looks like noise alone. A second
 *    reading is λ1 itself, scaled up by the Marchenko–Pastur lower edge
 *    (1 − √(d/n))² for n patches. Texture adds a positive semi-definite
 *    term to the covariance and can only raise either reading, so σ² is
 *    the smaller of the two.
 * 3. On strongly textured photos even the smallest eigenvalues of all
 *    patches still hold some texture, so the estimate is high at low noise.
 *    Following [Liu], measure each patch's texture t = Σ (horizontal and
 *    vertical neighbour differences)². For a patch of pure noise t = yᵀL y,
 *    L the grid Laplacian, with mean σ² tr L and variance 2σ⁴ tr L²; a
 *    gamma law with these moments gives the level τ(σ) that 99% of pure-
 *    noise patches stay under. Starting from σ of all patches, keep the
 *    patches with t ≤ τ(σ) (but at least the 8d least textured ones),
 *    re-estimate σ from them with step 2, and repeat until σ moves by less
 *    than 0.5%. (Iterating further only lets the selection drift: the
 *    patches kept for their low t also hold less than average noise.)
 *
 * Patches that cannot say anything about the noise are left out: those
 * with a non-finite value, those touching exactly 0 or 1 (clipped: the
 * noise there is cut off), and exactly flat ones (synthetic areas without
 * noise). If too few patches remain, all finite patches are used, so a
 * constant image gives 0.
 *
 * Accuracy (tests/test_noise_estimate.c): on the 24 Kodak images, and on
 * 256×256 crops of them, within max(1.5 levels, 10%) of the true sigma
 * from 5 to 75, clipped or not; clean photos give 0.5–2 levels. Limits:
 * on a small crop made almost entirely of fine texture (foliage, rapids),
 * no patch is flat and some texture reads as noise: about 3 levels from
 * the clean crop, and up to 1 level too much at sigma 5–15 (1.5 in grey,
 * where one channel gives a third of the patches).
 *
 * Cost is bounded whatever the image size: the grid's step grows so that
 * at most MAX_POSITIONS positions are used (the same ones every time: the
 * result is deterministic). Every selection is a prefix of the candidates
 * sorted by texture; the covariance sums of N_CHUNKS chunks of that order
 * are built in one pass over the image in memory order, and a selection
 * then costs a copy of cumulative sums plus at most one chunk of patches.
 * The sums are kept in float over short blocks (a loop the compiler
 * vectorises) and in double across blocks; the eigenvalues of the d×d
 * covariance (d = r² = 64) come from cyclic Jacobi rotations, accurate for
 * the small eigenvalues that matter here.
 *
 * Memory: about 1.8 MB plus 24 bytes per candidate (≤ 3 × MAX_POSITIONS),
 * whatever the image size. No global state: the function is thread-safe.
 */
#include "dream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  PATCH_MAX = 8,            /* patch edge r, as in both papers */
  PATCH_MIN = 3,
  SAMPLES_PER_DIM = 10,     /* on small images shrink r until patches ≥ 10 d */
  MIN_SELECTED_PER_DIM = 8, /* a selection holds at least 8 d patches */
  MAX_POSITIONS = 20000,    /* grid positions (each gives one patch per channel) */
  MAX_ITERATIONS = 20,
  BATCH = 8,                /* patches per rank-8 update of the float block */
  BATCHES_PER_BLOCK = 32,   /* float block → double sums every 256 patches */
  N_CHUNKS = 32,            /* the sorted candidates in 32 chunks */
  JACOBI_MAX_SWEEPS = 50,
};

#define DIM_MAX (PATCH_MAX * PATCH_MAX)   /* a multiple of 8: see block_update */
#define NORMAL_QUANTILE_99 2.3263478740408408
#define SETTLED 0.005             /* iterate until sigma moves by < 0.5% */

G_STATIC_ASSERT (DIM_MAX % 8 == 0);

/* ---- patches ----------------------------------------------------------- */

/* The candidate patches: channel ch at grid position (i, j) has its top-left
 * corner at (i * step, j * step); candidate k = (j * nx + i) * channels + ch,
 * so that increasing k walks the image in memory order. */
typedef struct {
  const dream_image *im;
  int channels;             /* colour channels used (alpha is ignored) */
  int r, d;                 /* patch edge, r * r */
  int step, nx, ny;
  long n;                   /* nx * ny * channels */
  float centre[3];          /* per-channel mean, subtracted before summing */
} patch_grid;

typedef enum { PATCH_OK, PATCH_CLIPPED, PATCH_NOT_FINITE } patch_status;

static void
grid_plan (patch_grid *g, const dream_image *im)
{
  const int w = im->width, h = im->height;
  const int c = im->channels == 2 ? 1 : MIN (im->channels, 3);
  int r = PATCH_MAX;

  while (r > PATCH_MIN
         && (double) (w - r + 1) * (h - r + 1) * c
            < (double) SAMPLES_PER_DIM * r * r)
    r--;

  g->im = im;
  g->channels = c;
  g->r = r;
  g->d = r * r;
  double all = (double) (w - r + 1) * (h - r + 1);
  g->step = MAX (1, (int) floor (sqrt (all / MAX_POSITIONS)));
  for (;; g->step++)
    {
      g->nx = (w - r) / g->step + 1;
      g->ny = (h - r) / g->step + 1;
      if ((double) g->nx * g->ny <= MAX_POSITIONS)
        break;
    }
  g->n = (long) g->nx * g->ny * c;

  /* Centres: only there to keep the float sums precise; any value near
   * the mean does, so the patch corners are enough. */
  for (int ch = 0; ch < c; ch++)
    {
      double sum = 0.0;
      long count = 0;
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++)
          {
            float v = im->data[((size_t) j * g->step * w + (size_t) i * g->step)
                               * im->channels + ch];
            if (isfinite (v))
              {
                sum += v;
                count++;
              }
          }
      g->centre[ch] = count ? (float) (sum / count) : 0.0f;
    }
}

/* Copies candidate k, minus its channel's centre, into x[0..d) and zeroes
 * x[d..DIM_MAX). */
static patch_status
patch_get (const patch_grid *g, long k, float *x)
{
  const dream_image *im = g->im;
  const int ch = (int) (k % g->channels);
  const long at = k / g->channels;
  const size_t x0 = (size_t) (at % g->nx) * g->step;
  const size_t y0 = (size_t) (at / g->nx) * g->step;
  const int r = g->r, c = im->channels;
  const float centre = g->centre[ch];
  gboolean finite = TRUE, clipped = FALSE;

  for (int dy = 0; dy < r; dy++)
    {
      const float *src = im->data + ((y0 + dy) * im->width + x0) * c + ch;
      for (int dx = 0; dx < r; dx++)
        {
          float v = src[(size_t) dx * c];
          finite = finite && isfinite (v);
          clipped = clipped || v == 0.0f || v == 1.0f;
          x[dy * r + dx] = v - centre;
        }
    }
  for (int i = g->d; i < DIM_MAX; i++)
    x[i] = 0.0f;
  return !finite ? PATCH_NOT_FINITE : clipped ? PATCH_CLIPPED : PATCH_OK;
}

/* Texture strength: the sum of squared horizontal and vertical differences
 * between neighbours in the r×r patch x. */
static float
patch_texture (const float *x, int r)
{
  float t = 0.0f;

  for (int y = 0; y < r; y++)
    for (int i = 0; i < r - 1; i++)
      {
        float gx = x[y * r + i + 1] - x[y * r + i];
        float gy = x[(i + 1) * r + y] - x[i * r + y];
        t += gx * gx + gy * gy;
      }
  return t;
}

/* τ(σ) / σ²: the level under which the texture of 99% of pure-noise r×r
 * patches stays. Texture is yᵀL y with L the 4-neighbour grid Laplacian;
 * for y ~ N(0, σ² I) its mean is σ² tr L and its variance 2σ⁴ tr L². Fit a
 * gamma law to these two moments and take its 0.99 quantile by the
 * Wilson–Hilferty approximation. */
static double
texture_limit_factor (int r)
{
  double tr_l = 0.0, tr_l2 = 0.0;

  for (int y = 0; y < r; y++)
    for (int x = 0; x < r; x++)
      {
        int degree = (x > 0) + (x < r - 1) + (y > 0) + (y < r - 1);
        tr_l += degree;
        tr_l2 += (double) degree * degree + degree;  /* L_ii² + Σ L_ij² */
      }
  const double shape = tr_l * tr_l / (2.0 * tr_l2);
  const double scale = 2.0 * tr_l2 / tr_l;
  const double a = 1.0 / (9.0 * shape);
  const double q = 1.0 - a + NORMAL_QUANTILE_99 * sqrt (a);
  return shape * scale * q * q * q;
}

/* A candidate patch, its texture, and its rank in order of texture (ties
 * broken by index, so that the order, hence the result, is unique). */
typedef struct {
  float texture;
  gint32 index;
  gint32 rank;
} candidate;

static int
candidate_compare_texture (const void *pa, const void *pb)
{
  const candidate *a = pa, *b = pb;
  if (a->texture != b->texture)
    return a->texture < b->texture ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static int
candidate_compare_index (const void *pa, const void *pb)
{
  const candidate *a = pa, *b = pb;
  return (a->index > b->index) - (a->index < b->index);
}

/* Number of candidates, among the n sorted by texture, with texture ≤ limit. */
static long
candidates_below (const candidate *sorted, long n, double limit)
{
  long lo = 0, hi = n;
  while (lo < hi)
    {
      long mid = lo + (hi - lo) / 2;
      if (sorted[mid].texture <= limit)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* ---- covariance sums ----------------------------------------------------- */

/* Σx and Σx xᵀ over a set of patches. x xᵀ (upper triangle) is summed in
 * float over blocks of BATCHES_PER_BLOCK × BATCH patches, by a rank-BATCH
 * update that the compiler vectorises, and the blocks in double. */
typedef struct {
  long n;
  double sum[DIM_MAX];
  double sum2[DIM_MAX][DIM_MAX];       /* upper triangle */
  float block[DIM_MAX][DIM_MAX];       /* the current block, upper triangle */
  float batch[BATCH][DIM_MAX];         /* patches waiting for the update */
  int in_batch, batches;
} patch_sums;

/* block += Σ_b X[b] X[b]ᵀ, upper triangle, in runs of 8 columns. */
static void
block_update (float block[restrict DIM_MAX][DIM_MAX],
              const float X[restrict BATCH][DIM_MAX], int d)
{
  for (int i = 0; i < d; i++)
    {
      float xi[BATCH];
      for (int b = 0; b < BATCH; b++)
        xi[b] = X[b][i];
      for (int j0 = i & ~7; j0 < d; j0 += 8)
        {
          float *restrict row = block[i] + j0;
          for (int j = 0; j < 8; j++)
            {
              float s = 0.0f;
              for (int b = 0; b < BATCH; b++)
                s += xi[b] * X[b][j0 + j];
              row[j] += s;
            }
        }
    }
}

/* Moves the waiting patches and the float block into the double sums. */
static void
sums_flush (patch_sums *s, int d)
{
  if (s->in_batch > 0)
    {
      for (int b = s->in_batch; b < BATCH; b++)
        memset (s->batch[b], 0, sizeof s->batch[b]);
      block_update (s->block, (const float (*)[DIM_MAX]) s->batch, d);
      s->in_batch = 0;
    }
  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++)
      {
        s->sum2[i][j] += s->block[i][j];
        s->block[i][j] = 0.0f;
      }
  s->batches = 0;
}

static void
sums_add (patch_sums *s, const patch_grid *g, gint32 index)
{
  float *x = s->batch[s->in_batch];

  patch_get (g, index, x);
  for (int i = 0; i < g->d; i++)
    s->sum[i] += x[i];
  s->n++;

  if (++s->in_batch == BATCH)
    {
      block_update (s->block, (const float (*)[DIM_MAX]) s->batch, g->d);
      s->in_batch = 0;
      if (++s->batches == BATCHES_PER_BLOCK)
        sums_flush (s, g->d);
    }
}

/* to += from; both flushed. */
static void
sums_merge (patch_sums *to, const patch_sums *from, int d)
{
  to->n += from->n;
  for (int i = 0; i < d; i++)
    {
      to->sum[i] += from->sum[i];
      for (int j = i; j < d; j++)
        to->sum2[i][j] += from->sum2[i][j];
    }
}

/* ---- eigenvalues and the noise level ------------------------------------ */

/* Eigenvalues of the symmetric d×d matrix a (row-major, destroyed) by
 * cyclic Jacobi rotations; written to eig unsorted. */
static void
jacobi_eigenvalues (double *a, int d, double *eig)
{
  for (int sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++)
    {
      double off = 0.0, diag = 0.0;
      for (int p = 0; p < d; p++)
        {
          diag += a[p * d + p] * a[p * d + p];
          for (int q = p + 1; q < d; q++)
            off += a[p * d + q] * a[p * d + q];
        }
      if (!(off > 1e-28 * diag))        /* converged, zero, or not a number */
        break;

      for (int p = 0; p < d - 1; p++)
        for (int q = p + 1; q < d; q++)
          {
            const double apq = a[p * d + q];
            const double app = a[p * d + p], aqq = a[q * d + q];
            if (apq == 0.0)
              continue;
            if (fabs (apq) < 1e-18 * (fabs (app) + fabs (aqq)))
              {
                a[p * d + q] = a[q * d + p] = 0.0;
                continue;
              }
            /* the rotation by φ, t = tan φ, that zeroes a[p][q] */
            const double theta = (aqq - app) / (2.0 * apq);
            double t = 1.0 / (fabs (theta) + hypot (theta, 1.0));
            if (theta < 0.0)
              t = -t;
            const double c = 1.0 / sqrt (t * t + 1.0), s = t * c;

            a[p * d + p] = app - t * apq;
            a[q * d + q] = aqq + t * apq;
            a[p * d + q] = a[q * d + p] = 0.0;
            for (int k = 0; k < d; k++)
              {
                if (k == p || k == q)
                  continue;
                const double akp = a[k * d + p], akq = a[k * d + q];
                a[k * d + p] = a[p * d + k] = c * akp - s * akq;
                a[k * d + q] = a[q * d + k] = s * akp + c * akq;
              }
          }
    }
  for (int p = 0; p < d; p++)
    eig[p] = a[p * d + p];
}

static int
double_compare (const void *pa, const void *pb)
{
  const double a = *(const double *) pa, b = *(const double *) pb;
  return (a > b) - (a < b);
}

/* [Chen]'s rule on eigenvalues sorted ascending: the mean of the longest
 * prefix whose mean is not above its median. */
static double
noise_variance_from_eigenvalues (const double *lambda, int d)
{
  double prefix_sum = 0.0;
  for (int i = 0; i < d; i++)
    prefix_sum += lambda[i];

  for (int k = d; k >= 1; k--)
    {
      const double mean = prefix_sum / k;
      const double median = k % 2 ? lambda[k / 2]
                                  : 0.5 * (lambda[k / 2 - 1] + lambda[k / 2]);
      if (mean <= median)
        return mean;
      prefix_sum -= lambda[k - 1];
    }
  return lambda[0];
}

/* Noise variance (0..1 scale) of the patches in s (flushed); cov is
 * d×d scratch. Two readings of the sorted eigenvalues: [Chen]'s rule, and
 * the smallest eigenvalue scaled up by the lower edge of the Marchenko–
 * Pastur law, λ1 ≈ σ² (1 − √(d/n))², which is what pure noise would give
 * with n patches of d pixels. Texture adds a positive semi-definite term
 * to the covariance, so it can only raise either; the smaller of the two
 * is the less contaminated. (With few patches the edge is a poor guide and
 * the rule wins; with many, on textured images, λ1 wins.) */
static double
sums_noise_variance (const patch_sums *s, int d, double *cov)
{
  const double n = (double) s->n;
  double lambda[DIM_MAX];

  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++)
      cov[i * d + j] = cov[j * d + i]
        = s->sum2[i][j] / n - (s->sum[i] / n) * (s->sum[j] / n);

  jacobi_eigenvalues (cov, d, lambda);
  qsort (lambda, d, sizeof lambda[0], double_compare);
  const double edge = 1.0 - sqrt (d / n);
  double variance = noise_variance_from_eigenvalues (lambda, d);
  if (edge > 0.0)
    variance = MIN (variance, lambda[0] / (edge * edge));
  return MAX (variance, 0.0);
}

/* ---- the estimate -------------------------------------------------------- */

/* Fills cand (in index order) with the usable candidates and returns how
 * many. With strict, clipped and flat patches are left out too. */
static long
candidates_collect (const patch_grid *g, gboolean strict, candidate *cand)
{
  float x[DIM_MAX];
  long n = 0;

  for (long k = 0; k < g->n; k++)
    {
      patch_status status = patch_get (g, k, x);
      if (status == PATCH_NOT_FINITE || (strict && status == PATCH_CLIPPED))
        continue;
      float t = patch_texture (x, g->r);
      if (strict && t == 0.0f)
        continue;
      cand[n].texture = t;
      cand[n].index = (gint32) k;
      n++;
    }
  return n;
}

/* Every selection is the prefix of the candidates in order of texture up to
 * some rank. That order is cut into chunks of `chunk` ranks, and
 * prefix[c] holds the sums over chunks 0..c, all filled in one pass over
 * the candidates in memory order. The sums over the first `count` ranks
 * are then a copy of a prefix plus at most one chunk of new patches. */
typedef struct {
  const patch_grid *grid;
  const candidate *by_index;           /* (n) in index (memory) order */
  long n, chunk;
  patch_sums *prefix;                  /* (n_chunks) */
  patch_sums work;                     /* the selection being measured */
  double cov[DIM_MAX * DIM_MAX];       /* scratch */
} selection_sums;

static void
selection_sums_fill (selection_sums *ss)
{
  const int d = ss->grid->d;
  const int n_chunks = (int) ((ss->n + ss->chunk - 1) / ss->chunk);

  for (long k = 0; k < ss->n; k++)
    sums_add (&ss->prefix[ss->by_index[k].rank / ss->chunk], ss->grid,
              ss->by_index[k].index);
  for (int c = 0; c < n_chunks; c++)
    {
      sums_flush (&ss->prefix[c], d);
      if (c > 0)
        sums_merge (&ss->prefix[c], &ss->prefix[c - 1], d);
    }
}

/* Noise variance of the `count` candidates of least texture. */
static double
selection_noise_variance (selection_sums *ss, long count)
{
  const long whole = count / ss->chunk;        /* chunks entirely inside */

  if (whole > 0)
    ss->work = ss->prefix[whole - 1];
  else
    memset (&ss->work, 0, sizeof ss->work);
  if (count > whole * ss->chunk)
    {
      for (long k = 0; k < ss->n; k++)
        {
          const gint32 rank = ss->by_index[k].rank;
          if (rank >= whole * ss->chunk && rank < count)
            sums_add (&ss->work, ss->grid, ss->by_index[k].index);
        }
      sums_flush (&ss->work, ss->grid->d);
    }
  return sums_noise_variance (&ss->work, ss->grid->d, ss->cov);
}

double
dream_noise_estimate (const dream_image *image)
{
  if (!image || !image->data || image->channels < 1
      || image->width < 16 || image->height < 16)
    return -1.0;

  patch_grid grid;
  grid_plan (&grid, image);
  const long min_count = (long) MIN_SELECTED_PER_DIM * grid.d;

  candidate *by_index = g_try_new (candidate, grid.n);
  candidate *sorted = g_try_new (candidate, grid.n);
  selection_sums *ss = g_try_new0 (selection_sums, 1);
  patch_sums *prefix = g_try_new0 (patch_sums, N_CHUNKS);
  double variance = -1.0;
  if (!by_index || !sorted || !ss || !prefix)
    goto out;

  long n = candidates_collect (&grid, TRUE, by_index);
  if (n < min_count)
    n = candidates_collect (&grid, FALSE, by_index);
  if (n < 2)
    goto out;

  memcpy (sorted, by_index, n * sizeof *sorted);
  qsort (sorted, n, sizeof *sorted, candidate_compare_texture);
  for (long r = 0; r < n; r++)
    sorted[r].rank = (gint32) r;
  memcpy (by_index, sorted, n * sizeof *sorted);
  qsort (by_index, n, sizeof *by_index, candidate_compare_index);

  ss->grid = &grid;
  ss->by_index = by_index;
  ss->n = n;
  ss->chunk = (n + N_CHUNKS - 1) / N_CHUNKS;
  ss->prefix = prefix;
  selection_sums_fill (ss);

  /* All patches first, then [Liu]'s iteration on the weak-texture ones
   * (never fewer than min_count) until sigma settles. */
  const double factor = texture_limit_factor (grid.r);
  long selected = n;
  variance = selection_noise_variance (ss, selected);
  for (int it = 0; it < MAX_ITERATIONS; it++)
    {
      long next = MAX (candidates_below (sorted, n, variance * factor),
                       MIN (min_count, n));
      if (next == selected)
        break;
      selected = next;
      const double before = variance;
      variance = selection_noise_variance (ss, selected);
      if (fabs (sqrt (variance) - sqrt (before)) <= SETTLED * sqrt (before))
        break;
    }

out:
  g_free (by_index);
  g_free (sorted);
  g_free (ss);
  g_free (prefix);
  return variance >= 0.0 && isfinite (variance) ? 255.0 * sqrt (variance) : -1.0;
}
