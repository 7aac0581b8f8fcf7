/* generate.c — the Stable Diffusion pipeline: text to image, image to
 * image and inpainting (dream.h), on the networks of engine/models and the
 * samplers of engine/sched.
 *
 *   prompt, negative ──tokenizer──▶ CLIP text ──▶ cond, uncond (77, ctx)
 *   seed ──Philox4x32-10 + Box–Muller──▶ x_T (h, w, 4), per-step noise
 *   init ──VAE encoder (posterior mean) × scale_factor──▶ init latent
 *   x_T [+ init] ──sampler over the guided UNet──▶ x_0
 *   x_0 / scale_factor ──VAE decoder (tiled above native size)──▶ image
 *
 * Noise. Normal deviates come from a counter-based generator, so they do
 * not depend on the machine, the thread count or the order they are
 * asked for: block j of stream s is Philox4x32-10 (Salmon et al. 2011,
 * "Parallel random numbers: as easy as 1, 2, 3") of counter (j mod 2³²,
 * j / 2³², s, 0) under key (seed mod 2³², seed / 2³²); its four 32-bit
 * words u0..u3 give four deviates by Box–Muller in double precision:
 * r = √(−2 ln ((u0 >> 8) + 1) / 2²⁴), z0 = r cos (2π (u1 >> 8) / 2²⁴),
 * z1 = r sin (same angle), and likewise (u2, u3) for z2, z3. Deviate i of
 * a stream is z_(i mod 4) of block i / 4. Stream 0 is x_T, laid out as
 * PyTorch's (4, h, w) (channel-major) and reordered to the engine's
 * (h, w, 4); stream 1 + i is the noise of step i of the ancestral samplers
 * (Euler a, LCM), same layout. tools/make_generate_reference.py has an
 * independent numpy implementation.
 *
 * img2img: the init image is encoded to the mean of the VAE's posterior
 * (no sampling: the seed only drives the noise added); of a schedule of
 * `steps` steps, the last ⌊steps · strength⌋ are run (diffusers' rule)
 * from the init latent noised to the first of them (k-diffusion: x = z +
 * σ_first · x_T; DDIM: x = √ᾱ z + √(1−ᾱ) x_T). No step run = the VAE
 * round trip.
 *
 * Masks. Ordinary model: the known region is held to the init at every
 * UNet evaluation — where the latent mask is 0 the model's output is
 * replaced by the ε (or v) whose clean-latent estimate is the init latent,
 * so the sampler's x_0 there is the init's (the RePaint/A1111 way of
 * "keeping" a region, blended for feathered masks); the latent mask is
 * the maximum of the pixel mask over each 8×8 block (a little context is
 * regenerated rather than a seam kept). 9-channel inpainting UNet: the
 * UNet gets [x, mask, masked-image latent] as the original
 * (scripts/inpaint_st.py: mask binarised at 0.5, nearest-downsampled;
 * masked image = image where mask < 0.5, else 0, in −1..1). Either way the
 * decoded image is blended with the init by the pixel mask, so pixels
 * where the mask is 0 are the input's exactly.
 */
#include "dream.h"

#include "core/core.h"
#include "io/ldm_config.h"
#include "io/model.h"
#include "io/safetensors.h"
#include "io/sd_checkpoint.h"
#include "models/clip.h"
#include "models/clip_text.h"
#include "models/sd_common.h"
#include "models/tokenizer.h"
#include "models/unet.h"
#include "models/vae.h"
#include "ops/ops.h"
#include "sched/sampler.h"
#include "sched/schedule.h"
#include "tasks/generate.h"

#include <math.h>
#include <string.h>

#define SD_ARCH "stable-diffusion"
#define MAX_EDGE 4096

typedef struct {
  dream_sd_checkpoint ck;    /* the mapping (a file or a diffusers view) and settings */
  gboolean opened;
  dream_unet *unet;
  dream_vae *vae;
  dream_clip_text *text;
  dream_tokenizer *tok;
  dream_schedule sched;
  gboolean penultimate;      /* SD2: the context is the penultimate layer */
  gint32 pad_id;             /* HF/SD1: <|endoftext|>; OpenCLIP/SD2: 0 */
  gboolean turbo;
  int native;                /* pixels */
  const dream_st_file *file; /* the model's mapping */
} dream_sd;

static void
sd_free (void *data)
{
  dream_sd *sd = data;
  if (!sd)
    return;
  dream_unet_free (sd->unet);
  dream_vae_free (sd->vae);
  dream_clip_text_free (sd->text);
  dream_tokenizer_free (sd->tok);
  dream_schedule_clear (&sd->sched);
  if (sd->opened)
    dream_sd_checkpoint_close (&sd->ck);   /* after the nets that point into it */
  g_free (sd);
}

static const dream_sd *
get_sd (const dream_model *m)
{
  return m && m->arch && !strcmp (m->arch, SD_ARCH) ? m->net : NULL;
}

/* ---- loading ---------------------------------------------------------------- */

