/* test_generate.c — the Stable Diffusion pipeline (dream_generate,
 * dream_inpaint) against an independent PyTorch pipeline.
 *
 * tests/data/sd_tiny.safetensors.gz is a tiny random SD 1.x checkpoint in
 * the single-file layout (UNet, VAE with factor 8, HF CLIP text encoder;
 * F16) and generate_ref.safetensors the PyTorch runs of it, both made by
 * tools/make_generate_reference.py (its own CLIP text transformer, the
 * LDM/k-diffusion equations, bench/sd_torch.py's UNet and VAE, a numpy
 * Philox4x32-10 + Box–Muller, token ids of the original tokenizer):
 *   gauss_*   the seed's deviates                        → exact to 1e-6
 *   context   CLIP text output for [negative, prompt]    (through A)
 *   A  txt2img Euler, 4 steps, cfg 5, seed 42, negative "a horse"
 *   B  Euler ancestral, 3 steps, cfg 1 (no unconditional pass), seed 7
 *   C  DPM++ 2M Karras, 5 steps, cfg 3, seed 1234, no negative
 *   D  img2img DDIM 5 steps, strength 0.6 (last 3 timesteps), cfg 4, seed 5
 *   E  img2img strength 0: the VAE round trip
 *   F  the 9-channel (inpainting) UNet alone, t = 500.5
 *   G  inpainting with that UNet: Euler 3 steps, cfg 2, seed 11, hard mask
 *   H  the tiny weights as a v-prediction model: Euler 3 steps, cfg 3
 *   I  ordinary model, feathered mask, known region held to the init
 *      (denoised replaced there): DPM++ 2M Karras 4 steps, strength 0.75
 *   J  the same with v-prediction, Euler a 3 steps, strength 1
 * 64×48 pixels, latent 8×6.
 *
 * Tolerance: pixels (0..1) within 1e-4. Both sides compute in float32 on
 * the same F16-rounded weights; the order of sums differs (OpenBLAS vs
 * PyTorch's kernels), ~1e-7 relative per layer, and guidance multiplies
 * the UNet's differences by up to 2·cfg − 1 = 9 per step; observed gaps
 * are printed (≤ 5e-6, the largest through the VAE encoder and decoder).
 * A wrong sign, schedule entry, token or sampler step moves pixels by
 * 1e-2 and more.
 */
#include "dream.h"
#include "io/safetensors.h"
#include "models/unet.h"
#include "tasks/generate.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sys/wait.h>
#include <string.h>

#define TOL 1e-4
#define W 64
#define H 48

static const char *PROMPT = "a photograph of an astronaut riding a horse";

static char *tmp_dir, *model_path, *model9_path, *model_v_path;
static dream_st_file *ref;
static dream_model *sd;

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

static void
gunzip (const char *gz, const char *path)
{
  GError *error = NULL;
  GFile *f = g_file_new_for_path (gz);
  GFileInputStream *raw = g_file_read (f, NULL, &error);
  g_assert_no_error (error);
  GZlibDecompressor *z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  GInputStream *in = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (z));
  GFile *of = g_file_new_for_path (path);
  GFileOutputStream *out = g_file_replace (of, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_splice (G_OUTPUT_STREAM (out), in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                          | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (out); g_object_unref (of); g_object_unref (in);
  g_object_unref (z); g_object_unref (raw); g_object_unref (f);
}

static float *
ref_tensor (const char *name, int64_t expect_n)
{
  const dream_st_tensor *t = dream_st_find (ref, name);
  g_assert_nonnull (t);
  g_assert_cmpint (t->n_elements, ==, expect_n);
  float *v = g_new (float, t->n_elements);
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, NULL));
  return v;
}

/* A variant of the tiny checkpoint, written as F32: with widen, conv_in
 * gets the reference's 5 extra input channels (the 9-channel inpainting
 * UNet); `prediction` ("v" or NULL) goes into modelspec.prediction_type. */
