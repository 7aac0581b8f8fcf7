#!/usr/bin/python3
"""Kodak24 PSNR of the PyTorch FFDNet reference on our converted weights.

    tools/ffdnet_psnr_torch.py [--models DIR] [--kodak DIR] [--sigmas 25 50]
                               [--gray N] [--threads T] [--seed S]

For each image and sigma: clean 8-bit image / 255, plus AWGN
sigma/255 * randn (numpy default_rng([seed, image number, sigma]), float64,
no clipping), cast to float32, denoise with sigma, clamp to 0..1, round to
8 bits, PSNR against the clean 8-bit image (no border crop).  The colour
network runs on all images; the grey network on the first N images (default
all) converted to 8-bit luminance by PIL (ITU-R 601 weights).

The Kodak24 folder in ../shared is byte-identical to cszn/FFDNet
testsets/Kodak24 (500x500 crops), the set behind the paper's figures:
colour FFDNet 32.13 dB (sigma 25), 28.98 dB (sigma 50).
"""

import argparse
import glob
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffdnet_torch import load_ffdnet, load_image, denoise  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PAPER = {('color', 25): 32.13, ('color', 50): 28.98}


def psnr_8bit(clean_u8, out):
    out_u8 = np.round(np.clip(out, 0.0, 1.0) * 255.0)
    mse = np.mean((out_u8 - clean_u8.astype(np.float64)) ** 2)
    return 10.0 * np.log10(255.0 ** 2 / mse)


def noisy_image(clean_u8, sigma, seed, number):
    rng = np.random.default_rng([seed, number, int(round(sigma * 100))])
    clean = clean_u8.astype(np.float64) / 255.0
    noisy = clean + sigma / 255.0 * rng.standard_normal(clean.shape)
    return noisy.astype(np.float32)


def run(kind, net, paths, sigmas, seed):
    channels = net.image_channels
    means = {}
    for sigma in sigmas:
        vals = []
        t0 = time.time()
        for path in paths:
            number = int(''.join(ch for ch in os.path.basename(path)
                                 if ch.isdigit()) or 0)
            clean_u8 = np.round(load_image(path, channels) * 255.0)
            noisy = noisy_image(clean_u8, sigma, seed, number)
            out = denoise(net, noisy, sigma)
            p = psnr_8bit(clean_u8, out)
            vals.append(p)
            print('%-5s sigma=%-3g %s %dx%d  noisy %.2f dB  ffdnet %.2f dB'
                  % (kind, sigma, os.path.basename(path), clean_u8.shape[1],
                     clean_u8.shape[0], psnr_8bit(clean_u8, noisy), p),
                  flush=True)
        mean = float(np.mean(vals))
        means[sigma] = mean
        ref = PAPER.get((kind, sigma))
        print('MEAN %-5s sigma=%g  %d images  %.3f dB%s  (%.1f s)'
              % (kind, sigma, len(vals), mean,
                 '  paper %.2f dB, diff %+.3f' % (ref, mean - ref)
                 if ref else '', time.time() - t0), flush=True)
    return means


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models', default=os.path.join(REPO, 'models'))
    ap.add_argument('--kodak', default=os.path.join(
        REPO, '..', 'shared', 'data', 'testsets', 'kodak24'))
    ap.add_argument('--sigmas', type=float, nargs='+', default=[25, 50])
    ap.add_argument('--gray', type=int, default=24,
                    help='number of images for the grey net (0: skip)')
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    paths = sorted(glob.glob(os.path.join(args.kodak, '*.png')))
    if not paths:
        print('no images in %s' % args.kodak, file=sys.stderr)
        return 1
    summary = []
    net = load_ffdnet(os.path.join(args.models, 'ffdnet-color.safetensors'))
    for s, m in run('color', net, paths, args.sigmas, args.seed).items():
        summary.append(('color', s, len(paths), m))
    if args.gray > 0:
        net = load_ffdnet(os.path.join(args.models, 'ffdnet-gray.safetensors'))
        gp = paths[:args.gray]
        for s, m in run('gray', net, gp, args.sigmas, args.seed).items():
            summary.append(('gray', s, len(gp), m))
    print('SUMMARY')
    for kind, s, n, m in summary:
        ref = PAPER.get((kind, s))
        print('  ffdnet-%-5s Kodak24 (%d) sigma=%-3g %.3f dB%s'
              % (kind, n, s, m, '  (paper %.2f)' % ref if ref else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
