#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install, build, run the whole test suite, then install
# the Python package with pip from the built tree. The first run also exports the torchvision
# reference models with PyTorch (a few minutes, cached in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2  # tests/CMakeLists.txt: what runs beside what
# The Python package installed with pip, offline, from the built tree, and imported from elsewhere.
sh tests/install/python_package.sh build
