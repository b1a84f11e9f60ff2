#!/usr/bin/python3
"""Export benchmark models for the whitebox C++ benchmarks.

Usage: /usr/bin/python3 bench/make_bench_models.py OUTDIR [--force]

For each of resnet50 and vgg16 (torchvision, weights=None, seed 0, eval)
writes, from the very same module instance:
  OUTDIR/<name>.onnx   input "input" [1,3,224,224], output "logits", opset 13
  OUTDIR/<name>.pt     torch.jit.trace(model, x).save(...), for LibTorch
Models whose two files already exist are skipped unless --force.
"""

import argparse
import os
import sys
import time
import warnings

import torch
import torchvision

MODELS = ["resnet50", "vgg16"]
SEED = 0
OPSET = 13
INPUT_SHAPE = (1, 3, 224, 224)


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(SEED)
    return getattr(torchvision.models, name)(weights=None).eval()


def export_onnx(model: torch.nn.Module, x: torch.Tensor, path: str) -> None:
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), tmp, opset_version=OPSET,
                          input_names=["input"], output_names=["logits"])
    os.replace(tmp, path)


def export_torchscript(model: torch.nn.Module, x: torch.Tensor,
                       path: str) -> None:
    tmp = path + ".tmp"
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
    traced.save(tmp)
    os.replace(tmp, path)


def make(name: str, outdir: str, force: bool) -> bool:
    """Write both files for one model; False if it was already there."""
    onnx_path = os.path.join(outdir, name + ".onnx")
    ts_path = os.path.join(outdir, name + ".pt")
    if not force and os.path.exists(onnx_path) and os.path.exists(ts_path):
        return False
    model = build(name)
    x = torch.randn(INPUT_SHAPE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if not torch.isfinite(model(x)).all():
            raise RuntimeError(f"{name}: non-finite logits")
    export_onnx(model, x, onnx_path)
    export_torchscript(model, x, ts_path)
    return True


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    os.makedirs(args.outdir, exist_ok=True)
    for name in MODELS:
        start = time.time()
        made = make(name, args.outdir, args.force)
        print(f"[{' ok ' if made else 'skip'}] {name} "
              f"{time.time() - start:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
