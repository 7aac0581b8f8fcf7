/* dream-gen-pixels.c — Text to Image and Reimagine Layer for both GIMP
 * front ends (see dream-gen-pixels.h). GEGL and libdream only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dream-gen-pixels.h"
#include "dream-pixels.h"

#define NAME_PROMPT_CHARS 40     /* prompt characters kept in a layer name */
#define CLIP_SHARE        0.05   /* share of the progress bar for ranking */

/* ---- progress of the whole run, and the cancel test hook ------------------ */

typedef struct {
  dream_progress_func progress;  /* the caller's; may be NULL */
  gpointer progress_user;
  double cancel_at;              /* DREAM_TEST_CANCEL_AT; > 1 when unset */
  double base, span;             /* the running call's share of the run */
} gen_progress;

static gboolean
gen_progress_cb (gpointer user, double fraction)
{
  gen_progress *g = user;
  double f = g->base + g->span * CLAMP (fraction, 0.0, 1.0);

  if (f >= g->cancel_at)
    return FALSE;
  if (g->progress && !g->progress (g->progress_user, f))
    return FALSE;
  return TRUE;
}

/* ---- small helpers ---------------------------------------------------------- */

int
dream_gen_round8 (int size)
{
  int r = (size + 4) / 8 * 8;
  return CLAMP (r, 8, DREAM_GEN_MAX_SIZE);
}

gint64
dream_gen_random_seed (void)
{
  return g_random_int_range (0, G_MAXINT32 - DREAM_GEN_MAX_COUNT);
}

static char *
num_text (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

dream_model *
dream_gen_load_sd (const char *model, char **shown, GError **error)
{
  char *path = dream_sd_model_find (model, error);
  dream_model *sd = NULL;

  if (model && *model)
    *shown = g_strdup (model);
  else if (path)
    {
      /* the bundled model by its name, which every installation finds */
      char *base = g_path_get_basename (path);
      *shown = g_strdup (strcmp (base, DREAM_GEN_DEFAULT_MODEL ".safetensors") == 0
                         ? DREAM_GEN_DEFAULT_MODEL : path);
      g_free (base);
    }
  else
    *shown = g_strdup ("(default)");

  if (path)
    sd = dream_sd_load (path, NULL, error);
  if (sd && !dream_sd_get_kind (sd))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "\"%s\" is not a Stable Diffusion model.", path);
      dream_model_free (sd);
      sd = NULL;
    }
  if (!sd && path)
    g_prefix_error (error, "Model \"%s\": ", *shown);
  g_free (path);
  return sd;
}

/* "" = dream_clip_model_default() (a CLIP the user installed, else the
 * bundled shapes-clip), as Score Captions does. *used gets the path, for
 * the settings text. */
static dream_model *
load_clip (const char *clip_model, char **used, GError **error)
{
  char *path = dream_clip_model_find (clip_model, error);
  dream_model *clip = NULL;

  *used = g_strdup (path ? path : (clip_model && *clip_model ? clip_model : "(default)"));
  if (path)
    clip = dream_clip_load (path, NULL, error);
  if (clip && !(dream_clip_has_text (clip) && dream_clip_has_vision (clip)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "\"%s\" lacks a text or an image tower; Rank by CLIP needs both.",
                   path);
      dream_model_free (clip);
      clip = NULL;
    }
  if (!clip)
    g_prefix_error (error, "CLIP model \"%s\": ", *used);
  g_free (path);
  return clip;
}

/* “a red circle on a…” seed 1234 — whitespace folded, at most
 * NAME_PROMPT_CHARS characters of the prompt. */
static char *
layer_name (const char *prefix, const char *prompt, guint64 seed)
{
  char **words = g_strsplit_set (prompt ? prompt : "", " \t\r\n", -1);
  GString *s = g_string_new (NULL);
  char *folded, *shown;
  guint i;

  for (i = 0; words[i]; i++)
    if (*words[i])
      g_string_append_printf (s, "%s%s", s->len ? " " : "", words[i]);
  folded = g_string_free (s, FALSE);
  if (g_utf8_strlen (folded, -1) > NAME_PROMPT_CHARS)
    {
      char *cut = g_utf8_substring (folded, 0, NAME_PROMPT_CHARS - 1);
      shown = g_strdup_printf ("“%s…”", cut);
      g_free (cut);
    }
  else if (*folded)
    shown = g_strdup_printf ("“%s”", folded);
  else
    shown = g_strdup ("(no prompt)");
  g_strfreev (words);
  g_free (folded);

  folded = g_strdup_printf ("%s%s seed %" G_GUINT64_FORMAT, prefix ? prefix : "",
                            shown, seed);
  g_free (shown);
  return folded;
}

