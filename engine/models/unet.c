/* unet.c — the Stable Diffusion UNet: loading from checkpoint tensor names
 * and the forward pass (see unet.h for the network).
 *
 * Loading walks input_blocks.{i}.{j}, middle_block.{j}, output_blocks.{i}.{j}
 * and tells each module by its tensors (conv: .weight; ResBlock:
 * .in_layers.*; SpatialTransformer: .proj_in.*; Downsample: .op.*;
 * Upsample: .conv.*), checking every shape against the channels flowing
 * through the network, so a file that loads runs.
 *
 * The forward pass runs layer by layer over the whole batch, so that each
 * layer's weight is widened (and, for convs, reordered) once for all images:
 *
 *   emb  = Linear₂ SiLU Linear₁ timestep_embedding(t)         (B, 4mc)
 *   h    = x                                                  (B, h, w, cin)
 *   for each input block i:   h = block(h); skip[i] = h
 *   h    = middle(h)
 *   for each output block i:  h = block(concat(h, skip[n−1−i]))
 *   out  = conv₃ SiLU GN(h)                                   (B, h, w, cout)
 *
 * Buffers: three feature maps (a block's layers ping-pong between the two
 * that are neither its input nor its destination), the skip store, and an
 * arena of per-layer temporaries; all sized by a dry run at state init.
 */
#include "models/unet.h"

#include "models/sd_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
  UNET_GROUPS = 32,        /* GroupNorm32 everywhere */
  UNET_MAX_BLOCKS = 64,
  UNET_MAX_LAYERS = 8,
  UNET_MAX_DEPTH = 64,
  UNET_MAX_CTX = 4096,     /* context tokens */
  FF_ROWS = 1024,          /* feed-forward rows per pass: bounds its hidden buffer */
};

#define EPS_RES 1e-5f      /* openaimodel normalization(): GroupNorm32, torch default eps */
#define EPS_XF 1e-6f       /* attention.Normalize() of the SpatialTransformer */
#define EPS_LN 1e-5f       /* nn.LayerNorm default */

/* ==== loading ============================================================= */

typedef struct {
  dream_sd_loader sd;            /* must be first: &L->sd is used as the loader */
  const dream_ldm_config *cfg;
  dream_unet *net;
} loader;

#define find(L, ...) dream_sd_find (&(L)->sd, __VA_ARGS__)
#define want(L, ...) dream_sd_want (&(L)->sd, __VA_ARGS__)
#define fail(L, code, ...) dream_sd_fail (&(L)->sd, __VA_ARGS__)
#define dim0(L, base, name) dream_sd_dim0 (&(L)->sd, base, name)
#define load_conv(L, ...) dream_sd_load_conv (&(L)->sd, __VA_ARGS__)
#define load_linear(L, ...) dream_sd_load_linear (&(L)->sd, __VA_ARGS__)
#define load_norm(L, ...) dream_sd_load_norm (&(L)->sd, __VA_ARGS__)
#define SHAPE DREAM_SD_SHAPE

static void
load_res (loader *L, dream_unet_res *r, const char *base, int in_ch)
{
  int out = dim0 (L, base, "in_layers.2.weight");
  if (out < 0)
    {
      want (L, 4, SHAPE (0, in_ch, 3, 3), "%sin_layers.2.weight", base);  /* names it */
      return;
    }
  r->in_ch = in_ch;
  r->out_ch = out;
  load_norm (L, &r->norm1, base, "in_layers.0", in_ch);
  load_conv (L, &r->conv1, base, "in_layers.2", out, in_ch, 3);
  load_linear (L, &r->emb, base, "emb_layers.1", out, L->net->emb_dim, FALSE, TRUE);
  load_norm (L, &r->norm2, base, "out_layers.0", out);
  load_conv (L, &r->conv2, base, "out_layers.3", out, out, 3);
  if (in_ch != out || find (L, "%sskip_connection.weight", base))
    load_linear (L, &r->skip, base, "skip_connection", out, in_ch, TRUE, TRUE);
}

