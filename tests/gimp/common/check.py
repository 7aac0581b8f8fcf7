#!/usr/bin/python3
"""Checks what a GIMP front-end test exported (shared by the GIMP 3 and
GIMP 2.10 runners). Needs numpy and PIL only.

Each subcommand prints one line, "ok: ..." or "FAIL: ...", and exits 0 or 1.

  check.py compare RESULT REF [--offset X Y] [--tol L]
      colour of RESULT equals REF (REF's pixel (x+X, y+Y) for RESULT's
      (x, y)) within L 8-bit levels (default 1), wherever RESULT's alpha
      is above 0. Modes are matched (grey vs RGB compares grey).
  check.py psnr RESULT CLEAN NOISY [--offset X Y] [--min-gain DB]
      PSNR(RESULT, CLEAN) exceeds PSNR(NOISY, CLEAN) by at least DB
      (default 5) over RESULT's area, where its alpha is above 0.
  check.py alpha RESULT [--src IMG] [--selection SEL] [--offset X Y] [--tol L]
      RESULT's alpha equals src alpha (IMG's alpha, 255 if none) times the
      selection value (SEL, grey, 255 = selected) within L (default 1);
      IMG and SEL are read at (x+X, y+Y).
  check.py same A B
      A and B have the same size, mode and pixels (e.g. a layer before and
      after a failed run).
  check.py filled LAYER REF --mask MASK [--offset X Y] [--tol L]
      LAYER (a fill result's own pixels, its mask not applied) equals REF
      within L levels (default 1) wherever MASK (grey, or the alpha of an
      RGBA file) is fully on (255); LAYER's (x, y) is REF's and MASK's
      (x+X, y+Y). With --orig ORIG --min-change C, the mean difference
      of LAYER to ORIG (the picture before, canvas-size) over the fully
      masked pixels must be at least C levels: something was replaced.
  check.py composite COMP ORIG REF LAYER --mask MASK [--orig-offset X Y]
                     [--layer-offset X Y] [--tol L]
      COMP (the image's composite, canvas size) equals ORIG (the layer
      below, placed at orig-offset) exactly where MASK is 0, equals REF
      (the CLI's result, canvas size) within L where MASK is 255, and lies
      between ORIG and LAYER (placed at layer-offset) within L where MASK
      is in between (a blend of the two, in whatever space GIMP blends).
      REF "-": where MASK is 255 COMP must equal LAYER itself (no CLI
      reference, e.g. generation).
  check.py facts FACTS.json EXPR [--message TEXT]
      the Python expression EXPR is true with FACTS.json's keys as names
      (plus `facts` itself, re and a few builtins).
"""
import argparse
import json
import math
import re
import sys

import numpy as np
from PIL import Image


def load(path):
    im = Image.open(path)
    im.load()
    if im.mode == "P":
        im = im.convert("RGBA")
    return im


def split(im):
    """Returns (colour float array HxWxC, alpha float array HxW or None)."""
    m = im.mode
    if m in ("L", "I;16", "I", "F"):
        return np.asarray(im.convert("L"), np.float64)[..., None], None
    if m == "LA":
        a = np.asarray(im, np.float64)
        return a[..., :1], a[..., 1]
    if m == "RGB":
        return np.asarray(im, np.float64), None
    a = np.asarray(im.convert("RGBA"), np.float64)
    return a[..., :3], a[..., 3]


def as_grey(c):
    if c.shape[2] == 1:
        return c
    return (c[..., 0:1] * 0.299 + c[..., 1:2] * 0.587 + c[..., 2:3] * 0.114)


def match(a, b):
    if a.shape[2] != b.shape[2]:
        return as_grey(a), as_grey(b)
    return a, b


def window(arr, ox, oy, w, h, what):
    H, W = arr.shape[:2]
    if ox < 0 or oy < 0 or ox + w > W or oy + h > H:
        fail(f"{what}: region {w}x{h}+{ox}+{oy} lies outside its {W}x{H}")
    return arr[oy:oy + h, ox:ox + w]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg)
    sys.exit(0)


def psnr(a, b):
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def cmd_compare(a):
    rc, ra = split(load(a.result))
    fc, _ = split(load(a.ref))
    h, w = rc.shape[:2]
    fc = window(fc, a.offset[0], a.offset[1], w, h, a.ref)
    rc, fc = match(rc, fc)
    where = ra > 0 if ra is not None else np.ones((h, w), bool)
    if not where.any():
        fail(f"{a.result}: fully transparent, nothing to compare")
    d = np.abs(rc - fc)[where]
    mx, mean = float(d.max()), float(d.mean())
    msg = f"{a.result} vs {a.ref}: max diff {mx:.0f}, mean {mean:.3f} levels (tol {a.tol:g})"
    (ok if mx <= a.tol else fail)(msg)


