/* shuffle.c — pixel shuffle / unshuffle by 2 (space <-> channels). */
#include "ops/ops.h"

void
dream_pixel_unshuffle2 (const float *x, int h, int w, int c,
                        float *y, int out_stride)
{
  int h2 = h / 2, w2 = w / 2;
  for (int oy = 0; oy < h2; oy++)
    for (int ox = 0; ox < w2; ox++)
      {
        float *dst = y + ((size_t) oy * w2 + ox) * out_stride;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            {
              const float *src = x + ((size_t) (2 * oy + dy) * w + 2 * ox + dx) * c;
              for (int ch = 0; ch < c; ch++)
                dst[ch * 4 + dy * 2 + dx] = src[ch];
            }
      }
}

void
dream_pixel_shuffle2 (const float *x, int h, int w, int c, float *y)
{
  int w2 = 2 * w;
  for (int iy = 0; iy < h; iy++)
    for (int ix = 0; ix < w; ix++)
      {
        const float *src = x + ((size_t) iy * w + ix) * 4 * c;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            {
              float *dst = y + ((size_t) (2 * iy + dy) * w2 + 2 * ix + dx) * c;
              for (int ch = 0; ch < c; ch++)
                dst[ch] = src[ch * 4 + dy * 2 + dx];
            }
      }
}
