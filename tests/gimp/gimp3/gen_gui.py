#!/usr/bin/python3
"""The dialogs of Text to Image and Reimagine Layer in a real GIMP 3 window
(under Xvfb), driven like gui.py (whose helpers this imports):

    xvfb-run -a -s "-screen 0 1280x900x24" gen_gui.py IMAGE SD_MODEL OUT_DIR

1. a non-interactive Text to Image run with SD_MODEL, 2. an interactive
   run on a fresh profile: screenshot of the dialog
   (OUT_DIR/dialog-txt2img.png), Alt+G runs it with the defaults shown
   (the built-in model — run-generate.sh points DREAM_MODELS_DIR at a copy
   of the tiny model named shapes-sd — no prompt, a random seed) -> one
   more layer, 3. Reimagine
   Layer interactively: screenshot (dialog-img2img.png), Escape -> nothing
   added. Writes OUT_DIR/facts.json.
"""
import importlib.util
import json
import os
import subprocess
import sys
import time

_spec = importlib.util.spec_from_file_location(
    "dl_gui", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gui.py"))
gui = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gui)


def count():
    return int(gui.sf(gui.LAYER_COUNT))


def top_name():
    return gui.sf("(let ((l (gimp-image-get-layers dl-img)))"
                  " (car (gimp-item-get-name (vector-ref (if (vector? l) l (car l)) 0))))").strip('"')


def main(image, model, out):
    os.makedirs(out, exist_ok=True)
    facts = {}
    gimp = gui.start_gimp()
    try:
        gui.open_image(image)
        facts["layers_start"] = count()
        gui.sf('(plug-in-dream-txt2img #:run-mode RUN-NONINTERACTIVE #:image dl-img'
               ' #:drawables (vector dl-layer) #:prompt "a red circle" #:model "%s"'
               ' #:seed 3 #:steps 2 #:count 1)' % model)
        facts["layers_batch"] = count()

        s = gui.sf_send("(plug-in-dream-txt2img #:run-mode RUN-INTERACTIVE #:image dl-img"
                        " #:drawables (vector dl-layer))", wait=False)
        win = gui.find_window("^Text to Image$")
        facts["txt2img_dialog"] = bool(win)
        if win:
            time.sleep(1.5)
            subprocess.run(["import", "-window", win, os.path.join(out, "dialog-txt2img.png")])
            # _Generate (Return would go to the prompt)
            facts["generate_presses"] = gui.press_until_gone(win, "^Text to Image$", "alt+g")
            s.settimeout(300)
            s.recv(4)
            facts["layers_dialog"] = gui.wait_count(facts["layers_batch"] + 1)
            facts["top_name"] = top_name()
        s.close()

        s = gui.sf_send("(plug-in-dream-img2img #:run-mode RUN-INTERACTIVE #:image dl-img"
                        " #:drawables (vector dl-layer))", wait=False)
        win = gui.find_window("^Reimagine Layer$")
        facts["img2img_dialog"] = bool(win)
        if win:
            time.sleep(1.5)
            subprocess.run(["import", "-window", win, os.path.join(out, "dialog-img2img.png")])
            gui.press_until_gone(win, "^Reimagine Layer$", "Escape")
            s.settimeout(60)
            s.recv(4)
            time.sleep(1)
            facts["layers_after_escape"] = count()
        s.close()
    except Exception as e:  # noqa: BLE001 - reported through facts.json
        facts["exception"] = f"{type(e).__name__}: {e}"
    finally:
        gui.stop_gimp(gimp)
        with open(os.path.join(out, "facts.json"), "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=1, ensure_ascii=False)
    gui.log(facts)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
