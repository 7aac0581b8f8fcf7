#!/usr/bin/python3
"""train_unet.py — the small SD1-architecture UNet of shapes-sd.

    /usr/bin/python3 tools/train/train_unet.py --data RUN/data100k --clip RUN/clip/ckpt.pt \
        --vae RUN/vae/ckpt.pt --run RUN/unet [--steps N] [--batch 32] [--threads 2] \
        [--latents N_IMAGES]

1. Encodes the first --latents training images with the frozen VAE
   (posterior mean; RUN/unet/latents.pt, reused on restart) and sets the
   scale factor to 1 / std of the latents (as LDM's scale_by_std).
2. Trains bench/sd_torch.py's UNet (openaimodel layout, SD1 style: fixed
   head count, 1x1-conv proj_in/out) on eps-prediction with the LDM
   "linear" schedule (betas = linspace(sqrt 0.00085, sqrt 0.012, 1000)^2),
   conditioned on the frozen small CLIP's text tower: ln_final of the last
   layer, all 77 positions, captions padded with <|endoftext|> as SD1's
   tokenizer does.  A fresh caption per image each step; 10% of captions
   are replaced by "" (classifier-free-guidance dropout).  With
   --train-text the text tower is trained with the UNet from there on
   (export.py then ships that tower in shapes-sd, the EMA of it).
Keeps an exponential moving average of the weights (--ema, the weights
export.py ships).  Resumable (RUN/unet/ckpt.pt), fixed seeds; a larger
--latents on a restart encodes and appends more images.
"""

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import CLIP, EOT, Tokenizer, load_ckpt, lr_at, save_ckpt
import sd_torch
import shapes

UNET = dict(model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1,
            attention_resolutions=(2, 4), num_heads=4, context_dim=64, transformer_depth=1)
LINEAR_START, LINEAR_END, T = 0.00085, 0.012, 1000
P_UNCOND = 0.1


