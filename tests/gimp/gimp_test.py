#!/usr/bin/env python3
"""Tests of the plug-in inside the real GIMP 3 (gimp-console-3.0, batch Script-Fu).

usage: gimp_test.py SCENARIO --plugin PATH --sana PATH --model DIR --workdir DIR

Each scenario starts GIMP with a fresh hermetic profile (GIMP3_DIRECTORY) holding only this
plug-in, runs one Script-Fu batch under a timeout with --quit, and checks what the script
reported (gimp-message lines "SANA-RESULT key=value ...") and the files it exported. Exit
status: 0 pass, 1 fail, 77 skipped (no GIMP).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402  (tests/gimp/png.py, a pure-Python reader)

GIMP = "gimp-console-3.0"
TIMEOUT = 300
PROMPT = "a red fox in a snowy forest"

failures = 0


def check(cond, what, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or not detail else ": " + detail))
    if not cond:
        failures += 1
    return cond


def scheme_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_gimp(args, script, lang=None, catalog=None):
    profile = tempfile.mkdtemp(prefix="gimp-profile-", dir=args.workdir)
    with open(os.path.join(profile, "gimprc"), "w") as f:
        f.write("(show-welcome-dialog no)\n(check-updates no)\n")
    plug_dir = os.path.join(profile, "plug-ins", "sana-sprint")
    os.makedirs(plug_dir)
    shutil.copy2(args.plugin, os.path.join(plug_dir, "sana-sprint"))
    if catalog:  # as meson install lays it out: PLUG-IN-DIR/locale/LANG/LC_MESSAGES/
        target = os.path.join(plug_dir, "locale", "de", "LC_MESSAGES")
        os.makedirs(target)
        shutil.copy2(catalog, target)
    env = dict(os.environ, GIMP3_DIRECTORY=profile, SANA_MODEL_DIR=args.model, OMP_NUM_THREADS="2")
    if lang:
        env.update(LANG=lang, LC_ALL=lang, LANGUAGE="")
    env.pop("DISPLAY", None)
    cmd = [GIMP, "-i", "-n", "--quit", "--batch-interpreter=plug-in-script-fu-eval",
           "-b", "(script-fu-use-v3) " + script]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        # TimeoutExpired carries bytes even with text=True
        text = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
        out, rc = text(e.stdout) + text(e.stderr), 124
    results = {}
    for line in out.splitlines():
        m = re.search(r"SANA-RESULT (.*)", line)
        if m:
            for kv in re.findall(r'(\S+?)=("[^"]*"|\S+)', m.group(1)):
                results[kv[0]] = kv[1].strip('"')
    return rc, out, results


def report(*pairs):
    """Scheme code that reports key=value pairs through gimp-message."""
    parts = []
    for key, expr in pairs:
        parts.append(scheme_str(f" {key}="))
        parts.append(expr)
    return "(gimp-message (string-append \"SANA-RESULT\" " + " ".join(parts) + "))"


def num(expr):
    return f"(number->string {expr})"


def generate_call(args, extra):
    return ("(plug-in-sana-generate #:run-mode RUN-NONINTERACTIVE " + extra +
            f" #:prompt {scheme_str(PROMPT)} #:steps 2 #:seed 7 #:model-folder {scheme_str(args.model)})")


def images_close(a_path, b_path, tol):
    a, b = png.read(a_path), png.read(b_path)
    if (a.width, a.height) != (b.width, b.height):
        return False, f"sizes {a.width}x{a.height} and {b.width}x{b.height}"
    worst = 0
    for y in range(a.height):
        ra, rb = a.rows[y], b.rows[y]
        for x in range(a.width):
            for c in range(3):
                d = abs(ra[x * a.channels + c] - rb[x * b.channels + c])
                worst = max(worst, d)
    return worst <= tol, f"max difference {worst}/255"


def scenario_generate(args):
    """Named arguments on an RGB image: exactly one new layer, on top of the active layer,
    of the requested size, with the parameters parasite; its pixels match `sana generate`."""
    out_png = os.path.join(args.workdir, "gimp-layer.png")
    script = f"""
