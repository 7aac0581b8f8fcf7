#!/usr/bin/python3
"""Write tests/data/upscale_ref.safetensors: super-resolution test vectors.

    tools/make_upscale_reference.py [--models DIR] [--out FILE]

Made by the PyTorch references in tools/sr_torch.py, in float64 (weights
and arithmetic), on the converted models in models/ and on synthetic
RRDBNet weights (sr_torch.synthetic_rrdb, regenerated bit for bit by the C
test, so no weights are stored).  Inputs are crops of kodim23 (HWC, 0..1,
odd sizes); outputs are the raw network output, NOT clamped.

Tensors (F32), for each case NAME:
  NAME_input   (h, w, 3)
  NAME_output  (h*s, w*s, 3)   float64 torch output, stored as f32
Cases: srvgg_general, srvgg_anime (16x12 -> x4), rdn_x2 (15x11), rdn_x3
(13x9), rdn_x4 (11x9), rdn_x8 (9x7), rrdb_x4 (23 blocks, 64 features,
growth 32, seed 1234, rdb_gain 1; 12x10 -> 48x40), rrdb_x2 (2 blocks,
12-channel input, seed 99; 14x10 -> 28x20).
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffdnet_torch import load_image, write_safetensors  # noqa: E402
from sr_torch import (load_sr, upscale, synthetic_rrdb,  # noqa: E402
                      net_from_state)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KODIM23 = os.path.join(REPO, '..', 'shared', 'data', 'testsets', 'kodak24',
                       'kodim23.png')
RRDB_X4 = dict(seed=1234, num_block=23, rdb_gain=1.0)
RRDB_X2 = dict(seed=99, num_block=2, rdb_gain=1.0, in_ch=12)


def crop(h, w, y0, x0):
    return np.ascontiguousarray(load_image(KODIM23, 3)[y0:y0 + h, x0:x0 + w])


def run(net32, net64, x, name):
    y64 = upscale(net64, x.astype(np.float64), clamp=False)
    y32 = upscale(net32, x, clamp=False)
    print('%-14s %s -> %s  |f32 - f64| max %.3g  range %.3f..%.3f'
          % (name, x.shape, y64.shape, np.abs(y32 - y64).max(), y64.min(),
             y64.max()))
    return [(name + '_input', x), (name + '_output', y64.astype(np.float32))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models', default=os.path.join(REPO, 'models'))
    ap.add_argument('--out', default=os.path.join(REPO, 'tests', 'data',
                                                  'upscale_ref.safetensors'))
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    out = []
    for name, file, (h, w, y0, x0) in [
            ('srvgg_general', 'realesr-general-x4v3', (16, 12, 180, 200)),
            ('srvgg_anime', 'realesr-animevideov3-x4', (16, 12, 300, 220)),
            ('rdn_x2', 'rdn-slim-x2', (15, 11, 220, 250)),
            ('rdn_x3', 'rdn-slim-x3', (13, 9, 100, 300)),
            ('rdn_x4', 'rdn-slim-x4', (11, 9, 400, 100)),
            ('rdn_x8', 'rdn-slim-x8', (9, 7, 250, 230))]:
        path = os.path.join(args.models, file + '.safetensors')
        out += run(load_sr(path, torch.float32), load_sr(path, torch.float64),
                   crop(h, w, y0, x0), name)
    for name, cfg, (h, w, y0, x0) in [('rrdb_x4', RRDB_X4, (12, 10, 200, 200)),
                                      ('rrdb_x2', RRDB_X2, (14, 10, 330, 150))]:
        st = synthetic_rrdb(**cfg)
        out += run(net_from_state('rrdb', st, dtype=torch.float32),
                   net_from_state('rrdb', st, dtype=torch.float64),
                   crop(h, w, y0, x0), name)
    meta = {
        'made_by': 'tools/make_upscale_reference.py',
        'layout': 'HWC float32, 0..1; outputs are float64 torch results, '
                  'not clamped',
        'rrdb_x4': 'synthetic_rrdb(seed=1234, num_block=23, nf=64, gc=32, '
                   'rdb_gain=1)',
        'rrdb_x2': 'synthetic_rrdb(seed=99, num_block=2, nf=64, gc=32, '
                   'rdb_gain=1, in_ch=12)',
    }
    write_safetensors(args.out, out, meta)
    print('wrote %s (%d bytes)' % (args.out, os.path.getsize(args.out)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
