/* test_shapes_models.c — the bundled models Dreamlayer trains itself
 * (models/shapes-clip.safetensors, models/shapes-sd.safetensors +
 * shapes-sd.yaml; tools/train/) run by the engine exactly as the training
 * code runs them.
 *
 * tests/data/shapes_ref_{clip,sd}.safetensors come from
 * tools/train/make_reference.py: the training code's own PyTorch modules
 * (tools/train/common.py CLIP, bench/sd_torch.py UNet/VAE) on the
 * exported F16 weights widened to float64. Each network is run through
 * `dream run-net` (the engine's loaders, the .yaml for the SD file) and
 * every output compared:
 *   shapes-clip  clip-text   tokens -> encode_text, last_hidden_ln
 *                clip-vision image -> encode_image
 *   shapes-sd    clip-text   EOT-padded tokens -> last_hidden_ln, which
 *                            must equal shapes-clip's text tower (the SD
 *                            file's cond_stage_model holds its weights)
 *                unet        x, timesteps, context -> out
 *                vae-encoder image -> mean, logvar
 *                vae-decoder z -> decoded
 *
 * Tolerance: |engine - ref| <= 2e-5 * max(1, max |ref|). PyTorch float32
 * differs from the float64 reference by at most 1.7e-6 (CLIP, UNet,
 * decoder) and 7e-6 (encoder mean/logvar, values up to ~6) — the file's
 * f32_gap_* metadata; the engine lands at 0.5e-6..2.9e-6. The bound is
 * ~10x that, and far below what a wrong activation, eps, head count,
 * mask, padding or layer order moves (>= 1e-3).
 *
 * Also: a truncated model file is refused with a message and no output.
 * Skipped (clearly) when the models are not in DREAM_MODELS_DIR.
 */
#include "dream.h"
#include "io/safetensors.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define TOL 2e-5

static char *
models_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_MODELS_DIR");
  return g_build_filename (dir ? dir : "models", name, NULL);
}

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

static float *
read_all (const dream_st_file *f, const char *name, const dream_st_tensor **t_out)
{
  const dream_st_tensor *t = dream_st_find (f, name);
  if (!t)
    g_error ("no tensor %s", name);
  float *v = g_new (float, t->n_elements);
  GError *error = NULL;
  g_assert_true (dream_st_to_f32 (t, v, t->n_elements, &error));
  g_assert_no_error (error);
  if (t_out)
    *t_out = t;
  return v;
}

/* Runs `dream run-net`; returns the exit status, the stderr text in *err. */
static int
run_net (const char *model, const char *config, const char *net, const char *in,
         const char *out, char **err)
{
  const char *exe = g_getenv ("DREAM_EXE");
  g_assert_nonnull (exe);
  const char *argv[16];
  int n = 0;
  argv[n++] = exe; argv[n++] = "run-net"; argv[n++] = "--model"; argv[n++] = model;
  if (config)
    {
      argv[n++] = "--config";
      argv[n++] = config;
    }
  argv[n++] = "--net"; argv[n++] = net; argv[n++] = "--in"; argv[n++] = in;
  argv[n++] = "--out"; argv[n++] = out; argv[n++] = "--threads"; argv[n++] = "1";
  argv[n] = NULL;
  int status = -1;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, err, &status, NULL));
  return status;
}

typedef struct {
  const char *out;     /* run-net's output name */
  const char *ref;     /* reference tensor in the io file */
} pair;

static gboolean
have (const char *model)
{
  char *p = models_path (model);
  gboolean ok = g_file_test (p, G_FILE_TEST_IS_REGULAR);
  g_free (p);
  if (!ok)
    g_test_skip ("models/shapes-* not present (train them with tools/train)");
  return ok;
}

