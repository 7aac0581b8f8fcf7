#!/usr/bin/python3
"""Convert the published FFDNet MatConvNet models to Dreamlayer safetensors.

    tools/convert_ffdnet.py [--src DIR] [--out DIR]

reads  DIR/FFDNet_color.mat, DIR/FFDNet_gray.mat   (default
       ../shared/data/weights/ffdnet, i.e. GitHub cszn/FFDNet models/)
writes OUT/ffdnet-color.safetensors, OUT/ffdnet-gray.safetensors
       (default models/ next to this tools/ folder)

The .mat files are MATLAB v7.3 (HDF5) MatConvNet "simplenn" networks:

    SubP(scale 0.5)  2x2 space-to-depth, MatConvNet sub-image order
    concat           appends the noise-level map sigma/255 as the last channel
    conv, relu, conv, relu, ..., conv          (pad 1, stride 1, 3x3)
    SubP(scale 2)    depth-to-space; its output is the clean image itself
                     (Demo_AWGN_Color.m: `output = res(end).x;` - no residual)

Output layout (the C engine relies on it exactly):

    layers.{i}.weight  F32 (out, in, 3, 3)  PyTorch OIHW, row-major
    layers.{i}.bias    F32 (out,)
    i = 0..L-1; ReLU after every layer but the last; zero padding 1, stride 1.

Channel order is converted to PyTorch's pixel_unshuffle(2)/pixel_shuffle(2):
channel = c*4 + dy*2 + dx, (dy, dx) the offset inside each 2x2 block.
MatConvNet's vl_nnSubP uses channel = c*4 + dx*2 + dy (row offset fastest).
Layer 0 has 4*C + 1 input channels: the 4*C sub-image channels, then the
noise map.  The last layer has 4*C outputs in the same order.

Kernel storage: MATLAB keeps a conv filter as H x W x in x out in column-major
order; HDF5 (and h5py) therefore shows it with the axes reversed, as
(out, in, W, H).  OIHW = that array transposed on its last two axes.
MatConvNet's vl_nnconv is a cross-correlation, like torch's conv2d.

BatchNorm ('bnorm' layers: gain, bias, moments = [mean, std]) would be folded
into the preceding convolution; the published FFDNet models have none (they
were folded before release), but the code handles it.
"""

import argparse
import hashlib
import json
import os
import struct
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SRC = os.path.join(REPO, '..', 'shared', 'data', 'weights', 'ffdnet')
DEFAULT_OUT = os.path.join(REPO, 'models')

PAPER = ('Kai Zhang, Wangmeng Zuo, Lei Zhang, "FFDNet: Toward a Fast and '
         'Flexible Solution for CNN based Image Denoising", IEEE Transactions '
         'on Image Processing 27(9), 2018')
LICENSE = ('no licence file in cszn/FFDNet; the same author publishes these '
           'weights under MIT in cszn/KAIR')


# --------------------------------------------------------------------------
# MATLAB v7.3 helpers

def mat_str(ds):
    """A MATLAB char array (uint16 code units) as a Python string."""
    return ''.join(chr(c) for c in np.asarray(ds).flatten())


def mat_cell(f, ds):
    """A MATLAB cell array of numeric arrays -> list of numpy arrays."""
    if ds.attrs.get('MATLAB_empty', 0):
        return []
    return [np.asarray(f[ref]) for ref in np.asarray(ds).flatten(order='F')]


def read_simplenn(path):
    """Return the list of layers of net.layers as dicts."""
    layers = []
    with h5py.File(path, 'r') as f:
        cell = f['net/layers']
        for ref in np.asarray(cell).flatten(order='F'):
            g = f[ref]
            layer = {'type': mat_str(g['type']), 'name': mat_str(g['name'])}
            for key in g.keys():
                if key in ('type', 'name'):
                    continue
                if key == 'weights':
                    layer['weights'] = mat_cell(f, g[key])
                elif g[key].dtype.kind in 'fiub':
                    layer[key] = np.asarray(g[key]).flatten()
            layers.append(layer)
    return layers


def conv_oihw(w_h5):
    """h5py view (out, in, W, H) of a MATLAB H x W x in x out filter -> OIHW."""
    if w_h5.ndim == 2:          # 1x1 conv collapses trailing singleton dims
        w_h5 = w_h5[:, :, None, None]
    return np.ascontiguousarray(np.transpose(w_h5, (0, 1, 3, 2)))


def matconvnet_to_torch_perm(channels):
    """perm[t] = MatConvNet channel holding torch pixel_unshuffle channel t."""
    perm = []
    for c in range(channels):
        for dy in range(2):
            for dx in range(2):
                perm.append(c * 4 + dx * 2 + dy)
    return np.array(perm)


# --------------------------------------------------------------------------

