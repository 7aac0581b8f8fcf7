/* pool.c — a small fork-join worker pool.
 *
 * dream_pool_run() hands out task indices from a shared counter; workers
 * and the calling thread take tasks until none are left, then the caller
 * waits for the workers to go idle. Workers sleep on a condition variable
 * between runs (no spinning that would steal a core from the caller).
 */
#include "core/core.h"

#include <pthread.h>
#include <unistd.h>

struct dream_pool {
  int n_threads;             /* including the caller */
  pthread_t *threads;        /* n_threads - 1 workers */
  int n_started;
  pthread_mutex_t lock;
  pthread_cond_t wake;       /* workers wait for a new generation */
  pthread_cond_t idle;       /* caller waits for busy == 0 */
  unsigned generation;
  gboolean quit;
  /* current run */
  dream_task_func task;
  void *ctx;
  int n_tasks;
  int next;                  /* next task index, under lock */
  int busy;                  /* workers still in the current run */
};

typedef struct {
  dream_pool *pool;
  int index;
} worker_arg;

static void
take_tasks (dream_pool *pool, int thread)
{
  for (;;)
    {
      pthread_mutex_lock (&pool->lock);
      int t = pool->next < pool->n_tasks ? pool->next++ : -1;
      pthread_mutex_unlock (&pool->lock);
      if (t < 0)
        return;
      pool->task (pool->ctx, t, thread);
    }
}

static void *
worker_main (void *data)
{
  worker_arg *arg = data;
  dream_pool *pool = arg->pool;
  int index = arg->index;
  g_free (arg);
  unsigned seen = 0;

  pthread_mutex_lock (&pool->lock);
  for (;;)
    {
      while (!pool->quit && pool->generation == seen)
        pthread_cond_wait (&pool->wake, &pool->lock);
      if (pool->quit)
        break;
      seen = pool->generation;
      pthread_mutex_unlock (&pool->lock);
      take_tasks (pool, index);
      pthread_mutex_lock (&pool->lock);
      if (--pool->busy == 0)
        pthread_cond_signal (&pool->idle);
    }
  pthread_mutex_unlock (&pool->lock);
  return NULL;
}

dream_pool *
dream_pool_new (int n_threads)
{
  if (n_threads <= 0)
    {
      long n = sysconf (_SC_NPROCESSORS_ONLN);
      n_threads = n > 0 ? (int) n : 1;
    }
  n_threads = CLAMP (n_threads, 1, 256);

  dream_pool *pool = g_new0 (dream_pool, 1);
  pthread_mutex_init (&pool->lock, NULL);
  pthread_cond_init (&pool->wake, NULL);
  pthread_cond_init (&pool->idle, NULL);
  pool->threads = g_new0 (pthread_t, n_threads);
  for (int i = 1; i < n_threads; i++)
    {
      worker_arg *arg = g_new (worker_arg, 1);
      arg->pool = pool;
      arg->index = i;
      if (pthread_create (&pool->threads[pool->n_started], NULL,
                          worker_main, arg) != 0)
        {
          g_free (arg);
          break;
        }
      pool->n_started++;
    }
  pool->n_threads = pool->n_started + 1;
  return pool;
}

void
dream_pool_free (dream_pool *pool)
{
  if (!pool)
    return;
  pthread_mutex_lock (&pool->lock);
  pool->quit = TRUE;
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);
  for (int i = 0; i < pool->n_started; i++)
    pthread_join (pool->threads[i], NULL);
  pthread_mutex_destroy (&pool->lock);
  pthread_cond_destroy (&pool->wake);
  pthread_cond_destroy (&pool->idle);
  g_free (pool->threads);
  g_free (pool);
}

int
dream_pool_n_threads (const dream_pool *pool)
{
  return pool->n_threads;
}

void
dream_pool_run (dream_pool *pool, int n_tasks, dream_task_func task, void *ctx)
{
  if (n_tasks <= 0)
    return;
  if (pool->n_started == 0 || n_tasks == 1)
    {
      for (int t = 0; t < n_tasks; t++)
        task (ctx, t, 0);
      return;
    }
  pthread_mutex_lock (&pool->lock);
  pool->task = task;
  pool->ctx = ctx;
  pool->n_tasks = n_tasks;
  pool->next = 0;
  pool->busy = pool->n_started;
  pool->generation++;
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);

  take_tasks (pool, 0);

  pthread_mutex_lock (&pool->lock);
  while (pool->busy > 0)
    pthread_cond_wait (&pool->idle, &pool->lock);
  pool->task = NULL;
  pthread_mutex_unlock (&pool->lock);
}