static void
check_net (const char *model, const char *config, const char *net, const char *io,
           const pair *pairs, int n_pairs)
{
  if (!have (model))
    return;
  char *mp = models_path (model), *cp = config ? models_path (config) : NULL;
  char *ip = data_path (io);
  char *tmp = g_dir_make_tmp ("dream-shapes-XXXXXX", NULL);
  char *op = g_build_filename (tmp, "out.safetensors", NULL);
  char *err = NULL;
  int status = run_net (mp, cp, net, ip, op, &err);
  if (status != 0)
    g_test_message ("run-net %s: %s", net, err);
  g_assert_cmpint (status, ==, 0);
  GError *error = NULL;
  dream_st_file *in = dream_st_open (ip, &error), *out = dream_st_open (op, &error);
  g_assert_no_error (error);
  for (int i = 0; i < n_pairs; i++)
    {
      const dream_st_tensor *tr, *to;
      float *ref = read_all (in, pairs[i].ref, &tr);
      float *got = read_all (out, pairs[i].out, &to);
      g_assert_cmpint (tr->n_elements, ==, to->n_elements);
      double worst = 0.0, big = 1.0;
      for (int64_t k = 0; k < tr->n_elements; k++)
        {
          big = MAX (big, fabs (ref[k]));
          double d = fabs ((double) got[k] - ref[k]);
          worst = isfinite (got[k]) ? MAX (worst, d) : INFINITY;
        }
      g_test_message ("%s %s %s vs %s: max |diff| %.3g (bound %.3g)", model, net,
                      pairs[i].out, pairs[i].ref, worst, TOL * big);
      g_assert_cmpfloat (worst, <=, TOL * big);
      g_free (ref);
      g_free (got);
    }
  dream_st_close (in);
  dream_st_close (out);
  g_unlink (op);
  g_rmdir (tmp);
  g_free (mp); g_free (cp); g_free (ip); g_free (tmp); g_free (op); g_free (err);
}

static void
test_clip_text (void)
{
  const pair p[] = { { "encode_text", "encode_text" }, { "last_hidden_ln", "last_hidden_ln" } };
  check_net ("shapes-clip.safetensors", NULL, "clip-text", "shapes_ref_clip.safetensors", p, 2);
}

static void
test_clip_vision (void)
{
  const pair p[] = { { "encode_image", "encode_image" } };
  check_net ("shapes-clip.safetensors", NULL, "clip-vision", "shapes_ref_clip.safetensors", p, 1);
}

static void
test_sd_text (void)
{
  const pair p[] = { { "last_hidden_ln", "sd_context" } };
  check_net ("shapes-sd.safetensors", "shapes-sd.yaml", "clip-text", "shapes_ref_sd.safetensors",
             p, 1);
}

static void
test_sd_unet (void)
{
  const pair p[] = { { "out", "out" } };
  check_net ("shapes-sd.safetensors", "shapes-sd.yaml", "unet", "shapes_ref_sd.safetensors", p, 1);
}

static void
test_sd_vae (void)
{
  const pair pe[] = { { "mean", "mean" }, { "logvar", "logvar" } };
  check_net ("shapes-sd.safetensors", "shapes-sd.yaml", "vae-encoder", "shapes_ref_sd.safetensors",
             pe, 2);
  const pair pd[] = { { "decoded", "decoded" } };
  check_net ("shapes-sd.safetensors", "shapes-sd.yaml", "vae-decoder", "shapes_ref_sd.safetensors",
             pd, 1);
}

/* A model file cut in half: a clear error, no output file. */
static void
test_truncated (void)
{
  if (!have ("shapes-sd.safetensors"))
    return;
  char *mp = models_path ("shapes-sd.safetensors"), *ip = data_path ("shapes_ref_sd.safetensors");
  char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (mp, &data, &len, NULL));
  char *tmp = g_dir_make_tmp ("dream-shapes-XXXXXX", NULL);
  char *cut = g_build_filename (tmp, "cut.safetensors", NULL);
  char *op = g_build_filename (tmp, "out.safetensors", NULL);
  g_assert_true (g_file_set_contents (cut, data, (gssize) (len / 2), NULL));
  char *err = NULL;
  int status = run_net (cut, NULL, "unet", ip, op, &err);
  g_test_message ("truncated: %s", err);
  g_assert_cmpint (status, !=, 0);
  g_assert_true (err && strlen (err) > 0);
  g_assert_false (g_file_test (op, G_FILE_TEST_EXISTS));
  g_unlink (cut);
  g_rmdir (tmp);
  g_free (data); g_free (mp); g_free (ip); g_free (tmp); g_free (cut); g_free (op); g_free (err);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/shapes/clip-text", test_clip_text);
  g_test_add_func ("/shapes/clip-vision", test_clip_vision);
  g_test_add_func ("/shapes/sd-text", test_sd_text);
  g_test_add_func ("/shapes/sd-unet", test_sd_unet);
  g_test_add_func ("/shapes/sd-vae", test_sd_vae);
  g_test_add_func ("/shapes/truncated", test_truncated);
  return g_test_run ();
}
