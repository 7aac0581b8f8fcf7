/* run_net.c — `dream run-net`: one network on tensors from a safetensors
 * file, for checking the engine against reference outputs.
 *
 *   dream run-net --model M.safetensors [--config C.yaml|C.json]
 *                 --net NET --in IN.safetensors --out OUT.safetensors
 *                 [--threads N] [--intermediates]
 *
 * Tensor names (as in ../shared/data/golden/<case>/README.txt):
 *   clip-text    tokens (n, 77) or (77), any float or int dtype
 *                -> last_hidden_ln (n, 77, d)         SD1 context
 *                   penultimate_hidden_ln (n, 77, d)  SD2 context
 *                   encode_text (n, e)                if the tower has a projection
 *                   [--intermediates: layer{i} (n, 77, d), each block's output]
 *   clip-vision  image (n, 3, S, S) or (3, S, S), preprocessed
 *                -> encode_image (n, e)
 *                   [--intermediates: ln_pre (n, T, d), layer{i} (n, T, d),
 *                    ln_post (n, d)]
 * Outputs are F32; the file is written only when the whole run succeeded.
 *
 * Adding a network: write a `static gboolean run_X (const run_net_ctx *c,
 * GArray *outputs, GError **error)` that reads its inputs with
 * input_f32() / input_ids(), appends its results with add_output(), and
 * add one line to the nets[] table at the bottom. Nothing else changes.
 */
#include "commands.h"
#include "dream.h"
#include "models/clip.h"
#include "io/ldm_config.h"
#include "models/unet.h"
#include "models/vae.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *model_path;
  const char *config_path;     /* --config, or NULL */
  dream_st_file *model;        /* the opened model file */
  dream_st_file *in;           /* the input tensors */
  int n_threads;               /* 0 = all cores */
  gboolean intermediates;      /* --intermediates: also write inner outputs */
} run_net_ctx;

/* ---- helpers for the nets ---------------------------------------------- */

/* Appends an output; takes ownership of data (n floats, g_malloc'ed). */
static void
add_output (GArray *outputs, const char *name, int n_dims, const int64_t *shape,
            float *data)
{
  dream_st_out o = { .name = g_strdup (name), .n_dims = n_dims, .data = data };
  memcpy (o.shape, shape, sizeof (int64_t) * n_dims);
  g_array_append_val (outputs, o);
}

static void
free_outputs (GArray *outputs)
{
  for (guint i = 0; i < outputs->len; i++)
    {
      dream_st_out *o = &g_array_index (outputs, dream_st_out, i);
      g_free ((char *) o->name);
      g_free ((float *) o->data);
    }
  g_array_free (outputs, TRUE);
}

static const dream_st_tensor *
input_tensor (const run_net_ctx *c, const char *name, int min_dims, int max_dims,
              GError **error)
{
  const dream_st_tensor *t = dream_st_find (c->in, name);
  if (!t)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                 "input file has no tensor \"%s\"", name);
  else if (t->n_dims < min_dims || t->n_dims > max_dims)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "input \"%s\" has %d dimensions, expected %d..%d", name, t->n_dims,
                   min_dims, max_dims);
      t = NULL;
    }
  return t;
}

/* A floating input as a new float array; its shape in *t_out. */
static float *
input_f32 (const run_net_ctx *c, const char *name, int min_dims, int max_dims,
           const dream_st_tensor **t_out, GError **error)
{
  const dream_st_tensor *t = input_tensor (c, name, min_dims, max_dims, error);
  if (!t)
    return NULL;
  float *v = dream_alloc ((size_t) t->n_elements, sizeof (float), name, error);
  if (v && !dream_st_to_f32 (t, v, t->n_elements, error))
    g_clear_pointer (&v, g_free);
  *t_out = t;
  return v;
}

