/* test_sd_checkpoint.c — opening SD checkpoints as users download them
 * (io/sd_checkpoint.h): single LDM files and diffusers folders, F32, F16
 * and BF16, yaml / name / metadata hints, refusals with named messages.
 *
 * Golden case (skipped, saying so, without ../shared/data/golden): the
 * PyTorch reference weights of unet_sd1, vae and the clip text tower are
 * written at test time as one SD1-layout single file (text tower in HF
 * CLIPTextModel names under cond_stage_model.transformer.text_model.) and
 * as a diffusers folder. The diffusers names come from
 * tests/data/sd_checkpoint/ (.tsv), made by tools/make_sd_checkpoint_names.py
 * from the two architectures' construction order (independently of the
 * engine's renaming code). Through dream_sd_checkpoint_open both must give
 *   - the golden UNet output (original LDM code, float64 re-run) within
 *     3e-5, the golden VAE decode within 3e-5 and the golden CLIP
 *     last_hidden_ln within 2e-5 (the float32 / float64 gaps of the
 *     reference are ~3e-6; see test_unet.c, test_vae.c);
 *   - bit-identical outputs to each other (same weights, same code);
 *   - in F16 (diffusers) and BF16 (single file): exactly the outputs of the
 *     F32 checkpoint whose weights were rounded the same way (1e-6), and
 *     the golden output within what the rounding moves (5e-2).
 * Refusals (no data needed): SDXL, SD3, Flux, Stable Cascade, DiT, LoRA,
 * a VAE or text encoder alone, pickles, zips, GGUF, 8-channel UNets,
 * diffusers SDXL / SD3 pipelines, truncated and corrupt files, broken
 * config.json: DREAM_ERROR_MODEL with a message naming the kind.
 */
#include "io/sd_checkpoint.h"
#include "models/clip_text.h"
#include "models/unet.h"
#include "models/vae.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define UNET_TOL 3e-5
#define VAE_TOL 3e-5
#define TEXT_TOL 2e-5
#define ROUNDED_TOL 1e-6
#define HALF_TOL 5e-2

/* ---- helpers -------------------------------------------------------------- */

static void expect_refused (const char *path, int code, const char *word);

static char *
golden_path (const char *dir, const char *file)
{
  const char *shared = g_getenv ("DREAM_SHARED_DATA");
  return g_build_filename (shared ? shared : "../shared/data", "golden", dir, file, NULL);
}

static dream_st_file *
open_golden (const char *dir, const char *file)
{
  char *p = golden_path (dir, file);
  dream_st_file *f = dream_st_open (p, NULL);
  g_free (p);
  return f;
}

static char *
data_path (const char *file)
{
  const char *d = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (d ? d : "tests/data", "sd_checkpoint", file, NULL);
}

static float *
read_all (const dream_st_file *f, const char *name, const dream_st_tensor **t_out)
{
  const dream_st_tensor *t = dream_st_find (f, name);
  g_assert_nonnull (t);
  float *v = g_new (float, t->n_elements);
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, NULL));
  if (t_out)
    *t_out = t;
  return v;
}

static float *
nchw_to_nhwc (const float *x, int b, int c, int h, int w)
{
  float *y = g_new (float, (size_t) b * c * h * w);
  for (int i = 0; i < b; i++)
    for (int ch = 0; ch < c; ch++)
      for (int p = 0; p < h * w; p++)
        y[((size_t) i * h * w + p) * c + ch] = x[((size_t) i * c + ch) * h * w + p];
  return y;
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

/* float → IEEE half / bfloat16 bits, round to nearest even (normal range) */
static guint16
to_half (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  guint32 sign = (x >> 16) & 0x8000, mant = x & 0x7FFFFF;
  int exp = (int) ((x >> 23) & 0xFF) - 127 + 15;
  if ((x & 0x7FFFFFFF) == 0 || exp <= 0)
    return (guint16) sign;
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

static guint16
to_bf16 (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  x += 0x7FFF + ((x >> 16) & 1);
  return (guint16) (x >> 16);
}

static float
from_bf16 (guint16 h)
{
  guint32 x = (guint32) h << 16;
  float f;
  memcpy (&f, &x, 4);
  return f;
}

typedef enum { T_F32, T_F16, T_BF16 } wtype;

/* v as type w stores it; BF16 values below F16's normal range (2^-14)
 * are flushed to zero so that the result is exact in both 16-bit types. */
static float
rounded (float v, wtype w)
{
  if (w == T_BF16 && fabsf (v) < 0x1p-14f)
    return 0.0f;
  return w == T_F16 ? from_half (to_half (v)) : w == T_BF16 ? from_bf16 (to_bf16 (v)) : v;
}

/* A list of tensors to write (data owned). */
typedef struct {
  GArray *t;          /* dream_st_out */
  GPtrArray *bufs;
} tlist;

static void
tlist_init (tlist *l)
{
  l->t = g_array_new (FALSE, TRUE, sizeof (dream_st_out));
  l->bufs = g_ptr_array_new_with_free_func (g_free);
}

static void
tlist_clear (tlist *l)
{
  for (guint i = 0; i < l->t->len; i++)
    g_free ((char *) g_array_index (l->t, dream_st_out, i).name);
  g_array_unref (l->t);
  g_ptr_array_unref (l->bufs);
}

static void
tlist_add (tlist *l, const char *name, int n_dims, const int64_t *shape, float *data)
{
  dream_st_out o = { .name = g_strdup (name), .n_dims = n_dims, .data = data };
  for (int d = 0; d < n_dims; d++)
    o.shape[d] = shape[d];
  g_array_append_val (l->t, o);
  g_ptr_array_add (l->bufs, data);
}

/* Writes the list in F32, F16 or BF16, with optional metadata pairs. */
static void
write_typed (const char *path, const tlist *l, wtype w, const char *const *meta)
{
  if (w == T_F32)
    {
      GError *error = NULL;
      g_assert_true (dream_st_write (path, (const dream_st_out *) l->t->data, (int) l->t->len,
                                     meta, &error));
      g_assert_no_error (error);
      return;
    }
  GString *h = g_string_new ("{");
  size_t off = 0;
  for (guint i = 0; i < l->t->len; i++)
    {
      const dream_st_out *t = &g_array_index (l->t, dream_st_out, i);
      size_t count = 1;
      g_string_append_printf (h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t->name,
                              w == T_F16 ? "F16" : "BF16");
      for (int k = 0; k < t->n_dims; k++)
        {
          g_string_append_printf (h, "%s%" G_GINT64_FORMAT, k ? "," : "", t->shape[k]);
          count *= (size_t) t->shape[k];
        }
      g_string_append_printf (h, "],\"data_offsets\":[%zu,%zu]}", off, off + 2 * count);
      off += 2 * count;
    }
  if (meta && meta[0])
    {
      g_string_append (h, ",\"__metadata__\":{");
      for (int i = 0; meta[i]; i += 2)
        g_string_append_printf (h, "%s\"%s\":\"%s\"", i ? "," : "", meta[i], meta[i + 1]);
      g_string_append (h, "}");
    }
  g_string_append (h, "}");
  while (h->len % 8)
    g_string_append_c (h, ' ');
  GByteArray *b = g_byte_array_new ();
  guint64 hl = GUINT64_TO_LE (h->len);
  g_byte_array_append (b, (const guint8 *) &hl, 8);
  g_byte_array_append (b, (const guint8 *) h->str, h->len);
  for (guint i = 0; i < l->t->len; i++)
    {
      const dream_st_out *t = &g_array_index (l->t, dream_st_out, i);
      size_t count = 1;
      for (int k = 0; k < t->n_dims; k++)
        count *= (size_t) t->shape[k];
      for (size_t j = 0; j < count; j++)
        {
          guint16 v = GUINT16_TO_LE (w == T_F16 ? to_half (t->data[j]) : to_bf16 (t->data[j]));
          g_byte_array_append (b, (const guint8 *) &v, 2);
        }
    }
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, NULL));
  g_byte_array_unref (b);
  g_string_free (h, TRUE);
}

static void
write_text (const char *dir, const char *name, const char *text)
{
  char *p = g_build_filename (dir, name, NULL);
  char *d = g_path_get_dirname (p);
  g_mkdir_with_parents (d, 0755);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
  g_free (d);
  g_free (p);
}

