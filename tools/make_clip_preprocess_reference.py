#!/usr/bin/python3
"""Write tests/data/clip_preprocess_ref.safetensors: CLIP's preprocessing
(clip.load's transform) of a few images, by Pillow itself.

    /usr/bin/python3 tools/make_clip_preprocess_reference.py

The transform is Resize(n, BICUBIC) -> CenterCrop(n) -> RGB -> ToTensor ->
Normalize(CLIP mean, std). Resize and centre crop are torchvision 0.14's
arithmetic, written out here (torchvision is not a Debian package):
short side -> n, long side -> int(n * long / short); crop offsets
int(round((size - n) / 2.0)) (Python rounds half to even); the resampling
itself is PIL's Image.resize(..., BICUBIC), which is what torchvision calls
on a PIL image. ToTensor and Normalize in float32 as torch does.

Tensors: case{i}_input (h, w, c) float32 = 8-bit values / 255 (HWC, as a
dream_image), case{i}_size (1,), case{i}_output (3, n, n).
"""

import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from ffdnet_torch import write_safetensors  # noqa: E402

KODIM23 = os.path.join(REPO, 'tests', 'data', 'gimp', 'kodim23-crop.png')
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def clip_preprocess(img, n):
    w, h = img.size
    if w <= h:
        size = (n, int(n * h / w))
    else:
        size = (int(n * w / h), n)
    img = img.resize(size, Image.BICUBIC)
    w, h = img.size
    top, left = int(round((h - n) / 2.0)), int(round((w - n) / 2.0))
    img = img.crop((left, top, left + n, top + n)).convert('RGB')
    x = np.asarray(img, dtype=np.uint8).astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def main():
    src = Image.open(KODIM23).convert('RGB')
    cases = [
        (src.crop((10, 20, 55, 49)), 32),            # 45x29 RGB: shrink, crop offset 8.5 -> 8
        (src.crop((60, 5, 80, 56)).convert('L'), 32),  # 20x51 grey: enlarge, offset 24.5 -> 24
        (src.crop((0, 0, 97, 130)), 64),              # 97x130 RGB: shrink by ~1.5
        (src.crop((3, 3, 35, 35)), 32),               # 32x32: no resize
        (src.resize((7, 5), Image.NEAREST), 40),      # tiny: enlarge a lot
    ]
    tensors = []
    for i, (img, n) in enumerate(cases):
        a = np.asarray(img, dtype=np.uint8).astype(np.float32) / 255.0
        if a.ndim == 2:
            a = a[:, :, None]
        tensors += [('case%d_input' % i, a), ('case%d_size' % i, np.array([n], np.float32)),
                    ('case%d_output' % i, clip_preprocess(img, n))]
        print('case %d: %s %dx%d -> %d' % (i, img.mode, img.size[0], img.size[1], n))
    write_safetensors(os.path.join(REPO, 'tests', 'data', 'clip_preprocess_ref.safetensors'),
                      tensors, {'generator': 'tools/make_clip_preprocess_reference.py',
                                'pillow': Image.__version__})


if __name__ == '__main__':
    main()