static void
load_xf (loader *L, dream_unet_xf *x, const char *base, int c)
{
  dream_unet *net = L->net;
  const dream_st_tensor *pin = find (L, "%sproj_in.weight", base);
  if (!pin || (pin->n_dims != 2 && pin->n_dims != 4) || pin->shape[0] <= 0
      || pin->shape[0] > (1 << 20))
    {
      want (L, 2, SHAPE (c, c), "%sproj_in.weight", base);
      return;
    }
  x->channels = c;
  x->linear = pin->n_dims == 2;
  x->inner = (int) pin->shape[0];
  load_norm (L, &x->norm, base, "norm", c);
  load_linear (L, &x->proj_in, base, "proj_in", x->inner, c, !x->linear, TRUE);
  load_linear (L, &x->proj_out, base, "proj_out", c, x->inner, !x->linear, TRUE);

  /* heads: LDM takes ch // num_heads, or ch // num_head_channels heads */
  const dream_ldm_config *cfg = L->cfg;
  if (cfg && cfg->num_head_channels > 0)
    {
      x->d_head = cfg->num_head_channels;
      x->heads = c / x->d_head;
    }
  else if (cfg && cfg->num_heads > 0)
    {
      x->heads = cfg->num_heads;
      x->d_head = c / x->heads;
    }
  else if (x->linear)
    {
      x->d_head = 64;   /* SD 2.x: num_head_channels 64 */
      x->heads = c / 64;
    }
  else
    {
      x->heads = 8;     /* SD 1.x: num_heads 8 */
      x->d_head = c / 8;
    }
  if (x->heads < 1 || x->d_head < 1 || x->heads * x->d_head != x->inner)
    {
      fail (L, DREAM_ERROR_MODEL,
            "%sproj_in: %d channels do not split into the configured heads "
            "(%d heads × %d); give the model's .yaml (num_heads / num_head_channels)",
            base, x->inner, x->heads, x->d_head);
      return;
    }

  int depth = 0;
  while (depth < UNET_MAX_DEPTH && find (L, "%stransformer_blocks.%d.norm1.weight", base, depth))
    depth++;
  if (depth == 0)
    {
      want (L, 1, SHAPE (x->inner), "%stransformer_blocks.0.norm1.weight", base);
      return;
    }
  x->depth = depth;
  x->blocks = g_new0 (dream_unet_tblock, depth);
  const int in = x->inner;
  for (int d = 0; d < depth && !L->sd.failed; d++)
    {
      dream_unet_tblock *b = &x->blocks[d];
      char *tb = g_strdup_printf ("%stransformer_blocks.%d.", base, d);
      if (net->context_dim == 0)
        {
          const dream_st_tensor *k2 = find (L, "%sattn2.to_k.weight", tb);
          if (k2 && k2->n_dims == 2 && k2->shape[1] > 0 && k2->shape[1] <= (1 << 16))
            net->context_dim = (int) k2->shape[1];
          if (L->cfg && L->cfg->context_dim > 0 && net->context_dim != L->cfg->context_dim)
            fail (L, DREAM_ERROR_MODEL,
                  "%sattn2.to_k.weight takes a %d-wide context, the config says %d",
                  tb, net->context_dim, L->cfg->context_dim);
        }
      int ff2 = dim0 (L, tb, "ff.net.0.proj.weight");
      x->ff = ff2 > 0 ? ff2 / 2 : 4 * in;
      load_norm (L, &b->norm1, tb, "norm1", in);
      load_norm (L, &b->norm2, tb, "norm2", in);
      load_norm (L, &b->norm3, tb, "norm3", in);
      load_linear (L, &b->q1, tb, "attn1.to_q", in, in, FALSE, FALSE);
      load_linear (L, &b->k1, tb, "attn1.to_k", in, in, FALSE, FALSE);
      load_linear (L, &b->v1, tb, "attn1.to_v", in, in, FALSE, FALSE);
      load_linear (L, &b->o1, tb, "attn1.to_out.0", in, in, FALSE, TRUE);
      load_linear (L, &b->q2, tb, "attn2.to_q", in, in, FALSE, FALSE);
      load_linear (L, &b->k2, tb, "attn2.to_k", in, net->context_dim, FALSE, FALSE);
      load_linear (L, &b->v2, tb, "attn2.to_v", in, net->context_dim, FALSE, FALSE);
      load_linear (L, &b->o2, tb, "attn2.to_out.0", in, in, FALSE, TRUE);
      load_linear (L, &b->ff1, tb, "ff.net.0.proj", 2 * x->ff, in, FALSE, TRUE);
      load_linear (L, &b->ff2, tb, "ff.net.2", in, x->ff, FALSE, TRUE);
      g_free (tb);
    }
}

