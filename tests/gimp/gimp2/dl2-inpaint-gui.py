#!/usr/bin/python3
"""Inpaint Selection and Extend Canvas in a real GIMP 2.10 window (Xvfb).

    xvfb-run -a -s "-screen 0 1280x900x24" dl2-inpaint-gui.py PHOTO OUT_DIR

Uses dl2gui.py's helpers (Script-Fu server, xdotool). Opens PHOTO in a
window, selects a rectangle, runs plug-in-dream-inpaint interactively
(screenshot OUT_DIR/inpaint-dialog.png, then _Fill), presses Ctrl+Z once;
then plug-in-dream-outpaint interactively (OUT_DIR/outpaint-dialog.png,
_Extend with the defaults: 256 px on the right), Ctrl+Z once. Prints facts
"DL|g1|key|value" for dl2-inpaint-check.py.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dl2gui as g  # noqa: E402


def fact(key, value):
    print(f"DL|g1|{key}|{value}", flush=True)


def value(srv, expr):
    err, text = srv.send(expr)
    return text.strip()


def poll(srv, expr, want, timeout=20):
    deadline, v = time.time() + timeout, None
    while time.time() < deadline:
        v = value(srv, expr)
        if v == want:
            break
        time.sleep(0.5)
    return v


def interactive(srv, call, title, key, shot):
    pending = srv.send(call, wait=False)
    win = g.find_window(f"^{title}$", timeout=60)
    fact(key + "-dialog", 1 if win else 0)
    if not win:
        pending.close()
        return False
    time.sleep(1.5)
    subprocess.run(["import", "-window", win, shot])
    g.press_until_gone(win, f"^{title}$", key_of[key])
    err, text = g.Server.answer(pending)
    fact(key + "-answer", "error" if err else "ok")
    return True


key_of = {"inpaint": "alt+f", "outpaint": "alt+e"}   # _Fill, _Extend


def main(photo, out):
    os.makedirs(out, exist_ok=True)
    gimp = g.start_gimp()
    srv = g.Server(g.PORT)
    count = "(car (gimp-image-get-layers dli-img))"
    width = "(car (gimp-image-width dli-img))"
    try:
        srv.send(f'(define dli-img (car (gimp-file-load RUN-NONINTERACTIVE "{photo}" "{photo}")))')
        srv.send("(define dli-drw (car (gimp-image-get-active-layer dli-img)))")
        srv.send("(gimp-display-new dli-img)")
        n0 = value(srv, count)
        fact("layers-before", n0)
        srv.send("(gimp-image-select-rectangle dli-img CHANNEL-OP-REPLACE 100 60 60 50)")
        if interactive(srv, "(plug-in-dream-inpaint RUN-INTERACTIVE dli-img dli-drw"
                       ' 0 0 64 0 "" "" "" 25 7.5 1.0)', "Inpaint Selection", "inpaint",
                       os.path.join(out, "inpaint-dialog.png")):
            fact("inpaint-layers", poll(srv, count, str(int(n0) + 1)))
            fact("inpaint-top", value(srv, "(car (gimp-item-get-name (aref (cadr"
                                      " (gimp-image-get-layers dli-img)) 0)))"))
            win = g.find_window(r"photo.*GIMP")
            if win:
                g.press(win, "ctrl+z")
                fact("inpaint-layers-undone", poll(srv, count, n0))
        srv.send("(gimp-selection-none dli-img)")
        if interactive(srv, "(plug-in-dream-outpaint RUN-INTERACTIVE dli-img dli-drw"
                       ' 0 256 0 0 16 0 0 256 0 "" "" "" 25 7.5 1.0 0 0 "" "")', "Extend Canvas",
                       "outpaint", os.path.join(out, "outpaint-dialog.png")):
            fact("outpaint-layers", poll(srv, count, str(int(n0) + 1)))
            fact("outpaint-width", value(srv, width))
            win = g.find_window(r"photo.*GIMP")
            if win:
                g.press(win, "ctrl+z")
                fact("outpaint-layers-undone", poll(srv, count, n0))
                fact("outpaint-width-undone", poll(srv, width, "256"))
    except Exception as e:  # noqa: BLE001 - reported as a fact
        fact("exception", f"{type(e).__name__}: {e}")
    finally:
        g.stop_gimp(gimp, srv)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