(let* ((img (gimp-image-new 80 60 RGB))
       (bg (gimp-layer-new img "bg" 80 60 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
  (gimp-image-insert-layer img bg 0 0)
  (gimp-drawable-fill bg FILL-WHITE)
  (let ((layer {generate_call(args, "#:image img #:width 96 #:height 64")}))
    {report(("layers", num("(vector-length (gimp-image-get-layers img))")),
            ("position", num("(gimp-image-get-item-position img layer)")),
            ("bg_position", num("(gimp-image-get-item-position img bg)")),
            ("width", num("(gimp-drawable-get-width layer)")),
            ("height", num("(gimp-drawable-get-height layer)")),
            ("name", "(string-append \"\\\"\" (gimp-item-get-name layer) \"\\\"\")"),
            ("parasite", "(if (member \"sana-generate-parameters\" (gimp-item-get-parasite-list layer)) \"yes\" \"no\")"))}
    (gimp-item-set-visible bg FALSE)
    (gimp-image-resize-to-layers img)
    (gimp-file-save RUN-NONINTERACTIVE img {scheme_str(out_png)} -1)
    (gimp-image-delete img)))
"""
    rc, out, r = run_gimp(args, script)
    check(rc == 0, "GIMP batch run succeeded", f"exit {rc}\n{out[-3000:]}")
    check(r.get("layers") == "2", "exactly one layer was added", r.get("layers", "none"))
    check(r.get("position") == "0" and r.get("bg_position") == "1", "the new layer sits above the active layer",
          f"positions {r.get('position')}, {r.get('bg_position')}")
    check((r.get("width"), r.get("height")) == ("96", "64"), "the layer has the requested size",
          f"{r.get('width')}x{r.get('height')}")
    check("seed 7" in r.get("name", ""), "the layer is named after prompt and seed", r.get("name", ""))
    check(r.get("parasite") == "yes", "the generation parameters are attached as a parasite", r.get("parasite", "none"))
    ref_png = os.path.join(args.workdir, "cli.png")
    p = subprocess.run([args.sana, "generate", "--model", args.model, "--prompt", PROMPT, "--steps", "2", "--seed", "7",
                        "--width", "96", "--height", "64", "--output", ref_png, "--quiet"],
                       capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
    check(p.returncode == 0, "sana generate with the same parameters", p.stderr[-2000:])
    if check(os.path.exists(out_png) and os.path.exists(ref_png), "GIMP exported the layer and the CLI wrote its image"):
        ok, detail = images_close(out_png, ref_png, 2)
        check(ok, "layer pixels match `sana generate` within 2/255", detail)


def scenario_precision(args):
    """A 32-bit float linear-light image: babl converts the sRGB 8-bit result into it, so the
    exported layer still matches `sana generate` within 2/255."""
    out_png = os.path.join(args.workdir, "gimp-float.png")
    script = f"""
(let* ((img (gimp-image-new 96 64 RGB))
       (bg (gimp-layer-new img "bg" 96 64 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
  (gimp-image-insert-layer img bg 0 0)
  (gimp-image-convert-precision img PRECISION-FLOAT-LINEAR)
  (let ((layer {generate_call(args, "#:image img #:width 96 #:height 64")}))
    {report(("precision", num("(gimp-image-get-precision img)")))}
    (gimp-item-set-visible bg FALSE)
    (gimp-file-save RUN-NONINTERACTIVE img {scheme_str(out_png)} -1)
    (gimp-image-delete img)))
"""
    rc, out, r = run_gimp(args, script)
    check(rc == 0, "GIMP batch run on a float linear image succeeded", f"exit {rc}\n{out[-3000:]}")
    ref_png = os.path.join(args.workdir, "cli.png")
    p = subprocess.run([args.sana, "generate", "--model", args.model, "--prompt", PROMPT, "--steps", "2", "--seed", "7",
                        "--width", "96", "--height", "64", "--output", ref_png, "--quiet"],
                       capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
    if check(p.returncode == 0 and os.path.exists(out_png), "both images were written", p.stderr[-2000:]):
        ok, detail = images_close(out_png, ref_png, 2)
        check(ok, "the layer, stored as linear float, exports back within 2/255 of `sana generate`", detail)


def scenario_no_image(args):
    """Called without an image: a new image of the requested size holding the layer."""
    script = f"""
(let ((layer {generate_call(args, "#:width 64 #:height 96")}))
  (let ((img (gimp-item-get-image layer)))
    {report(("width", num("(gimp-image-get-width img)")), ("height", num("(gimp-image-get-height img)")),
            ("layers", num("(vector-length (gimp-image-get-layers img))")))}
    (gimp-image-delete img)))
"""
    rc, out, r = run_gimp(args, script)
    check(rc == 0, "GIMP batch run succeeded", f"exit {rc}\n{out[-3000:]}")
    check((r.get("width"), r.get("height"), r.get("layers")) == ("64", "96", "1"),
          "a new 64x96 image with one layer was created", str(r))


def expect_error(args, call_extra, model, what, *needles, image="(gimp-image-new 32 32 RGB)"):
    script = f"""
(let ((img {image}))
  (plug-in-sana-generate #:run-mode RUN-NONINTERACTIVE #:image img #:prompt {scheme_str(PROMPT)}
                         #:model-folder {scheme_str(model)} {call_extra})
  {report(("unexpected", "\"success\""))})
"""
    rc, out, r = run_gimp(args, script)
    check(rc != 0 and "unexpected" not in r, what + ": the call fails", f"exit {rc}")
    for n in needles:
        check(n in out, what + f": the message says {n!r}", out[-1500:])
    check("crashed" not in out.lower(), what + ": the plug-in did not crash")


def scenario_missing_model(args):
    """A missing or incomplete model folder: an execution error naming the folder and the file."""
    expect_error(args, "", "/nonexistent/sana-model", "missing model folder", "/nonexistent/sana-model",
                 "not a folder")
    partial = os.path.join(args.workdir, "partial-model")
    shutil.copytree(args.model, partial, dirs_exist_ok=True)
    shutil.rmtree(os.path.join(partial, "tokenizer"))
    expect_error(args, "", partial, "model folder without its tokenizer", partial,
                 "missing tokenizer/tokenizer.json")


def scenario_gray(args):
    """A grayscale image: a clear message, and the image is left alone."""
    expect_error(args, "", args.model, "grayscale image", "grayscale", "RGB",
                 image="(let* ((i (gimp-image-new 32 32 GRAY)) (l (gimp-layer-new i \"g\" 32 32 GRAY-IMAGE 100 LAYER-MODE-NORMAL))) (gimp-image-insert-layer i l 0 0) i)")


def scenario_bad_input(args):
    """An empty prompt is a calling error; an interactive call in a console GIMP does not crash."""
    script = f"""
(let ((img (gimp-image-new 32 32 RGB)))
  (plug-in-sana-generate #:run-mode RUN-NONINTERACTIVE #:image img #:prompt "   "
                         #:model-folder {scheme_str(args.model)}))
"""
    rc, out, r = run_gimp(args, script)
    check(rc != 0 and "prompt is empty" in out, "an empty prompt is refused with a message", out[-1500:])
    script = "(let ((img (gimp-image-new 32 32 RGB))) (plug-in-sana-generate #:run-mode RUN-INTERACTIVE #:image img))"
    rc, out, r = run_gimp(args, script)
    check("crashed" not in out.lower(), "RUN-INTERACTIVE in a console GIMP does not crash", out[-1500:])


def scenario_translation(args):
    """With a German locale, the menu label and a message come from the installed catalog."""
    locale_dir = os.path.join(os.path.dirname(args.plugin), "..", "po")
    mo = os.path.join(locale_dir, "de", "LC_MESSAGES", "sana-sprint.mo")
    if not os.path.exists(mo):
        print("skip: the German catalog was not built")
        return 77
    if "de_DE.utf8" not in subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout:
        print("skip: no de_DE.UTF-8 locale")
        return 77
    script = '(plug-in-sana-generate #:run-mode RUN-NONINTERACTIVE #:image (gimp-image-new 32 32 RGB) #:prompt " ")'
    rc, out, r = run_gimp(args, script, lang="de_DE.UTF-8", catalog=mo)
    check(rc != 124, "GIMP finished within its time limit", out[-1500:])
    # GIMP caches the translated menu label it queried from the plug-in in pluginrc.
    pluginrc = "".join(open(f, errors="replace").read() for f in glob.glob(os.path.join(args.workdir, "gimp-profile-*", "pluginrc")))
    check("_Text zu Bild …" in pluginrc, "the menu label is German", "not in pluginrc")
    check("Die Beschreibung ist leer" in out, "the plug-in's error message is German", out[-1500:])


def controlnet_call(args, image, drawable, extra=""):
    return (f"(plug-in-sana-controlnet #:run-mode RUN-NONINTERACTIVE #:image {image} #:drawables (vector {drawable})"
            f" #:prompt {scheme_str(PROMPT)} #:control-type \"sketch\" #:seed 3 #:model-folder {scheme_str(args.model)}"
            f" #:controlnet-folder {scheme_str(args.controlnet)} {extra})")


def scenario_controlnet(args):
    """A layer with strokes: a rectangular selection gives one new layer of the selection's size
    at its position; no selection gives the whole drawable, at its offsets."""
    script = f"""
(let* ((img (gimp-image-new 240 180 RGB))
       (bg (gimp-layer-new img "bg" 240 180 RGB-IMAGE 100 LAYER-MODE-NORMAL))
       (ink (gimp-layer-new img "strokes" 160 120 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
  (gimp-image-insert-layer img bg 0 0)
  (gimp-image-insert-layer img ink 0 0)
  (gimp-layer-set-offsets ink 40 30)
  (gimp-drawable-fill bg FILL-WHITE)
  (gimp-drawable-fill ink FILL-WHITE)
  (gimp-context-set-foreground '(0 0 0))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 60 70 120 8)
  (gimp-drawable-edit-fill ink FILL-FOREGROUND)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 90 40 8 100)
  (gimp-drawable-edit-fill ink FILL-FOREGROUND)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 50 45 100 64)
  (let ((a {controlnet_call(args, "img", "ink")}))
    (gimp-selection-none img)
    (let ((b {controlnet_call(args, "img", "ink")}))
      {report(("layers", num("(vector-length (gimp-image-get-layers img))")),
              ("a_size", "(string-append (number->string (gimp-drawable-get-width a)) \"x\" (number->string (gimp-drawable-get-height a)))"),
              ("a_at", "(string-append (number->string (car (gimp-drawable-get-offsets a))) \",\" (number->string (cadr (gimp-drawable-get-offsets a))))"),
              ("a_position", num("(gimp-image-get-item-position img a)")),
              ("b_size", "(string-append (number->string (gimp-drawable-get-width b)) \"x\" (number->string (gimp-drawable-get-height b)))"),
              ("b_at", "(string-append (number->string (car (gimp-drawable-get-offsets b))) \",\" (number->string (cadr (gimp-drawable-get-offsets b))))"))}
      (gimp-image-delete img))))
"""
    rc, out, r = run_gimp(args, script)
    check(rc == 0, "GIMP batch run succeeded", f"exit {rc}\n{out[-3000:]}")
    check(r.get("layers") == "4", "each call added exactly one layer", r.get("layers", "none"))
    check(r.get("a_size") == "100x64" and r.get("a_at") == "50,45",
          "with a selection: the layer covers exactly the selection (100x64 at 50,45)", f"{r.get('a_size')} at {r.get('a_at')}")
    check(r.get("b_size") == "160x120" and r.get("b_at") == "40,30",
          "without a selection: the whole drawable (160x120 at 40,30)", f"{r.get('b_size')} at {r.get('b_at')}")
    # A selection beside the layer: nothing to use.
    script = f"""
(let* ((img (gimp-image-new 240 180 RGB))
       (ink (gimp-layer-new img "strokes" 100 80 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
  (gimp-image-insert-layer img ink 0 0)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 150 120 60 40)
  {controlnet_call(args, "img", "ink")}
  {report(("unexpected", "\"success\""))})
"""
    rc, out, r = run_gimp(args, script)
    check(rc != 0 and "unexpected" not in r, "a selection outside the layer: the call fails", f"exit {rc}")
    check("does not touch the layer" in out and "strokes" in out,
          "a selection outside the layer: the message names the layer and says why", out[-1500:])


SCENARIOS = {
    "generate": scenario_generate,
    "no-image": scenario_no_image,
    "precision": scenario_precision,
    "missing-model": scenario_missing_model,
    "gray": scenario_gray,
    "bad-input": scenario_bad_input,
    "translation": scenario_translation,
    "controlnet": scenario_controlnet,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--sana", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--controlnet", help="a ControlNet folder matching --model (controlnet scenario)")
    args = ap.parse_args()
    if shutil.which(GIMP) is None:
        print(f"skip: {GIMP} not found")
        return 77
    os.makedirs(args.workdir, exist_ok=True)
    args.workdir = tempfile.mkdtemp(prefix=args.scenario + "-", dir=args.workdir)
    if SCENARIOS[args.scenario](args) == 77:
        return 77
    print(f"{args.scenario}: {failures} failure(s)")
    if failures == 0:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