/* One TimestepEmbedSequential: layers base.{j}. *ch and *scale are the
 * channels and downsampling factor flowing in; updated to what flows out. */
static void
load_block (loader *L, dream_unet_block *blk, const char *base, gboolean first,
            int *ch, int *scale)
{
  dream_unet_layer layers[UNET_MAX_LAYERS];
  int n = 0;
  blk->in_ch = *ch;
  blk->scale_in = *scale;
  for (int j = 0; j < UNET_MAX_LAYERS && !L->sd.failed; j++)
    {
      char *lb = g_strdup_printf ("%s%d.", base, j);
      dream_unet_layer *l = &layers[n];
      *l = (dream_unet_layer) { .in_ch = *ch };
      if (first && j == 0 && find (L, "%sweight", lb))
        {
          l->kind = DREAM_UNET_CONV;
          load_conv (L, &l->conv, base, "0", L->net->model_channels, *ch, 3);
          l->out_ch = L->net->model_channels;
        }
      else if (find (L, "%sin_layers.0.weight", lb))
        {
          l->kind = DREAM_UNET_RES;
          load_res (L, &l->res, lb, *ch);
          l->out_ch = l->res.out_ch;
        }
      else if (find (L, "%sproj_in.weight", lb))
        {
          l->kind = DREAM_UNET_XF;
          load_xf (L, &l->xf, lb, *ch);
          l->out_ch = *ch;
        }
      else if (find (L, "%sop.weight", lb))
        {
          l->kind = DREAM_UNET_DOWN;
          load_conv (L, &l->conv, lb, "op", *ch, *ch, 3);
          l->out_ch = *ch;
          *scale *= 2;
        }
      else if (find (L, "%sconv.weight", lb))
        {
          l->kind = DREAM_UNET_UP;
          load_conv (L, &l->conv, lb, "conv", *ch, *ch, 3);
          l->out_ch = *ch;
          *scale /= 2;
          if (*scale < 1)
            fail (L, DREAM_ERROR_MODEL, "%sconv: more upsampling than downsampling", lb);
        }
      else
        {
          g_free (lb);
          break;
        }
      g_free (lb);
      *ch = l->out_ch;
      n++;
    }
  if (n == 0 && !L->sd.failed)
    fail (L, DREAM_ERROR_MODEL, "%s%s0: no known module (ResBlock, SpatialTransformer, Downsample, Upsample)",
          L->sd.prefix, base);
  blk->n_layers = n;
  blk->layers = g_new0 (dream_unet_layer, MAX (n, 1));
  memcpy (blk->layers, layers, sizeof (dream_unet_layer) * n);
  blk->out_ch = *ch;
  blk->scale_out = *scale;
}

static void
free_block (dream_unet_block *blk)
{
  for (int j = 0; j < blk->n_layers; j++)
    if (blk->layers[j].kind == DREAM_UNET_XF)
      g_free (blk->layers[j].xf.blocks);
  g_free (blk->layers);
}

void
dream_unet_free (void *data)
{
  dream_unet *net = data;
  if (!net)
    return;
  for (int i = 0; i < net->n_input; i++)
    free_block (&net->input[i]);
  for (int i = 0; i < net->n_output; i++)
    free_block (&net->output[i]);
  free_block (&net->middle);
  g_free (net->input);
  g_free (net->output);
  g_free (net->prefix);
  g_free (net);
}

static const char *const unet_prefixes[] = { "model.diffusion_model.", "" };

static const char *
unet_prefix (const dream_st_file *file)
{
  for (size_t i = 0; i < G_N_ELEMENTS (unet_prefixes); i++)
    {
      char *n = g_strconcat (unet_prefixes[i], "input_blocks.0.0.weight", NULL);
      gboolean found = dream_st_find (file, n) != NULL;
      g_free (n);
      if (found)
        return unet_prefixes[i];
    }
  return NULL;
}

gboolean
dream_unet_detect (const dream_st_file *file)
{
  return unet_prefix (file) != NULL;
}

