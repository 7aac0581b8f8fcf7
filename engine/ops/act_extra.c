/* act_extra.c — pointwise nonlinearities with parameters: leaky ReLU and
 * PReLU (per-channel slopes), as the super-resolution networks use them.
 * Written without branches (max + slope * min) so that they vectorise. */
#include "ops/ops.h"

void
dream_leaky_relu (float *restrict x, size_t n, float slope)
{
  for (size_t i = 0; i < n; i++)
    {
      float v = x[i];
      x[i] = MAX (v, 0.0f) + slope * MIN (v, 0.0f);
    }
}

void
dream_prelu (float *restrict x, size_t n_pixels, int channels,
             const float *restrict slopes)
{
  for (size_t p = 0; p < n_pixels; p++, x += channels)
    for (int c = 0; c < channels; c++)
      {
        float v = x[c];
        x[c] = MAX (v, 0.0f) + slopes[c] * MIN (v, 0.0f);
      }
}
