#!/usr/bin/env python3
# launch.py SRC DST: rewrites a .cu file into C++ that emu.h can compile:
#   kernel<<<grid, block, smem, stream>>>(args)  ->  EMU_LAUNCH((grid, block, smem, stream), kernel, args)
#   extern __shared__ float name[];              ->  float *name = (float *)emu_dynamic_smem;
import re
import sys

src = open(sys.argv[1]).read()
src = re.sub(r"extern\s+__shared__\s+float\s+(\w+)\[\];", r"float *\1 = (float *)emu_dynamic_smem;", src)


def matching(s, i, open_ch, close_ch):
    """Index just past the bracket closing the one at s[i]."""
    depth = 0
    while i < len(s):
        if s[i] == open_ch:
            depth += 1
        elif s[i] == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise SystemExit("unbalanced " + open_ch)


out, pos = [], 0
for m in re.finditer(r"(\w+)<<<", src):
    if m.start() < pos:
        continue
    end_cfg = src.index(">>>", m.end())
    cfg = src[m.end():end_cfg]
    paren = src.index("(", end_cfg)
    close = matching(src, paren, "(", ")")
    args = src[paren + 1:close - 1]
    out.append(src[pos:m.start()])
    out.append("EMU_LAUNCH((%s), %s, %s)" % (cfg, m.group(1), args))
    pos = close
out.append(src[pos:])
open(sys.argv[2], "w").write("".join(out))
