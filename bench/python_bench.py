#!/usr/bin/python3
"""The Python package's cost, as ratios measured in one run (docs/benchmarks.md, Python).

    PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [rounds]

1. The overhead of whitebox.Model.explain from Python over the same explain() called from C++
   in the same process, for saliency and Grad-CAM on ResNet-50 (torchvision, random weights).
   The input is given as a C-contiguous NumPy array (read in place), as a torch tensor, and as
   an HWC array transposed to CHW (copied once: the price of a non-contiguous input).
2. Integrated gradients with 50 steps from Python against the same 50 gradient passes written
   with plain torch.autograd (what Captum's IntegratedGradients does with its default
   internal batch: all 50 path points at once), and against that in batches of 4.
3. A batch of 8 images through one metric call (deletion, 32 steps, the bundled MobileNetV2)
   against 8 calls of one image each.
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


def report(model, what, baseline_name, base, ours):
    base, ours = np.array(base), np.array(ours)
    print(f"| {model} | {what} | {baseline_name} | {1000 * lower_quartile(base):.1f} | "
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
    transposed = np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    inputs = (("a NumPy array", array), ("a torch tensor", x), ("a transposed array", transposed))
    for method in ("saliency", "gradcam"):
        model.explain(array, method)  # warm-up
        for kind, value in inputs:
            base, ours = [], []
            for _ in range(rounds):
                base.append(whitebox._whitebox._time_explain(model._core, array, [method]))
                start = time.perf_counter()
                model.explain(value, method)
                ours.append(time.perf_counter() - start)
            report("resnet50", f"{method} from Python, {kind}", "explain() from C++", base, ours)
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
        report("resnet50", "IG-50 from Python", f"50 torch.autograd gradients, batches of {batch}",
               base, ours)
    batched_metric(rounds)


def batched_metric(rounds):
    model = whitebox.Model.load()
    photos = [whitebox._whitebox.bundled_path(f"images/{name}") for name in
              ("chelsea.png", "parrot.jpg", "coffee.png", "hot_dog.jpg")]
    x = np.concatenate([whitebox.preprocess(p, model)[0] for p in photos] * 2)
    maps = model.explain(x, "saliency")["saliency"].map
    targets = [int(c) for c in model.logits(x).argmax(1)]
    whitebox.metrics.deletion(model, x[:1], maps[:1], steps=32)  # warm-up
    base, ours = [], []
    for _ in range(max(3, rounds // 3)):
        start = time.perf_counter()
        for i in range(8):
            whitebox.metrics.deletion(model, x[i], maps[i], target=targets[i], steps=32)
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        whitebox.metrics.deletion(model, x, maps, target=targets, steps=32, progress=False)
        ours.append(time.perf_counter() - start)
    report("mobilenet_v2", "deletion (32 steps), a batch of 8 in one call", "8 calls of one image",
           base, ours)


if __name__ == "__main__":
    main()
