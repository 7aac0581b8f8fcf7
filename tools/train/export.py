#!/usr/bin/python3
"""export.py — training checkpoints -> the bundled models, F16.

    /usr/bin/python3 tools/train/export.py --clip RUN/clip/ckpt.pt \
        --vae RUN/vae/ckpt.pt --unet RUN/unet/ckpt.pt --out models/

Writes
  shapes-clip.safetensors  OpenAI CLIP layout (token_embedding.weight,
      positional_embedding, transformer.resblocks.N..., ln_final,
      text_projection, logit_scale, visual....); metadata text_heads /
      vision_heads / activation quick_gelu.
  shapes-sd.safetensors    single-file LDM layout: model.diffusion_model.*
      (openaimodel UNet, SD1 style), first_stage_model.* (AutoencoderKL),
      cond_stage_model.transformer.text_model.* (the Hugging Face
      CLIPTextModel names of SD 1.x) = the SAME weights as the CLIP's text
      tower.
  shapes-sd.yaml           LDM config with the real sizes.
All float tensors are stored F16 (logit_scale too); the engine widens them.
"""

import argparse
import os

import numpy as np
import torch

from common import CLIP
from st_io import write_safetensors
import train_unet

YAML = """\
# Dreamlayer shapes-sd: a small Stable Diffusion 1.x-architecture model
# trained by tools/train (see models/README.md). Same layout and config
# keys as CompVis/Stability v1-inference.yaml, at its own sizes.
model:
  base_learning_rate: 1.0e-04
  target: ldm.models.diffusion.ddpm.LatentDiffusion
  params:
    linear_start: {linear_start}
    linear_end: {linear_end}
    num_timesteps_cond: 1
    log_every_t: 200
    timesteps: {timesteps}
    first_stage_key: "jpg"
    cond_stage_key: "txt"
    image_size: {latent}
    channels: 4
    cond_stage_trainable: false
    conditioning_key: crossattn
    monitor: val/loss_simple_ema
    scale_factor: {scale_factor:.6f}
    use_ema: False
    parameterization: "eps"

    unet_config:
      target: ldm.modules.diffusionmodules.openaimodel.UNetModel
      params:
        image_size: {latent}
        in_channels: 4
        out_channels: 4
        model_channels: {model_channels}
        attention_resolutions: {attention_resolutions}
        num_res_blocks: {num_res_blocks}
        channel_mult: {channel_mult}
        num_heads: {num_heads}
        use_spatial_transformer: True
        transformer_depth: {transformer_depth}
        context_dim: {context_dim}
        use_checkpoint: False
        legacy: False

    first_stage_config:
      target: ldm.models.autoencoder.AutoencoderKL
      params:
        embed_dim: 4
        monitor: val/rec_loss
        ddconfig:
          double_z: true
          z_channels: {z_channels}
          resolution: {resolution}
          in_channels: 3
          out_ch: 3
          ch: {ch}
          ch_mult: {ch_mult}
          num_res_blocks: {vae_res_blocks}
          attn_resolutions: []
          dropout: 0.0
        lossconfig:
          target: torch.nn.Identity

    cond_stage_config:
      target: ldm.modules.encoders.modules.FrozenCLIPEmbedder
      params:
        layer: "last"
"""


def f16(t):
    return t.detach().float().numpy().astype(np.float16)


def clip_tensors(sd):
    out = []
    for k, v in sd.items():
        if k == 'logit_scale':
            v = v.reshape(())
        out.append((k, f16(v)))
    return out


def hf_text(sd, layers, prefix='cond_stage_model.transformer.text_model.'):
    """OpenAI text tower -> Hugging Face CLIPTextModel names (SD1)."""
    out = [(prefix + 'embeddings.token_embedding.weight', sd['token_embedding.weight']),
           (prefix + 'embeddings.position_embedding.weight', sd['positional_embedding'])]
    for i in range(layers):
        s, d = 'transformer.resblocks.%d.' % i, prefix + 'encoder.layers.%d.' % i
        w, b = sd[s + 'attn.in_proj_weight'], sd[s + 'attn.in_proj_bias']
        for j, n in enumerate('qkv'):
            out.append((d + 'self_attn.%s_proj.weight' % n, w.chunk(3, 0)[j]))
            out.append((d + 'self_attn.%s_proj.bias' % n, b.chunk(3, 0)[j]))
        out += [(d + 'self_attn.out_proj.weight', sd[s + 'attn.out_proj.weight']),
                (d + 'self_attn.out_proj.bias', sd[s + 'attn.out_proj.bias']),
                (d + 'layer_norm1.weight', sd[s + 'ln_1.weight']),
                (d + 'layer_norm1.bias', sd[s + 'ln_1.bias']),
                (d + 'mlp.fc1.weight', sd[s + 'mlp.c_fc.weight']),
                (d + 'mlp.fc1.bias', sd[s + 'mlp.c_fc.bias']),
                (d + 'mlp.fc2.weight', sd[s + 'mlp.c_proj.weight']),
                (d + 'mlp.fc2.bias', sd[s + 'mlp.c_proj.bias']),
                (d + 'layer_norm2.weight', sd[s + 'ln_2.weight']),
                (d + 'layer_norm2.bias', sd[s + 'ln_2.bias'])]
    out += [(prefix + 'final_layer_norm.weight', sd['ln_final.weight']),
            (prefix + 'final_layer_norm.bias', sd['ln_final.bias'])]
    return [(k, f16(v)) for k, v in out]


