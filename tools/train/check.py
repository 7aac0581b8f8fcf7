#!/usr/bin/python3
"""check.py — does a picture show what its caption asked for?

A programmatic checker for shapes.py scenes: it finds the background kind,
and for each requested object a region of the requested colour, its shape
and its place, without knowing how the picture was made.

    # the checker on the generator's own pictures (its own accuracy)
    /usr/bin/python3 tools/train/check.py truth HELDOUT.json
    # pictures made from HELDOUT.json's captions: DIR/NNN.png in its order
    /usr/bin/python3 tools/train/check.py images HELDOUT.json DIR
    # PyTorch pipeline (DDIM + CFG) on the exported models, then the check
    /usr/bin/python3 tools/train/check.py torch HELDOUT.json --models models \
        --cfg 7 --steps 25 [--out DIR]
    # the engine: `dream generate` per caption (seed 1000+i), then the check
    /usr/bin/python3 tools/train/check.py engine HELDOUT.json --dream build/cli/dream \
        --models models --cfg 7 --steps 20 --out DIR [--sampler S]
    # CLIP: true caption ranked first among 10 (itself + 9 other held-out)
    /usr/bin/python3 tools/train/check.py clip HELDOUT.json --models models
    # the autoencoder's ceiling: the true pictures encoded and decoded
    /usr/bin/python3 tools/train/check.py vae HELDOUT.json --models models [--out DIR]

How: every pixel gets the nearest of the eight object colours and the
colours of the detected background (per row for skies), so anti-aliased
edges and texture pixels fall to the background; regions of one object
colour (4-connected, >= 10 pixels) are candidates.  The shape is the
template (rendered by shapes.py) with the best IoU against the region's
mask scaled to its bounding box; the place is the region's centroid
(single: left/right x < .4 / > .6 of the width, top/bottom likewise,
centre within .32-.68; pairs: 6 px apart in the named direction; rows:
x order).  The background kind is the nearest centroid of a border
descriptor, fitted on shapes.py's own backgrounds.
"""

import argparse
import json
import os
import random
import sys

import numpy as np
from PIL import Image

import shapes

N = 64
PAL = np.array([shapes.COLOURS[c] for c in shapes.PLAIN], float)
TEX = {'stripes': [(190, 190, 190), (125, 125, 135)],
       'checkerboard': [(170, 170, 170), (95, 95, 100)],
       'dots': [(225, 215, 185), (170, 140, 110)],
       'grass': [(95, 130, 55), (70, 105, 40), (120, 150, 70), (80, 120, 45)]}
SKY = {'sunset sky': ((90, 60, 140), (250, 170, 110)),
       'night sky': ((12, 18, 60), (40, 60, 130))}


# ---- background ------------------------------------------------------------

def _desc(a):
    a = a.astype(float)
    top, bot = a[:5].reshape(-1, 3), a[-5:].reshape(-1, 3)
    side = np.concatenate([a[:, :5].reshape(-1, 3), a[:, -5:].reshape(-1, 3)])
    band = np.concatenate([top, bot, side])
    e = np.abs(np.diff(a[:, :6], axis=0)).mean() + np.abs(np.diff(a[:, -6:], axis=0)).mean()
    return np.concatenate([np.median(top, 0), np.median(bot, 0), np.median(side, 0),
                           np.percentile(band, 20, 0), np.percentile(band, 80, 0), [3 * e]])


_CENTROIDS = None


def _centroids():
    global _CENTROIDS
    if _CENTROIDS is None:
        rng = random.Random(5)
        cents = {}
        for bg in shapes.BACKGROUNDS:
            ds = [_desc(shapes.render({'bg': bg, 'objects': [], 'layout': 'row'}, N,
                                      rng.randrange(1 << 30))) for _ in range(12)]
            cents[bg] = np.mean(ds, 0)
        _CENTROIDS = cents
    return _CENTROIDS


def background(a):
    d = _desc(a)
    c = _centroids()
    return min(c, key=lambda k: np.linalg.norm(c[k] - d))


def bg_colours(bg):
    """(H, k, 3) background colours per row."""
    if bg in shapes.COLOURS:
        return np.tile(np.array(shapes.COLOURS[bg], float), (N, 1, 1))
    if bg in SKY:
        t, b = np.array(SKY[bg][0], float), np.array(SKY[bg][1], float)
        y = np.linspace(0, 1, N)[:, None]
        return (t + (b - t) * y)[:, None, :]
    return np.tile(np.array(TEX[bg], float), (N, 1, 1))


# ---- objects --------------------------------------------------------------

