#!/usr/bin/python3
"""train_vae.py — the small AutoencoderKL (shapes-sd's first_stage_model).

    /usr/bin/python3 tools/train/train_vae.py --data RUN/data100k --run RUN/vae \
        [--steps 1000] [--batch 16] [--crop 32] [--freeze-encoder] [--threads 1]

bench/sd_torch.py's Encoder/Decoder (LDM key names) at ch 32,
ch_mult (1, 2, 2), one res block per level: 64x64x3 -> 16x16x4 latent.
Loss: L1 + MSE on pixels in [-1, 1] plus a small KL term (the LDM
KL-regularised autoencoder without its GAN and LPIPS, which flat
synthetic shapes do not need).  Resumable (RUN/vae/ckpt.pt), fixed seeds.
"""

import argparse
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import load_ckpt, lr_at, save_ckpt
import sd_torch

DDCONFIG = dict(ch=32, ch_mult=(1, 2, 2), num_res_blocks=1, z_channels=4)
KL_WEIGHT = 1e-6


def to_pm1(u8):
    return u8.permute(0, 3, 1, 2).float() / 127.5 - 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--run', required=True)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--crop', type=int, default=32)
    ap.add_argument('--freeze-encoder', action='store_true',
                    help='train only the decoder (and post_quant_conv), so that latents '
                         'already encoded for the UNet stay valid')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--every', type=int, default=250)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    imgs = np.load(args.data + '.images.npy', mmap_mode='r')
    torch.manual_seed(0)
    vae = sd_torch.VAE(embed_dim=4, **DDCONFIG)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.0)
    step, rng = 0, random.Random(2)
    ck = load_ckpt(os.path.join(args.run, 'ckpt.pt'))
    if ck:
        vae.load_state_dict(ck['model'])
        step = ck['step']
        if 'opt' in ck:
            opt.load_state_dict(ck['opt'])
            rng.setstate(ck['rng'])
            torch.set_rng_state(ck['torch_rng'])
        else:                       # from_models.py: the weights only
            rng.seed(step)
        print('resumed at step', step, flush=True)
    if args.freeze_encoder:
        for p in list(vae.encoder.parameters()) + list(vae.quant_conv.parameters()):
            p.requires_grad_(False)
        print('encoder frozen', flush=True)
    t0 = time.time()
    while step < args.steps:
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args.steps, args.lr)
        idx = sorted(rng.sample(range(len(imgs)), args.batch))
        x = to_pm1(torch.from_numpy(np.ascontiguousarray(imgs[idx])))
        if args.crop < x.shape[-1]:       # fully convolutional: train on crops
            oy, ox = (rng.randrange(0, x.shape[-1] - args.crop + 1, 4) for _ in range(2))
            x = x[:, :, oy:oy + args.crop, ox:ox + args.crop]
        with torch.set_grad_enabled(not args.freeze_encoder):
            mom = vae.encode(x)
        mean, logvar = mom.chunk(2, 1)
        logvar = logvar.clamp(-30, 20)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        y = vae.decode(z)
        rec = (y - x).abs().mean() + F.mse_loss(y, x)
        kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum((1, 2, 3)).mean()
        loss = rec + KL_WEIGHT * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            psnr = 10 * torch.log10(4 / F.mse_loss(y, x)).item()
            print('step %d loss %.4f rec %.4f kl %.1f psnr %.2f zstd %.3f %.2fs/step' %
                  (step, loss.item(), rec.item(), kl.item(), psnr, mean.std().item(),
                   (time.time() - t0) / 25), flush=True)
            t0 = time.time()
        if step % args.every == 0 or step == args.steps:
            save_ckpt(os.path.join(args.run, 'ckpt.pt'), model=vae.state_dict(),
                      opt=opt.state_dict(), step=step, rng=rng.getstate(),
                      torch_rng=torch.get_rng_state(), ddconfig=DDCONFIG)
    print('done', flush=True)


if __name__ == '__main__':
    main()
