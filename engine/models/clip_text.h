/* clip_text.h — the CLIP text transformer (and the residual attention
 * block it shares with the vision tower).
 *
 *   x (n, ctx, d) = token_embedding[ids] + positional_embedding
 *   L × block:  x += attn (ln_1 (x)) (causal mask);  x += mlp (ln_2 (x))
 *               mlp = c_proj (act (c_fc (·))), act QuickGELU (OpenAI
 *               CLIP, SD1's ViT-L/14) or exact GELU (OpenCLIP, SD2's
 *               ViT-H/14)
 *   last_hidden_ln        = ln_final (x after L blocks)       SD1 context
 *   penultimate_hidden_ln = ln_final (x after L − 1 blocks)   SD2 context
 *   embeds = ln_final (x)[argmax ids] · text_projection       CLIP scoring
 *
 * (argmax ids: the first <|endoftext|>, the highest id, whichever padding
 * follows it.) Note that a diffusers SD2 text_encoder has 23 layers (the
 * last one already dropped): its SD2 context is last_hidden_ln.
 *
 * Checkpoint layouts, found under any prefix by their tensor names:
 *   OpenAI / OpenCLIP  P token_embedding.weight (vocab, d),
 *       P positional_embedding (ctx, d), P transformer.resblocks.{i}.
 *       {ln_1, ln_2}.{weight, bias} (d), attn.in_proj_weight (3d, d),
 *       attn.in_proj_bias (3d), attn.out_proj.{weight (d, d), bias (d)},
 *       mlp.c_fc.{weight (f, d), bias (f)}, mlp.c_proj.{weight (d, f),
 *       bias (d)}; P ln_final.{weight, bias}; P text_projection (d, e)
 *       [x · P]. P = "" (OpenAI .pt converted, open_clip), or
 *       "cond_stage_model.model." (SD2 single file).
 *   HF transformers  P = <outer>text_model.: P embeddings.
 *       {token_embedding, position_embedding}.weight, P encoder.layers.{i}.
 *       {layer_norm1, layer_norm2}, self_attn.{q,k,v,out}_proj (d, d) + (d),
 *       mlp.{fc1, fc2}; P final_layer_norm; <outer>text_projection.weight
 *       (e, d) [x · Wᵀ], absent in a bare CLIPTextModel. <outer> = ""
 *       (CLIPModel, diffusers text_encoder) or "cond_stage_model.transformer."
 *       (SD1 single file).
 * Weights stay in the mapping (F32) or are widened per layer at run time
 * (F16, BF16), one layer at a time into the state's buffer.
 *
 * Sizes come from the tensor shapes. The head count is not in the
 * weights: it comes from dream_clip_hints (metadata, config.json; see
 * clip.h), else width / 64 (right for every OpenAI and OpenCLIP text
 * tower).
 */
#ifndef DREAM_CLIP_TEXT_H
#define DREAM_CLIP_TEXT_H

#include "core/core.h"
#include "io/safetensors.h"
#include "ops/nn.h"

/* What the weights cannot tell; 0 / -1 = not given. */
typedef struct {
  int text_heads;
  int vision_heads;
  int act;            /* dream_nn_act of the text tower (and of the vision
                         tower unless vision_act is given), or -1 */
  int vision_act;     /* dream_nn_act, or -1 */
  float ln_eps;       /* 0 = 1e-5 */
} dream_clip_hints;

typedef enum {
  DREAM_CLIP_LAYOUT_OPENAI,   /* also OpenCLIP and SD2's cond_stage_model.model */
  DREAM_CLIP_LAYOUT_HF,       /* transformers CLIPModel / CLIPTextModel, SD1 */
} dream_clip_layout;

/* One residual attention block; tensors point into the file. */
typedef struct {
  const dream_st_tensor *ln1_w, *ln1_b;   /* (d), (d) */
  const dream_st_tensor *qkv_w[3];        /* OpenAI: [0] (3d, d), [1..2] NULL;
                                             HF: q, k, v (d, d) each */
  const dream_st_tensor *qkv_b[3];        /* (3d) / (d) each */
  const dream_st_tensor *out_w, *out_b;   /* (d, d), (d) */
  const dream_st_tensor *ln2_w, *ln2_b;   /* (d), (d) */
  const dream_st_tensor *fc1_w, *fc1_b;   /* (f, d), (f) */
  const dream_st_tensor *fc2_w, *fc2_b;   /* (d, f), (d) */
} dream_clip_block;

