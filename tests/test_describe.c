/* test_describe.c — model discovery (dream_model_classify / _list, the
 * default CLIP) and Describe (dream_clip_describe, `dream describe`).
 *
 * Describe is checked against an independent computation: for each
 * category of the vocabulary the test scores the category's prompts with
 * dream_clip_score() (CLIP's own softmax over those prompts) and derives
 * the ranking, the kept rule of dream.h (best probability >= 3 / n, or
 * "always") and the caption itself. The model is the golden tiny CLIP
 * (tests/data/clip_golden_model.safetensors.gz, see test_clip.c) with its
 * token embeddings refilled with seeded random values, so that different
 * words give different embeddings (the golden file zeroes the rows its
 * prompts do not use, which would make most entries tie). Tolerance 1e-5
 * on cosines and probabilities (the same towers run in other batches).
 */
#include "io/safetensors.h"
#include "dream.h"
#include "imageio.h"

#include <json-glib/json-glib.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#define TOL 1e-5

static char *tmp_root;   /* one temporary folder for the whole run */

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmp_root, name, NULL);
}

/* The golden model gunzipped to `dest`. */
static void
gunzip_golden (const char *dest)
{
  GError *error = NULL;
  char *gz = data_path ("clip_golden_model.safetensors.gz");
  GFile *f = g_file_new_for_path (gz);
  GFileInputStream *raw = g_file_read (f, NULL, &error);
  g_assert_no_error (error);
  GZlibDecompressor *z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  GInputStream *in = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (z));
  GFile *of = g_file_new_for_path (dest);
  GFileOutputStream *out = g_file_replace (of, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_splice (G_OUTPUT_STREAM (out), in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                          | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (out); g_object_unref (of); g_object_unref (in);
  g_object_unref (z); g_object_unref (raw); g_object_unref (f);
  g_free (gz);
}

/* Copies a safetensors file as F32, keeping the tensors `keep` accepts;
 * token_embedding.weight refilled with N(0, 0.5)-ish values if `randomise`. */
static void
rewrite (const char *src, const char *dest, gboolean (*keep) (const char *), gboolean randomise,
         const char *const *metadata)
{
  GError *error = NULL;
  dream_st_file *f = dream_st_open (src, &error);
  g_assert_no_error (error);
  int n = dream_st_count (f), m = 0;
  dream_st_out *t = g_new0 (dream_st_out, n);
  GRand *rand = g_rand_new_with_seed (5);
  for (int i = 0; i < n; i++)
    {
      const dream_st_tensor *s = dream_st_get (f, i);
      if (keep && !keep (s->name))
        continue;
      float *v = g_new (float, MAX (s->n_elements, 1));
      g_assert_true (dream_st_to_f32 (s, v, s->n_elements, NULL));
      if (randomise && !strcmp (s->name, "token_embedding.weight"))
        for (int64_t k = 0; k < s->n_elements; k++)
          v[k] = (float) (g_rand_double (rand) + g_rand_double (rand) - 1.0);
      t[m] = (dream_st_out) { s->name, s->n_dims, { 0 }, v };
      memcpy (t[m].shape, s->shape, sizeof (int64_t) * s->n_dims);
      m++;
    }
  const char *config = dream_st_metadata (f, "config");   /* the head counts */
  const char *own[] = { "config", config, NULL };
  g_assert_true (dream_st_write (dest, t, m, metadata ? metadata : config ? own : NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < m; i++)
    g_free ((float *) t[i].data);
  g_free (t);
  g_rand_free (rand);
  dream_st_close (f);
}

static const char *golden_path, *random_path;   /* under tmp_root */

static gboolean
text_only (const char *name)
{
  return !g_str_has_prefix (name, "visual.");
}

/* ---- model discovery ---------------------------------------------------- */

static void
write_tiny (const char *path, const char *const *names, const char *const *metadata)
{
  float v[4] = { 1, 2, 3, 4 };
  int n = 0;
  dream_st_out t[8];
  for (; names[n]; n++)
    t[n] = (dream_st_out) { names[n], 1, { 4 }, v };
  GError *error = NULL;
  g_assert_true (dream_st_write (path, t, n, metadata, &error));
  g_assert_no_error (error);
}

static void
write_text (const char *path, const char *text)
{
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static gboolean
list_has (char **list, const char *path)
{
  for (char **p = list; *p; p++)
    if (!strcmp (*p, path))
      return TRUE;
  return FALSE;
}

static int
list_index (char **list, const char *path)
{
  for (int i = 0; list[i]; i++)
    if (!strcmp (list[i], path))
      return i;
  return -1;
}

static void
test_list (void)
{
  char *dir = tmp_file ("models");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  char *clip_b = g_build_filename (dir, "b-clip.safetensors", NULL);
  char *clip_a = g_build_filename (dir, "a-clip.safetensors", NULL);
  char *text = g_build_filename (dir, "text-encoder.safetensors", NULL);
  char *sd = g_build_filename (dir, "sd15.safetensors", NULL);
  char *sdxl = g_build_filename (dir, "sdxl.safetensors", NULL);
  char *up = g_build_filename (dir, "upscaler.safetensors", NULL);
  char *dn = g_build_filename (dir, "denoiser.safetensors", NULL);
  char *junk = g_build_filename (dir, "junk.safetensors", NULL);
  char *notst = g_build_filename (dir, "readme.txt", NULL);
  char *diff = g_build_filename (dir, "sd-diffusers", NULL);
  char *diffxl = g_build_filename (dir, "sdxl-diffusers", NULL);

  g_assert_cmpint (link (golden_path, clip_b), ==, 0);
  rewrite (golden_path, clip_a, NULL, FALSE, NULL);
  rewrite (golden_path, text, text_only, FALSE, NULL);
  const char *sd_names[] = { "model.diffusion_model.input_blocks.0.0.weight",
    "first_stage_model.decoder.conv_in.weight",
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", NULL };
  write_tiny (sd, sd_names, NULL);
  const char *xl_names[] = { "model.diffusion_model.input_blocks.0.0.weight",
    "first_stage_model.decoder.conv_in.weight",
    "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", NULL };
  write_tiny (sdxl, xl_names, NULL);
  const char *w[] = { "body.0.weight", NULL };
  const char *up_meta[] = { "architecture", "srvgg", NULL };
  const char *dn_meta[] = { "architecture", "ffdnet", NULL };
  write_tiny (up, w, up_meta);
  write_tiny (dn, w, dn_meta);
  write_text (junk, "this is not a safetensors file at all, only some text");
  write_text (notst, "hello");
  g_assert_cmpint (g_mkdir (diff, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (diffxl, 0700), ==, 0);
  char *idx = g_build_filename (diff, "model_index.json", NULL);
  write_text (idx, "{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}");
  g_free (idx);
  idx = g_build_filename (diffxl, "model_index.json", NULL);
  write_text (idx, "{\"_class_name\": \"StableDiffusionXLPipeline\"}");
  g_free (idx);

  /* classify: each file on its own */
  GError *error = NULL;
  g_assert_cmpint (dream_model_classify (clip_a, NULL), ==, DREAM_MODEL_KIND_CLIP);
  g_assert_cmpint (dream_model_classify (text, NULL), ==, DREAM_MODEL_KIND_UNKNOWN);
  g_assert_cmpint (dream_model_classify (sd, NULL), ==, DREAM_MODEL_KIND_SD);
  g_assert_cmpint (dream_model_classify (sdxl, NULL), ==, DREAM_MODEL_KIND_UNKNOWN);
  g_assert_cmpint (dream_model_classify (up, NULL), ==, DREAM_MODEL_KIND_UPSCALE);
  g_assert_cmpint (dream_model_classify (dn, NULL), ==, DREAM_MODEL_KIND_DENOISE);
  g_assert_cmpint (dream_model_classify (diff, NULL), ==, DREAM_MODEL_KIND_SD);
  g_assert_cmpint (dream_model_classify (diffxl, NULL), ==, DREAM_MODEL_KIND_UNKNOWN);
  g_assert_cmpint (dream_model_classify (junk, &error), ==, DREAM_MODEL_KIND_UNKNOWN);
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  g_assert_cmpint (dream_model_classify (missing, &error), ==, DREAM_MODEL_KIND_UNKNOWN);
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* the bundled models of the source tree classify too */
  char *src = g_build_filename (g_getenv ("DREAM_SOURCE_MODELS"), "ffdnet-color.safetensors", NULL);
  if (g_file_test (src, G_FILE_TEST_EXISTS))
    g_assert_cmpint (dream_model_classify (src, NULL), ==, DREAM_MODEL_KIND_DENOISE);
  g_free (src);

  /* list: this folder first ($DREAM_MODELS_DIR), sorted, each kind apart */
  g_setenv ("DREAM_MODELS_DIR", dir, TRUE);
  char **clips = dream_model_list (DREAM_MODEL_KIND_CLIP);
  g_assert_cmpstr (clips[0], ==, clip_a);
  g_assert_cmpstr (clips[1], ==, clip_b);
  g_assert_false (list_has (clips, text));
  g_assert_false (list_has (clips, sd));
  char **sds = dream_model_list (DREAM_MODEL_KIND_SD);
  g_assert_cmpstr (sds[0], ==, diff);
  g_assert_cmpstr (sds[1], ==, sd);
  g_assert_false (list_has (sds, sdxl));
  g_assert_false (list_has (sds, diffxl));
  char **ups = dream_model_list (DREAM_MODEL_KIND_UPSCALE);
  g_assert_cmpstr (ups[0], ==, up);
  char **any = dream_model_list (DREAM_MODEL_KIND_ANY);
  g_assert_true (list_has (any, dn) && list_has (any, up) && list_has (any, clip_a)
                 && list_has (any, sd) && list_has (any, diff));
  g_assert_false (list_has (any, junk) || list_has (any, notst) || list_has (any, text));
  g_assert_cmpint (list_index (any, clip_a), <, list_index (any, dn));   /* a- before d- */
  g_strfreev (clips); g_strfreev (sds); g_strfreev (ups); g_strfreev (any);

  /* the default CLIP: a user's CLIP wins over the bundled shapes-clip ... */
  char *shapes = g_build_filename (dir, "shapes-clip.safetensors", NULL);
  g_assert_cmpint (link (golden_path, shapes), ==, 0);
  char *def = dream_clip_model_default (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, clip_a);
  g_free (def);
  /* ... and shapes-clip is the fallback */
  g_unlink (clip_a);
  g_unlink (clip_b);
  def = dream_clip_model_default (&error);
  g_assert_no_error (error);
  char *base = g_path_get_basename (def);
  g_assert_cmpstr (base, ==, "shapes-clip.safetensors");
  g_free (base); g_free (def);
  def = dream_clip_model_find ("", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, shapes);   /* first in the search order */
  g_free (def);
  def = dream_clip_model_find ("/no/such/clip.safetensors", &error);
  g_assert_null (def);
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);
  g_unlink (shapes);

  /* the default SD model, the same rule: the user's checkpoints (here the
   * diffusers folder, first by name, then sd.safetensors) win over the
   * bundled shapes-sd, which is the fallback */
  char *shapes_sd = g_build_filename (dir, "shapes-sd.safetensors", NULL);
  write_tiny (shapes_sd, sd_names, NULL);
  def = dream_sd_model_default (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, diff);
  g_free (def);
  g_unlink (sd);
  idx = g_build_filename (diff, "model_index.json", NULL);
  g_unlink (idx);
  g_free (idx);
  def = dream_sd_model_find ("", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, shapes_sd);   /* first in the search order */
  g_free (def);
  def = dream_sd_model_find ("shapes-sd", &error);   /* by name */
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, shapes_sd);
  g_free (def);
  def = dream_sd_model_find (sdxl, &error);   /* a path is taken as it is */
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, sdxl);
  g_free (def);
  def = dream_sd_model_find ("/no/such/sd.safetensors", &error);
  g_assert_null (def);
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);
  def = dream_sd_model_find ("no-such-model", &error);
  g_assert_null (def);
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);
  g_unlink (shapes_sd);
  g_free (shapes_sd);
  g_unsetenv ("DREAM_MODELS_DIR");

  g_free (shapes); g_free (missing);
  g_free (clip_a); g_free (clip_b); g_free (text); g_free (sd); g_free (sdxl); g_free (up);
  g_free (dn); g_free (junk); g_free (notst); g_free (diff); g_free (diffxl); g_free (dir);
}