def openai_text(w, prefix='cond_stage_model.transformer.text_model.'):
    """The inverse of hf_text: an SD file's text tower (tensors w by name)
    as OpenAI CLIP text-tower names (float32)."""
    g = lambda k: w[prefix + k].float()
    layers = len({k[len(prefix):].split('.')[2] for k in w
                  if k.startswith(prefix + 'encoder.layers.')})
    sd = {'token_embedding.weight': g('embeddings.token_embedding.weight'),
          'positional_embedding': g('embeddings.position_embedding.weight'),
          'ln_final.weight': g('final_layer_norm.weight'),
          'ln_final.bias': g('final_layer_norm.bias')}
    for i in range(layers):
        s, d = 'transformer.resblocks.%d.' % i, 'encoder.layers.%d.' % i
        sd[s + 'attn.in_proj_weight'] = torch.cat([g(d + 'self_attn.%s_proj.weight' % n)
                                                   for n in 'qkv'])
        sd[s + 'attn.in_proj_bias'] = torch.cat([g(d + 'self_attn.%s_proj.bias' % n)
                                                 for n in 'qkv'])
        for a, b in (('attn.out_proj', 'self_attn.out_proj'), ('ln_1', 'layer_norm1'),
                     ('mlp.c_fc', 'mlp.fc1'), ('mlp.c_proj', 'mlp.fc2'), ('ln_2', 'layer_norm2')):
            sd[s + a + '.weight'] = g(d + b + '.weight')
            sd[s + a + '.bias'] = g(d + b + '.bias')
    return sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--clip', required=True)
    ap.add_argument('--vae', required=True)
    ap.add_argument('--unet', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    c = torch.load(args.clip, map_location='cpu')
    v = torch.load(args.vae, map_location='cpu')
    u = torch.load(args.unet, map_location='cpu')
    cfg = c['cfg']
    # the UNet must have been trained on this VAE's latents and this text tower
    vae = train_unet.sd_torch.VAE(embed_dim=4, **v['ddconfig'])
    vae.load_state_dict(v['model'])
    clip = CLIP(cfg)
    clip.load_state_dict(c['model'])
    # (a UNet trained with its own text tower, train_unet.py --train-text,
    # brings it: shapes-sd holds that one, shapes-clip --clip's)
    own_text = 'ema_text' in u
    checks = [('VAE encoder', train_unet.encoder_sum(vae), u['encoder_sum'])]
    if not own_text:
        checks.append(('CLIP text tower', train_unet.text_sum(clip), u['text_sum']))
    for what, a, b in checks:
        if abs(a - b) > 1e-6 * abs(b):
            raise SystemExit('the UNet was trained on another %s (%r != %r)' % (what, a, b))
    meta = {'architecture': 'clip', 'text_heads': cfg['text_heads'],
            'vision_heads': cfg['vision_heads'], 'activation': 'quick_gelu',
            'trained_by': 'tools/train/train_clip.py (Dreamlayer)',
            'clip_step': c['step'], 'config': ''}
    del meta['config']
    write_safetensors(os.path.join(args.out, 'shapes-clip.safetensors'),
                      clip_tensors(c['model']), meta)
    tensors = [('model.diffusion_model.' + k, f16(t)) for k, t in u.get('ema', u['model']).items()]
    tensors += [('first_stage_model.' + k, f16(t)) for k, t in v['model'].items()]
    tensors += hf_text(dict(c['model'], **u['ema_text']) if own_text else c['model'],
                       cfg['text_layers'])
    write_safetensors(os.path.join(args.out, 'shapes-sd.safetensors'), tensors,
                      {'trained_by': 'tools/train (Dreamlayer)',
                       'text_heads': cfg['text_heads'],
                       'modelspec.title': 'Dreamlayer shapes-sd',
                       'modelspec.architecture': 'stable-diffusion-v1',
                       'modelspec.resolution': '64x64',
                       'modelspec.prediction_type': 'epsilon',
                       'steps': 'clip %d vae %d unet %d' % (c['step'], v['step'], u['step'])})
    un, dd = u['unet'], v['ddconfig']
    lst = lambda xs: '[ %s ]' % ', '.join(str(x) for x in xs)
    y = YAML.format(linear_start=train_unet.LINEAR_START, linear_end=train_unet.LINEAR_END,
                    timesteps=train_unet.T, latent=16, scale_factor=u['scale_factor'],
                    model_channels=un['model_channels'],
                    attention_resolutions=lst(un['attention_resolutions']),
                    num_res_blocks=un['num_res_blocks'], channel_mult=lst(un['channel_mult']),
                    num_heads=un['num_heads'], transformer_depth=un['transformer_depth'],
                    context_dim=un['context_dim'], z_channels=dd['z_channels'], resolution=64,
                    ch=dd['ch'], ch_mult=lst(dd['ch_mult']), vae_res_blocks=dd['num_res_blocks'])
    with open(os.path.join(args.out, 'shapes-sd.yaml'), 'w') as f:
        f.write(y)
    for n in ('shapes-clip.safetensors', 'shapes-sd.safetensors', 'shapes-sd.yaml'):
        print('%-24s %8.2f MB' % (n, os.path.getsize(os.path.join(args.out, n)) / 1e6))


if __name__ == '__main__':
    main()
