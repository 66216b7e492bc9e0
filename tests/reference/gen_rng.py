"""Reference noise for the seed parity test: torch.Generator("cpu").manual_seed(s) + torch.randn.

PyTorch's CPU normal kernel depends on the CPU capability it dispatches to (a scalar Box-Muller
for DEFAULT/AVX512, Cephes polynomials for AVX2), so this writes one file per capability, each
generated in a child process with ATEN_CPU_CAPABILITY set:
  tests/data/rng/randn-default.safetensors, tests/data/rng/randn-avx2.safetensors
Keys: "seed{S}.n{N}" (one draw of N values after seeding) and "seed{S}.seq{i}" (consecutive
draws from one generator, as a pipeline draws its initial latents and then one tensor per step).

Run from the repository root:  python tests/reference/gen_rng.py
"""

import os
import subprocess
import sys

SEEDS = [0, 1, 2, 42, 1234, 99999, 2**31 - 1, 2**32 + 5, 2**53 + 1, 2**64 - 1]
SIZES = [1, 15, 16, 17, 1000, 32 * 32 * 32]
SEQUENCE = [17, 5, 3, 1000, 1, 32]  # mixes the double (n < 16) and float (n >= 16) paths
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "rng")


def generate(path):
    import torch
    from safetensors.torch import save_file

    out = {}
    for s in SEEDS:
        for n in SIZES:
            g = torch.Generator("cpu").manual_seed(s)
            out[f"seed{s}.n{n}"] = torch.randn(n, generator=g)
        g = torch.Generator("cpu").manual_seed(s)
        for i, n in enumerate(SEQUENCE):
            out[f"seed{s}.seq{i}"] = torch.randn(n, generator=g)
    save_file(out, path)
    print(path, torch.backends.cpu.get_cpu_capability(), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 2:
        generate(sys.argv[1])
    else:
        os.makedirs(OUT, exist_ok=True)
        for cap in ("default", "avx2"):
            env = dict(os.environ, ATEN_CPU_CAPABILITY=cap)
            subprocess.run([sys.executable, __file__, os.path.join(OUT, f"randn-{cap}.safetensors")],
                           env=env, check=True)