/* ---- describe ----------------------------------------------------------- */

static const char *test_vocabulary =
  "{ \"categories\": [\n"
  "  { \"name\": \"medium\", \"format\": \"{} of \", \"entries\": [\"a photograph\", \"an oil painting\","
  "    \"a pencil drawing\", \"a 3D render\", \"a watercolour\"] },\n"
  "  { \"name\": \"subject\", \"always\": true, \"entries\": [\"a cat\", \"a dog\", \"a red car\","
  "    \"a mountain\", \"a red circle\", \"a green star\"] },\n"
  "  { \"name\": \"setting\", \"format\": \" {}\", \"entries\": [\"on grass\", \"in a sunset sky\","
  "    \"on a blue background\"] },\n"
  "  { \"name\": \"lonely\", \"format\": \", {}\", \"entries\": [\"only one\"] },\n"
  "  { \"name\": \"colour\", \"format\": \", {}\", \"prompt\": \"a picture in {}\","
  "    \"entries\": [\"vivid colours\", \"pastel colours\", \"black and white\", \"red tones\"] }\n"
  "] }\n";

static float *
make_image (int w, int h, int c)
{
  float *px = g_new (float, (gsize) w * h * c);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int k = 0; k < c; k++)
        px[((gsize) y * w + x) * c + k] = 0.5f + 0.45f * sinf (0.3f * x + 0.17f * y * (k + 1) + k);
  return px;
}