dream_model *
dream_sd_load (const char *path, const char *config_path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  dream_sd *sd = g_new0 (dream_sd, 1);
  dream_model *model = NULL;
  GError *local = NULL;
  char *shown = g_filename_display_name (path);

  /* the file or folder, its family and settings (io/sd_checkpoint.h) */
  if (!dream_sd_checkpoint_open (&sd->ck, path, config_path, &local))
    goto fail;
  sd->opened = TRUE;
  const dream_st_file *f = sd->ck.file;
  sd->file = f;
  if (!(sd->unet = dream_unet_load (f, &sd->ck.config, &local)))
    goto fail;
  if (!(sd->vae = dream_vae_load (f, &local)) || !sd->vae->has_decoder)
    {
      if (!local)
        g_set_error (&local, DREAM_ERROR, DREAM_ERROR_MODEL,
                     "%s: no VAE decoder (first_stage_model.decoder.*)", shown);
      goto fail;
    }
  if (sd->vae->embed_dim != 4 || sd->vae->image_channels != 3)
    {
      g_set_error (&local, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: the VAE has %d latent and %d image channels (4 and 3 expected)", shown,
                   sd->vae->embed_dim, sd->vae->image_channels);
      goto fail;
    }
  if (!(sd->text = dream_clip_text_load (f, sd->ck.text_prefix, &sd->ck.text_hints, &local)))
    {
      g_prefix_error (&local, "%s: text encoder: ", shown);
      goto fail;
    }
  if (sd->text->stack.width != sd->unet->context_dim || sd->text->context != DREAM_CLIP_CONTEXT)
    {
      g_set_error (&local, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: the text encoder (%d wide, %d positions) does not fit the UNet "
                   "(%d-wide context, 77 positions)", shown, sd->text->stack.width,
                   sd->text->context, sd->unet->context_dim);
      goto fail;
    }
  if (!(sd->tok = dream_tokenizer_load (NULL, &local)))
    goto fail;
  sd->penultimate = sd->ck.text_penultimate;
  sd->pad_id = sd->text->layout == DREAM_CLIP_LAYOUT_OPENAI ? 0 : DREAM_CLIP_EOT;
  if (!dream_schedule_init_linear (&sd->sched, sd->ck.config.timesteps, sd->ck.config.linear_start,
                                   sd->ck.config.linear_end, &local))
    goto fail;
  sd->turbo = sd->ck.turbo;
  sd->native = sd->ck.native_size;
  if (sd->ck.config.image_size > 0)
    sd->native = sd->ck.config.image_size * sd->vae->factor;
  if (sd->native < 8 || sd->native > MAX_EDGE || sd->native % 8)
    sd->native = 512;

  model = g_new0 (dream_model, 1);
  model->path = g_strdup (path);
  model->arch = g_strdup (SD_ARCH);
  model->channels = 3;
  model->file = NULL;              /* the checkpoint owns the mapping */
  model->net = sd;
  model->net_free = sd_free;
  g_free (shown);
  return model;

fail:
  g_propagate_error (error, local);
  sd_free (sd);
  g_free (shown);
  return NULL;
}

const char *
dream_sd_get_kind (const dream_model *m)
{
  const dream_sd *sd = get_sd (m);
  return sd ? sd->ck.kind : NULL;
}

int
dream_sd_get_native_size (const dream_model *m)
{
  const dream_sd *sd = get_sd (m);
  return sd ? sd->native : 0;
}

gboolean
dream_sd_is_inpainting (const dream_model *m)
{
  const dream_sd *sd = get_sd (m);
  return sd && sd->unet->in_channels == 9;
}

/* ---- samplers by name --------------------------------------------------------- */

static const char *const sampler_names[] = {
  [DREAM_SAMPLER_EULER] = "euler",
  [DREAM_SAMPLER_EULER_A] = "euler-a",
  [DREAM_SAMPLER_DDIM] = "ddim",
  [DREAM_SAMPLER_DPMPP_2M_KARRAS] = "dpmpp-2m-karras",
  [DREAM_SAMPLER_LCM] = "lcm",
};

const char *
dream_sampler_name (dream_sampler_kind k)
{
  return (unsigned) k < G_N_ELEMENTS (sampler_names) ? sampler_names[k] : NULL;
}

gboolean
dream_sampler_from_name (const char *name, dream_sampler_kind *k)
{
  static const struct { const char *name; dream_sampler_kind k; } aliases[] = {
    { "euler_a", DREAM_SAMPLER_EULER_A }, { "euler-ancestral", DREAM_SAMPLER_EULER_A },
    { "dpmpp-2m", DREAM_SAMPLER_DPMPP_2M_KARRAS }, { "dpm++-2m-karras", DREAM_SAMPLER_DPMPP_2M_KARRAS },
    { "turbo", DREAM_SAMPLER_LCM },
  };
  if (!name)
    return FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS (sampler_names); i++)
    if (!g_ascii_strcasecmp (name, sampler_names[i]))
      {
        *k = (dream_sampler_kind) i;
        return TRUE;
      }
  for (size_t i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (!g_ascii_strcasecmp (name, aliases[i].name))
      {
        *k = aliases[i].k;
        return TRUE;
      }
  return FALSE;
}

