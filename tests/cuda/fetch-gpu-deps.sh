#!/usr/bin/env bash
# fetch-gpu-deps.sh: downloads, on the development machine (Debian 12 host with the trixie
# chroot of .ci/trixie), the build dependencies that a borrowed GPU machine may lack: OpenBLAS
# and yyjson (and OpenBLAS's run-time libraries), libpng and zlib's headers (the sana command
# writes PNGs), as .deb files into .gpu-deps/ (ignored by git). run-gpu-checks.sh and
# tests/bench/bench_gpu.sh unpack them there (tests/cuda/gpu-env.sh) without installing
# anything. About 14 MB.
#
# OpenBLAS comes from the host's Debian 12 (the oldest C library, so it runs on any newer
# distribution); yyjson exists only from Debian 13 on, so it comes from the chroot.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu-deps
mkdir -p .gpu-deps
chmod 777 .gpu-deps # apt downloads as its own user
(cd .gpu-deps && apt-get download -q libopenblas0-pthread libopenblas-pthread-dev libgfortran5 libquadmath0 \
    libpng16-16 libpng-dev zlib1g-dev)
.ci/trixie run bash -c 'cd .gpu-deps && apt-get download -q libyyjson0 libyyjson-dev'
ls -la .gpu-deps