static char *
make_variant (const char *name, gboolean widen, const char *prediction)
{
  GError *error = NULL;
  dream_st_file *f = dream_st_open (model_path, &error);
  g_assert_no_error (error);
  int n = dream_st_count (f);
  dream_st_out *outs = g_new0 (dream_st_out, n);
  float **bufs = g_new0 (float *, n);
  float *extra = ref_tensor ("unet9_conv_in_extra", 32 * 5 * 9);
  for (int i = 0; i < n; i++)
    {
      const dream_st_tensor *t = dream_st_get (f, i);
      outs[i].name = t->name;
      outs[i].n_dims = t->n_dims;
      memcpy (outs[i].shape, t->shape, sizeof t->shape);
      if (widen && !strcmp (t->name, "model.diffusion_model.input_blocks.0.0.weight"))
        {
          g_assert_cmpint (t->shape[1], ==, 4);
          float *w4 = g_new (float, t->n_elements);
          g_assert_true (dream_st_to_f32 (t, w4, t->n_elements, NULL));
          bufs[i] = g_new (float, 32 * 9 * 9);
          for (int o = 0; o < 32; o++)
            {
              memcpy (bufs[i] + o * 81, w4 + o * 36, 36 * sizeof (float));
              memcpy (bufs[i] + o * 81 + 36, extra + o * 45, 45 * sizeof (float));
            }
          outs[i].shape[1] = 9;
          g_free (w4);
        }
      else
        {
          bufs[i] = g_new (float, MAX (1, t->n_elements));
          g_assert_true (dream_st_to_f32 (t, bufs[i], t->n_elements, NULL));
        }
      outs[i].data = bufs[i];
    }
  const char *meta[] = { "config", dream_st_metadata (f, "config"),
                         "text_heads", "2", "activation", "quick_gelu", "modelspec.resolution", "64x64",
                         prediction ? "modelspec.prediction_type" : NULL, prediction, NULL };
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_assert_true (dream_st_write (path, outs, n, meta, &error));
  g_assert_no_error (error);
  for (int i = 0; i < n; i++)
    g_free (bufs[i]);
  g_free (bufs); g_free (outs); g_free (extra);
  dream_st_close (f);
  return path;
}

static double
max_diff (const float *a, const float *b, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (a[i]));
      m = MAX (m, fabs ((double) a[i] - b[i]));
    }
  return m;
}

static dream_generate_params
params (guint64 seed, int steps, double cfg, dream_sampler_kind s, const char *neg)
{
  dream_generate_params p = dream_generate_default_params (sd);
  p.prompt = PROMPT;
  p.negative_prompt = neg;
  p.width = W;
  p.height = H;
  p.seed = seed;
  p.steps = steps;
  p.cfg_scale = cfg;
  p.sampler = s;
  p.n_threads = 2;
  return p;
}

static float *
generate (const dream_model *m, const dream_generate_params *p)
{
  GError *error = NULL;
  float *px = g_new (float, W * H * 3);
  dream_image out = { px, W, H, 3 };
  gboolean cut = TRUE;
  g_assert_true (dream_generate (m, p, &out, &cut, &error));
  g_assert_no_error (error);
  g_assert_false (cut);
  return px;
}

static void
compare (const char *name, const float *img)
{
  float *r = ref_tensor (name, W * H * 3);
  double d = max_diff (img, r, W * H * 3);
  g_test_message ("%s: max |C − PyTorch| = %.3g (tolerance %g)", name, d, TOL);
  g_assert_cmpfloat (d, <, TOL);
  g_free (r);
}

/* ---- tests ----------------------------------------------------------------- */

static void
test_noise (void)
{
  static const struct { const char *name; guint64 seed; guint32 stream; } cases[] = {
    { "gauss_42_0", 42, 0 }, { "gauss_42_1", 42, 1 }, { "gauss_big_3", 0x123456789ABCDEF0ull, 3 },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      float *r = ref_tensor (cases[c].name, 1000), z[1000], z2[999];
      dream_sd_gauss (cases[c].seed, cases[c].stream, z, 1000);
      double d = max_diff (z, r, 1000);
      g_test_message ("%s: max |C − numpy| = %.3g", cases[c].name, d);
      g_assert_cmpfloat (d, <, 1e-6);
      /* a prefix is the same whatever the length asked */
      dream_sd_gauss (cases[c].seed, cases[c].stream, z2, 999);
      g_assert_cmpint (memcmp (z, z2, sizeof z2), ==, 0);
      g_free (r);
    }
}

