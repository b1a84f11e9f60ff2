#!/bin/sh
# Installs the Python package with pip, offline, into a virtual environment in the build tree (one
# that sees Debian's packages), reusing that tree: a built tree is compiled no further. Then imports
# it from outside the source tree, with neither PYTHONPATH nor WHITEBOX_DATA set: the package must
# be the venv's copy, load the bundled model from its own models/, and report the version that
# `whitebox --version` prints. The last line says PASS or FAIL.
# Usage: python_package.sh [BUILD_DIR]   (default: the repository's build/)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
fail() { echo "$*" >&2; echo "python package install: FAIL"; exit 1; }

set -- "$build"/python/whitebox/_whitebox*.so
if [ ! -e "$1" ]; then
  echo "python package install: skipped (the build has no Python module)"
  exit 0
fi
python=$(sed -n 's/^WHITEBOX_PYTHON:FILEPATH=//p' "$build/CMakeCache.txt")
python=${python:-/usr/bin/python3}
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
if [ -x "$build/apps/whitebox/whitebox" ]; then
  version=$("$build/apps/whitebox/whitebox" --version | sed 's/^whitebox //')
fi

venv=$build/venv
log=$build/venv-pip-install.log
"$python" -m venv --clear --system-site-packages "$venv" || fail "cannot create $venv with $python"
(cd "$root" && WHITEBOX_BUILD_DIR="$build" "$venv/bin/pip" install -v --no-index \
   --no-build-isolation --disable-pip-version-check .) > "$log" 2>&1 ||
  { tail -n 40 "$log" >&2; fail "pip install failed (log: $log)"; }
# The build step's output (pip -v): a built tree is only checked, nothing compiled or linked.
! grep -E "(Building|Linking) CXX" "$log" >&2 ||
  fail "pip install compiled the module again: $build was not up to date (log: $log)"

work=$(mktemp -d "${TMPDIR:-/tmp}/whitebox-python.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"
if ! env -u PYTHONPATH -u WHITEBOX_DATA "$venv/bin/python" - "$venv" "$version" <<'EOF'
import os
import sys

import whitebox

venv, version = os.path.realpath(sys.argv[1]), sys.argv[2]
model = whitebox.Model.load()
print(whitebox.__version__, model)


def inside(path):
    return os.path.realpath(path).startswith(venv + os.sep)


problems = []
if not inside(whitebox.__file__):
    problems.append(f"whitebox imported from {whitebox.__file__}, not from {venv}")
if not inside(os.environ.get("WHITEBOX_DATA", "")):
    problems.append(f"WHITEBOX_DATA={os.environ.get('WHITEBOX_DATA')!r}: not the package's models/")
if not inside(model.path):
    problems.append(f"the default model {model.path} is not the package's copy")
if whitebox.__version__ != version:
    problems.append(f"whitebox.__version__ {whitebox.__version__!r}, --version {version!r}")
sys.exit("\n".join(problems) or None)
EOF
then
  fail "the installed package failed its check"
fi
echo "python package install: PASS (whitebox $version, pip install --no-build-isolation . in $venv)"
