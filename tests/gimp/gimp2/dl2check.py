#!/usr/bin/python3
"""Inputs and judge for the GIMP 2.10 tests of plug-in-dream-denoise and
plug-in-dream-upscale (t11-t15).

    dl2check.py make  WORK          copy the shared inputs (tests/data/gimp,
                                    made by tests/gimp/common/make-inputs.py)
                                    into WORK under short names and add the
                                    2.10-only ones (a corrupt model file)
    dl2check.py judge WORK LOG...   read the facts the Script-Fu tests printed
                                    ("DL|test|key|value" lines in the logs)
                                    and check the PNGs they saved with the
                                    shared checker tests/gimp/common/check.py;
                                    print one PASS/FAIL line per test and
                                    "N passed, M failed"; exit 1 on failure.

Needs numpy and PIL (Debian's python3-numpy, python3-pil).
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "data", "gimp"))
CHECK = os.path.normpath(os.path.join(HERE, "..", "common", "check.py"))

INPUTS = {                      # our name: shared file
    "clean.png": "kodim23-crop.png",
    "noisy.png": "kodim23-noisy25.png",
    "clean-gray.png": "kodim23-gray.png",
    "noisy-gray.png": "kodim23-gray-noisy25.png",
    "noisy-rgba.png": "kodim23-noisy25-rgba.png",
    "indexed.png": "kodim23-noisy25-indexed.png",
}

# Regions the Script-Fu tests use (dl2-tests.scm), in image coordinates.
RECT = (30, 20, 70, 50)          # x, y, w, h
OFFSET_LAYER = (20, 10)          # t2: the layer moved here…
OFFSET_SEL = (0, 0, 60, 50)      # …under this selection → 40×40 of the layer


def make(work):
    os.makedirs(work, exist_ok=True)
    for ours, theirs in INPUTS.items():
        shutil.copyfile(os.path.join(SHARED, theirs), os.path.join(work, ours))
    # Crops the CLI denoises as references: the plug-in denoises exactly the
    # region selection bounds ∩ layer, without context around it.
    im = Image.open(os.path.join(work, "noisy.png"))
    x, y, w, h = RECT
    im.crop((x, y, x + w, y + h)).save(os.path.join(work, "crop.png"))
    ox, oy = OFFSET_LAYER
    sx, sy, sw, sh = OFFSET_SEL
    im.crop((0, 0, sx + sw - ox, sy + sh - oy)).save(os.path.join(work, "offset.png"))
    # Upscaling inputs: a 64×48 crop of the clean picture, and indexed.
    up = Image.open(os.path.join(work, "clean.png")).convert("RGB").crop((96, 64, 160, 112))
    up.save(os.path.join(work, "up-in.png"))
    up.quantize(64).save(os.path.join(work, "up-indexed.png"))
    # Looks like safetensors for its first 8 bytes, then garbage.
    with open(os.path.join(work, "corrupt.safetensors"), "wb") as f:
        f.write((200).to_bytes(8, "little")
                + b'{"__metadata__": {"architecture": "ffdnet"}, "w": {"dty'
                + bytes(range(256)) * 3)


# ---- judging ---------------------------------------------------------------

def read_facts(logs):
    facts = {}
    for log in logs:
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in re.finditer(r"DL\|([^|\n]*)\|([^|\n]*)\|([^\n]*)", text):
            facts.setdefault(m.group(1), {})[m.group(2)] = m.group(3).strip()
    return facts


class Test:
    def __init__(self, name, facts):
        self.name, self.f, self.problems, self.notes = name, facts, [], []

    def check(self, cond, what):
        if not cond:
            self.problems.append(what)
        return bool(cond)

    def fact(self, key, want, what=None):
        got = self.f.get(key)
        return self.check(got == want, f"{what or key} is {got!r}, want {want!r}")

    def pixels(self, *args, note=False):
        """One call of the shared checker; its 'ok:'/'FAIL:' line is kept."""
        missing = [a for a in args if a.endswith(".png") and not os.path.exists(a)]
        if missing:
            return self.check(False, f"not saved: {', '.join(map(os.path.basename, missing))}")
        p = subprocess.run([sys.executable, CHECK, *args], capture_output=True, text=True)
        line = (p.stdout.strip() or p.stderr.strip()).splitlines()[-1:] or ["?"]
        line = [re.sub(r"/\S*/", "", line[0])]          # paths → file names
        if note and p.returncode == 0:
            self.notes.append(line[0][4:].strip())
        return self.check(p.returncode == 0, line[0])

    def ran_ok(self):
        return self.check(self.f.get("status") == "ok", f"call failed: {self.f.get('status')!r}")

    def unchanged(self, work, original):
        """The image was left as it was: same layers, still clean, same pixels."""
        self.check(self.f.get("layers-after") == self.f.get("layers-before"),
                   f"layer count changed ({self.f.get('layers-before')} -> "
                   f"{self.f.get('layers-after')})")
        self.fact("dirty", "0", "image dirty flag")
        self.pixels("same", f"{work}/{self.name.split()[0]}-orig.png", original)


def selection_as_grey(work):
    """t2-selection.png is a white layer whose alpha is the selection; the
    shared checker wants the selection as a grey image."""
    src, dst = f"{work}/t2-selection.png", f"{work}/t2-selection-grey.png"
    if os.path.exists(src):
        a = np.asarray(Image.open(src).convert("RGBA"))[..., 3]
        Image.fromarray(a, "L").save(dst)
    return dst


def judge(work, logs):
    facts = read_facts(logs)
    tests = []

    def new(name):
        t = Test(name, facts.get(name.split()[0], {}))
        tests.append(t)
        return t

    W, H = Image.open(f"{work}/noisy.png").size
    est = re.compile(r"Denoised σ=(\d+\.\d) \(estimated\)")

    t = new("t1 whole layer, sigma 25")
    if t.ran_ok():
        t.fact("layers-after", "2")
        t.fact("new-pos", "0", "position of the new layer")
        t.fact("orig-pos", "1", "position of the original layer")
        t.fact("name", "Denoised σ=25")
        t.fact("parasite", "denoise sigma=25 model=color")
        t.fact("size", f"{W} {H}")
        t.fact("offsets", "0 0")
        t.pixels("same", f"{work}/t1-orig.png", f"{work}/noisy.png")
        t.pixels("compare", f"{work}/t1-result.png", f"{work}/ref-color.png", "--tol", "1", note=True)
        t.pixels("alpha", f"{work}/t1-result.png")
        t.pixels("psnr", f"{work}/t1-result.png", f"{work}/clean.png", f"{work}/noisy.png",
                 "--min-gain", "6", note=True)

    t = new("t2 selections: rectangle, feathered, moved layer")
    if t.ran_ok():
        x, y, w, h = RECT
        t.fact("rect-size", f"{w} {h}")
        t.fact("rect-offsets", f"{x} {y}")
        t.pixels("compare", f"{work}/t2-rect.png", f"{work}/ref-crop.png")
        t.pixels("alpha", f"{work}/t2-rect.png")
        b = [int(v) for v in t.f.get("feather-bounds", "0 0 0 0").split()]
        t.fact("feather-size", f"{b[2] - b[0]} {b[3] - b[1]}", "feathered layer size (selection bounds)")
        t.fact("feather-offsets", f"{b[0]} {b[1]}")
        t.pixels("alpha", f"{work}/t2-feather.png", "--selection", selection_as_grey(work),
                 "--offset", str(b[0]), str(b[1]), "--tol", "1", note=True)
        fa = f"{work}/t2-feather.png"
        if os.path.exists(fa):
            a = np.asarray(Image.open(fa).convert("RGBA"))[..., 3].astype(float)
            t.check(a.min() < 10 and a.max() >= 250 and ((a > 10) & (a < 245)).mean() > 0.2,
                    "feathered layer's alpha does not look feathered")
        t.fact("offset-size", "40 40")
        t.fact("offset-offsets", "20 10")
        t.pixels("compare", f"{work}/t2-offset.png", f"{work}/ref-offset.png")

    t = new("t3 estimate (sigma -1)")
    if t.ran_ok():
        m = est.fullmatch(t.f.get("name", ""))
        if t.check(m, f"name {t.f.get('name')!r}"):
            t.check(18 <= float(m.group(1)) <= 30, f"estimated σ={m.group(1)} for σ=25 noise")
            t.notes.append(f"estimated σ={m.group(1)}")
        t.check(re.fullmatch(r"denoise sigma=[\d.]+ estimated=yes model=color", t.f.get("parasite", "")),
                f"parasite {t.f.get('parasite')!r}")
        t.pixels("psnr", f"{work}/t3-result.png", f"{work}/clean.png", f"{work}/noisy.png",
                 "--min-gain", "6")

    t = new("t4 grey image and RGBA image")
    if t.ran_ok():
        t.fact("gray-type", "3", "grey result type (GRAYA-IMAGE = 3)")
        t.fact("gray-name", "Denoised σ=25 (grey model)")
        t.fact("gray-parasite", "denoise sigma=25 model=gray")
        t.pixels("compare", f"{work}/t4-gray.png", f"{work}/ref-gray.png")
        t.pixels("psnr", f"{work}/t4-gray.png", f"{work}/clean-gray.png", f"{work}/noisy-gray.png")
        t.fact("rgba-type", "1", "RGBA result type (RGBA-IMAGE = 1)")
        t.pixels("alpha", f"{work}/t4-rgba.png", "--src", f"{work}/noisy-rgba.png", "--tol", "0")
        t.pixels("compare", f"{work}/t4-rgba.png", f"{work}/ref-color.png")

    t = new("t5 indexed image -> error, image unchanged")
    t.fact("base-type", "2", "image base type (INDEXED = 2)")
    t.check("convert to RGB or Grayscale first" in t.f.get("status", ""),
            f"call result {t.f.get('status')!r}")
    t.unchanged(work, f"{work}/indexed.png")

    t = new("t6 corrupt model file -> error, image unchanged")
    t.check(t.f.get("status", "").startswith("error"), f"call did not fail: {t.f.get('status')!r}")
    t.unchanged(work, f"{work}/noisy.png")

    t = new("t7 cancel at 30% -> cancelled, image unchanged")
    t.check("cancel" in t.f.get("status", "").lower(),
            f"call did not report a cancel: {t.f.get('status')!r}")
    t.unchanged(work, f"{work}/noisy.png")

    t = new("t8 one Ctrl+Z removes the result, Ctrl+Y brings it back")
    if t.f.get("mode") == "gui":
        if t.ran_ok():
            t.fact("layers-after", "2")
            t.fact("layers-undone", "1", "layers after one Ctrl+Z")
            t.fact("layers-redone", "2", "layers after Ctrl+Y")
            t.fact("redo-name", "Denoised σ=25")
            t.fact("redo-parasite", "denoise sigma=25 model=color")
    else:
        # GIMP 2.10's PDB has no undo; only a real window can undo.
        t.check(False, f"not run ({t.f.get('status', 'no facts')})")

    t = new("t9 RUN-WITH-LAST-VALS repeats the last settings")
    if t.ran_ok():
        t.fact("name", "Denoised σ=12.5 (grey model)")
        t.fact("parasite", "denoise sigma=12.5 model=gray")

    t = new("t10 dialog: Estimate on, OK")
    if t.f.get("status", "").startswith("needs"):
        t.check(False, f"not run ({t.f['status']})")
    elif t.ran_ok():
        t.fact("layers-after", "2")
        m = est.fullmatch(t.f.get("name", ""))
        t.check(m and 18 <= float(m.group(1)) <= 30, f"name {t.f.get('name')!r}")
        t.check("estimated=yes" in t.f.get("parasite", ""), f"parasite {t.f.get('parasite')!r}")
        t.notes.append(t.f.get("name", ""))

    t = new("t11 upscale x2 (photo): image doubled, result layer above")
    if t.ran_ok():
        t.fact("same-image", "1", "returned image is the source image")
        t.fact("image-size", "128 96")
        t.fact("layers", "2")
        t.fact("new-pos", "0", "position of the new layer")
        t.fact("orig-pos", "1", "position of the original layer")
        t.fact("orig-size", "128 96", "original layer scaled by GIMP")
        t.fact("name", "Upscaled ×2 (photo)")
        t.fact("parasite", "upscale scale=2 model=photo")
        t.fact("size", "128 96")
        t.fact("offsets", "0 0")
        t.pixels("compare", f"{work}/t11-result.png", f"{work}/ref-up2.png", "--tol", "1", note=True)

    t = new("t12 upscale new-image: new 128x96 image, source unchanged")
    if t.ran_ok():
        t.fact("same-image", "0", "returned image is a new one")
        t.fact("new-image-size", "128 96")
        t.fact("new-layers", "1")
        t.fact("src-image-size", "64 48")
        t.fact("name", "Upscaled ×2 (photo)")
        t.fact("parasite", "upscale scale=2 model=photo")
        t.unchanged(work, f"{work}/up-in.png")
        t.pixels("compare", f"{work}/t12-result.png", f"{work}/ref-up2.png", "--tol", "1")

    t = new("t13 upscale indexed -> error, image unchanged")
    t.check("convert to RGB or Grayscale first" in t.f.get("status", ""),
            f"call result {t.f.get('status')!r}")
    t.fact("image-size", "64 48")
    t.unchanged(work, f"{work}/up-indexed.png")

    t = new("t14 upscale cancel at 30% -> cancelled, image unchanged")
    t.check("cancel" in t.f.get("status", "").lower(),
            f"call did not report a cancel: {t.f.get('status')!r}")
    t.fact("image-size", "64 48")
    t.unchanged(work, f"{work}/up-in.png")

    t = new("t15 upscale unknown model -> error, image unchanged")
    t.check("no-such-model" in t.f.get("status", ""), f"call result {t.f.get('status')!r}")
    t.fact("image-size", "64 48")
    t.unchanged(work, f"{work}/up-in.png")

    passed = 0
    for t in tests:
        ok = not t.problems
        passed += ok
        if ok:
            print(f"PASS {t.name}" + (f"  [{'; '.join(t.notes)}]" if t.notes else ""))
        else:
            print(f"FAIL {t.name}: " + "; ".join(t.problems))
    print(f"{passed} passed, {len(tests) - passed} failed")
    return 0 if passed == len(tests) else 1


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "judge":
        sys.exit(judge(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit(__doc__)
