#!/usr/bin/env bash
# build.sh [OUT_FILE]: compiles the unchanged cuda/*.cu with g++ against the CPU stand-ins of
# emu.h into OUT_FILE (default build-emu/libsana-cuda.so), a module the core loads like the
# real one (SANA_CUDA_MODULE). See README.md. Needs g++ and python3 (run it in the chroot).
# Also run by meson (tests/cuda/meson.build) for the cuda-emu suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lib=${1:-$root/build-emu/libsana-cuda.so}
out=$lib.d
mkdir -p "$out/src"
flags=(-O1 -g -fPIC -fvisibility=hidden -D_GNU_SOURCE -D__CUDACC__ -I"$here/include" -I"$root/cuda"
       -I"$root/core" -I"$root/core/include" -include "$here/emu.h" -Wall -Wextra -Wno-unused-parameter
       -Wno-missing-field-initializers)
objs=()
for f in "$root"/cuda/*.cu; do
    b=$(basename "$f" .cu)
    python3 "$here/launch.py" "$f" "$out/src/$b.cc"
    g++ -std=c++17 "${flags[@]}" -c "$out/src/$b.cc" -o "$out/src/$b.o"
    objs+=("$out/src/$b.o")
done
g++ -std=c++17 -O1 -g -fPIC -fvisibility=hidden -c "$here/emu.cc" -o "$out/src/emu.o"
for f in status tensor util; do
    gcc -std=c17 -O1 -g -fPIC -fvisibility=hidden -D_GNU_SOURCE -I"$root/core" -I"$root/core/include" \
        -c "$root/core/$f.c" -o "$out/src/$f.o"
    objs+=("$out/src/$f.o")
done
g++ -shared -o "$lib" "${objs[@]}" "$out/src/emu.o" -lm
echo "$lib"
