/* sd_common.c — checkpoint reading and batched layer running shared by
 * the SD UNet and VAE (see sd_common.h).
 */
#include "models/sd_common.h"

#include "ops/nn.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- loading --------------------------------------------------------------- */

static char *
full_name (const dream_sd_loader *L, const char *fmt, va_list ap)
{
  char *tail = g_strdup_vprintf (fmt, ap);
  char *name = g_strconcat (L->prefix, tail, NULL);
  g_free (tail);
  return name;
}

const dream_st_tensor *
dream_sd_find (const dream_sd_loader *L, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *name = full_name (L, fmt, ap);
  va_end (ap);
  const dream_st_tensor *t = dream_st_find (L->file, name);
  g_free (name);
  return t;
}

const dream_st_tensor *
dream_sd_want (dream_sd_loader *L, int n_dims, const int64_t *shape, const char *fmt, ...)
{
  if (L->failed)
    return NULL;
  va_list ap;
  va_start (ap, fmt);
  char *name = full_name (L, fmt, ap);
  va_end (ap);
  const dream_st_tensor *t = dream_st_expect (L->file, name, n_dims, shape, L->error);
  g_free (name);
  if (!t)
    {
      L->failed = TRUE;
      return NULL;
    }
  if (n_dims == 1)
    L->max_vec = MAX (L->max_vec, (size_t) t->n_elements);
  else
    L->max_weight = MAX (L->max_weight, (size_t) t->n_elements);
  return t;
}