def labels(a, bg):
    """(H, W) int: palette index 0..7 of object pixels, -1 background."""
    a = a.astype(float)
    dp = np.linalg.norm(a[:, :, None, :] - PAL[None, None], axis=-1)        # (H, W, 8)
    bgc = bg_colours(bg)
    db = np.linalg.norm(a[:, :, None, :] - bgc[:, None], axis=-1).min(-1)   # (H, W)
    if bg in shapes.COLOURS:
        dp[:, :, shapes.PLAIN.index(bg)] = 1e9
    best = dp.argmin(-1)
    lab = np.where((dp.min(-1) < db) & (dp.min(-1) < 90), best, -1)
    return lab


def components(mask):
    """4-connected regions of a boolean mask: list of (ys, xs)."""
    seen = np.zeros_like(mask)
    out = []
    H, W = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        stack, ys, xs = [(y0, x0)], [], []
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            ys.append(y); xs.append(x)
            for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= yy < H and 0 <= xx < W and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    stack.append((yy, xx))
        out.append((np.array(ys), np.array(xs)))
    return out


_TEMPLATES = None
TS = 20


def _templates():
    global _TEMPLATES
    if _TEMPLATES is None:
        from PIL import ImageDraw
        t = {}
        for s in shapes.SHAPES:
            im = Image.new('L', (200, 200), 0)
            shapes.draw_shape(ImageDraw.Draw(im), s, 100, 100, 90, 255)
            m = np.asarray(im) > 127
            ys, xs = np.nonzero(m)
            crop = m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
            t[s] = _norm_mask(crop)
        _TEMPLATES = t
    return _TEMPLATES


def _norm_mask(crop):
    im = Image.fromarray(crop.astype(np.uint8) * 255).resize((TS, TS), Image.BILINEAR)
    return np.asarray(im) > 127


def shape_of(ys, xs):
    m = np.zeros((ys.max() - ys.min() + 1, xs.max() - xs.min() + 1), bool)
    m[ys - ys.min(), xs - xs.min()] = True
    nm = _norm_mask(m)
    scores = {s: (nm & t).sum() / max(1, (nm | t).sum()) for s, t in _templates().items()}
    return max(scores, key=scores.get), scores


def check(a, scene):
    """-> dict of booleans: bg, and per object colour / shape / place."""
    a = np.asarray(Image.fromarray(a).convert('RGB').resize((N, N), Image.BICUBIC)) \
        if a.shape[:2] != (N, N) else a
    res = {'bg': background(a) == scene['bg'], 'colour': [], 'shape': [], 'place': []}
    lab = labels(a, res['bg'] and scene['bg'] or background(a))
    found = []
    used = set()
    for o in scene['objects']:
        ci = shapes.PLAIN.index(o['colour'])
        comps = [c for c in components(lab == ci) if len(c[0]) >= 10]
        comps = [c for c in comps if (ci, int(c[0][0]), int(c[1][0])) not in used]
        if not comps:
            res['colour'].append(False); res['shape'].append(False)
            found.append(None)
            continue
        res['colour'].append(True)
        # the region that looks most like the requested shape (ties: bigger)
        best = max(comps, key=lambda c: (shape_of(*c)[1][o['shape']], len(c[0])))
        used.add((ci, int(best[0][0]), int(best[1][0])))
        res['shape'].append(shape_of(*best)[0] == o['shape'])
        found.append((best[1].mean(), best[0].mean()))
    lay = scene['layout']
    if any(f is None for f in found):
        res['place'] = [False] * len(found)
    elif lay == 'single':
        x, y = found[0][0] / N, found[0][1] / N
        p = scene['objects'][0]['pos']
        ok = {'left': x < 0.4, 'right': x > 0.6, 'top': y < 0.4, 'bottom': y > 0.6,
              'centre': 0.32 < x < 0.68 and 0.32 < y < 0.68}[p]
        res['place'] = [ok]
    elif lay == 'row':
        xs = [f[0] for f in found]
        ok = xs[0] + 6 < xs[1] and xs[1] + 6 < xs[2]
        res['place'] = [ok] * 3
    else:
        (ax, ay), (bx, by) = found
        ok = {'above': ay + 6 < by, 'below': ay > by + 6,
              'left of': ax + 6 < bx, 'right of': ax > bx + 6}[lay]
        res['place'] = [ok, ok]
    res['all'] = res['bg'] and all(res['colour']) and all(res['shape']) and all(res['place'])
    return res


