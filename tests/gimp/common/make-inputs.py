#!/usr/bin/python3
"""Makes the input images of the GIMP front-end tests (GIMP 3 and 2.10).

The images are committed in tests/data/gimp/, so the tests never need
anything outside the repository; run this only to remake them:

    /usr/bin/python3 tests/gimp/common/make-inputs.py \
        --source ../shared/data/testsets/kodak24/kodim23.png

Without --source it remakes the variants from the committed clean crop.

Files (256×192, PNG without gAMA/cHRM/sRGB/iCCP chunks, because GIMP 3
applies those and shifts values by ~2 levels):
  kodim23-crop.png            clean RGB crop of Kodak kodim23 (x 224, y 64)
  kodim23-noisy25.png         + Gaussian noise sigma 25 (8-bit levels), seed 23025
  kodim23-noisy25-rgba.png    the noisy RGB plus an alpha channel: opaque on
                              the left half, a ramp to 0 on the right half
  kodim23-gray.png            clean grey (ITU-R 601 luma, as PIL's "L")
  kodim23-gray-noisy25.png    + noise sigma 25, seed 23026
  kodim23-noisy25-indexed.png the noisy RGB quantised to a 256-colour palette
"""
import argparse
import os
import sys
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "data", "gimp"))
CROP = (224, 64, 224 + 256, 64 + 192)
SIGMA = 25.0


def add_noise(a, seed):
    rng = np.random.default_rng(seed)
    n = rng.normal(0.0, SIGMA, size=a.shape)
    return np.clip(np.rint(a.astype(np.float64) + n), 0, 255).astype(np.uint8)


def png_chunks(path):
    with open(path, "rb") as f:
        data = f.read()
    pos, out = 8, []
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        out.append(data[pos + 4:pos + 8].decode("latin-1"))
        pos += 12 + n
    return out


def save(img, name):
    path = os.path.join(DATA, name)
    img.save(path, optimize=True)  # PIL writes no colour chunks unless told
    bad = {"gAMA", "cHRM", "sRGB", "iCCP"} & set(png_chunks(path))
    if bad:
        sys.exit(f"{path}: unexpected chunks {sorted(bad)}")
    print(f"wrote {path} ({img.mode} {img.size[0]}x{img.size[1]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", help="kodim23.png to crop from (else reuse the committed crop)")
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)

    clean_path = os.path.join(DATA, "kodim23-crop.png")
    if args.source:
        clean = Image.open(args.source).convert("RGB").crop(CROP)
        save(clean, "kodim23-crop.png")
    elif not os.path.exists(clean_path):
        sys.exit(f"{clean_path} is missing: give --source kodim23.png")
    clean = np.asarray(Image.open(clean_path).convert("RGB"))

    noisy = add_noise(clean, 23025)
    save(Image.fromarray(noisy, "RGB"), "kodim23-noisy25.png")

    h, w = noisy.shape[:2]
    alpha = np.full((h, w), 255.0)
    ramp = np.linspace(255.0, 0.0, w - w // 2)
    alpha[:, w // 2:] = ramp[None, :]
    rgba = np.dstack([noisy, np.rint(alpha).astype(np.uint8)])
    save(Image.fromarray(rgba, "RGBA"), "kodim23-noisy25-rgba.png")

    grey = Image.fromarray(clean, "RGB").convert("L")
    save(grey, "kodim23-gray.png")
    save(Image.fromarray(add_noise(np.asarray(grey), 23026), "L"), "kodim23-gray-noisy25.png")

    indexed = Image.fromarray(noisy, "RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                     dither=Image.Dither.NONE)
    save(indexed, "kodim23-noisy25-indexed.png")


if __name__ == "__main__":
    main()