def cmd_psnr(a):
    rc, ra = split(load(a.result))
    cc, _ = split(load(a.clean))
    nc, _ = split(load(a.noisy))
    h, w = rc.shape[:2]
    cc = window(cc, a.offset[0], a.offset[1], w, h, a.clean)
    nc = window(nc, a.offset[0], a.offset[1], w, h, a.noisy)
    rc, cc = match(rc, cc)
    nc, _ = match(nc, cc)
    where = ra > 0 if ra is not None else np.ones((h, w), bool)
    p_res, p_noisy = psnr(rc[where], cc[where]), psnr(nc[where], cc[where])
    msg = f"PSNR result {p_res:.2f} dB, noisy {p_noisy:.2f} dB, gain {p_res - p_noisy:.2f} dB (need {a.min_gain:g})"
    (ok if p_res - p_noisy >= a.min_gain else fail)(msg)


def cmd_alpha(a):
    _, ra = split(load(a.result))
    h, w = (load(a.result).size[1], load(a.result).size[0])
    if ra is None:
        ra = np.full((h, w), 255.0)
    expect = np.full((h, w), 255.0)
    if a.src:
        _, sa = split(load(a.src))
        if sa is not None:
            expect = window(sa, a.offset[0], a.offset[1], w, h, a.src).copy()
    if a.selection:
        sc, _ = split(load(a.selection))
        sel = window(as_grey(sc)[..., 0], a.offset[0], a.offset[1], w, h, a.selection)
        expect = expect * sel / 255.0
    d = np.abs(ra - expect)
    mx = float(d.max())
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    msg = (f"{a.result} alpha vs expected: max diff {mx:.1f} at ({x},{y}) "
           f"[{ra[y, x]:.0f} vs {expect[y, x]:.1f}], alpha range {ra.min():.0f}..{ra.max():.0f}")
    (ok if mx <= a.tol else fail)(msg)


def cmd_same(a):
    ia, ib = load(a.a), load(a.b)
    if ia.size != ib.size:
        fail(f"{a.a} {ia.size} and {a.b} {ib.size} differ in size")
    xa, xb = np.asarray(ia.convert("RGBA")), np.asarray(ib.convert("RGBA"))
    n = int(np.count_nonzero(np.any(xa != xb, axis=-1)))
    (ok if n == 0 else fail)(f"{a.a} vs {a.b}: {n} pixels differ")


def cmd_facts(a):
    with open(a.facts, encoding="utf-8") as f:
        facts = json.load(f)
    env = {"re": re, "abs": abs, "len": len, "all": all, "any": any, "bool": bool,
           "int": int, "float": float, "str": str, "min": min, "max": max, "round": round}
    env.update(facts)
    env["facts"] = facts
    try:
        val = eval(a.expr, {"__builtins__": {}}, env)  # test expressions written by us
    except Exception as e:  # noqa: BLE001 - report any failure of the expression
        fail(f"{a.message or a.expr}: {type(e).__name__}: {e}; facts: {json.dumps(facts, ensure_ascii=False)}")
    if val:
        ok(a.message or a.expr)
    fail(f"{a.message or a.expr}; facts: {json.dumps(facts, ensure_ascii=False)}")

def mask_plane(path):
    """A mask file as 0..255 floats HxW: alpha if it has one, else grey."""
    c, a = split(load(path))
    return a if a is not None else as_grey(c)[..., 0]


def cmd_filled(a):
    lc, _ = split(load(a.layer))
    fc, _ = split(load(a.ref))
    m = mask_plane(a.mask)
    h, w = lc.shape[:2]
    fc = window(fc, a.offset[0], a.offset[1], w, h, a.ref)
    m = window(m, a.offset[0], a.offset[1], w, h, a.mask)
    lc, fc = match(lc, fc)
    full = m >= 255
    if not full.any():
        fail(f"{a.mask}: no fully selected pixel over {a.layer}")
    d = np.abs(lc - fc)[full]
    mx, mean = float(d.max()), float(d.mean())
    msg = (f"{a.layer} vs {a.ref} where fully masked ({int(full.sum())} px): "
           f"max diff {mx:.0f}, mean {mean:.3f} levels (tol {a.tol:g})")
    good = mx <= a.tol
    if a.orig:
        oc, _ = split(load(a.orig))
        oc = window(oc, a.offset[0], a.offset[1], w, h, a.orig)
        lc2, oc = match(lc, oc)
        change = float(np.abs(lc2 - oc)[full].mean())
        msg += f"; changed from the original by {change:.2f} levels on average (need {a.min_change:g})"
        good &= change >= a.min_change
    (ok if good else fail)(msg)