def summarise(results, title):
    n = len(results)
    objs = sum(len(r['colour']) for r in results)
    line = lambda k: sum(sum(r[k]) for r in results) / objs
    s = ('%s: %d images, all attributes right %.1f%%; background %.1f%%, '
         'object colour %.1f%%, shape %.1f%%, place %.1f%% (of %d objects)' %
         (title, n, 100 * sum(r['all'] for r in results) / n,
          100 * sum(r['bg'] for r in results) / n, 100 * line('colour'),
          100 * line('shape'), 100 * line('place'), objs))
    print(s, flush=True)
    return s


# ---- PyTorch pipeline ---------------------------------------------------

def torch_pipeline(models_dir):
    """(generate(captions, seed, cfg, steps) -> uint8 images, clip) from
    the exported F16 files, run in F32."""
    import torch
    import yaml
    from common import CLIP, EOT, Tokenizer
    import sd_torch
    w, meta = sd_torch.st_read(os.path.join(models_dir, 'shapes-sd.safetensors'))
    cfg = yaml.safe_load(open(os.path.join(models_dir, 'shapes-sd.yaml')))['model']['params']
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
    # the text tower of the SD file (its cond_stage_model), in a CLIP shell
    import export
    clip = load_clip_file(os.path.join(models_dir, 'shapes-clip.safetensors'))
    clip.load_state_dict(export.openai_text(w), strict=False)
    tok = Tokenizer()
    T = cfg['timesteps']
    betas = torch.linspace(cfg['linear_start'] ** 0.5, cfg['linear_end'] ** 0.5, T,
                           dtype=torch.float64) ** 2
    ac = torch.cumprod(1 - betas, 0)
    scale = cfg['scale_factor']

    @torch.no_grad()
    def generate(caps, seed, guidance, steps=25):
        n = len(caps)
        ctx = clip.text_hidden(tok(caps, pad=EOT))
        unc = clip.text_hidden(tok([''] * n, pad=EOT))
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 4, 16, 16, generator=g).double()
        ts = [int(t) for t in np.linspace(T - 1, 0, steps).round()]
        for i, t in enumerate(ts):
            tt = torch.full((n,), t)
            if guidance == 1:
                e = unet(x.float(), tt, ctx).double()
            else:
                e2 = unet(torch.cat([x, x]).float(), torch.cat([tt, tt]),
                          torch.cat([unc, ctx])).double()
                eu, ec = e2.chunk(2)
                e = eu + guidance * (ec - eu)
            a = ac[t]
            ap = ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, dtype=torch.float64)
            x0 = (x - (1 - a).sqrt() * e) / a.sqrt()
            x = ap.sqrt() * x0 + (1 - ap).sqrt() * e
        img = vae.decode((x / scale).float())
        return ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    return generate, clip


