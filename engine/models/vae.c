/* vae.c — the SD autoencoder: loading from LDM tensor names and the
 * encoder / decoder forward passes (see vae.h for the network).
 *
 * Layers run one at a time over the whole batch, from one of three work
 * maps into another (sd_common.h); all buffers are sized by a dry run
 * when the state is made.
 */
#include "models/vae.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { VAE_MAX_LEVELS = 8, VAE_MAX_BLOCKS = 8 };

#define EPS_GN 1e-6f   /* ldm Normalize(): GroupNorm(32, eps=1e-6) */

#define SHAPE DREAM_SD_SHAPE

/* ==== loading ============================================================= */

static void
load_res (dream_sd_loader *L, dream_vae_res *r, const char *base, int in_ch)
{
  int out = dream_sd_dim0 (L, base, "conv1.weight");
  if (out < 0)
    {
      dream_sd_want (L, 4, SHAPE (in_ch, in_ch, 3, 3), "%sconv1.weight", base);
      return;
    }
  if (in_ch % 32 || out % 32)
    dream_sd_fail (L, "%s%s: %d → %d channels do not split into GroupNorm's 32 groups",
                   L->prefix, base, in_ch, out);
  r->in_ch = in_ch;
  r->out_ch = out;
  dream_sd_load_norm (L, &r->norm1, base, "norm1", in_ch);
  dream_sd_load_conv (L, &r->conv1, base, "conv1", out, in_ch, 3);
  dream_sd_load_norm (L, &r->norm2, base, "norm2", out);
  dream_sd_load_conv (L, &r->conv2, base, "conv2", out, out, 3);
  if (dream_sd_find (L, "%sconv_shortcut.weight", base))
    {
      r->conv_shortcut = TRUE;
      dream_sd_load_conv (L, &r->shortcut, base, "conv_shortcut", out, in_ch, 3);
    }
  else if (in_ch != out || dream_sd_find (L, "%snin_shortcut.weight", base))
    dream_sd_load_linear (L, &r->shortcut, base, "nin_shortcut", out, in_ch, TRUE, TRUE);
}

static void
load_attn (dream_sd_loader *L, dream_vae_attn *a, const char *base, int ch)
{
  a->ch = ch;
  dream_sd_load_norm (L, &a->norm, base, "norm", ch);
  dream_sd_load_linear (L, &a->q, base, "q", ch, ch, TRUE, TRUE);
  dream_sd_load_linear (L, &a->k, base, "k", ch, ch, TRUE, TRUE);
  dream_sd_load_linear (L, &a->v, base, "v", ch, ch, TRUE, TRUE);
  dream_sd_load_linear (L, &a->proj_out, base, "proj_out", ch, ch, TRUE, TRUE);
}

/* One level: base.block.{j} (+ base.attn.{j}), then base.<resample>.conv.
 * *ch flows through. */
static void
load_level (dream_sd_loader *L, dream_vae_level *lv, const char *base, const char *resample,
            int *ch)
{
  int n = 0;
  while (n < VAE_MAX_BLOCKS && dream_sd_find (L, "%sblock.%d.norm1.weight", base, n))
    n++;
  if (n == 0)
    {
      dream_sd_want (L, 1, SHAPE (*ch), "%sblock.0.norm1.weight", base);
      return;
    }
  lv->n_blocks = n;
  lv->res = g_new0 (dream_vae_res, n);
  gboolean any_attn = dream_sd_find (L, "%sattn.0.norm.weight", base) != NULL;
  if (any_attn)
    lv->attn = g_new0 (dream_vae_attn, n);
  for (int j = 0; j < n && !L->failed; j++)
    {
      char *b = g_strdup_printf ("%sblock.%d.", base, j);
      load_res (L, &lv->res[j], b, *ch);
      g_free (b);
      *ch = lv->res[j].out_ch;
      if (any_attn)
        {
          b = g_strdup_printf ("%sattn.%d.", base, j);
          load_attn (L, &lv->attn[j], b, *ch);
          g_free (b);
        }
    }
  if (dream_sd_find (L, "%s%s.conv.weight", base, resample))
    {
      char *b = g_strdup_printf ("%s%s.", base, resample);
      dream_sd_load_conv (L, &lv->resample, b, "conv", *ch, *ch, 3);
      g_free (b);
    }
}