/* Token ids from a float (integral values) or integer tensor. */
static gint32 *
input_ids (const run_net_ctx *c, const char *name, int min_dims, int max_dims,
           const dream_st_tensor **t_out, GError **error)
{
  const dream_st_tensor *t = input_tensor (c, name, min_dims, max_dims, error);
  if (!t)
    return NULL;
  *t_out = t;
  gint32 *ids = g_new (gint32, MAX (t->n_elements, 1));
  const guint8 *p = t->data;
  for (int64_t i = 0; i < t->n_elements; i++)
    {
      gint64 v;
      switch (t->dtype)
        {
        case DREAM_DTYPE_I64: { gint64 x; memcpy (&x, p + 8 * i, 8); v = x; break; }
        case DREAM_DTYPE_I32: { gint32 x; memcpy (&x, p + 4 * i, 4); v = x; break; }
        case DREAM_DTYPE_I16: { gint16 x; memcpy (&x, p + 2 * i, 2); v = x; break; }
        default:
          {
            float f;
            dream_st_tensor one = *t;
            one.n_dims = 1; one.shape[0] = 1; one.n_elements = 1;
            one.n_bytes = dream_dtype_size (t->dtype);
            one.data = p + one.n_bytes * i;
            if (!dream_st_to_f32 (&one, &f, 1, error))
              {
                g_free (ids);
                return NULL;
              }
            v = (gint64) f;
            if ((float) v != f)
              v = -1;
          }
        }
      if (v < 0 || v > G_MAXINT32)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "input \"%s\": element %" G_GINT64_FORMAT " is not a token id", name, i);
          g_free (ids);
          return NULL;
        }
      ids[i] = (gint32) v;
    }
  return ids;
}

static float *
new_f32 (size_t n, GError **error)
{
  return dream_alloc (MAX (n, 1), sizeof (float), "outputs", error);
}

/* ---- CLIP -------------------------------------------------------------- */

static gboolean
run_clip_text (const run_net_ctx *c, GArray *outputs, GError **error)
{
  dream_clip_hints hints;
  if (!dream_clip_hints_read (c->model, c->model_path, c->config_path, &hints, error))
    return FALSE;
  dream_clip_text *net = dream_clip_text_load (c->model, NULL, &hints, error);
  if (!net)
    return FALSE;
  const dream_st_tensor *t;
  gint32 *ids = input_ids (c, "tokens", 1, 2, &t, error);
  gboolean ok = FALSE;
  dream_pool *pool = NULL;
  dream_clip_text_state s = { 0 };
  float *last = NULL, *pen = NULL, *emb = NULL, *hidden = NULL;
  if (!ids)
    goto done;
  const int ctx = net->context, d = net->stack.width, L = net->stack.layers;
  const int e = net->embed_dim;
  if (t->shape[t->n_dims - 1] != ctx)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "tokens: rows of %d ids, the model's context is %d",
                   (int) t->shape[t->n_dims - 1], ctx);
      goto done;
    }
  const int n = t->n_dims == 2 ? (int) t->shape[0] : 1;
  const size_t rows = (size_t) n * ctx;
  pool = dream_pool_new (c->n_threads);
  if (n < 1 || !dream_clip_text_state_init (&s, net, n, dream_pool_n_threads (pool), error)
      || !(last = new_f32 (rows * d, error)) || !(pen = new_f32 (rows * d, error))
      || (e && !(emb = new_f32 ((size_t) n * e, error)))
      || (c->intermediates && !(hidden = new_f32 ((size_t) L * rows * d, error))))
    goto done;
  dream_clip_text_outputs o = {
    .last_hidden_ln = last, .penultimate_hidden_ln = pen, .embeds = emb,
    .hidden_states = hidden,
  };
  if (!dream_clip_text_forward (net, &s, ids, n, &o, pool, error))
    goto done;
  int64_t hs[3] = { n, ctx, d }, es[2] = { n, e };
  add_output (outputs, "last_hidden_ln", 3, hs, last);
  add_output (outputs, "penultimate_hidden_ln", 3, hs, pen);
  last = pen = NULL;
  if (emb)
    add_output (outputs, "encode_text", 2, es, emb);
  emb = NULL;
  for (int l = 0; hidden && l < L; l++)
    {
      char name[32];
      snprintf (name, sizeof name, "layer%d", l);
      add_output (outputs, name, 3, hs, g_memdup2 (hidden + (size_t) l * rows * d,
                                                   sizeof (float) * rows * d));
    }
  ok = TRUE;
done:
  g_free (ids); g_free (last); g_free (pen); g_free (emb); g_free (hidden);
  dream_clip_text_state_clear (&s);
  dream_pool_free (pool);
  dream_clip_text_free (net);
  return ok;
}

