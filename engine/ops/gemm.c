/* gemm.c — matrix products. The only file that calls OpenBLAS. */
#include "ops/ops.h"

#include <cblas.h>

/* OpenBLAS exports this; Debian's cblas.h declares it for OpenBLAS builds.
 * Declared here too so the file also builds against a generic cblas.h. */
extern void openblas_set_num_threads (int n) __attribute__ ((weak));

void
dream_gemm_init (void)
{
  if (openblas_set_num_threads)
    openblas_set_num_threads (1);
}

void
dream_gemm (int m, int n, int k, float alpha,
            const float *a, int lda, const float *b, int ldb,
            float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
               alpha, a, lda, b, ldb, beta, c, ldc);
}
