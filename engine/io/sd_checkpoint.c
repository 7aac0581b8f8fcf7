/* sd_checkpoint.c — single LDM files and diffusers folders, shown to the
 * loaders under one set of names (see sd_checkpoint.h).
 *
 * Top to bottom:
 *   sniffing (pickle, zip, GGUF) and naming what an unsupported file is;
 *   the single-file path: a view of every tensor (SD1's older text layout
 *     without "text_model." moved under it), detection, hints, configs;
 *   the diffusers path: model_index.json, each component's config.json
 *     (json-glib), its weights renamed tensor by tensor:
 *
 *   diffusers UNet (L = layers_per_block)          LDM (model.diffusion_model.)
 *     conv_in                                      input_blocks.0.0
 *     time_embedding.linear_{1,2}                  time_embed.{0,2}
 *     down_blocks.i.resnets.j                      input_blocks.(1 + i(L+1) + j).0
 *     down_blocks.i.attentions.j                   input_blocks.(1 + i(L+1) + j).1
 *     down_blocks.i.downsamplers.0.conv            input_blocks.((i+1)(L+1)).0.op
 *     mid_block.resnets.{0,1} / attentions.0       middle_block.{0,2} / .1
 *     up_blocks.i.resnets.j (j ≤ L)                output_blocks.(i(L+1) + j).0
 *     up_blocks.i.attentions.j                     output_blocks.(i(L+1) + j).1
 *     up_blocks.i.upsamplers.0.conv                output_blocks.(i(L+1) + L).{1|2}.conv
 *                                                  (2 when that level has attentions)
 *     conv_norm_out / conv_out                     out.0 / out.2
 *     resnet norm1 conv1 time_emb_proj norm2       in_layers.0 in_layers.2 emb_layers.1
 *            conv2 conv_shortcut                   out_layers.0 out_layers.3 skip_connection
 *     attention (Transformer2DModel)               same names (norm, proj_in, proj_out,
 *                                                  transformer_blocks.k.*)
 *
 *   diffusers VAE (n levels)                       LDM (first_stage_model.)
 *     encoder.down_blocks.i.resnets.j              encoder.down.i.block.j
 *     encoder.down_blocks.i.downsamplers.0.conv    encoder.down.i.downsample.conv
 *     decoder.up_blocks.i.resnets.j                decoder.up.(n−1−i).block.j
 *     decoder.up_blocks.i.upsamplers.0.conv        decoder.up.(n−1−i).upsample.conv
 *     X.mid_block.resnets.{0,1}                    X.mid.block_{1,2}
 *     X.mid_block.attentions.0                     X.mid.attn_1
 *       group_norm, to_q|query, to_k|key,            norm, q, k, v, proj_out
 *       to_v|value, to_out.0|proj_attn              (Linear or 1×1 conv: both load)
 *     X.conv_norm_out                              X.norm_out
 *     resnet conv_shortcut (1×1)                   nin_shortcut
 *     conv_in, conv_out, quant_conv, post_quant_conv  same
 *
 *   diffusers text_encoder  text_model.*  →  cond_stage_model.transformer.text_model.*
 */
#include "io/sd_checkpoint.h"

#include "dream.h"
#include "models/unet.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#define SUPPORTED "Dreamlayer runs Stable Diffusion 1.x, 2.x (512 and 768-v), SD-Turbo " \
                  "and their inpainting models, as single .safetensors files or diffusers folders"

#define HF_TEXT "cond_stage_model.transformer.text_model."
#define OPENCLIP_TEXT "cond_stage_model.model."
#define UNET "model.diffusion_model."
#define VAE "first_stage_model."

/* ---- small helpers --------------------------------------------------------- */

static gboolean
has_prefix (const dream_st_file *f, const char *prefix)
{
  for (int i = 0; i < dream_st_count (f); i++)
    if (g_str_has_prefix (dream_st_get (f, i)->name, prefix))
      return TRUE;
  return FALSE;
}

static gboolean
has_part (const dream_st_file *f, const char *part)
{
  for (int i = 0; i < dream_st_count (f); i++)
    if (strstr (dream_st_get (f, i)->name, part))
      return TRUE;
  return FALSE;
}

static gboolean
unsupported (GError **error, const char *shown, const char *what)
{
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: this is %s. %s.", shown, what,
               SUPPORTED);
  return FALSE;
}

/* Width (dim 1) of the first cross-attention key weight under prefix, or 0. */
static int
context_width (const dream_st_file *f, const char *prefix)
{
  for (int i = 0; i < dream_st_count (f); i++)
    {
      const dream_st_tensor *t = dream_st_get (f, i);
      if (g_str_has_prefix (t->name, prefix) && g_str_has_suffix (t->name, "attn2.to_k.weight")
          && t->n_dims == 2)
        return (int) t->shape[1];
    }
  return 0;
}

/* Files that are not safetensors at all, told by their first bytes. */
static gboolean
sniff (const char *path, const char *shown, GError **error)
{
  guint8 head[8] = { 0 };
  FILE *fp = fopen (path, "rb");
  if (!fp)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s: cannot open (%s)", shown,
                   g_strerror (errno));
      return FALSE;
    }
  size_t n = fread (head, 1, sizeof head, fp);
  fclose (fp);
  if (n >= 4 && !memcmp (head, "PK\003\004", 4))
    return unsupported (error, shown, "a PyTorch checkpoint (.ckpt / .pt, a zip of pickles), which "
                        "Dreamlayer never opens because a pickle can run code; use the model's "
                        ".safetensors file");
  if (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5)
    return unsupported (error, shown, "a Python pickle (.ckpt / .pt / .bin), which Dreamlayer never "
                        "opens because a pickle can run code; use the model's .safetensors file");
  if (n >= 4 && !memcmp (head, "GGUF", 4))
    return unsupported (error, shown, "a GGUF file (llama.cpp / stable-diffusion.cpp quantised "
                        "weights); use the model's .safetensors file");
  return TRUE;
}

/* What a single file is, when it is something Dreamlayer does not run; NULL
 * if it looks like an SD 1.x / 2.x checkpoint (or nothing known). */