def placed(arr, ox, oy, W, H):
    """arr (h, w, c) on a W x H canvas at ox, oy; NaN where it is not."""
    out = np.full((H, W, arr.shape[2]), np.nan)
    h, w = arr.shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = arr[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return out


def cmd_composite(a):
    cc, _ = split(load(a.comp))
    H, W = cc.shape[:2]
    oc, _ = split(load(a.orig))
    lc, _ = split(load(a.layer))
    if a.ref == "-":
        fc = placed(lc, a.layer_offset[0], a.layer_offset[1], W, H)
    else:
        fc, _ = split(load(a.ref))
    m = mask_plane(a.mask)
    if fc.shape[:2] != (H, W) or m.shape != (H, W):
        fail(f"sizes differ: composite {W}x{H}, ref {fc.shape[1]}x{fc.shape[0]}, "
             f"mask {m.shape[1]}x{m.shape[0]}")
    cc, fc = match(cc, fc)
    oc, _ = match(oc, cc)
    lc, _ = match(lc, cc)
    op = placed(oc, a.orig_offset[0], a.orig_offset[1], W, H)
    lp = placed(lc, a.layer_offset[0], a.layer_offset[1], W, H)
    off, on = m <= 0, m >= 255
    mid = ~off & ~on
    msgs, bad = [], False
    k = off & ~np.isnan(op[..., 0])
    if k.any():
        d = float(np.abs(cc - op)[k].max())
        msgs.append(f"outside: max diff to the original {d:.0f} ({int(k.sum())} px)")
        bad |= d > 0
    if on.any():
        d = float(np.abs(cc - fc)[on].max())
        msgs.append(f"inside: max diff to the reference {d:.0f} ({int(on.sum())} px)")
        bad |= d > a.tol
    else:
        msgs.append("no fully masked pixel"); bad = True
    k = mid & ~np.isnan(op[..., 0]) & ~np.isnan(lp[..., 0])
    if k.any():
        lo = np.minimum(op, lp)[k] - a.tol
        hi = np.maximum(op, lp)[k] + a.tol
        v = cc[k]
        out = int(np.count_nonzero(np.any((v < lo) | (v > hi), axis=-1)))
        dcli = float(np.abs(cc - fc)[k].max())
        msgs.append(f"feather: {out} of {int(k.sum())} px outside [original, fill] "
                    f"(max diff to the reference {dcli:.0f})")
        bad |= out > 0
    (fail if bad else ok)("; ".join(msgs))



def main():
    ap = argparse.ArgumentParser(description="checks for the GIMP front-end tests")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("compare")
    p.add_argument("result"); p.add_argument("ref")
    p.add_argument("--offset", nargs=2, type=int, default=[0, 0])
    p.add_argument("--tol", type=float, default=1.0)
    p = sub.add_parser("psnr")
    p.add_argument("result"); p.add_argument("clean"); p.add_argument("noisy")
    p.add_argument("--offset", nargs=2, type=int, default=[0, 0])
    p.add_argument("--min-gain", type=float, default=5.0)
    p = sub.add_parser("alpha")
    p.add_argument("result")
    p.add_argument("--src"); p.add_argument("--selection")
    p.add_argument("--offset", nargs=2, type=int, default=[0, 0])
    p.add_argument("--tol", type=float, default=1.0)
    p = sub.add_parser("same")
    p.add_argument("a"); p.add_argument("b")
    p = sub.add_parser("filled")
    p.add_argument("layer"); p.add_argument("ref")
    p.add_argument("--mask", required=True)
    p.add_argument("--offset", nargs=2, type=int, default=[0, 0])
    p.add_argument("--tol", type=float, default=1.0)
    p.add_argument("--orig"); p.add_argument("--min-change", type=float, default=0.0)
    p = sub.add_parser("composite")
    p.add_argument("comp"); p.add_argument("orig"); p.add_argument("ref"); p.add_argument("layer")
    p.add_argument("--mask", required=True)
    p.add_argument("--orig-offset", nargs=2, type=int, default=[0, 0])
    p.add_argument("--layer-offset", nargs=2, type=int, default=[0, 0])
    p.add_argument("--tol", type=float, default=1.0)
    p = sub.add_parser("facts")
    p.add_argument("facts"); p.add_argument("expr")
    p.add_argument("--message")
    a = ap.parse_args()
    {"compare": cmd_compare, "psnr": cmd_psnr, "alpha": cmd_alpha,
     "same": cmd_same, "facts": cmd_facts,
     "filled": cmd_filled, "composite": cmd_composite}[a.cmd](a)


if __name__ == "__main__":
    main()
