# shellcheck shell=bash
# gpu-env.sh: sourced by run-gpu-checks.sh and tests/bench/bench_gpu.sh on a borrowed GPU machine
# (H100/H200, CUDA 13 toolkit, gcc, no registry). Prints the machine, unpacks the build
# dependencies carried in .gpu-deps/ (tests/cuda/fetch-gpu-deps.sh makes it; .deb files unpacked
# into /tmp without installing) and points the compiler, pkg-config and loader at them, and
# defines gpu_build DIR: a build of the project with the CUDA module for this GPU's architecture
# only (SANA_GPU_ARCHS overrides), logs in $LOGS. Run from the repository root.

# meson and ninja may live beside the machine's python3 (a virtual environment) without being on
# the PATH.
command -v python3 >/dev/null && PATH=$PATH:$(dirname "$(command -v python3)")
echo "=== machine"
uname -a
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | head -3
for t in gcc nvcc meson ninja pkg-config compute-sanitizer; do
    printf '%-18s %s\n' "$t" "$(command -v $t || echo '(missing)')"
done
nvcc --version 2>&1 | tail -1

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
GPU_ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
GPU_ARCH=${SANA_GPU_ARCHS:-${GPU_ARCH:-90}}
LOGS=${LOGS:-${TMPDIR:-/tmp}/sana-gpu-logs}

gpu_build() { # gpu_build DIR: configure and build; 0 when it built
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$LOGS"
    $MESON setup "$dir" -Dcuda=enabled -Dgpu_archs="$GPU_ARCH" -Dgpu_emu=disabled -Dplugin=disabled \
        >"$LOGS/setup.log" 2>&1 || {
        tail -40 "$LOGS/setup.log"
        return 1
    }
    grep -iE 'openblas|yyjson|libpng|png16|cuda|openmp' "$LOGS/setup.log"
    ninja -C "$dir" >"$LOGS/build.log" 2>&1 || {
        tail -40 "$LOGS/build.log"
        return 1
    }
    grep -i warning "$LOGS/build.log" | head -20
    return 0
}
