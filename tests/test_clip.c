/* test_clip.c — CLIP text and vision towers against the original.
 *
 * tests/data/clip_golden_io.safetensors is ../shared/data/golden/clip's
 * io file: openai/CLIP (torch 1.13, float32) on a tiny random model
 * (text width 32, 4 heads, 2 layers; ViT width 64, 1 head, 2 layers,
 * 32×32 images in 8×8 patches), with float64 re-runs of the embeddings.
 * tests/data/clip_golden_model.safetensors.gz is that model with the
 * token-embedding rows no test uses zeroed, gzipped
 * (tools/make_clip_test_data.py).
 *
 * Tolerance: torch float32 differs from its float64 re-run by 1.0e-6
 * (text) and 0.9e-6 (image) at most, on values up to 2.85; the engine
 * lands as close (1.2e-6 and 0.6e-6). A bound of 1e-5 absolute (≈ 10× the
 * float32 rounding, 4e-6 relative to the largest value) leaves room for
 * summation order and would still catch any real mistake (a wrong mask,
 * activation or eps moves the outputs by 1e-3 or more). Hidden states
 * have no float64 reference: they are compared with torch's float32
 * outputs within the same 1e-5.
 */
#include "models/clip.h"
#include "dream.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#define TOL 1e-5

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

/* The golden model, gunzipped into a fresh temporary folder. */
static char *
golden_model (void)
{
  GError *error = NULL;
  char *gz = data_path ("clip_golden_model.safetensors.gz");
  GFile *f = g_file_new_for_path (gz);
  GFileInputStream *raw = g_file_read (f, NULL, &error);
  g_assert_no_error (error);
  GZlibDecompressor *z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  GInputStream *in = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (z));
  char *dir = g_dir_make_tmp ("dream-clip-XXXXXX", &error);
  char *path = g_build_filename (dir, "clip.safetensors", NULL);
  GFile *of = g_file_new_for_path (path);
  GFileOutputStream *out = g_file_replace (of, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_splice (G_OUTPUT_STREAM (out), in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                          | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (out); g_object_unref (of); g_object_unref (in);
  g_object_unref (z); g_object_unref (raw); g_object_unref (f);
  g_free (gz); g_free (dir);
  return path;
}

static void
remove_file_and_dir (char *path)
{
  char *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static dream_st_file *
open_io (void)
{
  GError *error = NULL;
  char *path = data_path ("clip_golden_io.safetensors");
  dream_st_file *f = dream_st_open (path, &error);
  g_assert_no_error (error);
  g_free (path);
  return f;
}

static float *
read_tensor (const dream_st_file *f, const char *name, int64_t *n)
{
  GError *error = NULL;
  const dream_st_tensor *t = dream_st_find (f, name);
  g_assert_nonnull (t);
  float *v = g_new (float, t->n_elements);
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, &error));
  if (n)
    *n = t->n_elements;
  return v;
}

static gint32 *
read_tokens (const dream_st_file *f, const char *name, int *n_seqs)
{
  int64_t n;
  float *v = read_tensor (f, name, &n);
  gint32 *ids = g_new (gint32, n);
  for (int64_t i = 0; i < n; i++)
    ids[i] = (gint32) v[i];
  *n_seqs = (int) (n / DREAM_CLIP_CONTEXT);
  g_free (v);
  return ids;
}

static double
max_abs_diff (const float *a, const float *b, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      m = MAX (m, fabs ((double) a[i] - b[i]));
    }
  return m;
}

static void
expect_close (const char *what, const float *got, const dream_st_file *io,
              const char *ref_name, size_t n, double tol)
{
  int64_t nr;
  float *ref = read_tensor (io, ref_name, &nr);
  g_assert_cmpint (nr, ==, (int64_t) n);
  double d = max_abs_diff (got, ref, n);
  g_test_message ("%s: max |engine - %s| = %.3g", what, ref_name, d);
  g_assert_cmpfloat (d, <, tol);
  g_free (ref);
}

static dream_clip *
load_clip (const char *path, dream_st_file **file)
{
  GError *error = NULL;
  *file = dream_st_open (path, &error);
  g_assert_no_error (error);
  dream_clip *clip = dream_clip_net_load (*file, path, NULL, &error);
  g_assert_no_error (error);
  return clip;
}

/* All text outputs of one padding style against the golden file. */
static void
check_text (const dream_clip *clip, const dream_st_file *io, const char *style,
            int n_threads)
{
  GError *error = NULL;
  char *tok_name = g_strdup_printf ("tokens_%s", style);
  int n;
  gint32 *ids = read_tokens (io, tok_name, &n);
  const dream_clip_text *net = clip->text;
  const int ctx = net->context, d = net->stack.width, e = net->embed_dim;
  const size_t rows = (size_t) n * ctx;
  g_assert_cmpint (net->stack.heads, ==, 4);
  g_assert_cmpint (net->stack.act, ==, DREAM_NN_ACT_QUICK_GELU);
  float *last = g_new (float, rows * d), *pen = g_new (float, rows * d);
  float *emb = g_new (float, n * e), *hidden = g_new (float, 2 * rows * d);
  float *emb_only = g_new (float, n * e);
  dream_pool *pool = dream_pool_new (n_threads);
  dream_clip_text_state s;
  g_assert_true (dream_clip_text_state_init (&s, net, n, dream_pool_n_threads (pool), &error));
  dream_clip_text_outputs o = { last, pen, emb, hidden };
  g_assert_true (dream_clip_text_forward (net, &s, ids, n, &o, pool, &error));
  g_assert_no_error (error);

  char name[64];
  snprintf (name, sizeof name, "text_%s.last_hidden_ln", style);
  expect_close ("last_hidden_ln", last, io, name, rows * d, TOL);
  snprintf (name, sizeof name, "text_%s.penultimate_hidden_ln", style);
  expect_close ("penultimate_hidden_ln", pen, io, name, rows * d, TOL);
  snprintf (name, sizeof name, "text_%s.layer0", style);
  expect_close ("layer0", hidden, io, name, rows * d, TOL);
  snprintf (name, sizeof name, "text_%s.layer1", style);
  expect_close ("layer1", hidden + rows * d, io, name, rows * d, TOL);
  snprintf (name, sizeof name, "text_%s.encode_text", style);
  expect_close ("encode_text", emb, io, name, (size_t) n * e, TOL);
  if (!strcmp (style, "pad0"))
    expect_close ("encode_text", emb, io, "text_pad0.encode_text_f64ref", (size_t) n * e, TOL);

  /* embeddings alone: only the positions up to the last <|endoftext|> */
  dream_clip_text_outputs eo = { .embeds = emb_only };
  g_assert_true (dream_clip_text_forward (net, &s, ids, n, &eo, pool, &error));
  g_assert_cmpfloat (max_abs_diff (emb_only, emb, (size_t) n * e), <, 1e-6);
  /* the penultimate context alone skips the last block */
  memset (last, 0, sizeof (float) * rows * d);
  dream_clip_text_outputs po = { .penultimate_hidden_ln = last };
  g_assert_true (dream_clip_text_forward (net, &s, ids, n, &po, pool, &error));
  g_assert_cmpmem (last, rows * d * sizeof (float), pen, rows * d * sizeof (float));

  dream_clip_text_state_clear (&s);
  dream_pool_free (pool);
  g_free (ids); g_free (tok_name); g_free (last); g_free (pen); g_free (emb);
  g_free (hidden); g_free (emb_only);
}