static void
load_mid (dream_sd_loader *L, dream_vae_coder *c, const char *part, int *ch)
{
  char *b = g_strdup_printf ("%s.mid.block_1.", part);
  load_res (L, &c->mid1, b, *ch);
  g_free (b);
  *ch = c->mid1.out_ch;
  b = g_strdup_printf ("%s.mid.attn_1.", part);
  load_attn (L, &c->mid_attn, b, *ch);
  g_free (b);
  b = g_strdup_printf ("%s.mid.block_2.", part);
  load_res (L, &c->mid2, b, *ch);
  g_free (b);
  *ch = c->mid2.out_ch;
}

static int
count_levels (const dream_sd_loader *L, const char *fmt)
{
  int n = 0;
  while (n < VAE_MAX_LEVELS && dream_sd_find (L, fmt, n))
    n++;
  return n;
}

static void
free_coder (dream_vae_coder *c)
{
  for (int i = 0; i < c->n_levels; i++)
    {
      g_free (c->levels[i].res);
      g_free (c->levels[i].attn);
    }
  g_free (c->levels);
}

void
dream_vae_free (void *data)
{
  dream_vae *vae = data;
  if (!vae)
    return;
  free_coder (&vae->enc);
  free_coder (&vae->dec);
  g_free (vae->prefix);
  g_free (vae);
}

static const char *const vae_prefixes[] = { "first_stage_model.", "" };

static const char *
vae_prefix (const dream_st_file *file)
{
  static const char *const probes[] = { "decoder.conv_in.weight", "encoder.conv_in.weight" };
  for (size_t i = 0; i < G_N_ELEMENTS (vae_prefixes); i++)
    for (size_t j = 0; j < G_N_ELEMENTS (probes); j++)
      {
        char *n = g_strconcat (vae_prefixes[i], probes[j], NULL);
        gboolean found = dream_st_find (file, n) != NULL;
        g_free (n);
        if (found)
          return vae_prefixes[i];
      }
  return NULL;
}

gboolean
dream_vae_detect (const dream_st_file *file)
{
  return vae_prefix (file) != NULL;
}

static void
load_encoder (dream_sd_loader *L, dream_vae *vae)
{
  dream_vae_coder *c = &vae->enc;
  const dream_st_tensor *t = dream_sd_find (L, "encoder.conv_in.weight");
  if (!t || t->n_dims != 4 || t->shape[0] < 1 || t->shape[0] > 65536 || t->shape[1] < 1
      || t->shape[1] > 64)
    {
      dream_sd_want (L, 4, SHAPE (128, 3, 3, 3), "encoder.conv_in.weight");
      return;
    }
  int ch = (int) t->shape[0];
  c->in_ch = (int) t->shape[1];
  dream_sd_load_conv (L, &c->conv_in, "encoder.", "conv_in", ch, c->in_ch, 3);
  c->n_levels = count_levels (L, "encoder.down.%d.block.0.norm1.weight");
  c->levels = g_new0 (dream_vae_level, MAX (c->n_levels, 1));
  int factor = 1;
  for (int i = 0; i < c->n_levels && !L->failed; i++)
    {
      char *b = g_strdup_printf ("encoder.down.%d.", i);
      load_level (L, &c->levels[i], b, "downsample", &ch);
      g_free (b);
      if (c->levels[i].resample.w)
        factor *= 2;
    }
  load_mid (L, c, "encoder", &ch);
  dream_sd_load_norm (L, &c->norm_out, "encoder.", "norm_out", ch);
  c->out_ch = dream_sd_dim0 (L, "encoder.", "conv_out.weight");
  dream_sd_load_conv (L, &c->conv_out, "encoder.", "conv_out", MAX (c->out_ch, 1), ch, 3);
  int e2 = dream_sd_dim0 (L, "", "quant_conv.weight");
  dream_sd_load_linear (L, &vae->quant_conv, "", "quant_conv", MAX (e2, 2), c->out_ch, TRUE, TRUE);
  if (L->failed)
    return;
  if (e2 % 2 || c->out_ch % 2)
    dream_sd_fail (L, "%squant_conv: %d → %d channels are not mean and log-variance halves",
                   L->prefix, c->out_ch, e2);
  vae->embed_dim = e2 / 2;
  vae->z_channels = c->out_ch / 2;
  vae->image_channels = c->in_ch;
  vae->factor = factor;
}

