/* clip_text.c — CLIP's residual attention blocks and text tower (see
 * clip_text.h).
 *
 * One block on the residual stream x (N = n_seq · seq rows, d):
 *
 *   h   (N, d)  = ln_1 (x)
 *   big (N, 3d) = h · W_qkvᵀ + b           (HF: q, k, v into column blocks)
 *   h   (N, d)  = attention (big[:, 0:d], big[:, d:2d], big[:, 2d:3d])
 *   x          += h · W_outᵀ + b_out
 *   h   (N, d)  = ln_2 (x)
 *   big (N, f)  = act (h · W_fcᵀ + b_fc)
 *   x          += big · W_projᵀ + b_proj
 */
#include "models/clip_text.h"

#include <string.h>

/* ---- tensors ----------------------------------------------------------- */

const dream_st_tensor *
dream_clip_find (const dream_st_file *file, const char *prefix, const char *name)
{
  char *full = g_strconcat (prefix, name, NULL);
  const dream_st_tensor *t = dream_st_find (file, full);
  g_free (full);
  return t;
}

static const dream_st_tensor *
expect (const dream_st_file *file, const char *prefix, const char *name,
        int n_dims, const int64_t *shape, GError **error)
{
  char *full = g_strconcat (prefix, name, NULL);
  const dream_st_tensor *t = dream_st_expect (file, full, n_dims, shape, error);
  g_free (full);
  return t;
}

float *
dream_clip_load_vector (const dream_st_file *file, const char *prefix,
                        const char *name, int n_dims, const int64_t *shape,
                        GError **error)
{
  const dream_st_tensor *t = expect (file, prefix, name, n_dims, shape, error);
  if (!t)
    return NULL;
  float *v = dream_alloc ((size_t) t->n_elements, sizeof (float), name, error);
  if (v && !dream_st_to_f32 (t, v, t->n_elements, error))
    g_clear_pointer (&v, g_free);
  return v;
}

/* ---- the stack of blocks ----------------------------------------------- */

typedef struct {
  const float *ln1_w, *ln1_b, *qkv_w[3], *qkv_b[3], *out_w, *out_b;
  const float *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} block_f32;

static int
block_tensors (const dream_clip_block *b, const dream_st_tensor **t)
{
  const dream_st_tensor *all[] = {
    b->ln1_w, b->ln1_b, b->qkv_w[0], b->qkv_w[1], b->qkv_w[2],
    b->qkv_b[0], b->qkv_b[1], b->qkv_b[2], b->out_w, b->out_b,
    b->ln2_w, b->ln2_b, b->fc1_w, b->fc1_b, b->fc2_w, b->fc2_b,
  };
  memcpy (t, all, sizeof all);
  return G_N_ELEMENTS (all);
}

/* Pointers to one block's weights: into the mapping, or widened into
 * wbuf. */
static gboolean
block_weights (const dream_clip_block *b, float *wbuf, block_f32 *w,
               GError **error)
{
  const dream_st_tensor *t[16];
  const float **dst[16] = {
    &w->ln1_w, &w->ln1_b, &w->qkv_w[0], &w->qkv_w[1], &w->qkv_w[2],
    &w->qkv_b[0], &w->qkv_b[1], &w->qkv_b[2], &w->out_w, &w->out_b,
    &w->ln2_w, &w->ln2_b, &w->fc1_w, &w->fc1_b, &w->fc2_w, &w->fc2_b,
  };
  int n = block_tensors (b, t);
  size_t off = 0;
  for (int i = 0; i < n; i++)
    {
      *dst[i] = NULL;
      if (!t[i])
        continue;
      float *buf = NULL;
      if (dream_weight_needs_copy (t[i]))
        {
          buf = wbuf + off;
          off += (size_t) t[i]->n_elements;
        }
      if (!(*dst[i] = dream_weight_f32 (t[i], buf, error)))
        return FALSE;
    }
  return TRUE;
}

