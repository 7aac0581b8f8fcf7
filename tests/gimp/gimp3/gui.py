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
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from xwin import find_window, press, press_until_gone, xdo  # noqa: E402,F401 (re-exported)


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
    return read_answer(s)


def read_answer(s):
    """The answer on socket s (then closed): (error flag, text)."""
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
    # a plug-in of this profile that outlived GIMP (a crashed one hangs in
    # its exit handler) must not stay behind
    plugins = os.path.join(os.environ["GIMP3_DIRECTORY"], "plug-ins")
    if subprocess.run(["pkill", "-9", "-f", plugins]).returncode == 0:
        log("killed plug-in processes left behind under", plugins)
    backups = os.path.join(os.environ["GIMP3_DIRECTORY"], "backups")
    if os.path.isdir(backups):
        for f in os.listdir(backups):
            os.remove(os.path.join(backups, f))


def dump_stacks(pattern="plug-ins/dreamlayer/dreamlayer"):
    """Logs every thread's stack of the processes matching `pattern` (gdb),
    for a run that does not answer."""
    pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            out = subprocess.run(["gdb", "-p", pid, "-batch", "-ex", "thread apply all bt 30"],
                                 capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.TimeoutExpired) as e:
            out = f"gdb failed: {e}"
        log(f"stacks of {pid} ({pattern}):\n{out}")


def wait_answer(s, timeout=300, stuck=90):
    """Waits for the answer's head on the Script-Fu socket `s` of a
    procedure run; when none came after `stuck` s, logs the plug-in's
    stacks once (a hung run then shows where) and waits on."""
    s.settimeout(stuck)
    try:
        return s.recv(4)
    except socket.timeout:
        log(f"no answer {stuck} s after the dialog closed")
        dump_stacks()
    s.settimeout(max(1, timeout - stuck))
    return s.recv(4)


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
            wait_answer(s)  # the procedure has returned
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