/* The independent computation for one vocabulary file, and the checks. */
static void
check_against_brute_force (dream_model *clip, const dream_image *img, const char *vocab_path,
                           const dream_clip_description *d)
{
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, vocab_path, NULL));
  JsonArray *cats = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                  "categories");
  g_assert_cmpint (d->n_categories, ==, json_array_get_length (cats));
  GString *caption = g_string_new (NULL);
  int kept = 0;
  for (int c = 0; c < d->n_categories; c++)
    {
      JsonObject *co = json_array_get_object_element (cats, c);
      JsonArray *ea = json_object_get_array_member (co, "entries");
      int n = json_array_get_length (ea);
      const char *prompt = json_object_get_string_member_with_default (co, "prompt", "{}");
      const char *format = json_object_get_string_member_with_default (co, "format", "{}");
      gboolean always = json_object_get_boolean_member_with_default (co, "always", FALSE);
      char **pp = g_strsplit (prompt, "{}", 2);
      char **prompts = g_new0 (char *, n + 1);
      for (int k = 0; k < n; k++)
        prompts[k] = g_strconcat (pp[0], json_array_get_string_element (ea, k), pp[1], NULL);
      dream_clip_score_result *r = g_new (dream_clip_score_result, n);
      dream_clip_params p = dream_clip_default_params ();
      GError *error = NULL;
      g_assert_true (dream_clip_score (clip, img, (const char *const *) prompts, n, &p, r, &error));
      g_assert_no_error (error);
      /* best by brute force: the largest cosine, the first on a tie */
      int best = 0;
      for (int k = 1; k < n; k++)
        if (r[k].cosine > r[best].cosine)
          best = k;
      const dream_clip_category *dc = &d->categories[c];
      g_assert_cmpstr (dc->name, ==, json_object_get_string_member (co, "name"));
      g_assert_cmpint (dc->n, ==, n);
      g_assert_cmpstr (dc->entries[0], ==, json_array_get_string_element (ea, best));
      g_assert_cmpfloat_with_epsilon (dc->cosines[0], r[best].cosine, TOL);
      g_assert_cmpfloat_with_epsilon (dc->probabilities[0], r[best].probability, TOL);
      /* every entry, wherever it was ranked */
      double psum = 0.0;
      for (int k = 0; k < n; k++)
        {
          int i;
          for (i = 0; i < n; i++)
            if (!strcmp (json_array_get_string_element (ea, i), dc->entries[k]))
              break;
          g_assert_cmpint (i, <, n);
          g_assert_cmpfloat_with_epsilon (dc->cosines[k], r[i].cosine, TOL);
          g_assert_cmpfloat_with_epsilon (dc->probabilities[k], r[i].probability, TOL);
          if (k > 0)
            g_assert_cmpfloat (dc->cosines[k], <=, dc->cosines[k - 1]);
          psum += dc->probabilities[k];
        }
      g_assert_cmpfloat_with_epsilon (psum, 1.0, 1e-5);
      gboolean keep = always || (n > 1 && r[best].probability * n >= 3.0);
      /* the rule at its edge is decided by float rounding: skip the check
       * there rather than flip a coin */
      if (fabs (r[best].probability * n - 3.0) > 1e-4)
        g_assert_cmpint (dc->kept, ==, keep);
      if (dc->kept)
        {
          char **fp = g_strsplit (format, "{}", 2);
          g_string_append_printf (caption, "%s%s%s", fp[0], dc->entries[0], fp[1]);
          g_strfreev (fp);
          kept++;
        }
      g_test_message ("%-8s kept %d  p_best·n %.3f  best \"%s\"", dc->name, dc->kept,
                      r[best].probability * n, dc->entries[0]);
      g_free (r);
      g_strfreev (prompts);
      g_strfreev (pp);
    }
  char *want = g_strchomp (g_strdup (caption->str + strspn (caption->str, ", ")));
  g_assert_cmpstr (d->caption, ==, want);
  g_assert_cmpint (kept, >=, 1);
  g_free (want);
  g_string_free (caption, TRUE);
  g_object_unref (parser);
}