static char *
settings_text (const char *kind, const char *prompt, const char *negative,
               const char *model, const dream_generate_params *p, int width, int height)
{
  char *qp = g_shell_quote (prompt ? prompt : "");
  char *qn = g_shell_quote (negative ? negative : "");
  char *qm = g_shell_quote (model);
  char *cfg = num_text (p->cfg_scale);
  char *strength = p->init ? num_text (p->strength) : NULL;
  char *text;

  text = g_strdup_printf ("%s prompt=%s negative=%s model=%s seed=%" G_GUINT64_FORMAT
                          " steps=%d cfg=%s sampler=%s%s%s width=%d height=%d",
                          kind, qp, qn, qm, p->seed, p->steps, cfg,
                          dream_sampler_name (p->sampler),
                          strength ? " strength=" : "", strength ? strength : "",
                          width, height);
  g_free (qp);
  g_free (qn);
  g_free (qm);
  g_free (cfg);
  g_free (strength);
  return text;
}

void
dream_gen_results_free (dream_gen_result *results, int n)
{
  int i;

  if (!results)
    return;
  for (i = 0; i < n; i++)
    {
      g_clear_object (&results[i].buffer);
      g_free (results[i].name);
      g_free (results[i].settings);
    }
  g_free (results);
}

/* ---- the shared run ------------------------------------------------------------ */

/* Checks that need no model, so a bad call costs nothing. */
static gboolean
check_args (const dream_gen_args *a, gboolean img2img, dream_sampler_kind *sampler,
            gboolean *sampler_given, GError **error)
{
  const char *s = a->sampler;

  if (a->count < 1 || a->count > DREAM_GEN_MAX_COUNT)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Number of images %d is out of range (1 to %d).",
                   a->count, DREAM_GEN_MAX_COUNT);
      return FALSE;
    }
  if (!img2img && (a->width < 8 || a->height < 8 || a->width > DREAM_GEN_MAX_SIZE
                   || a->height > DREAM_GEN_MAX_SIZE || a->width % 8 || a->height % 8))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Size %d×%d: width and height must be multiples of 8 from 8 to %d.",
                   a->width, a->height, DREAM_GEN_MAX_SIZE);
      return FALSE;
    }
  if (a->seed < 0 || a->seed > G_MAXINT64 - DREAM_GEN_MAX_COUNT)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Seed %" G_GINT64_FORMAT " is out of range.", a->seed);
      return FALSE;
    }
  if (a->steps < 0 || a->steps > 1000)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Steps %d is out of range (1 to 1000, or 0 for the model's default).",
                   a->steps);
      return FALSE;
    }
  if (!(a->cfg <= 100.0) || isnan (a->cfg))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Guidance scale %g is out of range (0 to 100, or negative for "
                   "the model's default).", a->cfg);
      return FALSE;
    }
  if (img2img && !(a->strength >= 0.0 && a->strength <= 1.0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Strength %g is out of range (0 to 1).", a->strength);
      return FALSE;
    }
  if ((a->prompt && !g_utf8_validate (a->prompt, -1, NULL))
      || (a->negative && !g_utf8_validate (a->negative, -1, NULL)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The prompt is not valid UTF-8 text.");
      return FALSE;
    }
  *sampler_given = s && *s && g_ascii_strcasecmp (s, "default") != 0;
  if (*sampler_given && !dream_sampler_from_name (s, sampler))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "Unknown sampler \"%s\": use euler, euler-a, ddim, "
                   "dpmpp-2m-karras or lcm.", s);
      return FALSE;
    }
  return TRUE;
}

static int
by_clip (const void *a, const void *b)
{
  const dream_gen_result *x = a, *y = b;

  if (x->clip != y->clip)
    return x->clip < y->clip ? 1 : -1;
  return x->seed < y->seed ? -1 : (x->seed > y->seed);
}