static void
load_decoder (dream_sd_loader *L, dream_vae *vae)
{
  dream_vae_coder *c = &vae->dec;
  const dream_st_tensor *t = dream_sd_find (L, "decoder.conv_in.weight");
  if (!t || t->n_dims != 4 || t->shape[0] < 1 || t->shape[0] > 65536 || t->shape[1] < 1
      || t->shape[1] > 64)
    {
      dream_sd_want (L, 4, SHAPE (512, 4, 3, 3), "decoder.conv_in.weight");
      return;
    }
  int ch = (int) t->shape[0], z = (int) t->shape[1];
  if (vae->has_encoder && z != vae->z_channels)
    dream_sd_fail (L, "%sdecoder.conv_in takes %d channels, the encoder makes %d",
                   L->prefix, z, vae->z_channels);
  c->in_ch = z;
  dream_sd_load_conv (L, &c->conv_in, "decoder.", "conv_in", ch, z, 3);
  load_mid (L, c, "decoder", &ch);
  c->n_levels = count_levels (L, "decoder.up.%d.block.0.norm1.weight");
  c->levels = g_new0 (dream_vae_level, MAX (c->n_levels, 1));
  int factor = 1;
  for (int i = c->n_levels - 1; i >= 0 && !L->failed; i--)
    {
      char *b = g_strdup_printf ("decoder.up.%d.", i);
      load_level (L, &c->levels[i], b, "upsample", &ch);
      g_free (b);
      if (c->levels[i].resample.w)
        factor *= 2;
    }
  dream_sd_load_norm (L, &c->norm_out, "decoder.", "norm_out", ch);
  c->out_ch = dream_sd_dim0 (L, "decoder.", "conv_out.weight");
  dream_sd_load_conv (L, &c->conv_out, "decoder.", "conv_out", MAX (c->out_ch, 1), ch, 3);
  int e = dream_sd_find (L, "post_quant_conv.weight") ? (int) dream_sd_find (L, "post_quant_conv.weight")->shape[1] : z;
  dream_sd_load_linear (L, &vae->post_quant_conv, "", "post_quant_conv", z, e, TRUE, TRUE);
  if (L->failed)
    return;
  if (vae->has_encoder && (e != vae->embed_dim || factor != vae->factor))
    dream_sd_fail (L, "%sdecoder does not mirror the encoder (latent %d vs %d, factor %d vs %d)",
                   L->prefix, e, vae->embed_dim, factor, vae->factor);
  vae->embed_dim = e;
  vae->z_channels = z;
  vae->factor = factor;
  if (!vae->has_encoder)
    vae->image_channels = c->out_ch;
  else if (c->out_ch != vae->image_channels)
    dream_sd_fail (L, "%sdecoder makes %d channels, the encoder takes %d",
                   L->prefix, c->out_ch, vae->image_channels);
}

