#!/usr/bin/python3
"""The Python package's cost, as ratios measured in one run (docs/benchmarks.md, Python).

    PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [rounds]

1. The overhead of whitebox.Model.explain from Python over the same explain() called from C++
   in the same process, for saliency and Grad-CAM on ResNet-50 (torchvision, random weights).
2. Integrated gradients with 50 steps from Python against the same 50 gradient passes written
   with plain torch.autograd (what Captum's IntegratedGradients does with its default
   internal batch: all 50 path points at once), and against that in batches of 4.
Rounds alternate the two sides; the ratio is that of the lower-quartile times, beside the
median of the rounds' own ratios.
"""
import sys
import time

import numpy as np
import torch
import torchvision

import whitebox

whitebox.set_threads(2)
torch.set_num_threads(2)


def lower_quartile(values):
    return float(np.percentile(values, 25))


def report(what, baseline_name, base, ours):
    base, ours = np.array(base), np.array(ours)
    print(f"| resnet50 | {what} | {baseline_name} | {1000 * lower_quartile(base):.1f} | "
          f"{1000 * lower_quartile(ours):.1f} | {lower_quartile(ours) / lower_quartile(base):.3f} | "
          f"{float(np.median(ours / base)):.3f} |", flush=True)


def torch_ig(module, x, cls, steps, batch):
    total = torch.zeros_like(x)
    alphas = torch.arange(1, steps + 1, dtype=x.dtype) / steps
    for start in range(0, steps, batch):
        a = alphas[start:start + batch].view(-1, 1, 1, 1)
        points = (a * x).requires_grad_(True)
        (grad,) = torch.autograd.grad(module(points)[:, cls].sum(), points)
        total += grad.sum(0, keepdim=True)
    return x * total / steps


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    torch.manual_seed(0)
    module = torchvision.models.resnet50(weights=None).eval()
    model = whitebox.Model.from_torch(module, torch.zeros(1, 3, 224, 224))
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    array = x.numpy()
    cls = int(model.logits(array).argmax())
    print("| model | measurement | baseline | baseline (ms) | whitebox (ms) | ratio | ratio per round |")
    print("|---|---|---|---|---|---|---|")
    for method in ("saliency", "gradcam"):
        model.explain(array, method)  # warm-up
        base, ours = [], []
        for _ in range(rounds):
            base.append(whitebox._whitebox._time_explain(model._core, array, [method]))
            start = time.perf_counter()
            model.explain(x, method)
            ours.append(time.perf_counter() - start)
        report(f"{method} from Python", "explain() from C++", base, ours)
    steps = 50
    for batch in (steps, 4):
        base, ours = [], []
        for _ in range(max(3, rounds // 3)):
            start = time.perf_counter()
            torch_ig(module, x, cls, steps, batch)
            base.append(time.perf_counter() - start)
            start = time.perf_counter()
            model.explain(x, "integrated-gradients", target=cls, steps=steps, baseline="zero",
                          integration="riemann-right")
            ours.append(time.perf_counter() - start)
        report("IG-50 from Python", f"50 torch.autograd gradients, batches of {batch}", base, ours)


if __name__ == "__main__":
    main()