/* Generates args->count images of w×h (init: the padded start image, or
 * NULL) into pixels[i] (w×h×3 each, allocated here). Then, if asked,
 * scores them against the prompt with CLIP into clip[i]. */
static gboolean
generate_all (const dream_gen_args *a, const dream_image *init, int w, int h,
              const char *kind, int shown_w, int shown_h,
              float **pixels, double *clip, char **settings, GError **error)
{
  dream_model *sd = NULL, *cm = NULL;
  char *clip_used = NULL, *shown_model = NULL;
  dream_sampler_kind sampler = DREAM_SAMPLER_EULER;
  gboolean sampler_given = FALSE, ok = FALSE;
  dream_generate_params p;
  gen_progress gp;
  float *emb = NULL;
  int i, dim = 0;

  if (!check_args (a, init != NULL, &sampler, &sampler_given, error))
    return FALSE;

  /* the models first: a bad file costs nothing else */
  sd = dream_gen_load_sd (a->model, &shown_model, error);
  if (!sd)
    {
      g_free (shown_model);
      return FALSE;
    }
  if (a->rank_by_clip)
    {
      cm = load_clip (a->clip_model, &clip_used, error);
      if (!cm)
        goto out;
      dim = dream_clip_get_embed_dim (cm);
      emb = g_try_malloc_n ((gsize) (a->count + 1) * dim, sizeof (float));
      if (!emb)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "Out of memory.");
          goto out;
        }
    }

  gp.progress = a->progress;
  gp.progress_user = a->progress_user;
  gp.cancel_at = dream_pixels_test_cancel_at ();

  p = dream_generate_default_params (sd);
  p.prompt = a->prompt ? a->prompt : "";
  p.negative_prompt = a->negative ? a->negative : "";
  p.width = init ? 0 : w;
  p.height = init ? 0 : h;
  if (a->steps > 0)
    p.steps = a->steps;
  if (a->cfg >= 0.0)
    p.cfg_scale = a->cfg;
  if (sampler_given)
    p.sampler = sampler;
  p.init = init;
  p.strength = a->strength;
  p.n_threads = a->n_threads;
  p.progress = gen_progress_cb;
  p.progress_user = &gp;

  for (i = 0; i < a->count; i++)
    {
      dream_image out;

      pixels[i] = g_try_malloc_n ((gsize) w * h, 3 * sizeof (float));
      if (!pixels[i])
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                       "Not enough memory for a %d×%d image.", w, h);
          goto out;
        }
      out = (dream_image) { pixels[i], w, h, 3 };
      p.seed = (guint64) a->seed + (guint64) i;
      gp.base = (1.0 - (cm ? CLIP_SHARE : 0.0)) * i / a->count;
      gp.span = (1.0 - (cm ? CLIP_SHARE : 0.0)) / a->count;
      if (!dream_generate (sd, &p, &out, NULL, error))
        goto out;
      settings[i] = settings_text (kind, a->prompt, a->negative, shown_model, &p,
                                   shown_w, shown_h);
    }

  if (cm)
    {
      dream_clip_params cp = dream_clip_default_params ();
      const char *caption = p.prompt;
      int k;

      cp.n_threads = a->n_threads;
      cp.progress = gen_progress_cb;
      cp.progress_user = &gp;
      gp.base = 1.0 - CLIP_SHARE;
      gp.span = CLIP_SHARE / (a->count + 1);
      if (!dream_clip_encode_text (cm, &caption, 1, &cp, emb, NULL, error))
        goto out;
      for (i = 0; i < a->count; i++)
        {
          /* the visible part only: crop the padding away */
          dream_image im = { pixels[i], w, h, 3 };
          float *crop = NULL;

          if (shown_w != w || shown_h != h)
            {
              int y;
              crop = g_try_malloc_n ((gsize) shown_w * shown_h, 3 * sizeof (float));
              if (!crop)
                {
                  g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "Out of memory.");
                  goto out;
                }
              for (y = 0; y < shown_h; y++)
                memcpy (crop + (gsize) y * shown_w * 3, pixels[i] + (gsize) y * w * 3,
                        (gsize) shown_w * 3 * sizeof (float));
              im = (dream_image) { crop, shown_w, shown_h, 3 };
            }
          gp.base = 1.0 - CLIP_SHARE + gp.span * (i + 1);
          ok = dream_clip_encode_image (cm, &im, &cp, emb + (gsize) (i + 1) * dim, error);
          g_free (crop);
          if (!ok)
            goto out;
          ok = FALSE;
          clip[i] = 0.0;
          for (k = 0; k < dim; k++)
            clip[i] += (double) emb[k] * emb[(gsize) (i + 1) * dim + k];
        }
      for (i = 0; i < a->count; i++)
        {
          char *num = g_strdup_printf ("%.4f", clip[i]);
          char *qc = g_shell_quote (clip_used);
          char *t = g_strdup_printf ("%s clip=%s clip-model=%s", settings[i], num, qc);
          g_free (settings[i]);
          settings[i] = t;
          g_free (num);
          g_free (qc);
        }
    }
  else
    for (i = 0; i < a->count; i++)
      clip[i] = NAN;

  /* the end, so that the bar and the test hook see it */
  gp.base = 0.0;
  gp.span = 1.0;
  if (!gen_progress_cb (&gp, 1.0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED, "Cancelled.");
      goto out;
    }
  ok = TRUE;