def alphas_cumprod():
    betas = torch.linspace(LINEAR_START ** 0.5, LINEAR_END ** 0.5, T, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def load_clip(path):
    ck = torch.load(path, map_location='cpu')
    m = CLIP(ck['cfg'])
    m.load_state_dict(ck['model'])
    return m.eval()


def load_vae(path):
    ck = torch.load(path, map_location='cpu')
    v = sd_torch.VAE(embed_dim=4, **ck['ddconfig'])
    v.load_state_dict(ck['model'])
    return v.eval()


def encoder_sum(vae):
    """A fingerprint of the encoder the latents came from (export checks it)."""
    return float(sum(p.double().abs().sum() for p in
                     list(vae.encoder.parameters()) + list(vae.quant_conv.parameters())))


def text_sum(clip):
    """A fingerprint of the text tower the UNet is conditioned on."""
    return float(sum(p.double().abs().sum() for n, p in clip.named_parameters()
                     if not n.startswith('visual.') and n not in ('text_projection', 'logit_scale')))


def is_text(name):
    """A parameter of the CLIP text tower (what SD's cond_stage_model holds)."""
    return not name.startswith('visual.') and name not in ('text_projection', 'logit_scale')


def context(clip, tok, caps, grad=False):
    """(n, 77, d) SD1 context: ln_final(last hidden), EOT padding."""
    with torch.set_grad_enabled(grad):
        return clip.text_hidden(tok(caps, pad=EOT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--clip', required=True)
    ap.add_argument('--vae', required=True)
    ap.add_argument('--run', required=True)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--latents', type=int, default=12000)
    ap.add_argument('--encode-only', action='store_true', help='stop after step 1')
    ap.add_argument('--every', type=int, default=100)
    ap.add_argument('--ema', type=float, default=0.999, help='EMA decay of the exported weights')
    ap.add_argument('--init', help='start a new run from these UNet weights and scale factor '
                    '(from_models.py\'s unet-bundled.pt); the latents must come from the '
                    'encoder they were trained on')
    ap.add_argument('--min-snr', type=float, default=0,
                    help='weight the loss by min(SNR, G) / SNR (Hang et al. 2023, "Min-SNR '
                         'weighting"): the nearly clean steps stop dominating; 0: plain MSE')
    ap.add_argument('--train-text', action='store_true',
                    help='train the text tower with the UNet (from --clip\'s; kept on resume)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    scenes = json.load(open(args.data + '.json'))['scenes']
    lat_path = os.path.join(args.run, 'latents.pt')
    L = load_ckpt(lat_path)
    have = 0 if L is None else L['z'].shape[0]
    if have < args.latents:
        # encode images [have, --latents) with the frozen encoder and append
        # (a larger --latents on a restart extends the set; the scale factor
        # of the first encoding is kept, the UNet was trained with it)
        imgs = np.load(args.data + '.images.npy', mmap_mode='r')
        vae = load_vae(args.vae)
        if L is not None and abs(encoder_sum(vae) - L['encoder_sum']) > 1e-6 * L['encoder_sum']:
            raise SystemExit('--vae is not the encoder the stored latents came from')
        zs, t0 = ([] if L is None else [L['z']]), time.time()
        with torch.no_grad():
            for i in range(have, args.latents, 100):
                x = torch.from_numpy(np.ascontiguousarray(imgs[i:min(i + 100, args.latents)]))
                x = x.permute(0, 3, 1, 2).float() / 127.5 - 1
                zs.append(vae.encode(x).chunk(2, 1)[0])
                if i % 2000 == 0:
                    print('encoded', i, '%.1fs' % (time.time() - t0), flush=True)
        z = torch.cat(zs)
        if L is not None:
            scale = L['scale_factor']
        elif args.init:
            scale = torch.load(args.init)['scale_factor']
        else:
            scale = float(1 / z.std())
        save_ckpt(lat_path, z=z, scale_factor=scale, encoder_sum=encoder_sum(vae))
        del vae
    if args.encode_only:
        return
    L = torch.load(lat_path)
    lat, scale = L['z'][:args.latents] * L['scale_factor'], L['scale_factor']
    n_img = lat.shape[0]
    print('latents', tuple(lat.shape), 'scale_factor %.5f' % scale, flush=True)
    clip, tok = load_clip(args.clip), Tokenizer()
    ac = alphas_cumprod()
    torch.manual_seed(0)
    unet = sd_torch.UNet(in_channels=4, out_channels=4, **UNET)
    step, rng = 0, random.Random(3)
    ck = load_ckpt(os.path.join(args.run, 'ckpt.pt'))
    if ck is None and args.init:
        init = torch.load(args.init)
        if abs(init['scale_factor'] - scale) > 1e-6:
            raise SystemExit('--init was trained with scale factor %g, the latents have %g'
                             % (init['scale_factor'], scale))
        unet.load_state_dict(init['model'])
        print('UNet weights from', args.init, 'step', init['step'], flush=True)
    # the text tower: frozen (--clip's), or trained with the UNet (LDM's
    # text-to-image models train theirs jointly): its gradients then come
    # from the denoising loss, so it learns what the pictures need
    train_text = args.train_text or bool(ck and 'text' in ck)
    if ck and 'text' in ck:
        clip.load_state_dict(ck['text'], strict=False)
    text_params = []
    for n, p in clip.named_parameters():
        p.requires_grad_(train_text and is_text(n))
        if train_text and is_text(n):
            text_params.append(p)
    groups = [{'params': list(unet.parameters())}]
    if ck and 'text' in ck:
        groups.append({'params': text_params})
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=0.0)
    if ck:
        unet.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
    if train_text and len(opt.param_groups) == 1:
        opt.add_param_group({'params': text_params})
    if ck:
        step = ck['step']
        rng.setstate(ck['rng'])
        torch.set_rng_state(ck['torch_rng'])
        print('resumed at step', step, flush=True)
    # exponential moving average of the weights, what export.py ships
    # (started from the current weights when a checkpoint has none)
    ema = {k: v.detach().clone() for k, v in
           (ck['ema'] if ck and 'ema' in ck else unet.state_dict()).items()}

    def text_state():
        return {k: v for k, v in clip.state_dict().items() if is_text(k)}
    ema_text = {k: v.detach().clone() for k, v in
                (ck['ema_text'] if ck and 'ema_text' in ck else text_state()).items()}
    t0, avg = time.time(), None
    while step < args.steps:
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args.steps, args.lr, warm=100)
        idx = rng.sample(range(n_img), args.batch)
        caps = ['' if rng.random() < P_UNCOND else shapes.caption(scenes[i], rng) for i in idx]
        ctx = context(clip, tok, caps, grad=train_text)
        x0 = lat[idx]
        t = torch.randint(0, T, (args.batch,))
        eps = torch.randn_like(x0)
        a = ac[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        if args.min_snr > 0:
            snr = a.view(-1) / (1 - a.view(-1))
            w = snr.clamp(max=args.min_snr) / snr
            loss = (w * ((unet(xt, t, ctx) - eps) ** 2).mean((1, 2, 3))).mean()
        else:
            loss = F.mse_loss(unet(xt, t, ctx), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(unet.parameters()) + text_params, 1.0)
        opt.step()
        step += 1
        with torch.no_grad():
            d = min(args.ema, (1 + step) / (10 + step))
            for avg_of, now in ((ema, unet.state_dict()),
                                (ema_text, text_state() if train_text else {})):
                for k, v in now.items():
                    if v.dtype.is_floating_point:
                        avg_of[k].mul_(d).add_(v, alpha=1 - d)
                    else:
                        avg_of[k].copy_(v)
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 25 == 0:
            print('step %d loss %.4f (avg %.4f) %.2fs/step' %
                  (step, loss.item(), avg, (time.time() - t0) / 25), flush=True)
            t0 = time.time()
        if step % args.every == 0 or step == args.steps:
            extra = dict(text=text_state(), ema_text=ema_text) if train_text else {}
            save_ckpt(os.path.join(args.run, 'ckpt.pt'), model=unet.state_dict(), ema=ema,
                      opt=opt.state_dict(), step=step, rng=rng.getstate(),
                      torch_rng=torch.get_rng_state(), unet=UNET, scale_factor=scale,
                      encoder_sum=L['encoder_sum'], text_sum=text_sum(clip), **extra)
    print('done', flush=True)


if __name__ == '__main__':
    main()