dream_generate_params
dream_generate_default_params (const dream_model *m)
{
  const dream_sd *sd = get_sd (m);
  dream_generate_params p = {
    .prompt = NULL, .negative_prompt = NULL, .width = 0, .height = 0, .seed = 0,
    .steps = 20, .cfg_scale = 7.5, .sampler = DREAM_SAMPLER_EULER_A, .strength = 0.75,
  };
  if (sd)
    {
      dream_sampler_kind k;
      if (sd->ck.default_steps > 0)
        p.steps = sd->ck.default_steps;
      if (sd->ck.default_cfg > 0)
        p.cfg_scale = sd->ck.default_cfg;
      if (dream_sampler_from_name (sd->ck.default_sampler, &k))
        p.sampler = k;
    }
  return p;
}

/* ---- noise -------------------------------------------------------------------- */

static void
philox4x32_10 (guint32 ctr[4], guint32 k0, guint32 k1)
{
  for (int r = 0; r < 10; r++)
    {
      guint64 p0 = (guint64) 0xD2511F53u * ctr[0];
      guint64 p1 = (guint64) 0xCD9E8D57u * ctr[2];
      guint32 hi0 = (guint32) (p0 >> 32), lo0 = (guint32) p0;
      guint32 hi1 = (guint32) (p1 >> 32), lo1 = (guint32) p1;
      guint32 c0 = hi1 ^ ctr[1] ^ k0, c2 = hi0 ^ ctr[3] ^ k1;
      ctr[0] = c0;
      ctr[1] = lo1;
      ctr[2] = c2;
      ctr[3] = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
}

void
dream_sd_gauss (guint64 seed, guint32 stream, float *z, size_t n)
{
  for (size_t j = 0; 4 * j < n; j++)
    {
      guint32 c[4] = { (guint32) j, (guint32) ((guint64) j >> 32), stream, 0 };
      philox4x32_10 (c, (guint32) seed, (guint32) (seed >> 32));
      for (int h = 0; h < 2; h++)
        {
          double u1 = ((c[2 * h] >> 8) + 1.0) / 16777216.0;
          double u2 = (c[2 * h + 1] >> 8) / 16777216.0;
          double r = sqrt (-2.0 * log (u1)), a = 2.0 * G_PI * u2;
          if (4 * j + 2 * h < n)
            z[4 * j + 2 * h] = (float) (r * cos (a));
          if (4 * j + 2 * h + 1 < n)
            z[4 * j + 2 * h + 1] = (float) (r * sin (a));
        }
    }
}

/* (4, h, w) deviates of a stream, as (h, w, 4) */
static void
latent_noise (guint64 seed, guint32 stream, int h, int w, float *x, float *tmp)
{
  const size_t hw = (size_t) h * w;
  dream_sd_gauss (seed, stream, tmp, 4 * hw);
  for (int c = 0; c < 4; c++)
    for (size_t p = 0; p < hw; p++)
      x[p * 4 + c] = tmp[c * hw + p];
}

/* ---- text --------------------------------------------------------------------- */

/* ctx (n, 77, d) for n prompts */
static gboolean
encode_text (const dream_sd *sd, const char *const *prompts, int n, float *ctx,
             gboolean *truncated, dream_pool *pool, GError **error)
{
  gint32 *tokens = g_new (gint32, (size_t) n * DREAM_CLIP_CONTEXT);
  for (int i = 0; i < n; i++)
    {
      gboolean cut = dream_tokenizer_tokenize (sd->tok, prompts[i] ? prompts[i] : "",
                                               DREAM_CLIP_CONTEXT, sd->pad_id,
                                               tokens + (size_t) i * DREAM_CLIP_CONTEXT, NULL);
      if (truncated)
        truncated[i] = cut;
    }
  dream_clip_text_state s = { 0 };
  dream_clip_text_outputs o = { 0 };
  if (sd->penultimate)
    o.penultimate_hidden_ln = ctx;
  else
    o.last_hidden_ln = ctx;
  gboolean ok = dream_clip_text_state_init (&s, sd->text, n, dream_pool_n_threads (pool), error)
                && dream_clip_text_forward (sd->text, &s, tokens, n, &o, pool, error);
  dream_clip_text_state_clear (&s);
  g_free (tokens);
  return ok;
}

/* ---- holding the known region ------------------------------------------------- */

typedef struct {
  dream_guided *g;
  const dream_schedule *sch;
  dream_prediction prediction;
  const float *mask;   /* (h·w) latent mask, 1 = regenerate; NULL = none */
  const float *init;   /* (h·w·4) init latent */
  size_t px;
} hold_model;

static gboolean
hold_model_run (gpointer data, const float *x, float t, float *out, GError **error)
{
  hold_model *m = data;
  if (!dream_guided_model (m->g, x, t, out, error))
    return FALSE;
  if (!m->mask)
    return TRUE;
  /* x is the UNet input √ᾱ x0 + √(1−ᾱ) ε (DDIM latent = k-diffusion x/√(σ²+1)) */
  const double sigma = dream_schedule_t_to_sigma (m->sch, t);
  const double a = 1.0 / (sigma * sigma + 1.0);
  const float sa = (float) sqrt (a), s1 = (float) sqrt (1.0 - a);
  for (size_t p = 0; p < m->px; p++)
    {
      const float k = m->mask[p];
      if (k >= 1.0f)
        continue;
      for (int c = 0; c < 4; c++)
        {
          const size_t i = p * 4 + c;
          float eps = (x[i] - sa * m->init[i]) / s1;
          float known = m->prediction == DREAM_PREDICTION_V ? sa * eps - s1 * m->init[i] : eps;
          out[i] = k * out[i] + (1.0f - k) * known;
        }
    }
  return TRUE;
}

/* ---- the pipeline --------------------------------------------------------------- */

static gboolean
check_image (const dream_image *im, const char *what, int min_ch, GError **error)
{
  if (!im->data || im->width < 1 || im->height < 1 || im->width > 65536 || im->height > 65536
      || im->channels < min_ch || im->channels > 4)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "%s: a %d×%d image with %d channels will not do", what, im->width,
                   im->height, im->channels);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_params (const dream_sd *sd, const dream_generate_params *p, GError **error)
{
  const char *bad = NULL;
  if (!sd)
    bad = "not a Stable Diffusion model (load it with dream_sd_load)";
  else if (p->prompt && !g_utf8_validate (p->prompt, -1, NULL))
    bad = "the prompt is not valid UTF-8";
  else if (p->negative_prompt && !g_utf8_validate (p->negative_prompt, -1, NULL))
    bad = "the negative prompt is not valid UTF-8";
  else if (p->steps < 1 || p->steps > 1000)
    bad = "steps must be 1..1000";
  else if (!(p->cfg_scale >= 0.0 && p->cfg_scale <= 100.0))
    bad = "the guidance scale must be 0..100";
  else if (!(p->strength >= 0.0 && p->strength <= 1.0))
    bad = "strength must be 0..1";
  else if (!dream_sampler_name (p->sampler))
    bad = "unknown sampler";
  else if (p->n_threads < 0 || p->n_threads > 1024)
    bad = "n_threads must be 0..1024";
  if (bad)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "%s", bad);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_size (const dream_sd *sd, int W, int H, GError **error)
{
  (void) sd;
  if (W < 8 || H < 8 || W > MAX_EDGE || H > MAX_EDGE || W % 8 || H % 8)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "image size %d×%d: each side must be a multiple of 8 from 8 to %d", W, H,
                   MAX_EDGE);
      return FALSE;
    }
  return TRUE;
}

