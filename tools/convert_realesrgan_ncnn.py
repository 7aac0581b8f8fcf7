#!/usr/bin/python3
"""Convert Real-ESRGAN SRVGGNetCompact ncnn models to Dreamlayer safetensors.

    tools/convert_realesrgan_ncnn.py [--src DIR] [--out DIR]

reads  DIR/realesr-general-x4v3.{param,bin}, DIR/realesr-animevideov3-x4.{param,bin}
       (default ../shared/data/weights/realesrgan)
writes OUT/realesr-general-x4v3.safetensors, OUT/realesr-animevideov3-x4.safetensors
       (default models/ next to this tools/ folder)

The ncnn .param file is text: a magic line 7767517, "layers blobs", then one
line per layer: type, name, input count, output count, input blob names,
output blob names, then k=v parameters (Convolution: 0=num_output,
1=kernel, 4=pad, 5=bias_term, 6=weight_data_size; PReLU: 0=num_slope;
PixelShuffle: 0=factor; Interp: 0=resize type (1 nearest), 1/2=height/width
scale; BinaryOp: 0=op (0 add)).  The checked graph is SRVGGNetCompact:

    Input -> Split -> Conv+PReLU -> num_conv x (Conv+PReLU) -> Conv
          -> PixelShuffle(s) ; Split -> Interp(nearest, s) ; Add

The .bin file holds, for each layer in .param order, Convolution: a 4-byte
tag (0x01306B47: fp16 weights follow; 0: fp32), the weights (out, in, kh,
kw) row-major, then num_output fp32 biases; PReLU: num_slope fp32 slopes.
Anything else, or a size that does not match to the byte, is an error.

Output tensors use the key names of the original PyTorch checkpoint
(basicsr SRVGGNetCompact, realesr-general-x4v3.pth):

    body.{2i}.weight    conv (out, in, 3, 3)  F16, the published values
    body.{2i}.bias      (out,)                F32
    body.{2i+1}.weight  PReLU slopes (F,)     F32

i = 0 .. num_conv + 1 (the last conv has no PReLU).  Metadata:
architecture=srvgg, scale, num_conv, features, range 0..1, provenance.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import write_safetensors, sha256_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SRC = os.path.join(REPO, '..', 'shared', 'data', 'weights',
                           'realesrgan')
DEFAULT_OUT = os.path.join(REPO, 'models')

MODELS = {
    'realesr-general-x4v3': {
        'source': 'GitHub upscayl/upscayl resources/models/upscayl-lite-4x.{param,bin} '
                  '(ncnn export of xinntao/Real-ESRGAN realesr-general-x4v3.pth)',
        'use': 'photos (Real-ESRGAN general v3)',
    },
    'realesr-animevideov3-x4': {
        'source': 'GitHub upscayl/upscayl models/realesr-animevideov3-x4.{param,bin} '
                  '(ncnn export of xinntao/Real-ESRGAN realesr-animevideov3.pth)',
        'use': 'anime and video frames (Real-ESRGAN animevideo v3)',
    },
}
PAPER = ('Xintao Wang, Liangbin Xie, Chao Dong, Ying Shan, "Real-ESRGAN: '
         'Training Real-World Blind Super-Resolution with Pure Synthetic '
         'Data", ICCV Workshops 2021')
LICENSE = 'BSD-3-Clause (xinntao/Real-ESRGAN)'
TAG_FP16 = 0x01306B47


def parse_param(path):
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    if lines[0] != ['7767517']:
        raise ValueError('%s: not an ncnn param file (magic %r)' % (path, lines[0]))
    n_layers = int(lines[1][0])
    layers = []
    for tok in lines[2:]:
        typ, name, n_in, n_out = tok[0], tok[1], int(tok[2]), int(tok[3])
        ins = tok[4:4 + n_in]
        outs = tok[4 + n_in:4 + n_in + n_out]
        params = {}
        for kv in tok[4 + n_in + n_out:]:
            k, v = kv.split('=')
            params[int(k)] = v
        layers.append({'type': typ, 'name': name, 'in': ins, 'out': outs,
                       'p': params})
    if len(layers) != n_layers:
        raise ValueError('%s: %d layers listed, header says %d'
                         % (path, len(layers), n_layers))
    return layers


def check_graph(layers):
    """Returns (convs, prelus, scale); raises on anything unexpected."""
    t = [l['type'] for l in layers]
    if t[:2] != ['Input', 'Split'] or t[-3:] != ['PixelShuffle', 'Interp', 'BinaryOp']:
        raise ValueError('not an SRVGGNetCompact graph: %s ... %s' % (t[:3], t[-3:]))
    split = layers[1]
    body = layers[2:-3]
    convs = [l for l in body if l['type'] == 'Convolution']
    prelus = [l for l in body if l['type'] == 'PReLU']
    expect = ['Convolution', 'PReLU'] * (len(convs) - 1) + ['Convolution']
    if [l['type'] for l in body] != expect:
        raise ValueError('body is not conv, prelu, ..., conv')
    prev = None
    for l in body:
        src = l['in'][0]
        if prev is None:
            if src not in split['out']:
                raise ValueError('first conv does not read the input')
        elif src != prev:
            raise ValueError('%s does not read %s' % (l['name'], prev))
        prev = l['out'][0]
    ps, interp, add = layers[-3:]
    scale = int(ps['p'][0])
    if ps['in'][0] != prev:
        raise ValueError('PixelShuffle does not follow the last conv')
    if interp['in'][0] not in split['out'] or interp['in'][0] == body[0]['in'][0]:
        raise ValueError('Interp does not read the other copy of the input')
    if int(interp['p'].get(0, '0')) != 1:
        raise ValueError('Interp is not nearest-neighbour')
    if (abs(float(interp['p'][1]) - scale) > 1e-6
            or abs(float(interp['p'][2]) - scale) > 1e-6):
        raise ValueError('Interp scale differs from the pixel shuffle')
    if int(add['p'].get(0, '0')) != 0 or sorted(add['in']) != sorted(
            [ps['out'][0], interp['out'][0]]):
        raise ValueError('last layer is not shuffle + upsampled input')
    features = int(convs[0]['p'][0])
    for i, c in enumerate(convs):
        p = c['p']
        if int(p.get(1, '0')) != 3 or int(p.get(4, '0')) != 1 \
                or int(p.get(5, '0')) != 1 or int(p.get(2, '1')) != 1 \
                or int(p.get(3, '1')) != 1:
            raise ValueError('%s: expected 3x3, pad 1, stride 1, bias' % c['name'])
    for l in prelus:
        if int(l['p'][0]) != features:
            raise ValueError('%s: %s slopes, expected %d'
                             % (l['name'], l['p'][0], features))
    if int(convs[-1]['p'][0]) != 3 * scale * scale:
        raise ValueError('last conv has %s outputs, expected %d'
                         % (convs[-1]['p'][0], 3 * scale * scale))
    return convs, prelus, scale, features


def read_weights(bin_path, layers):
    """Walks the .bin in layer order; returns a list of tensors per layer."""
    blob = open(bin_path, 'rb').read()
    pos = 0
    out = []
    in_ch = 3
    for l in layers:
        if l['type'] == 'Convolution':
            n_out = int(l['p'][0])
            n_w = int(l['p'][6])
            k = int(l['p'][1])
            if n_w != n_out * in_ch * k * k:
                raise ValueError('%s: weight_data_size %d != %d*%d*%d*%d'
                                 % (l['name'], n_w, n_out, in_ch, k, k))
            (tag,) = np.frombuffer(blob, '<u4', 1, pos)
            pos += 4
            if tag == TAG_FP16:
                w = np.frombuffer(blob, '<f2', n_w, pos).astype(np.float16)
                pos += 2 * n_w
            elif tag == 0:
                w = np.frombuffer(blob, '<f4', n_w, pos).astype(np.float32)
                pos += 4 * n_w
            else:
                raise ValueError('%s: unsupported weight tag 0x%08x' % (l['name'], tag))
            b = np.frombuffer(blob, '<f4', n_out, pos).astype(np.float32)
            pos += 4 * n_out
            out.append((w.reshape(n_out, in_ch, k, k), b))
            in_ch = n_out
        elif l['type'] == 'PReLU':
            n = int(l['p'][0])
            out.append((np.frombuffer(blob, '<f4', n, pos).astype(np.float32),))
            pos += 4 * n
    if pos != len(blob):
        raise ValueError('%s: %d bytes read, file has %d' % (bin_path, pos, len(blob)))
    return out


def convert(src_dir, out_dir, name):
    param = os.path.join(src_dir, name + '.param')
    binf = os.path.join(src_dir, name + '.bin')
    layers = parse_param(param)
    convs, prelus, scale, features = check_graph(layers)
    weights = read_weights(binf, layers)
    tensors = []
    for i, w in enumerate(weights):
        if len(w) == 2:
            tensors.append(('body.%d.weight' % i, w[0]))
            tensors.append(('body.%d.bias' % i, w[1]))
        else:
            tensors.append(('body.%d.weight' % i, w[0]))
    if any(not np.all(np.isfinite(t.astype(np.float32))) for _, t in tensors):
        raise ValueError('%s: non-finite weights' % name)
    dst = os.path.join(out_dir, name + '.safetensors')
    meta = {
        'architecture': 'srvgg',
        'network': 'SRVGGNetCompact',
        'scale': str(scale),
        'num_conv': str(len(convs) - 2),
        'features': str(features),
        'image_channels': '3',
        'scale_input': '0..1',
        'output': 'pixel_shuffle(scale) of the last conv + nearest-upsampled input',
        'use': MODELS[name]['use'],
        'source': MODELS[name]['source'],
        'source_sha256': '%s.param %s, %s.bin %s' % (
            name, sha256_file(param), name, sha256_file(binf)),
        'paper': PAPER,
        'license': LICENSE,
        'converted_by': 'tools/convert_realesrgan_ncnn.py',
    }
    write_safetensors(dst, tensors, meta)
    print('%s: %d body convs, %d features, x%d -> %s (%d bytes, sha256 %s)'
          % (name, len(convs) - 2, features, scale, dst,
             os.path.getsize(dst), sha256_file(dst)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', default=DEFAULT_SRC)
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('names', nargs='*', default=sorted(MODELS))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name in args.names:
        convert(args.src, args.out, name)
    return 0


if __name__ == '__main__':
    sys.exit(main())