dream_vae *
dream_vae_load (const dream_st_file *file, GError **error)
{
  const char *prefix = vae_prefix (file);
  if (!prefix)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "no Stable Diffusion VAE here (no first_stage_model.decoder.conv_in.weight)");
      return NULL;
    }
  dream_vae *vae = g_new0 (dream_vae, 1);
  vae->prefix = g_strdup (prefix);
  dream_sd_loader L = { .file = file, .prefix = vae->prefix, .error = error };
  if (dream_sd_find (&L, "encoder.conv_in.weight"))
    {
      load_encoder (&L, vae);
      vae->has_encoder = !L.failed;
    }
  if (!L.failed && dream_sd_find (&L, "decoder.conv_in.weight"))
    {
      load_decoder (&L, vae);
      vae->has_decoder = !L.failed;
    }
  if (L.failed)
    {
      dream_vae_free (vae);
      return NULL;
    }
  vae->max_weight = L.max_weight;
  vae->max_vec = L.max_vec;
  return vae;
}

/* ==== forward ============================================================= */

enum { X_IN = -1, X_OUT = -2 };

typedef struct {
  dream_sd_run sd;          /* must be first */
  const dream_vae *vae;
  dream_vae_state *s;
  const float *in;
  float *out;
} vae_run;

#define MEASURING(r) ((r)->s->work.measuring)
#define take(r, n) dream_sd_take (&(r)->sd, n)

static float *
buf (vae_run *r, int id)
{
  if (MEASURING (r))
    return NULL;
  if (id == X_IN)
    return (float *) r->in;
  if (id == X_OUT)
    return r->out;
  return dream_sd_map (&r->sd, id);
}

static void
probe (vae_run *r, const char *name, int id, int h, int w, int c)
{
  if (MEASURING (r) || !r->s->probe)
    return;
  r->s->probe (r->s->probe_user, name, buf (r, id), r->sd.batch, h, w, c);
}

/* ResnetBlock: y = shortcut(x) + conv₂ SiLU GN(conv₁ SiLU GN(x)), in three
 * maps: x, y (which first holds SiLU GN(x)) and a spare t for conv₁ —
 * at 512² the decoder's maps are 256 MiB each, so no fourth one. */
static gboolean
res_forward (vae_run *r, const dream_vae_res *R, const float *x, int h, int w, float *y,
             float *t)
{
  const size_t n = (size_t) h * w, B = r->sd.batch;
  const int in = R->in_ch, out = R->out_ch;
  size_t mark = dream_arena_mark (&r->s->work.arena);
  float *sc = R->conv_shortcut ? take (r, B * n * out) : NULL;  /* (B, n, out) 3×3 shortcut */
  gboolean ok = dream_sd_group_norm (&r->sd, &R->norm1, x, (int) n, in, EPS_GN, TRUE, y)
    && dream_sd_conv (&r->sd, &R->conv1, y, h, w, t, 1, 1, FALSE)
    && dream_sd_group_norm (&r->sd, &R->norm2, t, (int) n, out, EPS_GN, TRUE, t)
    && dream_sd_conv (&r->sd, &R->conv2, t, h, w, y, 1, 1, FALSE);
  if (ok && R->shortcut.w && !R->conv_shortcut)
    ok = dream_sd_linear (&r->sd, &R->shortcut, x, (int) (B * n), in, y, TRUE);
  else if (ok && R->shortcut.w)
    {
      ok = dream_sd_conv (&r->sd, &R->shortcut, x, h, w, sc, 1, 1, FALSE);
      if (ok && !MEASURING (r))
        dream_add (y, sc, B * n * out);
    }
  else if (ok && !MEASURING (r))
    dream_add (y, x, B * n * out);
  dream_arena_release (&r->s->work.arena, mark);
  return ok;
}