static void
test_text_golden (void)
{
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  dream_st_file *io = open_io ();
  g_assert_nonnull (clip->text);
  g_assert_cmpint (clip->text->context, ==, 77);
  g_assert_cmpint (clip->text->vocab, ==, 49408);
  check_text (clip, io, "pad0", 2);
  check_text (clip, io, "padeot", 1);
  dream_clip_net_free (clip);
  dream_st_close (io);
  dream_st_close (file);
  remove_file_and_dir (path);
}

static void
check_vision (const dream_clip *clip, const dream_st_file *io, int n_threads)
{
  GError *error = NULL;
  const dream_clip_vision *net = clip->vision;
  g_assert_cmpint (net->image_size, ==, 32);
  g_assert_cmpint (net->patch, ==, 8);
  g_assert_cmpint (net->tokens, ==, 17);
  g_assert_cmpint (net->stack.heads, ==, 1);
  const int n = 2, T = net->tokens, d = net->stack.width, e = net->embed_dim;
  float *img = read_tensor (io, "image", NULL);
  float *emb = g_new (float, n * e), *pre = g_new (float, n * T * d);
  float *hidden = g_new (float, 2 * n * T * d), *post = g_new (float, n * d);
  dream_pool *pool = dream_pool_new (n_threads);
  dream_clip_vision_state s;
  g_assert_true (dream_clip_vision_state_init (&s, net, n, dream_pool_n_threads (pool), &error));
  dream_clip_vision_outputs o = { emb, post, pre, hidden };
  g_assert_true (dream_clip_vision_forward (net, &s, img, n, &o, pool, &error));
  g_assert_no_error (error);
  expect_close ("ln_pre", pre, io, "inter.visual.ln_pre", (size_t) n * T * d, TOL);
  expect_close ("block 0", hidden, io, "inter.visual.transformer.resblocks.0", (size_t) n * T * d, TOL);
  expect_close ("block 1", hidden + n * T * d, io, "inter.visual.transformer.resblocks.1",
                (size_t) n * T * d, TOL);
  expect_close ("ln_post", post, io, "inter.visual.ln_post", (size_t) n * d, TOL);
  expect_close ("encode_image", emb, io, "encode_image", (size_t) n * e, TOL);
  expect_close ("encode_image", emb, io, "encode_image_f64ref", (size_t) n * e, TOL);
  dream_clip_vision_state_clear (&s);
  dream_pool_free (pool);
  g_free (img); g_free (emb); g_free (pre); g_free (hidden); g_free (post);
}

static void
test_vision_golden (void)
{
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  dream_st_file *io = open_io ();
  g_assert_nonnull (clip->vision);
  check_vision (clip, io, 2);
  check_vision (clip, io, 1);
  dream_clip_net_free (clip);
  dream_st_close (io);
  dream_st_close (file);
  remove_file_and_dir (path);
}

static void
test_logits_golden (void)
{
  /* logits_per_image = exp(logit_scale) · normalised image · normalised
   * text embeddings, images × the first two prompts */
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  dream_st_file *io = open_io ();
  GError *error = NULL;
  g_assert_cmpfloat (fabs (clip->logit_scale - 1.0 / 0.07), <, 1e-4);
  int n;
  gint32 *ids = read_tokens (io, "tokens_pad0", &n);
  const int e = clip->embed_dim;
  float *txt = g_new (float, n * e), *img_emb = g_new (float, 2 * e);
  float *img = read_tensor (io, "image", NULL);
  dream_clip_text_state ts;
  dream_clip_vision_state vs;
  g_assert_true (dream_clip_text_state_init (&ts, clip->text, n, 1, &error));
  g_assert_true (dream_clip_vision_state_init (&vs, clip->vision, 2, 1, &error));
  dream_clip_text_outputs to = { .embeds = txt };
  dream_clip_vision_outputs vo = { .embeds = img_emb };
  g_assert_true (dream_clip_text_forward (clip->text, &ts, ids, n, &to, NULL, &error));
  g_assert_true (dream_clip_vision_forward (clip->vision, &vs, img, 2, &vo, NULL, &error));
  float logits[4];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      {
        double dot = 0, ni = 0, nj = 0;
        for (int k = 0; k < e; k++)
          {
            dot += (double) img_emb[i * e + k] * txt[j * e + k];
            ni += (double) img_emb[i * e + k] * img_emb[i * e + k];
            nj += (double) txt[j * e + k] * txt[j * e + k];
          }
        logits[i * 2 + j] = (float) (clip->logit_scale * dot / sqrt (ni * nj));
      }
  expect_close ("logits_per_image", logits, io, "logits_per_image", 4, 1e-4);
  dream_clip_text_state_clear (&ts);
  dream_clip_vision_state_clear (&vs);
  g_free (ids); g_free (txt); g_free (img_emb); g_free (img);
  dream_clip_net_free (clip);
  dream_st_close (io);
  dream_st_close (file);
  remove_file_and_dir (path);
}