static const char *
what_unsupported (const dream_st_file *f)
{
  if (has_prefix (f, "conditioner.embedders."))
    return "an SDXL checkpoint (conditioner.embedders.*: two text encoders)";
  if (has_prefix (f, UNET "joint_blocks.") || has_prefix (f, "joint_blocks."))
    return "a Stable Diffusion 3 / 3.5 (MMDiT) checkpoint";
  if (has_prefix (f, UNET "double_blocks.") || has_prefix (f, "double_blocks.")
      || has_prefix (f, "single_blocks.") || has_prefix (f, "single_transformer_blocks.")
      || has_prefix (f, "transformer_blocks.0.ff_context."))
    return "a Flux checkpoint";
  if (dream_st_find (f, "clip_txt_mapper.weight") || dream_st_find (f, "clip_txt_pooled_mapper.weight")
      || dream_st_find (f, "effnet_mapper.0.weight") || has_prefix (f, "down_downscalers."))
    return "a Stable Cascade (Würstchen) stage";
  if (dream_st_find (f, "x_embedder.proj.weight") || dream_st_find (f, UNET "x_embedder.proj.weight")
      || dream_st_find (f, "pos_embed.proj.weight") || dream_st_find (f, "t_embedder.mlp.0.weight"))
    return "a diffusion transformer (DiT / PixArt / SD3 family)";
  if (has_prefix (f, "lora_unet_") || has_prefix (f, "lora_te") || has_part (f, ".lora_down.")
      || has_part (f, ".lora_up.") || has_part (f, ".lora_A.") || has_part (f, ".lora.down.")
      || has_part (f, ".hada_w1_a") || has_part (f, ".lokr_w1"))
    return "a LoRA / LyCORIS add-on (weights to merge into a checkpoint, not a checkpoint)";
  if (dream_st_find (f, UNET "label_emb.0.0.weight") || dream_st_find (f, "label_emb.0.0.weight"))
    return context_width (f, "") == 2048
      ? "an SDXL UNet (label_emb, 2048-wide context)"
      : "a class-conditioned UNet (SD 2.x unCLIP or the x4 upscaler: label_emb)";
  if (dream_st_find (f, UNET "time_embed.0.weight") == NULL
      && (dream_st_find (f, "add_embedding.linear_1.weight")))
    return "an SDXL UNet in diffusers layout";
  if (dream_st_find (f, "conv_in.weight") && dream_st_find (f, "time_embedding.linear_1.weight"))
    return "a diffusers UNet file alone (open the whole diffusers folder, with its "
           "model_index.json, vae/ and text_encoder/)";
  if (dream_st_find (f, "decoder.conv_in.weight") && has_prefix (f, "decoder.up_blocks."))
    return "a diffusers VAE file alone (open the whole diffusers folder)";
  return NULL;
}

/* ---- what the detection concludes ----------------------------------------- */

/* Marks "no config said" while configs are read over a guess. */
#define PREDICTION_UNSET ((dream_prediction) -1)

/* Reads configs (read_fn) over the guess in ck->config.prediction: a config
 * that names the prediction wins and clears prediction_guessed. */
static void
prediction_begin (dream_sd_checkpoint *ck, dream_prediction *guess)
{
  *guess = ck->config.prediction;
  ck->config.prediction = PREDICTION_UNSET;
}

static void
prediction_end (dream_sd_checkpoint *ck, dream_prediction guess)
{
  if (ck->config.prediction == PREDICTION_UNSET)
    ck->config.prediction = guess;
  else
    ck->prediction_guessed = FALSE;
}

static void
set_kind (dream_sd_checkpoint *ck)
{
  g_free (ck->kind);
  GString *k = g_string_new (NULL);
  if (ck->turbo && ck->family == DREAM_SD_FAMILY_SD2)
    g_string_append (k, "SD-Turbo");
  else
    g_string_append (k, ck->family == DREAM_SD_FAMILY_SD1 ? "SD 1.x" : "SD 2.x");
  if (ck->turbo && ck->family != DREAM_SD_FAMILY_SD2)
    g_string_append (k, " turbo");
  if (ck->inpainting)
    g_string_append (k, " inpainting");
  else if (ck->family == DREAM_SD_FAMILY_SD2 && !ck->turbo)
    g_string_append_printf (k, " %d", ck->native_size);
  if (ck->v_prediction)
    g_string_append (k, " (v-prediction)");
  ck->kind = g_string_free (k, FALSE);
}

static void
finish (dream_sd_checkpoint *ck, int in_ch)
{
  ck->inpainting = in_ch == 9;
  ck->v_prediction = ck->config.prediction == DREAM_PREDICTION_V;
  if (ck->native_size <= 0)
    ck->native_size = ck->family == DREAM_SD_FAMILY_SD2 && ck->v_prediction ? 768 : 512;
  set_kind (ck);
  if (ck->turbo)
    {
      ck->default_steps = 1;
      ck->default_cfg = 1.0;
      ck->default_sampler = "turbo";
    }
  else
    {
      ck->default_steps = 20;
      ck->default_cfg = 7.5;
      ck->default_sampler = "euler-a";
    }
}

/* Hints from the file name and SAI "modelspec.*" metadata (before configs). */
static void
name_hints (dream_sd_checkpoint *ck, const char *name, const dream_st_file *f)
{
  char *lower = g_ascii_strdown (name, -1);
  if (strstr (lower, "turbo"))
    ck->turbo = TRUE;
  if (ck->family == DREAM_SD_FAMILY_SD2 && !ck->turbo && strstr (lower, "768"))
    {
      ck->config.prediction = DREAM_PREDICTION_V;
      ck->native_size = 768;
    }
  g_free (lower);
  const char *arch = f ? dream_st_metadata (f, "modelspec.architecture") : NULL;
  if (arch && strstr (arch, "turbo"))
    ck->turbo = TRUE;
  const char *pred = f ? dream_st_metadata (f, "modelspec.prediction_type") : NULL;
  gboolean is_v = pred && (!strcmp (pred, "v") || !strcmp (pred, "v_prediction"));
  gboolean is_eps = pred && (!strcmp (pred, "epsilon") || !strcmp (pred, "eps"));
  if (is_v || is_eps)
    {
      ck->config.prediction = is_v ? DREAM_PREDICTION_V : DREAM_PREDICTION_EPS;
      ck->prediction_guessed = FALSE;
    }
  const char *res = f ? dream_st_metadata (f, "modelspec.resolution") : NULL;
  int w = 0, h = 0;
  if (res && sscanf (res, "%dx%d", &w, &h) == 2 && w == h && w >= 64 && w <= 4096)
    ck->native_size = w;
  if (ck->turbo && ck->native_size <= 0)
    ck->native_size = 512;
}

/* The family from the text encoder's layout, checked against the UNet. */
static gboolean
detect_family (dream_sd_checkpoint *ck, const char *shown, GError **error)
{
  const dream_st_file *f = ck->file;
  const dream_st_tensor *hf = dream_st_find (f, HF_TEXT "embeddings.token_embedding.weight");
  const dream_st_tensor *oc = dream_st_find (f, OPENCLIP_TEXT "token_embedding.weight");
  const dream_st_tensor *te = hf ? hf : oc;
  int ctx = context_width (f, UNET);
  if (!te || te->n_dims != 2)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: no text encoder (neither " HF_TEXT "* nor " OPENCLIP_TEXT "*)", shown);
      return FALSE;
    }
  if (ctx > 0 && te->shape[1] != ctx)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: the text encoder is %d wide but the UNet takes a %d-wide context",
                   shown, (int) te->shape[1], ctx);
      return FALSE;
    }
  if (hf)
    {
      ck->family = te->shape[1] == 1024 ? DREAM_SD_FAMILY_SD2 : DREAM_SD_FAMILY_SD1;
      ck->text_prefix = HF_TEXT;
      ck->text_penultimate = FALSE;
      ck->text_pad_id = 49407;     /* SD1: <|endoftext|> */
    }
  else
    {
      ck->family = DREAM_SD_FAMILY_SD2;
      ck->text_prefix = OPENCLIP_TEXT;
      ck->text_penultimate = TRUE;
      ck->text_pad_id = 0;         /* open_clip.tokenize pads with 0 */
      ck->text_hints.act = DREAM_NN_ACT_GELU;
    }
  return TRUE;
}