out:
  if (error && *error && g_error_matches (*error, DREAM_ERROR, DREAM_ERROR_CANCELLED))
    {
      g_clear_error (error);
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_CANCELLED,
                   "Cancelled; nothing was added.");
    }
  g_free (emb);
  g_free (clip_used);
  g_free (shown_model);
  if (cm)
    dream_model_free (cm);
  dream_model_free (sd);
  return ok;
}

static dream_gen_result *
collect (const dream_gen_args *a, const char *prefix, float **pixels, double *clip,
         char **settings, GeglBuffer **buffers)
{
  dream_gen_result *r = g_new0 (dream_gen_result, a->count);
  int i;

  for (i = 0; i < a->count; i++)
    {
      r[i].buffer = buffers[i];
      r[i].seed = (guint64) a->seed + (guint64) i;
      r[i].clip = clip[i];
      r[i].settings = settings[i];
      r[i].name = layer_name (prefix, a->prompt, r[i].seed);
      if (a->rank_by_clip)
        {
          char *n = g_strdup_printf ("%s — CLIP %.2f", r[i].name, clip[i]);
          g_free (r[i].name);
          r[i].name = n;
        }
      buffers[i] = NULL;
      settings[i] = NULL;
    }
  if (a->rank_by_clip)
    qsort (r, a->count, sizeof *r, by_clip);
  (void) pixels;
  return r;
}

static void
free_arrays (int n, float **pixels, double *clip, char **settings, GeglBuffer **buffers)
{
  int i;

  for (i = 0; i < n; i++)
    {
      g_free (pixels[i]);
      g_free (settings[i]);
      if (buffers[i])
        g_object_unref (buffers[i]);
    }
  g_free (pixels);
  g_free (clip);
  g_free (settings);
  g_free (buffers);
}

