#!/usr/bin/python3
"""Drive a real GIMP 2.10 window (under Xvfb) for what batch mode cannot do.

    xvfb-run -a -s "-screen 0 1280x900x24" dl2gui.py gui DATA_DIR
        test 8: run plug-in-dream-denoise on a displayed image, press Ctrl+Z
        once in the image window (one undo step must remove the whole
        result), then Ctrl+Y.
        test 10: open the dialog (RUN-INTERACTIVE), switch "Estimate noise
        level" on, press OK.
        Prints the facts as "DL|test|key|value" lines for dl2check.py.

    xvfb-run -a -s "-screen 0 1280x900x24" dl2gui.py shot DATA_DIR OUT.png
        opens the interactive dialog, switches "Estimate noise level" on,
        and saves a screenshot of the dialog.

GIMP is started with the Script-Fu server (plug-in-script-fu-server) as its
batch command; this script sends it Script-Fu (dl2-tests.scm must be in the
profile's scripts folder) and presses keys with xdotool. GIMP2_DIRECTORY
must name a throw-away profile that has the plug-in installed.
"""
import os
import re
import socket
import subprocess
import sys
import time

PORT = 10000 + os.getpid() % 20000
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from xwin import find_window, press, press_until_gone, xdo  # noqa: E402,F401 (re-exported)


def log(*a, sep=" "):
    print(*a, sep=sep, flush=True)


class Server:
    """The Script-Fu server protocol: 'G', 16-bit length, command;
    answer 'G', error byte, 16-bit length, text."""

    def __init__(self, port):
        self.port = port

    def send(self, cmd, wait=True, timeout=300):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        data = cmd.encode()
        s.sendall(b"G" + len(data).to_bytes(2, "big") + data)
        if not wait:
            return s
        return self.answer(s)

    @staticmethod
    def answer(s):
        def recv(n):
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise EOFError("server closed the connection")
                buf += chunk
            return buf
        head = recv(4)
        text = recv(int.from_bytes(head[2:4], "big")).decode("utf-8", "replace")
        s.close()
        return head[1], text


def facts_of(text):
    return re.findall(r"DL\|t\d+\|[^|\n\"\\]*\|[^\n\"\\]*", text.replace("\\n", "\n"))


def start_gimp():
    cmd = ["gimp-2.10", "--no-splash", "-d", "-f", "-b",
           f'(plug-in-script-fu-server RUN-NONINTERACTIVE "127.0.0.1" {PORT} "")']
    gimp = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def stop_gimp(gimp, srv):
    try:
        s = srv.send("(gimp-quit 1)", wait=False, timeout=10)
        s.close()
    except OSError:
        pass
    try:
        gimp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        gimp.kill()        # only the GIMP this script started
        gimp.wait()


def poll(srv, cmd, want, timeout=15):
    deadline, f = time.time() + timeout, []
    while time.time() < deadline:
        f = facts_of(srv.send(cmd)[1])
        if f and f[0].endswith("|" + want):
            break
        time.sleep(0.5)
    return f


def t8_undo(srv, data):
    err, text = srv.send(f'(dl-t8-run "{data}")')
    f = facts_of(text)
    log(*f, sep="\n")
    if err or "DL|t8|status|ok" not in f:
        log(f"DL|t8|status|run failed: {text[:200]}")
        return
    win = find_window(r"noisy.*GIMP")
    if not win:
        log("DL|t8|status|no image window found")
        return
    press(win, "ctrl+z")
    log(*poll(srv, '(dl-gui-count "t8" "layers-undone")', "1"), sep="\n")
    press(win, "ctrl+y")
    log(*poll(srv, '(dl-gui-count "t8" "layers-redone")', "2"), sep="\n")
    log(*facts_of(srv.send('(dl-gui-top "t8" "redo-")')[1]), sep="\n")


def t10_dialog(srv, data):
    srv.send(f'(dl-t10-open "{data}")')
    pending = srv.send("(dl-t10-run)", wait=False)
    win = find_window("^Dream Denoise$", timeout=60)
    if not win:
        log("DL|t10|status|the dialog did not appear")
        return
    time.sleep(1.0)
    xdo("windowfocus", "--sync", win)
    xdo("key", "alt+e")              # "_Estimate noise level"
    time.sleep(1.0)
    press_until_gone(win, "^Dream Denoise$", "alt+o")   # "_OK"
    err, text = Server.answer(pending)
    log(*facts_of(text), sep="\n")


def gui(data):
    """Tests 8 and 10 in one GIMP session."""
    gimp = start_gimp()
    srv = Server(PORT)
    try:
        t8_undo(srv, data)
        t10_dialog(srv, data)
    finally:
        stop_gimp(gimp, srv)


def shot(data, out):
    gimp = start_gimp()
    srv = Server(PORT)
    try:
        srv.send(f'(dl-t10-open "{data}")')
        pending = srv.send("(dl-t10-run)", wait=False)
        win = find_window("^Dream Denoise$", timeout=60)
        if not win:
            raise SystemExit("the dialog did not appear")
        time.sleep(1.5)
        xdo("windowfocus", "--sync", win)
        xdo("key", "alt+e")                  # the "_Estimate noise level" toggle
        time.sleep(1.0)
        subprocess.run(["import", "-window", win, out], check=True)
        xdo("key", "Escape")
        log("dialog closed:", Server.answer(pending))
    finally:
        stop_gimp(gimp, srv)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "gui":
        gui(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "shot":
        shot(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
