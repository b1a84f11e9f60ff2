#!/usr/bin/env bash
# Builds whitebox with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ (the asan
# preset in CMakePresets.json) and runs the unit and CLI tests and the methods tests that need no
# torchvision fixtures under them. Any finding fails the run. docs/hardening.md has the details.
# JOBS=N sets the build's parallelism (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-asan
cmake --preset asan > build-asan/configure.log 2>&1 || { cat build-asan/configure.log; exit 1; }
cmake --build build-asan -j"${JOBS:-$(nproc)}"
# Leak checking stays on (ASan's default): it covers the whole process, LibTorch included.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-asan --output-on-failure -R '^(unit|cli|methods_sanitized)$'
