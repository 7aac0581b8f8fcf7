/* bench_clip.c — CLIP ViT-B/32 size: one image embedding and the text
 * embeddings of 100 captions, through the public API.
 *
 *   bench-clip [--threads N] [--runs R] [--model FILE] [--full-context]
 *              [--write-tokens FILE]
 *
 * The model is OpenAI's ViT-B/32 configuration (embed 512; vision 224²,
 * patch 32, width 768, 12 layers, 12 heads; text context 77, vocabulary
 * 49408, width 512, 8 heads, 12 layers) with random weights (GRand seed
 * 1, normal-ish, std 0.02; layer norms 1, 0), written once to FILE
 * (default $TMPDIR/dream-bench-clip-b32.safetensors, 605 MB, F32, OpenAI
 * key names) so that bench/clip_torch_bench.py loads the very same
 * weights. The image is a 224×224 pattern (no resize needed); the
 * captions are 100 template captions of 9–17 tokens.
 *
 * Text embeddings compute only the positions up to the batch's last
 * <|endoftext|> (causal attention makes the rest irrelevant); with
 * --full-context all 77 are run, as PyTorch's encode_text does, by asking
 * for the last hidden state too (internal API).
 *
 * One untimed warm-up, then R runs of each. Prints per run and a summary
 *   dream clip-b32 threads=N image best=Xs median=Ys text100 best=Xs median=Ys peak_rss=Z MiB
 * --write-tokens stores the 100 tokenized captions ("tokens" (100, 77),
 * F32) for the PyTorch script.
 */
