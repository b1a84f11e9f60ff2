#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install, build, run the whole test suite. The first
# run also exports the torchvision reference models with PyTorch (a few minutes, cached in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure
