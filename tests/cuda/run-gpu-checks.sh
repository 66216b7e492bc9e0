#!/usr/bin/env bash
# run-gpu-checks.sh: every check that needs an NVIDIA GPU, in one go, printing everything.
#
#   tests/cuda/run-gpu-checks.sh [BUILD_DIR]      (default build-gpu; about 2-4 minutes, 9 at worst)
#
# For a borrowed GPU machine (H100/H200, CUDA 13 toolkit, gcc, meson, ninja; no registry):
# builds the project with the CUDA module for this GPU's architecture only, then runs
#   1. test-device          the module loads and opens the GPU; test-cuda-errors: out-of-memory
#                           and refusal messages, sticky errors
#   2. test-backend-ops     every op on the GPU against the CPU (NMSE per case)
#   3. the same, GEMMs through the cublasGemmEx fallback (SANA_CUDA_GEMM=gemmex), linear only
#   4. test-dit-parity      the three DiT fixtures on the GPU (bf16 limits), every tap printed
#   5. test-scm-parity      the SCM sampler on the GPU
#   6. compute-sanitizer memcheck over the op test, racecheck over the kernels that use shared
#      memory (when the tool is there; bounded in time)
# and ends with one line per step and "N passed, N failed".
#
# OpenBLAS and yyjson are needed to build. Where the machine lacks them, prepare them here
# first, on the development machine:   tests/cuda/fetch-gpu-deps.sh   (writes .gpu-deps/,
# which git ignores) and carry that folder along (the device tool's `carry: [".gpu-deps"]`);
# this script unpacks it into /tmp and points the compiler and loader at it.
#
# Record what it prints: the NMSE of each op case goes beside its limit in
# tests/cuda/test-backend-ops.c ("measured"), the DiT taps' rel/cos beside MAX_REL_BF16 in
# tests/parity/test-dit-parity.c.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-gpu}
results=()
passed=0 failed=0

step() { # step NAME CMD...: runs CMD, records its result (exit 77 = skipped, counted as failed here)
    local name=$1 rc
    shift
    echo
    echo "=== $name: $*"
    "$@"
    rc=$?
    if [ $rc = 0 ]; then
        results+=("PASS  $name")
        passed=$((passed + 1))
    else
        results+=("FAIL  $name (exit $rc$([ $rc = 77 ] && echo ': skipped, no usable GPU?'))")
        failed=$((failed + 1))
    fi
    return $rc
}

summary() {
    echo
    echo "=== summary"
    printf '%s\n' "${results[@]}"
    echo "$passed passed, $failed failed"
}

# meson and ninja may live beside the machine's python3 (a virtual environment) without being on
# the PATH.
command -v python3 >/dev/null && PATH=$PATH:$(dirname "$(command -v python3)")
echo "=== machine"
uname -a
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv 2>&1 | head -3
for t in gcc nvcc meson ninja pkg-config compute-sanitizer; do
    printf '%-18s %s\n' "$t" "$(command -v $t || echo '(missing)')"
done
nvcc --version 2>&1 | tail -1

