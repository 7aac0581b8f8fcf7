#!/usr/bin/python3
"""Time the PyTorch references of the upscaling networks.

    bench/upscale_torch_bench.py --model FILE [--size S] [--threads N]
                                 [--runs R] [--warmup W]

FILE is a Dreamlayer safetensors model (models/realesr-general-x4v3
.safetensors, an RRDBNet file, ...), run by tools/sr_torch.py in float32
under torch.no_grad on a smooth random S x S RGB image (default 256), the
same work as bench/bench_upscale.c.  One untimed warm-up run, then R timed
runs; prints one line per run, then

    torch ARCH SxS->OxO threads=N best=X.XXXs median=Y.YYYs peak_rss=Z MiB
"""

import argparse
import os
import resource
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tools'))
from sr_torch import load_sr  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default=os.path.join(
        REPO, 'models', 'realesr-general-x4v3.safetensors'))
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    net = load_sr(args.model)
    s = args.size
    i = torch.arange(s, dtype=torch.float32)
    g = torch.Generator().manual_seed(0)
    x = (0.5 + 0.3 * torch.sin(i[:, None] * 0.05 + torch.arange(3.0)[:, None, None])
         * torch.cos(i[None, :] * 0.07)
         + 0.1 * (torch.rand(3, s, s, generator=g) * 2 - 1))[None]
    if net.arch == 'rdn':
        x = x * 255.0
    times = []
    with torch.no_grad():
        for _ in range(args.warmup):
            y = net(x)
        for r in range(args.runs):
            t0 = time.perf_counter()
            y = net(x)
            dt = time.perf_counter() - t0
            times.append(dt)
            print('run %d: %.3fs' % (r + 1, dt), flush=True)
    o = y.shape[-1]
    del y
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print('torch %s %dx%d->%dx%d threads=%d best=%.3fs median=%.3fs '
          'peak_rss=%.0f MiB' % (net.arch, s, s, o, o, args.threads, min(times),
                                 statistics.median(times), rss))
    return 0


if __name__ == '__main__':
    sys.exit(main())
