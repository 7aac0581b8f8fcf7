/* sd_checkpoint.h — opening the Stable Diffusion models users download.
 *
 *   dream_sd_checkpoint ck;
 *   if (!dream_sd_checkpoint_open (&ck, path, NULL, &error))
 *     { show error->message; return; }        (ck needs no close then)
 *   unet = dream_unet_load (ck.file, &ck.config, &error);
 *   if (ck.prediction_guessed)              (an SD 2.x fine-tune without .yaml)
 *     dream_sd_checkpoint_probe_prediction (&ck, unet, pool, &error);
 *   vae  = dream_vae_load (ck.file, &error);
 *   text = dream_clip_text_load (ck.file, ck.text_prefix, &ck.text_hints, &error);
 *   tokens: <|startoftext|> ids <|endoftext|>, then ck.text_pad_id up to 77
 *   context = ck.text_penultimate ? penultimate_hidden_ln : last_hidden_ln;
 *   ... sample with ck.config (prediction, schedule, scale_factor) and
 *       ck.default_steps / default_cfg / default_sampler unless the user chose ...
 *   dream_sd_checkpoint_close (&ck);    (after the nets are freed)
 *
 * What can be opened (`path`), also given as a bare name (NAME,
 * NAME.safetensors or a diffusers folder NAME) found in the user's model
 * folders: $DREAM_MODELS_DIR, then $XDG_DATA_HOME/dreamlayer/models:
 *   - a single .safetensors file in the original LDM layout
 *     (model.diffusion_model.*, first_stage_model.*, cond_stage_model.*):
 *     SD 1.x and fine-tunes (HF CLIPTextModel under
 *     cond_stage_model.transformer[.text_model].*), SD 2.x 512 / 768-v,
 *     SD-Turbo, their inpainting versions (9-channel conv_in);
 *   - a diffusers folder (model_index.json, unet/, vae/, text_encoder/,
 *     scheduler/, each weight file diffusion_pytorch_model[.fp16].safetensors
 *     or model[.fp16].safetensors beside its config.json), or model_index.json
 *     itself, or a component's folder or weight file (unet/, its
 *     diffusion_pytorch_model.safetensors: the whole folder is opened). Its tensors are shown under the
 *     single-file names (a dream_st_file view, safetensors.h): UNet and VAE
 *     renamed by the LDM ↔ diffusers correspondence (derived from the two
 *     architectures, checked against config.json: block_out_channels,
 *     layers_per_block, in_channels, cross_attention_dim,
 *     use_linear_projection), the text encoder (HF CLIPTextModel for SD1
 *     and SD2) under cond_stage_model.transformer.text_model.*.
 * F32, F16 and BF16 tensors stay as mapped (the loaders widen per layer).
 *
 * Settings that leave no trace in the tensors, lowest precedence first:
 *   1. detection: the family from the UNet's context width (768 SD1,
 *      1024 SD2) and the text encoder (HF CLIP-L / OpenCLIP-H), inpainting
 *      from 9 input channels; SD1: 8 heads; SD2: 64 channels per head;
 *   2. hints when nothing better says: a "modelspec.*" metadata entry
 *      (architecture, prediction_type, resolution) of the file; an SD 2.x
 *      single file whose name contains "768" is taken as 768-v (the
 *      official v2-0/v2-1 768 files are named so), any other SD 2.x as
 *      512 ε; "turbo" in the file or folder name (or modelspec
 *      architecture) = SD-Turbo (SD 2.1 distilled: ε, 512, 1–4 steps,
 *      no guidance, sigmas of t = 999, 899, ...: sampler "turbo");
 *   3. the file's metadata: "config" (ldm_config.h), "text_heads" and
 *      "activation" (gelu / quick_gelu) for the text tower; diffusers config.json
 *      files (unet: attention_head_dim / num_attention_heads,
 *      cross_attention_dim, use_linear_projection, sample_size;
 *      scheduler: prediction_type, num_train_timesteps, beta_start,
 *      beta_end, beta_schedule "scaled_linear"; vae: scaling_factor;
 *      text_encoder: hidden_act, num_attention_heads, layer_norm_eps;
 *      tokenizer: vocab.json size 49408, special_tokens_map pad_token);
 *   4. an LDM .yaml: `config_path` if given, else NAME.yaml next to
 *      NAME.safetensors (the convention other SD front ends use).
 *
 * Refused with DREAM_ERROR_MODEL and a message naming what the file is:
 * SDXL (conditioner.embedders.*, label_emb, text_encoder_2/), SD3
 * (joint_blocks, x_embedder), Flux (double_blocks / single_blocks),
 * Stable Cascade, PixArt / DiT transformers, class-conditioned UNets
 * (unCLIP, x4 upscaler), other input channel counts (InstructPix2Pix 8,
 * depth 5), LoRA / LyCORIS files, a VAE or text encoder alone, a UNet
 * without VAE or text encoder, PyTorch pickles (.ckpt / .pt / .bin),
 * GGUF. Corrupt or truncated files: DREAM_ERROR_MODEL from the
 * safetensors reader; unreadable: DREAM_ERROR_IO.
 *
 * ck.file is a view (safetensors.h) over read-only mappings of the real
 * files, so dream_sd_release_tensors (ck.file, "model.diffusion_model.")
 * works on it as on a single file.
 *
 * Thread safety: a dream_sd_checkpoint is read-only once open.
 */
