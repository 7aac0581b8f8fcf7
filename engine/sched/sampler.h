/* sampler.h — Stable Diffusion samplers over any denoising model, and the
 * classifier-free-guided UNet as such a model.
 *
 *   dream_schedule sch;  dream_schedule_init_linear (&sch, 1000, 0.00085, 0.012, &err);
 *   dream_guided g;      dream_guided_init (&g, unet, B, h, w, cond, uncond, 77, 7.5, 0, pool, &err);
 *   dream_sampler s = { &sch, DREAM_PREDICTION_EPS, B * h * w * 4,
 *                       dream_guided_model, &g, on_step, user };
 *   dream_sample_ddim (&s, 20, x, &err);          // x: x_T in, x_0 out
 *
 * Samplers follow the original code step for step, in float32 where it
 * computes in float32 (see schedule.h):
 *   DDIM   (ldm.models.diffusion.ddim.DDIMSampler, η = 0):
 *          x0 = (x − √(1−ᾱ_t) ε)/√ᾱ_t;  x ← √ᾱ_prev x0 + √(1−ᾱ_prev) ε
 *          with v-prediction ε = √ᾱ v + √(1−ᾱ) x, x0 = √ᾱ x − √(1−ᾱ) v.
 *   Euler  (k-diffusion sample_euler, s_churn = 0) on the CompVis
 *          denoisers: x ← x_T σ_0; per step D = denoised(x, σ_i),
 *          x ← x + (x − D)/σ_i · (σ_{i+1} − σ_i); the UNet sees x/√(σ²+1)
 *          at t = t(σ) (fractional between the schedule's levels).
 *   Euler ancestral (sample_euler_ancestral, η = 1) with given noise.
 *   DPM++ 2M (sample_dpmpp_2m).
 *   LCM (sample_lcm), for SD-Turbo with dream_sigmas_turbo().
 *
 * Latents are flat arrays of n floats (the whole batch, any layout the
 * model agrees with: the engine uses (B, h, w, 4)).
 */
#ifndef DREAM_SAMPLER_H
#define DREAM_SAMPLER_H

#include "core/core.h"
#include "io/ldm_config.h"
#include "models/unet.h"
#include "sched/schedule.h"

/* out (n) = the network's output (ε or v) for x (n) at timestep t. FALSE
 * with error set stops the sampler (e.g. DREAM_ERROR_CANCELLED). */
typedef gboolean (*dream_sample_model) (gpointer user, const float *x, float t, float *out,
                                        GError **error);

/* After step i (0-based) of `steps`: x the new latent, x0 the model's
 * estimate of the clean latent at that step (DDIM pred_x0, k-diffusion
 * denoised), t the UNet timestep it ran at. */
typedef void (*dream_sample_step) (gpointer user, int step, float t, const float *x,
                                   const float *x0);

typedef struct {
  const dream_schedule *schedule;
  dream_prediction prediction;
  size_t n;                        /* floats in x */
  dream_sample_model model;
  gpointer model_user;
  dream_sample_step on_step;       /* may be NULL */
  gpointer step_user;
} dream_sampler;

/* DDIM (η = 0) with LDM's uniform timesteps; x: x_T in, x_0 out. The
 * number of steps run is dream_ddim_timesteps()'s count. */
gboolean dream_sample_ddim (const dream_sampler *s, int steps, float *x, GError **error);
/* The same from step `first` of those timesteps on (img2img): x is the
 * latent at timestep ts[first] in, x_0 out; on_step counts from `first`. */
gboolean dream_sample_ddim_from (const dream_sampler *s, int steps, int first, float *x,
                                 GError **error);

/* Euler: sigmas (steps + 1, last 0, e.g. from dream_sigmas_karras);
 * x: unit-variance noise in (scaled by σ_0 here), x_0 out. */
gboolean dream_sample_euler (const dream_sampler *s, const float *sigmas, int steps,
                             float *x, GError **error);

/* Euler ancestral (η = 1): noise holds steps × n unit Gaussian values,
 * one draw per step (the last step uses none but still has its slot). */
gboolean dream_sample_euler_ancestral (const dream_sampler *s, const float *sigmas,
                                       int steps, const float *noise, float *x,
                                       GError **error);

/* DPM-Solver++(2M), deterministic. */
gboolean dream_sample_dpmpp_2m (const dream_sampler *s, const float *sigmas, int steps,
                                float *x, GError **error);

/* LCM (k-diffusion sample_lcm): x ← D(x, σ_i), plus σ_{i+1} · noise_i
 * while σ_{i+1} > 0 — for latent-consistency and SD-Turbo models, with
 * noise as for the ancestral sampler. */
gboolean dream_sample_lcm (const dream_sampler *s, const float *sigmas, int steps,
                           const float *noise, float *x, GError **error);

/* ---- classifier-free guidance on the UNet -------------------------------- */

typedef struct {
  const dream_unet *unet;
  dream_unet_state state;     /* batch 2B with guidance, B without */
  dream_pool *pool;
  int batch;                  /* B latents sampled together */
  int h, w;
  int extra;                  /* channels appended to x for the UNet (inpainting: 5) */
  gboolean guided;            /* scale != 1 and an unconditional context given */
  float scale;
  float *x2;                  /* (B' , h, w, 4 + extra) UNet input */
  float *t2;                  /* (B') */
  float *ctx2;                /* (B', n_ctx, context_dim): [uncond × B, cond × B] */
  float *out2;                /* (B', h, w, 4) */
  const float *concat;        /* (B, h, w, extra) or NULL; borrowed */
  float *last_uncond;         /* if not NULL, (B, h, w, 4): the last unguided outputs */
  float *last_cond;
  dream_progress *progress;   /* if not NULL, `work_per_eval` units per UNet run */
  double work_per_eval;
} dream_guided;

/* cond and uncond: (B, n_ctx, context_dim), copied. uncond NULL or scale 1
 * runs the conditional batch alone. concat: extra channels for
 * inpainting UNets (in_channels − 4 per pixel; borrowed, may be NULL
 * when the UNet takes 4). n_threads as for dream_unet_state_init. */
gboolean dream_guided_init (dream_guided *g, const dream_unet *unet, int batch, int h, int w,
                            const float *cond, const float *uncond, int n_ctx, float scale,
                            const float *concat, dream_pool *pool, GError **error);
void dream_guided_clear (dream_guided *g);

/* A dream_sample_model: out = ε_u + scale (ε_c − ε_u) (or v). */
gboolean dream_guided_model (gpointer guided, const float *x, float t, float *out,
                             GError **error);

#endif /* DREAM_SAMPLER_H */
