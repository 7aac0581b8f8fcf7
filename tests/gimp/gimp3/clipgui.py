#!/usr/bin/python3
"""The Score Captions and Describe Layer dialogs in a real GIMP 3 window
(under Xvfb), with gui.py's Script-Fu client and xdotool.

    xvfb-run -a -s "-screen 0 1280x900x24" clipgui.py IMAGE MODEL OUT_DIR

GIMP runs with $DREAM_MODELS_DIR holding only MODEL, so that it is the
default CLIP the dialogs use (model ""). A batch run of each procedure
(the dialog's default captions, model "") is the reference; then each
runs interactively: Score Captions opens, Alt+S scores, a screenshot (OUT_DIR/score-dialog.png), Escape closes; Describe
Layer shows its caption (OUT_DIR/describe-dialog.png), Escape closes.
OUT_DIR/facts.json: the batch and interactive answers (they must be the
same), the layer count before and after, the image's dirty flag.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gui import (LAYER_COUNT, find_window, log, open_image, press_until_gone,  # noqa: E402
                 read_answer, sf, sf_send, start_gimp, stop_gimp, xdo)


def answer(s):
    s.settimeout(300)
    return read_answer(s)[1].strip()


def interactive(proc, title, out_png, keys, facts, key):
    s = sf_send(f"(plug-in-dream-{proc} #:run-mode RUN-INTERACTIVE #:image dl-img"
                " #:drawables (vector dl-layer))", wait=False)
    win = find_window(f"^{title}$", timeout=90)
    facts[key + "_dialog"] = bool(win)
    if win:
        time.sleep(1.5)
        for k in keys:
            xdo("windowfocus", "--sync", win)
            xdo("key", k)
            time.sleep(6.0)
        subprocess.run(["import", "-window", win, out_png])
        facts[key + "_escape_presses"] = press_until_gone(win, f"^{title}$", "Escape")
    facts[key + "_interactive"] = answer(s)


def main(image, model, out):
    os.makedirs(out, exist_ok=True)
    os.environ["DREAM_MODELS_DIR"] = os.path.dirname(os.path.abspath(model))
    facts = {}
    gimp = start_gimp()
    try:
        open_image(image)
        facts["layers_before"] = int(sf(LAYER_COUNT))
        facts["score_batch"] = sf('(plug-in-dream-clip-score #:run-mode RUN-NONINTERACTIVE'
                                  ' #:image dl-img #:drawables (vector dl-layer)'
                                   ' #:captions "a photograph\\na drawing\\na painting" #:model "")')
        facts["describe_batch"] = sf('(plug-in-dream-describe #:run-mode RUN-NONINTERACTIVE'
                                     ' #:image dl-img #:drawables (vector dl-layer)'
                                     ' #:model "" #:vocabulary "")')
        sf("(gimp-image-clean-all dl-img)")
        interactive("clip-score", "Score Captions", os.path.join(out, "score-dialog.png"),
                    ["alt+s"], facts, "score")
        interactive("describe", "Describe Layer", os.path.join(out, "describe-dialog.png"),
                    [], facts, "describe")
        facts["layers_after"] = int(sf(LAYER_COUNT))
        facts["dirty"] = sf("(car (gimp-image-is-dirty dl-img))")
    except Exception as e:  # noqa: BLE001 - reported through facts.json
        facts["exception"] = f"{type(e).__name__}: {e}"
    finally:
        stop_gimp(gimp)
        with open(os.path.join(out, "facts.json"), "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=1, ensure_ascii=False)
    log(facts)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
