/* core.h — engine-internal basics: the worker pool and progress reporting.
 *
 * The pool runs `n_tasks` independent tasks over `n_threads` threads (the
 * calling thread is one of them) and returns when all are done. Tasks must
 * not call back into the pool. One pool per public call; OpenBLAS is kept
 * single-threaded (see ops/gemm.c) so the pool's threads are the only ones
 * computing and the machine is never oversubscribed.
 */
#ifndef DREAM_CORE_H
#define DREAM_CORE_H

#include <glib.h>
#include "dream.h"

typedef struct dream_pool dream_pool;

/* task(ctx, task_index, thread_index); thread_index < n_threads, so
 * per-thread scratch can be indexed by it. */
typedef void (*dream_task_func) (void *ctx, int task, int thread);

/* n_threads <= 0 means one per online core. Never NULL: if threads cannot
 * be started the pool runs everything on the calling thread. */
dream_pool *dream_pool_new (int n_threads);
void dream_pool_free (dream_pool *pool);
int dream_pool_n_threads (const dream_pool *pool);
void dream_pool_run (dream_pool *pool, int n_tasks, dream_task_func task,
                     void *ctx);

/* Progress over a known amount of work, reported to a user callback.
 * dream_progress_step() adds `work` units and calls the callback; it
 * returns FALSE (and sets DREAM_ERROR_CANCELLED on `error`) once the user
 * cancelled, so callers write `if (!dream_progress_step (...)) goto fail;` */
typedef struct {
  dream_progress_func func;
  gpointer user;
  double done;
  double total;
} dream_progress;

void dream_progress_init (dream_progress *p, dream_progress_func func,
                          gpointer user, double total);
gboolean dream_progress_step (dream_progress *p, double work, GError **error);

/* g_try_malloc of n * size bytes with overflow check; NULL +
 * DREAM_ERROR_OUT_OF_MEMORY naming `what` on failure. */
gpointer dream_alloc (size_t n, size_t size, const char *what, GError **error);

#endif /* DREAM_CORE_H */
