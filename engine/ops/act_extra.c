/* act_extra.c — pointwise nonlinearities with parameters: leaky ReLU and
 * PReLU (per-channel slopes), as the super-resolution networks use them. */
#include "ops/ops.h"

void
dream_leaky_relu (float *x, size_t n, float slope)
{
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] >= 0.0f ? x[i] : slope * x[i];
}

void
dream_prelu (float *x, size_t n_pixels, int channels, const float *slopes)
{
  for (size_t p = 0; p < n_pixels; p++, x += channels)
    for (int c = 0; c < channels; c++)
      x[c] = x[c] >= 0.0f ? x[c] : slopes[c] * x[c];
}
