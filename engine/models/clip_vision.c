/* clip_vision.c — CLIP's vision transformer and preprocessing (see
 * clip_vision.h).
 */
#include "models/clip_vision.h"

#include <math.h>
#include <string.h>

/* ---- loading ----------------------------------------------------------- */

static const char OPENAI_PATCH[] = "conv1.weight";
static const char HF_PATCH[] = "embeddings.patch_embedding.weight";

static char *
find_vision_prefix (const dream_st_file *file, dream_clip_layout *layout)
{
  char *best = NULL;
  for (int i = 0; i < dream_st_count (file); i++)
    {
      const char *name = dream_st_get (file, i)->name;
      dream_clip_layout l;
      size_t len;
      if (g_str_has_suffix (name, HF_PATCH))
        {
          l = DREAM_CLIP_LAYOUT_HF;
          len = strlen (name) - strlen (HF_PATCH);
        }
      else if (g_str_has_suffix (name, OPENAI_PATCH))
        {
          l = DREAM_CLIP_LAYOUT_OPENAI;
          len = strlen (name) - strlen (OPENAI_PATCH);
        }
      else
        continue;
      if (len > 0 && name[len - 1] != '.')
        continue;
      if (!best || len < strlen (best))
        {
          g_free (best);
          best = g_strndup (name, len);
          *layout = l;
        }
    }
  return best;
}

void
dream_clip_vision_free (dream_clip_vision *net)
{
  if (!net)
    return;
  dream_clip_stack_clear (&net->stack);
  g_free (net->patch_w_owned);
  g_free (net->class_embedding);
  g_free (net->positional);
  g_free (net->ln_pre_w);
  g_free (net->ln_pre_b);
  g_free (net->ln_post_w);
  g_free (net->ln_post_b);
  g_free (net->projection);
  g_free (net->prefix);
  g_free (net);
}

static int
default_vision_heads (int width)
{
  if (width == 1280 || width == 1408 || width == 1664)
    return 16;
  return width / 64;
}

