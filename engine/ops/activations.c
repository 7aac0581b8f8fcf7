/* activations.c — pointwise nonlinearities. */
#include "ops/ops.h"

void
dream_relu (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