static const char *const openai_names[] = {
  "ln_1.weight", "ln_1.bias", "attn.in_proj_weight", NULL, NULL,
  "attn.in_proj_bias", NULL, NULL, "attn.out_proj.weight", "attn.out_proj.bias",
  "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
  "mlp.c_proj.weight", "mlp.c_proj.bias",
};
static const char *const hf_names[] = {
  "layer_norm1.weight", "layer_norm1.bias", "self_attn.q_proj.weight",
  "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.q_proj.bias",
  "self_attn.k_proj.bias", "self_attn.v_proj.bias", "self_attn.out_proj.weight",
  "self_attn.out_proj.bias", "layer_norm2.weight", "layer_norm2.bias",
  "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
};

gboolean
dream_clip_stack_load (dream_clip_stack *st, const dream_st_file *file,
                       dream_clip_layout layout, const char *prefix,
                       int width, int heads, dream_nn_act act, float ln_eps,
                       GError **error)
{
  *st = (dream_clip_stack) { 0 };
  const char *const *names = layout == DREAM_CLIP_LAYOUT_HF ? hf_names : openai_names;
  const int64_t d = width;
  int n = 0;
  for (;; n++)
    {
      char *p = g_strdup_printf ("%s%d.%s", prefix, n, names[0]);
      gboolean found = dream_st_find (file, p) != NULL;
      g_free (p);
      if (!found || n > 1024)
        break;
    }
  if (n == 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "no transformer blocks found (%s0.%s)", prefix, names[0]);
      return FALSE;
    }
  if (heads < 1 || width % heads != 0)
    {
      char *what = heads < 1 ? g_strdup_printf ("cannot tell the attention head count of width %d",
                                                width)
                             : g_strdup_printf ("%d attention heads do not divide the width %d",
                                                heads, width);
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s (%s); give the head count in the file's metadata or in "
                   "NAME.json beside NAME.safetensors", what, prefix);
      g_free (what);
      return FALSE;
    }
  char *fc1 = g_strdup_printf ("%s0.%s", prefix, names[12]);
  const dream_st_tensor *t0 = dream_st_find (file, fc1);
  g_free (fc1);
  int64_t f = t0 && t0->n_dims == 2 ? t0->shape[0] : 4 * d;

  st->width = width;
  st->layers = n;
  st->heads = heads;
  st->mlp = (int) f;
  st->act = act;
  st->ln_eps = ln_eps;
  st->blocks = g_new0 (dream_clip_block, n);
  typedef struct { int n; int64_t s[2]; } shape;
  const shape vd = { 1, { d } }, v3d = { 1, { 3 * d } }, vf = { 1, { f } };
  const shape mdd = { 2, { d, d } }, m3dd = { 2, { 3 * d, d } };
  const shape mfd = { 2, { f, d } }, mdf = { 2, { d, f } };
  gboolean hf = layout == DREAM_CLIP_LAYOUT_HF;
  const shape *shapes[16] = {
    &vd, &vd, hf ? &mdd : &m3dd, &mdd, &mdd, hf ? &vd : &v3d, &vd, &vd,
    &mdd, &vd, &vd, &vd, &mfd, &vf, &mdf, &vd,
  };
  for (int i = 0; i < n; i++)
    {
      dream_clip_block *b = &st->blocks[i];
      const dream_st_tensor **slot[16] = {
        &b->ln1_w, &b->ln1_b, &b->qkv_w[0], &b->qkv_w[1], &b->qkv_w[2],
        &b->qkv_b[0], &b->qkv_b[1], &b->qkv_b[2], &b->out_w, &b->out_b,
        &b->ln2_w, &b->ln2_b, &b->fc1_w, &b->fc1_b, &b->fc2_w, &b->fc2_b,
      };
      char *pre = g_strdup_printf ("%s%d.", prefix, i);
      for (int k = 0; k < 16; k++)
        {
          if (!names[k])
            continue;
          *slot[k] = expect (file, pre, names[k], shapes[k]->n, shapes[k]->s, error);
          if (!*slot[k])
            {
              g_free (pre);
              dream_clip_stack_clear (st);
              return FALSE;
            }
        }
      g_free (pre);
      const dream_st_tensor *t[16];
      int nt = block_tensors (b, t);
      size_t widen = 0;
      for (int k = 0; k < nt; k++)
        if (t[k] && dream_weight_needs_copy (t[k]))
          widen += (size_t) t[k]->n_elements;
      st->widen_floats = MAX (st->widen_floats, widen);
    }
  return TRUE;
}

