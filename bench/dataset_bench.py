#!/usr/bin/python3
"""Data-set runs over MPI ranks, in one run on this machine:

1. images per second of `whitebox evaluate` on 40 images (saliency and Grad-CAM, deletion) with
   1 rank x 2 threads against 2 ranks x 1 thread, and their ratio;
2. peak resident memory of each rank after 20, 200 and 600 images (the small bundled model).

    /usr/bin/python3 bench/dataset_bench.py [build] [--quick]
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(next((a for a in sys.argv[1:] if not a.startswith("--")), ROOT / "build"))
WHITEBOX = str(BUILD / "apps" / "whitebox" / "whitebox")
PHOTOS = sorted(p for p in (ROOT / "models" / "images").iterdir() if p.suffix in {".bmp", ".png", ".jpg"})
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
# Runs one rank's command and appends its peak resident memory (the child's maximum, in kB) to
# the file $PEAK_FILE (mpirun may drop a rank's last line of output at the end of the job).
PEAK = ("import os, resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
        "open(os.environ['PEAK_FILE'], 'a').write("
        "f'{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n'); sys.exit(code)")


def data_set(folder, count):
    """`count` images (copies of the bundled photos under distinct names) and their list file."""
    (folder / "pics").mkdir(parents=True, exist_ok=True)
    lines = ["image"]
    for i in range(count):
        photo = PHOTOS[i % len(PHOTOS)]
        name = f"pics/{i:04d}{photo.suffix}"
        if not (folder / name).exists():
            shutil.copy(photo, folder / name)
        lines.append(name)
    listing = folder / f"list{count}.csv"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def evaluate(listing, out, ranks, threads, model=None, steps=32):
    command = [WHITEBOX, "--threads", str(threads)] + (["--model", model] if model else []) + [
        "evaluate", "--list", str(listing), "--method", "saliency,gradcam", "--metric", "deletion",
        "--metric-param", f"steps={steps}", "--out", str(out)]
    command = [sys.executable, "-c", PEAK] + command
    if ranks > 1:
        command = ["mpirun", "-np", str(ranks)] + command
    peak_file = pathlib.Path(out).with_suffix(".peaks")
    start = time.perf_counter()
    r = subprocess.run(command, env=dict(ENV, PEAK_FILE=str(peak_file)), capture_output=True,
                       text=True)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(r.stderr)
    peaks = [int(kb) // 1024 for kb in peak_file.read_text().split()]
    return seconds, peaks


def main():
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        n = 12 if quick else 40
        listing = data_set(tmp, n)
        print(f"| configuration | images | seconds | images/s |")
        print("|---|---|---|---|")
        rates = {}
        for round_ in range(1 if quick else 2):
            for ranks, threads in [(1, 2), (2, 1)]:
                seconds, _ = evaluate(listing, tmp / f"out{ranks}x{threads}_{round_}", ranks, threads)
                rates.setdefault((ranks, threads), []).append(n / seconds)
                label = f"{ranks} rank{'s' if ranks > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
                print(f"| {label} | {n} | {seconds:.1f} | {n / seconds:.2f} |")
        best = {k: max(v) for k, v in rates.items()}
        print(f"\n2 ranks x 1 thread / 1 rank x 2 threads: {best[(2, 1)] / best[(1, 2)]:.2f}x "
              "(best of the rounds; the default MobileNetV2, deletion with 32 steps)\n")

        small = str(ROOT / "models" / "mobilenet_v1_0.25_128.onnx")
        print("| images | peak resident memory per rank (MB) |")
        print("|---|---|")
        for count in ([10, 40] if quick else [20, 200, 600]):
            _, peaks = evaluate(data_set(tmp, count), tmp / f"memory{count}", 2, 1, small, 16)
            print(f"| {count} | {', '.join(str(p) for p in sorted(peaks))} |")


if __name__ == "__main__":
    main()
