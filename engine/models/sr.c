/* sr.c — the table of super-resolution networks and helpers they share
 * (see sr.h). */
#include "models/sr.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

static const dream_sr_class *const classes[] = {
  &dream_srvgg_class, &dream_rdn_class, &dream_rrdb_class,
};

const dream_sr_class *
dream_sr_class_find (const char *arch)
{
  for (size_t i = 0; i < G_N_ELEMENTS (classes); i++)
    if (g_strcmp0 (classes[i]->arch, arch) == 0)
      return classes[i];
  return NULL;
}

size_t
dream_sr_load_conv (const dream_st_file *file, const char *prefix,
                    int out_ch, int in_ch, int k, float *dst, float *tmp,
                    dream_conv *conv, GError **error)
{
  char wn[128], bn[128];
  snprintf (wn, sizeof wn, "%s.weight", prefix);
  snprintf (bn, sizeof bn, "%s.bias", prefix);
  int64_t ws[4] = { out_ch, in_ch, k, k }, bs[1] = { out_ch };
  const dream_st_tensor *w = dream_st_expect (file, wn, 4, ws, error);
  const dream_st_tensor *b = w ? dream_st_expect (file, bn, 1, bs, error) : NULL;
  if (!b || !dream_st_to_f32 (w, tmp, w->n_elements, error))
    return 0;
  size_t nw = (size_t) w->n_elements;
  dream_conv_ex_pack_oihw (tmp, out_ch, in_ch, k, dst);
  if (!dream_st_to_f32 (b, dst + nw, b->n_elements, error))
    return 0;
  *conv = (dream_conv) { in_ch, out_ch, k, dst, dst + nw };
  return nw + out_ch;
}

void
dream_sr_fold_upsample (const float *w, const float *b, int out_ch, int in_ch,
                        int r, float *dst_w, float *dst_b)
{
  const int rr = r * r;
  memset (dst_w, 0, sizeof (float) * (size_t) out_ch * rr * in_ch * 9);
  for (int o = 0; o < out_ch; o++)
    for (int dy = 0; dy < r; dy++)
      for (int dx = 0; dx < r; dx++)
        {
          int of = o * rr + dy * r + dx;
          dst_b[of] = b[o];
          for (int i = 0; i < in_ch; i++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                {
                  /* upsampled row r*y + dy + ky - 1 is input row y + oy */
                  int oy = (dy + ky - 1 + r) / r - 1;
                  int ox = (dx + kx - 1 + r) / r - 1;
                  dst_w[(((size_t) of * in_ch + i) * 3 + oy + 1) * 3 + ox + 1] +=
                    w[(((size_t) o * in_ch + i) * 3 + ky) * 3 + kx];
                }
        }
}