void
dream_clip_stack_clear (dream_clip_stack *st)
{
  g_clear_pointer (&st->blocks, g_free);
}

gboolean
dream_clip_stack_state_init (dream_clip_stack_state *s, const dream_clip_stack *st,
                             int max_rows, int max_seq, int n_threads,
                             GError **error)
{
  *s = (dream_clip_stack_state) { .max_rows = max_rows, .max_seq = max_seq };
  size_t d = st->width, big = MAX (3 * d, (size_t) st->mlp);
  size_t attn = dream_attention_scratch_size (max_seq, max_seq) * MAX (n_threads, 1);
  if (!(s->h = dream_alloc ((size_t) max_rows * d, sizeof (float), "CLIP activations", error))
      || !(s->big = dream_alloc ((size_t) max_rows * big, sizeof (float), "CLIP activations", error))
      || !(s->attn_scratch = dream_alloc (attn, sizeof (float), "CLIP attention", error))
      || !(s->wbuf = dream_alloc (st->widen_floats, sizeof (float), "CLIP weights", error)))
    {
      dream_clip_stack_state_clear (s);
      return FALSE;
    }
  return TRUE;
}

void
dream_clip_stack_state_clear (dream_clip_stack_state *s)
{
  g_clear_pointer (&s->h, g_free);
  g_clear_pointer (&s->big, g_free);
  g_clear_pointer (&s->attn_scratch, g_free);
  g_clear_pointer (&s->wbuf, g_free);
}

gboolean
dream_clip_stack_run (const dream_clip_stack *st, dream_clip_stack_state *s,
                      float *x, int n_seq, int seq, gboolean causal, int first,
                      int last, dream_pool *pool, GError **error)
{
  const int d = st->width, f = st->mlp, rows = n_seq * seq;
  g_return_val_if_fail (rows <= s->max_rows && seq <= s->max_seq, FALSE);
  for (int i = first; i < last; i++)
    {
      block_f32 w;
      if (!block_weights (&st->blocks[i], s->wbuf, &w, error))
        return FALSE;

      dream_layer_norm (x, rows, d, d, w.ln1_w, w.ln1_b, st->ln_eps, s->h, d, pool);
      if (w.qkv_w[1])
        for (int k = 0; k < 3; k++)
          {
            dream_linear_w l = { d, d, w.qkv_w[k], w.qkv_b[k] };
            dream_linear (&l, s->h, rows, d, s->big + k * d, 3 * d,
                          DREAM_NN_ACT_NONE, FALSE, pool);
          }
      else
        {
          dream_linear_w l = { d, 3 * d, w.qkv_w[0], w.qkv_b[0] };
          dream_linear (&l, s->h, rows, d, s->big, 3 * d, DREAM_NN_ACT_NONE, FALSE, pool);
        }
      dream_attention_args a = {
        .batch = n_seq, .n_q = seq, .n_k = seq, .heads = st->heads,
        .d = d / st->heads, .causal = causal,
        .q = s->big, .ldq = 3 * d, .k = s->big + d, .ldk = 3 * d,
        .v = s->big + 2 * d, .ldv = 3 * d, .out = s->h, .ldo = d,
      };
      dream_attention (&a, pool, s->attn_scratch);
      dream_linear_w out = { d, d, w.out_w, w.out_b };
      dream_linear (&out, s->h, rows, d, x, d, DREAM_NN_ACT_NONE, TRUE, pool);

      dream_layer_norm (x, rows, d, d, w.ln2_w, w.ln2_b, st->ln_eps, s->h, d, pool);
      dream_linear_w fc = { d, f, w.fc1_w, w.fc1_b };
      dream_linear (&fc, s->h, rows, d, s->big, f, st->act, FALSE, pool);
      dream_linear_w proj = { f, d, w.fc2_w, w.fc2_b };
      dream_linear (&proj, s->big, rows, f, x, d, DREAM_NN_ACT_NONE, TRUE, pool);
    }
  return TRUE;
}

