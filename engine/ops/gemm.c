/* gemm.c — matrix products. The only file that calls OpenBLAS.
 *
 * OpenBLAS picks its kernels when the library is loaded, from the CPU
 * model. Releases older than the CPU (Debian 12 ships 0.3.21) do not know
 * recent Xeons and fall back to their oldest x86-64 kernel ("Prescott",
 * SSE3), 5–8× slower than the AVX-512 one on the same machine. So the
 * engine does not link OpenBLAS: on first use it decides the kernel family
 * from the CPU's own feature flags (unless the user set OPENBLAS_CORETYPE
 * already), puts it in OPENBLAS_CORETYPE, and only then loads the library
 * with dlopen(). If the process had OpenBLAS loaded already, its choice
 * stands. OpenBLAS is then kept on one thread: the engine's pool threads
 * call it on disjoint blocks, so nothing oversubscribes the cores.
 */
#include "ops/ops.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdlib.h>

typedef void (*sgemm_func) (enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
                            enum CBLAS_TRANSPOSE, blasint, blasint, blasint,
                            float, const float *, blasint, const float *,
                            blasint, float, float *, blasint);
typedef void (*set_threads_func) (int);
typedef char *(*corename_func) (void);

static sgemm_func blas_sgemm;
static corename_func blas_corename;

static const char *
kernel_for_this_cpu (void)
{
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
  return NULL;  /* let OpenBLAS decide */
}

static gpointer
load_openblas (gpointer unused)
{
  (void) unused;
  const char *kernel = kernel_for_this_cpu ();
  if (kernel && !g_getenv ("OPENBLAS_CORETYPE"))
    g_setenv ("OPENBLAS_CORETYPE", kernel, FALSE);

  static const char *const names[] = {
    "libopenblas.so.0", "libopenblasp.so.0", "libopenblas.so", "libcblas.so.3",
  };
  void *lib = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS (names) && !lib; i++)
    lib = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
  if (lib)
    {
      blas_sgemm = (sgemm_func) dlsym (lib, "cblas_sgemm");
      blas_corename = (corename_func) dlsym (lib, "openblas_get_corename");
      set_threads_func set_threads = (set_threads_func) dlsym (lib, "openblas_set_num_threads");
      if (set_threads)
        set_threads (1);
    }
  return NULL;
}

static void
ensure_loaded (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, load_openblas, NULL);
}

void
dream_gemm_init (void)
{
  ensure_loaded ();
}

const char *
dream_gemm_backend (void)
{
  ensure_loaded ();
  if (!blas_sgemm)
    return "built-in (no BLAS library found)";
  return blas_corename ? blas_corename () : "cblas";
}

/* Used only when no BLAS library can be loaded: correct, not fast. */
static void
gemm_fallback (int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc)
{
  for (int i = 0; i < m; i++)
    {
      float *ci = c + (size_t) i * ldc;
      for (int j = 0; j < n; j++)
        ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
      for (int l = 0; l < k; l++)
        {
          float s = alpha * a[(size_t) i * lda + l];
          const float *bl = b + (size_t) l * ldb;
          for (int j = 0; j < n; j++)
            ci[j] += s * bl[j];
        }
    }
}

void
dream_gemm (int m, int n, int k, float alpha,
            const float *a, int lda, const float *b, int ldb,
            float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  ensure_loaded ();
  if (blas_sgemm)
    blas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
  else
    gemm_fallback (m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* C(m,n) = alpha * A(m,k) · B(n,k)ᵀ + beta * C: B is read transposed, so a
 * PyTorch Linear weight (out, in) or a key matrix (n_k, d) is used as it
 * is stored. */
void
dream_gemm_bt (int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  ensure_loaded ();
  if (blas_sgemm)
    {
      blas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k,
                  alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      {
        float s = 0.0f;
        for (int l = 0; l < k; l++)
          s += a[(size_t) i * lda + l] * b[(size_t) j * ldb + l];
        float *cij = c + (size_t) i * ldc + j;
        *cij = alpha * s + (beta == 0.0f ? 0.0f : beta * *cij);
      }
}
