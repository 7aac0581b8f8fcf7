#!/usr/bin/python3
"""Time the PyTorch FFDNet reference on a 1024x1024 colour image.

    bench/ffdnet_torch_bench.py [--model models/ffdnet-color.safetensors]
                                [--threads N] [--runs R] [--size S]

Random clean image + AWGN sigma 25, float32, torch.no_grad.  One untimed
warm-up run (--warmup), then R timed runs.  Prints one line per run and then, for scripts comparing the C engine with torch:

    torch ffdnet-color 1024x1024 threads=N best=X.XXXs median=Y.YYYs peak_rss=Z MiB
"""

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tools'))
from ffdnet_torch import load_ffdnet  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default=os.path.join(
        REPO, 'models', 'ffdnet-color.safetensors'))
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--size', type=int, default=1024)
    ap.add_argument('--warmup', type=int, default=1,
                    help='untimed runs first (default 1, like bench_ffdnet.c)')
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    net = load_ffdnet(args.model)
    c, s, sigma = net.image_channels, args.size, 25.0
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(1, c, s, s, generator=g)
    noisy = clean + sigma / 255.0 * torch.randn(1, c, s, s, generator=g)

    times = []
    with torch.no_grad():
        for _ in range(args.warmup):
            net(noisy, sigma)
        for r in range(args.runs):
            t0 = time.perf_counter()
            out = net(noisy, sigma)
            dt = time.perf_counter() - t0
            times.append(dt)
            print('run %d: %.3fs' % (r + 1, dt), flush=True)
    del out
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print('torch ffdnet-%s %dx%d threads=%d best=%.3fs median=%.3fs '
          'peak_rss=%.0f MiB'
          % ('color' if c == 3 else 'gray', s, s, args.threads, min(times),
             statistics.median(times), rss_mib))
    return 0


if __name__ == '__main__':
    sys.exit(main())
