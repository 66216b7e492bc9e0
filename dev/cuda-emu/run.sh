#!/usr/bin/env bash
# run.sh [BUILD_DIR]: builds the emulated CUDA module (build.sh) and runs the cuda suite's
# programs against it: the op test (cuBLASLt path, cublasGemmEx fallback forced two ways), the
# DiT and SCM parity fixtures on the "cuda" device. BUILD_DIR is a configured meson build of
# the project (default build/). Run inside the chroot: .ci/trixie run dev/cuda-emu/run.sh
# Takes a few minutes on 2 cores (every kernel thread is a real thread).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
B=${1:-build}
ninja -C "$B" >/dev/null || exit 1
export SANA_CUDA_MODULE=$("$root/dev/cuda-emu/build.sh" | tail -1)
T=$B/tests
rc=0
run() { echo "=== $*"; "$@" || rc=1; }
run "$T/cuda/test-backend-ops" --device cuda --expect-module
run env EMU_LT_NOALGO=1 "$T/cuda/test-backend-ops" --device cuda --expect-module --op linear
run env SANA_CUDA_GEMM=gemmex "$T/cuda/test-backend-ops" --device cuda --expect-module --op linear
run "$T/parity/test-dit-parity" tests/data/dit-sprint-bf16 --device cuda --expect-module
run "$T/parity/test-dit-parity" tests/data/dit-sana --device cuda --expect-module
run "$T/parity/test-dit-parity" tests/data/dit-sprint --device cuda --expect-module --max-rel 1 --min-cos 0.998
run "$T/parity/test-scm-parity" tests/data/dit-sprint --device cuda --expect-module
echo "=== emulated cuda suite: $([ $rc = 0 ] && echo passed || echo FAILED)"
exit $rc
