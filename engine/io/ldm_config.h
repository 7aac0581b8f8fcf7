/* ldm_config.h — what a Stable Diffusion checkpoint's tensors do not tell.
 *
 * The UNet and VAE loaders read every size they can from tensor names and
 * shapes (channels, levels, blocks per level, where the transformers are,
 * their depth, the context width, 4 or 9 input channels). A few settings
 * leave no trace in the weights: the attention head count (SD1: a fixed
 * number of heads; SD2: a fixed head width), the prediction target (ε or
 * v: SD 2.x 512 and 768-v have identical tensors), the noise schedule and
 * the latent scale factor. They come from, in order of precedence:
 *
 *   1. an LDM .yaml (the original repositories' configs, e.g.
 *      v1-inference.yaml, v2-inference-v.yaml), read with libyaml:
 *        model.params.{parameterization, timesteps, linear_start,
 *                      linear_end, scale_factor, image_size}
 *        model.params.unet_config.params.{num_heads, num_head_channels,
 *                      context_dim, use_linear_in_transformer}
 *        model.params.cond_stage_config.{target, params.layer}
 *   2. a JSON "config" entry of the safetensors __metadata__ (as the
 *      project's reference files carry): either the same nesting as the
 *      yaml, or the UNetModel/AutoencoderKL parameters at top level;
 *   3. defaults chosen from the shapes by the loaders (SD1-style conv
 *      projections: 8 heads; SD2-style linear projections: 64 channels
 *      per head), ε-prediction, the SD linear schedule 0.00085..0.012
 *      over 1000 steps, scale factor 0.18215.
 *
 * Both sources are flattened into dotted keys ("model.params.timesteps",
 * lists as "key.0", "key.1", ...) and looked up the same way.
 */
#ifndef DREAM_LDM_CONFIG_H
#define DREAM_LDM_CONFIG_H

#include <glib.h>

#include "io/safetensors.h"

typedef enum {
  DREAM_PREDICTION_EPS,   /* the UNet predicts the added noise ε */
  DREAM_PREDICTION_V,     /* the UNet predicts v = √ᾱ ε − √(1−ᾱ) x0 */
} dream_prediction;

typedef struct {
  /* UNet attention heads: at most one of the two is > 0 (0 = not given) */
  int num_heads;           /* heads per SpatialTransformer (SD1: 8) */
  int num_head_channels;   /* channels per head (SD2: 64) */
  int context_dim;         /* 0 = not given; the loader uses attn2.to_k */
  int use_linear;          /* -1 not given, 0 conv proj_in/out, 1 linear */
  /* diffusion */
  dream_prediction prediction;
  int timesteps;           /* training steps T (1000) */
  double linear_start;     /* β schedule "linear": β_t = (√s + t/(T−1) (√e − √s))² */
  double linear_end;
  double scale_factor;     /* latent = scale_factor × VAE mean */
  int image_size;          /* model.params.image_size: latent edge trained at
                              (SD1: 64, SD2-v: 96); 0 = not given */
  char *beta_schedule;     /* "linear" (the only one SD uses) */
  /* text conditioning, for the text-encoder loader */
  char *cond_target;       /* e.g. "ldm.modules.encoders.modules.FrozenCLIPEmbedder", or NULL */
  char *cond_layer;        /* "last" / "penultimate", or NULL */
  char *source;            /* where settings came from, for messages, or NULL */
} dream_ldm_config;

/* The defaults of point 3 above (heads left unset for the loader). */
void dream_ldm_config_init (dream_ldm_config *config);
void dream_ldm_config_clear (dream_ldm_config *config);

/* Reads an LDM .yaml; keys it does not have keep their current values.
 * FALSE + DREAM_ERROR_IO if unreadable, DREAM_ERROR_MODEL if not YAML or a
 * known key has a bad value. */
gboolean dream_ldm_config_load_yaml (dream_ldm_config *config, const char *path,
                                     GError **error);
gboolean dream_ldm_config_parse_yaml (dream_ldm_config *config, const char *text,
                                      gssize length, const char *name,
                                      GError **error);

/* Reads the "config" JSON of the file's metadata, if any (TRUE and no
 * change when absent). */
gboolean dream_ldm_config_load_metadata (dream_ldm_config *config,
                                         const dream_st_file *file,
                                         GError **error);

/* The .yaml next to a model file by the front ends' convention
 * (dir/name.safetensors -> dir/name.yaml), newly allocated, or NULL. */
char *dream_ldm_config_find_yaml (const char *model_path);

/* Fills config for a model file: defaults, then its metadata, then
 * config_path if given, else the .yaml found next to the model. */
gboolean dream_ldm_config_for_model (dream_ldm_config *config,
                                     const dream_st_file *file,
                                     const char *model_path,
                                     const char *config_path,
                                     GError **error);

#endif /* DREAM_LDM_CONFIG_H */