static void
test_describe_brute_force (void)
{
  GError *error = NULL;
  dream_model *clip = dream_clip_load (random_path, NULL, &error);
  g_assert_no_error (error);
  char *vocab = tmp_file ("vocab.json");
  write_text (vocab, test_vocabulary);
  int kept_total = 0, dropped_total = 0;
  for (int c = 1; c <= 3; c += 2)
    for (int v = 0; v < 3; v++)
      {
        float *px = make_image (40 + 9 * v, 48 - 5 * v, c);
        for (gsize i = 0; i < (gsize) (40 + 9 * v) * (48 - 5 * v) * c; i++)
          px[i] = fmodf (px[i] * (1.7f + v), 1.0f);
        dream_image img = { px, 40 + 9 * v, 48 - 5 * v, c };
        dream_clip_params p = dream_clip_default_params ();
        dream_clip_description *d = dream_clip_describe (clip, &img, vocab, &p, &error);
        g_assert_no_error (error);
        g_test_message ("caption: %s", d->caption);
        check_against_brute_force (clip, &img, vocab, d);
        for (int k = 0; k < d->n_categories; k++)
          *(d->categories[k].kept ? &kept_total : &dropped_total) += 1;
        /* the one-entry category is never kept (not "always") */
        g_assert_false (d->categories[3].kept);
        dream_clip_description_free (d);
        g_free (px);
      }
  g_test_message ("categories kept %d, left out %d", kept_total, dropped_total);
  g_assert_cmpint (dropped_total, >, 6);   /* more than the lonely one */
  g_free (vocab);
  dream_model_free (clip);
}

