#!/usr/bin/env bash
# run-gpu-checks.sh: every check that needs an NVIDIA GPU, in one go, printing everything.
#
#   tests/cuda/run-gpu-checks.sh [BUILD_DIR]      (default build-gpu; about 3-5 minutes, 9 at worst)
#
# For a borrowed GPU machine (H100/H200, CUDA 13 toolkit, gcc, meson, ninja; no registry):
# builds the project with the CUDA module for this GPU's architecture only, then runs
#   1. test-device          the module loads and opens the GPU; test-cuda-errors: out-of-memory
#                           and refusal messages, sticky errors
#   2. test-backend-ops     every op on the GPU against the CPU (NMSE per case)
#   3. the same, GEMMs through the cublasGemmEx fallback (SANA_CUDA_GEMM=gemmex), linear only;
#      and conv2d with one output row per im2col band (SANA_CUDA_CONV_BYTES=1: the in-place halo)
#   4. test-dit-parity      the three DiT fixtures on the GPU (bf16 limits), every tap printed
#   5. test-scm-parity      the SCM sampler on the GPU
#   6. test-gemma-parity, test-prompt-parity, test-dcae-parity: the Gemma-2 text encoder, the
#      prompt encoding and the DC-AE autoencoder fixtures on the GPU (bf16 limits), every tap;
#      test-pipeline-graphs: recorded CUDA graphs, the prompt cache and the device's 8-bit
#      conversion give the same pixels as an eager pipeline
#   7. compute-sanitizer memcheck over the op test (and conv2d's one-row bands), racecheck over
#      the kernels that use shared memory (when the tool is there; bounded in time)
# and ends with one line per step and "N passed, N failed".
#
# OpenBLAS, yyjson and libpng are needed to build. Where the machine lacks them, prepare them
# here first, on the development machine:   tests/cuda/fetch-gpu-deps.sh   (writes .gpu-deps/,
# which git ignores) and carry that folder along (the device tool's `carry: [".gpu-deps"]`);
# gpu-env.sh unpacks it into /tmp and points the compiler and loader at it.
#
# Record what it prints: the NMSE of each op case goes beside its limit in
# tests/cuda/test-backend-ops.c ("measured"), the taps' worst rel/cos beside MAX_REL_BF16 in
# tests/parity/test-{dit,gemma,prompt,dcae}-parity.c.
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

LOGS=${TMPDIR:-/tmp}/sana-gpu-checks
. tests/cuda/gpu-env.sh # machine report, carried build dependencies, gpu_build
arch=$GPU_ARCH
build() {
    rm -rf "$LOGS"
    gpu_build "$BUILD"
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
step "op test, conv2d in one-row bands" env SANA_CUDA_CONV_BYTES=1 "$T/cuda/test-backend-ops" --device cuda \
    --expect-module --op conv2d
step "DiT parity dit-sprint-bf16 on cuda" "$T/parity/test-dit-parity" tests/data/dit-sprint-bf16 --device cuda \
    --expect-module
step "DiT parity dit-sana on cuda" "$T/parity/test-dit-parity" tests/data/dit-sana --device cuda --expect-module
# fp32 random weights rounded to bf16: held to the cosine (see tests/cuda/meson.build); the
# default bf16 limits are printed by the first run for the record.
"$T/parity/test-dit-parity" tests/data/dit-sprint --device cuda --expect-module | grep -v '^ok'
step "DiT parity dit-sprint on cuda (cosine)" "$T/parity/test-dit-parity" tests/data/dit-sprint --device cuda \
    --expect-module --max-rel 1 --min-cos 0.998
step "SCM parity on cuda" "$T/parity/test-scm-parity" tests/data/dit-sprint --device cuda --expect-module
for f in gemma-a gemma-b; do
    step "Gemma-2 parity $f on cuda" "$T/parity/test-gemma-parity" tests/data/$f --device cuda --expect-module
done
step "prompt parity on cuda" "$T/parity/test-prompt-parity" tests/data --device cuda --expect-module
step "graphs, prompt cache, device 8-bit conversion vs eager (pixels identical)" "$T/cuda/test-pipeline-graphs" \
    tests/data/pipeline-sprint --device cuda --expect-module
for f in dcae-sana dcae-mix; do
    step "DC-AE parity $f on cuda" "$T/parity/test-dcae-parity" tests/data/$f --device cuda --expect-module
done
# The CPU reference of the same fixture, for comparison in the log.
step "DiT parity dit-sprint on cpu" "$T/parity/test-dit-parity" tests/data/dit-sprint

# The sanitizers last, bounded (about 6 minutes at worst), after a summary of the rest, so a run
# cut short by a time limit still shows the main results.
summary
CS=$(command -v compute-sanitizer || echo "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")/compute-sanitizer")
if [ -x "$CS" ]; then
    step "compute-sanitizer memcheck, op test" timeout 120 "$CS" --tool memcheck --error-exitcode 3 \
        "$T/cuda/test-backend-ops" --device cuda --expect-module
    step "compute-sanitizer memcheck, conv2d in one-row bands" timeout 45 env SANA_CUDA_CONV_BYTES=1 "$CS" \
        --tool memcheck --error-exitcode 3 "$T/cuda/test-backend-ops" --device cuda --expect-module --op conv2d
    # Shared-memory races in the kernels that use it (block reductions, tiles, staged rows).
    racecheck() {
        local op rc=0
        for op in layer_norm rms_norm layer_norm_modulate transpose linear_attention attention \
            linear_attention_packed; do
            timeout 30 "$CS" --tool racecheck --error-exitcode 3 \
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
