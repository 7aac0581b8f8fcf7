#!/usr/bin/python3
"""Convert an ESRGAN / Real-ESRGAN RRDBNet PyTorch checkpoint to safetensors.

    tools/convert_rrdb_pth.py RealESRGAN_x4plus.pth [OUT.safetensors] [--fp16]

Users download the .pth themselves (e.g. RealESRGAN_x4plus.pth,
RealESRGAN_x4plus_anime_6B.pth, RealESRGAN_x2plus.pth, ESRGAN's
RRDB_ESRGAN_x4.pth); this makes a file `dream upscale --model FILE` and the
GIMP plug-in load.  The engine never reads a pickle: only this script does
(with torch.load(weights_only=...) where torch supports it).

Accepted layouts, all written with basicsr's key names (the names of the
Real-ESRGAN checkpoints):

    basicsr / Real-ESRGAN   conv_first, body.{i}.rdb{1,2,3}.conv{1..5},
                            conv_body, conv_up1, conv_up2, conv_hr, conv_last
                            (optionally inside "params_ema" or "params")
    ESRGAN (new arch)       conv_first, RRDB_trunk.{i}.RDB{1,2,3}.conv{1..5},
                            trunk_conv, upconv1, upconv2, HRconv, conv_last
    ESRGAN (old arch)       model.0, model.1.sub.{i}.RDB{1,2,3}.conv{1..5}.0,
                            model.1.sub.{N}, model.3, model.6, model.8, model.10

conv_first with 3, 12 or 48 input channels gives a x4, x2 or x1 model (the
input is pixel_unshuffled by 1, 2 or 4 first).  Shapes are checked against
the architecture (num_block, num_feat, num_grow_ch read from the file).

Output: F32 (default) or F16 tensors (out, in, 3, 3) / (out,); metadata
architecture=rrdb, scale, num_block, num_feat, num_grow_ch, source name and
sha256.
"""

import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import write_safetensors, sha256_file  # noqa: E402

PAPER = ('Xintao Wang et al., "ESRGAN: Enhanced Super-Resolution Generative '
         'Adversarial Networks", ECCV Workshops 2018; Real-ESRGAN, ICCV '
         'Workshops 2021')

_NEW = [(r'^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.', r'body.\1.rdb\2.conv\3.'),
        (r'^trunk_conv\.', 'conv_body.'), (r'^upconv1\.', 'conv_up1.'),
        (r'^upconv2\.', 'conv_up2.'), (r'^HRconv\.', 'conv_hr.')]


def _old_arch(key, n_blocks):
    m = re.match(r'^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$', key)
    if m:
        return 'body.%s.rdb%s.conv%s.%s' % m.groups()
    m = re.match(r'^model\.1\.sub\.(\d+)\.(weight|bias)$', key)
    if m and int(m.group(1)) == n_blocks:
        return 'conv_body.' + m.group(2)
    m = re.match(r'^model\.(\d+)\.(weight|bias)$', key)
    names = {'0': 'conv_first', '3': 'conv_up1', '6': 'conv_up2',
             '8': 'conv_hr', '10': 'conv_last'}
    if m and m.group(1) in names:
        return names[m.group(1)] + '.' + m.group(2)
    return None


def normalise_keys(state):
    """Any accepted layout -> basicsr names.  Raises on leftovers."""
    for wrapper in ('params_ema', 'params', 'state_dict', 'model'):
        if wrapper in state and isinstance(state[wrapper], dict):
            state = state[wrapper]
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
    out = {}
    if any(k.startswith('model.1.sub.') for k in state):
        n_blocks = len({k.split('.')[3] for k in state
                        if re.match(r'^model\.1\.sub\.\d+\.RDB', k)})
        for k, v in state.items():
            nk = _old_arch(k, n_blocks)
            if nk is None:
                raise ValueError('unexpected key %r (old ESRGAN layout)' % k)
            out[nk] = v
        return out
    for k, v in state.items():
        nk = k
        for pat, rep in _NEW:
            nk = re.sub(pat, rep, nk)
        out[nk] = v
    return out