static gboolean
run_clip_vision (const run_net_ctx *c, GArray *outputs, GError **error)
{
  dream_clip_hints hints;
  if (!dream_clip_hints_read (c->model, c->model_path, c->config_path, &hints, error))
    return FALSE;
  dream_clip_vision *net = dream_clip_vision_load (c->model, NULL, &hints, error);
  if (!net)
    return FALSE;
  const dream_st_tensor *t;
  float *img = input_f32 (c, "image", 3, 4, &t, error);
  gboolean ok = FALSE;
  dream_pool *pool = NULL;
  dream_clip_vision_state s = { 0 };
  float *emb = NULL, *pre = NULL, *hidden = NULL, *post = NULL;
  if (!img)
    goto done;
  const int S = net->image_size, T = net->tokens, d = net->stack.width;
  const int L = net->stack.layers, e = net->embed_dim;
  const int64_t *sh = t->shape + (t->n_dims - 3);
  if (sh[0] != 3 || sh[1] != S || sh[2] != S)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "image: expected (n, 3, %d, %d), preprocessed", S, S);
      goto done;
    }
  if (!e)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "the vision tower has no projection");
      goto done;
    }
  const int n = t->n_dims == 4 ? (int) t->shape[0] : 1;
  const size_t rows = (size_t) n * T;
  pool = dream_pool_new (c->n_threads);
  if (n < 1 || !dream_clip_vision_state_init (&s, net, n, dream_pool_n_threads (pool), error)
      || !(emb = new_f32 ((size_t) n * e, error))
      || (c->intermediates && (!(pre = new_f32 (rows * d, error))
                               || !(hidden = new_f32 ((size_t) L * rows * d, error))
                               || !(post = new_f32 ((size_t) n * d, error)))))
    goto done;
  dream_clip_vision_outputs o = { .embeds = emb, .ln_pre = pre, .hidden_states = hidden,
                                  .pooled = post };
  if (!dream_clip_vision_forward (net, &s, img, n, &o, pool, error))
    goto done;
  int64_t es[2] = { n, e }, hs[3] = { n, T, d }, ps[2] = { n, d };
  add_output (outputs, "encode_image", 2, es, emb);
  emb = NULL;
  if (c->intermediates)
    {
      add_output (outputs, "ln_pre", 3, hs, pre);
      for (int l = 0; l < L; l++)
        {
          char name[32];
          snprintf (name, sizeof name, "layer%d", l);
          add_output (outputs, name, 3, hs, g_memdup2 (hidden + (size_t) l * rows * d,
                                                       sizeof (float) * rows * d));
        }
      add_output (outputs, "ln_post", 2, ps, post);
      pre = post = NULL;
    }
  ok = TRUE;
done:
  g_free (img); g_free (emb); g_free (pre); g_free (hidden); g_free (post);
  dream_clip_vision_state_clear (&s);
  dream_pool_free (pool);
  dream_clip_vision_free (net);
  return ok;
}

/* ---- Stable Diffusion UNet and VAE (NCHW in and out, like PyTorch) ------ */

/* n images (C, H, W) <-> (H, W, C) */
static float *
sd_to_nhwc (const float *x, int64_t n, int c, int hw)
{
  float *y = g_new (float, MAX ((size_t) n * c * hw, 1));
  for (int64_t i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < hw; p++)
        y[((size_t) i * hw + p) * c + ch] = x[((size_t) i * c + ch) * hw + p];
  return y;
}

static float *
sd_to_nchw (const float *x, int64_t n, int c, int hw)
{
  float *y = g_new (float, MAX ((size_t) n * c * hw, 1));
  for (int64_t i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < hw; p++)
        y[((size_t) i * c + ch) * hw + p] = x[((size_t) i * hw + p) * c + ch];
  return y;
}

typedef struct {
  GArray *outputs;
  const char *prefix;   /* "inter.", "enc.", "dec." */
} sd_probe_ctx;

/* --intermediates: each probed stage as prefix + name, NCHW */
static void
sd_probe (gpointer user, const char *name, const float *data, int batch, int h, int w, int c)
{
  sd_probe_ctx *p = user;
  char *key = g_strconcat (p->prefix, name, NULL);
  int64_t shape[4] = { batch, c, h, w };
  add_output (p->outputs, key, h * w > 1 ? 4 : 2, h * w > 1 ? shape : (int64_t[]) { batch, c },
              sd_to_nchw (data, batch, c, h * w));
  g_free (key);
}