#include "dream.h"
#include "models/clip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { EMBED = 512, IMG = 224, PATCH = 32, VW = 768, VL = 12, CTX = 77,
       VOCAB = 49408, TW = 512, TL = 12, N_CAPTIONS = 100 };

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *t, int n)
{
  qsort (t, n, sizeof (double), cmp_double);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* ---- a random ViT-B/32 ------------------------------------------------- */

typedef struct {
  GPtrArray *names;
  GArray *tensors;   /* dream_st_out */
  GRand *rand;
} builder;

static void
add (builder *b, const char *name, int n_dims, int64_t d0, int64_t d1, int64_t d2,
     int64_t d3, int fill)   /* fill: 0 random, 1 ones, 2 zeros */
{
  int64_t shape[4] = { d0, d1, d2, d3 };
  size_t n = 1;
  for (int i = 0; i < n_dims; i++)
    n *= (size_t) shape[i];
  float *v = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    v[i] = fill == 1 ? 1.0f : fill == 2 ? 0.0f
         : (float) (0.02 * (g_rand_double (b->rand) + g_rand_double (b->rand)
                            + g_rand_double (b->rand) - 1.5) * 2.0);
  char *nm = g_strdup (name);
  g_ptr_array_add (b->names, nm);
  dream_st_out o = { nm, n_dims, { 0 }, v };
  memcpy (o.shape, shape, sizeof (int64_t) * n_dims);
  g_array_append_val (b->tensors, o);
}

static void
add_blocks (builder *b, const char *prefix, int layers, int d)
{
  for (int i = 0; i < layers; i++)
    {
      char n[128];
#define B(suffix) (snprintf (n, sizeof n, "%s%d.%s", prefix, i, suffix), n)
      add (b, B ("ln_1.weight"), 1, d, 0, 0, 0, 1);
      add (b, B ("ln_1.bias"), 1, d, 0, 0, 0, 2);
      add (b, B ("attn.in_proj_weight"), 2, 3 * d, d, 0, 0, 0);
      add (b, B ("attn.in_proj_bias"), 1, 3 * d, 0, 0, 0, 0);
      add (b, B ("attn.out_proj.weight"), 2, d, d, 0, 0, 0);
      add (b, B ("attn.out_proj.bias"), 1, d, 0, 0, 0, 0);
      add (b, B ("ln_2.weight"), 1, d, 0, 0, 0, 1);
      add (b, B ("ln_2.bias"), 1, d, 0, 0, 0, 2);
      add (b, B ("mlp.c_fc.weight"), 2, 4 * d, d, 0, 0, 0);
      add (b, B ("mlp.c_fc.bias"), 1, 4 * d, 0, 0, 0, 0);
      add (b, B ("mlp.c_proj.weight"), 2, d, 4 * d, 0, 0, 0);
      add (b, B ("mlp.c_proj.bias"), 1, d, 0, 0, 0, 0);
#undef B
    }
}

static gboolean
write_model (const char *path, GError **error)
{
  builder b = { g_ptr_array_new_with_free_func (g_free),
                g_array_new (FALSE, TRUE, sizeof (dream_st_out)), g_rand_new_with_seed (1) };
  const int grid = IMG / PATCH;
  add (&b, "positional_embedding", 2, CTX, TW, 0, 0, 0);
  add (&b, "text_projection", 2, TW, EMBED, 0, 0, 0);
  add (&b, "token_embedding.weight", 2, VOCAB, TW, 0, 0, 0);
  add (&b, "ln_final.weight", 1, TW, 0, 0, 0, 1);
  add (&b, "ln_final.bias", 1, TW, 0, 0, 0, 2);
  add_blocks (&b, "transformer.resblocks.", TL, TW);
  add (&b, "visual.class_embedding", 1, VW, 0, 0, 0, 0);
  add (&b, "visual.positional_embedding", 2, grid * grid + 1, VW, 0, 0, 0);
  add (&b, "visual.proj", 2, VW, EMBED, 0, 0, 0);
  add (&b, "visual.conv1.weight", 4, VW, 3, PATCH, PATCH, 0);
  add (&b, "visual.ln_pre.weight", 1, VW, 0, 0, 0, 1);
  add (&b, "visual.ln_pre.bias", 1, VW, 0, 0, 0, 2);
  add_blocks (&b, "visual.transformer.resblocks.", VL, VW);
  add (&b, "visual.ln_post.weight", 1, VW, 0, 0, 0, 1);
  add (&b, "visual.ln_post.bias", 1, VW, 0, 0, 0, 2);
  add (&b, "logit_scale", 0, 0, 0, 0, 0, 2);
  ((float *) g_array_index (b.tensors, dream_st_out, b.tensors->len - 1).data)[0] = logf (100.0f);
  const char *meta[] = {
    "config", "{\"embed_dim\": 512, \"image_resolution\": 224, \"vision_layers\": 12, "
              "\"vision_width\": 768, \"vision_patch_size\": 32, \"context_length\": 77, "
              "\"vocab_size\": 49408, \"transformer_width\": 512, \"transformer_heads\": 8, "
              "\"transformer_layers\": 12}",
    "generator", "bench/bench_clip.c (random weights, GRand seed 1)", NULL };
  gboolean ok = dream_st_write (path, (const dream_st_out *) b.tensors->data,
                                (int) b.tensors->len, meta, error);
  for (guint i = 0; i < b.tensors->len; i++)
    g_free ((float *) g_array_index (b.tensors, dream_st_out, i).data);
  g_array_free (b.tensors, TRUE);
  g_ptr_array_free (b.names, TRUE);
  g_rand_free (b.rand);
  return ok;
}

/* ---- captions ---------------------------------------------------------- */

static char **
make_captions (void)
{
  static const char *const subjects[] = {
    "a red fox", "an old lighthouse", "two cats", "a bowl of ramen", "a vintage car",
    "a mountain lake", "a robot", "a bunch of sunflowers", "a wooden cabin", "a sailing boat",
  };
  static const char *const styles[] = {
    "in the snow at dawn", "on a rainy street, photograph", "watercolor painting",
    "in the style of a 1970s poster", "highly detailed, 8k, studio lighting",
    "at sunset with dramatic clouds", "as a pencil sketch", "seen from above, drone photo",
    "in a misty forest", "oil painting by a dutch master",
  };
  char **c = g_new0 (char *, N_CAPTIONS + 1);
  for (int i = 0; i < N_CAPTIONS; i++)
    c[i] = g_strdup_printf ("%s %s", subjects[i % 10], styles[(i / 10 + i) % 10]);
  return c;
}

int
main (int argc, char **argv)
{
  int threads = 0, runs = 5;
  char *model_path = NULL, *tokens_path = NULL;
  gboolean full = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed runs", "R" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "model file (made if missing)", "FILE" },
    { "full-context", 0, 0, G_OPTION_ARG_NONE, &full, "run all 77 text positions, like PyTorch", NULL },
    { "write-tokens", 0, 0, G_OPTION_ARG_FILENAME, &tokens_path, "store the captions' tokens", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("— CLIP ViT-B/32 benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1 || threads < 0)
    {
      fprintf (stderr, "%s\n", error ? error->message : "bad arguments");
      return 2;
    }
  g_option_context_free (ctx);
  if (!model_path)
    model_path = g_build_filename (g_get_tmp_dir (), "dream-bench-clip-b32.safetensors", NULL);
  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      fprintf (stderr, "writing random ViT-B/32 weights to %s ...\n", model_path);
      if (!write_model (model_path, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
    }
  dream_model *model = dream_clip_load (model_path, NULL, &error);
  if (!model)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  const dream_clip *clip = ((struct dream_model *) model)->net;
  char **captions = make_captions ();

  if (tokens_path)
    {
      float *t = g_new (float, N_CAPTIONS * CTX);
      for (int i = 0; i < N_CAPTIONS; i++)
        {
          gint32 ids[CTX];
          dream_tokenizer_tokenize (clip->tokenizer, captions[i], CTX, 0, ids, NULL);
          for (int k = 0; k < CTX; k++)
            t[i * CTX + k] = (float) ids[k];
        }
      dream_st_out o = { "tokens", 2, { N_CAPTIONS, CTX }, t };
      if (!dream_st_write (tokens_path, &o, 1, NULL, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      g_free (t);
    }

  float *px = g_new (float, IMG * IMG * 3);
  for (int i = 0; i < IMG * IMG * 3; i++)
    px[i] = (float) (0.5 + 0.4 * sin (i * 0.001) * cos (i * 0.0007));
  dream_image img = { px, IMG, IMG, 3 };
  float *img_emb = g_new (float, EMBED), *txt_emb = g_new (float, N_CAPTIONS * EMBED);
  dream_clip_params p = dream_clip_default_params ();
  p.n_threads = threads;
  p.batch = N_CAPTIONS;

  /* --full-context: the text tower on all 77 positions (internal API) */
  dream_pool *pool = full ? dream_pool_new (threads) : NULL;
  dream_clip_text_state ts = { 0 };
  gint32 *tok = NULL;
  float *hidden = NULL;
  if (full)
    {
      dream_gemm_init ();
      tok = g_new (gint32, N_CAPTIONS * CTX);
      for (int i = 0; i < N_CAPTIONS; i++)
        dream_tokenizer_tokenize (clip->tokenizer, captions[i], CTX, 0, tok + i * CTX, NULL);
      hidden = g_new (float, (size_t) N_CAPTIONS * CTX * TW);
      if (!dream_clip_text_state_init (&ts, clip->text, N_CAPTIONS,
                                       dream_pool_n_threads (pool), &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
    }

  double *ti = g_new (double, runs), *tt = g_new (double, runs);
  for (int r = -1; r < runs; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!dream_clip_encode_image (model, &img, &p, img_emb, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      gint64 t1 = g_get_monotonic_time ();
      gboolean ok;
      if (full)
        {
          dream_clip_text_outputs o = { .last_hidden_ln = hidden, .embeds = txt_emb };
          ok = dream_clip_text_forward (clip->text, &ts, tok, N_CAPTIONS, &o, pool, &error);
        }
      else
        ok = dream_clip_encode_text (model, (const char *const *) captions, N_CAPTIONS, &p,
                                     txt_emb, NULL, &error);
      if (!ok)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      gint64 t2 = g_get_monotonic_time ();
      if (r >= 0)
        {
          ti[r] = (t1 - t0) / 1e6;
          tt[r] = (t2 - t1) / 1e6;
          printf ("run %d: image %.4fs text100 %.4fs\n", r + 1, ti[r], tt[r]);
        }
    }
  printf ("check: image[0..2] %.5f %.5f %.5f text[0][0..2] %.5f %.5f %.5f\n",
          img_emb[0], img_emb[1], img_emb[2], txt_emb[0], txt_emb[1], txt_emb[2]);
  double ib = 0, tb = 0;
  for (int r = 0; r < runs; r++)
    {
      ib = r ? MIN (ib, ti[r]) : ti[r];
      tb = r ? MIN (tb, tt[r]) : tt[r];
    }
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("dream clip-b32%s threads=%d image best=%.4fs median=%.4fs text100 best=%.4fs "
          "median=%.4fs peak_rss=%ld MiB blas=%s\n", full ? "-full" : "", threads, ib,
          median (ti, runs), tb, median (tt, runs), ru.ru_maxrss / 1024, dream_gemm_backend ());
  dream_clip_text_state_clear (&ts);
  dream_pool_free (pool);
  g_free (tok); g_free (hidden); g_free (ti); g_free (tt); g_free (px);
  g_free (img_emb); g_free (txt_emb); g_strfreev (captions);
  g_free (model_path); g_free (tokens_path);
  dream_model_free (model);
  return 0;
}