static void
hints_init (dream_clip_hints *h)
{
  *h = (dream_clip_hints) { .text_heads = 0, .vision_heads = 0, .act = -1, .vision_act = -1 };
}

/* Input channels of the UNet's first conv; FALSE + error if not 4 or 9. */
static gboolean
check_in_channels (const dream_st_file *f, const char *shown, int *in_ch, GError **error)
{
  const dream_st_tensor *c = dream_st_find (f, UNET "input_blocks.0.0.weight");
  if (!c || c->n_dims != 4)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: no UNet (" UNET "input_blocks.0.0.weight)", shown);
      return FALSE;
    }
  *in_ch = (int) c->shape[1];
  if (*in_ch == 4 || *in_ch == 9)
    return TRUE;
  char *what = g_strdup_printf ("a UNet with %d input channels (%s)", *in_ch,
                                *in_ch == 8 ? "InstructPix2Pix"
                                : *in_ch == 5 ? "SD 2 depth-to-image"
                                : *in_ch == 7 ? "the x4 upscaler" : "not text-to-image");
  unsupported (error, shown, what);
  g_free (what);
  return FALSE;
}

/* ---- single files ----------------------------------------------------------- */

static gboolean
open_single (dream_sd_checkpoint *ck, const char *path, const char *config_path,
             const char *shown, GError **error)
{
  if (!sniff (path, shown, error))
    return FALSE;
  dream_st_file *src = dream_st_open (path, error);
  if (!src)
    return FALSE;
  const char *what = what_unsupported (src);
  if (what)
    {
      dream_st_close (src);
      return unsupported (error, shown, what);
    }
  gboolean unet = dream_st_find (src, UNET "input_blocks.0.0.weight") != NULL;
  gboolean bare_unet = dream_st_find (src, "input_blocks.0.0.weight") != NULL;
  gboolean vae = dream_st_find (src, VAE "decoder.conv_in.weight") != NULL
                 || dream_st_find (src, VAE "encoder.conv_in.weight") != NULL;
  gboolean bare_vae = dream_st_find (src, "decoder.conv_in.weight") != NULL
                      || dream_st_find (src, "encoder.conv_in.weight") != NULL;
  gboolean text = has_prefix (src, "cond_stage_model.") || has_prefix (src, "text_model.")
                  || dream_st_find (src, "token_embedding.weight") != NULL;
  if (!unet)
    {
      dream_st_close (src);
      return unsupported (error, shown,
                          bare_unet ? "a UNet alone (no VAE, no text encoder)"
                          : bare_vae || vae ? "a VAE alone (no UNet, no text encoder)"
                          : text ? "a text encoder alone (no UNet, no VAE)"
                          : "no Stable Diffusion model (no " UNET "* tensors)");
    }
  if (!vae)
    {
      dream_st_close (src);
      return unsupported (error, shown, "a checkpoint without its VAE (" VAE "*)");
    }

  /* the view: everything as it is, SD1's older text layout moved under text_model. */
  gboolean old_text = !dream_st_find (src, HF_TEXT "embeddings.token_embedding.weight")
    && dream_st_find (src, "cond_stage_model.transformer.embeddings.token_embedding.weight");
  dream_st_file *view = dream_st_view_new (shown);
  dream_st_view_own (view, src);
  for (int i = 0; i < dream_st_count (src); i++)
    {
      const dream_st_tensor *t = dream_st_get (src, i);
      char *name = old_text && g_str_has_prefix (t->name, "cond_stage_model.transformer.")
        ? g_strconcat (HF_TEXT, t->name + strlen ("cond_stage_model.transformer."), NULL)
        : g_strdup (t->name);
      gboolean ok = dream_st_view_add (view, name, t, 0, NULL, error);
      g_free (name);
      if (!ok)
        {
          dream_st_close (view);
          return FALSE;
        }
    }
  ck->file = view;

  int in_ch = 4;
  if (!check_in_channels (view, shown, &in_ch, error) || !detect_family (ck, shown, error))
    return FALSE;
  char *base = g_path_get_basename (path);
  ck->prediction_guessed = TRUE;
  name_hints (ck, base, src);
  g_free (base);
  dream_prediction guess;
  prediction_begin (ck, &guess);
  if (!dream_ldm_config_for_model (&ck->config, src, path, config_path, error))
    return FALSE;
  prediction_end (ck, guess);
  /* text tower hints of the file's metadata (clip.h): heads, activation */
  const char *v = dream_st_metadata (src, "text_heads");
  if (v)
    {
      gint64 heads = 0;
      if (!g_ascii_string_to_signed (v, 10, 1, 4096, &heads, NULL))
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                       "%s: metadata text_heads \"%s\" is not a head count", shown, v);
          return FALSE;
        }
      ck->text_hints.text_heads = (int) heads;
    }
  v = dream_st_metadata (src, "activation");
  if (v && !strcmp (v, "gelu"))
    ck->text_hints.act = DREAM_NN_ACT_GELU;
  else if (v && !strcmp (v, "quick_gelu"))
    ck->text_hints.act = DREAM_NN_ACT_QUICK_GELU;
  else if (v)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: metadata activation \"%s\" is not gelu or quick_gelu", shown, v);
      return FALSE;
    }
  if (ck->config.cond_layer)
    ck->text_penultimate = !strcmp (ck->config.cond_layer, "penultimate");
  if (ck->config.cond_target && strstr (ck->config.cond_target, "OpenCLIP"))
    ck->text_hints.act = DREAM_NN_ACT_GELU;
  finish (ck, in_ch);
  return TRUE;
}

/* ---- diffusers folders --------------------------------------------------- */

/* A component's config.json as a JSON object (owned by *parser), or NULL:
 * absent is fine when !required; unreadable or not an object is an error. */
static JsonObject *
read_json (const char *dir, const char *sub, const char *name, gboolean required,
           JsonParser **parser, gboolean *failed, GError **error)
{
  char *p = g_build_filename (dir, sub, name, NULL);
  JsonObject *o = NULL;
  *parser = NULL;
  if (!g_file_test (p, G_FILE_TEST_IS_REGULAR))
    {
      if (required)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s is missing", p);
          *failed = TRUE;
        }
      g_free (p);
      return NULL;
    }
  GError *local = NULL;
  *parser = json_parser_new ();
  if (!json_parser_load_from_file (*parser, p, &local)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (*parser)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: not a JSON object%s%s", p,
                   local ? ": " : "", local ? local->message : "");
      g_clear_error (&local);
      g_clear_object (parser);
      *failed = TRUE;
    }
  else
    o = json_node_get_object (json_parser_get_root (*parser));
  g_free (p);
  return o;
}