static void
test_load (void)
{
  g_assert_cmpstr (dream_model_get_arch (sd), ==, "stable-diffusion");
  g_assert_cmpstr (dream_sd_get_kind (sd), ==, "SD 1.x");
  g_assert_cmpint (dream_sd_get_native_size (sd), ==, 64);
  g_assert_false (dream_sd_is_inpainting (sd));
  dream_generate_params p = dream_generate_default_params (sd);
  g_assert_cmpint (p.steps, >, 1);
  g_assert_cmpfloat (p.cfg_scale, >, 1.0);

  for (int k = 0; k <= DREAM_SAMPLER_LCM; k++)
    {
      dream_sampler_kind back;
      g_assert_true (dream_sampler_from_name (dream_sampler_name (k), &back));
      g_assert_cmpint (back, ==, k);
    }
  dream_sampler_kind k;
  g_assert_false (dream_sampler_from_name ("plms", &k));
  g_assert_null (dream_sampler_name (99));
}

static void
test_txt2img_euler (void)
{
  dream_generate_params p = params (42, 4, 5.0, DREAM_SAMPLER_EULER, "a horse");
  float *a = generate (sd, &p);
  compare ("a_image", a);
  /* the same again: the same bits */
  float *b = generate (sd, &p);
  g_assert_cmpint (memcmp (a, b, sizeof (float) * W * H * 3), ==, 0);
  /* one thread: the same to float rounding */
  p.n_threads = 1;
  float *c = generate (sd, &p);
  g_assert_cmpfloat (max_diff (a, c, W * H * 3), <, 1e-4);
  /* another seed: another image */
  p.seed = 43;
  float *d = generate (sd, &p);
  double mad = 0;
  for (int i = 0; i < W * H * 3; i++)
    mad += fabs (a[i] - d[i]);
  mad /= W * H * 3;
  g_test_message ("seed 42 vs 43: mean |difference| %.3g", mad);
  g_assert_cmpfloat (mad, >, 0.01);
  g_free (a); g_free (b); g_free (c); g_free (d);
}

/* 56×40 is a multiple of 8 but not of the UNet's 16: run on 64×48 and
 * cropped, so it is the top-left of A's image (same seed, same noise) */
static void
test_odd_size (void)
{
  dream_generate_params p = params (42, 4, 5.0, DREAM_SAMPLER_EULER, "a horse");
  p.width = 56;
  p.height = 40;
  float px[56 * 40 * 3];
  dream_image out = { px, 56, 40, 3 };
  GError *error = NULL;
  g_assert_true (dream_generate (sd, &p, &out, NULL, &error));
  g_assert_no_error (error);
  float *r = ref_tensor ("a_image", W * H * 3);
  double d = 0;
  for (int y = 0; y < 40; y++)
    for (int x = 0; x < 56 * 3; x++)
      d = MAX (d, fabs (px[y * 56 * 3 + x] - r[y * W * 3 + x]));
  g_assert_cmpfloat (d, <, TOL);
  g_free (r);
}

static void
test_txt2img_euler_a (void)
{
  dream_generate_params p = params (7, 3, 1.0, DREAM_SAMPLER_EULER_A, NULL);
  float *a = generate (sd, &p);
  compare ("b_image", a);
  g_free (a);
}

static void
test_txt2img_dpmpp (void)
{
  dream_generate_params p = params (1234, 5, 3.0, DREAM_SAMPLER_DPMPP_2M_KARRAS, NULL);
  float *a = generate (sd, &p);
  compare ("c_image", a);
  g_free (a);
}

