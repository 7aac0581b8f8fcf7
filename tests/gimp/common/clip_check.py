#!/usr/bin/python3
"""Inputs and judge for the GIMP tests of plug-in-dream-clip-score and
plug-in-dream-describe (GIMP 2.10: tests/gimp/gimp2/run-clip.sh; GIMP 3:
tests/gimp/gimp3/run-clip.sh).

    clip_check.py make WORK
        WORK/clip-golden.safetensors  the golden tiny CLIP (tests/data)
        WORK/clip-crop.png            clean.png inside the test selection
                                      (x 30, y 20, 70 × 50)
        WORK/clip-bad.safetensors     a corrupt model file
        WORK/red-circle.png           a red circle on blue (semantic case)
    clip_check.py judge WORK DREAM MODEL PREFIX LOG...
        reads "DL|test|key|value" facts from the logs and checks them
        against the `dream` CLI (DREAM) on the same pixels with the same
        model: probabilities and cosines within 1e-4, the ranking order,
        probabilities summing to 1, the image unchanged, errors reported.
        PREFIX is put before each PASS/FAIL line ("gimp2 " / "gimp3 ").
        Prints "N passed, M failed"; exit 1 on any failure.

    clip_check.py score FACTS.json IMAGE DREAM MODEL [--crop X Y W H]
    clip_check.py describe FACTS.json IMAGE DREAM MODEL [--crop X Y W H]
        (GIMP 3 runner) one verdict line, "ok: ..." or "FAIL: ...", exit
        0/1: the facts' probabilities, cosines and ranking (or caption)
        against the CLI on IMAGE (the layer as GIMP exported it, cropped
        to the selection bounds with --crop).

When MODEL_SHAPES (env) names models/shapes-clip.safetensors the semantic
case clip7 is judged too (caption mentions red; "a red circle"
scores above "a green star"); otherwise it is reported as skipped.
"""
import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "data"))
# words the golden tiny CLIP knows (its other token embeddings are zero, and
# captions made of those would tie)
CAPTIONS = ["a photograph of an astronaut riding a horse", "a fancy fish", "a horse",
            "multiple spaces"]
RECT = (30, 20, 70, 50)
TOL = 1e-4


def make(work):
    os.makedirs(work, exist_ok=True)
    with gzip.open(os.path.join(DATA, "clip_golden_model.safetensors.gz")) as f, \
            open(os.path.join(work, "clip-golden.safetensors"), "wb") as o:
        shutil.copyfileobj(f, o)
    im = Image.open(os.path.join(work, "clean.png"))
    x, y, w, h = RECT
    im.crop((x, y, x + w, y + h)).save(os.path.join(work, "clip-crop.png"))
    with open(os.path.join(work, "clip-bad.safetensors"), "wb") as f:
        f.write(b"\x40\x00\x00\x00\x00\x00\x00\x00{\"a\": {\"dtype\": \"F32\", \"shape\": [4]")
    c = Image.new("RGB", (64, 64), (40, 80, 230))
    ImageDraw.Draw(c).ellipse((20, 20, 44, 44), fill=(220, 30, 30))
    c.save(os.path.join(work, "red-circle.png"))


