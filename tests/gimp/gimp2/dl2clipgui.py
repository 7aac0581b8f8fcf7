#!/usr/bin/python3
"""The Score Captions and Describe Layer dialogs in a real GIMP 2.10 window
(under Xvfb), driven through the Script-Fu server and xdotool.

    xvfb-run -a -s "-screen 0 1280x900x24" dl2clipgui.py DATA_DIR MODEL OUTDIR

Score Captions opens with the last-used captions and model (set by a batch
run), Alt+S scores them, a screenshot is taken (OUTDIR/score-dialog.png),
Escape closes it: the procedure must return the same ranking as the batch
run. Describe Layer opens with the caption in its entry (screenshot
OUTDIR/describe-dialog.png), Escape closes it: the same caption. The
image must stay clean with one layer. Prints "DL|clipgui|key|value" facts.
Uses dl2gui.py's GIMP starter and Script-Fu client.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dl2gui  # noqa: E402
from dl2gui import Server, find_window, log, start_gimp, stop_gimp, xdo  # noqa: E402


def facts(text):
    """The fact lines of a Script-Fu answer (a quoted string: the first line
    starts with a quote, escapes stay as they are)."""
    out = []
    for line in text.replace("\\n", "\n").split("\n"):
        i = line.find("DL|clipgui|")
        if i >= 0:
            out.append(line[i:].rstrip('"'))
    return out


def main(data, model, out):
    gimp = start_gimp()
    srv = Server(dl2gui.PORT)
    try:
        err, text = srv.send(f'(dl-clipgui-open "{data}" "{model}")')
        log(*facts(text), sep="\n")
        pending = srv.send("(dl-clipgui-score)", wait=False)
        win = find_window("^Score Captions$", timeout=60)
        if not win:
            log("DL|clipgui|score-dialog|did not appear")
        else:
            log("DL|clipgui|score-dialog|shown")
            time.sleep(1.0)
            xdo("windowfocus", "--sync", win)
            xdo("key", "alt+s")                 # _Score
            time.sleep(6.0)
            subprocess.run(["import", "-window", win, os.path.join(out, "score-dialog.png")])
            dl2gui.press_until_gone(win, "^Score Captions$", "Escape")
        log(*facts(Server.answer(pending)[1]), sep="\n")

        pending = srv.send("(dl-clipgui-describe)", wait=False)
        win = find_window("^Describe Layer$", timeout=90)
        if not win:
            log("DL|clipgui|describe-dialog|did not appear")
        else:
            log("DL|clipgui|describe-dialog|shown")
            time.sleep(1.5)
            subprocess.run(["import", "-window", win, os.path.join(out, "describe-dialog.png")])
            dl2gui.press_until_gone(win, "^Describe Layer$", "Escape")
        log(*facts(Server.answer(pending)[1]), sep="\n")
    finally:
        stop_gimp(gimp, srv)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