/* AttnBlock: y = x + proj_out(softmax(q kᵀ / √c) v), q, k, v = 1×1 (GN x) */
static gboolean
attn_forward (vae_run *r, const dream_vae_attn *A, const float *x, int h, int w, float *y)
{
  const int n = h * w, T = r->sd.batch * n, c = A->ch;
  size_t mark = dream_arena_mark (&r->s->work.arena);
  float *hn = take (r, (size_t) T * c);   /* (T, c) GN(x) */
  float *q = take (r, (size_t) T * c);    /* (T, c) */
  float *k = take (r, (size_t) T * c);
  float *v = take (r, (size_t) T * c);
  float *att = take (r, (size_t) T * c);  /* (T, c) */
  gboolean ok = dream_sd_group_norm (&r->sd, &A->norm, x, n, c, EPS_GN, FALSE, hn)
    && dream_sd_linear (&r->sd, &A->q, hn, T, c, q, FALSE)
    && dream_sd_linear (&r->sd, &A->k, hn, T, c, k, FALSE)
    && dream_sd_linear (&r->sd, &A->v, hn, T, c, v, FALSE)
    && dream_sd_attention (&r->sd, q, k, v, n, n, 1, c, c, att);
  if (ok && !MEASURING (r))
    memcpy (y, x, sizeof (float) * T * c);
  ok = ok && dream_sd_linear (&r->sd, &A->proj_out, att, T, c, y, TRUE);
  dream_arena_release (&r->s->work.arena, mark);
  return ok;
}

/* Next map for a layer reading `cur`. */
static int
next_map (vae_run *r, int cur, size_t floats)
{
  int to = dream_sd_free_map (cur, -1);
  dream_sd_note_map (&r->sd, to, floats);
  return to;
}

static gboolean
res_step (vae_run *r, const dream_vae_res *R, int *cur, int h, int w)
{
  const size_t n = (size_t) r->sd.batch * h * w;
  int to = next_map (r, *cur, n * MAX (R->in_ch, R->out_ch));
  int spare = dream_sd_free_map (*cur, to);
  dream_sd_note_map (&r->sd, spare, n * R->out_ch);
  if (!res_forward (r, R, buf (r, *cur), h, w, buf (r, to), buf (r, spare)))
    return FALSE;
  *cur = to;
  return TRUE;
}

static gboolean
attn_step (vae_run *r, const dream_vae_attn *A, int *cur, int h, int w)
{
  int to = next_map (r, *cur, (size_t) r->sd.batch * h * w * A->ch);
  if (!attn_forward (r, A, buf (r, *cur), h, w, buf (r, to)))
    return FALSE;
  *cur = to;
  return TRUE;
}

static gboolean
conv_step (vae_run *r, const dream_wb *wb, int *cur, int h, int w, int to)
{
  int out = (int) wb->w->shape[0];
  if (to != X_OUT)
    to = next_map (r, *cur, (size_t) r->sd.batch * h * w * out);
  if (!dream_sd_conv (&r->sd, wb, buf (r, *cur), h, w, buf (r, to), 1, 1, FALSE))
    return FALSE;
  *cur = to;
  return TRUE;
}

static gboolean
mid_forward (vae_run *r, const dream_vae_coder *c, const char *part, int *cur, int h, int w)
{
  char name[48];
  snprintf (name, sizeof name, "%s.mid.attn_1", part);
  if (!res_step (r, &c->mid1, cur, h, w) || !attn_step (r, &c->mid_attn, cur, h, w))
    return FALSE;
  probe (r, name, *cur, h, w, c->mid_attn.ch);
  return res_step (r, &c->mid2, cur, h, w);
}

static gboolean
level_forward (vae_run *r, const dream_vae_level *lv, int *cur, int h, int w)
{
  for (int j = 0; j < lv->n_blocks; j++)
    if (!res_step (r, &lv->res[j], cur, h, w)
        || (lv->attn && !attn_step (r, &lv->attn[j], cur, h, w)))
      return FALSE;
  return TRUE;
}

/* norm_out, SiLU, conv_out into `to` */
static gboolean
out_forward (vae_run *r, const dream_vae_coder *c, int *cur, int h, int w, int to)
{
  int ch = (int) c->norm_out.w->shape[0];
  int g = next_map (r, *cur, (size_t) r->sd.batch * h * w * ch);
  if (!dream_sd_group_norm (&r->sd, &c->norm_out, buf (r, *cur), h * w, ch, EPS_GN, TRUE,
                            buf (r, g)))
    return FALSE;
  *cur = g;
  return conv_step (r, &c->conv_out, cur, h, w, to);
}