typedef struct {
  int width;                 /* d */
  int layers;                /* L */
  int heads;                 /* d / heads = head width */
  int mlp;                   /* f: 4d for every CLIP */
  dream_nn_act act;
  float ln_eps;
  dream_clip_block *blocks;  /* (L) */
  size_t widen_floats;       /* buffer to widen one block's weights, 0 if all F32 */
} dream_clip_stack;

/* Buffers for running a stack over up to max_rows token rows. */
typedef struct {
  int max_rows;              /* sequences × tokens */
  int max_seq;               /* tokens per sequence (attention) */
  float *h;                  /* (rows, d) normalised input / attention out */
  float *big;                /* (rows, max(3d, f)) qkv, then mlp hidden */
  float *attn_scratch;       /* per thread */
  float *wbuf;               /* widen_floats */
} dream_clip_stack_state;

/* Finds and checks blocks "<prefix>{i}." with the layout's names. */
gboolean dream_clip_stack_load (dream_clip_stack *st, const dream_st_file *file,
                                dream_clip_layout layout, const char *prefix,
                                int width, int heads, dream_nn_act act,
                                float ln_eps, GError **error);
void dream_clip_stack_clear (dream_clip_stack *st);
gboolean dream_clip_stack_state_init (dream_clip_stack_state *s,
                                      const dream_clip_stack *st, int max_rows,
                                      int max_seq, int n_threads, GError **error);
void dream_clip_stack_state_clear (dream_clip_stack_state *s);

/* x (n_seq · seq, d): blocks [first, last) in place. */
gboolean dream_clip_stack_run (const dream_clip_stack *st,
                               dream_clip_stack_state *s, float *x, int n_seq,
                               int seq, gboolean causal, int first, int last,
                               dream_pool *pool, GError **error);

typedef struct {
  dream_clip_layout layout;
  int vocab;                          /* token_embedding rows (49408) */
  int context;                        /* ctx: positional rows (77) */
  int embed_dim;                      /* e: projection width, 0 if none */
  const dream_st_tensor *token_embedding;   /* (vocab, d), rows widened on use */
  float *positional;                  /* (ctx, d), owned */
  float *ln_final_w, *ln_final_b;     /* (d), (d), owned */
  float *projection;                  /* OpenAI (d, e) / HF (e, d), owned, or NULL */
  dream_clip_stack stack;
  char *prefix;                       /* where it was found, for messages */
} dream_clip_text;

/* Finds the text tower in a file: under `prefix` if not NULL, else the
 * first OpenAI-style or HF-style tower by its token embedding. NULL +
 * DREAM_ERROR_MODEL if there is none or its tensors do not fit. */
dream_clip_text *dream_clip_text_load (const dream_st_file *file,
                                       const char *prefix,
                                       const dream_clip_hints *hints,
                                       GError **error);
void dream_clip_text_free (dream_clip_text *net);

/* Outputs of one forward pass; NULL = not wanted. */
typedef struct {
  float *last_hidden_ln;         /* (n, ctx, d) */
  float *penultimate_hidden_ln;  /* (n, ctx, d) */
  float *embeds;                 /* (n, e), not normalised */
  float *hidden_states;          /* (L, n, ctx, d): raw output of each block */
} dream_clip_text_outputs;

typedef struct {
  int max_seqs;
  dream_clip_stack_state stack;
  float *x;                      /* (max_seqs · ctx, d) residual stream */
  float *pooled;                 /* (max_seqs, d) */
} dream_clip_text_state;

gboolean dream_clip_text_state_init (dream_clip_text_state *s,
                                     const dream_clip_text *net, int max_seqs,
                                     int n_threads, GError **error);
void dream_clip_text_state_clear (dream_clip_text_state *s);

/* tokens (n, ctx), n <= max_seqs. When only embeds are wanted, positions
 * after the last sequence's <|endoftext|> are not computed (the causal
 * mask makes them irrelevant); when only the penultimate context is
 * wanted, the last block is skipped. FALSE + DREAM_ERROR_INVALID_ARGUMENT
 * for ids outside the vocabulary or embeds without a projection. */
gboolean dream_clip_text_forward (const dream_clip_text *net,
                                  dream_clip_text_state *s,
                                  const gint32 *tokens, int n,
                                  const dream_clip_text_outputs *out,
                                  dream_pool *pool, GError **error);

/* Helpers shared with clip_vision.c */
const dream_st_tensor *dream_clip_find (const dream_st_file *file,
                                        const char *prefix, const char *name);
float *dream_clip_load_vector (const dream_st_file *file, const char *prefix,
                               const char *name, int n_dims,
                               const int64_t *shape, GError **error);

#endif /* DREAM_CLIP_TEXT_H */