dream_clip_vision *
dream_clip_vision_load (const dream_st_file *file, const char *prefix,
                        const dream_clip_hints *hints, GError **error)
{
  dream_clip_layout layout = DREAM_CLIP_LAYOUT_OPENAI;
  char *pre;
  if (prefix)
    {
      pre = g_strdup (prefix);
      layout = dream_clip_find (file, pre, HF_PATCH) ? DREAM_CLIP_LAYOUT_HF
                                                     : DREAM_CLIP_LAYOUT_OPENAI;
    }
  else
    pre = find_vision_prefix (file, &layout);
  gboolean hf = layout == DREAM_CLIP_LAYOUT_HF;
  const dream_st_tensor *pw = pre ? dream_clip_find (file, pre, hf ? HF_PATCH : OPENAI_PATCH) : NULL;
  if (!pw)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "no CLIP vision tower (no %s%s)",
                   prefix ? prefix : "visual.", OPENAI_PATCH);
      g_free (pre);
      return NULL;
    }
  if (!hf && !dream_clip_find (file, pre, "class_embedding"))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   dream_clip_find (file, pre, "layer1.0.conv1.weight")
                   ? "%s: a ResNet CLIP vision tower, which is not supported (only ViT)"
                   : "%s: no class_embedding: not a CLIP ViT", pre);
      g_free (pre);
      return NULL;
    }
  if (pw->n_dims != 4 || pw->shape[1] != 3 || pw->shape[2] != pw->shape[3]
      || pw->shape[2] < 1 || pw->shape[2] > 64 || pw->shape[0] < 1 || pw->shape[0] > 16384)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s%s: expected (width, 3, patch, patch)", pre, hf ? HF_PATCH : OPENAI_PATCH);
      g_free (pre);
      return NULL;
    }
  dream_clip_vision *net = g_new0 (dream_clip_vision, 1);
  net->layout = layout;
  net->prefix = pre;
  const int64_t d = pw->shape[0];
  net->patch = (int) pw->shape[2];
  const char *pos_name = hf ? "embeddings.position_embedding.weight" : "positional_embedding";
  const dream_st_tensor *pos = dream_clip_find (file, pre, pos_name);
  int g = pos && pos->n_dims == 2 ? (int) lround (sqrt ((double) pos->shape[0] - 1)) : 0;
  if (!pos || pos->shape[1] != d || g < 1 || (int64_t) g * g + 1 != pos->shape[0])
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s%s: expected (grid² + 1, %d)", pre, pos_name, (int) d);
      goto fail;
    }
  net->grid = g;
  net->tokens = g * g + 1;
  net->image_size = g * net->patch;

  if (dream_weight_needs_copy (pw))
    {
      net->patch_w_owned = dream_alloc ((size_t) pw->n_elements, sizeof (float), "CLIP patch embedding", error);
      if (!net->patch_w_owned || !dream_st_to_f32 (pw, net->patch_w_owned, pw->n_elements, error))
        goto fail;
      net->patch_w = net->patch_w_owned;
    }
  else
    net->patch_w = pw->data;

  int64_t vd[1] = { d }, ps[2] = { net->tokens, d };
  if (!(net->class_embedding = dream_clip_load_vector (file, pre, hf ? "embeddings.class_embedding"
                                                       : "class_embedding", 1, vd, error))
      || !(net->positional = dream_clip_load_vector (file, pre, pos_name, 2, ps, error))
      || !(net->ln_pre_w = dream_clip_load_vector (file, pre, hf ? "pre_layrnorm.weight"
                                                   : "ln_pre.weight", 1, vd, error))
      || !(net->ln_pre_b = dream_clip_load_vector (file, pre, hf ? "pre_layrnorm.bias"
                                                   : "ln_pre.bias", 1, vd, error))
      || !(net->ln_post_w = dream_clip_load_vector (file, pre, hf ? "post_layernorm.weight"
                                                    : "ln_post.weight", 1, vd, error))
      || !(net->ln_post_b = dream_clip_load_vector (file, pre, hf ? "post_layernorm.bias"
                                                    : "ln_post.bias", 1, vd, error)))
    goto fail;

  if (hf)
    {
      char *outer = g_str_has_suffix (pre, "vision_model.")
        ? g_strndup (pre, strlen (pre) - strlen ("vision_model.")) : g_strdup (pre);
      const dream_st_tensor *p = dream_clip_find (file, outer, "visual_projection.weight");
      if (p && p->n_dims == 2 && p->shape[1] == d)
        {
          int64_t s[2] = { p->shape[0], d };
          net->embed_dim = (int) p->shape[0];
          net->projection = dream_clip_load_vector (file, outer, "visual_projection.weight", 2, s, error);
        }
      g_free (outer);
    }
  else
    {
      const dream_st_tensor *p = dream_clip_find (file, pre, "proj");
      if (p && p->n_dims == 2 && p->shape[0] == d)
        {
          int64_t s[2] = { d, p->shape[1] };
          net->embed_dim = (int) p->shape[1];
          net->projection = dream_clip_load_vector (file, pre, "proj", 2, s, error);
        }
    }
  if (net->embed_dim && !net->projection)
    goto fail;

  int heads = hints && hints->vision_heads > 0 ? hints->vision_heads : default_vision_heads ((int) d);
  dream_nn_act act = DREAM_NN_ACT_QUICK_GELU;
  if (hints && hints->vision_act >= 0)
    act = hints->vision_act;
  else if (hints && hints->act >= 0)
    act = hints->act;
  else if (!hf && (strstr (pre, "cond_stage_model.") || strstr (pre, "conditioner.")))
    act = DREAM_NN_ACT_GELU;
  float eps = hints && hints->ln_eps > 0.0f ? hints->ln_eps : 1e-5f;
  char *blocks = g_strconcat (pre, hf ? "encoder.layers." : "transformer.resblocks.", NULL);
  gboolean ok = dream_clip_stack_load (&net->stack, file, layout, blocks, (int) d,
                                       heads, act, eps, error);
  g_free (blocks);
  if (!ok)
    goto fail;
  return net;