static gboolean
run_unet (const run_net_ctx *c, GArray *outputs, GError **error)
{
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  dream_unet *net = NULL;
  dream_pool *pool = NULL;
  dream_unet_state s = { 0 };
  const dream_st_tensor *tx, *tt, *tc;
  float *x = NULL, *t = NULL, *ctx = NULL, *xh = NULL, *out = NULL;
  gboolean ok = FALSE;
  if (!dream_ldm_config_for_model (&cfg, c->model, c->model_path, c->config_path, error)
      || !(net = dream_unet_load (c->model, &cfg, error))
      || !(x = input_f32 (c, "x", 4, 4, &tx, error))
      || !(t = input_f32 (c, "timesteps", 0, 1, &tt, error))
      || !(ctx = input_f32 (c, "context", 3, 3, &tc, error)))
    goto done;
  const int B = (int) tx->shape[0], C = (int) tx->shape[1], h = (int) tx->shape[2];
  const int w = (int) tx->shape[3];
  if (C != net->in_channels || tt->n_elements != B || tc->shape[0] != B
      || tc->shape[2] != net->context_dim)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "unet: needs x (B, %d, h, w), timesteps (B), context (B, n, %d)",
                   net->in_channels, net->context_dim);
      goto done;
    }
  pool = dream_pool_new (c->n_threads);
  if (!dream_unet_state_init (&s, net, B, h, w, (int) tc->shape[1], dream_pool_n_threads (pool),
                              error))
    goto done;
  sd_probe_ctx pc = { outputs, "inter." };
  if (c->intermediates)
    dream_unet_state_set_probe (&s, sd_probe, &pc);
  xh = sd_to_nhwc (x, B, C, h * w);
  out = g_new (float, (size_t) B * h * w * net->out_channels);
  if (!dream_unet_forward (net, &s, xh, t, ctx, out, pool, NULL, 0.0, error))
    goto done;
  add_output (outputs, "out", 4, (int64_t[]) { B, net->out_channels, h, w },
              sd_to_nchw (out, B, net->out_channels, h * w));
  ok = TRUE;
done:
  dream_unet_state_clear (&s);
  dream_pool_free (pool);
  dream_unet_free (net);
  dream_ldm_config_clear (&cfg);
  g_free (x); g_free (t); g_free (ctx); g_free (xh); g_free (out);
  return ok;
}

static gboolean
run_vae (const run_net_ctx *c, GArray *outputs, dream_vae_direction dir, GError **error)
{
  dream_vae *vae = dream_vae_load (c->model, error);
  dream_pool *pool = NULL;
  dream_vae_state s = { 0 };
  const dream_st_tensor *ti;
  float *in = NULL, *inh = NULL, *a = NULL, *b = NULL;
  gboolean ok = FALSE, enc = dir == DREAM_VAE_ENCODE;
  if (!vae || !(in = input_f32 (c, enc ? "image" : "z", 4, 4, &ti, error)))
    goto done;
  const int B = (int) ti->shape[0], C = (int) ti->shape[1], H = (int) ti->shape[2];
  const int W = (int) ti->shape[3], f = vae->factor, e = vae->embed_dim;
  if (C != (enc ? vae->image_channels : e) || (enc && (H % f || W % f)))
    {
      if (enc)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "vae-encoder: needs image (B, %d, H, W), sides multiples of %d",
                     vae->image_channels, f);
      else
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "vae-decoder: needs z (B, %d, h, w)", e);
      goto done;
    }
  const int h = enc ? H / f : H, w = enc ? W / f : W;
  pool = dream_pool_new (c->n_threads);
  if (!dream_vae_state_init (&s, vae, dir, B, h, w, dream_pool_n_threads (pool), error))
    goto done;
  sd_probe_ctx pc = { outputs, enc ? "enc." : "dec." };
  if (c->intermediates)
    dream_vae_state_set_probe (&s, sd_probe, &pc);
  inh = sd_to_nhwc (in, B, C, H * W);
  if (enc)
    {
      a = g_new (float, (size_t) B * h * w * e);
      b = g_new (float, (size_t) B * h * w * e);
      if (!dream_vae_encode (vae, &s, inh, a, b, NULL, pool, NULL, 0.0, error))
        goto done;
      add_output (outputs, "mean", 4, (int64_t[]) { B, e, h, w }, sd_to_nchw (a, B, e, h * w));
      add_output (outputs, "logvar", 4, (int64_t[]) { B, e, h, w }, sd_to_nchw (b, B, e, h * w));
    }
  else
    {
      const int ic = vae->image_channels;
      a = g_new (float, (size_t) B * h * w * f * f * ic);
      if (!dream_vae_decode (vae, &s, inh, a, pool, NULL, 0.0, error))
        goto done;
      add_output (outputs, "decoded", 4, (int64_t[]) { B, ic, h * f, w * f },
                  sd_to_nchw (a, B, ic, h * w * f * f));
    }
  ok = TRUE;
