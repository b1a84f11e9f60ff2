#!/usr/bin/python3
"""Images per second of `whitebox concepts-index` on 24 images (copies of the bundled photos),
the small bundled MobileNetV1 at two layers, top-8: 1 rank x 1 thread against 2 ranks x 1
thread, and the peak resident memory of the one-rank run after 24 and 96 images (flat: only the
top-n per channel is kept).

    /usr/bin/python3 bench/concept_index_bench.py [build]
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build")
WHITEBOX = str(BUILD / "apps" / "whitebox" / "whitebox")
MODEL = str(ROOT / "models" / "mobilenet_v1_0.25_128.onnx")
PHOTOS = sorted(p for p in (ROOT / "models" / "images").iterdir()
                if p.suffix in {".bmp", ".png", ".jpg"})
# Runs the command and prints its peak resident memory (the child's maximum, in kB).
PEAK = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def folder_of(root, count):
    pics = root / f"pics{count}"
    pics.mkdir()
    for i in range(count):
        shutil.copy(PHOTOS[i % len(PHOTOS)], pics / f"{i:04d}{PHOTOS[i % len(PHOTOS)].suffix}")
    return pics


def index(pics, out, ranks):
    command = [WHITEBOX, "--threads", "1", "--quiet", "--model", MODEL, "concepts-index",
               "--images", str(pics), "--layer", "y8_conv_2d", "--layer", "y4_conv_2d",
               "--top-n", "8", "--out", str(out)]
    if ranks > 1:
        command = ["mpirun", "-np", str(ranks)] + command
    else:
        command = [sys.executable, "-c", PEAK] + command
    start = time.perf_counter()
    r = subprocess.run(command, env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    seconds = time.perf_counter() - start
    return seconds, (int(r.stdout.split()[-1]) // 1024 if ranks == 1 else None)


with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(tmp)
    pics = folder_of(root, 24)
    one, small = index(pics, root / "one", 1)
    two, _ = index(pics, root / "two", 2)
    same = (root / "one" / "index.json").read_bytes() == (root / "two" / "index.json").read_bytes()
    print(f"1 rank : {24 / one:6.2f} images/s ({one:.1f} s)")
    print(f"2 ranks: {24 / two:6.2f} images/s ({two:.1f} s), x{one / two:.2f}; "
          f"same index: {same}")
    _, large = index(folder_of(root, 96), root / "big", 1)
    print(f"peak resident memory of one rank: {small} MB after 24 images, {large} MB after 96")