def load_clip_file(path):
    import torch
    from common import CLIP
    import sd_torch
    w, meta = sd_torch.st_read(path)
    d = w['token_embedding.weight'].shape[1]
    vw = w['visual.conv1.weight'].shape[0]
    patch = w['visual.conv1.weight'].shape[-1]
    grid = int(round((w['visual.positional_embedding'].shape[0] - 1) ** 0.5))
    layers = lambda p: len({k.split('.')[len(p.split('.')) - 1] for k in w if k.startswith(p)})
    cfg = dict(embed=w['text_projection'].shape[1], image_size=grid * patch, patch=patch,
               vision_width=vw, vision_layers=layers('visual.transformer.resblocks.'),
               vision_heads=int(meta.get('vision_heads', vw // 64)), text_width=d,
               text_layers=layers('transformer.resblocks.'),
               text_heads=int(meta.get('text_heads', d // 64)))
    m = CLIP(cfg)
    w['logit_scale'] = w['logit_scale'].reshape(())
    m.load_state_dict(w)
    return m.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['truth', 'images', 'torch', 'engine', 'clip', 'vae'])
    ap.add_argument('--dream', default='dream')
    ap.add_argument('--sampler')
    ap.add_argument('heldout')
    ap.add_argument('dir', nargs='?')
    ap.add_argument('--models', default=os.path.join(shapes.__file__, '..', '..', '..', 'models'))
    ap.add_argument('--cfg', type=float, default=7.0)
    ap.add_argument('--steps', type=int, default=25)
    ap.add_argument('--out')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('-v', action='store_true')
    args = ap.parse_args()
    items = json.load(open(args.heldout))
    results = []
    if args.mode == 'truth':
        for it in items:
            results.append(check(shapes.render(it['scene'], N, it['seed']), it['scene']))
        summarise(results, 'checker on generator pictures')
        # negative control: each picture against the next item's request
        wrong = [check(shapes.render(it['scene'], N, it['seed']), items[(i + 1) % len(items)]['scene'])
                 for i, it in enumerate(items)]
        summarise(wrong, 'checker on pictures of a DIFFERENT caption (should be low)')
    elif args.mode == 'vae':
        # the ceiling the autoencoder sets: the true pictures encoded
        # (posterior mean) and decoded by shapes-sd's VAE, then checked
        import torch
        import yaml
        import common  # noqa: F401 (sets sys.path for sd_torch)
        import sd_torch
        torch.set_num_threads(args.threads)
        w, _ = sd_torch.st_read(os.path.join(args.models, 'shapes-sd.safetensors'))
        cfg = yaml.safe_load(open(os.path.join(args.models, 'shapes-sd.yaml')))['model']['params']
        dd = cfg['first_stage_config']['params']['ddconfig']
        vae = sd_torch.VAE(embed_dim=4, ch=dd['ch'], ch_mult=dd['ch_mult'],
                           num_res_blocks=dd['num_res_blocks'], z_channels=dd['z_channels'])
        sd_torch.load_into(vae, w, 'first_stage_model.')
        imgs = np.stack([shapes.render(it['scene'], N, it['seed']) for it in items])
        with torch.no_grad():
            x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
            y = vae.decode(vae.encode(x).chunk(2, 1)[0])
        out = ((y.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
        if args.out:
            os.makedirs(args.out, exist_ok=True)
        for i, it in enumerate(items):
            if args.out:
                Image.fromarray(out[i]).save(os.path.join(args.out, '%03d.png' % i))
            results.append(check(out[i], it['scene']))
        summarise(results, 'the true pictures through the VAE (encode, decode)')
    elif args.mode == 'images':
        for i, it in enumerate(items):
            a = np.asarray(Image.open(os.path.join(args.dir, '%03d.png' % i)).convert('RGB'))
            results.append(check(a, it['scene']))
            if args.v:
                print(i, it['caption'], results[-1])
        summarise(results, 'images in %s' % args.dir)
    elif args.mode == 'engine':
        import subprocess
        os.makedirs(args.out, exist_ok=True)
        model = os.path.join(args.models, 'shapes-sd.safetensors')
        for i, it in enumerate(items):
            png = os.path.join(args.out, '%03d.png' % i)
            cmd = [args.dream, 'generate', it['caption'], '-m', model, '--steps', str(args.steps),
                   '--cfg', str(args.cfg), '--seed', str(1000 + i), '-o', png, '-q',
                   '--threads', str(args.threads)]
            if args.sampler:
                cmd += ['--sampler', args.sampler]
            subprocess.run(cmd, check=True)
            results.append(check(np.asarray(Image.open(png).convert('RGB')), it['scene']))
            if args.v:
                print(i, it['caption'], results[-1], flush=True)
        summarise(results, 'dream generate %d steps, guidance %g%s, seeds 1000+i' %
                  (args.steps, args.cfg, ', ' + args.sampler if args.sampler else ''))
    elif args.mode == 'torch':
        import torch
        torch.set_num_threads(args.threads)
        gen, _ = torch_pipeline(args.models)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
        for i, it in enumerate(items):
            a = gen([it['caption']], 1000 + i, args.cfg, args.steps)[0]
            if args.out:
                Image.fromarray(a).save(os.path.join(args.out, '%03d.png' % i))
            results.append(check(a, it['scene']))
            if args.v:
                print(i, it['caption'], results[-1], flush=True)
        summarise(results, 'PyTorch DDIM %d steps, guidance %g, seeds 1000+i' %
                  (args.steps, args.cfg))
    else:
        import torch
        from common import Tokenizer, clip_normalise
        torch.set_num_threads(args.threads)
        clip = load_clip_file(os.path.join(args.models, 'shapes-clip.safetensors'))
        tok = Tokenizer()
        rng = random.Random(9)
        caps = [it['caption'] for it in items]
        with torch.no_grad():
            te = torch.nn.functional.normalize(clip.encode_text(tok(caps)), dim=-1)
            imgs = np.stack([shapes.render(it['scene'], N, it['seed']) for it in items])
            ie = torch.nn.functional.normalize(clip.encode_image(clip_normalise(
                torch.from_numpy(imgs))), dim=-1)
        hits = 0
        for i in range(len(items)):
            others = rng.sample([j for j in range(len(items)) if j != i], 9)
            cand = [i] + others
            s = (ie[i] @ te[cand].t())
            hits += int(s.argmax()) == 0
        print('CLIP: true caption first among 10 for %d/%d held-out pictures (%.1f%%)' %
              (hits, len(items), 100 * hits / len(items)))


if __name__ == '__main__':
    main()
