#!/usr/bin/python3
"""Write tests/data/ffdnet_ref.safetensors: FFDNet test vectors for the C engine.

    tools/make_ffdnet_reference.py [--models DIR] [--out FILE]

Produced by the PyTorch reference (tools/ffdnet_torch.py) on our converted
models/ffdnet-{color,gray}.safetensors.  Odd sizes on purpose (29 rows x 37
columns) so the replicate-pad-to-even and crop-back path is exercised.

Tensors (all F32):
  color_input       (29, 37, 3) HWC  kodim23 rows 200..228, cols 180..216,
                                     /255 + 25/255 * randn (seed 23), not clipped
  color_sigma       (1,)             25 (8-bit levels)
  color_output      (29, 37, 3)      float32 torch model output (not clamped)
  color_output_f64  (29, 37, 3)      same with float64 weights and arithmetic
  gray_input        (29, 37, 1)      PIL 'L' luminance of kodim23 rows
                                     300..328, cols 240..276, + 50/255 * randn
                                     (seed 50), not clipped
  gray_sigma        (1,)             50
  gray_output       (29, 37, 1)      float32 output (not clamped)
  gray_output_f64   (29, 37, 1)      float64 output
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffdnet_torch import (load_ffdnet, load_image, denoise,  # noqa: E402
                          write_safetensors)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KODIM23 = os.path.join(REPO, '..', 'shared', 'data', 'testsets', 'kodak24',
                       'kodim23.png')
H, W = 29, 37


def make_case(model_path, channels, y0, x0, sigma, seed):
    clean = load_image(KODIM23, channels)[y0:y0 + H, x0:x0 + W]
    rng = np.random.default_rng(seed)
    noisy = (clean.astype(np.float64)
             + sigma / 255.0 * rng.standard_normal(clean.shape))
    noisy = noisy.astype(np.float32)
    net32 = load_ffdnet(model_path, torch.float32)
    net64 = load_ffdnet(model_path, torch.float64)
    out32 = denoise(net32, noisy, sigma).astype(np.float32)
    out64 = denoise(net64, noisy.astype(np.float64), sigma)
    err = np.abs(out32 - out64).max()
    print('%s: %s sigma=%g  |f32 - f64| max %.3g  mean|out-in| %.4f'
          % (os.path.basename(model_path), noisy.shape, sigma, err,
             np.abs(out64 - noisy).mean()))
    return noisy, out32, out64.astype(np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models', default=os.path.join(REPO, 'models'))
    ap.add_argument('--out', default=os.path.join(REPO, 'tests', 'data',
                                                  'ffdnet_ref.safetensors'))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    ci, co, co64 = make_case(os.path.join(args.models,
                                          'ffdnet-color.safetensors'),
                             3, 200, 180, 25.0, 23)
    gi, go, go64 = make_case(os.path.join(args.models,
                                          'ffdnet-gray.safetensors'),
                             1, 300, 240, 50.0, 50)
    tensors = [
        ('color_input', ci), ('color_sigma', np.array([25.0])),
        ('color_output', co), ('color_output_f64', co64),
        ('gray_input', gi), ('gray_sigma', np.array([50.0])),
        ('gray_output', go), ('gray_output_f64', go64),
    ]
    meta = {
        'made_by': 'tools/make_ffdnet_reference.py',
        'layout': 'HWC float32, 0..1 scale; sigma in 8-bit levels; '
                  'outputs not clamped',
        'models': 'models/ffdnet-color.safetensors, '
                  'models/ffdnet-gray.safetensors',
        'source_image': 'kodim23.png (Kodak, cszn/FFDNet testsets/Kodak24)',
    }
    write_safetensors(args.out, tensors, meta)
    print('wrote %s (%d bytes)' % (args.out, os.path.getsize(args.out)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