/* v (h, w, c) → (ph, pw, c), edges replicated; a new array */
static float *
pad_edges (const float *v, int w, int h, int c, int pw, int ph, GError **error)
{
  float *o = dream_alloc ((size_t) pw * ph * c, sizeof (float), "padding", error);
  if (o)
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++)
        memcpy (o + ((size_t) y * pw + x) * c, v + ((size_t) MIN (y, h - 1) * w + MIN (x, w - 1)) * c,
                c * sizeof (float));
  return o;
}

/* The work. init (H, W, 3) in −1..1 or NULL; mask (H, W) or NULL; out
 * (H, W, 3) in −1..1, unblended. */
static gboolean
run (const dream_sd *sd, const dream_generate_params *p, int W, int H, const float *init,
     const float *mask, float *out, gboolean *prompt_truncated, GError **error)
{
  const int f = sd->vae->factor, h = H / f, w = W / f;
  const size_t px = (size_t) h * w, n = px * 4;
  const int nb = dream_unet_n_blocks (sd->unet);
  const int D = sd->unet->context_dim;
  const gboolean inpaint9 = sd->unet->in_channels == 9;
  const gboolean guided = p->cfg_scale != 1.0;
  const dream_schedule *sch = &sd->sched;
  gboolean ok = FALSE;
  dream_pool *pool = dream_pool_new (p->n_threads);
  float *ctx = NULL, *x = NULL, *tmp = NULL, *noise = NULL, *z0 = NULL, *sigmas = NULL;
  float *lmask = NULL, *concat = NULL, *img = NULL;
  dream_guided g = { 0 };
  dream_vae_state vs = { 0 };
  gboolean have_vs = FALSE;

  if ((init || mask || inpaint9) && !sd->vae->has_encoder)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "this model has no VAE encoder: it cannot start from an image");
      goto out;
    }
  if (inpaint9 && (!init || !mask))
    {
      /* an inpainting UNet still needs its extra channels: everything masked */
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "an inpainting model (9-channel UNet) needs an image and a mask");
      goto out;
    }

  /* how many steps run, and from where */
  const gboolean kdiff = p->sampler != DREAM_SAMPLER_DDIM;
  int total = p->steps;
  if (!kdiff)
    {
      int *ts = g_new (int, sch->n);
      total = dream_ddim_timesteps (sch, p->steps, ts);
      g_free (ts);
      if (total < 1)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                       "DDIM: %d steps on a %d-step schedule", p->steps, sch->n);
          goto out;
        }
    }
  const gboolean turbo_sigmas = p->sampler == DREAM_SAMPLER_LCM && p->steps <= 10;
  int n_run = total;
  if (init && !mask)
    n_run = (int) floor (total * p->strength + 1e-6);
  if (init && mask && !inpaint9)
    n_run = MAX (1, (int) floor (total * p->strength + 1e-6));
  const int first = total - n_run;

  dream_progress progress;
  const double w_text = 1.0, w_enc = init ? nb : 0, w_dec = 2.0 * nb;
  dream_progress_init (&progress, p->progress, p->progress_user,
                       w_text + w_enc * (inpaint9 ? 2 : 1) + (double) n_run * nb + w_dec);

  /* text */
  const char *prompts[2] = { p->negative_prompt ? p->negative_prompt : "",
                             p->prompt ? p->prompt : "" };
  gboolean cut[2] = { FALSE, FALSE };
  const size_t nctx = (size_t) DREAM_CLIP_CONTEXT * D;
  if (n_run > 0)
    {
      if (!(ctx = dream_alloc (2 * nctx, sizeof (float), "text context", error)))
        goto out;
      if (guided)
        {
          if (!encode_text (sd, prompts, 2, ctx, cut, pool, error))
            goto out;
        }
      else if (!encode_text (sd, prompts + 1, 1, ctx + nctx, cut + 1, pool, error))
        goto out;
      dream_sd_release_tensors (sd->file, "cond_stage_model.");
    }
  if (prompt_truncated)
    *prompt_truncated = cut[0] || cut[1];
  if (!dream_progress_step (&progress, w_text, error))
    goto out;

  if (!(x = dream_alloc (n, sizeof (float), "latent", error))
      || !(tmp = dream_alloc (n, sizeof (float), "latent", error)))
    goto out;
  latent_noise (p->seed, 0, h, w, x, tmp);

  /* the init latent(s) */
  if (init)
    {
      if (!(z0 = dream_alloc (n, sizeof (float), "init latent", error)))
        goto out;
      have_vs = TRUE;
      if (!dream_vae_state_init (&vs, sd->vae, DREAM_VAE_ENCODE, 1, h, w,
                                 dream_pool_n_threads (pool), error)
          || !dream_vae_encode (sd->vae, &vs, init, z0, NULL, NULL, pool, &progress, w_enc,
                                error))
        goto out;
      for (size_t k = 0; k < n; k++)
        z0[k] *= (float) sd->ck.config.scale_factor;
      if (mask)
        {
          if (!(lmask = dream_alloc (px, sizeof (float), "latent mask", error)))
            goto out;
          for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++)
              {
                float m = 0.0f;
                if (inpaint9)   /* nearest: pixel (f·y, f·x), binarised */
                  m = mask[(size_t) (y * f) * W + xx * f] >= 0.5f ? 1.0f : 0.0f;
                else
                  for (int dy = 0; dy < f; dy++)
                    for (int dx = 0; dx < f; dx++)
                      m = MAX (m, mask[(size_t) (y * f + dy) * W + xx * f + dx]);
                lmask[(size_t) y * w + xx] = CLAMP (m, 0.0f, 1.0f);
              }
        }
      if (inpaint9)
        {
          float *masked = dream_alloc ((size_t) H * W * 3, sizeof (float), "masked image", error);
          if (!masked || !(concat = dream_alloc (px * 5, sizeof (float), "inpainting input", error)))
            {
              g_free (masked);
              goto out;
            }
          for (size_t q = 0; q < (size_t) H * W; q++)
            for (int c = 0; c < 3; c++)
              masked[q * 3 + c] = mask[q] < 0.5f ? init[q * 3 + c] : 0.0f;
          gboolean eok = dream_vae_encode (sd->vae, &vs, masked, tmp, NULL, NULL, pool,
                                           &progress, w_enc, error);
          g_free (masked);
          if (!eok)
            goto out;
          for (size_t q = 0; q < px; q++)
            {
              concat[q * 5] = lmask[q];
              for (int c = 0; c < 4; c++)
                concat[q * 5 + 1 + c] = tmp[q * 4 + c] * (float) sd->ck.config.scale_factor;
            }
        }
      dream_vae_state_clear (&vs);
      have_vs = FALSE;
    }

  if (n_run > 0)
    {
      /* per-step noise of the ancestral samplers */
      gboolean ancestral = p->sampler == DREAM_SAMPLER_EULER_A || p->sampler == DREAM_SAMPLER_LCM;
      if (ancestral)
        {
          if (!(noise = dream_alloc ((size_t) n_run * n, sizeof (float), "sampler noise", error)))
            goto out;
          for (int i = 0; i < n_run; i++)
            latent_noise (p->seed, 1 + first + i, h, w, noise + (size_t) i * n, tmp);
        }
      if (!dream_guided_init (&g, sd->unet, 1, h, w, ctx + nctx, guided ? ctx : NULL,
                              DREAM_CLIP_CONTEXT, (float) p->cfg_scale, concat, pool, error))
        goto out;
      g.progress = &progress;
      g.work_per_eval = nb;
      hold_model hm = { &g, sch, sd->ck.config.prediction, init && mask && !inpaint9 ? lmask : NULL,
                        z0, px };
      dream_sampler s = { sch, sd->ck.config.prediction, n, hold_model_run, &hm, NULL, NULL };
      if (!kdiff)
        {
          if (init && !inpaint9)
            {
              int *ts = g_new (int, sch->n);
              dream_ddim_timesteps (sch, p->steps, ts);
              const double a = sch->alphas_cumprod64[ts[first]];
              const float sa = (float) sqrt (a), s1 = (float) sqrt (1.0 - a);
              g_free (ts);
              for (size_t k = 0; k < n; k++)
                x[k] = sa * z0[k] + s1 * x[k];
            }
          ok = dream_sample_ddim_from (&s, p->steps, first, x, error);
        }
      else
        {
          if (!(sigmas = dream_alloc (total + 1, sizeof (float), "sigmas", error)))
            goto out;
          if (turbo_sigmas)
            dream_sigmas_turbo (sch, total, sigmas);
          else if (p->sampler == DREAM_SAMPLER_DPMPP_2M_KARRAS)
            dream_sigmas_karras (sch, total, 7.0, sigmas);
          else
            dream_sigmas_discrete (sch, total, sigmas);
          const float *sg = sigmas + first;
          /* the samplers scale x by σ_first: give them init/σ + noise */
          if (init && !inpaint9)
            for (size_t k = 0; k < n; k++)
              x[k] += z0[k] / sg[0];
          switch (p->sampler)
            {
            case DREAM_SAMPLER_EULER:
              ok = dream_sample_euler (&s, sg, n_run, x, error);
              break;
            case DREAM_SAMPLER_EULER_A:
              ok = dream_sample_euler_ancestral (&s, sg, n_run, noise, x, error);
              break;
            case DREAM_SAMPLER_DPMPP_2M_KARRAS:
              ok = dream_sample_dpmpp_2m (&s, sg, n_run, x, error);
              break;
            case DREAM_SAMPLER_LCM:
              ok = dream_sample_lcm (&s, sg, n_run, noise, x, error);
              break;
            default:
              ok = FALSE;
              g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "unknown sampler");
            }
        }
      if (!ok)
        goto out;
      ok = FALSE;
      dream_guided_clear (&g);
      if (init && mask && !inpaint9)
        for (size_t q = 0; q < px; q++)
          for (int c = 0; c < 4; c++)
            x[q * 4 + c] = lmask[q] * x[q * 4 + c] + (1.0f - lmask[q]) * z0[q * 4 + c];
    }
  else
    memcpy (x, z0, n * sizeof (float));   /* strength 0: the VAE round trip */

  /* decode, with the UNet's (and text encoder's) pages given back first */
  dream_sd_release_tensors (sd->file, sd->unet->prefix);
  for (size_t k = 0; k < n; k++)
    x[k] /= (float) sd->ck.config.scale_factor;
  if (W <= sd->native && H <= sd->native)
    {
      have_vs = TRUE;
      if (!dream_vae_state_init (&vs, sd->vae, DREAM_VAE_DECODE, 1, h, w,
                                 dream_pool_n_threads (pool), error)
          || !dream_vae_decode (sd->vae, &vs, x, out, pool, &progress, w_dec, error))
        goto out;
    }
  else
    {
      const int tile = MAX (8, sd->native / f);
      if (!dream_vae_decode_tiled (sd->vae, x, 1, h, w, tile, MAX (1, tile / 8), MAX (1, tile / 8),
                                   out, pool, &progress, w_dec, error))
        goto out;
    }
  ok = TRUE;

