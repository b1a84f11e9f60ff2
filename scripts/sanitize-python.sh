#!/usr/bin/env bash
# Builds the Python module with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan-python/ (the asan preset of CMakePresets.json with the Python package on and the
# tests, CLI and benchmarks off) and runs the Python tests under them, ASan's runtime preloaded
# into the uninstrumented interpreter. Any finding fails the run. docs/hardening.md has the details.
# JOBS=N sets the build's parallelism (default: all cores); arguments, if any, are the test files
# or folders to run (default: the layout, argument and bundled-model tests).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${WHITEBOX_PYTHON:-/usr/bin/python3}
mkdir -p build-asan-python
cmake --preset asan -B build-asan-python -DWHITEBOX_BUILD_PYTHON=ON -DWHITEBOX_PYTHON="$python" \
  -DWHITEBOX_BUILD_TESTS=OFF -DWHITEBOX_BUILD_CLI=OFF -DWHITEBOX_BUILD_BENCH=OFF \
  > build-asan-python/configure.log 2>&1 || { cat build-asan-python/configure.log; exit 1; }
cmake --build build-asan-python --target whitebox_python -j"${JOBS:-$(nproc)}"

# The runtimes of the compiler that built the module (the preset's: GCC).
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' build-asan-python/CMakeCache.txt)
# python3 is not linked with ASan, so its runtime must be loaded first, before anything allocates.
# libstdc++ with it: python3 does not link libstdc++, and ASan, initialised before it is loaded,
# would find no __cxa_throw to forward to and abort at the first C++ exception. UBSan's runtime
# needs no preloading: the module loads it.
asan=$("$cxx" -print-file-name=libasan.so)
stdcxx=$("$cxx" -print-file-name=libstdc++.so)
export LD_PRELOAD="$asan $stdcxx"
# No leak checking: CPython and LibTorch keep memory until exit by design.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Python's objects from malloc rather than its own pools, so that ASan sees them too.
export PYTHONMALLOC=malloc
export PYTHONPATH="$PWD/build-asan-python/python"
if [ $# -eq 0 ]; then
  set -- tests/python/test_layouts.py tests/python/test_arguments.py tests/python/test_bundled.py
fi
# --capture=sys: a sanitizer report goes to file descriptor 2, which pytest's default capture
# would swallow when the process aborts.
"$python" -m pytest -q -p no:cacheprovider --capture=sys "$@"