/* Integer member, or def when absent / null. FALSE on a non-integer. */
static gboolean
json_int (JsonObject *o, const char *key, int def, int *out)
{
  *out = def;
  if (!o || !json_object_has_member (o, key))
    return TRUE;
  JsonNode *n = json_object_get_member (o, key);
  if (JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (n);
  if (v < G_MININT || v > G_MAXINT)
    return FALSE;
  *out = (int) v;
  return TRUE;
}

static const char *
json_str (JsonObject *o, const char *key)
{
  if (!o || !json_object_has_member (o, key))
    return NULL;
  JsonNode *n = json_object_get_member (o, key);
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gboolean
json_number (JsonObject *o, const char *key, double *out)
{
  if (!o || !json_object_has_member (o, key))
    return TRUE;
  JsonNode *n = json_object_get_member (o, key);
  if (!JSON_NODE_HOLDS_VALUE (n))
    return JSON_NODE_HOLDS_NULL (n);
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (n);
  else
    return FALSE;
  return TRUE;
}

/* An int or a list of ints (n ≤ 16); returns the count (0 absent / null), -1 if bad. */
static int
json_ints (JsonObject *o, const char *key, int *v, int max)
{
  if (!o || !json_object_has_member (o, key))
    return 0;
  JsonNode *n = json_object_get_member (o, key);
  if (JSON_NODE_HOLDS_NULL (n))
    return 0;
  if (JSON_NODE_HOLDS_VALUE (n))
    return json_int (o, key, 0, &v[0]) ? 1 : -1;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    return -1;
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len == 0 || len > (guint) max)
    return -1;
  for (guint i = 0; i < len; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64)
        return -1;
      gint64 x = json_node_get_int (e);
      if (x < 0 || x > G_MAXINT)
        return -1;
      v[i] = (int) x;
    }
  return (int) len;
}

/* The weight file of a component: safetensors, F32 first then fp16. */
static char *
weight_file (const char *dir, const char *sub, const char *stem, GError **error)
{
  static const char *const ext[] = { ".safetensors", ".fp16.safetensors", ".bf16.safetensors" };
  for (size_t i = 0; i < G_N_ELEMENTS (ext); i++)
    {
      char *name = g_strconcat (stem, ext[i], NULL);
      char *p = g_build_filename (dir, sub, name, NULL);
      g_free (name);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return p;
      g_free (p);
    }
  char *bin = g_strconcat (stem, ".bin", NULL);
  char *p = g_build_filename (dir, sub, bin, NULL);
  gboolean pickle = g_file_test (p, G_FILE_TEST_EXISTS);
  g_free (bin);
  g_free (p);
  char *d = g_build_filename (dir, sub, NULL);
  if (pickle)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                 "%s holds only %s.bin, a PyTorch pickle, which Dreamlayer never opens because a "
                 "pickle can run code; download the folder's .safetensors files", d, stem);
  else
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s: no %s.safetensors", d, stem);
  g_free (d);
  return NULL;
}

/* UNet: diffusers name → LDM name (without prefix), or NULL if unknown. */
static const char *const unet_res_names[][2] = {
  { "norm1.", "in_layers.0." }, { "conv1.", "in_layers.2." }, { "time_emb_proj.", "emb_layers.1." },
  { "norm2.", "out_layers.0." }, { "conv2.", "out_layers.3." }, { "conv_shortcut.", "skip_connection." },
};
static const char *const vae_res_names[][2] = {
  { "norm1.", "norm1." }, { "conv1.", "conv1." }, { "norm2.", "norm2." }, { "conv2.", "conv2." },
  { "conv_shortcut.", "nin_shortcut." },
};
static const char *const vae_attn_names[][2] = {
  { "group_norm.", "norm." }, { "to_q.", "q." }, { "query.", "q." }, { "to_k.", "k." },
  { "key.", "k." }, { "to_v.", "v." }, { "value.", "v." }, { "to_out.0.", "proj_out." },
  { "proj_attn.", "proj_out." },
};

static char *
rename_tail (const char *tail, const char *const (*table)[2], size_t n, const char *base)
{
  for (size_t i = 0; i < n; i++)
    if (g_str_has_prefix (tail, table[i][0]))
      return g_strconcat (base, table[i][1], tail + strlen (table[i][0]), NULL);
  return NULL;
}

#define RENAME(tail, table, base) rename_tail (tail, table, G_N_ELEMENTS (table), base)

/* Parses "<head>%d.<rest>" as in "down_blocks.3.resnets.1.conv1.weight". */
static gboolean
scan2 (const char *name, const char *a, const char *b, int *i, int *j, const char **rest)
{
  if (!g_str_has_prefix (name, a))
    return FALSE;
  char *end;
  const char *p = name + strlen (a);
  if (!g_ascii_isdigit (*p))
    return FALSE;
  *i = (int) strtol (p, &end, 10);
  if (*end != '.' || !g_str_has_prefix (end + 1, b))
    return FALSE;
  p = end + 1 + strlen (b);
  if (!*b)
    {
      *rest = p;
      return *i < 1000;
    }
  if (!g_ascii_isdigit (*p))
    return FALSE;
  *j = (int) strtol (p, &end, 10);
  if (*end != '.')
    return FALSE;
  *rest = end + 1;
  return *i < 1000 && *j < 1000;
}

static char *
unet_ldm_name (const char *d, int L, const gboolean *up_attn, int n_levels)
{
  int i = 0, j = 0;
  const char *r;
  if (g_str_has_prefix (d, "conv_in."))
    return g_strconcat ("input_blocks.0.0.", d + 8, NULL);
  if (g_str_has_prefix (d, "time_embedding.linear_1."))
    return g_strconcat ("time_embed.0.", d + 24, NULL);
  if (g_str_has_prefix (d, "time_embedding.linear_2."))
    return g_strconcat ("time_embed.2.", d + 24, NULL);
  if (g_str_has_prefix (d, "conv_norm_out."))
    return g_strconcat ("out.0.", d + 14, NULL);
  if (g_str_has_prefix (d, "conv_out."))
    return g_strconcat ("out.2.", d + 9, NULL);
  if (scan2 (d, "down_blocks.", "resnets.", &i, &j, &r) && i < n_levels && j < L)
    {
      char *b = g_strdup_printf ("input_blocks.%d.0.", 1 + i * (L + 1) + j);
      char *n = RENAME (r, unet_res_names, b);
      g_free (b);
      return n;
    }
  if (scan2 (d, "down_blocks.", "attentions.", &i, &j, &r) && i < n_levels && j < L)
    return g_strdup_printf ("input_blocks.%d.1.%s", 1 + i * (L + 1) + j, r);
  if (scan2 (d, "down_blocks.", "downsamplers.", &i, &j, &r) && i < n_levels && j == 0
      && g_str_has_prefix (r, "conv."))
    return g_strdup_printf ("input_blocks.%d.0.op.%s", (i + 1) * (L + 1), r + 5);
  if (scan2 (d, "mid_block.resnets.", "", &i, &j, &r) && i < 2)
    {
      char *b = g_strdup_printf ("middle_block.%d.", 2 * i);
      char *n = RENAME (r, unet_res_names, b);
      g_free (b);
      return n;
    }
  if (g_str_has_prefix (d, "mid_block.attentions.0."))
    return g_strconcat ("middle_block.1.", d + 23, NULL);
  if (scan2 (d, "up_blocks.", "resnets.", &i, &j, &r) && i < n_levels && j <= L)
    {
      char *b = g_strdup_printf ("output_blocks.%d.0.", i * (L + 1) + j);
      char *n = RENAME (r, unet_res_names, b);
      g_free (b);
      return n;
    }
  if (scan2 (d, "up_blocks.", "attentions.", &i, &j, &r) && i < n_levels && j <= L)
    return g_strdup_printf ("output_blocks.%d.1.%s", i * (L + 1) + j, r);
  if (scan2 (d, "up_blocks.", "upsamplers.", &i, &j, &r) && i < n_levels && j == 0
      && g_str_has_prefix (r, "conv."))
    return g_strdup_printf ("output_blocks.%d.%d.conv.%s", i * (L + 1) + L, up_attn[i] ? 2 : 1,
                            r + 5);
  return NULL;
}