out:
  if (have_vs)
    dream_vae_state_clear (&vs);
  dream_guided_clear (&g);
  dream_pool_free (pool);
  g_free (ctx); g_free (x); g_free (tmp); g_free (noise); g_free (z0); g_free (sigmas);
  g_free (lmask); g_free (concat); g_free (img);
  return ok;
}

/* RGB(A) 0..1 → RGB −1..1 (H, W, 3) */
static float *
to_model_rgb (const dream_image *im, GError **error)
{
  const size_t np = (size_t) im->width * im->height;
  float *v = dream_alloc (np * 3, sizeof (float), "init image", error);
  if (!v)
    return NULL;
  const int C = im->channels;
  for (size_t q = 0; q < np; q++)
    for (int c = 0; c < 3; c++)
      {
        float s = C >= 3 ? im->data[q * C + c] : im->data[q * C];
        v[q * 3 + c] = 2.0f * s - 1.0f;
      }
  return v;
}

static float
init_px (const dream_image *im, size_t q, int c)
{
  return im->channels >= 3 ? im->data[q * im->channels + c] : im->data[q * im->channels];
}

gboolean
dream_generate (const dream_model *model, const dream_generate_params *p, dream_image *out,
                gboolean *prompt_truncated, GError **error)
{
  const dream_sd *sd = get_sd (model);
  if (!p || !out || !check_params (sd, p, error))
    {
      if (!p || !out)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "no parameters or output");
      return FALSE;
    }
  if (p->init && !check_image (p->init, "init image", 1, error))
    return FALSE;
  if (p->mask && !p->init)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "a mask needs an init image");
      return FALSE;
    }
  int W = p->width, H = p->height;
  if (p->init && W == 0 && H == 0)
    W = p->init->width, H = p->init->height;
  if (W == 0)
    W = sd->native;
  if (H == 0)
    H = sd->native;
  if (!check_size (sd, W, H, error))
    return FALSE;
  if (p->init && (p->init->width != W || p->init->height != H))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the init image is %d×%d but the output is %d×%d (resize it, or use "
                   "dream_inpaint)", p->init->width, p->init->height, W, H);
      return FALSE;
    }
  if (p->mask && (p->mask->width != W || p->mask->height != H || p->mask->channels != 1
                  || !p->mask->data))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the mask must be one channel of %d×%d", W, H);
      return FALSE;
    }
  if (!out->data || out->width != W || out->height != H || out->channels != 3)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the output must be a %d×%d RGB image (it is %d×%d×%d)", W, H, out->width,
                   out->height, out->channels);
      return FALSE;
    }

  const size_t np = (size_t) W * H;
  float *init = NULL, *res = dream_alloc (np * 3, sizeof (float), "image", error);
  if (!res || (p->init && !(init = to_model_rgb (p->init, error))))
    {
      g_free (res);
      return FALSE;
    }
  /* The UNet halves the latent 3 times (SD): other multiples of 8 are run
   * on a canvas grown to the next multiple (edges replicated) and cropped. */
  const int al = sd->vae->factor * sd->unet->down;
  const int PW = (W + al - 1) / al * al, PH = (H + al - 1) / al * al;
  gboolean ok;
  if (PW == W && PH == H)
    ok = run (sd, p, W, H, init, p->mask ? p->mask->data : NULL, res, prompt_truncated, error);
  else
    {
      float *pi = NULL, *pm = NULL, *pr = dream_alloc ((size_t) PW * PH * 3, sizeof (float),
                                                       "image", error);
      ok = pr && (!init || (pi = pad_edges (init, W, H, 3, PW, PH, error)))
           && (!p->mask || (pm = pad_edges (p->mask->data, W, H, 1, PW, PH, error)))
           && run (sd, p, PW, PH, pi, pm, pr, prompt_truncated, error);
      if (ok)
        for (int y = 0; y < H; y++)
          memcpy (res + (size_t) y * W * 3, pr + (size_t) y * PW * 3, (size_t) W * 3 * sizeof (float));
      g_free (pi); g_free (pm); g_free (pr);
    }
  if (ok)
    for (size_t q = 0; q < np; q++)
      {
        const float m = p->mask ? CLAMP (p->mask->data[q], 0.0f, 1.0f) : 1.0f;
        for (int c = 0; c < 3; c++)
          {
            float v = CLAMP ((res[q * 3 + c] + 1.0f) * 0.5f, 0.0f, 1.0f);
            if (m <= 0.0f)
              v = init_px (p->init, q, c);
            else if (m < 1.0f)
              v = m * v + (1.0f - m) * init_px (p->init, q, c);
            out->data[q * 3 + c] = v;
          }
      }
  g_free (init);
  g_free (res);
  return ok;
}