done:
  dream_vae_state_clear (&s);
  dream_pool_free (pool);
  dream_vae_free (vae);
  g_free (in); g_free (inh); g_free (a); g_free (b);
  return ok;
}

static gboolean
run_vae_encoder (const run_net_ctx *c, GArray *outputs, GError **error)
{
  return run_vae (c, outputs, DREAM_VAE_ENCODE, error);
}

static gboolean
run_vae_decoder (const run_net_ctx *c, GArray *outputs, GError **error)
{
  return run_vae (c, outputs, DREAM_VAE_DECODE, error);
}

/* ---- the command ------------------------------------------------------- */

typedef struct {
  const char *name;
  gboolean (*run) (const run_net_ctx *c, GArray *outputs, GError **error);
  const char *help;
} net_entry;

static const net_entry nets[] = {
  { "clip-text", run_clip_text, "tokens -> last_hidden_ln, penultimate_hidden_ln, encode_text" },
  { "clip-vision", run_clip_vision, "image -> encode_image" },
  { "unet", run_unet, "x, timesteps, context -> out (SD UNet; --intermediates: inter.*)" },
  { "vae-encoder", run_vae_encoder, "image -> mean, logvar (SD VAE)" },
  { "vae-decoder", run_vae_decoder, "z -> decoded (SD VAE)" },
};

int
cmd_run_net (int argc, char **argv)
{
  char *model = NULL, *config = NULL, *net = NULL, *in = NULL, *out = NULL;
  int threads = 0;
  gboolean intermediates = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (safetensors)", "M" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Config (.yaml or .json) for what the weights do not tell", "C" },
    { "net", 'n', 0, G_OPTION_ARG_STRING, &net, "Network to run (see below)", "NET" },
    { "in", 'i', 0, G_OPTION_ARG_FILENAME, &in, "Input tensors (safetensors)", "IN" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output tensors (safetensors, F32)", "OUT" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "intermediates", 0, 0, G_OPTION_ARG_NONE, &intermediates, "Also write inner outputs (layer0, ...)", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("— run one network on tensors from a file (developer)");
  GString *desc = g_string_new ("Networks:\n");
  for (size_t i = 0; i < G_N_ELEMENTS (nets); i++)
    g_string_append_printf (desc, "  %-12s %s\n", nets[i].name, nets[i].help);
  g_option_context_set_description (ctx, desc->str);
  g_string_free (desc, TRUE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 1;
  run_net_ctx c = { 0 };
  GArray *outputs = g_array_new (FALSE, TRUE, sizeof (dream_st_out));
  const net_entry *entry = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 1
      || !model || !net || !in || !out)
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream run-net --model M --net NET --in IN.safetensors --out OUT.safetensors");
      g_clear_error (&error);
      status = 2;
      goto out;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (nets); i++)
    if (!strcmp (net, nets[i].name))
      entry = &nets[i];
  if (!entry)
    {
      g_printerr ("dream run-net: unknown --net '%s' (", net);
      for (size_t i = 0; i < G_N_ELEMENTS (nets); i++)
        g_printerr ("%s%s", i ? ", " : "", nets[i].name);
      g_printerr (")\n");
      status = 2;
      goto out;
    }
  c.model_path = model;
  c.config_path = config;
  c.n_threads = threads;
  c.intermediates = intermediates;
  if (!(c.model = dream_st_open (model, &error)) || !(c.in = dream_st_open (in, &error)))
    goto out;
  if (!entry->run (&c, outputs, &error))
    goto out;
  if (!dream_st_write (out, (const dream_st_out *) outputs->data, (int) outputs->len,
                       NULL, &error))
    goto out;
  status = 0;

out:
  if (error)
    g_printerr ("dream run-net: %s\n", error->message);
  g_clear_error (&error);
  free_outputs (outputs);
  dream_st_close (c.model);
  dream_st_close (c.in);
  g_free (model); g_free (config); g_free (net); g_free (in); g_free (out);
  g_option_context_free (ctx);
  return status;
}
