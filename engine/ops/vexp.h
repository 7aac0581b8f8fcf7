/* vexp.h — an exp for loops the compiler should vectorise (softmax,
 * SiLU): no calls, no branches, no table lookups.
 *
 * exp(x) for x <= 0: a Cody–Waite reduction x = n·ln2 + r with |r| <=
 * ln2/2 (n rounded by the 1.5·2²³ trick), the Taylor polynomial of e^r to
 * degree 7 (the next term is below 1e-8), scaled by 2ⁿ through the
 * exponent bits: relative error about 1 ulp. Below −87.3 (where 2ⁿ would
 * leave the normal range) the result is 0.
 */
#ifndef DREAM_VEXP_H
#define DREAM_VEXP_H

#include <glib.h>
#include <string.h>

static inline float
dream_vexp_neg (float x)
{
  const float log2e = 1.44269504f, ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-6f;
  const float shifter = 12582912.0f;   /* 1.5·2²³: adding it rounds to an integer */
  float xc = x < -87.3f ? -87.3f : x;
  float n = (xc * log2e + shifter) - shifter;
  float r = (xc - n * ln2_hi) - n * ln2_lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  gint32 e = ((gint32) n + 127) << 23;
  float scale;
  memcpy (&scale, &e, 4);
  float v = p * scale;
  return x < -87.3f ? 0.0f : v;
}

#endif /* DREAM_VEXP_H */
