/* clip_vision.h — the CLIP vision transformer (ViT) and its preprocessing.
 *
 *   image (3, S, S), normalised
 *   patches (g², 3p²) -> · W_patchᵀ (d, 3p²)       conv1: kernel = stride = p, no bias
 *   x (T, d) = [class_embedding; patches] + positional_embedding,  T = g² + 1
 *   x = ln_pre (x);  L × block (no mask);  pooled = ln_post (x[0])
 *   embeds = pooled · proj
 *
 * Checkpoint layouts (see clip_text.h for the blocks):
 *   OpenAI / OpenCLIP  P = "visual.": P conv1.weight (d, 3, p, p),
 *       P class_embedding (d), P positional_embedding (T, d),
 *       P ln_pre.{weight, bias}, P transformer.resblocks.{i}...,
 *       P ln_post.{weight, bias}, P proj (d, e) [x · P].
 *   HF transformers  P = <outer>vision_model.: P embeddings.
 *       {patch_embedding.weight, class_embedding, position_embedding.weight},
 *       P pre_layrnorm (sic), P encoder.layers.{i}..., P post_layernorm,
 *       <outer>visual_projection.weight (e, d) [x · Wᵀ].
 * S, p, d, L, e come from the shapes; heads from dream_clip_hints, else
 * d / 64 (OpenAI: vision_width // 64), or 16 for the OpenCLIP widths
 * 1280, 1408 and 1664 (ViT-H, -g, -bigG, head width 80-104). The ResNet
 * towers of OpenAI's RN50... models are not supported.
 */
#ifndef DREAM_CLIP_VISION_H
#define DREAM_CLIP_VISION_H

#include "models/clip_text.h"

typedef struct {
  dream_clip_layout layout;
  int image_size;             /* S = p · g */
  int patch;                  /* p */
  int grid;                   /* g */
  int tokens;                 /* T = g² + 1 */
  int embed_dim;              /* e, 0 if no projection */
  const float *patch_w;       /* (d, 3·p·p) = conv1 (d, 3, p, p); mapping or patch_w_owned */
  float *patch_w_owned;       /* widened copy, or NULL */
  float *class_embedding;     /* (d) */
  float *positional;          /* (T, d) */
  float *ln_pre_w, *ln_pre_b;     /* (d), (d) */
  float *ln_post_w, *ln_post_b;   /* (d), (d) */
  float *projection;          /* OpenAI (d, e) / HF (e, d), or NULL */
  dream_clip_stack stack;
  char *prefix;
} dream_clip_vision;

/* Finds the vision tower (under `prefix` if not NULL). NULL +
 * DREAM_ERROR_MODEL if there is none or it does not fit. */
dream_clip_vision *dream_clip_vision_load (const dream_st_file *file,
                                           const char *prefix,
                                           const dream_clip_hints *hints,
                                           GError **error);
void dream_clip_vision_free (dream_clip_vision *net);

typedef struct {
  float *embeds;          /* (n, e), not normalised */
  float *pooled;          /* (n, d) ln_post (class token) */
  float *ln_pre;          /* (n, T, d) */
  float *hidden_states;   /* (L, n, T, d) raw output of each block */
} dream_clip_vision_outputs;

typedef struct {
  int max_images;
  dream_clip_stack_state stack;
  float *x;               /* (max_images · T, d) */
  float *patches;         /* (g², 3p²) one image at a time */
  float *pooled;          /* (max_images, d) */
} dream_clip_vision_state;

gboolean dream_clip_vision_state_init (dream_clip_vision_state *s,
                                       const dream_clip_vision *net,
                                       int max_images, int n_threads,
                                       GError **error);
void dream_clip_vision_state_clear (dream_clip_vision_state *s);

/* images (n, 3, S, S) planar, already preprocessed; n <= max_images. */
gboolean dream_clip_vision_forward (const dream_clip_vision *net,
                                    dream_clip_vision_state *s,
                                    const float *images, int n,
                                    const dream_clip_vision_outputs *out,
                                    dream_pool *pool, GError **error);

/* CLIP's preprocessing (clip.load's transform), into out (3, size, size):
 * the image is quantised to 8 bits (the original works on PIL images),
 * its short side resized to `size` with PIL's bicubic filter (a = −0.5,
 * support widened by the scale when shrinking, 8-bit fixed-point
 * coefficients, horizontal pass then vertical, each rounded to 8 bits:
 * bit-exact with Pillow), the long side to int(size · long / short);
 * then the centre crop (offsets rounded half to even, as torchvision),
 * /255, and (x − mean) / std with CLIP's mean (0.48145466, 0.4578275,
 * 0.40821073) and std (0.26862954, 0.26130258, 0.27577711). Grey images
 * are replicated to RGB; a 2nd / 4th (alpha) channel is ignored.
 * FALSE + DREAM_ERROR_INVALID_ARGUMENT for empty images or channels
 * other than 1..4. */
gboolean dream_clip_preprocess (const dream_image *image, int size, float *out,
                                GError **error);

#endif /* DREAM_CLIP_VISION_H */