static char *
vae_ldm_name (const char *d, int n)
{
  int i = 0, j = 0;
  const char *r;
  static const char *const same[] = {
    "encoder.conv_in.", "encoder.conv_out.", "decoder.conv_in.", "decoder.conv_out.",
    "quant_conv.", "post_quant_conv.",
  };
  for (size_t k = 0; k < G_N_ELEMENTS (same); k++)
    if (g_str_has_prefix (d, same[k]))
      return g_strdup (d);
  for (int e = 0; e < 2; e++)
    {
      const char *part = e ? "decoder." : "encoder.";
      if (!g_str_has_prefix (d, part))
        continue;
      const char *s = d + 8;
      if (g_str_has_prefix (s, "conv_norm_out."))
        return g_strconcat (part, "norm_out.", s + 14, NULL);
      if (scan2 (s, "mid_block.resnets.", "", &i, &j, &r) && i < 2)
        {
          char *b = g_strdup_printf ("%smid.block_%d.", part, i + 1);
          char *nm = RENAME (r, vae_res_names, b);
          g_free (b);
          return nm;
        }
      if (g_str_has_prefix (s, "mid_block.attentions.0."))
        {
          char *b = g_strconcat (part, "mid.attn_1.", NULL);
          char *nm = RENAME (s + 23, vae_attn_names, b);
          g_free (b);
          return nm;
        }
      const char *blocks = e ? "up_blocks." : "down_blocks.";
      const char *ldm = e ? "up" : "down";
      const char *sampler = e ? "upsamplers." : "downsamplers.";
      if (scan2 (s, blocks, "resnets.", &i, &j, &r) && i < n)
        {
          char *b = g_strdup_printf ("%s%s.%d.block.%d.", part, ldm, e ? n - 1 - i : i, j);
          char *nm = RENAME (r, vae_res_names, b);
          g_free (b);
          return nm;
        }
      if (scan2 (s, blocks, sampler, &i, &j, &r) && i < n && j == 0 && g_str_has_prefix (r, "conv."))
        return g_strdup_printf ("%s%s.%d.%ssample.conv.%s", part, ldm, e ? n - 1 - i : i, ldm,
                                r + 5);
    }
  return NULL;
}

typedef enum { PART_UNET, PART_VAE, PART_TEXT } part_kind;

/* Opens dir/sub/<stem>[.fp16].safetensors and adds its tensors to the view
 * under LDM names. */
static gboolean
add_part (dream_st_file *view, const char *dir, const char *sub, const char *stem, part_kind kind,
          int L, int n_levels, GError **error)
{
  char *p = weight_file (dir, sub, stem, error);
  if (!p)
    return FALSE;
  char *shown = g_filename_display_name (p);
  gboolean ok = sniff (p, shown, error);
  dream_st_file *f = ok ? dream_st_open (p, error) : NULL;
  g_free (p);
  if (!f)
    {
      g_free (shown);
      return FALSE;
    }
  dream_st_view_own (view, f);
  gboolean up_attn[64] = { FALSE };
  /* the config's levels and layers_per_block against the resnets there */
  for (int i = 0; kind != PART_TEXT && ok && i <= n_levels && i < 64; i++)
    for (int up = 0; ok && up < 2; up++)
      {
        const char *fmt = kind == PART_UNET ? (up ? "up_blocks.%d.resnets.%d.norm1.weight"
                                                  : "down_blocks.%d.resnets.%d.norm1.weight")
                                            : (up ? "decoder.up_blocks.%d.resnets.%d.norm1.weight"
                                                  : "encoder.down_blocks.%d.resnets.%d.norm1.weight");
        int n = 0;
        for (;; n++)
          {
            char *name = g_strdup_printf (fmt, i, n);
            gboolean there = dream_st_find (f, name) != NULL;
            g_free (name);
            if (!there || n > 64)
              break;
          }
        if (i == n_levels ? n != 0 : n == 0 || (kind == PART_UNET && n != L + up))
          {
            char *said = kind == PART_UNET
              ? g_strdup_printf ("%d levels and layers_per_block %d", n_levels, L)
              : g_strdup_printf ("%d levels", n_levels);
            g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                         "%s: %s level %d has %d resnets, but its config.json says %s",
                         shown, up ? "up" : "down", i, n, said);
            g_free (said);
            ok = FALSE;
          }
      }
  if (kind == PART_UNET)
    for (int i = 0; i < n_levels && i < 64; i++)
      {
        char *a = g_strdup_printf ("up_blocks.%d.attentions.", i);
        up_attn[i] = has_prefix (f, a);
        g_free (a);
      }
  for (int i = 0; ok && i < dream_st_count (f); i++)
    {
      const dream_st_tensor *t = dream_st_get (f, i);
      char *ldm = NULL, *full = NULL;
      if (kind == PART_UNET)
        {
          ldm = unet_ldm_name (t->name, L, up_attn, n_levels);
          full = ldm ? g_strconcat (UNET, ldm, NULL) : NULL;
        }
      else if (kind == PART_VAE)
        {
          ldm = vae_ldm_name (t->name, n_levels);
          full = ldm ? g_strconcat (VAE, ldm, NULL) : NULL;
        }
      else if (g_str_has_prefix (t->name, "text_model."))
        full = g_strconcat (HF_TEXT, t->name + strlen ("text_model."), NULL);
      else
        full = g_strconcat ("cond_stage_model.transformer.", t->name, NULL);
      if (!full)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                       "%s: tensor '%s' is not part of a Stable Diffusion 1.x / 2.x %s "
                       "(layers_per_block %d, %d levels)", shown, t->name,
                       kind == PART_UNET ? "UNet" : "VAE", L, n_levels);
          ok = FALSE;
        }
      else
        ok = dream_st_view_add (view, full, t, 0, NULL, error);
      g_free (ldm);
      g_free (full);
    }
  g_free (shown);
  return ok;
}

static gboolean
config_mismatch (GError **error, const char *dir, const char *what, int said, int has)
{
  g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
               "%s/unet/config.json: %s is %d but the weights have %d", dir, what, said, has);
  return FALSE;
}

