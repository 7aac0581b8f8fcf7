/* clip.h — a CLIP model: text tower, vision tower, tokenizer, logit scale.
 *
 * Either tower may be missing (an SD text encoder has no vision tower;
 * a CLIPVisionModelWithProjection no text tower). The file needs no
 * metadata: towers are found by their tensor names (clip_text.h,
 * clip_vision.h). What the weights cannot tell — head counts and the
 * activation — comes from, lowest precedence first:
 *
 *   1. defaults: heads = width / 64 (vision: 16 for widths 1280, 1408,
 *      1664); QuickGELU, except exact GELU under an SD2 / SDXL prefix
 *      ("cond_stage_model.model.", "conditioner.");
 *   2. the file's __metadata__: "config" holding one of the JSON forms of
 *      point 3, and/or the keys "text_heads", "vision_heads",
 *      "activation" ("quick_gelu" or "gelu");
 *   3. a config next to the file: NAME.json beside NAME.safetensors, and
 *      config.json / open_clip_config.json beside a file named as Hugging
 *      Face repositories and diffusers folders name it (model.safetensors,
 *      open_clip_model.safetensors), or the LDM NAME.yaml (see 4); one
 *      that cannot be read as such is skipped. JSON in any of the forms: OpenAI's build_model arguments ({"transformer_heads",
 *      "vision_width", ...}: QuickGELU, vision heads = vision_width / 64),
 *      open_clip's model config ({"quick_gelu", "text_cfg": {"heads"},
 *      "vision_cfg": {"width", "head_width"}}, maybe inside
 *      "model_cfg"; GELU unless quick_gelu), Hugging Face's CLIPConfig
 *      ({"text_config", "vision_config"} with "num_attention_heads",
 *      "hidden_act", "layer_norm_eps") or a bare CLIPTextConfig /
 *      CLIPVisionConfig;
 *   4. an explicit config file (run-net --config): JSON as in 3, or an
 *      LDM .yaml whose cond_stage_config target FrozenOpenCLIPEmbedder
 *      means exact GELU (SD2).
 */
#ifndef DREAM_CLIP_H
#define DREAM_CLIP_H

#include "models/clip_text.h"
#include "models/clip_vision.h"
#include "models/tokenizer.h"
#include "io/model.h"

typedef struct {
  dream_clip_text *text;          /* NULL if the file has no text tower */
  dream_clip_vision *vision;      /* NULL if it has no vision tower */
  dream_tokenizer *tokenizer;     /* with the text tower */
  float logit_scale;              /* exp (logit_scale) of the file; 100 if absent */
  int embed_dim;                  /* e: shared by both projections */
} dream_clip;

/* Reads the hints of points 2-4 (config_path may be NULL). FALSE +
 * DREAM_ERROR_MODEL / _IO if a config exists but cannot be used. */
gboolean dream_clip_hints_read (const dream_st_file *file, const char *model_path,
                                const char *config_path, dream_clip_hints *hints,
                                GError **error);

/* Builds both towers found in the file. FALSE if neither is there, or the
 * two projections disagree. */
dream_clip *dream_clip_net_load (const dream_st_file *file, const char *model_path,
                                 const char *config_path, GError **error);
void dream_clip_net_free (void *clip);

/* dream_model wrapper for the registry ("architecture": "clip"). */
gboolean dream_clip_model_init (dream_model *model, GError **error);

#endif /* DREAM_CLIP_H */
