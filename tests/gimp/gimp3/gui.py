#!/usr/bin/python3
"""Drives a real GIMP 3 window under Xvfb, for what batch mode cannot do.

    xvfb-run -a -s "-screen 0 1280x900x24" gui.py undo IMAGE OUT_DIR
        opens IMAGE in a window, runs plug-in-dream-denoise (sigma 25) on
        it, presses Ctrl+Z once in the image window, then Ctrl+Y; writes
        OUT_DIR/facts.json with the layer counts seen after each step.
    xvfb-run -a -s "-screen 0 1280x900x24" gui.py dialog IMAGE OUT_DIR
        runs the plug-in interactively: saves a screenshot of its dialog as
        OUT_DIR/dialog.png, presses Enter (Denoise) and writes
        OUT_DIR/facts.json with the layer count and the new layer's name.

GIMP 3.0's PDB has no "undo" procedure, so the undo check needs the GUI:
GIMP starts with the Script-Fu server (plug-in-script-fu-server, loopback
only) as its batch command; this script sends it Script-Fu and presses
keys with xdotool. GIMP3_DIRECTORY must name a throw-away profile with the
plug-in installed.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

PORT = 20000 + os.getpid() % 20000


def log(*a):
    print("[gui.py]", *a, file=sys.stderr, flush=True)


def sf_send(cmd, wait=True, timeout=300):
    """Script-Fu server protocol: 'G', 16-bit length, text; the answer is
    'G', error flag, 16-bit length, text."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    data = cmd.encode()
    s.sendall(b"G" + len(data).to_bytes(2, "big") + data)
    if not wait:
        return s
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            raise EOFError("Script-Fu server closed the connection")
        head += chunk
    n, body = int.from_bytes(head[2:4], "big"), b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            break
        body += chunk
    s.close()
    return head[1], body.decode("utf-8", "replace")


def sf(cmd):
    err, text = sf_send(cmd)
    if err:
        raise RuntimeError(f"Script-Fu error for {cmd!r}: {text}")
    return text.strip()


def start_gimp():
    prof = os.environ["GIMP3_DIRECTORY"]
    with open(os.path.join(prof, "gimprc"), "a", encoding="utf-8") as f:
        f.write("(show-welcome-dialog no)\n")
    cmd = ["gimp-3.0", "--no-splash", "--batch-interpreter", "plug-in-script-fu-eval",
           "-b", f'(plug-in-script-fu-server RUN-NONINTERACTIVE "127.0.0.1" {PORT} "")']
    logf = open(os.path.join(os.environ.get("DREAM_GUI_LOGDIR", "/tmp"), "gimp-gui.log"), "w")
    gimp = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
            return gimp
        except OSError:
            if gimp.poll() is not None:
                break
            time.sleep(0.5)
    gimp.kill()
    raise SystemExit("GIMP's Script-Fu server did not come up")


def stop_gimp(gimp):
    try:
        sf_send("(gimp-quit 1)", wait=False, timeout=10).close()
    except OSError:
        pass
    try:
        gimp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        gimp.kill()  # only the GIMP started here
        gimp.wait()
    backups = os.path.join(os.environ["GIMP3_DIRECTORY"], "backups")
    if os.path.isdir(backups):
        for f in os.listdir(backups):
            os.remove(os.path.join(backups, f))


def xdo(*args, timeout=10):
    """xdotool, never waiting more than timeout s: "windowfocus --sync" waits
    for the focus to arrive and, once in a while under Xvfb with no window
    manager, it never does (the whole case then hung to its timeout)."""
    try:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                              timeout=timeout).stdout.split()
    except subprocess.TimeoutExpired:
        log("xdotool", *args, f"gave no answer in {timeout} s")
        return []