static gboolean
open_diffusers (dream_sd_checkpoint *ck, const char *dir, const char *config_path,
                const char *shown, GError **error)
{
  JsonParser *pi = NULL, *pu = NULL, *pv = NULL, *pt = NULL, *ps = NULL;
  gboolean failed = FALSE, ok = FALSE;
  JsonObject *index = read_json (dir, "", "model_index.json", TRUE, &pi, &failed, error);
  JsonObject *uc = NULL, *vc = NULL, *tc = NULL, *sc = NULL;
  if (failed)
    goto out;
  const char *cls = json_str (index, "_class_name");
  static const struct { const char *key; const char *what; } refused[] = {
    { "XL", "an SDXL pipeline" }, { "StableDiffusion3", "a Stable Diffusion 3 pipeline" },
    { "Flux", "a Flux pipeline" }, { "PixArt", "a PixArt pipeline" },
    { "Cascade", "a Stable Cascade pipeline" }, { "Wuerstchen", "a Würstchen pipeline" },
    { "Upscale", "the SD x4 upscaler" }, { "UnCLIP", "an unCLIP pipeline" },
    { "Kandinsky", "a Kandinsky pipeline" }, { "LatentConsistency", "an LCM pipeline" },
    { "InstructPix2Pix", "an InstructPix2Pix pipeline" }, { "Depth2Img", "SD 2 depth-to-image" },
  };
  for (size_t i = 0; cls && i < G_N_ELEMENTS (refused); i++)
    if (strstr (cls, refused[i].key))
      {
        char *w = g_strdup_printf ("%s (%s)", refused[i].what, cls);
        unsupported (error, shown, w);
        g_free (w);
        goto out;
      }
  if (json_object_has_member (index, "text_encoder_2"))
    {
      unsupported (error, shown, "an SDXL pipeline (text_encoder_2)");
      goto out;
    }
  if (json_object_has_member (index, "transformer"))
    {
      unsupported (error, shown, "a diffusion-transformer pipeline (SD3 / Flux / PixArt)");
      goto out;
    }
  static const char *const needed[] = { "unet", "vae", "text_encoder" };
  for (size_t i = 0; i < G_N_ELEMENTS (needed); i++)
    {
      char *d = g_build_filename (dir, needed[i], NULL);
      gboolean there = g_file_test (d, G_FILE_TEST_IS_DIR);
      g_free (d);
      if (!there)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                       "%s: diffusers folder without %s/ (Dreamlayer needs unet/, vae/ and "
                       "text_encoder/)", shown, needed[i]);
          goto out;
        }
    }
  uc = read_json (dir, "unet", "config.json", TRUE, &pu, &failed, error);
  if (!failed)
    vc = read_json (dir, "vae", "config.json", TRUE, &pv, &failed, error);
  if (!failed)
    tc = read_json (dir, "text_encoder", "config.json", TRUE, &pt, &failed, error);
  if (!failed)
    sc = read_json (dir, "scheduler", "scheduler_config.json", FALSE, &ps, &failed, error);
  if (failed)
    goto out;

  /* UNet config */
  int L = 2, unet_levels, vae_levels, in_ch = 4, cross = 0, sample = 0, tcp = 0;
  int unet_ch[16], vae_ch[16], heads[16], nheads[16];
  unet_levels = json_ints (uc, "block_out_channels", unet_ch, 16);
  vae_levels = json_ints (vc, "block_out_channels", vae_ch, 16);
  int n_adim = json_ints (uc, "attention_head_dim", heads, 16);
  int n_nheads = json_ints (uc, "num_attention_heads", nheads, 16);
  if (!json_int (uc, "layers_per_block", 2, &L) || L < 1 || L > 16
      || !json_int (uc, "in_channels", 4, &in_ch) || !json_int (uc, "cross_attention_dim", 0, &cross)
      || !json_int (uc, "sample_size", 0, &sample) || unet_levels < 1 || vae_levels < 1
      || n_adim < 0 || n_nheads < 0 || !json_int (uc, "time_cond_proj_dim", 0, &tcp))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: unet/ or vae/config.json lacks or garbles block_out_channels, "
                   "layers_per_block, in_channels, cross_attention_dim or attention_head_dim", shown);
      goto out;
    }
  if (tcp > 0)
    {
      unsupported (error, shown, "an LCM-distilled UNet (time_cond_proj_dim: guidance embedded)");
      goto out;
    }
  const char *ct = json_str (uc, "class_embed_type"), *at = json_str (uc, "addition_embed_type");
  if (ct || at)
    {
      char *w = g_strdup_printf ("a UNet with extra conditioning (%s %s)", ct ? ct : "",
                                 at ? at : "");
      unsupported (error, shown, w);
      g_free (w);
      goto out;
    }
  /* heads: num_attention_heads, else attention_head_dim, which the SD
   * diffusers configs use as the head count (SD1: 8; SD2: [5, 10, 20, 20]) */
  int *hv = n_nheads > 0 ? nheads : heads, nh = n_nheads > 0 ? n_nheads : n_adim;
  if (nh == 1)
    ck->config.num_heads = hv[0];
  else if (nh == unet_levels)
    {
      gboolean same_heads = TRUE, same_width = TRUE;
      for (int i = 0; i < nh; i++)
        {
          if (hv[i] < 1 || unet_ch[i] % hv[i])
            same_heads = same_width = FALSE;
          else
            {
              same_heads &= hv[i] == hv[0];
              same_width &= hv[0] >= 1 && unet_ch[i] / hv[i] == unet_ch[0] / hv[0];
            }
        }
      if (same_heads)
        ck->config.num_heads = hv[0];
      else if (same_width)
        ck->config.num_head_channels = unet_ch[0] / hv[0];
      else
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                       "%s/unet/config.json: per-level heads that are neither one count nor one "
                       "head width are not supported", shown);
          goto out;
        }
    }
  else if (nh > 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s/unet/config.json: %d head entries for %d levels", shown, nh, unet_levels);
      goto out;
    }
  if (json_object_has_member (uc, "use_linear_projection"))
    {
      JsonNode *n = json_object_get_member (uc, "use_linear_projection");
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN)
        ck->config.use_linear = json_node_get_boolean (n) ? 1 : 0;
    }
  if (cross > 0)
    ck->config.context_dim = cross;
  if (sample > 0)
    ck->native_size = 8 * sample;

  /* scheduler */
  const char *pred = json_str (sc, "prediction_type");
  if (pred && !strcmp (pred, "v_prediction"))
    ck->config.prediction = DREAM_PREDICTION_V;
  else if (pred && strcmp (pred, "epsilon"))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s/scheduler: prediction_type \"%s\" is not supported (epsilon or v_prediction)",
                   shown, pred);
      goto out;
    }
  const char *bs = json_str (sc, "beta_schedule");
  if (bs && strcmp (bs, "scaled_linear"))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s/scheduler: beta_schedule \"%s\" is not supported (SD's scaled_linear)",
                   shown, bs);
      goto out;
    }
  int T = ck->config.timesteps;
  if (!json_int (sc, "num_train_timesteps", T, &T) || T < 2 || T > 100000
      || !json_number (sc, "beta_start", &ck->config.linear_start)
      || !json_number (sc, "beta_end", &ck->config.linear_end)
      || !json_number (vc, "scaling_factor", &ck->config.scale_factor)
      || !(ck->config.linear_start > 0 && ck->config.linear_end > ck->config.linear_start
           && ck->config.linear_end < 1) || !(ck->config.scale_factor > 0))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: scheduler_config.json or vae/config.json has unusable numbers "
                   "(num_train_timesteps, beta_start, beta_end, scaling_factor)", shown);
      goto out;
    }
  ck->config.timesteps = T;

  /* text encoder hints */
  const char *act = json_str (tc, "hidden_act");
  if (act && !strcmp (act, "gelu"))
    ck->text_hints.act = DREAM_NN_ACT_GELU;
  else if (act && !strcmp (act, "quick_gelu"))
    ck->text_hints.act = DREAM_NN_ACT_QUICK_GELU;
  else if (act)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s/text_encoder/config.json: hidden_act \"%s\" is not supported", shown, act);
      goto out;
    }
  double eps = 0;
  if (!json_int (tc, "num_attention_heads", 0, &ck->text_hints.text_heads)
      || ck->text_hints.text_heads < 0 || !json_number (tc, "layer_norm_eps", &eps)
      || eps < 0 || eps > 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s/text_encoder/config.json: bad num_attention_heads or layer_norm_eps", shown);
      goto out;
    }
  ck->text_hints.ln_eps = (float) eps;

  /* tokenizer: Dreamlayer's bundled CLIP BPE has 49408 tokens; the pad
   * token differs (SD1 "<|endoftext|>" 49407, SD2 "!" 0) */
  int pad_id = -1;
  {
    JsonParser *pk = NULL, *pm = NULL;
    JsonObject *vocab = read_json (dir, "tokenizer", "vocab.json", FALSE, &pk, &failed, error);
    JsonObject *map = failed ? NULL
      : read_json (dir, "tokenizer", "special_tokens_map.json", FALSE, &pm, &failed, error);
    guint n = vocab ? json_object_get_size (vocab) : 49408;
    const char *pad = json_str (map, "pad_token");
    if (!pad && map && json_object_has_member (map, "pad_token")
        && JSON_NODE_HOLDS_OBJECT (json_object_get_member (map, "pad_token")))
      pad = json_str (json_object_get_object_member (map, "pad_token"), "content");
    if (pad && vocab && json_object_has_member (vocab, pad))
      json_int (vocab, pad, -1, &pad_id);
    else if (pad && !strcmp (pad, "<|endoftext|>"))
      pad_id = 49407;
    else if (pad && !strcmp (pad, "!"))
      pad_id = 0;
    char *bad_pad = pad && (pad_id < 0 || pad_id >= 49408) ? g_strdup (pad) : NULL;
    g_clear_object (&pk);
    g_clear_object (&pm);
    if (!failed && n != 49408)
      {
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                     "%s/tokenizer: %u tokens, not the 49408 of CLIP's BPE that Dreamlayer uses",
                     shown, n);
        failed = TRUE;
      }
    if (!failed && bad_pad)
      {
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                     "%s/tokenizer: pad token \"%s\" is not in CLIP's vocabulary", shown, bad_pad);
        failed = TRUE;
      }
    g_free (bad_pad);
    if (failed)
      goto out;
  }

  /* weights */
  ck->file = dream_st_view_new (shown);
  if (!add_part (ck->file, dir, "unet", "diffusion_pytorch_model", PART_UNET, L, unet_levels, error)
      || !add_part (ck->file, dir, "vae", "diffusion_pytorch_model", PART_VAE, 0, vae_levels, error)
      || !add_part (ck->file, dir, "text_encoder", "model", PART_TEXT, 0, 0, error))
    goto out;

  /* the config against the weights */
  const dream_st_tensor *c0 = dream_st_find (ck->file, UNET "input_blocks.0.0.weight");
  if (!c0 || c0->n_dims != 4)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL, "%s/unet: no conv_in.weight", shown);
      goto out;
    }
  if (c0->shape[1] != in_ch)
    {
      config_mismatch (error, shown, "in_channels", in_ch, (int) c0->shape[1]);
      goto out;
    }
  if (c0->shape[0] != unet_ch[0])
    {
      config_mismatch (error, shown, "block_out_channels[0]", unet_ch[0], (int) c0->shape[0]);
      goto out;
    }
  int ctx = context_width (ck->file, UNET);
  if (cross > 0 && ctx > 0 && ctx != cross)
    {
      config_mismatch (error, shown, "cross_attention_dim", cross, ctx);
      goto out;
    }
  for (int i = 0; i < dream_st_count (ck->file); i++)
    {
      const dream_st_tensor *t = dream_st_get (ck->file, i);
      if (g_str_has_prefix (t->name, UNET) && g_str_has_suffix (t->name, "proj_in.weight")
          && ck->config.use_linear >= 0 && (t->n_dims == 2) != (ck->config.use_linear == 1))
        {
          config_mismatch (error, shown, "use_linear_projection", ck->config.use_linear,
                           t->n_dims == 2);
          goto out;
        }
    }

  if (!check_in_channels (ck->file, shown, &in_ch, error) || !detect_family (ck, shown, error))
    goto out;
  ck->diffusers = TRUE;
  if (pad_id >= 0)
    ck->text_pad_id = pad_id;
  else if (ck->family == DREAM_SD_FAMILY_SD2)
    ck->text_pad_id = 0;         /* the SD 2.x tokenizers pad with "!" */
  const char *origin = json_str (index, "_name_or_path");
  char *base = g_path_get_basename (dir);
  char *names = g_strconcat (base, " ", origin ? origin : "", NULL);
  gboolean prediction_given = pred != NULL;
  dream_prediction p = ck->config.prediction;
  int native = ck->native_size;
  ck->prediction_guessed = !prediction_given;
  name_hints (ck, names, NULL);
  if (prediction_given)   /* the scheduler's word beats the name */
    ck->config.prediction = p;
  if (native > 0)
    ck->native_size = native;
  g_free (names);
  g_free (base);
  g_free (ck->config.source);
  ck->config.source = g_strdup ("diffusers config.json");
  dream_prediction guess;
  prediction_begin (ck, &guess);
  if (config_path && !dream_ldm_config_load_yaml (&ck->config, config_path, error))
    goto out;
  prediction_end (ck, guess);
  finish (ck, in_ch);
  ok = TRUE;

