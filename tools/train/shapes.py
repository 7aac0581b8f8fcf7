#!/usr/bin/python3
"""shapes.py — procedural captioned images for Dreamlayer's own small models.

A scene is one to three flat-coloured objects (circle, square, triangle,
star, ring, cross) in one of eight colours, at a named place, on a
background (a plain colour, a "sunset sky" or "night sky" gradient, or a
stripes / dots / checkerboard / grass texture), with a caption drawn from
varied templates:

    "a yellow star on a purple background"
    "a small red circle above a blue square, night sky"

    /usr/bin/python3 tools/train/shapes.py sample OUTDIR [--n 16] [--seed S]
    /usr/bin/python3 tools/train/shapes.py dataset OUT.npz --n N [--seed S]
    /usr/bin/python3 tools/train/shapes.py heldout OUT.json [--n 100]

Held-out split: whole COMBINATIONS (object colour x shape x background
kind) are never drawn for training (`is_heldout`); every colour, shape and
background on its own is still seen in training.  `heldout` writes scenes
made only of held-out combinations, for the checker and CLIP ranking.

Scenes are plain dicts (see `random_scene`); `render(scene, size)` draws
one (supersampled 4x, then box-filtered) and returns HxWx3 uint8.
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
COLOURS = {
    'red': (220, 30, 30), 'orange': (255, 140, 0), 'yellow': (250, 220, 30),
    'green': (40, 170, 50), 'blue': (40, 80, 230), 'purple': (140, 50, 190),
    'white': (245, 245, 245), 'black': (15, 15, 15),
}
SHAPES = ['circle', 'square', 'triangle', 'star', 'ring', 'cross']
PLAIN = list(COLOURS)                  # plain backgrounds: any object colour
SKIES = ['sunset sky', 'night sky']
TEXTURES = ['stripes', 'dots', 'checkerboard', 'grass']
BACKGROUNDS = PLAIN + SKIES + TEXTURES
SIZES = {'small': 0.11, None: 0.16, 'big': 0.22}   # radius / image size
POS1 = {'left': (0.25, 0.5), 'right': (0.75, 0.5), 'top': (0.5, 0.25),
        'bottom': (0.5, 0.75), 'centre': (0.5, 0.5)}
RELATIONS = ['above', 'below', 'left of', 'right of']


def is_heldout(colour, shape, bg):
    """About one in eight colour x shape x background triples is held out."""
    h = hashlib.sha256(('%s|%s|%s' % (colour, shape, bg)).encode()).digest()
    return h[0] % 8 == 0


def scene_heldout(scene):
    return any(is_heldout(o['colour'], o['shape'], scene['bg']) for o in scene['objects'])


# ---- scenes ---------------------------------------------------------------

def _obj(rng, bg, taken):
    while True:
        colour = rng.choice(PLAIN)
        shape = rng.choice(SHAPES)
        if colour == bg or (colour, shape) in taken:
            continue
        return {'colour': colour, 'shape': shape,
                'size': rng.choice(['small', None, None, 'big'])}


def random_scene(rng, want_heldout=None):
    """want_heldout: None any; False: no object in a held-out combination
    (training); True: at least one (evaluation)."""
    for _ in range(1000):
        bg = rng.choice(BACKGROUNDS)
        n = rng.choices([1, 2, 3], weights=[4, 4, 2])[0]
        objs, taken = [], set()
        for _ in range(n):
            o = _obj(rng, bg, taken)
            taken.add((o['colour'], o['shape']))
            objs.append(o)
        if n == 1:
            objs[0]['pos'] = rng.choice(list(POS1))
            layout = 'single'
        elif n == 2:
            layout = rng.choice(RELATIONS)
        else:
            layout = 'row'
            for o in objs:          # three in a row: keep them small enough
                o['size'] = rng.choice(['small', None])
        scene = {'bg': bg, 'objects': objs, 'layout': layout}
        if n > 1 and layout in ('above', 'below'):
            for o in objs:
                if o['size'] == 'big':
                    o['size'] = None
        if want_heldout is None:
            return scene
        ho = scene_heldout(scene)
        if want_heldout and ho:
            return scene
        if not want_heldout and not ho:
            return scene
    raise RuntimeError('no scene found')


def place(scene, rng):
    """Centres (x, y) and radii in pixels of a 1.0-sized image, with jitter."""
    objs, lay = scene['objects'], scene['layout']
    j = lambda: rng.uniform(-0.04, 0.04)
    out = []
    if lay == 'single':
        cx, cy = POS1[objs[0]['pos']]
        out.append((cx + j(), cy + j()))
    elif lay in ('above', 'below'):
        a, b = (0.27, 0.73) if lay == 'above' else (0.73, 0.27)
        x = 0.5 + rng.uniform(-0.12, 0.12)
        out += [(x + j(), a + j()), (x + j(), b + j())]
    elif lay in ('left of', 'right of'):
        a, b = (0.27, 0.73) if lay == 'left of' else (0.73, 0.27)
        y = 0.5 + rng.uniform(-0.12, 0.12)
        out += [(a + j(), y + j()), (b + j(), y + j())]
    else:
        y = 0.5 + rng.uniform(-0.1, 0.1)
        out += [(0.18 + j() / 2, y + j() / 2), (0.5 + j() / 2, y + j() / 2),
                (0.82 + j() / 2, y + j() / 2)]
    return [(cx, cy, SIZES[o['size']] * rng.uniform(0.9, 1.1)) for o, (cx, cy) in zip(objs, out)]


# ---- captions -------------------------------------------------------------

def _np(o, article=True, size=True):
    words = ([o['size']] if size and o['size'] else []) + [o['colour'], o['shape']]
    s = ' '.join(words)
    if not article:
        return s
    return ('an ' if s[0] in 'aeiou' else 'a ') + s


def _bg_phrases(bg):
    if bg in COLOURS:
        an = 'an' if bg[0] in 'aeiou' else 'a'
        return ['on %s %s background' % (an, bg), 'on %s' % bg,
                'against %s %s background' % (an, bg), 'on a plain %s background' % bg]
    if bg in SKIES:
        return ['in a %s' % bg, 'under a %s' % bg, 'against a %s' % bg, ', %s' % bg]
    return {'stripes': ['on stripes', 'on a striped background', 'on grey stripes', ', stripes'],
            'dots': ['on dots', 'on a dotted background', 'on polka dots', ', dots'],
            'checkerboard': ['on a checkerboard', 'on a checkered background',
                             'on a grey checkerboard', ', checkerboard'],
            'grass': ['on grass', 'on the grass', 'in the grass', ', grass']}[bg]


def caption(scene, rng):
    objs, lay = scene['objects'], scene['layout']
    if lay == 'single':
        o = objs[0]
        where = {'left': ['on the left', 'at the left'], 'right': ['on the right', 'at the right'],
                 'top': ['at the top', 'near the top'], 'bottom': ['at the bottom', 'near the bottom'],
                 'centre': ['in the centre', 'in the middle', '']}[o['pos']]
        subj = _np(o)
        w = rng.choice(where)
        core = subj + (' ' + w if w else '')
    elif lay == 'row':
        core = '%s, %s and %s' % tuple(_np(o) for o in objs)
        core += rng.choice([' in a row', ' from left to right', ''])
    else:
        rel = {'above': ['above'], 'below': ['below', 'under'],
               'left of': ['to the left of', 'left of'],
               'right of': ['to the right of', 'right of']}[lay]
        core = '%s %s %s' % (_np(objs[0]), rng.choice(rel), _np(objs[1]))
    bgp = rng.choice(_bg_phrases(scene['bg']))
    s = core + (bgp if bgp.startswith(',') else ' ' + bgp)
    if rng.random() < 0.15:
        s = rng.choice(['a picture of ', 'an image of ', 'a drawing of ']) + s
    return s


# ---- rendering ------------------------------------------------------------

SS = 4  # supersampling


def _background(bg, n, rng):
    if bg in COLOURS:
        return Image.new('RGB', (n, n), COLOURS[bg])
    y = np.linspace(0, 1, n)[:, None, None]
    if bg == 'sunset sky':
        top, bot = np.array([90, 60, 140]), np.array([250, 170, 110])
        a = np.broadcast_to(top + (bot - top) * y, (n, n, 3)).copy()
    elif bg == 'night sky':
        top, bot = np.array([12, 18, 60]), np.array([40, 60, 130])
        a = np.broadcast_to(top + (bot - top) * y, (n, n, 3)).copy()
        for _ in range(rng.randint(6, 14)):
            px, py = rng.randrange(n - SS), rng.randrange(n - SS)
            a[py:py + SS, px:px + SS] = (200, 200, 210)
    elif bg == 'stripes':
        p = n // rng.choice([5, 6, 8])
        off = rng.randrange(p)
        yy, xx = np.mgrid[0:n, 0:n]
        m = ((xx + yy + off) // (p // 2)) % 2 == 0
        a = np.where(m[..., None], np.array([190, 190, 190]), np.array([125, 125, 135])).astype(float)
    elif bg == 'checkerboard':
        p = n // rng.choice([4, 6, 8])
        yy, xx = np.mgrid[0:n, 0:n]
        m = ((xx // p) + (yy // p)) % 2 == 0
        a = np.where(m[..., None], np.array([170, 170, 170]), np.array([95, 95, 100])).astype(float)
    elif bg == 'dots':
        a = np.empty((n, n, 3))
        a[:] = (225, 215, 185)
        p = n // rng.choice([6, 8])
        yy, xx = np.mgrid[0:n, 0:n]
        cx = (xx % p) - p / 2
        cy = (yy % p) - p / 2
        m = cx * cx + cy * cy < (p * 0.25) ** 2
        a[m] = (170, 140, 110)
    elif bg == 'grass':
        a = np.empty((n, n, 3))
        a[:] = (95, 130, 55)
        im = Image.fromarray(a.astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _ in range(90):
            x, y0 = rng.randrange(n), rng.randrange(n)
            h = rng.randrange(n // 12, n // 5)
            c = rng.choice([(70, 105, 40), (120, 150, 70), (80, 120, 45)])
            d.line([(x, y0), (x + rng.randint(-SS * 2, SS * 2), y0 - h)], fill=c, width=SS)
        return im
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def shape_polygon(shape, cx, cy, r):
    """Outline points of a shape of radius r centred at (cx, cy); None for round ones."""
    if shape == 'square':
        s = r * 0.85
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == 'triangle':
        return [(cx, cy - r), (cx + r * 0.95, cy + r * 0.75), (cx - r * 0.95, cy + r * 0.75)]
    if shape == 'star':
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else r * 0.42
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a) + r * 0.1))
        return pts
    if shape == 'cross':
        w = r * 0.36
        return [(cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w),
                (cx + r, cy + w), (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r),
                (cx - w, cy + w), (cx - r, cy + w), (cx - r, cy - w), (cx - w, cy - w)]
    return None


def draw_shape(d, shape, cx, cy, r, fill, hole_fill=None):
    if shape == 'circle':
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == 'ring':
        w = r * 0.38
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=fill, width=max(1, int(round(w))))
    else:
        d.polygon(shape_polygon(shape, cx, cy, r), fill=fill)


def render(scene, size=SIZE, seed=0, return_layout=False):
    rng = random.Random(seed)
    n = size * SS
    im = _background(scene['bg'], n, rng)
    d = ImageDraw.Draw(im)
    layout = place(scene, rng)
    for o, (cx, cy, r) in zip(scene['objects'], layout):
        draw_shape(d, o['shape'], cx * n, cy * n, r * n, COLOURS[o['colour']])
    im = im.resize((size, size), Image.BOX)
    a = np.asarray(im, dtype=np.uint8)
    if return_layout:
        return a, layout
    return a


def sample(rng, want_heldout=False, size=SIZE):
    sc = random_scene(rng, want_heldout)
    cap = caption(sc, rng)
    img = render(sc, size, rng.randrange(1 << 30))
    return sc, cap, img


# ---- commands -------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('sample'); a.add_argument('out'); a.add_argument('--n', type=int, default=16)
    a.add_argument('--seed', type=int, default=1); a.add_argument('--size', type=int, default=SIZE)
    a = sub.add_parser('dataset'); a.add_argument('out'); a.add_argument('--n', type=int, required=True)
    a.add_argument('--seed', type=int, default=1234); a.add_argument('--size', type=int, default=SIZE)
    a = sub.add_parser('heldout'); a.add_argument('out'); a.add_argument('--n', type=int, default=100)
    a.add_argument('--seed', type=int, default=777)
    args = ap.parse_args(argv)
    if args.cmd == 'sample':
        os.makedirs(args.out, exist_ok=True)
        rng = random.Random(args.seed)
        for i in range(args.n):
            sc, cap, img = sample(rng, None, args.size)
            Image.fromarray(img).resize((args.size * 4,) * 2, Image.NEAREST).save(
                os.path.join(args.out, '%03d.png' % i))
            print('%03d.png\t%s' % (i, cap))
    elif args.cmd == 'dataset':
        rng = random.Random(args.seed)
        imgs = np.empty((args.n, args.size, args.size, 3), np.uint8)
        caps, scenes = [], []
        for i in range(args.n):
            sc, cap, img = sample(rng, False, args.size)
            imgs[i] = img
            caps.append(cap)
            scenes.append(sc)
            if i % 10000 == 0:
                print(i, cap, flush=True)
        np.save(args.out + '.images.npy', imgs)
        with open(args.out + '.json', 'w') as f:
            json.dump({'captions': caps, 'scenes': scenes}, f)
    elif args.cmd == 'heldout':
        rng = random.Random(args.seed)
        out, seen = [], set()
        while len(out) < args.n:
            sc = random_scene(rng, True)
            cap = caption(sc, rng)
            if cap in seen:
                continue
            seen.add(cap)
            out.append({'caption': cap, 'scene': sc, 'seed': rng.randrange(1 << 30)})
        with open(args.out, 'w') as f:
            json.dump(out, f, indent=0)
        print('%d held-out scenes -> %s' % (len(out), args.out))


if __name__ == '__main__':
    main()
