/* error.c — the DREAM_ERROR domain, checked allocation and progress. */
#include "core/core.h"

G_DEFINE_QUARK (dream-error-quark, dream_error)

gpointer
dream_alloc (size_t n, size_t size, const char *what, GError **error)
{
  if (size != 0 && n > G_MAXSIZE / size)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "%s: size overflows", what);
      return NULL;
    }
  gpointer p = g_try_malloc (MAX (n * size, 1));
  if (!p)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                 "Out of memory allocating %.1f MiB for %s",
                 (double) (n * size) / (1024.0 * 1024.0), what);
  return p;
}

void
dream_progress_init (dream_progress *p, dream_progress_func func,
                     gpointer user, double total)
{
  p->func = func;
  p->user = user;
  p->done = 0.0;
  p->total = total > 0.0 ? total : 1.0;
}

gboolean
dream_progress_step (dream_progress *p, double work, GError **error)
{
  p->done += work;
  if (!p->func)
    return TRUE;
  double f = CLAMP (p->done / p->total, 0.0, 1.0);
  if (p->func (p->user, f))
    return TRUE;
  g_set_error_literal (error, DREAM_ERROR, DREAM_ERROR_CANCELLED,
                       "Cancelled");
  return FALSE;
}