out:
  g_clear_object (&pi);
  g_clear_object (&pu);
  g_clear_object (&pv);
  g_clear_object (&pt);
  g_clear_object (&ps);
  return ok;
}

/* ---- telling ε from v by a test run ------------------------------------------ */

gboolean
dream_sd_checkpoint_probe_prediction (dream_sd_checkpoint *ck, const dream_unet *unet,
                                      dream_pool *pool, GError **error)
{
  g_return_val_if_fail (ck != NULL && ck->file != NULL && unet != NULL, FALSE);
  if (!ck->prediction_guessed || ck->family != DREAM_SD_FAMILY_SD2 || ck->inpainting
      || ck->turbo || unet->in_channels != 4)
    return TRUE;
  enum { SIDE = 8, N_CTX = 2 };
  const int c = unet->out_channels, ctx = unet->context_dim;
  float *x = g_try_new (float, SIDE * SIDE * unet->in_channels);
  float *context = g_try_new (float, N_CTX * ctx);
  float *out = g_try_new (float, SIDE * SIDE * c);
  dream_unet_state s = { 0 };
  gboolean ok = x && context && out;
  if (!ok)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_OUT_OF_MEMORY, "no memory for the prediction test");
  if (ok)
    {
      for (int i = 0; i < SIDE * SIDE * unet->in_channels; i++)
        x[i] = 0.5f;
      for (int i = 0; i < N_CTX * ctx; i++)
        context[i] = 0.5f;
      const float t = 999.0f;
      ok = dream_unet_state_init (&s, unet, 1, SIDE, SIDE, N_CTX, dream_pool_n_threads (pool), error)
           && dream_unet_forward (unet, &s, x, &t, context, out, pool, NULL, 0.0, error);
    }
  if (ok)
    {
      double mean = 0.0;
      for (int i = 0; i < SIDE * SIDE * c; i++)
        mean += (double) out[i] - 0.5;
      mean /= SIDE * SIDE * c;
      ck->config.prediction = mean < -1.0 ? DREAM_PREDICTION_V : DREAM_PREDICTION_EPS;
      ck->v_prediction = ck->config.prediction == DREAM_PREDICTION_V;
      ck->native_size = ck->v_prediction ? 768 : 512;
      ck->prediction_guessed = FALSE;
      ck->prediction_probe = mean;
      set_kind (ck);
    }
  dream_unet_state_clear (&s);
  g_free (x);
  g_free (context);
  g_free (out);
  return ok;
}

