#!/usr/bin/env bash
# llama.cpp for EdgeQ's `llamacpp` runtime and GGUF methods, built from source once per virtual environment.
#
# Why a script and not `pip install llama-cpp-python`: PyPI has no wheel of llama-cpp-python (a source distribution
# only), and its own build compiles the bindings' libraries but none of llama.cpp's tools. EdgeQ needs three of
# them (llama-quantize for every GGUF quant type, llama-imatrix for the importance matrix, llama-perplexity as an
# outside check), plus the converter that ships in the same source (convert_hf_to_gguf.py with its gguf-py). So
# the one pinned source distribution is built once with CMake, only the targets EdgeQ uses, and the bindings are
# installed from the same source without compiling again (LLAMA_BUILD=OFF); the libraries and tools are placed
# where the bindings look for them (llama_cpp/lib, and llama_cpp/bin beside it). One source, one build, one
# llama.cpp commit for the bindings, the tools and the converter.
#
# Instruction sets: native (-march=native: the build is per machine) but without AMX. On a Sapphire Rapids VM
# ggml's AMX kernels died with SIGILL in `tileloadd` during the first llama_decode although a bare AMX program
# ran there; the AVX-512 (VNNI, BF16) kernels are used instead. GGML_AMX=1 in the environment keeps AMX.
#
# Usage: tools/llamacpp_build.sh VENV LOCK    (make llamacpp). Idempotent: a finished build of the pinned version
# is kept (llama_cpp/edgeq-build.json says what was built, how, and how long it took).
set -euo pipefail
VENV=${1:?usage: llamacpp_build.sh VENV LOCK}
LOCK=${2:?usage: llamacpp_build.sh VENV LOCK}
PY="$VENV/bin/python"

VERSION=$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' "$LOCK")
DISKCACHE=$(sed -n 's/^diskcache==\([^ ]*\).*/\1/p' "$LOCK")
[ -n "$VERSION" ] || { echo "llamacpp: $LOCK pins no llama-cpp-python==VERSION" >&2; exit 2; }
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PKG="$SITE/llama_cpp"
STAMP="$PKG/edgeq-build.json"
if [ -f "$STAMP" ] && "$PY" -c "import json,sys; sys.exit(json.load(open('$STAMP'))['version'] != '$VERSION')"; then
  exit 0
fi

# The toolchain: CMake >= 3.21 (llama-cpp-python's floor) and a C++17 compiler.
need=""
command -v cmake >/dev/null || need="cmake"
command -v g++ >/dev/null || need="$need g++"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ >/dev/null
  else
    echo "llamacpp: building llama.cpp needs$need: run 'sudo apt-get install cmake g++'" >&2; exit 2
  fi
fi

start=$(date +%s)
SRC="$VENV/src"
mkdir -p "$SRC"
SDIST="$SRC/llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$SDIST" ]; then
  "$PY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$SRC"
fi
TREE="$SRC/llama_cpp_python-$VERSION"
[ -d "$TREE" ] || tar -xzf "$SDIST" -C "$SRC"
LLAMA="$TREE/vendor/llama.cpp"
BUILD="$SRC/llama.cpp-build-$VERSION"

ISA_FLAGS=""
if [ "$(uname -m)" = x86_64 ] && [ "${GGML_AMX:-0}" != 1 ]; then
  ISA_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
CMAKE_FLAGS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON "-DCMAKE_C_FLAGS=$ISA_FLAGS" "-DCMAKE_CXX_FLAGS=$ISA_FLAGS"
  '-DCMAKE_INSTALL_RPATH=$ORIGIN/../lib' -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON)
echo "llamacpp: building llama.cpp of llama-cpp-python $VERSION from source (once per environment; minutes)"
cmake -S "$LLAMA" -B "$BUILD" "${CMAKE_FLAGS[@]}" >"$BUILD.log" 2>&1 || { tail -20 "$BUILD.log" >&2; exit 1; }
cmake --build "$BUILD" -j "$(nproc)" --target llama llama-quantize llama-imatrix llama-perplexity >>"$BUILD.log" 2>&1 \
  || { tail -20 "$BUILD.log" >&2; exit 1; }

# The bindings from the same source, without a second compile; then the libraries and tools where they look.
CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" "$PY" -m pip install --quiet --no-deps --force-reinstall "$SDIST"
"$PY" -m pip install --quiet "diskcache==$DISKCACHE"
mkdir -p "$PKG/lib" "$PKG/bin" "$PKG/convert"
cp -a "$BUILD"/bin/*.so* "$PKG/lib/"
cp -a "$BUILD"/bin/llama-quantize "$BUILD"/bin/llama-imatrix "$BUILD"/bin/llama-perplexity "$PKG/bin/"
rm -rf "$PKG/convert"/*
cp -a "$LLAMA/convert_hf_to_gguf.py" "$LLAMA/conversion" "$LLAMA/gguf-py" "$PKG/convert/"

COMMIT=$(git -C "$LLAMA" rev-parse HEAD 2>/dev/null \
  || sed -n "/^## \[$VERSION\]/,/^## /s/.*llama.cpp@\([0-9a-f]*\).*/\1/p" "$TREE/CHANGELOG.md" | head -1)
"$PY" - "$STAMP" "$VERSION" "$COMMIT" "$(( $(date +%s) - start ))" "${CMAKE_FLAGS[*]}" <<'EOF'
import json, os, platform, sys
stamp, version, commit, seconds, flags = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
json.dump({"version": version, "llama_cpp_commit": commit, "build_s": int(seconds), "cmake_flags": flags,
           "machine": platform.machine(), "cpu": cpu, "cores": os.cpu_count()}, open(stamp, "w"), indent=1)
EOF
echo "llamacpp: built in $(( $(date +%s) - start )) s ($(cat "$STAMP" | tr -d '\n'))"