dream_gen_result *
dream_gen_txt2img (const dream_gen_args *a, int *n_results, GError **error)
{
  int n, i;
  float **pixels;
  double *clip;
  char **settings;
  GeglBuffer **buffers;
  dream_gen_result *r = NULL;

  g_return_val_if_fail (a != NULL && n_results != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n = CLAMP (a->count, 1, DREAM_GEN_MAX_COUNT);
  pixels = g_new0 (float *, n);
  clip = g_new0 (double, n);
  settings = g_new0 (char *, n);
  buffers = g_new0 (GeglBuffer *, n);

  if (generate_all (a, NULL, a->width, a->height, "txt2img",
                    a->width, a->height, pixels, clip, settings, error))
    {
      const Babl *fmt = babl_format ("R'G'B' float");
      GeglRectangle ext = { 0, 0, a->width, a->height };

      for (i = 0; i < n; i++)
        {
          buffers[i] = gegl_buffer_new (&ext, fmt);
          gegl_buffer_set (buffers[i], &ext, 0, fmt, pixels[i], GEGL_AUTO_ROWSTRIDE);
        }
      r = collect (a, NULL, pixels, clip, settings, buffers);
      *n_results = n;
    }
  free_arrays (n, pixels, clip, settings, buffers);
  return r;
}

dream_gen_result *
dream_gen_img2img (GeglBuffer *src, GeglBuffer *mask, int mask_dx, int mask_dy,
                   const GeglRectangle *roi, const dream_gen_args *a,
                   int *n_results, GError **error)
{
  GeglRectangle r;
  const Babl *fmt;
  float *px = NULL, *sel = NULL, *init = NULL;
  float **pixels;
  double *clip;
  char **settings;
  GeglBuffer **buffers;
  dream_gen_result *res = NULL;
  int n, i, w8, h8, x, y, c;
  gsize np;

  g_return_val_if_fail (GEGL_IS_BUFFER (src), NULL);
  g_return_val_if_fail (roi != NULL && a != NULL && n_results != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!gegl_rectangle_intersect (&r, roi, gegl_buffer_get_extent (src)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The region to reimagine does not overlap the layer.");
      return NULL;
    }
  w8 = (r.width + 7) / 8 * 8;
  h8 = (r.height + 7) / 8 * 8;
  if (w8 > DREAM_GEN_MAX_SIZE || h8 > DREAM_GEN_MAX_SIZE)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "The region is %d×%d; at most %d×%d can be reimagined "
                   "(select a part of the layer).", r.width, r.height,
                   DREAM_GEN_MAX_SIZE, DREAM_GEN_MAX_SIZE);
      return NULL;
    }

  fmt = babl_format_with_space ("R'G'B'A float",
                                babl_format_get_space (gegl_buffer_get_format (src)));
  np = (gsize) r.width * r.height;
  px = g_try_malloc_n (np, 4 * sizeof (float));
  init = g_try_malloc_n ((gsize) w8 * h8, 3 * sizeof (float));
  if (mask)
    sel = g_try_malloc_n (np, sizeof (float));
  if (!px || !init || (mask && !sel))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY,
                   "Not enough memory for a %d×%d region.", r.width, r.height);
      g_free (px);
      g_free (init);
      g_free (sel);
      return NULL;
    }
  gegl_buffer_get (src, &r, 1.0, fmt, px, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  if (mask)
    {
      GeglRectangle mr = { r.x + mask_dx, r.y + mask_dy, r.width, r.height };
      gegl_buffer_get (mask, &mr, 1.0, babl_format ("Y float"), sel,
                       GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    }
  /* pad to multiples of 8 by repeating the last row and column */
  for (y = 0; y < h8; y++)
    for (x = 0; x < w8; x++)
      {
        gsize s = (gsize) MIN (y, r.height - 1) * r.width + MIN (x, r.width - 1);
        for (c = 0; c < 3; c++)
          init[((gsize) y * w8 + x) * 3 + c] = px[s * 4 + c];
      }

  n = CLAMP (a->count, 1, DREAM_GEN_MAX_COUNT);
  pixels = g_new0 (float *, n);
  clip = g_new0 (double, n);
  settings = g_new0 (char *, n);
  buffers = g_new0 (GeglBuffer *, n);
  {
    dream_image im = { init, w8, h8, 3 };
    if (generate_all (a, &im, w8, h8, "img2img", r.width, r.height,
                      pixels, clip, settings, error))
      {
        float *o = g_try_malloc_n (np, 4 * sizeof (float));
        if (!o)
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "Out of memory.");
        for (i = 0; o && i < n; i++)
          {
            gsize k;
            for (y = 0; y < r.height; y++)
              for (x = 0; x < r.width; x++)
                {
                  k = (gsize) y * r.width + x;
                  for (c = 0; c < 3; c++)
                    o[k * 4 + c] = pixels[i][((gsize) y * w8 + x) * 3 + c];
                  o[k * 4 + 3] = px[k * 4 + 3] * (sel ? CLAMP (sel[k], 0.0f, 1.0f) : 1.0f);
                }
            buffers[i] = gegl_buffer_new (&r, fmt);
            gegl_buffer_set (buffers[i], &r, 0, fmt, o, GEGL_AUTO_ROWSTRIDE);
          }
        if (o)
          {
            res = collect (a, "Reimagined ", pixels, clip, settings, buffers);
            *n_results = n;
          }
        g_free (o);
      }
  }
  free_arrays (n, pixels, clip, settings, buffers);
  g_free (px);
  g_free (init);
  g_free (sel);
  return res;
}
