#!/usr/bin/env python3
"""The `sana` command's ControlNet and multi-step options: each mistake is one line naming the
option or file and what is accepted, a non-zero exit, and no file left behind; and the good
calls work (a control image of another size is resized, a sketch is turned into a line map).

usage: test_cli_control.py SANA_EXE DATA_DIR
"""

import os
import struct
import sys
import tempfile
import zlib

from test_cli import expect, run  # same folder: one line per mistake, counted there
import test_cli


def png(path, width, height, pixel):
    """A small RGB PNG written by hand (no imaging library needed): pixel(x, y) -> (r, g, b)."""
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)
    return data


def main():
    sana, data = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "x.png")
    sprint = os.path.join(data, "pipeline-sprint")
    sana_t2i = os.path.join(data, "pipeline-sana")
    sana_cn = os.path.join(data, "pipeline-sana-controlnet")
    control = os.path.join(sana_cn, "control-control.png")
    gen = ["generate", "--quiet", "--output", out, "--prompt", "a fox", "--no-binning", "--width", "64",
           "--height", "64", "--seed", "1"]

    # Control images that cannot be read: named, before any model is loaded.
    good = png(os.path.join(tmp, "good.png"), 50, 40, lambda x, y: (255, 255, 255) if x == y else (0, 0, 0))
    trunc = os.path.join(tmp, "truncated.png")
    with open(trunc, "wb") as f:
        f.write(good[: len(good) // 2])
    notpng = os.path.join(tmp, "notes.png")
    with open(notpng, "w") as f:
        f.write("not an image\n")
    expect("truncated PNG", run(sana, *gen, "--model", sana_cn, "--control", trunc), trunc, "unreadable PNG")
    expect("not a PNG", run(sana, *gen, "--model", sana_cn, "--control", notpng), notpng, "not a PNG file")
    expect("missing control file", run(sana, *gen, "--model", sana_cn, "--control", os.path.join(tmp, "nope.png")),
           "nope.png", "cannot open")
    expect("unknown control mode", run(sana, *gen, "--model", sana_cn, "--control", control, "--control-mode", "hed"),
           "--control-mode 'hed'", "as-is or sketch")
    expect("control scale out of range", run(sana, *gen, "--model", sana_cn, "--control", control,
                                             "--control-scale", "11"), "--control-scale '11'", "0 to 10")
    expect("unknown wiring", run(sana, *gen, "--model", sana_cn, "--controlnet-wiring", "x"), "--controlnet-wiring 'x'")
    expect("--save-control without --control", run(sana, *gen, "--model", sana_cn, "--save-control", out),
           "--save-control needs --control")

    # Models and ControlNets that do not go together.
    expect("a ControlNet whose width does not match", run(sana, *gen, "--model", sana_t2i, "--controlnet",
                                                          os.path.join(data, "controlnet-sana", "controlnet")),
           "hidden size 24", "transformer's 16")
    expect("a ControlNet folder as the model", run(sana, *gen, "--model", os.path.join(sana_cn, "controlnet")),
           "is a ControlNet", "--controlnet")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    no_models = dict(SANA_MODEL_DIR="", HF_HUB_CACHE=empty, HF_HOME=empty, HOME=empty, XDG_CACHE_HOME=empty)
    expect("a ControlNet without a base model", run(sana, *gen, "--controlnet", os.path.join(sana_cn, "controlnet"),
                                                    "--control", control, env=no_models),
           "needs a base SANA model", "--model")
    expect("a multi-step ControlNet on SANA-Sprint", run(sana, *gen, "--model", sprint, "--controlnet", sana_cn),
           "multi-step SANA", "SANA-Sprint")
    expect("a control image without a ControlNet", run(sana, *gen, "--model", sprint, "--control", control),
           "--control", "has no ControlNet", "--controlnet")
    expect("Sprint steps out of range", run(sana, *gen, "--model", sprint, "--steps", "9"), "--steps '9'", "1 to 4")
    expect("multi-step steps out of range", run(sana, *gen, "--model", sana_t2i, "--steps", "51"), "--steps '51'",
           "1 to 50")
    leftovers = [f for f in os.listdir(tmp) if f not in ("good.png", "truncated.png", "notes.png", "empty")]
    print(("ok   " if not leftovers else "FAIL ") + "nothing half-written is left" +
          (f": {leftovers}" if leftovers else ""))

    # Good calls: a control image of another size (resized), a sketch, the ControlNet from a
    # pipeline folder given with --controlnet, the NVlabs wiring; a multi-step model without one.
    saved = os.path.join(tmp, "control-seen.png")
    if expect("a 50x40 control image for a 64x64 image", run(sana, *gen, "--model", sana_cn, "--steps", "2",
                                                              "--control", os.path.join(tmp, "good.png"),
                                                              "--save-control", saved), "seed 1", rc_ok=True):
        with open(saved, "rb") as f:
            head = f.read(24)
        size = struct.unpack(">II", head[16:24])
        ok = size == (64, 64)
        print(("ok   " if ok else "FAIL ") + f"the control image the model saw is 64x64 (got {size[0]}x{size[1]})")
        test_cli.failures += not ok
    sketch = os.path.join(tmp, "sketch.png")
    png(sketch, 64, 64, lambda x, y: (0, 0, 0) if abs(x - 32) < 3 else (250, 250, 250))
    expect("a sketch", run(sana, *gen, "--model", sana_cn, "--steps", "2", "--control", sketch, "--control-mode",
                           "sketch"), "seed 1", rc_ok=True)
    expect("--controlnet with a pipeline folder", run(sana, *gen, "--model", sana_t2i, "--controlnet", sana_cn,
                                                      "--steps", "2", "--control", control, "--width", "192",
                                                      "--height", "128", "--controlnet-wiring", "nvlabs"),
           "seed 1", rc_ok=True)
    expect("multi-step with a negative prompt", run(sana, *gen, "--model", sana_t2i, "--steps", "2",
                                                    "--negative-prompt", "blurry"), "2 steps", rc_ok=True)
    expect("inspect shows the ControlNet", run(sana, "inspect", sana_cn), "controlnet", "SanaControlNetModel",
           rc_ok=True)
    print(f"cli-control: {test_cli.failures + bool(leftovers)} failure(s)")
    return 1 if (test_cli.failures or leftovers) else 0


if __name__ == "__main__":
    sys.exit(main())