def convert_layers(layers):
    """simplenn layers -> [(weight OIHW float64, bias float64)], image channels."""
    types = [l['type'] for l in layers]
    if types[0] != 'SubP' or float(layers[0]['scale'][0]) != 0.5:
        raise ValueError('expected SubP(0.5) first, got %r' % types[:2])
    if types[1] != 'concat':
        raise ValueError('expected concat (noise map) second')
    if types[-1] != 'SubP' or float(layers[-1]['scale'][0]) != 2.0:
        raise ValueError('expected SubP(2) last')

    convs = []
    for idx, l in enumerate(layers[2:-1], start=2):
        t = l['type']
        if t == 'conv':
            w, b = l['weights']
            if float(l['pad'][0]) != 1 or float(l['stride'][0]) != 1 \
                    or float(l.get('dilate', [1])[0]) != 1:
                raise ValueError('layer %d: unsupported pad/stride/dilate' % idx)
            w = conv_oihw(w).astype(np.float64)
            if w.shape[2:] != (3, 3):
                raise ValueError('layer %d: kernel %r' % (idx, w.shape))
            b = b.astype(np.float64).flatten()
            convs.append({'w': w, 'b': b, 'relu': False})
        elif t == 'bnorm':
            gain, beta, moments = l['weights']
            gain = gain.astype(np.float64).flatten()
            beta = beta.astype(np.float64).flatten()
            # MATLAB moments is n x 2 ([mean, std]); h5py shows (2, n).
            m = moments.astype(np.float64)
            if m.shape[0] != 2:
                m = m.T
            mean, std = m[0], m[1]
            prev = convs[-1]
            if prev['relu']:
                raise ValueError('layer %d: bnorm after relu' % idx)
            scale = gain / std
            prev['w'] = prev['w'] * scale[:, None, None, None]
            prev['b'] = (prev['b'] - mean) * scale + beta
        elif t == 'relu':
            if float(l.get('leak', [0])[0]) != 0:
                raise ValueError('layer %d: leaky relu' % idx)
            convs[-1]['relu'] = True
        else:
            raise ValueError('layer %d: unexpected type %r' % (idx, t))

    if not all(c['relu'] for c in convs[:-1]) or convs[-1]['relu']:
        raise ValueError('expected ReLU after every conv but the last')

    n_out = convs[-1]['w'].shape[0]
    if n_out % 4:
        raise ValueError('last conv has %d outputs' % n_out)
    channels = n_out // 4
    if convs[0]['w'].shape[1] != 4 * channels + 1:
        raise ValueError('first conv has %d inputs, expected %d'
                         % (convs[0]['w'].shape[1], 4 * channels + 1))
    for a, b in zip(convs, convs[1:]):
        if a['w'].shape[0] != b['w'].shape[1]:
            raise ValueError('channel mismatch between layers')

    perm = matconvnet_to_torch_perm(channels)
    in_perm = np.concatenate([perm, [4 * channels]])     # noise map stays last
    convs[0]['w'] = convs[0]['w'][:, in_perm]
    convs[-1]['w'] = convs[-1]['w'][perm]
    convs[-1]['b'] = convs[-1]['b'][perm]
    return [(c['w'], c['b']) for c in convs], channels


# --------------------------------------------------------------------------
# safetensors writer (F32, little-endian, header padded to 8 bytes)

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array); written as F32 in that order."""
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(arr.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def convert(src, dst, kind):
    layers = read_simplenn(src)
    convs, channels = convert_layers(layers)
    tensors = []
    for i, (w, b) in enumerate(convs):
        tensors.append(('layers.%d.weight' % i, w))
        tensors.append(('layers.%d.bias' % i, b))
    meta = {
        'architecture': 'ffdnet',
        'image_channels': str(channels),
        'layers': str(len(convs)),
        'features': str(convs[0][0].shape[0]),
        'scale_input': '0..1',
        'noise_map': 'sigma/255 constant, last input channel',
        'output': 'clean image (pixel_shuffle(2) of the last layer), '
                  'not a residual',
        'channel_order': 'torch pixel_unshuffle(2): c*4 + dy*2 + dx',
        'source': 'GitHub cszn/FFDNet models/%s' % os.path.basename(src),
        'source_sha256': sha256_file(src),
        'paper': PAPER,
        'license': LICENSE,
        'converted_by': 'tools/convert_ffdnet.py',
    }
    write_safetensors(dst, tensors, meta)
    print('%s: %s, %d layers, %d features, %d image channels -> %s (sha256 %s)'
          % (kind, os.path.basename(src), len(convs), convs[0][0].shape[0],
             channels, dst, sha256_file(dst)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', default=DEFAULT_SRC,
                    help='folder with FFDNet_color.mat and FFDNet_gray.mat')
    ap.add_argument('--out', default=DEFAULT_OUT, help='output folder')
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for kind in ('color', 'gray'):
        convert(os.path.join(args.src, 'FFDNet_%s.mat' % kind),
                os.path.join(args.out, 'ffdnet-%s.safetensors' % kind), kind)
    return 0


if __name__ == '__main__':
    sys.exit(main())
