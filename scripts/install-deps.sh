#!/usr/bin/env bash
# Installs what whitebox needs to build, run and test on Debian 12 (as root, or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread          # LibTorch; OpenBLAS for its fast GEMM
  libonnx-dev libprotobuf-dev                # ONNX protobuf model files
  libopencv-dev libopencv-contrib-dev libcli11-dev nlohmann-json3-dev  # contrib: SLIC superpixels
  libgtest-dev libbenchmark-dev              # tests and benchmarks
  python3-torch python3-torchvision python3-onnx python3-numpy  # test references
  python3-pil                                # tests/shapes/train.py writes its test pictures
  python3-scipy                              # data-set metrics checked against scipy.spatial
  python3-tqdm python3-pandas                # the package's progress bars, evaluate's DataFrame
  pybind11-dev python3-dev python3-pytest    # the Python package and its tests
  python3-setuptools python3-wheel python3-pip python3-venv  # pip install of the package, offline
  python3-matplotlib                         # examples/python
  chromium                                   # the HTML report test renders the page headless
  libopenmpi-dev openmpi-bin                 # data-set runs over MPI ranks (mpirun)
  libcpp-httplib-dev                         # the viewer's HTTP server (whitebox serve)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
