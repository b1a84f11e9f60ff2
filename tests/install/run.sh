#!/bin/sh
# Installs a whitebox build into a temporary prefix, then configures, builds and runs the consumer
# project beside this script against that prefix only.
# Usage: run.sh CMAKE BUILD_DIR CONSUMER_SOURCE_DIR GENERATOR CXX_COMPILER
set -eu
cmake=$1 build=$2 source=$3 generator=$4 cxx=$5

work=$(mktemp -d "${TMPDIR:-/tmp}/whitebox-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

"$cmake" --install "$build" --prefix "$work/prefix"
# Not the source tree's data: the consumer must find the installed models on its own.
unset WHITEBOX_DATA || true
"$cmake" -S "$source" -B "$work/build" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
"$cmake" --build "$work/build"
output=$("$work/build/consumer")
echo "$output"
case "$output" in
  "nodes "[1-9]*) ;;
  *) echo "unexpected consumer output: $output" >&2; exit 1 ;;
esac

# The Python package, where Debian's python3 looks under the prefix (when it was built).
for package in "$work"/prefix/lib/python3*/dist-packages; do
  [ -d "$package/whitebox" ] || continue
  PYTHONPATH="$package" /usr/bin/python3 -c "import whitebox; print('python', len(whitebox.methods()), 'methods')"
done
