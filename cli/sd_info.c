/* sd_info.c — `dream sd-info`: what Dreamlayer makes of a Stable
 * Diffusion checkpoint a user downloaded (engine/io/sd_checkpoint.h).
 *
 *   dream sd-info MODEL [--config MODEL.yaml] [--load]
 *   dream sd-info --list [FOLDER]
 *
 * MODEL is a single .safetensors file (original LDM layout) or a diffusers
 * folder (or its model_index.json), or the bare name of one in the model
 * folders ($DREAM_MODELS_DIR, $XDG_DATA_HOME/dreamlayer/models). --list
 * shows every checkpoint of FOLDER (default: the model folders) with its
 * kind or why it cannot be used. Prints the kind (SD 1.x, SD 2.x 512 /
 * 768 (v-prediction), SD-Turbo, … inpainting), where each setting came
 * from, the text encoder, the tensor types and the defaults a user gets.
 * --load also builds the UNet, VAE and text encoder from it (every
 * tensor's shape checked) and, for an SD 2.x model whose prediction
 * nothing names, runs the ε / v test (one UNet pass at 8×8, see
 * dream_sd_checkpoint_probe_prediction). An unsupported model
 * (SDXL, SD3, Flux, a LoRA, a pickle, …) gets a message naming it.
 * Exit 0 ok, 1 error, 2 usage.
 */
#include "commands.h"

#include "io/sd_checkpoint.h"
#include "models/clip_text.h"
#include "models/unet.h"
#include "models/vae.h"

#include <stdio.h>

int
cmd_sd_info (int argc, char **argv)
{
  char *config_path = NULL;
  gboolean load = FALSE, list = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "LDM .yaml of the model", "C" },
    { "load", 'l', 0, G_OPTION_ARG_NONE, &load, "Also build the UNet, VAE and text encoder", NULL },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list, "List the checkpoints of a folder (default: the model folders)", NULL },
    { NULL }
  };
  GOptionContext *octx = g_option_context_new ("MODEL — what a Stable Diffusion checkpoint is");
  g_option_context_add_main_entries (octx, entries, NULL);
  GError *error = NULL;
  int status = 2;
  dream_sd_checkpoint ck = { 0 };
  gboolean opened = FALSE;

  if (!g_option_context_parse (octx, &argc, &argv, &error) || (list ? argc > 2 : argc != 2))
    {
      g_printerr ("%s\n", error ? error->message
                  : "usage: dream sd-info MODEL [--config MODEL.yaml] [--load] | --list [FOLDER]");
      goto out;
    }
  status = 1;
  if (list)
    {
      GPtrArray *found = dream_sd_checkpoint_list (argc == 2 ? argv[1] : NULL);
      for (guint i = 0; i < found->len; i++)
        {
          const dream_sd_checkpoint_entry *e = found->pdata[i];
          printf ("%s\t%s\n", e->path, e->kind ? e->kind : e->problem);
        }
      if (found->len == 0)
        g_printerr ("dream sd-info: no .safetensors files or diffusers folders in %s\n",
                    argc == 2 ? argv[1] : "$DREAM_MODELS_DIR or $XDG_DATA_HOME/dreamlayer/models");
      status = 0;
      g_ptr_array_unref (found);
      goto out;
    }
  if (!dream_sd_checkpoint_open (&ck, argv[1], config_path, &error))
    {
      g_printerr ("dream sd-info: %s\n", error->message);
      goto out;
    }
  opened = TRUE;
  int n[4] = { 0 };
  for (int i = 0; i < dream_st_count (ck.file); i++)
    {
      dream_dtype t = dream_st_get (ck.file, i)->dtype;
      n[t == DREAM_DTYPE_F32 ? 0 : t == DREAM_DTYPE_F16 ? 1 : t == DREAM_DTYPE_BF16 ? 2 : 3]++;
    }
  const dream_ldm_config *c = &ck.config;
  printf ("model:       %s\n", ck.path);
  printf ("kind:        %s\n", ck.kind);
  printf ("layout:      %s\n", ck.diffusers ? "diffusers folder" : "single file (LDM names)");
  printf ("tensors:     %d (F32 %d, F16 %d, BF16 %d, other %d)\n", dream_st_count (ck.file),
          n[0], n[1], n[2], n[3]);
  printf ("prediction:  %s%s\n", ck.v_prediction ? "v" : "eps",
          ck.prediction_guessed ? " (guessed from the name; --load tests it for SD 2.x)" : "");
  printf ("native size: %d\n", ck.native_size);
  printf ("inpainting:  %s\n", ck.inpainting ? "yes (9 input channels)" : "no");
  if (c->num_head_channels > 0)
    printf ("heads:       %d channels per head\n", c->num_head_channels);
  else if (c->num_heads > 0)
    printf ("heads:       %d per attention\n", c->num_heads);
  else
    printf ("heads:       default (SD1: 8 heads; SD2: 64 channels per head)\n");
  printf ("schedule:    %s %g..%g over %d steps, latent scale %g\n", c->beta_schedule,
          c->linear_start, c->linear_end, c->timesteps, c->scale_factor);
  printf ("settings:    %s\n", c->source ? c->source : "detected from the tensors and the name");
  printf ("text:        %s%s, %s, %s layer, padded with token %d\n", ck.text_prefix, "*",
          ck.text_hints.act == DREAM_NN_ACT_GELU ? "exact GELU" : "QuickGELU",
          ck.text_penultimate ? "penultimate" : "last", ck.text_pad_id);
  printf ("defaults:    %d steps, cfg %g, sampler %s\n", ck.default_steps, ck.default_cfg,
          ck.default_sampler);

  if (load)
    {
      dream_unet *unet = dream_unet_load (ck.file, &ck.config, &error);
      dream_vae *vae = unet ? dream_vae_load (ck.file, &error) : NULL;
      dream_clip_text *te = vae ? dream_clip_text_load (ck.file, ck.text_prefix, &ck.text_hints,
                                                        &error) : NULL;
      dream_pool *pool = dream_pool_new (0);
      gboolean guessed = ck.prediction_guessed;
      if (te && !dream_sd_checkpoint_probe_prediction (&ck, unet, pool, &error))
        {
          dream_clip_text_free (te);
          te = NULL;
        }
      dream_pool_free (pool);
      if (te && guessed && !ck.prediction_guessed)
        printf ("test run:    mean (out - x) = %.3f: %s, now %s\n", ck.prediction_probe,
                ck.v_prediction ? "v-prediction" : "eps-prediction", ck.kind);
      if (te)
        {
          printf ("unet:        %d → %d channels, model channels %d, context %d\n",
                  unet->in_channels, unet->out_channels, unet->model_channels, unet->context_dim);
          printf ("vae:         %s%s, latent %d, factor %d\n", vae->has_encoder ? "encoder " : "",
                  vae->has_decoder ? "decoder" : "", vae->embed_dim, vae->factor);
          printf ("text model:  %d layers, width %d, %d heads, vocabulary %d\n",
                  te->stack.layers, te->stack.width, te->stack.heads, te->vocab);
          status = 0;
        }
      else
        g_printerr ("dream sd-info: %s\n", error->message);
      dream_clip_text_free (te);
      dream_vae_free (vae);
      dream_unet_free (unet);
    }
  else
    status = 0;

out:
  if (opened)
    dream_sd_checkpoint_close (&ck);
  g_clear_error (&error);
  g_free (config_path);
  g_option_context_free (octx);
  return status;
}
