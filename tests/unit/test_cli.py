#!/usr/bin/env python3
"""The `sana` command's bad-input handling: each mistake is one line naming the option or file and
what is accepted, a non-zero exit, and no file left behind.

usage: test_cli.py SANA_EXE MODEL_DIR
"""

import os
import subprocess
import sys
import tempfile

failures = 0


def run(sana, *args, env=None):
    e = dict(os.environ, OMP_NUM_THREADS="1")
    e.update(env or {})
    p = subprocess.run([sana, *args], capture_output=True, text=True, env=e)
    return p.returncode, p.stdout + p.stderr


def expect(what, rc_out, *needles, rc_ok=False):
    global failures
    rc, out = rc_out
    lines = [l for l in out.strip().splitlines() if l.strip()]
    ok = (rc == 0) == rc_ok and all(n in out for n in needles) and (rc_ok or len(lines) == 1)
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": exit {rc}, output {out!r}"))
    if ok and not rc_ok:
        print("     -> " + lines[0])
    failures += not ok
    return ok


def main():
    sana, model = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "x.png")
    gen = ["generate", "--model", model, "--quiet", "--output", out]
    expect("no prompt", run(sana, "generate", "--model", model), "--prompt is required")
    expect("steps out of range", run(sana, *gen, "--prompt", "a", "--steps", "9"), "--steps '9'", "1 to 4")
    expect("steps not a number", run(sana, *gen, "--prompt", "a", "--steps", "two"), "--steps 'two'")
    expect("negative seed", run(sana, *gen, "--prompt", "a", "--seed", "-3"), "--seed '-3'")
    expect("width too large", run(sana, *gen, "--prompt", "a", "--width", "99999"), "--width '99999'", "32 to 4096")
    expect("exact size not a multiple of 32", run(sana, *gen, "--prompt", "a", "--width", "100", "--no-binning"),
           "multiples of 32")
    expect("guidance not a number", run(sana, *gen, "--prompt", "a", "--guidance", "nan"), "--guidance 'nan'")
    expect("empty prompt", run(sana, *gen, "--prompt", "   "), "prompt is empty")
    expect("stray argument", run(sana, *gen, "--prompt", "a", "fox"), "unexpected argument 'fox'")
    expect("missing model folder", run(sana, "generate", "--model", "/nonexistent/m", "--prompt", "a", "--quiet"),
           "/nonexistent/m", "not a folder")
    expect("unknown device", run(sana, *gen, "--prompt", "a", "--device", "gpu7"), "device 'gpu7'")
    bad_out = os.path.join(tmp, "no-such-dir", "x.png")
    expect("unwritable output", run(sana, "generate", "--model", model, "--prompt", "a", "--quiet", "--width", "64",
                                    "--height", "64", "--no-binning", "--output", bad_out), bad_out, "cannot write")
    leftovers = [f for f in os.listdir(tmp) if f != "no-such-dir"]
    print(("ok   " if not leftovers else "FAIL ") + "nothing half-written is left" + (f": {leftovers}" if leftovers else ""))
    expect("a good call works", run(sana, *gen, "--prompt", "a fox", "--width", "64", "--height", "64",
                                     "--no-binning", "--seed", "3"), "seed 3", rc_ok=True)
    expect("inspect a model folder", run(sana, "inspect", model), "transformer", "complete", rc_ok=True)
    expect("inspect a broken folder", run(sana, "inspect", "/nonexistent/m"), "/nonexistent/m")
    print(f"cli: {failures + bool(leftovers)} failure(s)")
    return 1 if (failures or leftovers) else 0


if __name__ == "__main__":
    sys.exit(main())