dream_unet *
dream_unet_load (const dream_st_file *file, const dream_ldm_config *config,
                 GError **error)
{
  const char *prefix = unet_prefix (file);
  if (!prefix)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "no Stable Diffusion UNet here (no model.diffusion_model.input_blocks.0.0.weight)");
      return NULL;
    }
  dream_unet *net = g_new0 (dream_unet, 1);
  net->prefix = g_strdup (prefix);
  loader L = { .sd = { .file = file, .prefix = net->prefix, .error = error },
               .cfg = config, .net = net };

  const dream_st_tensor *c0 = find (&L, "input_blocks.0.0.weight");
  if (c0->n_dims != 4 || c0->shape[0] < 1 || c0->shape[0] > 65536 || c0->shape[1] < 1
      || c0->shape[1] > 64 || c0->shape[2] != 3 || c0->shape[3] != 3)
    {
      fail (&L, DREAM_ERROR_MODEL, "%sinput_blocks.0.0.weight: expected (channels, in, 3, 3)", prefix);
      goto fail;
    }
  net->model_channels = (int) c0->shape[0];
  net->in_channels = (int) c0->shape[1];
  net->emb_dim = dim0 (&L, "", "time_embed.0.weight");
  if (net->emb_dim < 1)
    {
      want (&L, 2, SHAPE (4 * net->model_channels, net->model_channels), "time_embed.0.weight");
      goto fail;
    }
  load_linear (&L, &net->time1, "", "time_embed.0", net->emb_dim, net->model_channels, FALSE, TRUE);
  load_linear (&L, &net->time2, "", "time_embed.2", net->emb_dim, net->emb_dim, FALSE, TRUE);
  if (net->model_channels % UNET_GROUPS)
    fail (&L, DREAM_ERROR_MODEL, "%d model channels are not a multiple of GroupNorm's 32 groups",
          net->model_channels);

  int ch = net->in_channels, scale = 1;
  int skip_ch[UNET_MAX_BLOCKS], skip_scale[UNET_MAX_BLOCKS];
  dream_unet_block input[UNET_MAX_BLOCKS], output[UNET_MAX_BLOCKS];
  int n_in = 0, n_out = 0;
  while (!L.sd.failed && n_in < UNET_MAX_BLOCKS
         && (n_in == 0 || find (&L, "input_blocks.%d.0.in_layers.0.weight", n_in)
             || find (&L, "input_blocks.%d.0.op.weight", n_in)
             || find (&L, "input_blocks.%d.0.proj_in.weight", n_in)))
    {
      char *base = g_strdup_printf ("input_blocks.%d.", n_in);
      load_block (&L, &input[n_in], base, n_in == 0, &ch, &scale);
      g_free (base);
      skip_ch[n_in] = ch;
      skip_scale[n_in] = scale;
      n_in++;
      net->down = MAX (net->down, scale);
    }
  net->n_input = n_in;
  net->input = g_new0 (dream_unet_block, MAX (n_in, 1));
  memcpy (net->input, input, sizeof (dream_unet_block) * n_in);
  if (L.sd.failed)
    goto fail;

  load_block (&L, &net->middle, "middle_block.", FALSE, &ch, &scale);
  if (L.sd.failed)
    goto fail;

  int pending = n_in;
  while (n_out < UNET_MAX_BLOCKS && find (&L, "output_blocks.%d.0.in_layers.0.weight", n_out))
    {
      if (pending == 0)
        {
          fail (&L, DREAM_ERROR_MODEL, "%soutput_blocks.%d: more output blocks than input blocks",
                prefix, n_out);
          break;
        }
      pending--;
      if (skip_scale[pending] != scale)
        {
          fail (&L, DREAM_ERROR_MODEL, "%soutput_blocks.%d: its skip input has another resolution",
                prefix, n_out);
          break;
        }
      ch += skip_ch[pending];
      char *base = g_strdup_printf ("output_blocks.%d.", n_out);
      load_block (&L, &output[n_out], base, FALSE, &ch, &scale);
      g_free (base);
      n_out++;
      if (L.sd.failed)
        break;
    }
  net->n_output = n_out;
  net->output = g_new0 (dream_unet_block, MAX (n_out, 1));
  memcpy (net->output, output, sizeof (dream_unet_block) * n_out);
  if (L.sd.failed)
    goto fail;
  if (pending != 0 || scale != 1)
    {
      fail (&L, DREAM_ERROR_MODEL, "%soutput_blocks: %d output blocks for %d input blocks",
            prefix, n_out, n_in);
      goto fail;
    }
  if (ch % UNET_GROUPS)
    fail (&L, DREAM_ERROR_MODEL, "out.0: %d channels are not a multiple of 32 groups", ch);
  int out_ch = dim0 (&L, "", "out.2.weight");
  load_norm (&L, &net->out_norm, "", "out.0", ch);
  load_conv (&L, &net->out_conv, "", "out.2", out_ch > 0 ? out_ch : 4, ch, 3);
  net->out_channels = out_ch;
  net->sd2_style = FALSE;
  for (int i = 0; i < n_in; i++)
    for (int j = 0; j < net->input[i].n_layers; j++)
      if (net->input[i].layers[j].kind == DREAM_UNET_XF && net->input[i].layers[j].xf.linear)
        net->sd2_style = TRUE;
  if (L.sd.failed)
    goto fail;
  net->max_weight = L.sd.max_weight;
  net->max_vec = L.sd.max_vec;
  return net;