void
dream_sd_fail (dream_sd_loader *L, const char *fmt, ...)
{
  if (L->failed)
    return;
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (L->error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s", msg);
  g_free (msg);
  L->failed = TRUE;
}

int
dream_sd_dim0 (const dream_sd_loader *L, const char *base, const char *name)
{
  const dream_st_tensor *t = dream_sd_find (L, "%s%s", base, name);
  return t && t->n_dims >= 1 && t->shape[0] > 0 && t->shape[0] <= (1 << 20)
    ? (int) t->shape[0] : -1;
}

void
dream_sd_load_conv (dream_sd_loader *L, dream_wb *wb, const char *base, const char *name,
                    int out, int in, int k)
{
  wb->w = dream_sd_want (L, 4, DREAM_SD_SHAPE (out, in, k, k), "%s%s.weight", base, name);
  wb->b = dream_sd_want (L, 1, DREAM_SD_SHAPE (out), "%s%s.bias", base, name);
}

void
dream_sd_load_linear (dream_sd_loader *L, dream_wb *wb, const char *base, const char *name,
                      int out, int in, gboolean conv1x1, gboolean bias)
{
  const dream_st_tensor *t = dream_sd_find (L, "%s%s.weight", base, name);
  if (t && (t->n_dims == 2 || t->n_dims == 4))
    conv1x1 = t->n_dims == 4;
  if (conv1x1)
    wb->w = dream_sd_want (L, 4, DREAM_SD_SHAPE (out, in, 1, 1), "%s%s.weight", base, name);
  else
    wb->w = dream_sd_want (L, 2, DREAM_SD_SHAPE (out, in), "%s%s.weight", base, name);
  wb->b = bias ? dream_sd_want (L, 1, DREAM_SD_SHAPE (out), "%s%s.bias", base, name) : NULL;
}

void
dream_sd_load_norm (dream_sd_loader *L, dream_wb *wb, const char *base, const char *name, int c)
{
  wb->w = dream_sd_want (L, 1, DREAM_SD_SHAPE (c), "%s%s.weight", base, name);
  wb->b = dream_sd_want (L, 1, DREAM_SD_SHAPE (c), "%s%s.bias", base, name);
}

void
dream_sd_release_tensors (const dream_st_file *file, const char *prefix)
{
  const size_t page = (size_t) sysconf (_SC_PAGESIZE);
  const size_t plen = strlen (prefix);
  for (int i = 0; i < dream_st_count (file); i++)
    {
      const dream_st_tensor *t = dream_st_get (file, i);
      if (strncmp (t->name, prefix, plen) != 0 || t->n_bytes < page)
        continue;
      /* whole pages inside the tensor only */
      guintptr a = ((guintptr) t->data + page - 1) & ~(guintptr) (page - 1);
      guintptr b = ((guintptr) t->data + t->n_bytes) & ~(guintptr) (page - 1);
      if (b > a)
        madvise ((void *) a, b - a, MADV_DONTNEED);
    }
}

/* ---- running --------------------------------------------------------------- */

gboolean
dream_sd_work_alloc (dream_sd_work *w, const char *what, GError **error)
{
  w->measuring = FALSE;
  w->arena.cap = w->arena.peak;
  w->arena.used = 0;
  w->n_threads = MAX (w->n_threads, 1);
  if (!(w->arena.base = dream_alloc (MAX (w->arena.cap, 1), sizeof (float), what, error)))
    return FALSE;
  for (int i = 0; i < DREAM_SD_MAPS; i++)
    if (!(w->maps[i] = dream_alloc (MAX (w->map_floats, 1), sizeof (float), what, error)))
      return FALSE;
  return (w->wbuf = dream_alloc (MAX (w->max_weight, 1), sizeof (float), what, error))
    && (w->bbuf = dream_alloc (2 * MAX (w->max_vec, 1), sizeof (float), what, error))
    && (w->scratch = dream_alloc ((size_t) w->n_threads * MAX (w->scratch_per_thread, 1),
                                  sizeof (float), what, error));
}

void
dream_sd_work_clear (dream_sd_work *w)
{
  g_clear_pointer (&w->arena.base, g_free);
  for (int i = 0; i < DREAM_SD_MAPS; i++)
    g_clear_pointer (&w->maps[i], g_free);
  g_clear_pointer (&w->wbuf, g_free);
  g_clear_pointer (&w->bbuf, g_free);
  g_clear_pointer (&w->scratch, g_free);
}

size_t
dream_sd_work_bytes (const dream_sd_work *w)
{
  return sizeof (float) * (w->arena.cap + DREAM_SD_MAPS * w->map_floats + w->max_weight
                           + 2 * w->max_vec + (size_t) w->n_threads * w->scratch_per_thread);
}

float *
dream_sd_take (dream_sd_run *r, size_t floats)
{
  return dream_arena_take (&r->work->arena, floats);
}

float *
dream_sd_map (dream_sd_run *r, int id)
{
  if (r->work->measuring || id < 0 || id >= DREAM_SD_MAPS)
    return NULL;
  return r->work->maps[id];
}

void
dream_sd_note_map (dream_sd_run *r, int id, size_t floats)
{
  if (r->work->measuring && id >= 0 && id < DREAM_SD_MAPS)
    r->work->map_floats = MAX (r->work->map_floats, floats);
}

void
dream_sd_note_scratch (dream_sd_run *r, size_t floats)
{
  if (r->work->measuring)
    r->work->scratch_per_thread = MAX (r->work->scratch_per_thread, floats);
}

int
dream_sd_free_map (int a, int b)
{
  for (int i = 0; i < DREAM_SD_MAPS; i++)
    if (i != a && i != b)
      return i;
  return 0;
}

gboolean
dream_sd_linear (dream_sd_run *r, const dream_wb *wb, const float *x, int rows, int ldx,
                 float *y, gboolean accumulate)
{
  if (r->work->measuring)
    return TRUE;
  const float *w = dream_weight_widen (wb->w, r->work->wbuf, r->pool, r->error);
  const float *b = wb->b ? dream_weight_widen (wb->b, r->work->bbuf, NULL, r->error) : NULL;
  if (!w || (wb->b && !b))
    return FALSE;
  dream_linear_w l = { (int) wb->w->shape[1], (int) wb->w->shape[0], w, b };
  dream_sd_linear_run (&l, x, rows, ldx, y, l.out, accumulate, r->pool);
  return TRUE;
}

gboolean
dream_sd_conv (dream_sd_run *r, const dream_wb *wb, const float *x, int h, int w,
               float *y, int stride, int pad, gboolean upsample)
{
  dream_conv_ohwi cv = { (int) wb->w->shape[1], (int) wb->w->shape[0], (int) wb->w->shape[2],
                         NULL, NULL };
  /* input as read (×2 when upsampling), then (h + pad + extra − k) / stride + 1
     with the VAE's extra zero row/column at the bottom/right when pad is 0 */
  const int ih = upsample ? 2 * h : h, iw = upsample ? 2 * w : w;
  int oh = ih, ow = iw;
  if (stride != 1)
    {
      int extra = pad == 0 ? 1 : pad;
      oh = (ih + pad + extra - cv.k) / stride + 1;
      ow = (iw + pad + extra - cv.k) / stride + 1;
    }
  dream_sd_note_scratch (r, dream_conv_ohwi_scratch_size (&cv, stride, oh, ow));
  if (r->work->measuring)
    return TRUE;
  cv.w = dream_weight_widen_ohwi (wb->w, r->work->wbuf, r->pool, r->error);
  cv.b = cv.w ? dream_weight_widen (wb->b, r->work->bbuf, NULL, r->error) : NULL;
  if (!cv.b)
    return FALSE;
  dream_conv_ohwi_run (&cv, stride, stride == 1 ? cv.k / 2 : pad, upsample, x, r->batch, h, w, y,
                       oh, ow, r->pool, r->work->scratch);
  return TRUE;
}

gboolean
dream_sd_group_norm (dream_sd_run *r, const dream_wb *wb, const float *x, int n_px, int c,
                     float eps, gboolean silu, float *y)
{
  if (r->work->measuring)
    return TRUE;
  const float *g = dream_weight_widen (wb->w, r->work->bbuf, NULL, r->error);
  const float *b = g ? dream_weight_widen (wb->b, r->work->bbuf + c, NULL, r->error) : NULL;
  if (!b)
    return FALSE;
  for (int i = 0; i < r->batch; i++)
    dream_group_norm (x + (size_t) i * n_px * c, n_px, c, 32, g, b, eps, silu,
                      y + (size_t) i * n_px * c, r->pool);
  return TRUE;
}

gboolean
dream_sd_layer_norm (dream_sd_run *r, const dream_wb *wb, const float *x, int rows, int dim,
                     float eps, float *y)
{
  if (r->work->measuring)
    return TRUE;
  const float *g = dream_weight_widen (wb->w, r->work->bbuf, NULL, r->error);
  const float *b = g ? dream_weight_widen (wb->b, r->work->bbuf + dim, NULL, r->error) : NULL;
  if (!b)
    return FALSE;
  dream_layer_norm (x, rows, dim, dim, g, b, eps, y, dim, r->pool);
  return TRUE;
}

gboolean
dream_sd_attention (dream_sd_run *r, const float *q, const float *k, const float *v,
                    int n_q, int n_k, int heads, int d, int ld, float *out)
{
  dream_sd_note_scratch (r, dream_sd_attention_scratch_size (n_q, n_k));
  if (r->work->measuring)
    return TRUE;
  dream_attention_args a = {
    .batch = r->batch, .n_q = n_q, .n_k = n_k, .heads = heads, .d = d,
    .causal = FALSE, .scale = (float) (1.0 / sqrt ((double) d)),
    .q = q, .ldq = ld, .k = k, .ldk = ld, .v = v, .ldv = ld, .out = out, .ldo = ld,
  };
  dream_sd_attention_run (&a, r->pool, r->work->scratch);
  return TRUE;
}

gboolean
dream_sd_step (dream_sd_run *r, dream_progress *progress, double work)
{
  if (r->work->measuring || !progress)
    return TRUE;
  return dream_progress_step (progress, work, r->error);
}