def find_window(name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = xdo("search", "--onlyvisible", "--name", name)
        if ids:
            return ids[-1]
        time.sleep(0.3)
    return None


def press(win, keys):
    xdo("windowfocus", "--sync", win)
    time.sleep(0.3)
    xdo("key", "--clearmodifiers", keys)


def press_until_gone(win, title, keys, tries=5, wait=15):
    """Presses keys in the dialog window `win` (title regex `title`) until
    the dialog closes: under load a key can land before the dialog has the
    focus and be lost, so press again (up to `tries` times) while the dialog
    is still there after `wait` s. Returns the number of presses; raises
    RuntimeError when the dialog never closed."""
    for attempt in range(1, tries + 1):
        press(win, keys)
        deadline = time.time() + wait
        while time.time() < deadline:
            if win not in xdo("search", "--onlyvisible", "--name", title):
                return attempt
            time.sleep(0.5)
        log(f"{title}: still open {wait} s after {keys} (press {attempt})")
    raise RuntimeError(f"{title}: the dialog did not close after {tries} presses of {keys}")


LAYER_COUNT = ("(let ((l (gimp-image-get-layers dl-img)))"
               " (if (vector? l) (vector-length l) (vector-length (car l))))")


def open_image(path):
    sf(f'(define dl-img (car (gimp-file-load RUN-NONINTERACTIVE "{path}")))')
    sf("(define dl-layer (vector-ref (let ((l (gimp-image-get-layers dl-img)))"
       " (if (vector? l) l (car l))) 0))")
    sf("(gimp-display-new dl-img)")


def wait_count(want, timeout=15):
    deadline, n = time.time() + timeout, None
    while time.time() < deadline:
        n = int(sf(LAYER_COUNT))
        if n == want:
            break
        time.sleep(0.3)
    return n


def undo(image, out):
    os.makedirs(out, exist_ok=True)
    facts, gimp = {}, None
    try:
        gimp = start_gimp()
        open_image(image)
        facts["layers_before"] = int(sf(LAYER_COUNT))
        sf("(plug-in-dream-denoise #:run-mode RUN-NONINTERACTIVE #:image dl-img"
           ' #:drawables (vector dl-layer) #:sigma 25.0 #:model "color")')
        facts["layers_after_run"] = int(sf(LAYER_COUNT))
        # the image window: "*[Untitled]-1.0 (RGB color …, 2 layers) 256x192 – GIMP"
        win = find_window(r"layers?\) [0-9]+x[0-9]+")
        facts["window"] = bool(win)
        if not win:
            tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True,
                                  text=True).stdout
            facts["windows"] = [l.strip() for l in tree.splitlines() if '"' in l][:15]
        if win:
            press(win, "ctrl+z")
            facts["layers_after_one_undo"] = wait_count(facts["layers_before"])
            press(win, "ctrl+y")
            facts["layers_after_redo"] = wait_count(facts["layers_after_run"])
    except (Exception, SystemExit) as e:  # noqa: BLE001 - reported through facts.json
        facts["exception"] = f"{type(e).__name__}: {e}"
    finally:
        if gimp:
            stop_gimp(gimp)
        with open(os.path.join(out, "facts.json"), "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=1)
    log(facts)


def dialog(image, out):
    """Interactive run: the dialog appears (screenshot), Enter runs it."""
    os.makedirs(out, exist_ok=True)
    facts, gimp = {}, None
    try:
        gimp = start_gimp()
        open_image(image)
        facts["layers_before"] = int(sf(LAYER_COUNT))
        s = sf_send("(plug-in-dream-denoise #:run-mode RUN-INTERACTIVE #:image dl-img"
                    " #:drawables (vector dl-layer))", wait=False)
        win = find_window("^Dream Denoise$")
        facts["dialog"] = bool(win)
        if win:
            time.sleep(1.5)
            subprocess.run(["import", "-window", win, os.path.join(out, "dialog.png")])
            # Enter = the default button, Denoise
            facts["enter_presses"] = press_until_gone(win, "^Dream Denoise$", "Return")
            s.settimeout(300)
            s.recv(4)  # the run's answer: the procedure has returned
            facts["layers_after"] = wait_count(facts["layers_before"] + 1)
            facts["top_name"] = sf("(let ((l (gimp-image-get-layers dl-img)))"
                                   " (car (gimp-item-get-name"
                                   " (vector-ref (if (vector? l) l (car l)) 0))))").strip('"')
        s.close()
    except (Exception, SystemExit) as e:  # noqa: BLE001 - reported through facts.json
        facts["exception"] = f"{type(e).__name__}: {e}"
    finally:
        if gimp:
            stop_gimp(gimp)
        with open(os.path.join(out, "facts.json"), "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=1, ensure_ascii=False)
    log(facts)


def on_term(signum, frame):
    """The case's timeout: end through the finally blocks (facts.json, GIMP
    stopped) instead of leaving nothing behind."""
    raise SystemExit(f"stopped by signal {signum} (the case's timeout)")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    if len(sys.argv) == 4 and sys.argv[1] == "undo":
        undo(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "dialog":
        dialog(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