/* ---- the public API ---------------------------------------------------- */

static void
test_public_api (void)
{
  /* The golden prompts through dream_clip_encode_text (tokenizer + tower)
   * give the golden embeddings, normalised; the long one is flagged. */
  GError *error = NULL;
  char *path = golden_model ();
  dream_model *m = dream_clip_load (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dream_model_get_arch (m), ==, "clip");
  g_assert_cmpint (dream_clip_get_embed_dim (m), ==, 32);
  g_assert_cmpint (dream_clip_get_image_size (m), ==, 32);
  g_assert_true (dream_clip_has_text (m) && dream_clip_has_vision (m));

  JsonParser *parser = json_parser_new ();
  char *tok = data_path ("clip_tokens.json");
  g_assert_true (json_parser_load_from_file (parser, tok, &error));
  JsonArray *prompts = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                     "prompts");
  const int n = (int) json_array_get_length (prompts), e = 32;
  const char **captions = g_new (const char *, n);
  for (int i = 0; i < n; i++)
    captions[i] = json_object_get_string_member (json_array_get_object_element (prompts, i), "prompt");
  float *emb = g_new (float, n * e), *emb3 = g_new (float, n * e);
  gboolean *cut = g_new (gboolean, n);
  dream_clip_params p = dream_clip_default_params ();
  g_assert_true (dream_clip_encode_text (m, captions, n, &p, emb, cut, &error));
  g_assert_no_error (error);
  dream_st_file *io = open_io ();
  float *ref = read_tensor (io, "text_pad0.encode_text_f64ref", NULL);
  for (int i = 0; i < n; i++)
    {
      double norm = 0;
      for (int k = 0; k < e; k++)
        norm += (double) ref[i * e + k] * ref[i * e + k];
      for (int k = 0; k < e; k++)
        ref[i * e + k] /= (float) sqrt (norm);
      g_assert_cmpint (cut[i], ==, i == 3);
    }
  g_assert_cmpfloat (max_abs_diff (emb, ref, (size_t) n * e), <, TOL);
  /* in batches of 3: the same */
  p.batch = 3;
  p.n_threads = 1;
  g_assert_true (dream_clip_encode_text (m, captions, n, &p, emb3, NULL, &error));
  g_assert_cmpfloat (max_abs_diff (emb3, emb, (size_t) n * e), <, 1e-6);

  /* a score: probabilities sum to 1, logit = scale · cosine */
  float px[40 * 30 * 3];
  for (size_t i = 0; i < G_N_ELEMENTS (px); i++)
    px[i] = (float) ((i * 37) % 101) / 100.0f;
  dream_image img = { px, 40, 30, 3 };
  dream_clip_score_result r[4];
  p = dream_clip_default_params ();
  g_assert_true (dream_clip_score (m, &img, captions, n, &p, r, &error));
  g_assert_no_error (error);
  double sum = 0;
  for (int i = 0; i < n; i++)
    {
      sum += r[i].probability;
      g_assert_cmpfloat (fabs (r[i].logit - dream_clip_get_logit_scale (m) * r[i].cosine), <, 1e-4);
      g_assert_cmpfloat (fabs (r[i].cosine), <=, 1.0001);
      g_assert_cmpint (r[i].truncated, ==, i == 3);
    }
  g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-5);
  float ie[32];
  g_assert_true (dream_clip_encode_image (m, &img, &p, ie, &error));
  double c0 = 0;
  for (int k = 0; k < e; k++)
    c0 += (double) ie[k] * emb[k];
  g_assert_cmpfloat (fabs (c0 - r[0].cosine), <, 1e-5);

  g_object_unref (parser);
  g_free (tok); g_free (captions); g_free (emb); g_free (emb3); g_free (cut); g_free (ref);
  dream_st_close (io);
  dream_model_free (m);
  remove_file_and_dir (path);
}

typedef struct { int calls; double cancel_at; } probe;

static gboolean
probe_progress (gpointer user, double f)
{
  probe *p = user;
  p->calls++;
  return f < p->cancel_at;
}