static gboolean
encode_all (vae_run *r, dream_progress *progress, double work)
{
  const dream_vae *vae = r->vae;
  const dream_vae_coder *c = &vae->enc;
  const double unit = work / (c->n_levels + 2);
  int h = r->s->h * vae->factor, w = r->s->w * vae->factor, cur = X_IN;
  r->s->work.arena.used = 0;

  if (!conv_step (r, &c->conv_in, &cur, h, w, 0))
    return FALSE;
  probe (r, "encoder.conv_in", cur, h, w, (int) c->conv_in.w->shape[0]);
  for (int i = 0; i < c->n_levels; i++)
    {
      const dream_vae_level *lv = &c->levels[i];
      if (!level_forward (r, lv, &cur, h, w))
        return FALSE;
      if (lv->resample.w)
        {
          int ch = (int) lv->resample.w->shape[0];
          int to = next_map (r, cur, (size_t) r->sd.batch * (h / 2) * (w / 2) * ch);
          if (!dream_sd_conv (&r->sd, &lv->resample, buf (r, cur), h, w, buf (r, to), 2, 0, FALSE))
            return FALSE;
          cur = to;
          h /= 2;
          w /= 2;
        }
      if (!dream_sd_step (&r->sd, progress, unit))
        return FALSE;
    }
  if (!mid_forward (r, c, "encoder", &cur, h, w)
      || !dream_sd_step (&r->sd, progress, unit)
      || !out_forward (r, c, &cur, h, w, 0))
    return FALSE;
  probe (r, "encoder", cur, h, w, c->out_ch);
  /* moments into the caller's buffer */
  int e2 = 2 * vae->embed_dim;
  if (!dream_sd_linear (&r->sd, &vae->quant_conv, buf (r, cur), r->sd.batch * h * w, c->out_ch,
                        buf (r, X_OUT), FALSE))
    return FALSE;
  probe (r, "quant_conv", X_OUT, h, w, e2);
  return dream_sd_step (&r->sd, progress, unit);
}

static gboolean
decode_all (vae_run *r, dream_progress *progress, double work)
{
  const dream_vae *vae = r->vae;
  const dream_vae_coder *c = &vae->dec;
  const double unit = work / (c->n_levels + 1);
  int h = r->s->h, w = r->s->w, cur = 0;
  r->s->work.arena.used = 0;

  dream_sd_note_map (&r->sd, 0, (size_t) r->sd.batch * h * w * vae->z_channels);
  if (!dream_sd_linear (&r->sd, &vae->post_quant_conv, r->in, r->sd.batch * h * w,
                        vae->embed_dim, buf (r, 0), FALSE))
    return FALSE;
  probe (r, "post_quant_conv", 0, h, w, vae->z_channels);
  if (!conv_step (r, &c->conv_in, &cur, h, w, 0))
    return FALSE;
  probe (r, "decoder.conv_in", cur, h, w, (int) c->conv_in.w->shape[0]);
  if (!mid_forward (r, c, "decoder", &cur, h, w) || !dream_sd_step (&r->sd, progress, unit))
    return FALSE;
  for (int i = c->n_levels - 1; i >= 0; i--)
    {
      const dream_vae_level *lv = &c->levels[i];
      if (!level_forward (r, lv, &cur, h, w))
        return FALSE;
      if (lv->resample.w)
        {
          h *= 2;
          w *= 2;
          int to = next_map (r, cur, (size_t) r->sd.batch * h * w * lv->resample.w->shape[0]);
          if (!dream_sd_conv (&r->sd, &lv->resample, buf (r, cur), h / 2, w / 2, buf (r, to), 1,
                              1, TRUE))
            return FALSE;
          cur = to;
        }
      if (!dream_sd_step (&r->sd, progress, unit))
        return FALSE;
    }
  return out_forward (r, c, &cur, h, w, X_OUT);
}