/* ---- model folders --------------------------------------------------------- */

/* $DREAM_MODELS_DIR and $XDG_DATA_HOME/dreamlayer/models, those that are set. */
static GPtrArray *
model_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("DREAM_MODELS_DIR");
  if (env && *env)
    g_ptr_array_add (dirs, g_strdup (env));
  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "dreamlayer", "models", NULL));
  return dirs;
}

/* A bare name in the model folders: NAME, NAME.safetensors; NULL if none. */
static char *
find_in_model_dirs (const char *name)
{
  if (strchr (name, G_DIR_SEPARATOR) || !strcmp (name, ".") || !strcmp (name, ".."))
    return NULL;
  GPtrArray *dirs = model_dirs ();
  char *found = NULL;
  for (guint i = 0; i < dirs->len && !found; i++)
    {
      char *a = g_build_filename (dirs->pdata[i], name, NULL);
      char *b = g_strconcat (a, ".safetensors", NULL);
      if (g_file_test (a, G_FILE_TEST_EXISTS))
        found = g_strdup (a);
      else if (g_file_test (b, G_FILE_TEST_IS_REGULAR))
        found = g_strdup (b);
      g_free (a);
      g_free (b);
    }
  g_ptr_array_unref (dirs);
  return found;
}

static void
entry_free (gpointer p)
{
  dream_sd_checkpoint_entry *e = p;
  g_free (e->path);
  g_free (e->kind);
  g_free (e->problem);
  g_free (e);
}

static int
entry_compare (gconstpointer a, gconstpointer b)
{
  const dream_sd_checkpoint_entry *x = *(dream_sd_checkpoint_entry *const *) a;
  const dream_sd_checkpoint_entry *y = *(dream_sd_checkpoint_entry *const *) b;
  return strcmp (x->path, y->path);
}

static void
list_dir (GPtrArray *out, const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (dir, name, NULL);
      char *index = g_build_filename (p, "model_index.json", NULL);
      gboolean file = g_str_has_suffix (name, ".safetensors") && g_file_test (p, G_FILE_TEST_IS_REGULAR);
      gboolean folder = g_file_test (index, G_FILE_TEST_IS_REGULAR);
      g_free (index);
      if (!file && !folder)
        {
          g_free (p);
          continue;
        }
      dream_sd_checkpoint_entry *e = g_new0 (dream_sd_checkpoint_entry, 1);
      dream_sd_checkpoint ck;
      GError *error = NULL;
      e->path = p;
      if (dream_sd_checkpoint_open (&ck, p, NULL, &error))
        {
          e->kind = g_strdup (ck.kind);
          dream_sd_checkpoint_close (&ck);
        }
      else
        {
          e->problem = g_strdup (error->message);
          g_error_free (error);
        }
      g_ptr_array_add (out, e);
    }
  if (d)
    g_dir_close (d);
}

GPtrArray *
dream_sd_checkpoint_list (const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (entry_free);
  if (dir)
    list_dir (out, dir);
  else
    {
      GPtrArray *dirs = model_dirs ();
      for (guint i = 0; i < dirs->len; i++)
        list_dir (out, dirs->pdata[i]);
      g_ptr_array_unref (dirs);
    }
  g_ptr_array_sort (out, entry_compare);
  return out;
}

/* ---- entry points ------------------------------------------------------------ */

void
dream_sd_checkpoint_close (dream_sd_checkpoint *ck)
{
  if (!ck)
    return;
  dream_st_close (ck->file);
  dream_ldm_config_clear (&ck->config);
  g_free (ck->kind);
  g_free (ck->path);
  memset (ck, 0, sizeof *ck);
}

gboolean
dream_sd_checkpoint_open (dream_sd_checkpoint *ck, const char *path, const char *config_path,
                          GError **error)
{
  g_return_val_if_fail (ck != NULL, FALSE);
  memset (ck, 0, sizeof *ck);
  if (!path || !*path)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT, "no model path given");
      return FALSE;
    }
  dream_ldm_config_init (&ck->config);
  hints_init (&ck->text_hints);
  char *named = g_file_test (path, G_FILE_TEST_EXISTS) ? NULL : find_in_model_dirs (path);
  if (named)
    path = named;
  ck->path = g_strdup (path);
  char *shown = g_filename_display_name (path);
  char *dir = NULL;
  gboolean ok;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      char *index = g_build_filename (path, "model_index.json", NULL);
      char *parent = g_path_get_dirname (path);
      char *pindex = g_build_filename (parent, "model_index.json", NULL);
      if (g_file_test (index, G_FILE_TEST_IS_REGULAR))
        dir = g_strdup (path);
      else if (g_file_test (pindex, G_FILE_TEST_IS_REGULAR))
        dir = g_strdup (parent);     /* its unet/ (or other component) folder */
      g_free (index);
      g_free (parent);
      g_free (pindex);
      if (!dir)
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                       "%s: a folder without model_index.json is not a diffusers model. %s.",
                       shown, SUPPORTED);
          ok = FALSE;
          goto out;
        }
    }
  else
    {
      char *base = g_path_get_basename (path);
      char *parent = g_path_get_dirname (path);
      char *top = g_path_get_dirname (parent);
      char *index = g_build_filename (top, "model_index.json", NULL);
      if (!strcmp (base, "model_index.json"))
        dir = g_strdup (parent);
      else if (g_file_test (index, G_FILE_TEST_IS_REGULAR)
               && (g_str_has_prefix (base, "diffusion_pytorch_model.")
                   || g_str_has_prefix (base, "model.")))
        dir = g_strdup (top);     /* a component's weights: the whole folder */
      g_free (index);
      g_free (top);
      g_free (parent);
      g_free (base);
    }
  if (dir)
    ok = open_diffusers (ck, dir, config_path, shown, error);
  else if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (strchr (path, G_DIR_SEPARATOR))
        g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s: no such file or folder", shown);
      else
        {
          GPtrArray *dirs = model_dirs ();
          g_ptr_array_add (dirs, NULL);
          char *where = g_strjoinv (", ", (char **) dirs->pdata);
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO,
                       "%s: no such file or folder, here or in the model folders (%s)", shown,
                       where);
          g_free (where);
          g_ptr_array_unref (dirs);
        }
      ok = FALSE;
    }
  else
    ok = open_single (ck, path, config_path, shown, error);

out:
  g_free (dir);
  g_free (shown);
  g_free (named);
  if (!ok)
    dream_sd_checkpoint_close (ck);
  return ok;
}