fail:
  dream_clip_vision_free (net);
  return NULL;
}

gboolean
dream_clip_vision_state_init (dream_clip_vision_state *s, const dream_clip_vision *net,
                              int max_images, int n_threads, GError **error)
{
  *s = (dream_clip_vision_state) { .max_images = max_images };
  size_t d = net->stack.width, rows = (size_t) max_images * net->tokens;
  size_t pp = 3 * (size_t) net->patch * net->patch;
  if (!dream_clip_stack_state_init (&s->stack, &net->stack, (int) rows, net->tokens,
                                    n_threads, error)
      || !(s->x = dream_alloc (rows * d, sizeof (float), "CLIP vision", error))
      || !(s->patches = dream_alloc ((size_t) net->grid * net->grid * pp, sizeof (float),
                                     "CLIP vision", error))
      || !(s->pooled = dream_alloc ((size_t) max_images * d, sizeof (float), "CLIP vision", error)))
    {
      dream_clip_vision_state_clear (s);
      return FALSE;
    }
  return TRUE;
}

void
dream_clip_vision_state_clear (dream_clip_vision_state *s)
{
  dream_clip_stack_state_clear (&s->stack);
  g_clear_pointer (&s->x, g_free);
  g_clear_pointer (&s->patches, g_free);
  g_clear_pointer (&s->pooled, g_free);
}

/* ---- forward ----------------------------------------------------------- */

gboolean
dream_clip_vision_forward (const dream_clip_vision *net, dream_clip_vision_state *s,
                           const float *images, int n,
                           const dream_clip_vision_outputs *out,
                           dream_pool *pool, GError **error)
{
  const int d = net->stack.width, T = net->tokens, g = net->grid, p = net->patch;
  const int S = net->image_size, pp = 3 * p * p;
  if (n < 1 || n > s->max_images)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP vision: %d images, the state holds 1..%d", n, s->max_images);
      return FALSE;
    }
  if (out->embeds && !net->projection)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP vision tower %s has no projection: no embeddings", net->prefix);
      return FALSE;
    }
  for (int b = 0; b < n; b++)
    {
      /* patches (g², 3p²): patch (gy, gx) holds its pixels in conv1's
       * weight order (channel, row, column) */
      const float *img = images + (size_t) b * 3 * S * S;
      for (int gy = 0; gy < g; gy++)
        for (int gx = 0; gx < g; gx++)
          {
            float *dst = s->patches + ((size_t) gy * g + gx) * pp;
            for (int c = 0; c < 3; c++)
              for (int ky = 0; ky < p; ky++)
                memcpy (dst + (c * p + ky) * p,
                        img + ((size_t) c * S + gy * p + ky) * S + gx * p,
                        sizeof (float) * p);
          }
      float *x = s->x + (size_t) b * T * d;
      dream_linear_w l = { pp, d, net->patch_w, NULL };
      dream_linear (&l, s->patches, g * g, pp, x + d, d, DREAM_NN_ACT_NONE, FALSE, pool);
      memcpy (x, net->class_embedding, sizeof (float) * d);
      for (size_t i = 0; i < (size_t) T * d; i++)
        x[i] += net->positional[i];
    }
  const int rows = n * T;
  const float eps = net->stack.ln_eps;
  dream_layer_norm (s->x, rows, d, d, net->ln_pre_w, net->ln_pre_b, eps, s->x, d, pool);
  if (out->ln_pre)
    memcpy (out->ln_pre, s->x, sizeof (float) * rows * d);
  for (int l = 0; l < net->stack.layers; l++)
    {
      if (!dream_clip_stack_run (&net->stack, &s->stack, s->x, n, T, FALSE, l, l + 1,
                                 pool, error))
        return FALSE;
      if (out->hidden_states)
        memcpy (out->hidden_states + (size_t) l * rows * d, s->x, sizeof (float) * rows * d);
    }
  for (int b = 0; b < n; b++)
    dream_layer_norm (s->x + (size_t) b * T * d, 1, d, d, net->ln_post_w, net->ln_post_b,
                      eps, s->pooled + (size_t) b * d, d, NULL);
  if (out->pooled)
    memcpy (out->pooled, s->pooled, sizeof (float) * n * d);
  if (out->embeds)
    {
      const int e = net->embed_dim;
      if (net->layout == DREAM_CLIP_LAYOUT_HF)
        dream_gemm_bt (n, e, d, 1.0f, s->pooled, d, net->projection, d, 0.0f, out->embeds, e);
      else
        dream_gemm (n, e, d, 1.0f, s->pooled, d, net->projection, e, 0.0f, out->embeds, e);
    }
  return TRUE;
}

