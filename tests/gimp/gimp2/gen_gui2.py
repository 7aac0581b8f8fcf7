#!/usr/bin/python3
"""The dialogs of Text to Image and Reimagine Layer in a real GIMP 2.10
window (under Xvfb), driven like dl2gui.py (whose helpers this imports):

    xvfb-run -a -s "-screen 0 1280x900x24" gen_gui2.py IMAGE OUT_DIR

Opens IMAGE, runs Text to Image interactively: screenshot of the dialog
(OUT_DIR/g9-txt2img.png), Alt+G (Generate) with the defaults (the built-in
model: run-generate.sh points DREAM_MODELS_DIR at a copy of the tiny model
named shapes-sd) -> one layer more; then Reimagine Layer: screenshot
(g9-img2img.png), Escape -> nothing added. Prints "DL|g9|key|value" facts.
"""
import importlib.util
import os
import subprocess
import sys
import time

_spec = importlib.util.spec_from_file_location(
    "dl2gui", os.path.join(os.path.dirname(os.path.abspath(__file__)), "dl2gui.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)


def fact(k, v):
    print("DL|g9|%s|%s" % (k, v), flush=True)


def count(srv):
    err, text = srv.send("(car (gimp-image-get-layers dlg-img))")
    return text.strip()


def dialog(srv, call, title, keys, out, shot):
    pending = srv.send(call, wait=False)
    win = g.find_window(title, timeout=60)
    fact(shot + "-dialog", "yes" if win else "no")
    if not win:
        return
    time.sleep(1.5)
    subprocess.run(["import", "-window", win, os.path.join(out, "g9-%s.png" % shot)])
    g.press_until_gone(win, title, keys)
    pending.settimeout(300)
    err, text = g.Server.answer(pending)
    fact(shot + "-answer", "error" if err else "ok")


def main(image, out):
    gimp = g.start_gimp()
    srv = g.Server(g.PORT)
    try:
        srv.send('(define dlg-img (car (gimp-file-load RUN-NONINTERACTIVE "%s" "%s")))'
                 % (image, image))
        srv.send("(gimp-display-new dlg-img)")
        fact("layers-start", count(srv))
        dialog(srv, '(plug-in-dream-txt2img RUN-INTERACTIVE dlg-img'
                    ' (car (gimp-image-get-active-layer dlg-img)) "" "" "" 0 0 -1 0 -1 "" 1 0 "")',
               "^Text to Image$", "alt+g", out, "txt2img")
        fact("layers-generated", count(srv))
        err, text = srv.send("(car (gimp-item-get-name (vector-ref (cadr (gimp-image-get-layers dlg-img)) 0)))")
        fact("top-name", text.strip())
        dialog(srv, '(plug-in-dream-img2img RUN-INTERACTIVE dlg-img'
                    ' (car (gimp-image-get-active-layer dlg-img)) "" "" "" 0.6 -1 0 -1 "" 1)',
               "^Reimagine Layer$", "Escape", out, "img2img")
        fact("layers-end", count(srv))
    finally:
        g.stop_gimp(gimp, srv)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