fail:
  dream_unet_free (net);
  return NULL;
}

int
dream_unet_n_blocks (const dream_unet *net)
{
  return net->n_input + 1 + net->n_output;
}

/* ==== forward ============================================================= */

/* Buffer ids: 0..2 the work maps, SKIP0 + i the skip store, X_IN the
 * caller's input, X_OUT the caller's output. */
enum { X_IN = -1, X_OUT = -2, SKIP0 = DREAM_SD_MAPS };

typedef struct {
  dream_sd_run sd;          /* must be first */
  const dream_unet *net;
  dream_unet_state *s;
  const float *x, *t, *context;
  float *out;
  float *emb;               /* (B, emb_dim) SiLU of the time embedding */
} unet_run;

#define MEASURING(r) ((r)->s->work.measuring)
#define take(r, n) dream_sd_take (&(r)->sd, n)
#define lin(r, ...) dream_sd_linear (&(r)->sd, __VA_ARGS__)
#define gnorm(r, ...) dream_sd_group_norm (&(r)->sd, __VA_ARGS__)
#define lnorm(r, wb, x, rows, dim, y) dream_sd_layer_norm (&(r)->sd, wb, x, rows, dim, EPS_LN, y)

static float *
buf (unet_run *r, int id)
{
  if (MEASURING (r))
    return NULL;
  if (id == X_IN)
    return (float *) r->x;
  if (id == X_OUT)
    return r->out;
  if (id >= SKIP0)
    return r->s->skips + r->s->skip_off[id - SKIP0];
  return dream_sd_map (&r->sd, id);
}

/* y = conv 3×3 (x), stride 1, or stride 2 pad 1 (Downsample) */
static gboolean
conv (unet_run *r, const dream_wb *wb, const float *x, int h, int w, float *y, int stride)
{
  return dream_sd_conv (&r->sd, wb, x, h, w, y, stride, 1, FALSE);
}

/* ResBlock: y = skip(x) + conv₂ SiLU GN(conv₁ SiLU GN(x) + Linear(SiLU emb)) */
static gboolean
res_forward (unet_run *r, const dream_unet_res *R, const float *x, int h, int w, float *y)
{
  const size_t n = (size_t) h * w, B = r->sd.batch;
  const int in = R->in_ch, out = R->out_ch;
  size_t mark = dream_arena_mark (&r->s->work.arena);
  float *t1 = take (r, B * n * in);    /* (B, n, in)  SiLU GN(x) */
  float *t2 = take (r, B * n * out);   /* (B, n, out) conv₁ + emb, then SiLU GN of it */
  float *e = take (r, B * out);        /* (B, out)    Linear(SiLU emb) */
  gboolean ok = gnorm (r, &R->norm1, x, (int) n, in, EPS_RES, TRUE, t1)
    && conv (r, &R->conv1, t1, h, w, t2, 1)
    && lin (r, &R->emb, r->emb, (int) B, r->net->emb_dim, e, FALSE);
  if (ok && !MEASURING (r))
    for (size_t b = 0; b < B; b++)
      dream_add_bias_rows (t2 + b * n * out, n, out, e + b * out);
  ok = ok && gnorm (r, &R->norm2, t2, (int) n, out, EPS_RES, TRUE, t2)
    && conv (r, &R->conv2, t2, h, w, y, 1);
  if (ok && R->skip.w)
    ok = lin (r, &R->skip, x, (int) (B * n), in, y, TRUE);
  else if (ok && !MEASURING (r))
    dream_add (y, x, B * n * out);
  dream_arena_release (&r->s->work.arena, mark);
  return ok;
}