# Build dependencies carried as .deb files (fetch-gpu-deps.sh), unpacked without installing.
if [ -d .gpu-deps ] && ls .gpu-deps/*.deb >/dev/null 2>&1; then
    DEPS=/tmp/sana-gpu-deps
    rm -rf "$DEPS" && mkdir -p "$DEPS"
    for f in .gpu-deps/*.deb; do
        if command -v dpkg-deb >/dev/null; then
            dpkg-deb -x "$f" "$DEPS"
        else # a .deb is an ar archive holding data.tar.xz
            (cd "$DEPS" && ar p "$OLDPWD/$f" data.tar.xz | tar -xJ)
        fi || echo "could not unpack $f"
    done
    A=x86_64-linux-gnu
    # The .pc files name /usr; point them at the unpacked tree.
    find "$DEPS" -name '*.pc' -exec sed -i "s|=/usr|=$DEPS/usr|g" {} +
    export PKG_CONFIG_PATH="$DEPS/usr/lib/$A/pkgconfig:$DEPS/usr/lib/$A/openblas-pthread/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export CPATH="$DEPS/usr/include:$DEPS/usr/include/$A/openblas-pthread${CPATH:+:$CPATH}"
    export LIBRARY_PATH="$DEPS/usr/lib/$A:$DEPS/usr/lib/$A/openblas-pthread${LIBRARY_PATH:+:$LIBRARY_PATH}"
    export LD_LIBRARY_PATH="$LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # The -dev packages' unversioned links, in case a package left them out.
    [ -e "$DEPS/usr/lib/$A/openblas-pthread/libopenblas.so" ] ||
        ln -s libopenblas.so.0 "$DEPS/usr/lib/$A/openblas-pthread/libopenblas.so"
    echo "build dependencies unpacked from .gpu-deps into $DEPS"
fi

MESON=meson
command -v meson >/dev/null || MESON="python3 -m mesonbuild.mesonmain"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
arch=${SANA_GPU_ARCHS:-${arch:-90}}

LOGS=${TMPDIR:-/tmp}/sana-gpu-checks
build() {
    rm -rf "$BUILD" "$LOGS"
    mkdir -p "$LOGS"
    $MESON setup "$BUILD" -Dcuda=enabled -Dgpu_archs="$arch" -Dgpu_emu=disabled >"$LOGS/setup.log" 2>&1 || {
        tail -40 "$LOGS/setup.log"
        return 1
    }
    grep -iE 'openblas|yyjson|cuda|openmp' "$LOGS/setup.log"
    ninja -C "$BUILD" >"$LOGS/build.log" 2>&1 || {
        tail -40 "$LOGS/build.log"
        return 1
    }
    grep -i warning "$LOGS/build.log" | head -20
    return 0
}
if ! step "build (sm_$arch)" build; then
    summary
    exit 1
fi

export SANA_CUDA_MODULE=$PWD/$BUILD/cuda/libsana-cuda.so
T=$BUILD/tests
step "device factory" "$T/unit/test-device" "$SANA_CUDA_MODULE"
step "error reports (out of memory, sticky, refused weight)" "$T/cuda/test-cuda-errors" --device cuda \
    --expect-module
step "op test (cuBLASLt)" "$T/cuda/test-backend-ops" --device cuda --expect-module
step "op test, linear via cublasGemmEx" env SANA_CUDA_GEMM=gemmex "$T/cuda/test-backend-ops" --device cuda \
    --expect-module --op linear
step "DiT parity dit-sprint-bf16 on cuda" "$T/parity/test-dit-parity" tests/data/dit-sprint-bf16 --device cuda \
    --expect-module
step "DiT parity dit-sana on cuda" "$T/parity/test-dit-parity" tests/data/dit-sana --device cuda --expect-module
# fp32 random weights rounded to bf16: held to the cosine (see tests/cuda/meson.build); the
# default bf16 limits are printed by the first run for the record.
"$T/parity/test-dit-parity" tests/data/dit-sprint --device cuda --expect-module | grep -v '^ok'
step "DiT parity dit-sprint on cuda (cosine)" "$T/parity/test-dit-parity" tests/data/dit-sprint --device cuda \
    --expect-module --max-rel 1 --min-cos 0.998
step "SCM parity on cuda" "$T/parity/test-scm-parity" tests/data/dit-sprint --device cuda --expect-module
# The CPU reference of the same fixture, for comparison in the log.
step "DiT parity dit-sprint on cpu" "$T/parity/test-dit-parity" tests/data/dit-sprint

# The sanitizers last, bounded (about 6 minutes at worst), after a summary of the rest, so a run
# cut short by a time limit still shows the main results.
summary
CS=$(command -v compute-sanitizer || echo "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")/compute-sanitizer")
if [ -x "$CS" ]; then
    step "compute-sanitizer memcheck, op test" timeout 120 "$CS" --tool memcheck --error-exitcode 3 \
        "$T/cuda/test-backend-ops" --device cuda --expect-module
    # Shared-memory races in the kernels that use it (block reductions, tiles, staged rows).
    racecheck() {
        local op rc=0
        for op in layer_norm rms_norm layer_norm_modulate transpose linear_attention attention; do
            timeout 40 "$CS" --tool racecheck --error-exitcode 3 \
                "$T/cuda/test-backend-ops" --device cuda --expect-module --op $op || rc=$?
        done
        return $rc
    }
    step "compute-sanitizer racecheck, shared-memory kernels" racecheck
else
    echo "compute-sanitizer not found: memcheck and racecheck not run"
fi
summary
[ "$failed" = 0 ]