/* ---- inpainting a region of a large image -------------------------------------- */

/* dst (dh, dw, c) = src (sh, sw, c) resized (filter); centres aligned */
static gboolean
resize (const float *src, int sw, int sh, int c, float *dst, int dw, int dh, dream_filter flt,
        GError **error)
{
  dream_resampler rx = { 0 }, ry = { 0 };
  float *scratch = NULL;
  gboolean ok = dream_resampler_init (&rx, flt, sw, dw, error)
                && dream_resampler_init (&ry, flt, sh, dh, error);
  if (ok)
    {
      scratch = dream_alloc (MAX (1, dream_resample_2d_scratch_size (&ry, 0, dh, dw, c)),
                             sizeof (float), "resize", error);
      ok = scratch != NULL;
    }
  if (ok)
    dream_resample_2d (&rx, &ry, src, 0, 0, sw, c, 0, 0, dw, dh, dst, scratch);
  g_free (scratch);
  dream_resampler_clear (&rx);
  dream_resampler_clear (&ry);
  return ok;
}

gboolean
dream_inpaint (const dream_model *model, const dream_generate_params *p, dream_image *out,
               GError **error)
{
  const dream_sd *sd = get_sd (model);
  if (!p || !out || !check_params (sd, p, error))
    {
      if (!p || !out)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "no parameters or output");
      return FALSE;
    }
  if (!p->init || !p->mask || !check_image (p->init, "image", 1, error))
    {
      if (!p->init || !p->mask)
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                     "inpainting needs an image and a mask");
      return FALSE;
    }
  const dream_image *im = p->init, *mk = p->mask;
  const int IW = im->width, IH = im->height;
  if (mk->width != IW || mk->height != IH || mk->channels != 1 || !mk->data)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the mask must be one channel of %d×%d", IW, IH);
      return FALSE;
    }
  if (!out->data || out->width != IW || out->height != IH || out->channels != 3)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT,
                   "the output must be a %d×%d RGB image", IW, IH);
      return FALSE;
    }

  /* the mask's bounding box */
  int x0 = IW, y0 = IH, x1 = -1, y1 = -1;
  for (int y = 0; y < IH; y++)
    for (int x = 0; x < IW; x++)
      if (mk->data[(size_t) y * IW + x] > 0.0f)
        {
          x0 = MIN (x0, x); x1 = MAX (x1, x);
          y0 = MIN (y0, y); y1 = MAX (y1, y);
        }
  const size_t np = (size_t) IW * IH;
  if (x1 < 0)   /* nothing to do */
    {
      for (size_t q = 0; q < np; q++)
        for (int c = 0; c < 3; c++)
          out->data[q * 3 + c] = init_px (im, q, c);
      return TRUE;
    }

  /* plus context: a quarter of the box each side (at least 16 px), as a
   * region no smaller than a quarter of the model's size where the image
   * allows */
  int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  int margin = MAX (16, MAX (bw, bh) / 4);
  int rx0 = x0 - margin, ry0 = y0 - margin, rx1 = x1 + 1 + margin, ry1 = y1 + 1 + margin;
  const int min_edge = sd->native / 4;
  if (rx1 - rx0 < min_edge)
    rx0 -= (min_edge - (rx1 - rx0)) / 2, rx1 = rx0 + min_edge;
  if (ry1 - ry0 < min_edge)
    ry0 -= (min_edge - (ry1 - ry0)) / 2, ry1 = ry0 + min_edge;
  rx0 = MAX (0, rx0); ry0 = MAX (0, ry0); rx1 = MIN (IW, rx1); ry1 = MIN (IH, ry1);
  const int RW = rx1 - rx0, RH = ry1 - ry0;

  /* the working size: the region's long side at the model's size, sides
   * multiples of the model's alignment */
  const int al = sd->vae->factor * sd->unet->down;
  double scale = (double) sd->native / MAX (RW, RH);
  int WW = MAX (al, (int) (RW * scale / al + 0.5) * al);
  int WH = MAX (al, (int) (RH * scale / al + 0.5) * al);

  gboolean ok = FALSE;
  float *crop = NULL, *cmask = NULL, *winit = NULL, *wmask = NULL, *wout = NULL, *back = NULL;
  const size_t rn = (size_t) RW * RH, wn = (size_t) WW * WH;
  if (!(crop = dream_alloc (rn * 3, sizeof (float), "inpaint crop", error))
      || !(cmask = dream_alloc (rn, sizeof (float), "inpaint crop", error))
      || !(winit = dream_alloc (wn * 3, sizeof (float), "inpaint work", error))
      || !(wmask = dream_alloc (wn, sizeof (float), "inpaint work", error))
      || !(wout = dream_alloc (wn * 3, sizeof (float), "inpaint work", error))
      || !(back = dream_alloc (rn * 3, sizeof (float), "inpaint result", error)))
    goto out;
  for (int y = 0; y < RH; y++)
    for (int x = 0; x < RW; x++)
      {
        size_t q = (size_t) (ry0 + y) * IW + rx0 + x, r = (size_t) y * RW + x;
        for (int c = 0; c < 3; c++)
          crop[r * 3 + c] = init_px (im, q, c);
        cmask[r] = CLAMP (mk->data[q], 0.0f, 1.0f);
      }
  if (!resize (crop, RW, RH, 3, winit, WW, WH, DREAM_FILTER_BICUBIC, error)
      || !resize (cmask, RW, RH, 1, wmask, WW, WH, DREAM_FILTER_BILINEAR, error))
    goto out;
  for (size_t q = 0; q < wn; q++)
    wmask[q] = CLAMP (wmask[q], 0.0f, 1.0f);

  dream_generate_params wp = *p;
  dream_image wi = { winit, WW, WH, 3 }, wm = { wmask, WW, WH, 1 }, wo = { wout, WW, WH, 3 };
  wp.init = &wi;
  wp.mask = &wm;
  wp.width = WW;
  wp.height = WH;
  if (!dream_generate (model, &wp, &wo, NULL, error)
      || !resize (wout, WW, WH, 3, back, RW, RH, DREAM_FILTER_BICUBIC, error))
    goto out;

  for (size_t q = 0; q < np; q++)
    for (int c = 0; c < 3; c++)
      out->data[q * 3 + c] = init_px (im, q, c);
  for (int y = 0; y < RH; y++)
    for (int x = 0; x < RW; x++)
      {
        size_t q = (size_t) (ry0 + y) * IW + rx0 + x, r = (size_t) y * RW + x;
        const float m = cmask[r];
        if (m <= 0.0f)
          continue;
        for (int c = 0; c < 3; c++)
          {
            float v = CLAMP (back[r * 3 + c], 0.0f, 1.0f);
            out->data[q * 3 + c] = m * v + (1.0f - m) * out->data[q * 3 + c];
          }
      }
  ok = TRUE;

out:
  g_free (crop); g_free (cmask); g_free (winit); g_free (wmask); g_free (wout); g_free (back);
  return ok;
}
