#!/usr/bin/python3
"""PyTorch reference FFDNet for Dreamlayer's models/ffdnet-*.safetensors.

    tools/ffdnet_torch.py MODEL in.png out.png --sigma 25 [--threads N]

As a module:

    from ffdnet_torch import load_ffdnet, denoise
    net = load_ffdnet('models/ffdnet-color.safetensors')     # float32
    out = denoise(net, img_hwc_0_1, sigma=25)               # numpy (H,W,C)

The network (see tools/convert_ffdnet.py for the weight layout):
pad odd H/W to even by replicating the last row/column, pixel_unshuffle(2),
append a constant noise map sigma/255, L conv3x3 (zero pad 1, ReLU between),
pixel_shuffle(2) -> clean image, crop back.  Input and output range 0..1.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

_DTYPES = {'F32': ('<f4', 4), 'F16': ('<f2', 2), 'F64': ('<f8', 8)}


def read_safetensors(path):
    """Return (dict name -> numpy array, metadata dict).  No external deps."""
    with open(path, 'rb') as f:
        blob = f.read()
    (hlen,) = struct.unpack('<Q', blob[:8])
    header = json.loads(blob[8:8 + hlen].decode('utf-8'))
    meta = header.pop('__metadata__', {}) or {}
    base = 8 + hlen
    tensors = {}
    for name, info in header.items():
        if info['dtype'] not in _DTYPES:
            raise ValueError('%s: unsupported dtype %s' % (name, info['dtype']))
        dt, size = _DTYPES[info['dtype']]
        a, b = info['data_offsets']
        shape = tuple(info['shape'])
        if b - a != size * int(np.prod(shape, dtype=np.int64)):
            raise ValueError('%s: size mismatch' % name)
        arr = np.frombuffer(blob, dtype=dt, count=(b - a) // size,
                            offset=base + a).reshape(shape)
        tensors[name] = arr.astype(np.float32 if dt != '<f8' else np.float64)
    return tensors, meta


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, array); stored as F32."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        arr = np.asarray(arr)
        data = np.ascontiguousarray(arr, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(arr.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * ((8 - len(hjson) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


class FFDNet(nn.Module):
    """FFDNet: image (N,C,H,W) in 0..1 and sigma (8-bit levels) -> clean image."""

    def __init__(self, image_channels, features, layers):
        super().__init__()
        self.image_channels = image_channels
        chans = [4 * image_channels + 1] + [features] * (layers - 1) \
            + [4 * image_channels]
        self.layers = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=True)
            for i in range(layers))

    def forward(self, x, sigma):
        """x: (N,C,H,W); sigma: float or tensor (N,) in 0..255 levels."""
        n, c, h, w = x.shape
        ph, pw = h % 2, w % 2
        if ph or pw:    # replicate the last row / column
            x = F.pad(x, (0, pw, 0, ph), mode='replicate')
        y = F.pixel_unshuffle(x, 2)
        s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device) / 255.0
        s = s.reshape(-1, 1, 1, 1).expand(n, 1, y.shape[2], y.shape[3])
        y = torch.cat([y, s], dim=1)
        last = len(self.layers) - 1
        for i, conv in enumerate(self.layers):
            y = conv(y)
            if i != last:
                y = F.relu(y)
        y = F.pixel_shuffle(y, 2)
        return y[:, :, :h, :w]


def load_ffdnet(path, dtype=torch.float32):
    tensors, meta = read_safetensors(path)
    if meta.get('architecture') != 'ffdnet':
        raise ValueError('%s: not an ffdnet file' % path)
    nl = int(meta['layers'])
    net = FFDNet(int(meta['image_channels']), int(meta['features']), nl)
    state = {}
    for i in range(nl):
        state['layers.%d.weight' % i] = torch.from_numpy(
            tensors['layers.%d.weight' % i].copy())
        state['layers.%d.bias' % i] = torch.from_numpy(
            tensors['layers.%d.bias' % i].copy())
    net.load_state_dict(state)
    net.meta = meta
    return net.to(dtype).eval()


def denoise(net, img, sigma):
    """img: numpy (H,W,C) float, 0..1 (noisy, unclipped is fine); returns
    numpy (H,W,C) in the net's dtype, not clamped."""
    dtype = next(net.parameters()).dtype
    x = torch.from_numpy(np.ascontiguousarray(img)).to(dtype)
    x = x.permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        y = net(x, float(sigma))
    return y[0].permute(1, 2, 0).numpy()


def load_image(path, channels):
    from PIL import Image
    im = Image.open(path)
    im = im.convert('RGB' if channels == 3 else 'L')
    a = np.asarray(im, dtype=np.float32) / 255.0
    return a if a.ndim == 3 else a[:, :, None]


def save_image(path, img):
    from PIL import Image
    a = np.clip(np.round(np.clip(img, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)
    Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a).save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Denoise an image with FFDNet '
                                 '(PyTorch reference).')
    ap.add_argument('model')
    ap.add_argument('input')
    ap.add_argument('output')
    ap.add_argument('--sigma', type=float, default=25.0,
                    help='noise level in 8-bit levels (default 25)')
    ap.add_argument('--threads', type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    net = load_ffdnet(args.model)
    img = load_image(args.input, net.image_channels)
    save_image(args.output, denoise(net, img, args.sigma))
    return 0


if __name__ == '__main__':
    sys.exit(main())