size_t
dream_vae_state_bytes (const dream_vae_state *s)
{
  return dream_sd_work_bytes (&s->work);
}

void
dream_vae_state_clear (dream_vae_state *s)
{
  dream_sd_work_clear (&s->work);
}

gboolean
dream_vae_state_init (dream_vae_state *s, const dream_vae *vae, dream_vae_direction dir,
                      int batch, int h, int w, int n_threads, GError **error)
{
  *s = (dream_vae_state) { .dir = dir, .batch = batch, .h = h, .w = w };
  if ((dir == DREAM_VAE_ENCODE && !vae->has_encoder)
      || (dir == DREAM_VAE_DECODE && !vae->has_decoder))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "this VAE file has no %s",
                   dir == DREAM_VAE_ENCODE ? "encoder" : "decoder");
      return FALSE;
    }
  if (batch < 1 || batch > 64 || h < 1 || w < 1 || (size_t) h * vae->factor > 16384
      || (size_t) w * vae->factor > 16384)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "VAE: batch %d, latent %d×%d is out of range", batch, w, h);
      return FALSE;
    }
  s->work.n_threads = MAX (n_threads, 1);
  s->work.max_weight = vae->max_weight;
  s->work.max_vec = vae->max_vec;
  s->work.measuring = TRUE;
  vae_run r = { .sd = { .work = &s->work, .batch = batch, .error = error }, .vae = vae, .s = s };
  if (dir == DREAM_VAE_ENCODE)
    encode_all (&r, NULL, 0.0);
  else
    decode_all (&r, NULL, 0.0);
  if (!dream_sd_work_alloc (&s->work, "VAE activations", error))
    {
      dream_vae_state_clear (s);
      return FALSE;
    }
  return TRUE;
}

void
dream_vae_state_set_probe (dream_vae_state *s,
                           void (*probe) (gpointer, const char *, const float *, int, int, int, int),
                           gpointer user)
{
  s->probe = probe;
  s->probe_user = user;
}

static gboolean
check_call (const dream_vae_state *s, dream_vae_direction dir, dream_pool *pool, GError **error)
{
  if (s->dir != dir || dream_pool_n_threads (pool) > s->work.n_threads)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "VAE state made for another direction or fewer threads");
      return FALSE;
    }
  return TRUE;
}

gboolean
dream_vae_encode (const dream_vae *vae, dream_vae_state *s, const float *image,
                  float *mean, float *logvar, float *moments, dream_pool *pool,
                  dream_progress *progress, double work, GError **error)
{
  g_return_val_if_fail (vae && s && image && pool, FALSE);
  if (!check_call (s, DREAM_VAE_ENCODE, pool, error))
    return FALSE;
  const int e = vae->embed_dim;
  const size_t n = (size_t) s->batch * s->h * s->w;
  float *m = moments ? moments : dream_alloc (n * 2 * e, sizeof (float), "VAE moments", error);
  if (!m)
    return FALSE;
  vae_run r = { .sd = { .work = &s->work, .pool = pool, .error = error, .batch = s->batch },
                .vae = vae, .s = s, .in = image, .out = m };
  gboolean ok = encode_all (&r, progress, work);
  if (ok)
    for (size_t i = 0; i < n; i++)
      for (int ch = 0; ch < e; ch++)
        {
          if (mean)
            mean[i * e + ch] = m[i * 2 * e + ch];
          if (logvar)
            logvar[i * e + ch] = CLAMP (m[i * 2 * e + e + ch], -30.0f, 20.0f);
        }
  if (m != moments)
    g_free (m);
  return ok;
}

gboolean
dream_vae_decode (const dream_vae *vae, dream_vae_state *s, const float *z, float *image,
                  dream_pool *pool, dream_progress *progress, double work, GError **error)
{
  g_return_val_if_fail (vae && s && z && image && pool, FALSE);
  if (!check_call (s, DREAM_VAE_DECODE, pool, error))
    return FALSE;
  vae_run r = { .sd = { .work = &s->work, .pool = pool, .error = error, .batch = s->batch },
                .vae = vae, .s = s, .in = z, .out = image };
  return decode_all (&r, progress, work);
}