def facts(logs):
    out = {}
    for log in logs:
        try:
            text = open(log, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        for line in text.splitlines():
            i = line.find("DL|")
            if i < 0:
                continue
            parts = line[i:].split("|", 3)
            if len(parts) == 4:
                out.setdefault(parts[1], {})[parts[2]] = parts[3].strip()
    return out


def cli_score(dream, model, image, captions):
    r = subprocess.run([dream, "clip-score", "--tsv", "-m", model, image] + captions,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("dream clip-score: " + r.stderr)
    rows = [l.split("\t") for l in r.stdout.strip().split("\n")]
    return (np.array([float(x[1]) for x in rows]), np.array([float(x[2]) for x in rows]),
            [int(x[0]) for x in rows])


def cli_describe(dream, model, image):
    r = subprocess.run([dream, "describe", "-m", model, image], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("dream describe: " + r.stderr)
    return r.stdout.split("\n")[0]


def nums(s):
    return np.array([float(x) for x in s.split()]) if s else np.array([])


class Judge:
    def __init__(self, prefix):
        self.prefix, self.passed, self.failed = prefix, 0, 0

    def verdict(self, name, problems, what):
        if problems:
            self.failed += 1
            print("%sFAIL %s: %s" % (self.prefix, name, "; ".join(problems)))
        else:
            self.passed += 1
            print("%sPASS %s: %s" % (self.prefix, name, what))


def check_score(f, ref, problems):
    if f.get("status") != "ok":
        problems.append("status %r" % f.get("status"))
        return
    p, c = nums(f.get("probs", "")), nums(f.get("cosines", ""))
    rp, rc, rank = ref
    if f.get("n") != str(len(CAPTIONS)) or len(p) != len(rp) or len(c) != len(rc):
        problems.append("got %s / %d / %d values for %d captions" % (f.get("n"), len(p), len(c), len(rp)))
        return
    dp, dc = np.abs(p - rp).max(), np.abs(c - rc).max()
    if dp > TOL or dc > TOL:
        problems.append("differs from dream clip-score: probabilities by %.2g, cosines by %.2g" % (dp, dc))
    if abs(p.sum() - 1.0) > TOL:
        problems.append("probabilities sum to %.6f" % p.sum())
    lines = [l.strip() for l in f.get("ranking", "").split(" |") if l.strip()]
    got = [l.split("\t")[-1] for l in lines]
    want = [CAPTIONS[i] for i in sorted(range(len(rank)), key=lambda i: rank[i])]
    if got != want:
        problems.append("ranking %r, dream clip-score ranks %r" % (got, want))
    else:
        for l in lines:
            pr, co, cap = l.split("\t")
            i = CAPTIONS.index(cap)
            if abs(float(pr) - p[i]) > 1e-5 or abs(float(co) - c[i]) > 1e-5:
                problems.append("ranking line %r disagrees with the arrays" % l)


def check_unchanged(work, test, f, original, problems):
    if f.get("layers-before") != f.get("layers-after"):
        problems.append("layers %s -> %s" % (f.get("layers-before"), f.get("layers-after")))
    if f.get("dirty") not in ("0", "#f", "False", "false"):
        problems.append("image dirty (an undo step was pushed): %r" % f.get("dirty"))
    if f.get("parasite", "none") not in ("none", "", "None"):
        problems.append("parasite attached: %r" % f.get("parasite"))
    after = os.path.join(work, test + "-after.png")
    if not os.path.exists(after):
        problems.append("no %s" % after)
        return
    a = np.asarray(Image.open(after).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(original).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape or np.abs(a - b).max() > 0:
        problems.append("the layer's pixels changed")


def judge(work, dream, model, prefix, logs):
    F = facts(logs)
    J = Judge(prefix)
    clean = os.path.join(work, "clean.png")
    ref_whole = cli_score(dream, model, clean, CAPTIONS)
    ref_crop = cli_score(dream, model, os.path.join(work, "clip-crop.png"), CAPTIONS)
    ref_grey = cli_score(dream, model, os.path.join(work, "clean-gray.png"), CAPTIONS)

    f = F.get("clip1", {})
    pr = []
    check_score(f, ref_whole, pr)
    check_unchanged(work, "clip1", f, clean, pr)
    J.verdict("clip-score whole layer", pr, "= dream clip-score within 1e-4, ranked, sum 1, image unchanged")

    f = F.get("clip2", {})
    pr = []
    check_score(f, ref_crop, pr)
    check_unchanged(work, "clip2", f, clean, pr)
    J.verdict("clip-score selection", pr, "selection bounds = dream clip-score of the crop")

    f = F.get("clip3", {})
    pr = []
    check_score(f, ref_grey, pr)
    J.verdict("clip-score grey layer", pr, "grey replicated = dream clip-score of the grey PNG")

    f = F.get("clip4", {})
    pr = []
    for key, word in (("indexed", "indexed"), ("missing-model", "nonexistent"),
                      ("bad-model", "clip-bad"), ("no-captions", "caption"),
                      ("describe-bad-model", "clip-bad"), ("describe-bad-vocabulary", "vocabulary")):
        v = f.get(key, "")
        if not v.startswith("error") or word not in v:
            pr.append("%s: %r (want an error naming %r)" % (key, v, word))
    check_unchanged(work, "clip4", f, clean, pr)
    J.verdict("errors", pr, "indexed, missing/corrupt model, no captions, bad vocabulary: clear errors, image unchanged")

    f = F.get("clip5", {})
    pr = []
    want = cli_describe(dream, model, clean)
    if f.get("status") != "ok":
        pr.append("status %r" % f.get("status"))
    elif f.get("caption") != want:
        pr.append("caption %r, dream describe says %r" % (f.get("caption"), want))
    check_unchanged(work, "clip5", f, clean, pr)
    J.verdict("describe", pr, "caption %r = dream describe, image unchanged" % want)

    f = F.get("clip6", {})
    pr = []
    for key in ("describe", "score"):
        if not f.get(key, "").startswith("error"):
            pr.append("%s after a cancel: %r" % (key, f.get(key)))
    check_unchanged(work, "clip6", f, clean, pr)
    J.verdict("cancel", pr, "cancelled at 30%: errors, image unchanged")

    shapes = os.environ.get("MODEL_SHAPES", "")
    if shapes and os.path.exists(shapes):
        f, fs = F.get("clip7", {}), F.get("clip7s", {})
        pr = []
        cap = f.get("caption", "")
        # shapes-clip gets the colour but not yet the shape (circle, cross and
        # triangle within 0.001 cosine on this picture): only red is asserted.
        if f.get("status") != "ok" or "red" not in cap:
            pr.append("caption %r (status %r) does not say red" % (cap, f.get("status")))
        p = nums(fs.get("probs", ""))
        if len(p) != 2 or not p[1] > p[0]:
            pr.append("'a red circle' not above 'a green star': %r" % fs.get("probs"))
        J.verdict("semantic (shapes-clip)", pr, "caption %r; red circle %s" % (cap, fs.get("probs")))
    else:
        print("%sSKIP semantic (shapes-clip): models/shapes-clip.safetensors not there" % prefix)
    print("%d passed, %d failed" % (J.passed, J.failed))
    return 1 if J.failed else 0


def one(kind, facts_path, image, dream, model, crop):
    import json
    import tempfile
    f = json.load(open(facts_path, encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        im = Image.open(image)
        if crop:
            x, y, w, h = crop
            im = im.crop((x, y, x + w, y + h))
        path = os.path.join(tmp, "in.png")
        im.save(path)
        pr = []
        if kind == "score":
            g = {"status": "ok" if f.get("status") == "SUCCESS" else f.get("status"),
                 "n": str(len(f.get("probs") or [])),
                 "probs": " ".join(repr(x) for x in (f.get("probs") or [])),
                 "cosines": " ".join(repr(x) for x in (f.get("cosines") or [])),
                 "ranking": " |".join((f.get("ranking") or "").split("\n"))}
            check_score(g, cli_score(dream, model, path, CAPTIONS), pr)
            what = "= dream clip-score on the exported pixels within 1e-4, ranked, sum 1"
        else:
            want = cli_describe(dream, model, path)
            if f.get("status") != "SUCCESS" or f.get("caption") != want:
                pr.append("caption %r (status %s), dream describe says %r"
                          % (f.get("caption"), f.get("status"), want))
            what = "caption %r = dream describe" % want
    print(("FAIL: " + "; ".join(pr)) if pr else ("ok: " + what))
    return 1 if pr else 0


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] in ("score", "describe"):
        crop = None
        if "--crop" in sys.argv:
            i = sys.argv.index("--crop")
            crop = [int(v) for v in sys.argv[i + 1:i + 5]]
        sys.exit(one(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], crop))
    elif len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) >= 6 and sys.argv[1] == "judge":
        sys.exit(judge(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]))
    else:
        print(__doc__)
        sys.exit(2)
