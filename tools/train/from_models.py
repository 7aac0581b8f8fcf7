#!/usr/bin/python3
"""from_models.py — starting checkpoints made from the bundled models.

    /usr/bin/python3 tools/train/from_models.py --models models --run RUN

The training checkpoints of a run are not kept in the repository; the
exported F16 files are.  This writes, from models/shapes-clip and
models/shapes-sd, what the trainers start from when a run should go on
from the shipped weights instead of from nothing:

  RUN/clip-bundled.pt   train_clip.py format (cfg, model, step): the
                        CLIP's vision tower with the SD file's text tower
                        (what train_unet.py --clip conditions on)
  RUN/vae/ckpt.pt       train_vae.py format without optimiser state (a
                        fresh optimiser starts; --freeze-encoder keeps the
                        latent space of the shipped UNet)
  RUN/unet-bundled.pt   the shipped UNet weights and scale factor, for
                        train_unet.py --init

Weights are the F16 values widened to F32, so latents encoded from
RUN/vae/ckpt.pt match what the exported encoder gives.
"""

import argparse
import os

import yaml

from common import save_ckpt
import check
import export
import sd_torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', required=True)
    ap.add_argument('--run', required=True)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.run, 'vae'), exist_ok=True)
    clip = check.load_clip_file(os.path.join(args.models, 'shapes-clip.safetensors'))
    w, meta = sd_torch.st_read(os.path.join(args.models, 'shapes-sd.safetensors'))
    w = {k: v.float() for k, v in w.items()}
    clip.load_state_dict(export.openai_text(w), strict=False)
    cfg = yaml.safe_load(open(os.path.join(args.models, 'shapes-sd.yaml')))['model']['params']
    steps = dict(zip(*[iter(meta.get('steps', 'clip 0 vae 0 unet 0').split())] * 2))
    save_ckpt(os.path.join(args.run, 'clip-bundled.pt'), cfg=clip.cfg,
              model=clip.state_dict(), step=int(steps['clip']))
    dd = cfg['first_stage_config']['params']['ddconfig']
    ddconfig = dict(ch=dd['ch'], ch_mult=tuple(dd['ch_mult']),
                    num_res_blocks=dd['num_res_blocks'], z_channels=dd['z_channels'])
    pre = 'first_stage_model.'
    save_ckpt(os.path.join(args.run, 'vae', 'ckpt.pt'), ddconfig=ddconfig,
              model={k[len(pre):]: v for k, v in w.items() if k.startswith(pre)},
              step=int(steps['vae']))
    pre = 'model.diffusion_model.'
    save_ckpt(os.path.join(args.run, 'unet-bundled.pt'), scale_factor=cfg['scale_factor'],
              model={k[len(pre):]: v for k, v in w.items() if k.startswith(pre)},
              step=int(steps['unet']))
    print('clip step %s, vae step %s, unet step %s -> %s' %
          (steps['clip'], steps['vae'], steps['unet'], args.run))


if __name__ == '__main__':
    main()