#ifndef DREAM_SD_CHECKPOINT_H
#define DREAM_SD_CHECKPOINT_H

#include <glib.h>

#include "io/ldm_config.h"
#include "io/safetensors.h"
#include "models/clip_text.h"
#include "models/unet.h"

typedef enum {
  DREAM_SD_FAMILY_SD1,    /* SD 1.x: CLIP ViT-L/14 text, 768-wide context */
  DREAM_SD_FAMILY_SD2,    /* SD 2.x and SD-Turbo: OpenCLIP ViT-H/14, 1024-wide context */
} dream_sd_family;

typedef struct {
  dream_st_file *file;        /* owned: single-file LDM names —
                                 model.diffusion_model.* (UNet),
                                 first_stage_model.* (VAE),
                                 cond_stage_model.transformer.text_model.*
                                 (HF CLIP text: SD1, any diffusers text
                                 encoder) or cond_stage_model.model.*
                                 (OpenCLIP: SD2 single file) */
  dream_ldm_config config;    /* heads, prediction, schedule, scale factor */
  dream_sd_family family;
  gboolean v_prediction;      /* = config.prediction == DREAM_PREDICTION_V */
  gboolean prediction_guessed;/* no config, metadata or scheduler named the
                                 prediction: it is the file-name rule's or
                                 the default (ε); see _probe_prediction() */
  double prediction_probe;    /* mean (out − x) of that test run, or 0 */
  gboolean turbo;             /* SD-Turbo: see the defaults below */
  gboolean inpainting;        /* 9 input channels: latent, mask, masked latent */
  gboolean diffusers;         /* opened from a diffusers folder */
  int native_size;            /* image side it was trained at: 512 / 768 */
  char *kind;                 /* "SD 1.x", "SD 2.x 768 (v-prediction)",
                                 "SD-Turbo", "SD 1.x inpainting", ... */
  char *path;                 /* the file or folder opened */
  /* text encoder, for dream_clip_text_load (ck.file, text_prefix, &text_hints) */
  const char *text_prefix;    /* "cond_stage_model.transformer.text_model."
                                 or "cond_stage_model.model." */
  dream_clip_hints text_hints;/* heads, activation (SD2: exact GELU), LN eps */
  int text_pad_id;            /* token after <|endoftext|> up to 77: 49407
                                 (SD1: <|endoftext|>), 0 (SD2: OpenCLIP's
                                 zeros; diffusers SD2's "!"), or the
                                 diffusers tokenizer's pad_token */
  gboolean text_penultimate;  /* context = penultimate layer + final LN (SD2
                                 single file: OpenCLIP "penultimate"); FALSE:
                                 the last layer (SD1; diffusers SD2, whose
                                 text encoder already dropped its last layer) */
  /* defaults for a user who sets nothing */
  int default_steps;          /* 20; SD-Turbo 1 */
  double default_cfg;         /* 7.5; SD-Turbo 1 (= guidance off: the
                                 conditional prediction alone) */
  const char *default_sampler;/* "euler-a"; SD-Turbo "turbo" (cli/sample.c names) */
} dream_sd_checkpoint;

/* Opens a checkpoint file or diffusers folder (see above); config_path (an
 * LDM .yaml) may be NULL. On failure ck is left empty (no close needed)
 * and the error says what the file is and what Dreamlayer supports. */
gboolean dream_sd_checkpoint_open (dream_sd_checkpoint *ck, const char *path,
                                   const char *config_path, GError **error);

/* For an SD 2.x checkpoint (not inpainting, not Turbo) whose prediction
 * was guessed: the test run other front ends use (AUTOMATIC1111's
 * is_using_v_parameterization_for_sd2, stable-diffusion.cpp): the UNet
 * (loaded from ck->file with ck->config) on x = 0.5 everywhere
 * (1, 8, 8, 4), t = 999, a context of two tokens of 0.5; v-prediction if
 * mean (out − x) < −1. Updates config.prediction, v_prediction,
 * native_size (768 for v, else 512), kind, prediction_probe and clears
 * prediction_guessed. Costs one UNet pass at 8×8 (every weight widened
 * once: about a second for SD 2.x). Does nothing (TRUE) in every other
 * case. FALSE + GError if the run fails (nothing changed). */
gboolean dream_sd_checkpoint_probe_prediction (dream_sd_checkpoint *ck,
                                               const dream_unet *unet,
                                               dream_pool *pool, GError **error);

/* Frees everything; the tensors of ck->file must no longer be used. */
void dream_sd_checkpoint_close (dream_sd_checkpoint *ck);

/* One candidate of a model folder, for a model picker. */
typedef struct {
  char *path;      /* the .safetensors file or diffusers folder */
  char *kind;      /* as dream_sd_checkpoint.kind, or NULL if refused */
  char *problem;   /* why it cannot be used (the open error), or NULL */
} dream_sd_checkpoint_entry;

/* The .safetensors files and diffusers folders (holding model_index.json)
 * directly in `dir` — or, dir NULL, in the user's model folders above —
 * each opened once to tell its kind or the reason it is refused; sorted
 * by path. Other files are not listed; a folder that does not exist gives
 * an empty list. Free with g_ptr_array_unref (entries free themselves). */
GPtrArray *dream_sd_checkpoint_list (const char *dir);

#endif /* DREAM_SD_CHECKPOINT_H */