/* ---- the text tower ---------------------------------------------------- */

static const char OPENAI_EMB[] = "token_embedding.weight";
static const char HF_EMB[] = "embeddings.token_embedding.weight";

/* The shortest prefix under which a text tower's token embedding sits. */
static char *
find_text_prefix (const dream_st_file *file, dream_clip_layout *layout)
{
  char *best = NULL;
  for (int i = 0; i < dream_st_count (file); i++)
    {
      const char *name = dream_st_get (file, i)->name;
      dream_clip_layout l;
      size_t cut;
      if (g_str_has_suffix (name, HF_EMB))
        {
          l = DREAM_CLIP_LAYOUT_HF;
          cut = strlen (HF_EMB);
        }
      else if (g_str_has_suffix (name, OPENAI_EMB))
        {
          l = DREAM_CLIP_LAYOUT_OPENAI;
          cut = strlen (OPENAI_EMB);
        }
      else
        continue;
      size_t len = strlen (name) - cut;
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
dream_clip_text_free (dream_clip_text *net)
{
  if (!net)
    return;
  dream_clip_stack_clear (&net->stack);
  g_free (net->positional);
  g_free (net->ln_final_w);
  g_free (net->ln_final_b);
  g_free (net->projection);
  g_free (net->prefix);
  g_free (net);
}

dream_clip_text *
dream_clip_text_load (const dream_st_file *file, const char *prefix,
                      const dream_clip_hints *hints, GError **error)
{
  dream_clip_layout layout = DREAM_CLIP_LAYOUT_OPENAI;
  char *pre = NULL;
  if (prefix)
    {
      pre = g_strdup (prefix);
      layout = dream_clip_find (file, pre, HF_EMB) ? DREAM_CLIP_LAYOUT_HF
                                                   : DREAM_CLIP_LAYOUT_OPENAI;
    }
  else
    pre = find_text_prefix (file, &layout);
  const dream_st_tensor *emb = pre
    ? dream_clip_find (file, pre, layout == DREAM_CLIP_LAYOUT_HF ? HF_EMB : OPENAI_EMB)
    : NULL;
  if (!emb)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "no CLIP text tower (no %s%s)", prefix ? prefix : "", OPENAI_EMB);
      g_free (pre);
      return NULL;
    }
  if (emb->n_dims != 2 || emb->shape[0] < 1 || emb->shape[1] < 1
      || emb->shape[1] > 65536 || emb->shape[0] > G_MAXINT)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s%s: expected (vocabulary, width)", pre,
                   layout == DREAM_CLIP_LAYOUT_HF ? HF_EMB : OPENAI_EMB);
      g_free (pre);
      return NULL;
    }

  dream_clip_text *net = g_new0 (dream_clip_text, 1);
  net->layout = layout;
  net->prefix = pre;
  net->token_embedding = emb;
  net->vocab = (int) emb->shape[0];
  const int64_t d = emb->shape[1];
  gboolean hf = layout == DREAM_CLIP_LAYOUT_HF;
  const dream_st_tensor *pos = dream_clip_find (file, pre, hf ? "embeddings.position_embedding.weight"
                                                            : "positional_embedding");
  if (!pos || pos->n_dims != 2 || pos->shape[1] != d || pos->shape[0] < 2 || pos->shape[0] > 4096)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: missing or misshapen positional embedding (context, %d)",
                   pre, (int) d);
      goto fail;
    }
  net->context = (int) pos->shape[0];
  int64_t pshape[2] = { net->context, d }, vshape[1] = { d };
  const char *lnf = hf ? "final_layer_norm." : "ln_final.";
  char *lnw = g_strconcat (lnf, "weight", NULL), *lnb = g_strconcat (lnf, "bias", NULL);
  net->positional = dream_clip_load_vector (file, pre, hf ? "embeddings.position_embedding.weight"
                                            : "positional_embedding", 2, pshape, error);
  net->ln_final_w = net->positional ? dream_clip_load_vector (file, pre, lnw, 1, vshape, error) : NULL;
  net->ln_final_b = net->ln_final_w ? dream_clip_load_vector (file, pre, lnb, 1, vshape, error) : NULL;
  g_free (lnw);
  g_free (lnb);
  if (!net->ln_final_b)
    goto fail;

  /* projection: OpenAI (d, e) next to the tower; HF Linear (e, d) next to
   * text_model. */
  if (hf)
    {
      char *outer = g_str_has_suffix (pre, "text_model.")
        ? g_strndup (pre, strlen (pre) - strlen ("text_model.")) : g_strdup (pre);
      const dream_st_tensor *p = dream_clip_find (file, outer, "text_projection.weight");
      if (p && p->n_dims == 2 && p->shape[1] == d)
        {
          int64_t s[2] = { p->shape[0], d };
          net->embed_dim = (int) p->shape[0];
          net->projection = dream_clip_load_vector (file, outer, "text_projection.weight", 2, s, error);
        }
      g_free (outer);
    }
  else
    {
      const dream_st_tensor *p = dream_clip_find (file, pre, "text_projection");
      if (p && p->n_dims == 2 && p->shape[0] == d)
        {
          int64_t s[2] = { d, p->shape[1] };
          net->embed_dim = (int) p->shape[1];
          net->projection = dream_clip_load_vector (file, pre, "text_projection", 2, s, error);
        }
    }
  if (net->embed_dim && !net->projection)
    goto fail;

  int heads = hints && hints->text_heads > 0 ? hints->text_heads : (int) (d / 64);
  dream_nn_act act = DREAM_NN_ACT_QUICK_GELU;
  if (hints && hints->act >= 0)
    act = hints->act;
  else if (!hf && (strstr (pre, "cond_stage_model.model.") || strstr (pre, "conditioner.")))
    act = DREAM_NN_ACT_GELU;     /* OpenCLIP ViT-H in SD2 */
  float eps = hints && hints->ln_eps > 0.0f ? hints->ln_eps : 1e-5f;
  char *blocks = g_strconcat (pre, hf ? "encoder.layers." : "transformer.resblocks.", NULL);
  gboolean ok = dream_clip_stack_load (&net->stack, file, layout, blocks, (int) d,
                                       heads, act, eps, error);
  g_free (blocks);
  if (!ok)
    goto fail;
  return net;