static void
test_describe_bundled (void)
{
  GError *error = NULL;
  dream_model *clip = dream_clip_load (random_path, NULL, &error);
  g_assert_no_error (error);
  char *bundled = g_build_filename (g_getenv ("DREAM_SOURCE_MODELS"), "describe-vocabulary.json", NULL);
  g_assert_true (g_file_test (bundled, G_FILE_TEST_EXISTS));
  float *px = make_image (64, 64, 3);
  dream_image img = { px, 64, 64, 3 };
  dream_clip_params p = dream_clip_default_params ();
  dream_clip_description *d = dream_clip_describe (clip, &img, NULL, &p, &error);
  g_assert_no_error (error);
  g_test_message ("bundled caption: %s", d->caption);
  check_against_brute_force (clip, &img, bundled, d);
  /* the words of shapes-clip are all there */
  const char *must[] = { "a red circle", "a purple cross", "a white ring", "a black star",
    "an orange square", "a yellow triangle", "a green circle", "a blue star", "in a sunset sky",
    "under a night sky", "on stripes", "on dots", "on a checkerboard", "on grass",
    "on a blue background" };
  for (size_t i = 0; i < G_N_ELEMENTS (must); i++)
    {
      gboolean found = FALSE;
      for (int c = 0; c < d->n_categories && !found; c++)
        for (int k = 0; k < d->categories[c].n && !found; k++)
          found = !strcmp (d->categories[c].entries[k], must[i]);
      g_assert_true (found);
    }
  int total = 0, kept = 0;
  for (int c = 0; c < d->n_categories; c++)
    {
      total += d->categories[c].n;
      kept += d->categories[c].kept;
    }
  /* both sides of the rule were exercised against the brute force */
  g_assert_cmpint (kept, >, 1);
  g_assert_cmpint (kept, <, d->n_categories);
  g_assert_cmpint (total, >=, 300);
  dream_clip_description_free (d);
  g_free (px);
  g_free (bundled);
  dream_model_free (clip);
}

