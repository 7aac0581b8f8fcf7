"""xwin.py — the X side of the GIMP GUI drivers (GIMP 3: gimp3/gui.py and
the drivers importing it; GIMP 2.10: gimp2/dl2gui.py and its users):
finding a window by its title and pressing keys in it with xdotool, under
Xvfb with no window manager."""
import subprocess
import sys
import time


def log(*a):
    print("[xwin]", *a, file=sys.stderr, flush=True)


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
    """The id of the last visible window whose title matches the regex
    `name`, or None after `timeout` s."""
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
    no visible window has that title any more: under load a key can land
    before the dialog has the focus and be lost, so press again (up to
    `tries` times, in the newest window of that title) while the dialog is
    still there after `wait` s. Returns the number of presses; raises
    RuntimeError when the dialog never closed."""
    for attempt in range(1, tries + 1):
        press(win, keys)
        deadline = time.time() + wait
        while time.time() < deadline:
            ids = xdo("search", "--onlyvisible", "--name", title)
            if not ids:
                return attempt
            if win not in ids:
                log(f"{title}: window {win} replaced by {ids[-1]}")
                win = ids[-1]
            time.sleep(0.5)
        log(f"{title}: still open {wait} s after {keys} (press {attempt})")
    raise RuntimeError(f"{title}: the dialog did not close after {tries} presses of {keys}")