def check_shapes(t):
    if 'conv_first.weight' not in t:
        raise ValueError('no conv_first.weight: not an RRDBNet checkpoint')
    nf, in_ch = t['conv_first.weight'].shape[:2]
    if in_ch not in (3, 12, 48):
        raise ValueError('conv_first takes %d channels (3, 12 or 48 expected)' % in_ch)
    nb = 0
    while 'body.%d.rdb1.conv1.weight' % nb in t:
        nb += 1
    if nb == 0:
        raise ValueError('no body.0.rdb1.conv1.weight')
    gc = t['body.0.rdb1.conv1.weight'].shape[0]
    expect = {'conv_first': (nf, in_ch)}
    for b in range(nb):
        for r in (1, 2, 3):
            for c in range(5):
                expect['body.%d.rdb%d.conv%d' % (b, r, c + 1)] = (
                    gc if c < 4 else nf, nf + c * gc)
    for n in ('conv_body', 'conv_up1', 'conv_up2', 'conv_hr'):
        expect[n] = (nf, nf)
    expect['conv_last'] = (3, nf)
    names = set()
    for n, (o, i) in expect.items():
        for suffix, shape in (('.weight', (o, i, 3, 3)), ('.bias', (o,))):
            key = n + suffix
            names.add(key)
            if key not in t:
                raise ValueError('missing %s' % key)
            if tuple(t[key].shape) != shape:
                raise ValueError('%s has shape %s, expected %s'
                                 % (key, tuple(t[key].shape), shape))
    extra = sorted(set(t) - names)
    if extra:
        raise ValueError('unexpected tensors: %s' % extra[:5])
    return nb, nf, gc, in_ch


def order(nb):
    keys = ['conv_first']
    keys += ['body.%d.rdb%d.conv%d' % (b, r, c) for b in range(nb)
             for r in (1, 2, 3) for c in range(1, 6)]
    keys += ['conv_body', 'conv_up1', 'conv_up2', 'conv_hr', 'conv_last']
    return [k + s for k in keys for s in ('.weight', '.bias')]


def convert(src, dst, fp16=False):
    import torch
    try:
        state = torch.load(src, map_location='cpu', weights_only=True)
    except TypeError:            # torch < 1.13 has no weights_only
        state = torch.load(src, map_location='cpu')
    t = {k: v.detach().float().numpy() if hasattr(v, 'detach') else np.asarray(v)
         for k, v in normalise_keys(state).items()}
    nb, nf, gc, in_ch = check_shapes(t)
    dtype = np.float16 if fp16 else np.float32
    tensors = [(k, t[k].astype(dtype)) for k in order(nb)]
    if any(not np.all(np.isfinite(a)) for _, a in tensors):
        raise ValueError('non-finite weights (or out of F16 range)')
    scale = {3: 4, 12: 2, 48: 1}[in_ch]
    meta = {
        'architecture': 'rrdb',
        'network': 'RRDBNet (ESRGAN / Real-ESRGAN)',
        'scale': str(scale),
        'num_block': str(nb), 'num_feat': str(nf), 'num_grow_ch': str(gc),
        'image_channels': '3',
        'scale_input': '0..1',
        'source': os.path.basename(src),
        'source_sha256': sha256_file(src),
        'paper': PAPER,
        'license': 'as the source checkpoint (Real-ESRGAN: BSD-3-Clause)',
        'converted_by': 'tools/convert_rrdb_pth.py',
    }
    write_safetensors(dst, tensors, meta)
    print('%s: x%d, %d blocks, %d features, growth %d -> %s (%d bytes)'
          % (os.path.basename(src), scale, nb, nf, gc, dst, os.path.getsize(dst)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('src', help='the .pth checkpoint')
    ap.add_argument('dst', nargs='?', help='output (default: SRC with .safetensors)')
    ap.add_argument('--fp16', action='store_true',
                    help='store F16 (half the size; the engine computes in F32)')
    args = ap.parse_args(argv)
    dst = args.dst or os.path.splitext(args.src)[0] + '.safetensors'
    try:
        convert(args.src, dst, args.fp16)
    except (ValueError, KeyError) as e:
        print('%s: %s' % (args.src, e), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
