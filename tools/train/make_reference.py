#!/usr/bin/python3
"""make_reference.py — reference inputs and outputs of the bundled shapes
models, for tests/test_shapes_models.c (`dream run-net` against them).

    /usr/bin/python3 tools/train/make_reference.py [--models models] [--out tests/data]

Runs the training code's own PyTorch modules (common.CLIP,
bench/sd_torch.py UNet/VAE) on the exported F16 weights widened to
float64, and writes
  shapes_ref_clip.safetensors  tokens (3, 77) OpenAI zero padding ->
      encode_text (3, e), last_hidden_ln (3, 77, d); image (2, 3, 64, 64)
      CLIP-normalised generator pictures -> encode_image (2, e)
  shapes_ref_sd.safetensors    tokens (2, 77) EOT padding (SD1) ->
      sd_context (2, 77, d): what the SD file's cond_stage_model must give,
      computed with that text tower (export.openai_text); x (2, 4, 16, 16), timesteps (2),
      context (2, 77, d) -> out; image (1, 3, 64, 64) in [-1, 1] ->
      mean, logvar; z (1, 4, 16, 16) -> decoded
All F32.  Metadata f32_gap_*: the largest |float32 - float64| of the same
forward pass in PyTorch, to judge the test's tolerance.
"""

import argparse
import os
import random

import numpy as np
import torch

from common import EOT, Tokenizer, clip_normalise   # first: sets sys.path
import check
import export
import shapes
import sd_torch
from st_io import write_safetensors

CAPS = ['a yellow star on a purple background',
        'a small red circle above a blue square, night sky',
        'a green ring, a white cross and a black triangle in a row on grass']


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', default=os.path.join(root, 'models'))
    ap.add_argument('--out', default=os.path.join(root, 'tests', 'data'))
    args = ap.parse_args()
    torch.manual_seed(0)
    tok = Tokenizer()
    clip = check.load_clip_file(os.path.join(args.models, 'shapes-clip.safetensors'))
    rng = random.Random(4)
    imgs = np.stack([shapes.sample(rng, True)[2] for _ in range(2)])
    tokens = tok(CAPS)
    sd_tokens = tok(CAPS[:2], pad=EOT)
    image = clip_normalise(torch.from_numpy(imgs))

    def clip_run(m, dt):
        m = m.to(dt)
        with torch.no_grad():
            return dict(encode_text=m.encode_text(tokens), last_hidden_ln=m.text_hidden(tokens),
                        encode_image=m.encode_image(image.to(dt)))
    r64 = clip_run(clip, torch.float64)
    r32 = clip_run(clip, torch.float32)
    gap = {k: float((r64[k] - r32[k].double()).abs().max()) for k in r64}
    out = [('tokens', tokens.float().numpy()), ('image', image.float().numpy())]
    out += [(k, v.float().numpy()) for k, v in r64.items()]
    write_safetensors(os.path.join(args.out, 'shapes_ref_clip.safetensors'), out,
                      {'generator': 'tools/train/make_reference.py', 'captions': '|'.join(CAPS),
                       **{'f32_gap_' + k: '%.3g' % v for k, v in gap.items()}})
    print('clip f32 gaps', gap)

    import yaml
    w, _ = sd_torch.st_read(os.path.join(args.models, 'shapes-sd.safetensors'))
    cfg = yaml.safe_load(open(os.path.join(args.models, 'shapes-sd.yaml')))['model']['params']
    up = cfg['unet_config']['params']
    unet = sd_torch.UNet(**{k: up[k] for k in ('in_channels', 'out_channels', 'model_channels',
                                               'channel_mult', 'num_res_blocks',
                                               'attention_resolutions', 'num_heads',
                                               'context_dim', 'transformer_depth')})
    sd_torch.load_into(unet, w, 'model.diffusion_model.')
    dd = cfg['first_stage_config']['params']['ddconfig']
    vae = sd_torch.VAE(embed_dim=4, ch=dd['ch'], ch_mult=dd['ch_mult'],
                       num_res_blocks=dd['num_res_blocks'], z_channels=dd['z_channels'])
    sd_torch.load_into(vae, w, 'first_stage_model.')
    x = torch.randn(2, 4, 16, 16)
    t = torch.tensor([999.0, 250.0])
    # the SD file's own text tower (trained with its UNet); the CLIP shell's
    # random init must not move the random inputs drawn below
    with torch.random.fork_rng(), torch.no_grad():
        sd_text = check.load_clip_file(os.path.join(args.models, 'shapes-clip.safetensors'))
        sd_text.load_state_dict(export.openai_text(w), strict=False)
        ctx = sd_text.double().text_hidden(sd_tokens).float()
    vimg = torch.from_numpy(imgs[:1]).permute(0, 3, 1, 2).float() / 127.5 - 1
    z = torch.randn(1, 4, 16, 16)

    def sd_run(dt):
        u, v = unet.to(dt), vae.to(dt)
        with torch.no_grad():
            mom = v.encode(vimg.to(dt))
            mean, logvar = mom.chunk(2, 1)
            return dict(out=u(x.to(dt), t.to(dt), ctx.to(dt)), mean=mean, logvar=logvar,
                        decoded=v.decode(z.to(dt)))
    s64 = sd_run(torch.float64)
    s32 = sd_run(torch.float32)
    sgap = {k: float((s64[k] - s32[k].double()).abs().max()) for k in s64}
    out = [('tokens', sd_tokens.float().numpy()), ('sd_context', ctx.numpy()),
           ('x', x.numpy()), ('timesteps', t.numpy()), ('context', ctx.numpy()),
           ('image', vimg.numpy()), ('z', z.numpy())]
    out += [(k, v.float().numpy()) for k, v in s64.items()]
    write_safetensors(os.path.join(args.out, 'shapes_ref_sd.safetensors'), out,
                      {'generator': 'tools/train/make_reference.py',
                       **{'f32_gap_' + k: '%.3g' % v for k, v in sgap.items()}})
    print('sd f32 gaps', sgap)


if __name__ == '__main__':
    main()
