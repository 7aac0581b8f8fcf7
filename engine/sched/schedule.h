/* schedule.h — the DDPM noise schedule of Stable Diffusion and the sigma
 * sequences of the k-diffusion samplers.
 *
 * Training noise levels t = 0..T−1 (T = 1000), β_t on the "linear"
 * schedule of LDM: β = linspace(√start, √end, T)² (float64), ᾱ_t =
 * Π (1 − β). The diffusion forward process is x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε;
 * k-diffusion writes the same as x = x₀ + σ ε with σ_t = √((1−ᾱ_t)/ᾱ_t),
 * scaled by 1/√(σ²+1) before the UNet.
 *
 * Numbers are kept as the original code keeps them so that samplers
 * reproduce it to float32 rounding: ᾱ in float64 and as the float32
 * buffer LDM registers, σ and log σ in float32 as k-diffusion computes
 * them from that buffer.
 */
#ifndef DREAM_SCHEDULE_H
#define DREAM_SCHEDULE_H

#include <glib.h>

typedef struct {
  int n;                      /* T, training steps */
  double *alphas_cumprod64;   /* (T) ᾱ in float64 (LDM's numpy arrays) */
  float *alphas_cumprod;      /* (T) ᾱ as float32 (LDM's registered buffer) */
  float *sigmas;              /* (T) σ_t = √((1−ᾱ)/ᾱ) in float32, increasing */
  float *log_sigmas;          /* (T) ln σ_t */
} dream_schedule;

/* FALSE + DREAM_ERROR_INVALID_ARGUMENT unless 2 <= T <= 100000 and
 * 0 < start < end < 1. */
gboolean dream_schedule_init_linear (dream_schedule *s, int n, double linear_start,
                                     double linear_end, GError **error);
void dream_schedule_clear (dream_schedule *s);

/* k-diffusion DiscreteSchedule: σ at a fractional t (log-linear between
 * neighbours), and t for a σ (the inverse, clamped to [0, T−1]). */
float dream_schedule_t_to_sigma (const dream_schedule *s, float t);
float dream_schedule_sigma_to_t (const dream_schedule *s, float sigma);

/* steps + 1 sigmas, the last 0:
 * discrete: σ(t) at t = linspace(T−1, 0, steps) (k-diffusion get_sigmas);
 * karras:   (σmax^(1/ρ) + i/(steps−1) (σmin^(1/ρ) − σmax^(1/ρ)))^ρ between
 *           the schedule's σ_0 and σ_{T−1} (Karras et al. 2022, ρ = 7). */
void dream_sigmas_discrete (const dream_schedule *s, int steps, float *sigmas);
void dream_sigmas_karras (const dream_schedule *s, int steps, double rho, float *sigmas);

/* SD-Turbo's schedule (as ComfyUI's SDTurboScheduler): σ at t = 999,
 * 899, ... (steps of 100, steps <= 10), then 0. */
void dream_sigmas_turbo (const dream_schedule *s, int steps, float *sigmas);

/* DDIM's timesteps, "uniform" discretisation as LDM makes them: c = ⌊T /
 * steps⌋, t = i·c + 1 for i·c < T — which is more than `steps` when c
 * does not divide T (T = 1000, 7 steps: c = 142, 8 timesteps). Written
 * in sampling order (descending) into ts, which must hold T entries;
 * returns their count, 0 if steps is not in 1..T. */
int dream_ddim_timesteps (const dream_schedule *s, int steps, int *ts);

/* PyTorch's float32 linspace (the same rounding as torch.linspace). */
float dream_linspace_f32 (float start, float end, int steps, int i);

#endif /* DREAM_SCHEDULE_H */