static void
test_cancel_and_bad_arguments (void)
{
  GError *error = NULL;
  char *path = golden_model ();
  dream_model *m = dream_clip_load (path, NULL, &error);
  g_assert_no_error (error);
  const char *captions[] = { "a", "b", "c", "d", "e" };
  float emb[5 * 32];
  dream_clip_params p = dream_clip_default_params ();
  probe pr = { 0, 0.5 };
  p.batch = 1;
  p.progress = probe_progress;
  p.progress_user = &pr;
  g_assert_false (dream_clip_encode_text (m, captions, 5, &p, emb, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (pr.calls, <, 5);

  p = dream_clip_default_params ();
  g_assert_false (dream_clip_encode_text (m, captions, 0, &p, emb, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  float px[3] = { 0 };
  dream_image empty = { px, 0, 1, 3 }, five = { px, 1, 1, 5 };
  g_assert_false (dream_clip_encode_image (m, &empty, &p, emb, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_clip_encode_image (m, &five, &p, emb, &error));
  g_clear_error (&error);
  /* a 1×1 image is fine (upscaled) */
  dream_image one = { px, 1, 1, 3 };
  g_assert_true (dream_clip_encode_image (m, &one, &p, emb, &error));
  g_assert_no_error (error);

  /* a token id outside the vocabulary */
  dream_clip *clip = m->net;
  gint32 ids[77] = { 49406, 60000, 49407 };
  dream_clip_text_state s;
  g_assert_true (dream_clip_text_state_init (&s, clip->text, 1, 1, &error));
  dream_clip_text_outputs o = { .embeds = emb };
  g_assert_false (dream_clip_text_forward (clip->text, &s, ids, 1, &o, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  dream_clip_text_state_clear (&s);

  /* not a CLIP model */
  dream_model *ff = NULL;
  char *ffp = dream_model_find ("ffdnet-color", &error);
  g_assert_no_error (error);
  g_assert_null (dream_clip_load (ffp, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_test_message ("ffdnet as CLIP: %s", error->message);
  g_clear_error (&error);
  ff = dream_model_load (ffp, &error);
  g_assert_false (dream_clip_encode_text (ff, captions, 1, &p, emb, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  dream_model_free (ff);
  g_free (ffp);
  dream_model_free (m);
  remove_file_and_dir (path);
}

/* ---- other layouts and dtypes ------------------------------------------ */

/* Every tensor of a file, as float32, renamed by `rename` (NULL drops it). */
typedef char *(*rename_func) (const char *name);

static int
copy_tensors (const dream_st_file *f, rename_func rename, dream_st_out *out)
{
  int n = 0;
  for (int i = 0; i < dream_st_count (f); i++)
    {
      const dream_st_tensor *t = dream_st_get (f, i);
      char *name = rename (t->name);
      if (!name)
        continue;
      float *v = g_new (float, MAX (t->n_elements, 1));
      g_assert_true (dream_st_to_f32 (t, v, t->n_elements, NULL));
      out[n] = (dream_st_out) { name, t->n_dims, { 0 }, v };
      memcpy (out[n].shape, t->shape, sizeof (int64_t) * t->n_dims);
      n++;
    }
  return n;
}

static void
free_tensors (dream_st_out *t, int n)
{
  for (int i = 0; i < n; i++)
    {
      g_free ((char *) t[i].name);
      g_free ((float *) t[i].data);
    }
}

static char *
keep_name (const char *name)
{
  return g_strdup (name);
}

/* OpenAI names -> Hugging Face CLIPModel names (in_proj split later). */
static char *
hf_name (const char *name)
{
  static const char *const map[][2] = {
    { "token_embedding.weight", "text_model.embeddings.token_embedding.weight" },
    { "positional_embedding", "text_model.embeddings.position_embedding.weight" },
    { "ln_final.", "text_model.final_layer_norm." },
    { "transformer.resblocks.", "text_model.encoder.layers." },
    { "visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight" },
    { "visual.class_embedding", "vision_model.embeddings.class_embedding" },
    { "visual.positional_embedding", "vision_model.embeddings.position_embedding.weight" },
    { "visual.ln_pre.", "vision_model.pre_layrnorm." },
    { "visual.ln_post.", "vision_model.post_layernorm." },
    { "visual.transformer.resblocks.", "vision_model.encoder.layers." },
    { "logit_scale", "logit_scale" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_has_prefix (name, map[i][0]))
      {
        char *rest = g_strdup (name + strlen (map[i][0]));
        static const char *const sub[][2] = {
          { "ln_1.", "layer_norm1." }, { "ln_2.", "layer_norm2." },
          { "attn.out_proj.", "self_attn.out_proj." }, { "mlp.c_fc.", "mlp.fc1." },
          { "mlp.c_proj.", "mlp.fc2." },
        };
        char *dot = strchr (rest, '.');
        if (strstr (map[i][0], "resblocks") && dot)
          for (size_t k = 0; k < G_N_ELEMENTS (sub); k++)
            if (g_str_has_prefix (dot + 1, sub[k][0]))
              {
                char *r2 = g_strdup_printf ("%.*s%s%s", (int) (dot + 1 - rest), rest, sub[k][1],
                                            dot + 1 + strlen (sub[k][0]));
                g_free (rest);
                rest = r2;
                break;
              }
        char *full = g_strconcat (map[i][1], rest, NULL);
        g_free (rest);
        return full;
      }
  return NULL;   /* in_proj, text_projection, visual.proj: done by hand */
}

static void
write_hf_model (const dream_st_file *f, const char *path)
{
  dream_st_out t[128];
  int n = copy_tensors (f, hf_name, t);
  /* split in_proj (3d, d) into q, k, v; transpose the projections */
  for (int i = 0; i < dream_st_count (f); i++)
    {
      const dream_st_tensor *s = dream_st_get (f, i);
      const char *nm = s->name;
      gboolean vis = g_str_has_prefix (nm, "visual.");
      const char *blk = strstr (nm, "resblocks.");
      float *v = g_new (float, s->n_elements);
      g_assert_true (dream_st_to_f32 (s, v, s->n_elements, NULL));
      if (blk && strstr (nm, "in_proj_"))
        {
          int layer = atoi (blk + strlen ("resblocks."));
          gboolean w = strstr (nm, "weight") != NULL;
          int64_t d = s->shape[0] / 3;
          const char *qkv[3] = { "q", "k", "v" };
          for (int k = 0; k < 3; k++)
            {
              size_t part = (size_t) d * (w ? s->shape[1] : 1);
              t[n] = (dream_st_out) {
                g_strdup_printf ("%s.encoder.layers.%d.self_attn.%s_proj.%s",
                                 vis ? "vision_model" : "text_model", layer, qkv[k],
                                 w ? "weight" : "bias"),
                w ? 2 : 1, { d, w ? s->shape[1] : 0 }, g_memdup2 (v + k * part, part * sizeof (float)) };
              n++;
            }
        }
      else if (!strcmp (nm, "text_projection") || !strcmp (nm, "visual.proj"))
        {
          int64_t r = s->shape[0], c = s->shape[1];
          float *tr = g_new (float, r * c);
          for (int64_t a = 0; a < r; a++)
            for (int64_t b = 0; b < c; b++)
              tr[b * r + a] = v[a * c + b];
          t[n++] = (dream_st_out) { g_strdup (vis ? "visual_projection.weight" : "text_projection.weight"),
                                    2, { c, r }, tr };
        }
      g_free (v);
    }
  const char *meta[] = {
    "config", "{\"text_config\": {\"num_attention_heads\": 4, \"hidden_act\": \"quick_gelu\"},"
              " \"vision_config\": {\"num_attention_heads\": 1}}", NULL };
  g_assert_true (dream_st_write (path, t, n, meta, NULL));
  free_tensors (t, n);
}

static void
test_hf_layout (void)
{
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  char *dir = g_path_get_dirname (path);
  char *hf = g_build_filename (dir, "hf.safetensors", NULL);
  write_hf_model (file, hf);
  dream_st_file *hff;
  dream_clip *hclip = load_clip (hf, &hff);
  g_assert_cmpint (hclip->text->layout, ==, DREAM_CLIP_LAYOUT_HF);
  g_assert_cmpint (hclip->vision->layout, ==, DREAM_CLIP_LAYOUT_HF);
  g_assert_cmpint (hclip->embed_dim, ==, 32);
  dream_st_file *io = open_io ();
  check_text (hclip, io, "pad0", 2);
  check_vision (hclip, io, 2);
  dream_clip_net_free (hclip);
  dream_clip_net_free (clip);
  dream_st_close (hff);
  dream_st_close (file);
  dream_st_close (io);
  g_unlink (hf);
  g_free (hf); g_free (dir);
  remove_file_and_dir (path);
}

/* The golden text tower as a Stable Diffusion single file holds it: SD1
 * (HF layout under cond_stage_model.transformer.text_model., no
 * projection) and SD2 (OpenAI layout under cond_stage_model.model., exact
 * GELU unless told otherwise). */
static void
check_last_hidden (dream_clip *clip, const dream_st_file *io)
{
  GError *error = NULL;
  int n;
  gint32 *ids = read_tokens (io, "tokens_padeot", &n);
  float *last = g_new (float, n * 77 * 32);
  dream_clip_text_state s;
  g_assert_true (dream_clip_text_state_init (&s, clip->text, n, 1, &error));
  dream_clip_text_outputs o = { .last_hidden_ln = last };
  g_assert_true (dream_clip_text_forward (clip->text, &s, ids, n, &o, NULL, &error));
  expect_close ("last_hidden_ln", last, io, "text_padeot.last_hidden_ln", (size_t) n * 77 * 32, TOL);
  dream_clip_text_state_clear (&s);
  g_free (ids);
  g_free (last);
}

static void
test_sd_prefixes (void)
{
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  char *dir = g_path_get_dirname (path);
  char *sd1 = g_build_filename (dir, "sd1.safetensors", NULL);
  char *sd2 = g_build_filename (dir, "sd2.safetensors", NULL);
  char *hf = g_build_filename (dir, "hf.safetensors", NULL);
  dream_st_file *io = open_io ();
  GError *error = NULL;

  /* SD1: from the HF copy, text_model.* under cond_stage_model.transformer. */
  write_hf_model (file, hf);
  dream_st_file *hff = dream_st_open (hf, &error);
  dream_st_out t[128];
  int n = 0;
  for (int i = 0; i < dream_st_count (hff); i++)
    {
      const dream_st_tensor *s = dream_st_get (hff, i);
      if (!g_str_has_prefix (s->name, "text_model."))
        continue;
      float *v = g_new (float, s->n_elements);
      g_assert_true (dream_st_to_f32 (s, v, s->n_elements, NULL));
      t[n] = (dream_st_out) { g_strconcat ("cond_stage_model.transformer.", s->name, NULL),
                              s->n_dims, { 0 }, v };
      memcpy (t[n].shape, s->shape, sizeof (int64_t) * s->n_dims);
      n++;
    }
  const char *meta1[] = { "text_heads", "4", NULL };
  g_assert_true (dream_st_write (sd1, t, n, meta1, NULL));
  free_tensors (t, n);
  dream_st_close (hff);
  dream_st_file *f1;
  dream_clip *c1 = load_clip (sd1, &f1);
  g_assert_nonnull (c1->text);
  g_assert_null (c1->vision);
  g_assert_cmpstr (c1->text->prefix, ==, "cond_stage_model.transformer.text_model.");
  g_assert_cmpint (c1->text->embed_dim, ==, 0);
  g_assert_cmpint (c1->text->stack.act, ==, DREAM_NN_ACT_QUICK_GELU);
  check_last_hidden (c1, io);
  dream_clip_net_free (c1);
  dream_st_close (f1);

  /* SD2: OpenAI names of the text tower under cond_stage_model.model. */
  n = 0;
  for (int i = 0; i < dream_st_count (file); i++)
    {
      const dream_st_tensor *s = dream_st_get (file, i);
      if (g_str_has_prefix (s->name, "visual."))
        continue;
      float *v = g_new (float, MAX (s->n_elements, 1));
      g_assert_true (dream_st_to_f32 (s, v, s->n_elements, NULL));
      t[n] = (dream_st_out) { g_strconcat ("cond_stage_model.model.", s->name, NULL),
                              s->n_dims, { 0 }, v };
      memcpy (t[n].shape, s->shape, sizeof (int64_t) * s->n_dims);
      n++;
    }
  for (int pass = 0; pass < 2; pass++)
    {
      const char *meta2[] = { "text_heads", "4", pass ? "activation" : NULL, "quick_gelu", NULL };
      g_assert_true (dream_st_write (sd2, t, n, meta2, NULL));
      dream_st_file *f2;
      dream_clip *c2 = load_clip (sd2, &f2);
      g_assert_cmpstr (c2->text->prefix, ==, "cond_stage_model.model.");
      g_assert_cmpint (c2->text->stack.act, ==, pass ? DREAM_NN_ACT_QUICK_GELU : DREAM_NN_ACT_GELU);
      g_assert_cmpfloat (fabs (c2->logit_scale - 1.0 / 0.07), <, 1e-4);
      if (pass)
        check_last_hidden (c2, io);
      dream_clip_net_free (c2);
      dream_st_close (f2);
    }
  free_tensors (t, n);

  /* heads that do not divide the width: a clear error */
  const char *bad[] = { "text_heads", "5", NULL };
  int n1 = copy_tensors (file, keep_name, t);
  g_assert_true (dream_st_write (sd2, t, n1, bad, NULL));
  free_tensors (t, n1);
  dream_st_file *fb = dream_st_open (sd2, &error);
  g_assert_null (dream_clip_net_load (fb, sd2, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_test_message ("5 heads: %s", error->message);
  g_assert_nonnull (strstr (error->message, "heads"));
  g_clear_error (&error);
  dream_st_close (fb);

  dream_clip_net_free (clip);
  dream_st_close (file);
  dream_st_close (io);
  g_unlink (sd1); g_unlink (sd2); g_unlink (hf);
  g_free (sd1); g_free (sd2); g_free (hf); g_free (dir);
  remove_file_and_dir (path);
}

static void
test_config_files (void)
{
  /* Without the metadata config the tiny model's 4 text heads cannot be
   * guessed (32 / 64 = 0); NAME.json next to the file gives them, a
   * config.json beside a file not named model.safetensors is not read,
   * and a metadata "config" that is not JSON is somebody else's. */
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  char *dir = g_path_get_dirname (path);
  char *m = g_build_filename (dir, "tiny.safetensors", NULL);
  char *own = g_build_filename (dir, "tiny.json", NULL);
  char *shared = g_build_filename (dir, "config.json", NULL);
  dream_st_out t[128];
  int n = copy_tensors (file, keep_name, t);
  const char *meta[] = { "config", "model: {not json", NULL };
  g_assert_true (dream_st_write (m, t, n, meta, NULL));
  free_tensors (t, n);
  GError *error = NULL;
  dream_st_file *f = dream_st_open (m, &error);
  g_assert_null (dream_clip_net_load (f, m, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_test_message ("no hints: %s", error->message);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (shared, "{\"transformer_heads\": 3}", -1, NULL));
  g_assert_true (g_file_set_contents (own, "{\"embed_dim\": 32, \"transformer_heads\": 4, "
                                      "\"vision_width\": 64, \"vision_layers\": 2}", -1, NULL));
  dream_clip *c = dream_clip_net_load (f, m, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->text->stack.heads, ==, 4);
  g_assert_cmpint (c->vision->stack.heads, ==, 1);
  dream_st_file *io = open_io ();
  check_last_hidden (c, io);
  dream_clip_net_free (c);

  /* an explicit config wins, and must be valid */
  g_assert_true (g_file_set_contents (shared, "{\"text_config\": {\"num_attention_heads\": 8,"
                                      " \"hidden_act\": \"gelu\"}}", -1, NULL));
  c = dream_clip_net_load (f, m, shared, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->text->stack.heads, ==, 8);
  g_assert_cmpint (c->text->stack.act, ==, DREAM_NN_ACT_GELU);
  dream_clip_net_free (c);
  g_assert_true (g_file_set_contents (shared, "{\"activation\": \"tanh\"}", -1, NULL));
  g_assert_null (dream_clip_net_load (f, m, shared, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);

  dream_st_close (io);
  dream_st_close (f);
  dream_clip_net_free (clip);
  dream_st_close (file);
  g_unlink (m); g_unlink (own); g_unlink (shared);
  g_free (m); g_free (own); g_free (shared); g_free (dir);
  remove_file_and_dir (path);
}

/* float -> IEEE half, round to nearest even (normal range and zero
 * only: the model's weights are far from the limits). */
static guint16
to_half (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  guint32 sign = (x >> 16) & 0x8000, mant = x & 0x7FFFFF;
  int exp = (int) ((x >> 23) & 0xFF) - 127 + 15;
  if ((x & 0x7FFFFFFF) == 0 || exp <= 0)
    return (guint16) sign;                      /* zero (or flushed tiny) */
  guint32 h = (guint32) exp << 10 | mant >> 13;
  guint32 rest = mant & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    h++;
  return (guint16) (sign | h);
}

static float
from_half (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF;
  guint32 x = e == 0 ? sign : sign | (e - 15 + 127) << 23 | m << 13;
  float f;
  memcpy (&f, &x, 4);
  return f;
}

/* Writes tensors as F16 (the engine widens them per layer on use). */
static void
write_f16 (const char *path, const dream_st_out *t, int n, const char *config)
{
  GString *h = g_string_new ("{");
  size_t off = 0;
  for (int i = 0; i < n; i++)
    {
      size_t count = 1;
      g_string_append_printf (h, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[", i ? "," : "", t[i].name);
      for (int k = 0; k < t[i].n_dims; k++)
        {
          g_string_append_printf (h, "%s%" G_GINT64_FORMAT, k ? "," : "", t[i].shape[k]);
          count *= (size_t) t[i].shape[k];
        }
      g_string_append_printf (h, "],\"data_offsets\":[%zu,%zu]}", off, off + 2 * count);
      off += 2 * count;
    }
  char *cfg = g_strescape (config, NULL);
  g_string_append_printf (h, ",\"__metadata__\":{\"config\":\"%s\"}}", cfg);
  g_free (cfg);
  while (h->len % 8)
    g_string_append_c (h, ' ');
  GByteArray *b = g_byte_array_new ();
  guint64 hl = GUINT64_TO_LE (h->len);
  g_byte_array_append (b, (const guint8 *) &hl, 8);
  g_byte_array_append (b, (const guint8 *) h->str, h->len);
  for (int i = 0; i < n; i++)
    {
      size_t count = 1;
      for (int k = 0; k < t[i].n_dims; k++)
        count *= (size_t) t[i].shape[k];
      for (size_t j = 0; j < count; j++)
        {
          guint16 v = GUINT16_TO_LE (to_half (t[i].data[j]));
          g_byte_array_append (b, (const guint8 *) &v, 2);
        }
    }
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, NULL));
  g_byte_array_unref (b);
  g_string_free (h, TRUE);
}

static void
test_f16_weights (void)
{
  /* An F16 file gives exactly what the same weights rounded to F16 and
   * stored as F32 give: widening is exact and changes nothing else. */
  char *path = golden_model ();
  dream_st_file *file;
  dream_clip *clip = load_clip (path, &file);
  char *dir = g_path_get_dirname (path);
  char *p16 = g_build_filename (dir, "f16.safetensors", NULL);
  char *p32 = g_build_filename (dir, "r32.safetensors", NULL);
  dream_st_out t[128];
  int n = copy_tensors (file, keep_name, t);
  const char *config = dream_st_metadata (file, "config");
  write_f16 (p16, t, n, config);
  for (int i = 0; i < n; i++)
    {
      size_t count = 1;
      for (int k = 0; k < t[i].n_dims; k++)
        count *= (size_t) t[i].shape[k];
      for (size_t j = 0; j < count; j++)
        ((float *) t[i].data)[j] = from_half (to_half (t[i].data[j]));
    }
  const char *meta[] = { "config", config, NULL };
  g_assert_true (dream_st_write (p32, t, n, meta, NULL));
  free_tensors (t, n);

  dream_st_file *f16, *f32;
  dream_clip *c16 = load_clip (p16, &f16), *c32 = load_clip (p32, &f32);
  g_assert_cmpuint (c16->text->stack.widen_floats, >, 0);
  g_assert_cmpuint (c32->text->stack.widen_floats, ==, 0);
  dream_st_file *io = open_io ();
  int ns;
  gint32 *ids = read_tokens (io, "tokens_pad0", &ns);
  float *img = read_tensor (io, "image", NULL);
  float out[2][4 * 77 * 32], emb[2][4 * 32], iemb[2][2 * 32];
  dream_clip *cs[2] = { c16, c32 };
  GError *error = NULL;
  for (int k = 0; k < 2; k++)
    {
      dream_clip_text_state ts;
      dream_clip_vision_state vs;
      g_assert_true (dream_clip_text_state_init (&ts, cs[k]->text, ns, 2, &error));
      g_assert_true (dream_clip_vision_state_init (&vs, cs[k]->vision, 2, 2, &error));
      dream_clip_text_outputs to = { .last_hidden_ln = out[k], .embeds = emb[k] };
      dream_clip_vision_outputs vo = { .embeds = iemb[k] };
      dream_pool *pool = dream_pool_new (2);
      g_assert_true (dream_clip_text_forward (cs[k]->text, &ts, ids, ns, &to, pool, &error));
      g_assert_true (dream_clip_vision_forward (cs[k]->vision, &vs, img, 2, &vo, pool, &error));
      g_assert_no_error (error);
      dream_pool_free (pool);
      dream_clip_text_state_clear (&ts);
      dream_clip_vision_state_clear (&vs);
    }
  g_assert_cmpmem (out[0], sizeof out[0], out[1], sizeof out[1]);
  g_assert_cmpmem (emb[0], sizeof emb[0], emb[1], sizeof emb[1]);
  g_assert_cmpmem (iemb[0], sizeof iemb[0], iemb[1], sizeof iemb[1]);
  /* and F16 rounding moves the result only a little */
  float *ref = read_tensor (io, "text_pad0.encode_text", NULL);
  double d = max_abs_diff (emb[0], ref, 4 * 32);
  g_free (ref);
  g_test_message ("F16 weights: max |engine - f32 torch| = %.3g", d);
  g_assert_cmpfloat (d, <, 0.05);

  g_free (ids); g_free (img);
  dream_clip_net_free (c16); dream_clip_net_free (c32); dream_clip_net_free (clip);
  dream_st_close (f16); dream_st_close (f32); dream_st_close (file); dream_st_close (io);
  g_unlink (p16); g_unlink (p32);
  g_free (p16); g_free (p32); g_free (dir);
  remove_file_and_dir (path);
}

/* ---- the dream command ------------------------------------------------- */

static int
run_dream (char **out, char **err, ...)
{
  const char *exe = g_getenv ("DREAM_EXE");
  GPtrArray *args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) (exe ? exe : "build/cli/dream"));
  va_list ap;
  va_start (ap, err);
  const char *a;
  while ((a = va_arg (ap, const char *)))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  int status = -1;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                               NULL, out, err, &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (args, TRUE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_run_net_cli (void)
{
  char *model = golden_model ();
  char *dir = g_path_get_dirname (model);
  char *in_t = g_build_filename (dir, "in_text.safetensors", NULL);
  char *in_v = g_build_filename (dir, "in_image.safetensors", NULL);
  char *out_t = g_build_filename (dir, "out_text.safetensors", NULL);
  char *out_v = g_build_filename (dir, "out_image.safetensors", NULL);
  dream_st_file *io = open_io ();
  float *tok = read_tensor (io, "tokens_padeot", NULL), *img = read_tensor (io, "image", NULL);
  dream_st_out ti[] = { { "tokens", 2, { 4, 77 }, tok } };
  dream_st_out vi[] = { { "image", 4, { 2, 3, 32, 32 }, img } };
  g_assert_true (dream_st_write (in_t, ti, 1, NULL, NULL));
  g_assert_true (dream_st_write (in_v, vi, 1, NULL, NULL));

  char *o = NULL, *e = NULL;
  int st = run_dream (&o, &e, "run-net", "--model", model, "--net", "clip-text",
                      "--in", in_t, "--out", out_t, "--threads", "2", NULL);
  g_test_message ("run-net clip-text: %d %s", st, e);
  g_assert_cmpint (st, ==, 0);
  g_free (o); g_free (e);
  st = run_dream (&o, &e, "run-net", "--model", model, "--net", "clip-vision",
                  "--in", in_v, "--out", out_v, NULL);
  g_assert_cmpint (st, ==, 0);
  g_free (o); g_free (e);

  GError *error = NULL;
  dream_st_file *ot = dream_st_open (out_t, &error), *ov = dream_st_open (out_v, &error);
  g_assert_no_error (error);
  const size_t hs = 4 * 77 * 32;
  float *v = read_tensor (ot, "last_hidden_ln", NULL);
  expect_close ("run-net last_hidden_ln", v, io, "text_padeot.last_hidden_ln", hs, TOL);
  g_free (v);
  v = read_tensor (ot, "penultimate_hidden_ln", NULL);
  expect_close ("run-net penultimate_hidden_ln", v, io, "text_padeot.penultimate_hidden_ln", hs, TOL);
  g_free (v);
  v = read_tensor (ot, "encode_text", NULL);
  expect_close ("run-net encode_text", v, io, "text_pad0.encode_text_f64ref", 4 * 32, TOL);
  g_free (v);
  v = read_tensor (ov, "encode_image", NULL);
  expect_close ("run-net encode_image", v, io, "encode_image_f64ref", 2 * 32, TOL);
  g_free (v);
  dream_st_close (ot);
  dream_st_close (ov);

  /* errors: unknown net (usage), missing input tensor, not a CLIP file */
  st = run_dream (&o, &e, "run-net", "--model", model, "--net", "nope", "--in", in_t,
                  "--out", out_t, NULL);
  g_assert_cmpint (st, ==, 2);
  g_free (o); g_free (e);
  st = run_dream (&o, &e, "run-net", "--model", model, "--net", "clip-text", "--in", in_v,
                  "--out", out_t, NULL);
  g_assert_cmpint (st, ==, 1);
  g_assert_nonnull (strstr (e, "tokens"));
  g_free (o); g_free (e);
  st = run_dream (&o, &e, "run-net", "--model", in_t, "--net", "clip-vision", "--in", in_v,
                  "--out", out_v, NULL);
  g_assert_cmpint (st, ==, 1);
  g_free (o); g_free (e);

  /* clip-score on a photo */
  char *png = data_path ("gimp/kodim23-crop.png");
  st = run_dream (&o, &e, "clip-score", "--model", model, png, "a photo of a parrot",
                  "a red car", NULL);
  g_test_message ("clip-score:\n%s%s", o, e);
  g_assert_cmpint (st, ==, 0);
  g_assert_nonnull (strstr (o, "a red car"));
  g_free (o); g_free (e);
  char *long_caption = g_strnfill (400, 'x');
  for (int i = 1; i < 400; i += 2)
    long_caption[i] = ' ';
  st = run_dream (&o, &e, "clip-score", "--tsv", "--model", model, png, "a parrot",
                  long_caption, NULL);
  g_assert_cmpint (st, ==, 0);
  g_assert_nonnull (strstr (e, "warning"));
  char **lines = g_strsplit (o, "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, 3);   /* two lines and the end */
  g_strfreev (lines);
  g_free (o); g_free (e); g_free (long_caption); g_free (png);

  g_free (tok); g_free (img);
  dream_st_close (io);
  const char *files[] = { in_t, in_v, out_t, out_v };
  for (size_t i = 0; i < G_N_ELEMENTS (files); i++)
    g_unlink (files[i]);
  g_free (in_t); g_free (in_v); g_free (out_t); g_free (out_v); g_free (dir);
  remove_file_and_dir (model);
}

static void
test_preprocess_pillow (void)
{
  /* tests/data/clip_preprocess_ref.safetensors: Pillow's own bicubic
   * resize + torchvision's crop arithmetic + float32 normalisation
   * (tools/make_clip_preprocess_reference.py). The engine must give the
   * same 8-bit pixels, hence the same floats. */
  GError *error = NULL;
  char *path = data_path ("clip_preprocess_ref.safetensors");
  dream_st_file *f = dream_st_open (path, &error);
  g_assert_no_error (error);
  for (int i = 0;; i++)
    {
      char name[64];
      snprintf (name, sizeof name, "case%d_input", i);
      const dream_st_tensor *t = dream_st_find (f, name);
      if (!t)
        {
          g_assert_cmpint (i, >=, 5);
          break;
        }
      float *in = read_tensor (f, name, NULL);
      snprintf (name, sizeof name, "case%d_size", i);
      float *size = read_tensor (f, name, NULL);
      int n = (int) size[0];
      snprintf (name, sizeof name, "case%d_output", i);
      float *out = g_new (float, 3 * n * n);
      dream_image img = { in, (int) t->shape[1], (int) t->shape[0], (int) t->shape[2] };
      g_assert_true (dream_clip_preprocess (&img, n, out, &error));
      g_assert_no_error (error);
      g_test_message ("preprocess %dx%dx%d -> %d", img.width, img.height, img.channels, n);
      expect_close ("preprocess", out, f, name, (size_t) 3 * n * n, 1e-6);
      g_free (in); g_free (size); g_free (out);
    }
  dream_st_close (f);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip/text-golden", test_text_golden);
  g_test_add_func ("/clip/vision-golden", test_vision_golden);
  g_test_add_func ("/clip/logits-golden", test_logits_golden);
  g_test_add_func ("/clip/hf-layout", test_hf_layout);
  g_test_add_func ("/clip/sd-prefixes", test_sd_prefixes);
  g_test_add_func ("/clip/config-files", test_config_files);
  g_test_add_func ("/clip/f16-weights", test_f16_weights);
  g_test_add_func ("/clip/preprocess-pillow", test_preprocess_pillow);
  g_test_add_func ("/clip/run-net-cli", test_run_net_cli);
  g_test_add_func ("/clip/public-api", test_public_api);
  g_test_add_func ("/clip/cancel-and-bad-arguments", test_cancel_and_bad_arguments);
  return g_test_run ();
}