static gboolean
cancel_at_half (gpointer user, double f)
{
  double *last = user;
  g_assert_cmpfloat (f, >=, *last);
  *last = f;
  return f < 0.5;
}

static void
test_describe_errors (void)
{
  GError *error = NULL;
  float *px = make_image (32, 32, 3);
  dream_image img = { px, 32, 32, 3 };
  dream_clip_params p = dream_clip_default_params ();
  dream_model *clip = dream_clip_load (random_path, NULL, &error);
  g_assert_no_error (error);

  /* a model without a vision tower */
  char *text = tmp_file ("text-only.safetensors");
  rewrite (golden_path, text, text_only, FALSE, NULL);
  dream_model *tclip = dream_clip_load (text, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (dream_clip_describe (tclip, &img, NULL, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  dream_model_free (tclip);

  /* bad vocabularies */
  struct { const char *text; int code; } bad[] = {
    { "", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [ { \"name\": \"x\", \"entries\": [\"a\", ", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [] }", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [ { \"name\": \"x\", \"entries\": [] } ] }", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [ { \"name\": \"x\", \"entries\": [\"a\", \"  \"] } ] }", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [ { \"name\": \"x\", \"entries\": [\"a\", 3] } ] }", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [ { \"entries\": [\"a\"] } ] }", DREAM_ERROR_INVALID_ARGUMENT },
    { "{ \"categories\": [ { \"name\": \"x\", \"format\": \"no slot\", \"entries\": [\"a\"] } ] }", DREAM_ERROR_INVALID_ARGUMENT },
    { "[1, 2, 3]", DREAM_ERROR_INVALID_ARGUMENT },
    { "\xff\xfe garbage", DREAM_ERROR_INVALID_ARGUMENT },
  };
  char *vpath = tmp_file ("bad-vocab.json");
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      write_text (vpath, bad[i].text);
      g_assert_null (dream_clip_describe (clip, &img, vpath, &p, &error));
      g_assert_error (error, DREAM_ERROR, bad[i].code);
      g_assert_nonnull (strstr (error->message, "bad-vocab.json"));
      g_test_message ("%s", error->message);
      g_clear_error (&error);
    }
  char *none = tmp_file ("no-such-vocab.json");
  g_assert_null (dream_clip_describe (clip, &img, none, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);

  /* cancel half way: an error, nothing returned; progress never goes back */
  double last = 0.0;
  p.progress = cancel_at_half;
  p.progress_user = &last;
  g_assert_null (dream_clip_describe (clip, &img, NULL, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED);
  g_clear_error (&error);

  /* a bad image */
  p = dream_clip_default_params ();
  dream_image empty = { px, 0, 32, 3 };
  g_assert_null (dream_clip_describe (clip, &empty, NULL, &p, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_free (none); g_free (vpath); g_free (text); g_free (px);
  dream_model_free (clip);
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
test_cli (void)
{
  GError *error = NULL;
  char *vocab = tmp_file ("cli-vocab.json");
  write_text (vocab, test_vocabulary);
  /* an image file of known 8-bit pixels, written with the CLI's writer */
  char *img_path = tmp_file ("describe.png");
  {
    int w = 50, h = 37;
    float *px = make_image (w, h, 3);
    for (gsize i = 0; i < (gsize) w * h * 3; i++)
      px[i] = roundf (px[i] * 255.0f) / 255.0f;
    GError *e = NULL;
    dream_file_image im = { px, w, h, 3, 8 };
    g_assert_true (dream_file_image_save_png (img_path, &im, 8, &e));
    g_assert_no_error (e);

    dream_model *clip = dream_clip_load (random_path, NULL, &error);
    g_assert_no_error (error);
    dream_image view = { px, w, h, 3 };
    dream_clip_params p = dream_clip_default_params ();
    dream_clip_description *d = dream_clip_describe (clip, &view, vocab, &p, &error);
    g_assert_no_error (error);

    char *o = NULL, *er = NULL;
    int st = run_dream (&o, &er, "describe", "-m", random_path, "--vocabulary", vocab,
                        "--top", "2", img_path, NULL);
    g_test_message ("dream describe: %d\n%s%s", st, o, er);
    g_assert_cmpint (st, ==, 0);
    char **lines = g_strsplit (o, "\n", -1);
    g_assert_cmpstr (lines[0], ==, d->caption);
    /* --top 2: two lines per category (one for the one-entry category) */
    g_assert_cmpint (g_strv_length (lines), ==, 1 + 2 * 4 + 1 + 1);
    char **f = g_strsplit (lines[1], "\t", -1);
    g_assert_cmpstr (f[0], ==, d->categories[0].kept ? "medium*" : "medium");
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (f[1], NULL), d->categories[0].probabilities[0], 2e-6);
    g_assert_cmpstr (f[3], ==, d->categories[0].entries[0]);
    g_strfreev (f);
    g_strfreev (lines);
    g_free (o); g_free (er);

    /* clip-score without -m uses the default CLIP: point $DREAM_MODELS_DIR
     * at a folder holding only the random model, and compare with -m */
    char *dir = tmp_file ("cli-models");
    g_mkdir (dir, 0700);
    char *link_path = g_build_filename (dir, "aaa-clip.safetensors", NULL);
    g_assert_cmpint (link (random_path, link_path), ==, 0);
    g_setenv ("DREAM_MODELS_DIR", dir, TRUE);
    char *o1 = NULL, *o2 = NULL;
    st = run_dream (&o1, &er, "clip-score", "--tsv", img_path, "a cat", "a red car", NULL);
    g_test_message ("clip-score default: %s%s", o1, er);
    g_assert_cmpint (st, ==, 0);
    g_free (er);
    st = run_dream (&o2, &er, "clip-score", "--tsv", "-m", random_path, img_path, "a cat", "a red car", NULL);
    g_assert_cmpint (st, ==, 0);
    g_assert_cmpstr (o1, ==, o2);
    g_free (o1); g_free (o2); g_free (er);
    /* dream describe without -m: the same caption */
    st = run_dream (&o1, &er, "describe", "--vocabulary", vocab, img_path, NULL);
    g_assert_cmpint (st, ==, 0);
    lines = g_strsplit (o1, "\n", -1);
    g_assert_cmpstr (lines[0], ==, d->caption);
    g_strfreev (lines);
    g_free (o1); g_free (er);
    g_unsetenv ("DREAM_MODELS_DIR");

    /* errors: bad model, bad vocabulary, missing image */
    st = run_dream (&o1, &er, "describe", "-m", vocab, img_path, NULL);
    g_assert_cmpint (st, ==, 1);
    g_assert_nonnull (strstr (er, "dream describe:"));
    g_free (o1); g_free (er);
    char *badv = tmp_file ("cli-bad.json");
    write_text (badv, "{\"categories\": 7}");
    st = run_dream (&o1, &er, "describe", "-m", random_path, "--vocabulary", badv, img_path, NULL);
    g_assert_cmpint (st, ==, 1);
    g_assert_nonnull (strstr (er, "cli-bad.json"));
    g_assert_cmpstr (o1, ==, "");
    g_free (o1); g_free (er);
    st = run_dream (&o1, &er, "describe", "-m", random_path, NULL);
    g_assert_cmpint (st, ==, 2);
    g_free (o1); g_free (er);

    g_unlink (link_path);
    g_rmdir (dir);
    g_free (link_path); g_free (dir); g_free (badv);
    dream_clip_description_free (d);
    dream_model_free (clip);
    g_free (px);
  }
  g_free (img_path);
  g_free (vocab);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_root = g_dir_make_tmp ("dream-describe-XXXXXX", NULL);
  g_assert_nonnull (tmp_root);
  /* no CLIP of the user's own may change the defaults under test */
  char *xdg = g_build_filename (tmp_root, "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  if (!g_getenv ("DREAM_SOURCE_MODELS"))
    g_setenv ("DREAM_SOURCE_MODELS", g_getenv ("DREAM_MODELS_DIR"), TRUE);
  char *g = tmp_file ("golden.safetensors"), *r = tmp_file ("random.safetensors");
  gunzip_golden (g);
  rewrite (g, r, NULL, TRUE, NULL);
  golden_path = g;
  random_path = r;

  g_test_add_func ("/describe/list", test_list);
  g_test_add_func ("/describe/brute-force", test_describe_brute_force);
  g_test_add_func ("/describe/bundled-vocabulary", test_describe_bundled);
  g_test_add_func ("/describe/errors", test_describe_errors);
  g_test_add_func ("/describe/cli", test_cli);
  int status = g_test_run ();
  remove_tree (tmp_root);
  g_free (g); g_free (r); g_free (xdg); g_free (tmp_root);
  return status;
}
