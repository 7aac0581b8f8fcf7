#!/usr/bin/python3
"""PyTorch references of Dreamlayer's three super-resolution networks.

    tools/sr_torch.py MODEL in.png out.png [--threads N]

runs a converted models/*.safetensors file (architecture srvgg, rdn or rrdb,
read from its __metadata__) on an RGB image and writes the native-scale
result.  As a module:

    from sr_torch import load_sr, upscale
    net = load_sr('models/realesr-general-x4v3.safetensors')   # float32
    out = upscale(net, img_hwc_0_1)        # numpy (H*s, W*s, 3), clamped

The three networks, written from their papers and the published weight
layouts (key names are the checkpoints' own):

SRVGGNetCompact (Real-ESRGAN general v3 / animevideo v3; keys body.N.*):
    body.0 conv3x3 3->F, body.1 PReLU(F), then num_conv x [conv3x3 F->F,
    PReLU(F)], then conv3x3 F->3*s*s; pixel_shuffle(s); plus the input
    upsampled by nearest-neighbour x s.  Input and output 0..1.

RDN, UpscalerJS "esrgan-slim" (idealo ISR layout; keys are the Keras layer
names with TF kernels H x W x in x out):
    F_m1 conv3x3 3->G0; F_0 conv3x3 G0->G0;
    D residual dense blocks: x -> C x [F_d_c conv3x3 -> G, ReLU, concat] ->
    LFF_d conv1x1 -> + x  (LRL_d);
    GFF_1 conv1x1 on concat(LRL_1..LRL_D); GFF_2 conv3x3; + F_m1  (FDF);
    UPN1 conv5x5 ReLU, UPN2 conv3x3 ReLU, UPN3 conv3x3 -> 3*s*s;
    UpSampling2D nearest x s; SR conv3x3 -> 3.  Input and output 0..255.

RRDBNet (ESRGAN / Real-ESRGAN x4plus; basicsr keys):
    conv_first; body.i.rdb{1,2,3}.conv{1..5} residual dense blocks
    (LeakyReLU 0.2 after conv1..4; conv5 * 0.2 + x), each RRDB = three RDBs,
    * 0.2 + x; conv_body; + conv_first output; two x [nearest x2, conv,
    LeakyReLU 0.2]; conv_hr, LeakyReLU; conv_last.  conv_first taking 12 or
    48 channels means the input is pixel_unshuffled by 2 or 4 first (x2 / x1
    models).  Input and output 0..1.

Also here: a float32-exact synthetic weight generator for RRDBNet
(synthetic_rrdb), mirrored by tests/test_upscale.c, so the test data can
hold inputs and outputs only and not 67 MB of weights.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffdnet_torch import read_safetensors  # noqa: E402


# --------------------------------------------------------------------------
# SRVGGNetCompact

class SRVGG(nn.Module):
    def __init__(self, num_conv, features=64, scale=4, channels=3):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(channels, features, 3, padding=1),
                  nn.PReLU(features)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(features, features, 3, padding=1),
                       nn.PReLU(features)]
        layers.append(nn.Conv2d(features, channels * scale * scale, 3,
                                padding=1))
        self.body = nn.ModuleList(layers)

    def forward(self, x):
        y = x
        for layer in self.body:
            y = layer(y)
        y = F.pixel_shuffle(y, self.scale)
        return y + F.interpolate(x, scale_factor=self.scale, mode='nearest')


def build_srvgg(t, meta):
    n = 0
    while 'body.%d.weight' % n in t:
        n += 1
    num_conv = (n - 3) // 2
    features = t['body.0.weight'].shape[0]
    out = t['body.%d.weight' % (n - 1)].shape[0]
    scale = int(round(math.sqrt(out / 3)))
    net = SRVGG(num_conv, features, scale)
    return net, {k: v for k, v in t.items() if k.startswith('body.')}


# --------------------------------------------------------------------------
# RDN (UpscalerJS esrgan-slim)

class RDN(nn.Module):
    """Keras names kept: self.convs['F_m1'] etc. (Conv2d weights OIHW)."""

    def __init__(self, C, D, G, G0, scale, channels=3):
        super().__init__()
        self.C, self.D, self.scale = C, D, scale
        convs = {'F_m1': (channels, G0, 3), 'F_0': (G0, G0, 3)}
        for d in range(1, D + 1):
            for c in range(1, C + 1):
                convs['F_%d_%d' % (d, c)] = (G0 + (c - 1) * G, G, 3)
            convs['LFF_%d' % d] = (G0 + C * G, G0, 1)
        convs['GFF_1'] = (D * G0, G0, 1)
        convs['GFF_2'] = (G0, G0, 3)
        convs['UPN1'] = (G0, 64, 5)
        convs['UPN2'] = (64, 32, 3)
        convs['UPN3'] = (32, channels * scale * scale, 3)
        convs['SR'] = (channels * scale * scale, channels, 3)
        self.convs = nn.ModuleDict({
            k: nn.Conv2d(i, o, k_, padding=k_ // 2)
            for k, (i, o, k_) in convs.items()})

    def forward(self, x):
        """x (N,3,H,W) in 0..255 -> (N,3,sH,sW) in 0..255."""
        cv = self.convs
        f_m1 = cv['F_m1'](x)
        y = cv['F_0'](f_m1)
        lrls = []
        for d in range(1, self.D + 1):
            cat = y
            for c in range(1, self.C + 1):
                cat = torch.cat([cat, F.relu(cv['F_%d_%d' % (d, c)](cat))], 1)
            y = cv['LFF_%d' % d](cat) + y
            lrls.append(y)
        y = cv['GFF_2'](cv['GFF_1'](torch.cat(lrls, 1))) + f_m1
        y = F.relu(cv['UPN1'](y))
        y = F.relu(cv['UPN2'](y))
        y = cv['UPN3'](y)
        y = F.interpolate(y, scale_factor=self.scale, mode='nearest')
        return cv['SR'](y)


def build_rdn(t, meta):
    D = 0
    while 'LFF_%d/kernel' % (D + 1) in t:
        D += 1
    C = 0
    while 'F_1_%d/kernel' % (C + 1) in t:
        C += 1
    G0 = t['F_0/kernel'].shape[3]
    G = t['F_1_1/kernel'].shape[3]
    scale = int(round(math.sqrt(t['UPN3/kernel'].shape[3] / 3)))
    net = RDN(C, D, G, G0, scale)
    state = {}
    for name in net.convs.keys():
        k = t[name + '/kernel']                          # H W in out
        state['convs.%s.weight' % name] = np.ascontiguousarray(
            k.transpose(3, 2, 0, 1))
        state['convs.%s.bias' % name] = t[name + '/bias']
    return net, state


# --------------------------------------------------------------------------
# RRDBNet

class RDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        for i in range(5):
            setattr(self, 'conv%d' % (i + 1),
                    nn.Conv2d(nf + i * gc, gc if i < 4 else nf, 3, padding=1))

    def forward(self, x):
        feats = [x]
        for i in range(1, 5):
            conv = getattr(self, 'conv%d' % i)
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = RDB(nf, gc), RDB(nf, gc), RDB(nf, gc)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, num_block=23, nf=64, gc=32, in_ch=3, out_ch=3):
        super().__init__()
        self.unshuffle = {3: 1, 12: 2, 48: 4}[in_ch]
        self.scale = 4 // self.unshuffle
        self.conv_first = nn.Conv2d(in_ch, nf, 3, padding=1)
        self.body = nn.Sequential(*[RRDB(nf, gc) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, out_ch, 3, padding=1)

    def forward(self, x):
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        lrelu = lambda v: F.leaky_relu(v, 0.2)  # noqa: E731
        feat = lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2,
                                                 mode='nearest')))
        feat = lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2,
                                                 mode='nearest')))
        return self.conv_last(lrelu(self.conv_hr(feat)))


def rrdb_config(t):
    nb = 0
    while 'body.%d.rdb1.conv1.weight' % nb in t:
        nb += 1
    w = t['body.0.rdb1.conv1.weight'] if nb else None
    nf = t['conv_first.weight'].shape[0]
    gc = w.shape[0] if w is not None else 32
    return nb, nf, gc, t['conv_first.weight'].shape[1]


def build_rrdb(t, meta):
    nb, nf, gc, in_ch = rrdb_config(t)
    return RRDBNet(nb, nf, gc, in_ch), dict(t)


# --------------------------------------------------------------------------
# Synthetic RRDBNet weights, bit-identical in C (tests/test_upscale.c).
#
# Tensor k of rrdb_keys() order, element i (row-major):
#   z = splitmix64((seed mod 2^32) * 2^32 + k * 2^20 + i)   (k < 4096, i < 2^20)
#   u = (z >> 40) * 2^-23 - 1              exact float32 in [-1, 1)
#   w = float32(u) * float32(scale_k)      one float32 multiply
# scale_k: conv weights of the residual dense blocks 0.1 * sqrt(6 / fan_in)
# * rdb_gain (kaiming-normal x 0.1 as basicsr initialises them, by its
# standard deviation; rdb_gain makes the blocks stronger for the tiling
# test), other conv weights 1 / sqrt(fan_in) (torch's default bound),
# biases 0.01.

M64 = (1 << 64) - 1


def _splitmix64(x):
    """numpy uint64 array -> splitmix64 output (wrapping arithmetic)."""
    with np.errstate(over='ignore'):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniform(seed, k, n):
    if n > 1 << 20 or k >= 1 << 12:
        raise ValueError('synthetic weights: tensor too large or too many')
    base = (seed & 0xFFFFFFFF) << 32 | k << 20
    z = _splitmix64(np.uint64(base) + np.arange(n, dtype=np.uint64))
    return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -23)
            - np.float32(1.0))


def rrdb_keys(num_block=23, nf=64, gc=32, in_ch=3, out_ch=3):
    """[(name, shape, is_rdb_conv)] in the canonical order."""
    keys = []

    def conv(name, i, o, rdb=False):
        keys.append((name + '.weight', (o, i, 3, 3), rdb))
        keys.append((name + '.bias', (o,), rdb))
    conv('conv_first', in_ch, nf)
    for b in range(num_block):
        for r in (1, 2, 3):
            for c in range(5):
                conv('body.%d.rdb%d.conv%d' % (b, r, c + 1), nf + c * gc,
                     gc if c < 4 else nf, True)
    conv('conv_body', nf, nf)
    conv('conv_up1', nf, nf)
    conv('conv_up2', nf, nf)
    conv('conv_hr', nf, nf)
    conv('conv_last', nf, out_ch)
    return keys


def synthetic_rrdb(seed, num_block=23, nf=64, gc=32, rdb_gain=1.0, in_ch=3):
    state = {}
    for k, (name, shape, rdb) in enumerate(rrdb_keys(num_block, nf, gc,
                                                      in_ch)):
        n = int(np.prod(shape))
        if name.endswith('.bias'):
            scale = 0.01
        else:
            fan_in = shape[1] * 9
            scale = (0.1 * math.sqrt(6.0 / fan_in) * rdb_gain if rdb
                     else 1.0 / math.sqrt(fan_in))
        u = _uniform(seed, k, n)
        state[name] = (u * np.float32(scale)).reshape(shape)
    return state


# --------------------------------------------------------------------------

BUILDERS = {'srvgg': build_srvgg, 'rdn': build_rdn, 'rrdb': build_rrdb}


def net_from_state(arch, tensors, meta=None, dtype=torch.float32):
    net, state = BUILDERS[arch](tensors, meta or {})
    net.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float64))
                         for k, v in state.items()})
    net.arch = arch
    return net.to(dtype).eval()


def load_sr(path, dtype=torch.float32):
    tensors, meta = read_safetensors(path)
    arch = meta.get('architecture')
    if arch not in BUILDERS:
        raise ValueError('%s: architecture %r is not a super-resolution '
                         'network' % (path, arch))
    net = net_from_state(arch, tensors, meta, dtype)
    net.meta = meta
    return net


def upscale(net, img, clamp=True):
    """img: numpy (H,W,3) float 0..1 -> numpy (sH,sW,3) in the net's dtype,
    clamped to 0..1 (as Real-ESRGAN and UpscalerJS do) unless clamp=False."""
    dtype = next(net.parameters()).dtype
    x = torch.from_numpy(np.ascontiguousarray(img)).to(dtype)
    x = x.permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        if net.arch == 'rdn':
            y = net(x * 255.0) / 255.0
        else:
            y = net(x)
    if clamp:
        y = y.clamp(0.0, 1.0)
    return y[0].permute(1, 2, 0).numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description='Upscale an image (PyTorch '
                                 'reference of the engine\'s networks).')
    ap.add_argument('model')
    ap.add_argument('input')
    ap.add_argument('output')
    ap.add_argument('--threads', type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    from ffdnet_torch import load_image, save_image
    net = load_sr(args.model)
    img = load_image(args.input, 3)
    save_image(args.output, upscale(net, img))
    return 0


if __name__ == '__main__':
    sys.exit(main())