static void
mkdir_for (const char *file)
{
  char *d = g_path_get_dirname (file);
  g_mkdir_with_parents (d, 0755);
  g_free (d);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *n;
      while (d && (n = g_dir_read_name (d)))
        {
          char *p = g_build_filename (path, n, NULL);
          remove_tree (p);
          g_free (p);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* ---- the golden checkpoint in both layouts ------------------------------- */

typedef struct {
  char *ldm, *dif;
  int third;          /* which third of an OpenAI in_proj (-1: all) */
} row;

static GPtrArray *
read_table (const char *file)
{
  char *p = data_path (file), *text = NULL;
  g_assert_true (g_file_get_contents (p, &text, NULL, NULL));
  GPtrArray *rows = g_ptr_array_new ();
  char **lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i]; i++)
    {
      char **f = g_strsplit (lines[i], "\t", 3);
      if (g_strv_length (f) == 3)
        {
          row *r = g_new (row, 1);
          r->ldm = g_strdup (f[0]);
          r->dif = g_strdup (f[1]);
          r->third = atoi (f[2]);
          g_ptr_array_add (rows, r);
        }
      g_strfreev (f);
    }
  g_strfreev (lines);
  g_free (text);
  g_free (p);
  g_assert_cmpuint (rows->len, >, 10);
  return rows;
}

static void
free_table (GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    {
      row *r = rows->pdata[i];
      g_free (r->ldm);
      g_free (r->dif);
      g_free (r);
    }
  g_ptr_array_unref (rows);
}

/* Adds a golden tensor, rounded as w will store it, to the single-file
 * list under prefix + ldm name and to the diffusers list under dif. */
static void
add_pair (tlist *single, tlist *dif, const dream_st_file *src, const row *r,
          const char *single_prefix, wtype w_round, gboolean squeeze)
{
  const dream_st_tensor *t = dream_st_find (src, r->ldm);
  g_assert_nonnull (t);
  float *v = read_all (src, r->ldm, NULL);
  int n_dims = t->n_dims;
  int64_t shape[DREAM_ST_MAX_DIMS];
  memcpy (shape, t->shape, sizeof shape);
  size_t n = (size_t) t->n_elements;
  float *part = v;
  if (r->third >= 0)
    {
      shape[0] /= 3;
      n /= 3;
      part = g_memdup2 (v + (size_t) r->third * n, n * sizeof (float));
      g_free (v);
    }
  /* both files get the same values, rounded to w_round */
  for (size_t i = 0; i < n; i++)
    part[i] = rounded (part[i], w_round);
  char *sname = g_strconcat (single_prefix, r->ldm, NULL);
  if (r->third >= 0 || g_str_has_prefix (r->dif, "text_model."))
    {
      g_free (sname);
      sname = g_strconcat ("cond_stage_model.transformer.", r->dif, NULL);
    }
  tlist_add (single, sname, n_dims, shape, g_memdup2 (part, n * sizeof (float)));
  g_free (sname);
  if (squeeze && n_dims == 4 && shape[2] == 1 && shape[3] == 1)
    n_dims = 2;   /* diffusers' VAE attention is Linear */
  tlist_add (dif, r->dif, n_dims, shape, part);
}

static const char UNET_CONFIG[] =
  "{\"_class_name\": \"UNet2DConditionModel\", \"act_fn\": \"silu\", \"attention_head_dim\": 4,"
  " \"block_out_channels\": [32, 64], \"cross_attention_dim\": 32, \"in_channels\": 4,"
  " \"out_channels\": 4, \"layers_per_block\": 1, \"sample_size\": 8,"
  " \"down_block_types\": [\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\"],"
  " \"up_block_types\": [\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"],"
  " \"use_linear_projection\": false, \"num_attention_heads\": null}";
static const char VAE_CONFIG[] =
  "{\"_class_name\": \"AutoencoderKL\", \"block_out_channels\": [32, 64], \"in_channels\": 3,"
  " \"latent_channels\": 4, \"layers_per_block\": 1, \"scaling_factor\": 0.18215}";
static const char TEXT_CONFIG[] =
  "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": \"quick_gelu\", \"hidden_size\": 32,"
  " \"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"layer_norm_eps\": 1e-05,"
  " \"vocab_size\": 49408}";
static const char SCHED_CONFIG[] =
  "{\"_class_name\": \"PNDMScheduler\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
  " \"beta_schedule\": \"scaled_linear\", \"num_train_timesteps\": 1000,"
  " \"prediction_type\": \"epsilon\"}";
static const char INDEX[] =
  "{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
  " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],"
  " \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"], \"scheduler\": [\"diffusers\", \"PNDMScheduler\"]}";
static const char YAML[] =
  "model:\n  params:\n    parameterization: eps\n    unet_config:\n      params:\n        num_heads: 4\n";

/* Writes dir/single.safetensors (+ single.yaml) and dir/diffusers/; FALSE
 * (test skipped) without the golden data. */
static gboolean
build_golden (const char *dir, wtype w_single, wtype w_dif, wtype w_round)
{
  dream_st_file *u = open_golden ("unet_sd1", "model.safetensors");
  dream_st_file *v = open_golden ("vae", "model.safetensors");
  dream_st_file *c = open_golden ("clip", "model.safetensors");
  gboolean ok = u && v && c;
  if (ok)
    {
      tlist single, du, dv, dt;
      tlist_init (&single); tlist_init (&du); tlist_init (&dv); tlist_init (&dt);
      GPtrArray *tu = read_table ("unet_sd1.tsv"), *tv = read_table ("vae.tsv"),
                *tc = read_table ("clip_text_hf.tsv");
      for (guint i = 0; i < tu->len; i++)
        add_pair (&single, &du, u, tu->pdata[i], "model.diffusion_model.", w_round, FALSE);
      for (guint i = 0; i < tv->len; i++)
        add_pair (&single, &dv, v, tv->pdata[i], "first_stage_model.", w_round, TRUE);
      for (guint i = 0; i < tc->len; i++)
        add_pair (&single, &dt, c, tc->pdata[i], "", w_round, FALSE);
      char *p = g_build_filename (dir, "single.safetensors", NULL);
      const char *meta[] = { "text_heads", "4", NULL };
      write_typed (p, &single, w_single, meta);
      g_free (p);
      write_text (dir, "single.yaml", YAML);
      write_text (dir, "diffusers/model_index.json", INDEX);
      write_text (dir, "diffusers/unet/config.json", UNET_CONFIG);
      write_text (dir, "diffusers/vae/config.json", VAE_CONFIG);
      write_text (dir, "diffusers/text_encoder/config.json", TEXT_CONFIG);
      write_text (dir, "diffusers/scheduler/scheduler_config.json", SCHED_CONFIG);
      const char *suffix = w_dif == T_F16 ? ".fp16.safetensors" : ".safetensors";
      char *un = g_strconcat ("diffusion_pytorch_model", suffix, NULL);
      char *tn = g_strconcat ("model", suffix, NULL);
      p = g_build_filename (dir, "diffusers", "unet", un, NULL);
      write_typed (p, &du, w_dif, NULL);
      g_free (p);
      p = g_build_filename (dir, "diffusers", "vae", un, NULL);
      write_typed (p, &dv, w_dif, NULL);
      g_free (p);
      p = g_build_filename (dir, "diffusers", "text_encoder", tn, NULL);
      write_typed (p, &dt, w_dif, NULL);
      g_free (p);
      g_free (un);
      g_free (tn);
      free_table (tu); free_table (tv); free_table (tc);
      tlist_clear (&single); tlist_clear (&du); tlist_clear (&dv); tlist_clear (&dt);
    }
  else
    g_test_skip ("golden data not found (../shared/data/golden or DREAM_SHARED_DATA): skipped");
  dream_st_close (u);
  dream_st_close (v);
  dream_st_close (c);
  return ok;
}

/* The outputs of one checkpoint on the golden inputs. */
typedef struct {
  float *unet;      /* (2, 8, 8, 4) */
  float *decoded;   /* (2, 16, 16, 3) */
  float *text;      /* (4, 77, 32) last_hidden_ln */
  size_t n_unet, n_decoded, n_text;
} outputs;

static void
outputs_clear (outputs *o)
{
  g_free (o->unet);
  g_free (o->decoded);
  g_free (o->text);
}

