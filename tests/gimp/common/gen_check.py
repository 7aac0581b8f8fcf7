#!/usr/bin/python3
"""gen_check.py — verdicts of the Text to Image / Reimagine Layer tests.

    gen_check.py gimp2 DATA DREAM SD_MODEL CLIP_MODEL LOG...
        judges the GIMP 2.10 run (facts "DL|test|key|value" in the logs,
        PNGs of the new layers in DATA; see gimp2/dl2-generate.scm)
    gen_check.py reproduce DREAM PNG 'SETTINGS' [INIT_PNG]
        runs the `dream` CLI with the settings of a layer's parasite and
        compares its output with PNG (max difference 1/255)
    gen_check.py clip-order DREAM CLIP_MODEL PROMPT FACTS.json
        (GIMP 3, in a case's folder) the new layers, top first, are in
        non-increasing order of the clip= score of their parasites, which
        agree with `dream clip-score` on result0.png, result1.png, ...
        (2e-3; order slack 3e-4 for the 8-bit rounding of the PNGs)
    gen_check.py parasite FACTS.json INDEX KEY=VALUE...
        (GIMP 3) new layer INDEX's parasite has these settings (kind= is
        the first word)

The settings text is shell-quoted words (plugin/dream-gen-pixels.h), read
back with shlex — as any script would. The references are the CLI's, run
with exactly those settings: this checks at once that the parasite is
complete enough to reproduce a layer and that the plug-in's pixels are the
engine's.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image


def parse_settings(text):
    words = shlex.split(text)
    kv = {}
    for w in words[1:]:
        k, _, v = w.partition("=")
        kv[k] = v
    return words[0], kv


def reproduce(dream, settings, out, init=None):
    kind, s = parse_settings(settings)
    cmd = [dream, "generate" if kind == "txt2img" else "img2img", s["prompt"]]
    if kind == "img2img":
        cmd += [init, "--strength", s["strength"]]
    cmd += ["-n", s["negative"], "-m", s["model"], "--seed", s["seed"],
            "--steps", s["steps"], "--cfg", s["cfg"], "--sampler", s["sampler"],
            "-W", s["width"], "-H", s["height"], "-q", "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("dream CLI failed: %s\n%s" % (" ".join(cmd), r.stderr))


def rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def max_diff(a, b):
    x, y = rgb(a), rgb(b)
    if x.shape != y.shape:
        return None
    return int(np.abs(x - y).max())


def reproduce_diff(dream, png, settings, init=None):
    with tempfile.TemporaryDirectory() as t:
        ref = os.path.join(t, "ref.png")
        reproduce(dream, settings, ref, init)
        return max_diff(png, ref)


def clip_cosine(dream, clip, png, prompt):
    r = subprocess.run([dream, "clip-score", "--model", clip, "--tsv", png, prompt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("dream clip-score failed: " + r.stderr)
    line = [l for l in r.stdout.splitlines() if l.strip()][0]
    return float(line.split("\t")[2])


# ---- GIMP 2.10 ----------------------------------------------------------------

def read_facts(logs):
    facts = {}
    for log in logs:
        with open(log, encoding="utf-8", errors="replace") as f:
            for m in re.finditer(r"DL\|([^|\n]*)\|([^|\n]*)\|([^\n]*)", f.read()):
                facts.setdefault(m.group(1), {})[m.group(2)] = m.group(3).strip()
    return facts


class Test:
    def __init__(self, name, facts):
        self.name, self.f, self.fails = name, facts.get(name, {}), []

    def check(self, cond, what):
        if not cond:
            self.fails.append(what)
        return cond

    def get(self, key):
        return self.f.get(key, "")


def judge_gimp2(data, dream, sd, clip, logs):
    facts = read_facts(logs)
    tests = []

    def layer(t, i, key):
        return t.get("%s-%d-%s" % (t.name, i, key))

    def png(t, i):
        return os.path.join(data, "%s-%d-out.png" % (t.name, i))

    def repro(t, i, init=None):
        try:
            d = reproduce_diff(dream, png(t, i), layer(t, i, "parasite"), init)
        except Exception as e:  # noqa: BLE001
            t.check(False, "reproducing layer %d from its parasite: %s" % (i, e))
            return
        t.check(d is not None and d <= 1,
                "layer %d equals `dream` run with its parasite's settings (max diff %s)" % (i, d))

    # g1: two images
    t = Test("g1", facts); tests.append(t)
    if t.check(t.get("status") == "ok", "status ok (%s)" % t.get("status")):
        t.check(t.get("count") == "2" and t.get("seeds") == "1234 1235", "2 layers, seeds 1234 1235")
        t.check(t.get("top") == (t.get("ids").split() or [""])[0], "returns the top layer first")
        for i, seed in enumerate((1234, 1235)):
            t.check(layer(t, i, "name") == "“a red circle” seed %d" % seed,
                    "layer %d named “a red circle” seed %d (%s)" % (i, seed, layer(t, i, "name")))
            t.check(layer(t, i, "pos") == str(i), "layer %d at position %d (top)" % (i, i))
            t.check(layer(t, i, "size") == "64 48" and layer(t, i, "offsets") == "0 0",
                    "layer %d is 64x48 at 0,0" % i)
            try:
                kind, s = parse_settings(layer(t, i, "parasite"))
                want = {"prompt": "a red circle", "negative": "blurry", "model": sd,
                        "seed": str(seed), "steps": "4", "cfg": "7.5", "sampler": "euler",
                        "width": "64", "height": "48"}
                t.check(kind == "txt2img" and all(s.get(k) == v for k, v in want.items()),
                        "layer %d parasite has every setting (%s)" % (i, layer(t, i, "parasite")))
            except ValueError as e:
                t.check(False, "parasite parses: %s" % e)
            repro(t, i)

    # g2: same seed twice; model defaults resolved; size rounded to 8
    t = Test("g2", facts); tests.append(t)
    a, b = Test("g2a", facts), Test("g2b", facts)
    if t.check(a.get("status") == "ok" and b.get("status") == "ok", "both runs ok"):
        t.check(a.get("g2a-0-size") == "40 24", "37x21 rounded to 40x24 (%s)" % a.get("g2a-0-size"))
        t.check(max_diff(png(a, 0), png(b, 0)) == 0, "same seed, same pixels")
        _, s = parse_settings(a.get("g2a-0-parasite"))
        t.check(int(s.get("steps", "0")) > 0 and s.get("sampler") not in ("", "default")
                and float(s.get("cfg", "-1")) >= 0, "model defaults written out: %s" % s)
        repro(a, 0)
        t.fails += a.fails

    # g3: img2img of the whole layer
    t = Test("g3", facts); tests.append(t)
    if t.check(t.get("status") == "ok", "status ok (%s)" % t.get("status")):
        t.check(t.get("count") == "1", "one layer")
        t.check(layer(t, 0, "pos") == str(int(t.get("src-pos") or 0) - 1), "directly above the source")
        t.check(layer(t, 0, "size") == "64 48" and layer(t, 0, "offsets") == "0 0",
                "same size and place as the source")
        t.check(layer(t, 0, "name") == "Reimagined “a blue square” seed 5", "named (%s)" % layer(t, 0, "name"))
        kind, s = parse_settings(layer(t, 0, "parasite"))
        t.check(kind == "img2img" and s.get("strength") == "0.6" and s.get("sampler") == "ddim",
                "img2img parasite with strength (%s)" % layer(t, 0, "parasite"))
        repro(t, 0, os.path.join(data, "up-in.png"))
        t.check(max_diff(os.path.join(data, "g3-src.png"), os.path.join(data, "up-in.png")) == 0,
                "source layer unchanged")

    # g4: img2img of the selection bounds of a moved layer
    t = Test("g4", facts); tests.append(t)
    if t.check(t.get("status") == "ok", "status ok (%s)" % t.get("status")):
        t.check(layer(t, 0, "offsets") == "18 10" and layer(t, 0, "size") == "30 20",
                "layer = selection bounds 30x20 at 18,10 (%s at %s)"
                % (layer(t, 0, "size"), layer(t, 0, "offsets")))
        t.check(layer(t, 0, "pos") == str(int(t.get("src-pos") or 0) - 1), "directly above the source")

    # g5: cancel
    t = Test("g5", facts); tests.append(t)
    t.check(t.get("status").startswith("error") and "cancel" in t.get("status").lower(),
            "cancelled (%s)" % t.get("status"))
    t.check(t.get("layers-after") == t.get("layers-before") and t.get("dirty") == "0",
            "nothing added, image clean")

    # g6: bad models
    t = Test("g6", facts); tests.append(t)
    b = Test("g6b", facts)
    t.check(t.get("status").startswith("error") and len(t.get("status")) > 12,
            "corrupt model: error with a message (%s)" % t.get("status"))
    t.check(b.get("status").startswith("error") and "no-such-model" in b.get("status"),
            "missing model: error names it (%s)" % b.get("status"))
    t.check(b.get("layers-after") == t.get("layers-before") and t.get("dirty") == "0",
            "nothing added, image clean")

    # g7: indexed
    t = Test("g7", facts); tests.append(t)
    t.check("indexed" in t.get("status"), "clear error for an indexed image (%s)" % t.get("status"))
    t.check(t.get("layers-after") == t.get("layers-before"), "nothing added")

    # g8: Rank by CLIP
    t = Test("g8", facts); tests.append(t)
    if t.check(t.get("status") == "ok", "status ok (%s)" % t.get("status")):
        t.check(t.get("count") == "3" and sorted(t.get("seeds").split()) == ["70", "71", "72"],
                "3 layers, seeds 70-72")
        scores = []
        for i in range(3):
            name = layer(t, i, "name")
            t.check(re.fullmatch(r"“a red circle” seed 7[012] — CLIP -?\d\.\d\d", name) is not None,
                    "layer %d name ends with its CLIP score (%s)" % (i, name))
            _, s = parse_settings(layer(t, i, "parasite"))
            scores.append(float(s.get("clip", "nan")))
            t.check(s.get("clip-model") == clip, "parasite names the CLIP model")
            repro(t, i)
        t.check(all(scores[i] >= scores[i + 1] for i in range(2)),
                "layers ordered best first by their scores %s" % scores)
        try:
            cli = [clip_cosine(dream, clip, png(t, i), "a red circle") for i in range(3)]
            t.check(all(abs(c - s) <= 0.002 for c, s in zip(cli, scores)),
                    "scores agree with `dream clip-score` (%s vs %s)" % (cli, scores))
            t.check(all(cli[i] >= cli[i + 1] - 0.0003 for i in range(2)),
                    "order agrees with `dream clip-score` %s" % cli)
        except Exception as e:  # noqa: BLE001
            t.check(False, str(e))

    # g9: the dialogs in a real window (gen_gui2.py)
    t = Test("g9", facts); tests.append(t)
    t.check(t.get("txt2img-dialog") == "yes" and t.get("img2img-dialog") == "yes",
            "both dialogs appeared (%s)" % (t.get("status") or t.f))
    t.check(t.get("txt2img-answer") == "ok", "Generate ran")
    t.check(t.get("layers-generated").isdigit() and t.get("layers-start").isdigit()
            and int(t.get("layers-generated")) == int(t.get("layers-start")) + 1,
            "Generate added one layer (%s -> %s)" % (t.get("layers-start"), t.get("layers-generated")))
    t.check(re.fullmatch(r'"?\(no prompt\) seed \d+"?', t.get("top-name")) is not None,
            "named with the dialog's (empty) prompt and a random seed (%s)" % t.get("top-name"))
    t.check(t.get("layers-end") == t.get("layers-generated"), "Escape in Reimagine Layer added nothing")

    failed = 0
    for t in tests:
        if t.fails:
            failed += 1
            print("FAIL generate-%s: %s" % (t.name, "; ".join(t.fails)))
        else:
            print("PASS generate-%s" % t.name)
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 7 and argv[1] == "gimp2":
        return judge_gimp2(argv[2], argv[3], argv[4], argv[5], argv[6:])
    if len(argv) in (5, 6) and argv[1] == "reproduce":
        init = argv[5] if len(argv) == 6 else None
        try:
            d = reproduce_diff(argv[2], argv[3], argv[4], init)
        except Exception as e:  # noqa: BLE001
            print("FAIL reproduce: %s" % e)
            return 1
        ok = d is not None and d <= 1
        print("%s equals `dream` run with its parasite's settings (max diff %s)"
              % ("PASS" if ok else "FAIL", d))
        return 0 if ok else 1
    if len(argv) == 6 and argv[1] == "clip-order":
        import json
        with open(argv[5], encoding="utf-8") as f:
            new = json.load(f)["new"]
        try:
            ours = [float(parse_settings(l["parasite"])[1]["clip"]) for l in new]
            cli = [clip_cosine(argv[2], argv[3], "result%d.png" % i, argv[4])
                   for i in range(len(new))]
        except Exception as e:  # noqa: BLE001
            print("FAIL clip-order: %s" % e)
            return 1
        ok = (len(new) > 1 and all(ours[i] >= ours[i + 1] for i in range(len(new) - 1))
              and all(abs(c - o) <= 0.002 for c, o in zip(cli, ours))
              and all(cli[i] >= cli[i + 1] - 0.0003 for i in range(len(cli) - 1)))
        print("%s layers best first by their parasite scores %s, which agree with "
              "`dream clip-score` %s" % ("PASS" if ok else "FAIL", ours, cli))
        return 0 if ok else 1
    if len(argv) >= 5 and argv[1] == "parasite":
        import json
        with open(argv[2], encoding="utf-8") as f:
            new = json.load(f)["new"]
        i = int(argv[3])
        text = new[i]["parasite"] if len(new) > i and new[i]["parasite"] else ""
        try:
            kind, kv = parse_settings(text)
        except (ValueError, IndexError) as e:
            print("FAIL parasite of layer %d does not parse (%s): %r" % (i, e, text))
            return 1
        kv["kind"] = kind
        bad = [w for w in argv[4:] if kv.get(w.partition("=")[0]) != w.partition("=")[2]]
        print("%s parasite of layer %d has %s%s" % ("FAIL" if bad else "PASS", i,
              " ".join(argv[4:]), (" — differs: %s in %r" % (bad, text)) if bad else ""))
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
