#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install, build, explain the bundled photo with the
# bundled MobileNetV2. The pictures land in whitebox-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/apps/whitebox/whitebox predict
./build/apps/whitebox/whitebox explain --method saliency,gradcam --out whitebox-out