static void
run_checkpoint (const char *path, outputs *o, dream_sd_checkpoint *ck_out)
{
  GError *error = NULL;
  dream_sd_checkpoint ck;
  g_assert_true (dream_sd_checkpoint_open (&ck, path, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %s", path, ck.kind);
  dream_pool *pool = dream_pool_new (2);

  /* UNet */
  dream_st_file *io = open_golden ("unet_sd1", "io.safetensors");
  g_assert_nonnull (io);
  float *xn = read_all (io, "x", NULL), *t = read_all (io, "timesteps", NULL);
  float *ctx = read_all (io, "context", NULL);
  float *x = nchw_to_nhwc (xn, 2, 4, 8, 8);
  dream_unet *net = dream_unet_load (ck.file, &ck.config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (net);
  g_assert_cmpint (net->input[1].layers[1].xf.heads, ==, 4);
  dream_unet_state s;
  g_assert_true (dream_unet_state_init (&s, net, 2, 8, 8, 77, dream_pool_n_threads (pool), &error));
  o->n_unet = 2 * 8 * 8 * 4;
  o->unet = g_new (float, o->n_unet);
  g_assert_true (dream_unet_forward (net, &s, x, t, ctx, o->unet, pool, NULL, 0.0, &error));
  g_assert_no_error (error);
  dream_unet_state_clear (&s);
  dream_unet_free (net);
  g_free (xn); g_free (x); g_free (t); g_free (ctx);
  dream_st_close (io);

  /* VAE decode */
  io = open_golden ("vae", "io.safetensors");
  float *zn = read_all (io, "z", NULL), *z = nchw_to_nhwc (zn, 2, 4, 8, 8);
  dream_vae *vae = dream_vae_load (ck.file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vae);
  dream_vae_state vs;
  g_assert_true (dream_vae_state_init (&vs, vae, DREAM_VAE_DECODE, 2, 8, 8,
                                       dream_pool_n_threads (pool), &error));
  o->n_decoded = 2 * 16 * 16 * 3;
  o->decoded = g_new (float, o->n_decoded);
  g_assert_true (dream_vae_decode (vae, &vs, z, o->decoded, pool, NULL, 0.0, &error));
  g_assert_no_error (error);
  dream_vae_state_clear (&vs);
  dream_vae_free (vae);
  g_free (zn); g_free (z);
  dream_st_close (io);

  /* text encoder: HF layout, padded with <|endoftext|> as SD1 does */
  io = open_golden ("clip", "io.safetensors");
  float *tokf = read_all (io, "tokens_padeot", NULL);
  gint32 tokens[4 * 77];
  for (int i = 0; i < 4 * 77; i++)
    tokens[i] = (gint32) tokf[i];
  dream_clip_text *te = dream_clip_text_load (ck.file, ck.text_prefix, &ck.text_hints, &error);
  g_assert_no_error (error);
  g_assert_nonnull (te);
  g_assert_cmpint (te->layout, ==, DREAM_CLIP_LAYOUT_HF);
  dream_clip_text_state ts;
  g_assert_true (dream_clip_text_state_init (&ts, te, 4, dream_pool_n_threads (pool), &error));
  o->n_text = 4 * 77 * 32;
  o->text = g_new (float, o->n_text);
  dream_clip_text_outputs want = { 0 };
  if (ck.text_penultimate)
    want.penultimate_hidden_ln = o->text;
  else
    want.last_hidden_ln = o->text;
  g_assert_true (dream_clip_text_forward (te, &ts, tokens, 4, &want, pool, &error));
  g_assert_no_error (error);
  dream_clip_text_state_clear (&ts);
  dream_clip_text_free (te);
  g_free (tokf);
  dream_st_close (io);

  dream_pool_free (pool);
  if (ck_out)
    *ck_out = ck;
  else
    dream_sd_checkpoint_close (&ck);
}

/* Golden references in HWC. */
static void
golden_refs (float **unet, float **decoded, float **text)
{
  dream_st_file *io = open_golden ("unet_sd1", "io.safetensors");
  float *r = read_all (io, "out_f64ref", NULL);
  *unet = nchw_to_nhwc (r, 2, 4, 8, 8);
  g_free (r);
  dream_st_close (io);
  io = open_golden ("vae", "io.safetensors");
  r = read_all (io, "decoded_f64ref", NULL);
  *decoded = nchw_to_nhwc (r, 2, 3, 16, 16);
  g_free (r);
  dream_st_close (io);
  io = open_golden ("clip", "io.safetensors");
  *text = read_all (io, "text_padeot.last_hidden_ln", NULL);
  dream_st_close (io);
}

static void
compare_golden (const char *what, const outputs *o, double unet_tol, double vae_tol, double text_tol)
{
  float *ru, *rd, *rt;
  golden_refs (&ru, &rd, &rt);
  double du = max_abs_diff (o->unet, ru, o->n_unet);
  double dd = max_abs_diff (o->decoded, rd, o->n_decoded);
  double dt = max_abs_diff (o->text, rt, o->n_text);
  g_test_message ("%s vs PyTorch f64: UNet %.3g, VAE decode %.3g, text %.3g", what, du, dd, dt);
  g_assert_cmpfloat (du, <, unet_tol);
  g_assert_cmpfloat (dd, <, vae_tol);
  g_assert_cmpfloat (dt, <, text_tol);
  g_free (ru); g_free (rd); g_free (rt);
}

static void
test_golden_f32 (void)
{
  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  if (build_golden (dir, T_F32, T_F32, T_F32))
    {
      char *single = g_build_filename (dir, "single.safetensors", NULL);
      char *dif = g_build_filename (dir, "diffusers", NULL);
      outputs a = { 0 }, b = { 0 };
      dream_sd_checkpoint ca, cb;
      run_checkpoint (single, &a, &ca);
      run_checkpoint (dif, &b, &cb);
      g_assert_cmpstr (ca.kind, ==, "SD 1.x");
      g_assert_cmpstr (cb.kind, ==, "SD 1.x");
      g_assert_false (ca.diffusers);
      g_assert_true (cb.diffusers);
      g_assert_cmpint (ca.family, ==, DREAM_SD_FAMILY_SD1);
      g_assert_cmpint (cb.family, ==, DREAM_SD_FAMILY_SD1);
      g_assert_cmpint (ca.config.num_heads, ==, 4);   /* from single.yaml */
      g_assert_cmpint (cb.config.num_heads, ==, 4);   /* from unet/config.json */
      g_assert_cmpint (cb.config.context_dim, ==, 32);
      g_assert_cmpint (cb.native_size, ==, 64);       /* sample_size 8 × 8 */
      g_assert_false (ca.v_prediction || cb.v_prediction);
      g_assert_false (ca.text_penultimate || cb.text_penultimate);
      g_assert_cmpint (ca.text_pad_id, ==, 49407);
      g_assert_cmpint (cb.text_pad_id, ==, 49407);
      g_assert_cmpint (ca.default_steps, ==, 20);
      dream_sd_checkpoint_close (&ca);
      dream_sd_checkpoint_close (&cb);
      compare_golden ("single file", &a, UNET_TOL, VAE_TOL, TEXT_TOL);
      compare_golden ("diffusers", &b, UNET_TOL, VAE_TOL, TEXT_TOL);
      g_assert_cmpmem (a.unet, a.n_unet * 4, b.unet, b.n_unet * 4);
      g_assert_cmpmem (a.decoded, a.n_decoded * 4, b.decoded, b.n_decoded * 4);
      g_assert_cmpmem (a.text, a.n_text * 4, b.text, b.n_text * 4);

      /* model_index.json and the unet/ folder open the same folder */
      char *index = g_build_filename (dif, "model_index.json", NULL);
      char *unet = g_build_filename (dif, "unet", NULL);
      dream_sd_checkpoint c;
      GError *error = NULL;
      g_assert_true (dream_sd_checkpoint_open (&c, index, NULL, &error));
      g_assert_true (c.diffusers);
      dream_sd_checkpoint_close (&c);
      g_assert_true (dream_sd_checkpoint_open (&c, unet, NULL, &error));
      g_assert_true (c.diffusers);
      dream_sd_checkpoint_close (&c);
      /* a component's weight file opens its folder; alone it is named */
      char *uw = g_build_filename (unet, "diffusion_pytorch_model.safetensors", NULL);
      g_assert_true (dream_sd_checkpoint_open (&c, uw, NULL, &error));
      g_assert_true (c.diffusers);
      g_assert_cmpstr (c.kind, ==, "SD 1.x");
      dream_sd_checkpoint_close (&c);
      char *lone = g_build_filename (dir, "unet.safetensors", NULL);
      char *bytes;
      gsize len;
      g_assert_true (g_file_get_contents (uw, &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (lone, bytes, (gssize) len, NULL));
      expect_refused (lone, DREAM_ERROR_MODEL, "diffusers UNet file alone");
      g_free (bytes);
      g_free (lone);
      g_free (uw);
      g_free (index);
      g_free (unet);

      /* older SD1 files: the text tower without "text_model." */
      dream_st_file *f = dream_st_open (single, &error);
      g_assert_no_error (error);
      tlist old;
      tlist_init (&old);
      for (int i = 0; i < dream_st_count (f); i++)
        {
          const dream_st_tensor *ti = dream_st_get (f, i);
          const char *pre = "cond_stage_model.transformer.text_model.";
          char *name = g_str_has_prefix (ti->name, pre)
            ? g_strconcat ("cond_stage_model.transformer.", ti->name + strlen (pre), NULL)
            : g_strdup (ti->name);
          tlist_add (&old, name, ti->n_dims, ti->shape, read_all (f, ti->name, NULL));
          g_free (name);
        }
      dream_st_close (f);
      char *oldp = g_build_filename (dir, "old.safetensors", NULL);
      const char *meta[] = { "text_heads", "4", "config", "{\"num_heads\": 4}", NULL };
      write_typed (oldp, &old, T_F32, meta);
      tlist_clear (&old);
      outputs o = { 0 };
      run_checkpoint (oldp, &o, NULL);
      g_assert_cmpmem (a.text, a.n_text * 4, o.text, o.n_text * 4);
      g_assert_cmpmem (a.unet, a.n_unet * 4, o.unet, o.n_unet * 4);
      outputs_clear (&o);
      g_free (oldp);

      outputs_clear (&a);
      outputs_clear (&b);
      g_free (single);
      g_free (dif);
    }
  remove_tree (dir);
  g_free (dir);
}

/* A BF16 single file and an F16 diffusers folder holding the golden
 * weights rounded to BF16 (exact in both types at these magnitudes),
 * against F32 files holding the same rounded values. */
static void
run_rounded (wtype w_single, wtype w_dif, wtype w_round)
{
  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  char *dir32 = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  if (build_golden (dir, w_single, w_dif, w_round) && build_golden (dir32, T_F32, T_F32, w_round))
    {
      char *single = g_build_filename (dir, "single.safetensors", NULL);
      char *dif = g_build_filename (dir, "diffusers", NULL);
      char *single32 = g_build_filename (dir32, "single.safetensors", NULL);
      outputs a = { 0 }, b = { 0 }, r = { 0 };
      run_checkpoint (single, &a, NULL);
      run_checkpoint (dif, &b, NULL);
      run_checkpoint (single32, &r, NULL);
      const outputs *o[2] = { &a, &b };
      for (int i = 0; i < 2; i++)
        {
          double du = max_abs_diff (o[i]->unet, r.unet, r.n_unet);
          double dd = max_abs_diff (o[i]->decoded, r.decoded, r.n_decoded);
          double dt = max_abs_diff (o[i]->text, r.text, r.n_text);
          g_test_message ("%s vs F32 of the same values: UNet %.3g, VAE %.3g, text %.3g",
                          i ? "F16 diffusers" : "BF16 single file", du, dd, dt);
          g_assert_cmpfloat (du, <, ROUNDED_TOL);
          g_assert_cmpfloat (dd, <, ROUNDED_TOL);
          g_assert_cmpfloat (dt, <, ROUNDED_TOL);
        }
      compare_golden ("BF16-rounded weights", &a, HALF_TOL, HALF_TOL, HALF_TOL);
      outputs_clear (&a);
      outputs_clear (&b);
      outputs_clear (&r);
      g_free (single);
      g_free (dif);
      g_free (single32);
    }
  remove_tree (dir);
  remove_tree (dir32);
  g_free (dir);
  g_free (dir32);
}

static void
test_golden_bf16_f16 (void)
{
  run_rounded (T_BF16, T_F16, T_BF16);
}

/* ---- hints: yaml next to the file, names, metadata ------------------------ */

/* A minimal full SD2-layout single file from the golden unet_sd2, vae and
 * clip (OpenAI layout under cond_stage_model.model.). */
static gboolean
build_sd2 (const char *path, int in_ch, const char *const *meta, float out_bias)
{
  dream_st_file *u = open_golden ("unet_sd2", "model.safetensors");
  dream_st_file *v = open_golden ("vae", "model.safetensors");
  dream_st_file *c = open_golden ("clip", "model.safetensors");
  gboolean ok = u && v && c;
  if (ok)
    {
      tlist l;
      tlist_init (&l);
      const struct { dream_st_file *f; const char *prefix; } src[] = {
        { u, "model.diffusion_model." }, { v, "first_stage_model." }, { c, "cond_stage_model.model." },
      };
      for (size_t s = 0; s < G_N_ELEMENTS (src); s++)
        for (int i = 0; i < dream_st_count (src[s].f); i++)
          {
            const dream_st_tensor *t = dream_st_get (src[s].f, i);
            if (g_str_has_prefix (t->name, "visual.") || !strcmp (t->name, "logit_scale"))
              continue;
            float *d = read_all (src[s].f, t->name, NULL);
            int64_t shape[DREAM_ST_MAX_DIMS];
            memcpy (shape, t->shape, sizeof shape);
            if (src[s].f == u && !strcmp (t->name, "input_blocks.0.0.weight") && in_ch != 4)
              {
                shape[1] = in_ch;   /* inpainting: more input channels */
                float *wide = g_new0 (float, shape[0] * in_ch * 9);
                for (int o = 0; o < shape[0]; o++)
                  for (int k = 0; k < 4 * 9; k++)
                    wide[(o * in_ch) * 9 + k] = d[o * 4 * 9 + k];
                g_free (d);
                d = wide;
              }
            /* a UNet whose output is out_bias everywhere */
            if (src[s].f == u && !isnan (out_bias) && !strcmp (t->name, "out.2.weight"))
              memset (d, 0, t->n_elements * sizeof (float));
            if (src[s].f == u && !isnan (out_bias) && !strcmp (t->name, "out.2.bias"))
              for (int k = 0; k < t->n_elements; k++)
                d[k] = out_bias;
            char *name = g_strconcat (src[s].prefix, t->name, NULL);
            tlist_add (&l, name, t->n_dims, shape, d);
            g_free (name);
          }
      write_typed (path, &l, T_F32, meta);
      tlist_clear (&l);
    }
  else
    g_test_skip ("golden data not found (../shared/data/golden or DREAM_SHARED_DATA): skipped");
  dream_st_close (u);
  dream_st_close (v);
  dream_st_close (c);
  return ok;
}

static void
expect_kind (const char *path, const char *kind, gboolean v, int size, gboolean turbo,
             gboolean guessed)
{
  dream_sd_checkpoint ck;
  GError *error = NULL;
  g_assert_true (dream_sd_checkpoint_open (&ck, path, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s → %s, native %d", path, ck.kind, ck.native_size);
  g_assert_cmpstr (ck.kind, ==, kind);
  g_assert_cmpint (ck.v_prediction, ==, v);
  g_assert_cmpint (ck.config.prediction, ==, v ? DREAM_PREDICTION_V : DREAM_PREDICTION_EPS);
  g_assert_cmpint (ck.native_size, ==, size);
  g_assert_cmpint (ck.turbo, ==, turbo);
  g_assert_cmpint (ck.prediction_guessed, ==, guessed);
  g_assert_cmpint (ck.family, ==, DREAM_SD_FAMILY_SD2);
  g_assert_cmpstr (ck.text_prefix, ==, "cond_stage_model.model.");
  g_assert_true (ck.text_penultimate);
  g_assert_cmpint (ck.text_pad_id, ==, 0);
  g_assert_cmpint (ck.text_hints.act, ==, DREAM_NN_ACT_GELU);
  if (turbo)
    {
      g_assert_cmpint (ck.default_steps, ==, 1);
      g_assert_cmpfloat (ck.default_cfg, ==, 1.0);
      g_assert_cmpstr (ck.default_sampler, ==, "turbo");
    }
  /* the UNet loads from it (heads: SD2 default 64 per head does not split
   * 32 channels, so the yaml / metadata must say 8 — see below) */
  dream_sd_checkpoint_close (&ck);
}

static void
test_hints (void)
{
  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  char *p512 = g_build_filename (dir, "v2-1_512-ema-pruned.safetensors", NULL);
  char *p768 = g_build_filename (dir, "v2-1_768-ema-pruned.safetensors", NULL);
  char *pturbo = g_build_filename (dir, "sd_turbo.safetensors", NULL);
  char *pinp = g_build_filename (dir, "512-inpainting-ema.safetensors", NULL);
  char *pspec = g_build_filename (dir, "custom.safetensors", NULL);
  const char *spec[] = { "modelspec.prediction_type", "v", "modelspec.resolution", "768x768", NULL };
  if (build_sd2 (p512, 4, NULL, NAN) && build_sd2 (p768, 4, NULL, NAN)
      && build_sd2 (pturbo, 4, NULL, NAN) && build_sd2 (pinp, 9, NULL, NAN)
      && build_sd2 (pspec, 4, spec, NAN))
    {
      expect_kind (p512, "SD 2.x 512", FALSE, 512, FALSE, TRUE);
      expect_kind (p768, "SD 2.x 768 (v-prediction)", TRUE, 768, FALSE, TRUE);
      expect_kind (pturbo, "SD-Turbo", FALSE, 512, TRUE, TRUE);
      expect_kind (pinp, "SD 2.x inpainting", FALSE, 512, FALSE, TRUE);
      expect_kind (pspec, "SD 2.x 768 (v-prediction)", TRUE, 768, FALSE, FALSE);

      /* a yaml next to the file beats the name: ε, and the heads the
       * golden UNet has (num_head_channels 8) */
      write_text (dir, "v2-1_768-ema-pruned.yaml",
                  "model:\n  params:\n    parameterization: eps\n    unet_config:\n      params:\n"
                  "        num_head_channels: 8\n        use_linear_in_transformer: true\n");
      dream_sd_checkpoint ck;
      GError *error = NULL;
      g_assert_true (dream_sd_checkpoint_open (&ck, p768, NULL, &error));
      g_assert_cmpint (ck.config.prediction, ==, DREAM_PREDICTION_EPS);
      g_assert_false (ck.prediction_guessed);
      g_assert_cmpint (ck.config.num_head_channels, ==, 8);
      g_assert_cmpstr (ck.kind, ==, "SD 2.x 768");   /* the name still says 768 */
      dream_unet *net = dream_unet_load (ck.file, &ck.config, &error);
      g_assert_no_error (error);
      g_assert_cmpint (net->input[1].layers[1].xf.heads, ==, 4);
      dream_unet_free (net);
      dream_sd_checkpoint_close (&ck);

      /* an explicit config (v) beats both */
      char *vyaml = g_build_filename (dir, "other.yaml", NULL);
      write_text (dir, "other.yaml", "model:\n  params:\n    parameterization: v\n");
      g_assert_true (dream_sd_checkpoint_open (&ck, p512, vyaml, &error));
      g_assert_true (ck.v_prediction);
      g_assert_cmpstr (ck.kind, ==, "SD 2.x 768 (v-prediction)");
      dream_sd_checkpoint_close (&ck);
      /* a broken yaml is an error, nothing opened */
      write_text (dir, "other.yaml", "model: [unclosed\n");
      g_assert_false (dream_sd_checkpoint_open (&ck, p512, vyaml, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
      g_assert_null (ck.file);
      g_clear_error (&error);
      g_free (vyaml);

      /* 9-channel inpainting UNet loads */
      g_assert_true (dream_sd_checkpoint_open (&ck, pinp, NULL, &error));
      g_assert_true (ck.inpainting);
      ck.config.num_head_channels = 8;
      net = dream_unet_load (ck.file, &ck.config, &error);
      g_assert_no_error (error);
      g_assert_cmpint (net->in_channels, ==, 9);
      dream_unet_free (net);
      dream_sd_checkpoint_close (&ck);
    }
  remove_tree (dir);
  g_free (p512); g_free (p768); g_free (pturbo); g_free (pinp); g_free (pspec);
  g_free (dir);
}

/* The ε / v test run on UNets whose output is a known constant c
 * (out.2 weights zeroed, bias c): mean (out − 0.5) = c − 0.5, v below −1. */
static void
test_probe_prediction (void)
{
  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  static const struct { float bias; gboolean v; const char *kind; } cases[] = {
    { -2.0f, TRUE, "SD 2.x 768 (v-prediction)" }, { 0.0f, FALSE, "SD 2.x 512" },
    { -0.4f, FALSE, "SD 2.x 512" }, { -0.6f, TRUE, "SD 2.x 768 (v-prediction)" },
  };
  char *p = g_build_filename (dir, "finetune.safetensors", NULL);
  const char *heads[] = { "config", "{\"num_head_channels\": 8}", NULL };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (!build_sd2 (p, 4, heads, cases[i].bias))
        break;
      dream_sd_checkpoint ck;
      GError *error = NULL;
      g_assert_true (dream_sd_checkpoint_open (&ck, p, NULL, &error));
      g_assert_true (ck.prediction_guessed);
      g_assert_cmpstr (ck.kind, ==, "SD 2.x 512");
      dream_unet *unet = dream_unet_load (ck.file, &ck.config, &error);
      g_assert_no_error (error);
      dream_pool *pool = dream_pool_new (1);
      g_assert_true (dream_sd_checkpoint_probe_prediction (&ck, unet, pool, &error));
      g_assert_no_error (error);
      g_test_message ("out.2 bias %g: mean (out - x) = %g → %s", cases[i].bias,
                      ck.prediction_probe, ck.kind);
      g_assert_cmpfloat (fabs (ck.prediction_probe - (cases[i].bias - 0.5)), <, 1e-6);
      g_assert_cmpint (ck.v_prediction, ==, cases[i].v);
      g_assert_cmpstr (ck.kind, ==, cases[i].kind);
      g_assert_false (ck.prediction_guessed);
      /* once known, a second call changes nothing */
      ck.prediction_probe = 42.0;
      g_assert_true (dream_sd_checkpoint_probe_prediction (&ck, unet, pool, &error));
      g_assert_cmpfloat (ck.prediction_probe, ==, 42.0);
      dream_pool_free (pool);
      dream_unet_free (unet);
      dream_sd_checkpoint_close (&ck);
    }
  g_free (p);
  remove_tree (dir);
  g_free (dir);
}

/* ---- refusals ---------------------------------------------------------------- */

/* A tiny file holding one-element tensors with these names. */
static void
write_names (const char *path, const char *const *names, const int64_t *conv_in_shape)
{
  tlist l;
  tlist_init (&l);
  for (int i = 0; names[i]; i++)
    {
      if (conv_in_shape && g_str_has_suffix (names[i], "input_blocks.0.0.weight"))
        {
          int64_t n = conv_in_shape[0] * conv_in_shape[1] * 9;
          tlist_add (&l, names[i], 4, (int64_t[]) { conv_in_shape[0], conv_in_shape[1], 3, 3 },
                     g_new0 (float, n));
        }
      else
        tlist_add (&l, names[i], 1, (int64_t[]) { 1 }, g_new0 (float, 1));
    }
  write_typed (path, &l, T_F32, NULL);
  tlist_clear (&l);
}

static void
expect_refused (const char *path, int code, const char *word)
{
  dream_sd_checkpoint ck;
  GError *error = NULL;
  g_assert_false (dream_sd_checkpoint_open (&ck, path, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, DREAM_ERROR, code);
  if (word && !strstr (error->message, word))
    g_error ("message '%s' does not name '%s'", error->message, word);
  g_assert_null (ck.file);
  g_assert_null (ck.kind);
  g_clear_error (&error);
}

static void
test_unsupported (void)
{
  static const struct { const char *word; const char *names[4]; } cases[] = {
    { "SDXL", { "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
                "model.diffusion_model.input_blocks.0.0.weight", NULL } },
    { "class-conditioned", { "model.diffusion_model.label_emb.0.0.weight",
                "model.diffusion_model.input_blocks.0.0.weight", NULL } },
    { "Stable Diffusion 3", { "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight",
                              "model.diffusion_model.x_embedder.proj.weight", NULL } },
    { "Flux", { "double_blocks.0.img_attn.qkv.weight", "single_blocks.0.linear1.weight", NULL } },
    { "Flux", { "model.diffusion_model.double_blocks.0.img_attn.qkv.weight", NULL } },
    { "Stable Cascade", { "clip_txt_mapper.weight", "down_blocks.0.0.channelwise.0.weight", NULL } },
    { "DiT", { "x_embedder.proj.weight", "t_embedder.mlp.0.weight", "blocks.0.attn.qkv.weight", NULL } },
    { "LoRA", { "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight",
                "lora_unet_down_blocks_0_attentions_0_proj_in.alpha", NULL } },
    { "LoRA", { "unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", NULL } },
    { "VAE alone", { "encoder.conv_in.weight", "decoder.conv_in.weight", NULL } },
    { "VAE alone", { "first_stage_model.decoder.conv_in.weight", NULL } },
    { "text encoder alone", { "text_model.embeddings.token_embedding.weight", NULL } },
    { "UNet alone", { "input_blocks.0.0.weight", "time_embed.0.weight", NULL } },
    { "without its VAE", { "model.diffusion_model.input_blocks.0.0.weight",
                           "cond_stage_model.model.token_embedding.weight", NULL } },
    { "no Stable Diffusion", { "conv1.weight", NULL } },
  };
  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  char *p = g_build_filename (dir, "m.safetensors", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      write_names (p, cases[i].names, NULL);
      expect_refused (p, DREAM_ERROR_MODEL, cases[i].word);
    }

  /* 8 input channels (InstructPix2Pix), and a full set of parts */
  const char *ip2p[] = { "model.diffusion_model.input_blocks.0.0.weight",
                         "first_stage_model.decoder.conv_in.weight",
                         "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
                         NULL };
  write_names (p, ip2p, (int64_t[]) { 32, 8 });
  expect_refused (p, DREAM_ERROR_MODEL, "InstructPix2Pix");

  /* not safetensors at all */
  static const struct { const char *bytes; int len; const char *word; } raw[] = {
    { "PK\003\004\024\000\000\000", 8, "pickle" },
    { "\200\002}q\000(X\004\000", 8, "pickle" },
    { "GGUF\003\000\000\000", 8, "GGUF" },
    { "\010\000\000\000\000\000\000\000{", 9, NULL },   /* truncated header */
  };
  for (size_t i = 0; i < G_N_ELEMENTS (raw); i++)
    {
      g_assert_true (g_file_set_contents (p, raw[i].bytes, raw[i].len, NULL));
      expect_refused (p, DREAM_ERROR_MODEL, raw[i].word);
    }

  /* a truncated checkpoint: its data cut short */
  write_names (p, ip2p, (int64_t[]) { 32, 4 });
  char *text;
  gsize len;
  g_assert_true (g_file_get_contents (p, &text, &len, NULL));
  g_assert_true (g_file_set_contents (p, text, (gssize) len - 100, NULL));
  g_free (text);
  expect_refused (p, DREAM_ERROR_MODEL, "truncated");

  /* missing file, folder without model_index.json */
  char *missing = g_build_filename (dir, "none.safetensors", NULL);
  expect_refused (missing, DREAM_ERROR_IO, NULL);
  g_free (missing);
  expect_refused (dir, DREAM_ERROR_MODEL, "model_index.json");

  /* diffusers pipelines of other families; broken configs */
  char *d = g_build_filename (dir, "pipe", NULL);
  write_text (d, "model_index.json", "{\"_class_name\": \"StableDiffusionXLPipeline\"}");
  expect_refused (d, DREAM_ERROR_MODEL, "SDXL");
  write_text (d, "model_index.json", "{\"_class_name\": \"StableDiffusion3Pipeline\"}");
  expect_refused (d, DREAM_ERROR_MODEL, "Stable Diffusion 3");
  write_text (d, "model_index.json", "{\"_class_name\": \"FluxPipeline\", \"transformer\": []}");
  expect_refused (d, DREAM_ERROR_MODEL, "Flux");
  write_text (d, "model_index.json", "{\"_class_name\": \"X\", \"text_encoder_2\": []}");
  expect_refused (d, DREAM_ERROR_MODEL, "SDXL");
  write_text (d, "model_index.json", "{\"_class_name\": \"StableDiffusionPipeline\"");
  expect_refused (d, DREAM_ERROR_MODEL, "model_index.json");
  write_text (d, "model_index.json", INDEX);
  expect_refused (d, DREAM_ERROR_MODEL, "unet/");
  write_text (d, "unet/config.json", "{\"block_out_channels\": \"wide\"}");
  write_text (d, "vae/config.json", VAE_CONFIG);
  write_text (d, "text_encoder/config.json", TEXT_CONFIG);
  expect_refused (d, DREAM_ERROR_MODEL, "block_out_channels");
  write_text (d, "unet/config.json", UNET_CONFIG);
  expect_refused (d, DREAM_ERROR_MODEL, "diffusion_pytorch_model.safetensors");
  write_text (d, "unet/diffusion_pytorch_model.bin", "\200\002");
  expect_refused (d, DREAM_ERROR_MODEL, "pickle");
  g_free (d);

  remove_tree (dir);
  g_free (p);
  g_free (dir);
}

/* A diffusers folder whose config disagrees with its weights, and one
 * with a tensor no SD UNet has. */
static void
test_diffusers_mismatch (void)
{
  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  if (build_golden (dir, T_F32, T_F32, T_F32))
    {
      char *d = g_build_filename (dir, "diffusers", NULL);
      char *bad = g_strdup (UNET_CONFIG);
      char *at = strstr (bad, "\"cross_attention_dim\": 32");
      memcpy (at, "\"cross_attention_dim\": 64", strlen ("\"cross_attention_dim\": 64"));
      write_text (d, "unet/config.json", bad);
      expect_refused (d, DREAM_ERROR_MODEL, "cross_attention_dim");
      g_free (bad);
      bad = g_strdup (UNET_CONFIG);
      at = strstr (bad, "\"layers_per_block\": 1");
      memcpy (at, "\"layers_per_block\": 2", strlen ("\"layers_per_block\": 2"));
      write_text (d, "unet/config.json", bad);
      expect_refused (d, DREAM_ERROR_MODEL, "layers_per_block 2");
      g_free (bad);
      write_text (d, "unet/config.json", UNET_CONFIG);
      write_text (d, "scheduler/scheduler_config.json",
                  "{\"beta_schedule\": \"linear\", \"prediction_type\": \"epsilon\"}");
      expect_refused (d, DREAM_ERROR_MODEL, "beta_schedule");
      write_text (d, "scheduler/scheduler_config.json", "{\"prediction_type\": \"v_prediction\"}");
      dream_sd_checkpoint ck;
      GError *error = NULL;
      g_assert_true (dream_sd_checkpoint_open (&ck, d, NULL, &error));
      g_assert_true (ck.v_prediction);
      g_assert_cmpstr (ck.kind, ==, "SD 1.x (v-prediction)");
      g_assert_cmpint (ck.text_pad_id, ==, 49407);
      dream_sd_checkpoint_close (&ck);
      /* the tokenizer's pad token, by name or through its vocabulary */
      write_text (d, "tokenizer/special_tokens_map.json",
                  "{\"pad_token\": {\"content\": \"!\", \"lstrip\": false}}");
      g_assert_true (dream_sd_checkpoint_open (&ck, d, NULL, &error));
      g_assert_cmpint (ck.text_pad_id, ==, 0);
      dream_sd_checkpoint_close (&ck);
      write_text (d, "tokenizer/special_tokens_map.json", "{\"pad_token\": \"<|endoftext|>\"}");
      g_assert_true (dream_sd_checkpoint_open (&ck, d, NULL, &error));
      g_assert_cmpint (ck.text_pad_id, ==, 49407);
      dream_sd_checkpoint_close (&ck);
      write_text (d, "tokenizer/special_tokens_map.json", "{\"pad_token\": \"<pad>\"}");
      expect_refused (d, DREAM_ERROR_MODEL, "pad token");
      write_text (d, "tokenizer/special_tokens_map.json", "{\"pad_token\": \"!\"}");
      write_text (d, "tokenizer/vocab.json", "{\"a\": 0, \"b\": 1}");
      expect_refused (d, DREAM_ERROR_MODEL, "49408");
      g_free (d);
    }
  remove_tree (dir);
  g_free (dir);
}

/* ---- the real SD 1.5 / 2.x layout ------------------------------------------ */

/* A diffusers folder holding every tensor name of the real SD 1.5 / 2.x
 * UNet and VAE (tests/data/sd_checkpoint/sd15_*.tsv: 686 + 248 names, in
 * the layout tools/make_sd_checkpoint_names.py derives), as tiny tensors
 * (conv_in, cross-attention keys and the text embedding with their real
 * widths): every LDM name must appear after opening, with the config's
 * heads, prediction and size. The UNet itself is not run (tiny shapes). */
static void
run_real_layout (gboolean sd2)
{
  char *root = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  char *dir = g_build_filename (root, sd2 ? "sd2" : "sd15", NULL);
  int ctx = sd2 ? 1024 : 768;
  GPtrArray *tu = read_table ("sd15_unet.tsv"), *tv = read_table ("sd15_vae.tsv");
  g_assert_cmpuint (tu->len, ==, 686);
  g_assert_cmpuint (tv->len, ==, 248);
  tlist u, v, t;
  tlist_init (&u); tlist_init (&v); tlist_init (&t);
  for (guint i = 0; i < tu->len; i++)
    {
      const row *r = tu->pdata[i];
      if (!strcmp (r->dif, "conv_in.weight"))
        tlist_add (&u, r->dif, 4, (int64_t[]) { 320, 4, 3, 3 }, g_new0 (float, 320 * 4 * 9));
      else if (g_str_has_suffix (r->dif, "attn2.to_k.weight"))
        tlist_add (&u, r->dif, 2, (int64_t[]) { 1, ctx }, g_new0 (float, ctx));
      else if (sd2 && (g_str_has_suffix (r->dif, "proj_in.weight")
                       || g_str_has_suffix (r->dif, "proj_out.weight")))
        tlist_add (&u, r->dif, 2, (int64_t[]) { 1, 1 }, g_new0 (float, 1));
      else
        tlist_add (&u, r->dif, 1, (int64_t[]) { 1 }, g_new0 (float, 1));
    }
  for (guint i = 0; i < tv->len; i++)
    tlist_add (&v, ((row *) tv->pdata[i])->dif, 1, (int64_t[]) { 1 }, g_new0 (float, 1));
  tlist_add (&t, "text_model.embeddings.token_embedding.weight", 2, (int64_t[]) { 1, ctx },
             g_new0 (float, ctx));
  char *p = g_build_filename (dir, "unet", "diffusion_pytorch_model.fp16.safetensors", NULL);
  mkdir_for (p);
  write_typed (p, &u, T_F16, NULL);
  g_free (p);
  p = g_build_filename (dir, "vae", "diffusion_pytorch_model.fp16.safetensors", NULL);
  mkdir_for (p);
  write_typed (p, &v, T_F16, NULL);
  g_free (p);
  p = g_build_filename (dir, "text_encoder", "model.fp16.safetensors", NULL);
  mkdir_for (p);
  write_typed (p, &t, T_F16, NULL);
  g_free (p);
  write_text (dir, "model_index.json", INDEX);
  write_text (dir, "unet/config.json", sd2
    ? "{\"attention_head_dim\": [5, 10, 20, 20], \"block_out_channels\": [320, 640, 1280, 1280],"
      " \"cross_attention_dim\": 1024, \"in_channels\": 4, \"layers_per_block\": 2,"
      " \"sample_size\": 96, \"use_linear_projection\": true}"
    : "{\"attention_head_dim\": 8, \"block_out_channels\": [320, 640, 1280, 1280],"
      " \"cross_attention_dim\": 768, \"in_channels\": 4, \"layers_per_block\": 2,"
      " \"sample_size\": 64}");
  write_text (dir, "vae/config.json", "{\"block_out_channels\": [128, 256, 512, 512],"
              " \"layers_per_block\": 2, \"scaling_factor\": 0.18215}");
  write_text (dir, "text_encoder/config.json", sd2
    ? "{\"hidden_act\": \"gelu\", \"num_attention_heads\": 16, \"num_hidden_layers\": 23}"
    : "{\"hidden_act\": \"quick_gelu\", \"num_attention_heads\": 12}");
  write_text (dir, "scheduler/scheduler_config.json", sd2
    ? "{\"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"v_prediction\"}"
    : "{\"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"epsilon\"}");

  dream_sd_checkpoint ck;
  GError *error = NULL;
  g_assert_true (dream_sd_checkpoint_open (&ck, dir, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("real %s layout: %s, %d tensors", sd2 ? "SD 2.x" : "SD 1.5", ck.kind,
                  dream_st_count (ck.file));
  for (guint i = 0; i < tu->len; i++)
    {
      char *n = g_strconcat ("model.diffusion_model.", ((row *) tu->pdata[i])->ldm, NULL);
      if (!dream_st_find (ck.file, n))
        g_error ("%s missing after renaming", n);
      g_free (n);
    }
  for (guint i = 0; i < tv->len; i++)
    {
      char *n = g_strconcat ("first_stage_model.", ((row *) tv->pdata[i])->ldm, NULL);
      if (!dream_st_find (ck.file, n))
        g_error ("%s missing after renaming", n);
      g_free (n);
    }
  g_assert_cmpint (dream_st_count (ck.file), ==, 686 + 248 + 1);
  const dream_st_tensor *c0 = dream_st_find (ck.file, "model.diffusion_model.input_blocks.0.0.weight");
  g_assert_cmpint (c0->dtype, ==, DREAM_DTYPE_F16);
  if (sd2)
    {
      g_assert_cmpstr (ck.kind, ==, "SD 2.x 768 (v-prediction)");
      g_assert_cmpint (ck.family, ==, DREAM_SD_FAMILY_SD2);
      g_assert_cmpint (ck.config.num_head_channels, ==, 64);
      g_assert_cmpint (ck.config.use_linear, ==, 1);
      g_assert_cmpint (ck.text_hints.act, ==, DREAM_NN_ACT_GELU);
      g_assert_cmpint (ck.text_hints.text_heads, ==, 16);
      g_assert_cmpint (ck.native_size, ==, 768);
      g_assert_cmpint (ck.text_pad_id, ==, 0);
    }
  else
    {
      g_assert_cmpstr (ck.kind, ==, "SD 1.x");
      g_assert_cmpint (ck.family, ==, DREAM_SD_FAMILY_SD1);
      g_assert_cmpint (ck.config.num_heads, ==, 8);
      g_assert_cmpint (ck.text_hints.act, ==, DREAM_NN_ACT_QUICK_GELU);
      g_assert_cmpint (ck.native_size, ==, 512);
      g_assert_cmpint (ck.text_pad_id, ==, 49407);
    }
  g_assert_false (ck.text_penultimate);
  g_assert_cmpstr (ck.text_prefix, ==, "cond_stage_model.transformer.text_model.");
  dream_sd_checkpoint_close (&ck);

  /* the folder as a model folder: listed with its kind, next to a refused
   * file; other files not listed; found by its bare name */
  const char *sdxl[] = { "conditioner.embedders.0.model.token_embedding.weight", NULL };
  char *px = g_build_filename (root, "xl.safetensors", NULL);
  write_names (px, sdxl, NULL);
  write_text (root, "notes.txt", "not a model");
  GPtrArray *list = dream_sd_checkpoint_list (root);
  g_assert_cmpuint (list->len, ==, 2);
  dream_sd_checkpoint_entry *e0 = list->pdata[0], *e1 = list->pdata[1];
  g_assert_cmpstr (e0->path, ==, dir);
  g_assert_cmpstr (e0->kind, ==, sd2 ? "SD 2.x 768 (v-prediction)" : "SD 1.x");
  g_assert_null (e0->problem);
  g_assert_cmpstr (e1->path, ==, px);
  g_assert_null (e1->kind);
  g_assert_nonnull (strstr (e1->problem, "SDXL"));
  g_ptr_array_unref (list);
  list = dream_sd_checkpoint_list (px);   /* not a folder: nothing */
  g_assert_cmpuint (list->len, ==, 0);
  g_ptr_array_unref (list);
  g_setenv ("DREAM_MODELS_DIR", root, TRUE);
  g_assert_true (dream_sd_checkpoint_open (&ck, sd2 ? "sd2" : "sd15", NULL, &error));
  g_assert_cmpstr (ck.path, ==, dir);
  dream_sd_checkpoint_close (&ck);
  expect_refused ("xl", DREAM_ERROR_MODEL, "SDXL");
  expect_refused ("no-such-model", DREAM_ERROR_IO, "model folders");
  g_unsetenv ("DREAM_MODELS_DIR");
  g_free (px);

  free_table (tu); free_table (tv);
  tlist_clear (&u); tlist_clear (&v); tlist_clear (&t);
  remove_tree (root);
  g_free (root);
  g_free (dir);
}

static void
test_real_layout_sd15 (void)
{
  run_real_layout (FALSE);
}

static void
test_real_layout_sd2 (void)
{
  run_real_layout (TRUE);
}

/* ---- full size: SD 1.5 and SD 2.x shapes, sparse zero weights -------------- */

typedef struct {
  char *name;
  int n_dims;
  int64_t shape[4];
} stub;

static void
parse_shape (const char *text, stub *s)
{
  char **parts = g_strsplit (text, ",", -1);
  s->n_dims = (int) g_strv_length (parts);
  g_assert_cmpint (s->n_dims, >=, 1);
  g_assert_cmpint (s->n_dims, <=, 4);
  for (int i = 0; i < s->n_dims; i++)
    s->shape[i] = g_ascii_strtoll (parts[i], NULL, 10);
  g_strfreev (parts);
}

/* An F16 safetensors file of zeros with these tensors, sparse: only the
 * header is written. */
static void
write_sparse (const char *path, GArray *stubs)
{
  GString *h = g_string_new ("{");
  guint64 off = 0;
  for (guint i = 0; i < stubs->len; i++)
    {
      const stub *s = &g_array_index (stubs, stub, i);
      guint64 n = 1;
      g_string_append_printf (h, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[", i ? "," : "", s->name);
      for (int k = 0; k < s->n_dims; k++)
        {
          g_string_append_printf (h, "%s%" G_GINT64_FORMAT, k ? "," : "", s->shape[k]);
          n *= (guint64) s->shape[k];
        }
      g_string_append_printf (h, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              off, off + 2 * n);
      off += 2 * n;
    }
  g_string_append (h, "}");
  while (h->len % 8)
    g_string_append_c (h, ' ');
  mkdir_for (path);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  guint64 hl = GUINT64_TO_LE (h->len);
  g_assert_cmpint (write (fd, &hl, 8), ==, 8);
  g_assert_cmpint (write (fd, h->str, h->len), ==, (gssize) h->len);
  g_assert_cmpint (ftruncate (fd, (off_t) (8 + h->len + off)), ==, 0);
  close (fd);
  g_string_free (h, TRUE);
}

static void
free_stubs (GArray *a)
{
  for (guint i = 0; i < a->len; i++)
    g_free (g_array_index (a, stub, i).name);
  g_array_unref (a);
}

/* Builds UNet, VAE and text encoder of a full-size checkpoint; checks the
 * sizes SD has. */
static void
load_full (const char *path, gboolean sd2, int text_layers)
{
  GError *error = NULL;
  dream_sd_checkpoint ck;
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (dream_sd_checkpoint_open (&ck, path, NULL, &error));
  g_assert_no_error (error);
  gint64 t1 = g_get_monotonic_time ();
  dream_unet *unet = dream_unet_load (ck.file, &ck.config, &error);
  g_assert_no_error (error);
  dream_vae *vae = dream_vae_load (ck.file, &error);
  g_assert_no_error (error);
  dream_clip_text *te = dream_clip_text_load (ck.file, ck.text_prefix, &ck.text_hints, &error);
  g_assert_no_error (error);
  gint64 t2 = g_get_monotonic_time ();
  g_test_message ("%s: %s, %d tensors; open %.0f ms, nets built in %.0f ms", path, ck.kind,
                  dream_st_count (ck.file), (t1 - t0) / 1e3, (t2 - t1) / 1e3);
  g_assert_cmpstr (ck.kind, ==, sd2 ? "SD 2.x 768 (v-prediction)" : "SD 1.x");
  g_assert_cmpint (unet->model_channels, ==, 320);
  g_assert_cmpint (unet->in_channels, ==, 4);
  g_assert_cmpint (unet->context_dim, ==, sd2 ? 1024 : 768);
  g_assert_cmpint (unet->n_input, ==, 12);
  g_assert_cmpint (unet->n_output, ==, 12);
  g_assert_cmpint (unet->down, ==, 8);
  const dream_unet_xf *xf = &unet->input[1].layers[1].xf;
  g_assert_cmpint (unet->input[1].layers[1].kind, ==, DREAM_UNET_XF);
  g_assert_cmpint (xf->heads, ==, sd2 ? 5 : 8);
  g_assert_cmpint (xf->d_head, ==, sd2 ? 64 : 40);
  g_assert_cmpint (xf->linear, ==, sd2);
  xf = &unet->middle.layers[1].xf;
  g_assert_cmpint (xf->heads, ==, sd2 ? 20 : 8);
  g_assert_true (vae->has_encoder && vae->has_decoder);
  g_assert_cmpint (vae->factor, ==, 8);
  g_assert_cmpint (vae->embed_dim, ==, 4);
  g_assert_cmpint (te->stack.layers, ==, text_layers);
  g_assert_cmpint (te->stack.width, ==, sd2 ? 1024 : 768);
  g_assert_cmpint (te->stack.heads, ==, sd2 ? 16 : 12);
  g_assert_cmpint (te->stack.act, ==, sd2 ? DREAM_NN_ACT_GELU : DREAM_NN_ACT_QUICK_GELU);
  g_assert_cmpint (te->vocab, ==, 49408);
  dream_clip_text_free (te);
  dream_vae_free (vae);
  dream_unet_free (unet);
  dream_sd_checkpoint_close (&ck);
}

static void
run_full_size (gboolean sd2)
{
  char *p = data_path (sd2 ? "sd2_shapes.tsv" : "sd15_shapes.tsv"), *text = NULL;
  g_assert_true (g_file_get_contents (p, &text, NULL, NULL));
  g_free (p);
  GArray *single = g_array_new (FALSE, TRUE, sizeof (stub));
  GHashTable *parts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) free_stubs);
  char **lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i]; i++)
    {
      char **f = g_strsplit (lines[i], "\t", 3);
      if (g_strv_length (f) == 3)
        {
          stub s = { 0 };
          parse_shape (f[2], &s);
          if (strcmp (f[0], "-"))
            {
              stub a = s;
              a.name = g_strdup (f[0]);
              g_array_append_val (single, a);
            }
          if (strcmp (f[1], "-"))
            {
              char *slash = strchr (f[1], '/'), *bar = strchr (f[1], '|');
              g_assert_nonnull (slash);
              if (bar)
                {
                  *bar = '\0';
                  parse_shape (bar + 1, &s);
                }
              char *part = g_strndup (f[1], slash - f[1]);
              GArray *a = g_hash_table_lookup (parts, part);
              if (!a)
                {
                  a = g_array_new (FALSE, TRUE, sizeof (stub));
                  g_hash_table_insert (parts, g_strdup (part), a);
                }
              s.name = g_strdup (slash + 1);
              g_array_append_val (a, s);
              g_free (part);
            }
        }
      g_strfreev (f);
    }
  g_strfreev (lines);
  g_free (text);
  g_assert_cmpuint (g_hash_table_size (parts), ==, 3);

  char *dir = g_dir_make_tmp ("dream-ckpt-XXXXXX", NULL);
  char *file = g_build_filename (dir, sd2 ? "v2-1_768-ema-pruned.safetensors" : "v1-5.safetensors",
                                 NULL);
  write_sparse (file, single);
  char *dif = g_build_filename (dir, "diffusers", NULL);
  static const char *const names[][2] = {
    { "unet", "diffusion_pytorch_model.fp16.safetensors" },
    { "vae", "diffusion_pytorch_model.fp16.safetensors" },
    { "text_encoder", "model.fp16.safetensors" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char *q = g_build_filename (dif, names[i][0], names[i][1], NULL);
      write_sparse (q, g_hash_table_lookup (parts, names[i][0]));
      g_free (q);
    }
  write_text (dif, "model_index.json", INDEX);
  write_text (dif, "unet/config.json", sd2
    ? "{\"attention_head_dim\": [5, 10, 20, 20], \"block_out_channels\": [320, 640, 1280, 1280],"
      " \"cross_attention_dim\": 1024, \"in_channels\": 4, \"layers_per_block\": 2,"
      " \"sample_size\": 96, \"use_linear_projection\": true}"
    : "{\"attention_head_dim\": 8, \"block_out_channels\": [320, 640, 1280, 1280],"
      " \"cross_attention_dim\": 768, \"in_channels\": 4, \"layers_per_block\": 2,"
      " \"sample_size\": 64}");
  write_text (dif, "vae/config.json", "{\"block_out_channels\": [128, 256, 512, 512],"
              " \"scaling_factor\": 0.18215}");
  write_text (dif, "text_encoder/config.json", sd2
    ? "{\"hidden_act\": \"gelu\", \"num_attention_heads\": 16, \"num_hidden_layers\": 23}"
    : "{\"hidden_act\": \"quick_gelu\", \"num_attention_heads\": 12}");
  write_text (dif, "scheduler/scheduler_config.json", sd2
    ? "{\"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"v_prediction\"}"
    : "{\"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"epsilon\"}");

  load_full (file, sd2, sd2 ? 24 : 12);
  load_full (dif, sd2, sd2 ? 23 : 12);

  remove_tree (dir);
  g_free (dif);
  g_free (file);
  g_free (dir);
  free_stubs (single);
  g_hash_table_unref (parts);
}

static void
test_full_size_sd15 (void)
{
  run_full_size (FALSE);
}

static void
test_full_size_sd2 (void)
{
  run_full_size (TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sd_checkpoint/golden_f32", test_golden_f32);
  g_test_add_func ("/sd_checkpoint/golden_bf16_f16", test_golden_bf16_f16);
  g_test_add_func ("/sd_checkpoint/hints", test_hints);
  g_test_add_func ("/sd_checkpoint/probe_prediction", test_probe_prediction);
  g_test_add_func ("/sd_checkpoint/unsupported", test_unsupported);
  g_test_add_func ("/sd_checkpoint/diffusers_mismatch", test_diffusers_mismatch);
  g_test_add_func ("/sd_checkpoint/real_layout_sd15", test_real_layout_sd15);
  g_test_add_func ("/sd_checkpoint/real_layout_sd2", test_real_layout_sd2);
  g_test_add_func ("/sd_checkpoint/full_size_sd15", test_full_size_sd15);
  g_test_add_func ("/sd_checkpoint/full_size_sd2", test_full_size_sd2);
  return g_test_run ();
}
