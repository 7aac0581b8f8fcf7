#!/usr/bin/python3
"""train_clip.py — contrastive training of the small CLIP (shapes-clip).

    /usr/bin/python3 tools/train/train_clip.py --data RUN/data100k --run RUN/clip \
        [--steps 1500] [--batch 32] [--threads 1] [--freeze-text]

--data is the prefix written by `shapes.py dataset` (PREFIX.images.npy,
PREFIX.json).  Every step draws a batch of training scenes and a fresh
caption for each from the caption templates (so the text tower sees many
phrasings of one picture).  Resumable: RUN/clip/ckpt.pt is written every
--every steps and picked up on restart; fixed seeds.
"""

import argparse
import json
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import CLIP, Tokenizer, clip_normalise, load_ckpt, lr_at, save_ckpt
import shapes
import os

CFG = dict(embed=64, image_size=64, patch=8, vision_width=64, vision_layers=4, vision_heads=2,
           text_width=64, text_layers=4, text_heads=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--run', required=True)
    ap.add_argument('--steps', type=int, default=1500)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--freeze-text', action='store_true',
                    help='keep the text tower (all but text_projection) as it is, so '
                         'that a UNet already conditioned on it stays valid')
    ap.add_argument('--every', type=int, default=250)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    imgs = np.load(args.data + '.images.npy', mmap_mode='r')
    scenes = json.load(open(args.data + '.json'))['scenes']
    tok = Tokenizer()
    torch.manual_seed(0)
    model = CLIP(CFG)
    emb_params = [model.token_embedding.weight]
    other = [p for n, p in model.named_parameters() if n != 'token_embedding.weight']
    opt = torch.optim.AdamW([{'params': other, 'weight_decay': 0.05},
                             {'params': emb_params, 'weight_decay': 0.0}], lr=args.lr)
    step, rng = 0, random.Random(1)
    ck = load_ckpt(os.path.join(args.run, 'ckpt.pt'))
    if ck:
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step = ck['step']
        rng.setstate(ck['rng'])
        torch.set_rng_state(ck['torch_rng'])
        print('resumed at step', step, flush=True)
    if args.freeze_text:
        for n, p in model.named_parameters():
            if not n.startswith('visual.') and n not in ('text_projection', 'logit_scale'):
                p.requires_grad_(False)
        print('text tower frozen', flush=True)
    cache = {}
    t0, avg = time.time(), None
    while step < args.steps:
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args.steps, args.lr)
        idx = sorted(rng.sample(range(len(scenes)), args.batch))
        x = clip_normalise(torch.from_numpy(np.ascontiguousarray(imgs[idx])))
        caps = [shapes.caption(scenes[i], rng) for i in idx]
        ids = tok(caps)
        ids = ids[:, :int(ids.argmax(-1).max()) + 1]   # causal: same EOT features
        ie = F.normalize(model.encode_image(x), dim=-1)
        te = F.normalize(model.encode_text(ids), dim=-1)
        logits = model.logit_scale.exp().clamp(max=100) * ie @ te.t()
        lab = torch.arange(len(idx))
        loss = 0.5 * (F.cross_entropy(logits, lab) + F.cross_entropy(logits.t(), lab))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6052)
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 25 == 0:
            acc = (logits.argmax(1) == lab).float().mean().item()
            print('step %d loss %.4f (avg %.4f) acc %.3f scale %.1f %.2fs/step' %
                  (step, loss.item(), avg, acc, model.logit_scale.exp().item(),
                   (time.time() - t0) / 25), flush=True)
            t0 = time.time()
        if step % args.every == 0 or step == args.steps:
            save_ckpt(os.path.join(args.run, 'ckpt.pt'), model=model.state_dict(),
                      opt=opt.state_dict(), step=step, rng=rng.getstate(),
                      torch_rng=torch.get_rng_state(), cfg=CFG)
    print('done', flush=True)


if __name__ == '__main__':
    main()