fail:
  dream_clip_text_free (net);
  return NULL;
}

gboolean
dream_clip_text_state_init (dream_clip_text_state *s, const dream_clip_text *net,
                            int max_seqs, int n_threads, GError **error)
{
  *s = (dream_clip_text_state) { .max_seqs = max_seqs };
  size_t rows = (size_t) max_seqs * net->context, d = net->stack.width;
  if (!dream_clip_stack_state_init (&s->stack, &net->stack, (int) rows, net->context,
                                    n_threads, error)
      || !(s->x = dream_alloc (rows * d, sizeof (float), "CLIP text", error))
      || !(s->pooled = dream_alloc ((size_t) max_seqs * d, sizeof (float), "CLIP text", error)))
    {
      dream_clip_text_state_clear (s);
      return FALSE;
    }
  return TRUE;
}

void
dream_clip_text_state_clear (dream_clip_text_state *s)
{
  dream_clip_stack_state_clear (&s->stack);
  g_clear_pointer (&s->x, g_free);
  g_clear_pointer (&s->pooled, g_free);
}

gboolean
dream_clip_text_forward (const dream_clip_text *net, dream_clip_text_state *s,
                         const gint32 *tokens, int n,
                         const dream_clip_text_outputs *out,
                         dream_pool *pool, GError **error)
{
  const int ctx = net->context, d = net->stack.width, L = net->stack.layers;
  if (n < 1 || n > s->max_seqs)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP text: %d sequences, the state holds 1..%d", n, s->max_seqs);
      return FALSE;
    }
  if (out->embeds && !net->projection)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "CLIP text tower %s has no text projection: no embeddings", net->prefix);
      return FALSE;
    }
  int *eot = g_new (int, n), max_eot = 0;
  for (int b = 0; b < n; b++)
    {
      eot[b] = 0;
      for (int t = 0; t < ctx; t++)
        {
          gint32 id = tokens[(size_t) b * ctx + t];
          if (id < 0 || id >= net->vocab)
            {
              g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                           "CLIP text: token id %d outside the vocabulary (0..%d)",
                           id, net->vocab - 1);
              g_free (eot);
              return FALSE;
            }
          if (id > tokens[(size_t) b * ctx + eot[b]])
            eot[b] = t;
        }
      max_eot = MAX (max_eot, eot[b]);
    }

  gboolean full = out->last_hidden_ln || out->penultimate_hidden_ln || out->hidden_states;
  int seq = full ? ctx : max_eot + 1;
  int run = L;
  if (!out->last_hidden_ln && !out->embeds && !out->hidden_states)
    run = L - 1;     /* only the penultimate context */

  /* x (n, seq, d) = token_embedding[ids] + positional */
  for (int b = 0; b < n; b++)
    for (int t = 0; t < seq; t++)
      {
        float *xr = s->x + ((size_t) b * seq + t) * d;
        if (!dream_weight_rows_f32 (net->token_embedding, tokens[(size_t) b * ctx + t], 1, xr, error))
          {
            g_free (eot);
            return FALSE;
          }
        for (int c = 0; c < d; c++)
          xr[c] += net->positional[(size_t) t * d + c];
      }

  const size_t rows = (size_t) n * seq;
  const float eps = net->stack.ln_eps;
  for (int l = 0; l <= run; l++)
    {
      if (l == L - 1 && out->penultimate_hidden_ln)
        dream_layer_norm (s->x, (int) rows, d, d, net->ln_final_w, net->ln_final_b, eps,
                          out->penultimate_hidden_ln, d, pool);
      if (l == run)
        break;
      if (!dream_clip_stack_run (&net->stack, &s->stack, s->x, n, seq, TRUE, l, l + 1,
                                 pool, error))
        {
          g_free (eot);
          return FALSE;
        }
      if (out->hidden_states)
        memcpy (out->hidden_states + (size_t) l * rows * d, s->x, sizeof (float) * rows * d);
    }
  if (out->last_hidden_ln)
    dream_layer_norm (s->x, (int) rows, d, d, net->ln_final_w, net->ln_final_b, eps,
                      out->last_hidden_ln, d, pool);
  if (out->embeds)
    {
      for (int b = 0; b < n; b++)
        dream_layer_norm (s->x + ((size_t) b * seq + eot[b]) * d, 1, d, d,
                          net->ln_final_w, net->ln_final_b, eps,
                          s->pooled + (size_t) b * d, d, NULL);
      const int e = net->embed_dim;
      if (net->layout == DREAM_CLIP_LAYOUT_HF)
        dream_gemm_bt (n, e, d, 1.0f, s->pooled, d, net->projection, d, 0.0f, out->embeds, e);
      else
        dream_gemm (n, e, d, 1.0f, s->pooled, d, net->projection, e, 0.0f, out->embeds, e);
    }
  g_free (eot);
  return TRUE;
}