/* SpatialTransformer: y = x + proj_out(blocks(proj_in(GN x)), ctx) */
static gboolean
xf_forward (unet_run *r, const dream_unet_xf *X, const float *x, int h, int w, float *y)
{
  const int B = r->sd.batch, n = h * w, T = B * n, c = X->channels, in = X->inner;
  const int nc = r->s->n_ctx, cd = r->net->context_dim;
  const int ff_rows = MIN (T, FF_ROWS);
  size_t mark = dream_arena_mark (&r->s->work.arena);
  float *xn = take (r, (size_t) T * c);                /* (T, c) GN(x) */
  float *tok = take (r, (size_t) T * in);              /* (T, inner) the residual stream */
  float *nrm = take (r, (size_t) T * in);              /* (T, inner) LN(tok) */
  float *q = take (r, (size_t) T * in);                /* (T, inner) */
  float *k = take (r, (size_t) B * MAX (n, nc) * in);  /* (B·n or B·n_ctx, inner) */
  float *v = take (r, (size_t) B * MAX (n, nc) * in);
  float *att = take (r, (size_t) T * in);              /* (T, inner) attention output */
  float *ffh = take (r, (size_t) ff_rows * 2 * X->ff); /* (rows, 2ff) GEGLU input */
  float *ffg = take (r, (size_t) ff_rows * X->ff);     /* (rows, ff) */
  const int H = X->heads, D = X->d_head;

  gboolean ok = gnorm (r, &X->norm, x, n, c, EPS_XF, FALSE, xn)
    && lin (r, &X->proj_in, xn, T, c, tok, FALSE);
  for (int d = 0; ok && d < X->depth; d++)
    {
      const dream_unet_tblock *b = &X->blocks[d];
      ok = lnorm (r, &b->norm1, tok, T, in, nrm)
        && lin (r, &b->q1, nrm, T, in, q, FALSE)
        && lin (r, &b->k1, nrm, T, in, k, FALSE)
        && lin (r, &b->v1, nrm, T, in, v, FALSE)
        && dream_sd_attention (&r->sd, q, k, v, n, n, H, D, in, att)
        && lin (r, &b->o1, att, T, in, tok, TRUE)
        && lnorm (r, &b->norm2, tok, T, in, nrm)
        && lin (r, &b->q2, nrm, T, in, q, FALSE)
        && lin (r, &b->k2, r->context, B * nc, cd, k, FALSE)
        && lin (r, &b->v2, r->context, B * nc, cd, v, FALSE)
        && dream_sd_attention (&r->sd, q, k, v, n, nc, H, D, in, att)
        && lin (r, &b->o2, att, T, in, tok, TRUE)
        && lnorm (r, &b->norm3, tok, T, in, nrm);
      for (int r0 = 0; ok && !MEASURING (r) && r0 < T; r0 += ff_rows)
        {
          int rows = MIN (ff_rows, T - r0);
          ok = lin (r, &b->ff1, nrm + (size_t) r0 * in, rows, in, ffh, FALSE);
          if (ok)
            dream_geglu (ffh, rows, X->ff, ffg, r->sd.pool);
          ok = ok && lin (r, &b->ff2, ffg, rows, X->ff, tok + (size_t) r0 * in, TRUE);
        }
    }
  if (ok && !MEASURING (r))
    memcpy (y, x, sizeof (float) * T * c);
  ok = ok && lin (r, &X->proj_out, tok, T, in, y, TRUE);
  dream_arena_release (&r->s->work.arena, mark);
  return ok;
}

