#!/usr/bin/python3
"""Convert UpscalerJS "esrgan-slim" RDN models (TF.js layers) to safetensors.

    cd /tmp && npm pack @upscalerjs/esrgan-slim && tar xzf upscalerjs-esrgan-slim-*.tgz
    tools/convert_esrgan_slim.py --src /tmp/package [--out DIR]

reads  SRC/models/x{2,3,4,8}/model.json and the weight shards it lists
writes OUT/rdn-slim-x{2,3,4,8}.safetensors (default models/)

model.json ("format": "layers-model") holds the Keras functional graph
(modelTopology) and a weightsManifest: groups of shard files whose
concatenated bytes are the listed weights in order (float32, no
quantization accepted here).  The graph must be exactly the idealo-ISR RDN
that UpscalerJS ships, with C convs per block, D blocks, G growth, G0
features (C=1, D=2, G=4, G0=64 for esrgan-slim), scale s:

    LR -> F_m1 (3x3) -> F_0 (3x3)
    block d = 1..D on x:  F_d_c (3x3 -> G) + ReLU, RDB_Concat_d_c = [.., relu]
                          LFF_d (1x1 -> G0) ; LRL_d = LFF_d + x
    LRLs_Concat(LRL_1..LRL_D) -> GFF_1 (1x1) -> GFF_2 (3x3) ; FDF = GFF_2 + F_m1
    UPN1 (5x5) ReLU -> UPN2 (3x3, 32) ReLU -> UPN3 (3x3, 3*s*s)
    -> UpSampling2D(nearest, s) -> SR (3x3 -> 3)

All convolutions stride 1, "same" padding, bias, linear activation.  Input
and output are 0..255 (UpscalerJS inputRange/outputRange).

Output: every weight under its own name ("F_m1/kernel", "F_m1/bias", ...),
F32, kernels kept in the TF layout (kh, kw, in, out).  Metadata:
architecture=rdn, scale, C, D, G, G0, range, provenance, licence.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import write_safetensors, sha256_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(REPO, 'models')
SCALES = (2, 3, 4, 8)
PAPER = ('Yulun Zhang, Yapeng Tian, Yu Kong, Bineng Zhong, Yun Fu, '
         '"Residual Dense Network for Image Super-Resolution", CVPR 2018; '
         'idealo image-super-resolution (ISR) layout, trained by UpscalerJS')
LICENSE = 'MIT (Copyright (c) 2022 Kevin Scott, @upscalerjs/esrgan-slim)'


def expected_graph(C, D, G, G0, s):
    """[(name, class, inbound names, conv (filters, kernel) or None)]"""
    g = [('LR', 'InputLayer', [], None),
         ('F_m1', 'Conv2D', ['LR'], (G0, 3)),
         ('F_0', 'Conv2D', ['F_m1'], (G0, 3))]
    x = 'F_0'
    lrls = []
    for d in range(1, D + 1):
        cat = x
        for c in range(1, C + 1):
            conv = 'F_%d_%d' % (d, c)
            g.append((conv, 'Conv2D', [cat], (G, 3)))
            g.append((conv + '_Relu', 'Activation', [conv], None))
            new = 'RDB_Concat_%d_%d' % (d, c)
            g.append((new, 'Concatenate', [cat, conv + '_Relu'], None))
            cat = new
        g.append(('LFF_%d' % d, 'Conv2D', [cat], (G0, 1)))
        g.append(('LRL_%d' % d, 'Add', ['LFF_%d' % d, x], None))
        x = 'LRL_%d' % d
        lrls.append(x)
    g.append(('LRLs_Concat', 'Concatenate', lrls, None))
    g.append(('GFF_1', 'Conv2D', ['LRLs_Concat'], (G0, 1)))
    g.append(('GFF_2', 'Conv2D', ['GFF_1'], (G0, 3)))
    g.append(('FDF', 'Add', ['GFF_2', 'F_m1'], None))
    g.append(('UPN1', 'Conv2D', ['FDF'], (64, 5)))
    g.append(('UPN1_Relu', 'Activation', ['UPN1'], None))
    g.append(('UPN2', 'Conv2D', ['UPN1_Relu'], (32, 3)))
    g.append(('UPN2_Relu', 'Activation', ['UPN2'], None))
    g.append(('UPN3', 'Conv2D', ['UPN2_Relu'], (3 * s * s, 3)))
    g.append(('UPsample', 'UpSampling2D', ['UPN3'], None))
    g.append(('SR', 'Conv2D', ['UPsample'], (3, 3)))
    return g


def check_topology(model, s):
    cfg = model['modelTopology']['model_config']
    if cfg['class_name'] not in ('Functional', 'Model'):
        raise ValueError('not a functional Keras model')
    layers = cfg['config']['layers']
    names = [l['name'] for l in layers]
    D = sum(1 for n in names if n.startswith('LFF_'))
    C = sum(1 for n in names if n.startswith('F_1_') and not n.endswith('_Relu'))
    by = {l['name']: l for l in layers}
    G = by['F_1_1']['config']['filters']
    G0 = by['F_0']['config']['filters']
    exp = expected_graph(C, D, G, G0, s)
    if len(exp) != len(layers):
        raise ValueError('%d layers, expected %d' % (len(layers), len(exp)))
    for (name, cls, inb, conv), l in zip(exp, layers):
        if l['name'] != name or l['class_name'] != cls:
            raise ValueError('layer %s/%s, expected %s/%s'
                             % (l['name'], l['class_name'], name, cls))
        got = [n[0] for n in l['inbound_nodes'][0]] if l['inbound_nodes'] else []
        if got != inb:
            raise ValueError('%s reads %s, expected %s' % (name, got, inb))
        c = l['config']
        if cls == 'Conv2D':
            k = conv[1]
            if (c['filters'] != conv[0] or c['kernel_size'] != [k, k]
                    or c['strides'] != [1, 1] or c['dilation_rate'] != [1, 1]
                    or c.get('groups', 1) != 1 or c['activation'] != 'linear'
                    or not c['use_bias'] or c['data_format'] != 'channels_last'
                    or (k > 1 and c['padding'] != 'same')):
                raise ValueError('%s: unexpected conv config %r' % (name, c))
        elif cls == 'Activation' and c['activation'] != 'relu':
            raise ValueError('%s: activation %s' % (name, c['activation']))
        elif cls == 'Concatenate' and c['axis'] not in (3, -1):
            raise ValueError('%s: concat axis %s' % (name, c['axis']))
        elif cls == 'UpSampling2D' and (c['size'] != [s, s]
                                        or c.get('interpolation', 'nearest') != 'nearest'):
            raise ValueError('%s: %r' % (name, c))
    out = cfg['config']['output_layers']
    if [o[0] for o in out] != ['SR']:
        raise ValueError('output is %r' % out)
    return C, D, G, G0


def read_weights(model, folder):
    weights = {}
    for group in model['weightsManifest']:
        blob = b''.join(open(os.path.join(folder, p), 'rb').read()
                        for p in group['paths'])
        pos = 0
        for w in group['weights']:
            if w['dtype'] != 'float32' or 'quantization' in w:
                raise ValueError('%s: only unquantized float32 is supported' % w['name'])
            n = int(np.prod(w['shape'], dtype=np.int64))
            weights[w['name']] = np.frombuffer(blob, '<f4', n, pos).reshape(
                w['shape']).astype(np.float32)
            pos += 4 * n
        if pos != len(blob):
            raise ValueError('weights use %d bytes, shards hold %d' % (pos, len(blob)))
    return weights


def convert(src, out_dir, s):
    folder = os.path.join(src, 'models', 'x%d' % s)
    mpath = os.path.join(folder, 'model.json')
    model = json.load(open(mpath))
    if model.get('format') != 'layers-model':
        raise ValueError('%s: format %r' % (mpath, model.get('format')))
    C, D, G, G0 = check_topology(model, s)
    w = read_weights(model, folder)
    layers = model['modelTopology']['model_config']['config']['layers']
    convs = [l for l in layers if l['class_name'] == 'Conv2D']
    tensors = []
    for l in convs:
        name = l['name']
        k, b = w.pop(name + '/kernel'), w.pop(name + '/bias')
        f, ks = l['config']['filters'], l['config']['kernel_size'][0]
        if k.shape[:2] != (ks, ks) or k.shape[3] != f or b.shape != (f,):
            raise ValueError('%s: kernel %s bias %s' % (name, k.shape, b.shape))
        tensors.append((name + '/kernel', k))
        tensors.append((name + '/bias', b))
    if w:
        raise ValueError('unused weights: %s' % sorted(w))
    if any(not np.all(np.isfinite(t)) for _, t in tensors):
        raise ValueError('non-finite weights')
    pkg = json.load(open(os.path.join(src, 'package.json')))
    dst = os.path.join(out_dir, 'rdn-slim-x%d.safetensors' % s)
    meta = {
        'architecture': 'rdn',
        'network': 'RDN (idealo ISR layout), UpscalerJS esrgan-slim',
        'scale': str(s), 'C': str(C), 'D': str(D), 'G': str(G), 'G0': str(G0),
        'image_channels': '3',
        'scale_input': '0..255',
        'output': '0..255 (SR conv after nearest UpSampling2D)',
        'kernel_layout': 'TF (kh, kw, in, out)',
        'source': 'npm %s@%s models/x%d/model.json' % (pkg['name'], pkg['version'], s),
        'source_sha256': 'model.json %s, %s' % (sha256_file(mpath), ', '.join(
            '%s %s' % (p, sha256_file(os.path.join(folder, p)))
            for g in model['weightsManifest'] for p in g['paths'])),
        'paper': PAPER,
        'license': LICENSE,
        'converted_by': 'tools/convert_esrgan_slim.py',
    }
    write_safetensors(dst, tensors, meta)
    print('x%d: C=%d D=%d G=%d G0=%d, %d params -> %s (%d bytes, sha256 %s)'
          % (s, C, D, G, G0, sum(t.size for _, t in tensors), dst,
             os.path.getsize(dst), sha256_file(dst)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', required=True,
                    help='the unpacked npm package folder (holds models/)')
    ap.add_argument('--out', default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for s in SCALES:
        convert(args.src, args.out, s)
    return 0


if __name__ == '__main__':
    sys.exit(main())