/* ---- preprocessing ----------------------------------------------------- */

enum { FIX_BITS = 22 };   /* 32 − 8 − 2: 8-bit pixels, sign and overflow */

/* Keys' cubic convolution kernel with a = −0.5, support 2. */
static double
bicubic (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* Fixed-point taps of a 1-D resize in_size -> out_size: output i reads
 * inputs first[i] .. first[i] + count[i] − 1 with weights
 * w[i · ksize + k]. The support grows with the scale when shrinking (an
 * antialiasing filter), weights are normalised to sum 1 and rounded to
 * FIX_BITS fractional bits (half away from zero). */
typedef struct {
  int ksize;
  int *first, *count;
  gint32 *w;
} taps;

static void
taps_clear (taps *t)
{
  g_free (t->first);
  g_free (t->count);
  g_free (t->w);
}

static void
taps_init (taps *t, int in_size, int out_size)
{
  double scale = (double) in_size / out_size;
  double fscale = MAX (scale, 1.0);
  double support = 2.0 * fscale, inv = 1.0 / fscale;
  t->ksize = (int) ceil (support) * 2 + 1;
  t->first = g_new (int, out_size);
  t->count = g_new (int, out_size);
  t->w = g_new0 (gint32, (size_t) out_size * t->ksize);
  double *k = g_new (double, t->ksize);
  for (int i = 0; i < out_size; i++)
    {
      double center = (i + 0.5) * scale;
      int lo = (int) (center - support + 0.5);
      int hi = (int) (center + support + 0.5);
      lo = MAX (lo, 0);
      hi = MIN (hi, in_size);
      int n = MIN (hi - lo, t->ksize);
      double sum = 0.0;
      for (int j = 0; j < n; j++)
        {
          k[j] = bicubic ((j + lo - center + 0.5) * inv);
          sum += k[j];
        }
      for (int j = 0; j < n; j++)
        {
          double v = sum != 0.0 ? k[j] / sum : k[j];
          t->w[(size_t) i * t->ksize + j] =
            (gint32) (v < 0 ? -0.5 + v * (1 << FIX_BITS) : 0.5 + v * (1 << FIX_BITS));
        }
      t->first[i] = lo;
      t->count[i] = MAX (n, 0);
    }
  g_free (k);
}

static guint8
fix_to_u8 (gint32 acc)
{
  if (acc < 0)
    return 0;
  acc >>= FIX_BITS;
  return acc > 255 ? 255 : (guint8) acc;
}

/* Resizes a (h, w, c) 8-bit image to (oh, ow, c): horizontal pass over
 * the rows the vertical pass reads, then vertical, each rounded to 8
 * bits; a pass whose size does not change is skipped. */
static guint8 *
resize_u8 (const guint8 *src, int w, int h, int c, int ow, int oh)
{
  taps tv = { 0 }, th = { 0 };
  const guint8 *cur = src;
  guint8 *tmp = NULL, *out = NULL;
  int cw = w, row0 = 0, rows = h;
  if (oh != h)
    {
      taps_init (&tv, h, oh);
      row0 = tv.first[0];
      rows = tv.first[oh - 1] + tv.count[oh - 1] - row0;
    }
  if (ow != w)
    {
      taps_init (&th, w, ow);
      tmp = g_new (guint8, (size_t) rows * ow * c);
      for (int y = 0; y < rows; y++)
        for (int x = 0; x < ow; x++)
          for (int ch = 0; ch < c; ch++)
            {
              gint32 acc = 1 << (FIX_BITS - 1);
              const gint32 *k = th.w + (size_t) x * th.ksize;
              const guint8 *s = src + ((size_t) (y + row0) * w + th.first[x]) * c + ch;
              for (int j = 0; j < th.count[x]; j++)
                acc += s[(size_t) j * c] * k[j];
              tmp[((size_t) y * ow + x) * c + ch] = fix_to_u8 (acc);
            }
      cur = tmp;
      cw = ow;
    }
  else
    cur = src + (size_t) row0 * w * c;
  if (oh != h)
    {
      out = g_new (guint8, (size_t) oh * ow * c);
      for (int y = 0; y < oh; y++)
        {
          const gint32 *k = tv.w + (size_t) y * tv.ksize;
          for (int x = 0; x < ow; x++)
            for (int ch = 0; ch < c; ch++)
              {
                gint32 acc = 1 << (FIX_BITS - 1);
                const guint8 *s = cur + ((size_t) (tv.first[y] - row0) * cw + x) * c + ch;
                for (int j = 0; j < tv.count[y]; j++)
                  acc += s[(size_t) j * cw * c] * k[j];
                out[((size_t) y * ow + x) * c + ch] = fix_to_u8 (acc);
              }
        }
      g_free (tmp);
    }
  else
    out = tmp ? tmp : g_memdup2 (src, (size_t) w * h * c);
  taps_clear (&tv);
  taps_clear (&th);
  return out;
}

/* Python's round() of n / 2 for an integer n >= 0: half to even. */
static int
half_round_even (int n)
{
  int q = n / 2;
  if (n % 2 == 0)
    return q;
  return q % 2 == 0 ? q : q + 1;
}

gboolean
dream_clip_preprocess (const dream_image *image, int size, float *out, GError **error)
{
  static const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
  static const float std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };
  if (!image || !image->data || image->width < 1 || image->height < 1
      || image->width > 65536 || image->height > 65536
      || image->channels < 1 || image->channels > 4 || size < 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP preprocessing: needs a non-empty image of 1 to 4 channels");
      return FALSE;
    }
  const int w = image->width, h = image->height;
  const int c = image->channels >= 3 ? 3 : 1;   /* colour channels */
  guint8 *u8 = dream_alloc ((size_t) w * h, c, "CLIP preprocessing", error);
  if (!u8)
    return FALSE;
  for (size_t i = 0; i < (size_t) w * h; i++)
    for (int ch = 0; ch < c; ch++)
      {
        float v = image->data[i * image->channels + ch];
        v = isnan (v) ? 0.0f : CLAMP (v, 0.0f, 1.0f);
        u8[i * c + ch] = (guint8) lrintf (v * 255.0f);
      }
  /* torchvision Resize(size): the short side to size, the long side to
   * int(size * long / short) */
  int ow, oh;
  if (w <= h)
    {
      ow = size;
      oh = (int) ((double) size * h / w);
    }
  else
    {
      oh = size;
      ow = (int) ((double) size * w / h);
    }
  guint8 *r = resize_u8 (u8, w, h, c, ow, oh);
  g_free (u8);
  int top = half_round_even (oh - size), left = half_round_even (ow - size);
  for (int ch = 0; ch < 3; ch++)
    for (int y = 0; y < size; y++)
      for (int x = 0; x < size; x++)
        {
          guint8 v = r[((size_t) (y + top) * ow + x + left) * c + (c == 3 ? ch : 0)];
          out[((size_t) ch * size + y) * size + x] = ((float) v / 255.0f - mean[ch]) / std[ch];
        }
  g_free (r);
  return TRUE;
}