/* One layer: x (B, h, w, in) → y (B, h', w', out); *h, *w become h', w'. */
static gboolean
layer_forward (unet_run *r, const dream_unet_layer *L, const float *x, int *h, int *w,
               float *y)
{
  switch (L->kind)
    {
    case DREAM_UNET_CONV:
      return conv (r, &L->conv, x, *h, *w, y, 1);
    case DREAM_UNET_RES:
      return res_forward (r, &L->res, x, *h, *w, y);
    case DREAM_UNET_XF:
      return xf_forward (r, &L->xf, x, *h, *w, y);
    case DREAM_UNET_DOWN:
      {
        gboolean ok = conv (r, &L->conv, x, *h, *w, y, 2);
        *h = (*h + 1) / 2;
        *w = (*w + 1) / 2;
        return ok;
      }
    case DREAM_UNET_UP:
      {
        /* nearest ×2 read straight by the conv's gather */
        gboolean ok = dream_sd_conv (&r->sd, &L->conv, x, *h, *w, y, 1, 1, TRUE);
        *h *= 2;
        *w *= 2;
        return ok;
      }
    }
  return FALSE;
}

/* Runs a block's layers from buffer src to buffer dst. */
static gboolean
block_forward (unet_run *r, const dream_unet_block *blk, int src, int *h, int *w, int dst)
{
  int cur = src;
  for (int j = 0; j < blk->n_layers; j++)
    {
      const dream_unet_layer *L = &blk->layers[j];
      int to = j == blk->n_layers - 1 ? dst : dream_sd_free_map (cur, dst);
      if (!layer_forward (r, L, buf (r, cur), h, w, buf (r, to)))
        return FALSE;
      dream_sd_note_map (&r->sd, to, (size_t) r->sd.batch * *h * *w * L->out_ch);
      cur = to;
    }
  return TRUE;
}

static void
probe (unet_run *r, const char *name, int id, const float *data, int h, int w, int c)
{
  dream_unet_state *s = r->s;
  if (MEASURING (r) || !s->probe)
    return;
  s->probe (s->probe_user, name, data ? data : buf (r, id), r->sd.batch, h, w, c);
}

static gboolean
unet_run_all (unet_run *r, dream_progress *progress, double work)
{
  const dream_unet *net = r->net;
  dream_unet_state *s = r->s;
  const int B = r->sd.batch, mc = net->model_channels, ed = net->emb_dim;
  const double unit = work / dream_unet_n_blocks (net);
  char name[48];
  s->work.arena.used = 0;

  /* time embedding */
  float *e0 = take (r, (size_t) B * mc);   /* (B, mc) sinusoidal */
  float *e1 = take (r, (size_t) B * ed);   /* (B, 4mc) */
  r->emb = take (r, (size_t) B * ed);      /* (B, 4mc) */
  if (!MEASURING (r))
    for (int b = 0; b < B; b++)
      dream_timestep_embedding (r->t[b], mc, e0 + (size_t) b * mc);
  if (!lin (r, &net->time1, e0, B, mc, e1, FALSE))
    return FALSE;
  if (!MEASURING (r))
    dream_silu (e1, (size_t) B * ed);
  if (!lin (r, &net->time2, e1, B, ed, r->emb, FALSE))
    return FALSE;
  probe (r, "time_embed", 0, r->emb, 1, 1, ed);
  if (!MEASURING (r))
    dream_silu (r->emb, (size_t) B * ed);

  int h = s->h, w = s->w, cur = X_IN;
  size_t skip_total = 0;
  for (int i = 0; i < net->n_input; i++)
    {
      if (MEASURING (r))
        s->skip_off[i] = skip_total;
      if (!block_forward (r, &net->input[i], cur, &h, &w, SKIP0 + i))
        return FALSE;
      cur = SKIP0 + i;
      skip_total += (size_t) B * h * w * net->input[i].out_ch;
      snprintf (name, sizeof name, "input_blocks.%d", i);
      probe (r, name, cur, NULL, h, w, net->input[i].out_ch);
      if (!dream_sd_step (&r->sd, progress, unit))
        return FALSE;
    }
  if (MEASURING (r))
    s->skip_floats = skip_total;

  int to = dream_sd_free_map (cur, -1);
  if (!block_forward (r, &net->middle, cur, &h, &w, to))
    return FALSE;
  cur = to;
  probe (r, "middle_block", cur, NULL, h, w, net->middle.out_ch);
  if (!dream_sd_step (&r->sd, progress, unit))
    return FALSE;

  int ch = net->middle.out_ch;
  for (int i = 0; i < net->n_output; i++)
    {
      int sk = net->n_input - 1 - i, skc = net->input[sk].out_ch;
      int cat = dream_sd_free_map (cur, -1);
      dream_sd_note_map (&r->sd, cat, (size_t) B * h * w * (ch + skc));
      if (!MEASURING (r))
        dream_concat_channels (buf (r, cur), ch, buf (r, SKIP0 + sk), skc, (size_t) B * h * w,
                               buf (r, cat));
      to = dream_sd_free_map (cat, -1);
      if (!block_forward (r, &net->output[i], cat, &h, &w, to))
        return FALSE;
      cur = to;
      ch = net->output[i].out_ch;
      snprintf (name, sizeof name, "output_blocks.%d", i);
      probe (r, name, cur, NULL, h, w, ch);
      if (!dream_sd_step (&r->sd, progress, unit))
        return FALSE;
    }

  int g = dream_sd_free_map (cur, -1);
  dream_sd_note_map (&r->sd, g, (size_t) B * h * w * ch);
  return gnorm (r, &net->out_norm, buf (r, cur), h * w, ch, EPS_RES, TRUE, buf (r, g))
    && conv (r, &net->out_conv, buf (r, g), h, w, buf (r, X_OUT), 1);
}

