#!/usr/bin/env python3
"""GUI test under Xvfb: open Filters > Generate > Text to Image... from the menu, type a
prompt, press Generate, check that one layer appears, then undo it with Ctrl+Z.

usage: gui_test.py --plugin PATH --model DIR --workdir DIR [--screenshots DIR]

GIMP runs with a hermetic profile; a Script-Fu batch creates and displays an image, then
watches its layer count and writes what it saw into files the test reads. xdotool drives the
menus and the dialog (there is no window manager, so windows are focused, not activated);
ImageMagick's `import` takes the screenshots. Exit status: 0 pass, 1 fail, 77 skipped.
"""

import argparse
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimp_test  # noqa: E402  (check() and its failure count)
from gimp_test import check  # noqa: E402

DISPLAY = None  # set by start_xvfb
PROMPT = "a lighthouse on a cliff at sunset"


def xdo(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                          env=dict(os.environ, DISPLAY=DISPLAY))


def wait_window(name, timeout):
    end = time.time() + timeout
    while time.time() < end:
        r = xdo("search", "--onlyvisible", "--name", name)
        ids = r.stdout.split()
        if ids:
            return ids[-1]
        time.sleep(0.3)
    return None


def wait_file(path, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            time.sleep(0.2)
            with open(path) as f:
                return f.read().strip().strip('"')
        time.sleep(0.3)
    return None


def start_xvfb():
    """Starts Xvfb on a display it picks itself (-displayfd skips displays whose lock files are in
    use), so a lock left behind by an earlier run can never block this one. Returns the process
    and the display name, or (None, why)."""
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    number = b""
    end = time.time() + 30
    while not number.endswith(b"\n") and time.time() < end:
        if select.select([r], [], [], max(0.0, end - time.time()))[0]:
            chunk = os.read(r, 16)
            if not chunk:
                break
            number += chunk
        if xvfb.poll() is not None:
            break
    os.close(r)
    if not number.strip().isdigit():
        stop(xvfb)
        return None, f"Xvfb did not report a display within 30 s (exit status {xvfb.poll()})"
    return xvfb, ":" + number.strip().decode()


def stop(proc):
    """SIGTERM first (Xvfb then removes its lock file), SIGKILL if it does not exit."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def screenshot(path):
    subprocess.run(["import", "-display", DISPLAY, "-window", "root", path], capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--screenshots")
    args = ap.parse_args()
    for tool in ("gimp-3.0", "Xvfb", "xdotool", "xdpyinfo", "import"):
        if shutil.which(tool) is None:
            print(f"skip: {tool} not found")
            return 77
    os.makedirs(args.workdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="gui-", dir=args.workdir)
    shots = args.screenshots or work
    os.makedirs(shots, exist_ok=True)
    profile = os.path.join(work, "profile")
    os.makedirs(os.path.join(profile, "plug-ins", "sana-sprint"))
    shutil.copy2(args.plugin, os.path.join(profile, "plug-ins", "sana-sprint", "sana-sprint"))
    with open(os.path.join(profile, "gimprc"), "w") as f:
        f.write("(show-welcome-dialog no)\n(check-updates no)\n")
    added, undone = os.path.join(work, "added.txt"), os.path.join(work, "undone.txt")

    # The script displays an image, then polls its layer count (each PDB call lets GIMP run
    # its main loop, so the menu, the plug-in and Ctrl+Z proceed meanwhile).
    script = f"""
(script-fu-use-v3)
(define (layers img) (vector-length (gimp-image-get-layers img)))
(define (wait-for img n tries) (if (and (> tries 0) (not (= (layers img) n))) (wait-for img n (- tries 1)) (layers img)))
(define (note path value) (let ((p (open-output-file path))) (write value p) (close-output-port p)))
(let* ((img (gimp-image-new 320 240 RGB))
       (bg (gimp-layer-new img "Background" 320 240 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
  (gimp-image-insert-layer img bg 0 0)
  (gimp-drawable-fill bg FILL-WHITE)
  (gimp-display-new img)
  (gimp-displays-flush)
  (wait-for img 2 1000000)
  (let ((top (vector-ref (gimp-image-get-layers img) 0)))
    (note "{added}" (string-append (number->string (layers img)) " "
                                   (number->string (gimp-drawable-get-width top)) "x"
                                   (number->string (gimp-drawable-get-height top)) " "
                                   (gimp-item-get-name top))))
  (wait-for img 1 1000000)
  (note "{undone}" (number->string (layers img))))
"""
    global DISPLAY
    xvfb, DISPLAY = start_xvfb()
    if not check(xvfb is not None, "Xvfb starts", DISPLAY):
        return 1
    env = dict(os.environ, DISPLAY=DISPLAY, GIMP3_DIRECTORY=profile, SANA_MODEL_DIR=args.model,
               OMP_NUM_THREADS="2", NO_AT_BRIDGE="1")
    gimp = None
    log = open(os.path.join(work, "gimp.log"), "w")
    try:
        for _ in range(50):
            if subprocess.run(["xdpyinfo", "-display", DISPLAY], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        gimp = subprocess.Popen(["gimp-3.0", "--no-splash", "--batch-interpreter=plug-in-script-fu-eval",
                                 "-b", script], env=env, stdout=log, stderr=subprocess.STDOUT)
        image_win = wait_window("Untitled", 120)
        if not check(image_win is not None, "GIMP shows the image window"):
            return 1
        time.sleep(2)
        # Filters > Generate > Text to Image...: Alt+R opens Filters; Up wraps to its last
        # entry, Generate; Right opens it; T, the item's mnemonic, picks Text to Image.
        xdo("windowfocus", "--sync", image_win)
        xdo("key", "alt+r")
        time.sleep(0.8)
        xdo("key", "Up")
        time.sleep(0.3)
        xdo("key", "Right")
        time.sleep(0.5)
        screenshot(os.path.join(shots, "menu.png"))
        xdo("key", "t")
        dialog = wait_window("Text to Image", 60)
        if not check(dialog is not None, "the menu opens the Text to Image dialog"):
            return 1
        time.sleep(1.5)
        xdo("windowfocus", "--sync", dialog)
        xdo("key", "alt+p")  # the _Prompt mnemonic focuses the prompt
        xdo("type", "--delay", "20", PROMPT)
        time.sleep(0.5)
        screenshot(os.path.join(shots, "text-to-image-dialog.png"))
        xdo("key", "alt+g")  # _Generate
        result = wait_file(added, 600)
        check(result is not None and result.startswith("2 ") and "(seed" in result,
              "Generate adds one layer named after the prompt and seed", str(result))
        time.sleep(1.0)
        screenshot(os.path.join(shots, "result.png"))
        xdo("windowfocus", "--sync", image_win)
        xdo("key", "ctrl+z")
        result = wait_file(undone, 60)
        check(result == "1", "one Ctrl+Z removes the generated layer", str(result))
    finally:
        if gimp:
            gimp.kill()
            gimp.wait()
        stop(xvfb)
        log.close()
    if gimp_test.failures:
        with open(os.path.join(work, "gimp.log")) as f:
            print(f.read()[-3000:])
    print(f"gui: {gimp_test.failures} failure(s)")
    return 1 if gimp_test.failures else 0


if __name__ == "__main__":
    sys.exit(main())