gboolean
dream_vae_decode_tiled (const dream_vae *vae, const float *z, int batch, int h, int w, int tile,
                        int feather, int context, float *image, dream_pool *pool,
                        dream_progress *progress, double work, GError **error)
{
  g_return_val_if_fail (vae && z && image && pool, FALSE);
  if (tile < 1 || feather < 0 || context < 0 || batch < 1 || h < 1 || w < 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "VAE tiles: tile %d, feather %d, context %d", tile, feather, context);
      return FALSE;
    }
  const int f = vae->factor, e = vae->embed_dim, C = vae->image_channels;
  const int H = h * f, W = w * f;
  dream_tile_spec spec = { .tile = tile, .overlap = feather + context, .align = 1 };
  int n_tiles;
  dream_tile *tiles = dream_tile_plan (w, h, &spec, &n_tiles);
  feather = dream_tile_max_feather (tiles, n_tiles, feather);
  int mw, mh;
  dream_tile_max_in (tiles, n_tiles, &mw, &mh);
  float *zt = dream_alloc ((size_t) batch * mw * mh, e * sizeof (float), "VAE tile", error);
  float *it = zt ? dream_alloc ((size_t) batch * mw * mh * f * f, C * sizeof (float), "VAE tile",
                                error) : NULL;
  dream_vae_state s = { 0 };
  gboolean ok = it != NULL;
  if (ok)
    memset (image, 0, sizeof (float) * batch * H * W * C);
  for (int t = 0; ok && t < n_tiles; t++)
    {
      const dream_rect in = tiles[t].in, core = tiles[t].out;
      if (!s.work.arena.base || s.h != in.h || s.w != in.w)
        {
          dream_vae_state_clear (&s);
          if (!(ok = dream_vae_state_init (&s, vae, DREAM_VAE_DECODE, batch, in.h, in.w,
                                           dream_pool_n_threads (pool), error)))
            break;
        }
      for (int b = 0; b < batch; b++)
        for (int y = 0; y < in.h; y++)
          memcpy (zt + (((size_t) b * in.h + y) * in.w) * e,
                  z + (((size_t) b * h + in.y + y) * w + in.x) * e, sizeof (float) * in.w * e);
      if (!(ok = dream_vae_decode (vae, &s, zt, it, pool, NULL, 0.0, error)))
        break;
      /* add the tile's weighted pixels (image coordinates) */
      int y0, y1, x0, x1;
      dream_tile_blend_span (core.y * f, (core.y + core.h) * f, H, feather * f, &y0, &y1);
      dream_tile_blend_span (core.x * f, (core.x + core.w) * f, W, feather * f, &x0, &x1);
      y0 = MAX (y0, in.y * f), y1 = MIN (y1, (in.y + in.h) * f);
      x0 = MAX (x0, in.x * f), x1 = MIN (x1, (in.x + in.w) * f);
      const int tw = in.w * f, th = in.h * f;
      for (int b = 0; b < batch; b++)
        for (int y = y0; y < y1; y++)
          {
            float wy = dream_tile_blend_weight (core.y * f, (core.y + core.h) * f, H, feather * f, y);
            for (int x = x0; x < x1; x++)
              {
                float wgt = wy * dream_tile_blend_weight (core.x * f, (core.x + core.w) * f, W,
                                                          feather * f, x);
                const float *src = it + (((size_t) b * th + (y - in.y * f)) * tw
                                         + (x - in.x * f)) * C;
                float *dst = image + (((size_t) b * H + y) * W + x) * C;
                for (int c = 0; c < C; c++)
                  dst[c] += wgt * src[c];
              }
          }
      if (progress && !(ok = dream_progress_step (progress, work / n_tiles, error)))
        break;
    }
  dream_vae_state_clear (&s);
  g_free (zt);
  g_free (it);
  g_free (tiles);
  return ok;
}
