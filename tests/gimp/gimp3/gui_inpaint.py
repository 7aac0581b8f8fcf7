#!/usr/bin/python3
"""Inpaint Selection and Extend Canvas in a real GIMP 3 window (Xvfb).

    xvfb-run -a -s "-screen 0 1280x900x24" gui_inpaint.py IMAGE OUT_DIR

Uses gui.py's helpers (Script-Fu server, xdotool). Runs both procedures
interactively on IMAGE: each dialog must appear (screenshots
OUT_DIR/inpaint-dialog.png, OUT_DIR/outpaint-dialog.png), Enter runs it
with the defaults of a fresh profile; then one Ctrl+Z must undo the whole
run (layer count, and for Extend Canvas the canvas size too). Writes
OUT_DIR/facts.json.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gui  # noqa: E402

SIZE = "(list (car (gimp-image-get-width dl-img)) (car (gimp-image-get-height dl-img)))"


def top_name():
    return gui.sf("(let ((l (gimp-image-get-layers dl-img)))"
                  " (car (gimp-item-get-name (vector-ref (if (vector? l) l (car l)) 0))))").strip('"')


def interactive(call, title, shot, facts, key):
    s = gui.sf_send(call, wait=False)
    win = gui.find_window(f"^{title}$")
    facts[key + "_dialog"] = bool(win)
    if win:
        time.sleep(1.5)
        subprocess.run(["import", "-window", win, shot])
        facts[key + "_presses"] = gui.press_until_gone(win, f"^{title}$", "Return")
        s.settimeout(300)
        s.recv(4)  # the procedure has returned
    s.close()
    return bool(win)


def main(image, out):
    os.makedirs(out, exist_ok=True)
    os.environ.setdefault("DREAM_GUI_LOGDIR", out)
    facts = {}
    gimp = gui.start_gimp()
    try:
        gui.open_image(image)
        n0 = int(gui.sf(gui.LAYER_COUNT))
        facts["layers_before"] = n0
        facts["size_before"] = gui.sf(SIZE)
        gui.sf("(gimp-image-select-rectangle dl-img CHANNEL-OP-REPLACE 100 60 60 50)")
        if interactive("(plug-in-dream-inpaint #:run-mode RUN-INTERACTIVE #:image dl-img"
                       " #:drawables (vector dl-layer))", "Inpaint Selection",
                       os.path.join(out, "inpaint-dialog.png"), facts, "inpaint"):
            facts["inpaint_layers_after"] = gui.wait_count(n0 + 1)
            facts["inpaint_top_name"] = top_name()
        win = gui.find_window(r"layers?\) [0-9]+x[0-9]+")
        facts["window"] = bool(win)
        if win:
            gui.press(win, "ctrl+z")
            facts["inpaint_layers_after_undo"] = gui.wait_count(n0)
        gui.sf("(gimp-selection-none dl-img)")
        if interactive("(plug-in-dream-outpaint #:run-mode RUN-INTERACTIVE #:image dl-img"
                       " #:drawables (vector dl-layer))", "Extend Canvas",
                       os.path.join(out, "outpaint-dialog.png"), facts, "outpaint"):
            facts["outpaint_layers_after"] = gui.wait_count(n0 + 1)
            facts["outpaint_size_after"] = gui.sf(SIZE)
            facts["outpaint_top_name"] = top_name()
        win = gui.find_window(r"layers?\) [0-9]+x[0-9]+")
        if win:
            gui.press(win, "ctrl+z")
            facts["outpaint_layers_after_undo"] = gui.wait_count(n0)
            time.sleep(0.5)
            facts["outpaint_size_after_undo"] = gui.sf(SIZE)
    except Exception as e:  # noqa: BLE001 - reported through facts.json
        facts["exception"] = f"{type(e).__name__}: {e}"
    finally:
        gui.stop_gimp(gimp)
        with open(os.path.join(out, "facts.json"), "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=1, ensure_ascii=False)
    gui.log(facts)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