static void
test_img2img (void)
{
  float *init = ref_tensor ("init", W * H * 3);
  dream_image in = { init, W, H, 3 };
  dream_generate_params p = params (5, 5, 4.0, DREAM_SAMPLER_DDIM, "a horse");
  p.init = &in;
  p.strength = 0.6;
  float *a = generate (sd, &p);
  compare ("d_image", a);
  g_free (a);
  /* strength 0: the VAE round trip, whatever the sampler and seed */
  p.strength = 0.0;
  p.sampler = DREAM_SAMPLER_EULER_A;
  p.seed = 999;
  a = generate (sd, &p);
  compare ("e_image", a);
  g_free (a);
  g_free (init);
}

static void
test_unet9_forward (void)
{
  GError *error = NULL;
  dream_st_file *f = dream_st_open (model9_path, &error);
  g_assert_no_error (error);
  dream_ldm_config cfg;
  dream_ldm_config_init (&cfg);
  g_assert_true (dream_ldm_config_load_metadata (&cfg, f, &error));
  dream_unet *u = dream_unet_load (f, &cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (u->in_channels, ==, 9);
  const int h = H / 8, w = W / 8, px = h * w;
  float *x = ref_tensor ("f_x", 9 * px), *want = ref_tensor ("f_out", 4 * px);
  float *ctx = ref_tensor ("context", 2 * 77 * 32), *xh = g_new (float, 9 * px);
  float *out = g_new (float, 4 * px), t = 500.5f;
  for (int c = 0; c < 9; c++)
    for (int p = 0; p < px; p++)
      xh[p * 9 + c] = x[c * px + p];
  dream_unet_state s;
  dream_pool *pool = dream_pool_new (2);
  g_assert_true (dream_unet_state_init (&s, u, 1, h, w, 77, 2, &error));
  g_assert_true (dream_unet_forward (u, &s, xh, &t, ctx + 77 * 32, out, pool, NULL, 0, &error));
  double m = 0;
  for (int c = 0; c < 4; c++)
    for (int p = 0; p < px; p++)
      m = MAX (m, fabs (out[p * 4 + c] - want[c * px + p]));
  g_test_message ("9-channel UNet: max |C − PyTorch| = %.3g", m);
  g_assert_cmpfloat (m, <, 1e-4);
  dream_unet_state_clear (&s);
  dream_pool_free (pool);
  dream_unet_free (u);
  dream_ldm_config_clear (&cfg);
  dream_st_close (f);
  g_free (x); g_free (want); g_free (ctx); g_free (xh); g_free (out);
}

static void
test_inpaint9 (void)
{
  GError *error = NULL;
  dream_model *m9 = dream_sd_load (model9_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dream_sd_is_inpainting (m9));
  g_assert_cmpstr (dream_sd_get_kind (m9), ==, "SD 1.x inpainting");
  float *init = ref_tensor ("init", W * H * 3), *mask = ref_tensor ("mask", W * H);
  dream_image in = { init, W, H, 3 }, mk = { mask, W, H, 1 };
  dream_generate_params p = params (11, 3, 2.0, DREAM_SAMPLER_EULER, "a horse");
  p.init = &in;
  p.mask = &mk;
  float *a = generate (m9, &p);
  compare ("g_image", a);
  /* outside the mask: the input, exactly */
  for (int i = 0; i < W * H; i++)
    if (mask[i] == 0.0f)
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat (a[i * 3 + c], ==, init[i * 3 + c]);
  g_free (a); g_free (init); g_free (mask);
  dream_model_free (m9);
}

/* An ordinary model, a small hard selection in a bigger picture: pixels
 * outside it are the input's, exactly; inside they change. */
static void
test_inpaint_ordinary (void)
{
  const int IW = 200, IH = 150;
  float *img = g_new (float, IW * IH * 3), *mask = g_new0 (float, IW * IH);
  float *out = g_new (float, IW * IH * 3);
  for (int y = 0; y < IH; y++)
    for (int x = 0; x < IW; x++)
      for (int c = 0; c < 3; c++)
        img[(y * IW + x) * 3 + c] = 0.5f + 0.45f * sinf (x * 0.07f * (c + 1)) * cosf (y * 0.05f);
  for (int y = 60; y < 90; y++)
    for (int x = 120; x < 160; x++)
      mask[y * IW + x] = 1.0f;
  dream_image in = { img, IW, IH, 3 }, mk = { mask, IW, IH, 1 }, o = { out, IW, IH, 3 };
  dream_generate_params p = params (3, 3, 3.0, DREAM_SAMPLER_EULER, NULL);
  p.init = &in;
  p.mask = &mk;
  p.strength = 1.0;
  GError *error = NULL;
  g_assert_true (dream_inpaint (sd, &p, &o, &error));
  g_assert_no_error (error);
  double inside = 0;
  for (int i = 0; i < IW * IH; i++)
    for (int c = 0; c < 3; c++)
      if (mask[i] == 0.0f)
        g_assert_cmpfloat (out[i * 3 + c], ==, img[i * 3 + c]);
      else
        inside += fabs (out[i * 3 + c] - img[i * 3 + c]);
  inside /= 30 * 40 * 3;
  g_test_message ("inpainted region: mean |change| %.3g", inside);
  g_assert_cmpfloat (inside, >, 0.01);

  /* an empty mask: the input back */
  memset (mask, 0, sizeof (float) * IW * IH);
  g_assert_true (dream_inpaint (sd, &p, &o, &error));
  g_assert_cmpint (memcmp (out, img, sizeof (float) * IW * IH * 3), ==, 0);

  /* the in-place form (dream_generate with init + mask) keeps outside too */
  float *init = ref_tensor ("init", W * H * 3), *m2 = ref_tensor ("mask", W * H);
  dream_image in2 = { init, W, H, 3 }, mk2 = { m2, W, H, 1 };
  p = params (3, 4, 3.0, DREAM_SAMPLER_DPMPP_2M_KARRAS, NULL);
  p.init = &in2;
  p.mask = &mk2;
  p.strength = 1.0;
  float *a = generate (sd, &p);
  for (int i = 0; i < W * H; i++)
    if (m2[i] == 0.0f)
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat (a[i * 3 + c], ==, init[i * 3 + c]);
  g_free (a); g_free (init); g_free (m2);
  g_free (img); g_free (mask); g_free (out);
}

typedef struct {
  int calls, cancel_at, calls_after;
  double last;
  gboolean monotone;
} prog;

static gboolean
on_progress (gpointer user, double f)
{
  prog *p = user;
  if (f < p->last || f < 0 || f > 1.0 + 1e-9)
    p->monotone = FALSE;
  p->last = f;
  p->calls++;
  if (p->cancel_at && p->calls > p->cancel_at)
    p->calls_after++;
  return !(p->cancel_at && p->calls >= p->cancel_at);
}

static void
test_progress_cancel (void)
{
  dream_generate_params p = params (42, 4, 5.0, DREAM_SAMPLER_EULER, NULL);
  prog pr = { .monotone = TRUE };
  p.progress = on_progress;
  p.progress_user = &pr;
  float *a = generate (sd, &p);
  g_assert_true (pr.monotone);
  g_assert_cmpfloat (fabs (pr.last - 1.0), <, 1e-9);
  g_assert_cmpint (pr.calls, >, 4);
  g_free (a);

  /* cancel in the second UNet evaluation: CANCELLED, no more callbacks */
  prog c = { .cancel_at = pr.calls / 3, .monotone = TRUE };
  p.progress_user = &c;
  float px[W * H * 3];
  dream_image out = { px, W, H, 3 };
  GError *error = NULL;
  g_assert_false (dream_generate (sd, &p, &out, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
  g_assert_cmpint (c.calls_after, ==, 0);
  g_clear_error (&error);
}

static void
expect_invalid (dream_generate_params *p, const char *what)
{
  static float px[W * H * 3];
  dream_image out = { px, W, H, 3 };
  GError *error = NULL;
  g_assert_false (dream_generate (sd, p, &out, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s: %s", what, error->message);
  g_clear_error (&error);
}

static void
test_bad_input (void)
{
  dream_generate_params p = params (1, 2, 5.0, DREAM_SAMPLER_EULER, NULL);
  p.prompt = "caf\xc3\x28";
  expect_invalid (&p, "invalid UTF-8");
  p = params (1, 2, 5.0, DREAM_SAMPLER_EULER, "\xff");
  expect_invalid (&p, "invalid UTF-8 negative");
  p = params (1, 2, 5.0, DREAM_SAMPLER_EULER, NULL);
  p.width = 60;
  expect_invalid (&p, "not a multiple of 8");
  p.width = 4;
  expect_invalid (&p, "width 4");
  p.width = 100000;
  expect_invalid (&p, "absurd width");
  p.width = -8;
  expect_invalid (&p, "negative width");
  p = params (1, 0, 5.0, DREAM_SAMPLER_EULER, NULL);
  expect_invalid (&p, "0 steps");
  p = params (1, 2, NAN, DREAM_SAMPLER_EULER, NULL);
  expect_invalid (&p, "NaN guidance");
  p = params (1, 2, 5.0, (dream_sampler_kind) 42, NULL);
  expect_invalid (&p, "unknown sampler");
  p = params (1, 2, 5.0, DREAM_SAMPLER_EULER, NULL);
  p.width = 128;   /* the output image is 64×48 */
  expect_invalid (&p, "output size mismatch");
  float m[W * H];
  dream_image mk = { m, W, H, 1 };
  p = params (1, 2, 5.0, DREAM_SAMPLER_EULER, NULL);
  p.mask = &mk;
  expect_invalid (&p, "mask without image");
  p.mask = NULL;
  p.strength = 1.5;
  expect_invalid (&p, "strength 1.5");

  /* a long prompt is cut and said so */
  GString *lng = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append (lng, "horse ");
  p = params (1, 1, 1.0, DREAM_SAMPLER_EULER, NULL);
  p.prompt = lng->str;
  float px[W * H * 3];
  dream_image out = { px, W, H, 3 };
  gboolean cut = FALSE;
  GError *error = NULL;
  g_assert_true (dream_generate (sd, &p, &out, &cut, &error));
  g_assert_true (cut);
  g_string_free (lng, TRUE);

  /* a model that is not SD */
  p = params (1, 1, 1.0, DREAM_SAMPLER_EULER, NULL);
  char *ff = g_build_filename (g_getenv ("DREAM_MODELS_DIR") ? g_getenv ("DREAM_MODELS_DIR")
                               : "models", "ffdnet-color.safetensors", NULL);
  dream_model *other = dream_model_load (ff, NULL);
  if (other)
    {
      g_assert_false (dream_generate (other, &p, &out, NULL, &error));
      g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      dream_model_free (other);
    }
  g_assert_null (dream_sd_load (ff, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_test_message ("ffdnet as SD: %s", error->message);
  g_clear_error (&error);
  g_free (ff);
}

static void
test_bad_files (void)
{
  GError *error = NULL;
  /* truncated */
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (model_path, &data, &len, NULL));
  char *trunc = g_build_filename (tmp_dir, "truncated.safetensors", NULL);
  g_assert_true (g_file_set_contents (trunc, data, len / 2, NULL));
  g_assert_null (dream_sd_load (trunc, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_test_message ("truncated: %s", error->message);
  g_clear_error (&error);
  /* garbage */
  g_assert_true (g_file_set_contents (trunc, "not a model at all, just text", -1, NULL));
  g_assert_null (dream_sd_load (trunc, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  g_unlink (trunc);
  /* missing */
  g_assert_null (dream_sd_load ("/nonexistent/model.safetensors", NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);
  /* an SDXL-looking file */
  float one = 1.0f;
  dream_st_out o[] = { { "conditioner.embedders.1.model.ln_final.weight", 1, { 1 }, &one } };
  char *xl = g_build_filename (tmp_dir, "xl.safetensors", NULL);
  g_assert_true (dream_st_write (xl, o, 1, NULL, &error));
  g_assert_null (dream_sd_load (xl, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "XL"));
  g_clear_error (&error);
  g_unlink (xl);
  g_free (xl); g_free (trunc); g_free (data);
}

/* `dream generate`: the seed is printed, the same seed writes the same
 * file, --count numbers the files; a missing model is exit 1, no file. */
static int
run_dream (const char *const *args, char **out)
{
  const char *exe = g_getenv ("DREAM_EXE");
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, (char *) exe);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (a, (char *) args[i]);
  g_ptr_array_add (a, NULL);
  int status = -1;
  char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) a->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                               &err, &status, NULL));
  if (err && *err)
    g_test_message ("dream: %s", err);
  g_free (err);
  g_ptr_array_free (a, TRUE);
  return g_spawn_check_wait_status (status, NULL) ? 0 : WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_cli (void)
{
  if (!g_getenv ("DREAM_EXE"))
    {
      g_test_skip ("DREAM_EXE not set");
      return;
    }
  char *o1 = g_build_filename (tmp_dir, "one.png", NULL), *o2 = g_build_filename (tmp_dir, "two.png", NULL);
  char *o3 = g_build_filename (tmp_dir, "n%d.png", NULL), *out = NULL;
  const char *a1[] = { "generate", PROMPT, "-m", model_path, "--steps", "2", "--seed", "77",
                       "-W", "64", "-H", "48", "-q", "-o", o1, NULL };
  g_assert_cmpint (run_dream (a1, &out), ==, 0);
  g_assert_nonnull (strstr (out, "seed 77"));
  g_free (out);
  const char *a2[] = { "generate", PROMPT, "-m", model_path, "--steps", "2", "--seed", "77",
                       "-W", "64", "-H", "48", "-q", "-o", o2, NULL };
  g_assert_cmpint (run_dream (a2, &out), ==, 0);
  g_free (out);
  gchar *d1, *d2;
  gsize n1, n2;
  g_assert_true (g_file_get_contents (o1, &d1, &n1, NULL));
  g_assert_true (g_file_get_contents (o2, &d2, &n2, NULL));
  g_assert_cmpmem (d1, n1, d2, n2);
  g_free (d1); g_free (d2);
  const char *a3[] = { "generate", PROMPT, "-m", model_path, "--steps", "1", "--count", "2",
                       "-W", "64", "-H", "48", "-q", "-o", o3, NULL };
  g_assert_cmpint (run_dream (a3, &out), ==, 0);
  g_free (out);
  for (int i = 1; i <= 2; i++)
    {
      char *name = g_strdup_printf ("%s/n%d.png", tmp_dir, i);
      g_assert_true (g_file_test (name, G_FILE_TEST_EXISTS));
      g_unlink (name);
      g_free (name);
    }
  const char *a4[] = { "img2img", PROMPT, o1, "-m", model_path, "--steps", "4", "--strength", "0.5",
                       "--seed", "1", "-q", "-o", o2, NULL };
  g_assert_cmpint (run_dream (a4, &out), ==, 0);
  g_free (out);
  g_unlink (o2);
  const char *a5[] = { "generate", PROMPT, "-m", "/nonexistent.safetensors", "-q", "-o", o2, NULL };
  g_assert_cmpint (run_dream (a5, &out), ==, 1);
  g_assert_false (g_file_test (o2, G_FILE_TEST_EXISTS));
  g_free (out);
  g_unlink (o1);
  g_free (o1); g_free (o2); g_free (o3);
}

/* H: the same weights as a v-prediction model; I, J: an ordinary model
 * with a feathered mask holds the known region to the init (ε with
 * DPM++ 2M Karras at strength 0.75; v with Euler a at strength 1). */
static void
test_v_and_held (void)
{
  GError *error = NULL;
  dream_model *mv = dream_sd_load (model_v_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (dream_sd_get_kind (mv), "v-prediction"));
  dream_generate_params p = params (21, 3, 3.0, DREAM_SAMPLER_EULER, "a horse");
  float *a = generate (mv, &p);
  compare ("h_image", a);
  g_free (a);

  float *init = ref_tensor ("init", W * H * 3), *fm = ref_tensor ("fmask", W * H);
  dream_image in = { init, W, H, 3 }, mk = { fm, W, H, 1 };
  p = params (31, 4, 4.0, DREAM_SAMPLER_DPMPP_2M_KARRAS, "a horse");
  p.init = &in;
  p.mask = &mk;
  p.strength = 0.75;
  a = generate (sd, &p);
  compare ("i_image", a);
  g_free (a);
  p = params (41, 3, 2.0, DREAM_SAMPLER_EULER_A, "a horse");
  p.init = &in;
  p.mask = &mk;
  p.strength = 1.0;
  a = generate (mv, &p);
  compare ("j_image", a);
  for (int i = 0; i < W * H; i++)
    if (fm[i] == 0.0f)
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat (a[i * 3 + c], ==, init[i * 3 + c]);
  g_free (a); g_free (init); g_free (fm);
  dream_model_free (mv);
}

/* Above the native size the VAE decodes in tiles: runs, finite, the same
 * twice. */
static void
test_tiled_decode (void)
{
  dream_generate_params p = params (9, 2, 3.0, DREAM_SAMPLER_EULER, NULL);
  p.width = 160;
  p.height = 96;
  float *a = g_new (float, 160 * 96 * 3), *b = g_new (float, 160 * 96 * 3);
  dream_image oa = { a, 160, 96, 3 }, ob = { b, 160, 96, 3 };
  GError *error = NULL;
  g_assert_true (dream_generate (sd, &p, &oa, NULL, &error));
  g_assert_true (dream_generate (sd, &p, &ob, NULL, &error));
  g_assert_no_error (error);
  double mean = 0;
  for (int i = 0; i < 160 * 96 * 3; i++)
    {
      g_assert_true (isfinite (a[i]) && a[i] >= 0.0f && a[i] <= 1.0f);
      mean += a[i];
    }
  mean /= 160 * 96 * 3;
  g_assert_cmpfloat (fabs (mean - 0.5), <, 0.2);
  g_assert_cmpint (memcmp (a, b, sizeof (float) * 160 * 96 * 3), ==, 0);
  g_free (a); g_free (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmp_dir = g_dir_make_tmp ("dream-generate-XXXXXX", &error);
  g_assert_no_error (error);
  char *gz = data_path ("sd_tiny.safetensors.gz"), *rp = data_path ("generate_ref.safetensors");
  model_path = g_build_filename (tmp_dir, "sd_tiny.safetensors", NULL);
  gunzip (gz, model_path);
  ref = dream_st_open (rp, &error);
  g_assert_no_error (error);
  sd = dream_sd_load (model_path, NULL, &error);
  g_assert_no_error (error);
  model9_path = make_variant ("sd_tiny_inpaint.safetensors", TRUE, NULL);
  model_v_path = make_variant ("sd_tiny_v.safetensors", FALSE, "v");

  g_test_add_func ("/generate/noise", test_noise);
  g_test_add_func ("/generate/load", test_load);
  g_test_add_func ("/generate/txt2img-euler", test_txt2img_euler);
  g_test_add_func ("/generate/odd-size", test_odd_size);
  g_test_add_func ("/generate/txt2img-euler-a", test_txt2img_euler_a);
  g_test_add_func ("/generate/txt2img-dpmpp-2m-karras", test_txt2img_dpmpp);
  g_test_add_func ("/generate/img2img", test_img2img);
  g_test_add_func ("/generate/unet9-forward", test_unet9_forward);
  g_test_add_func ("/generate/inpaint-9ch", test_inpaint9);
  g_test_add_func ("/generate/inpaint-ordinary", test_inpaint_ordinary);
  g_test_add_func ("/generate/progress-cancel", test_progress_cancel);
  g_test_add_func ("/generate/bad-input", test_bad_input);
  g_test_add_func ("/generate/bad-files", test_bad_files);
  g_test_add_func ("/generate/v-and-held", test_v_and_held);
  g_test_add_func ("/generate/tiled-decode", test_tiled_decode);
  g_test_add_func ("/generate/cli", test_cli);
  int r = g_test_run ();

  dream_model_free (sd);
  dream_st_close (ref);
  g_unlink (model_path);
  g_unlink (model9_path);
  g_unlink (model_v_path);
  g_free (model_v_path);
  g_rmdir (tmp_dir);
  g_free (gz); g_free (rp); g_free (model_path); g_free (model9_path); g_free (tmp_dir);
  return r;
}