size_t
dream_unet_state_bytes (const dream_unet_state *s)
{
  return dream_sd_work_bytes (&s->work) + sizeof (float) * s->skip_floats;
}

void
dream_unet_state_clear (dream_unet_state *s)
{
  dream_sd_work_clear (&s->work);
  g_clear_pointer (&s->skips, g_free);
  g_clear_pointer (&s->skip_off, g_free);
}

gboolean
dream_unet_state_init (dream_unet_state *s, const dream_unet *net, int batch,
                       int h, int w, int n_ctx, int n_threads, GError **error)
{
  *s = (dream_unet_state) { 0 };
  if (batch < 1 || batch > 64 || h < 1 || w < 1 || h > 4096 || w > 4096
      || h % net->down || w % net->down || n_ctx < 1 || n_ctx > UNET_MAX_CTX)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "UNet: batch %d, latent %d×%d, context %d tokens: the latent sides must "
                   "be multiples of %d (image sides of %d)", batch, w, h, n_ctx,
                   net->down, 8 * net->down);
      return FALSE;
    }
  s->batch = batch;
  s->h = h;
  s->w = w;
  s->n_ctx = n_ctx;
  s->skip_off = g_new0 (size_t, MAX (net->n_input, 1));
  s->work.n_threads = MAX (n_threads, 1);
  s->work.max_weight = net->max_weight;
  s->work.max_vec = net->max_vec;

  /* dry run: sizes of everything */
  s->work.measuring = TRUE;
  unet_run r = { .sd = { .work = &s->work, .batch = batch, .error = error },
                 .net = net, .s = s };
  unet_run_all (&r, NULL, 0.0);
  if (!dream_sd_work_alloc (&s->work, "UNet activations", error)
      || !(s->skips = dream_alloc (MAX (s->skip_floats, 1), sizeof (float),
                                   "UNet skip connections", error)))
    {
      dream_unet_state_clear (s);
      return FALSE;
    }
  return TRUE;
}

void
dream_unet_state_set_probe (dream_unet_state *s, dream_unet_probe probe, gpointer user)
{
  s->probe = probe;
  s->probe_user = user;
}

gboolean
dream_unet_forward (const dream_unet *net, dream_unet_state *s,
                    const float *x, const float *t, const float *context,
                    float *out, dream_pool *pool, dream_progress *progress,
                    double work, GError **error)
{
  g_return_val_if_fail (net && s && x && t && context && out && pool, FALSE);
  if (dream_pool_n_threads (pool) > s->work.n_threads)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "UNet state made for %d threads, pool has %d", s->work.n_threads,
                   dream_pool_n_threads (pool));
      return FALSE;
    }
  unet_run r = { .sd = { .work = &s->work, .pool = pool, .error = error, .batch = s->batch },
                 .net = net, .s = s, .x = x, .t = t, .context = context, .out = out };
  return unet_run_all (&r, progress, work);
}
