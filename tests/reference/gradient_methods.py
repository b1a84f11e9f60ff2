#!/usr/bin/python3
"""Independent PyTorch-autograd references for the gradient and black-box methods.

Usage: /usr/bin/python3 tests/reference/gradient_methods.py FIXTURES_DIR
           [--only CASE[,CASE...]] [--force]

For each case (the torchvision fixtures made by tests/fixtures/make_fixtures.py)
the same seeded torch model is rebuilt, and each method is computed with plain
torch autograd on x.npy for the class in meta.json.  Written into the case
folder:
  ref_<name>.npy         the method's attribution (float64)
  ref_<name>_map.npy     its map, where the test also checks it
  ref_gradient.json      for each reference: method, hyper-parameters, files
  ref_gradient_done      marker: VERSION and a hash of the fixture; a case whose
                         marker is current is skipped (unless --force)
$WHITEBOX_FIXTURES, when set, replaces FIXTURES_DIR (as in the C++ tests).

None of this uses whitebox: the random noise, quadrature nodes and masks are
regenerated here from the documented recipes (torch.Generator seeded the same).
Everything is computed in float64 (random numbers are drawn as float32, as
whitebox does, then widened): in float32, random-weight networks evaluated at
perturbed inputs (path points, noisy copies) flip ReLU / max-pool decisions at
near-ties, so two correct float32 implementations differ by up to ~1e-2 there
(efficientnet_b0's noisy copies: by more than 100%).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import make_fixtures  # noqa: E402  (reuses its seeded model construction)
import runner  # noqa: E402

MARKER = "ref_gradient_done"
VERSION = "8"           # in the marker with the fixture's hash; another stamp means redo
CASES = ["resnet18", "vgg16_bn", "densenet121", "mobilenet_v2",
         "efficientnet_b0"]
BLACKBOX_CASES = {"resnet18", "mobilenet_v2"}   # forward-heavy: fewer models
HEAVY_CASES = {"vgg16_bn", "densenet121"}        # fewer path points / noisy copies
# The random-weight efficientnet_b0 is chaotic at inputs this far from its calibration data:
# at SmoothGrad's default noise 0.15 its float32 and float64 gradients differ by >100% and even
# two float64 implementations by ~1e-3. At 0.03 float32 agrees with float64 to 1e-5.
NOISE = {"efficientnet_b0": 0.03}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def score_grad(model, x, target):
    """d logits[:, target].sum() / dx for a batch x."""
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits[:, target].sum(), [x])
    return grad, logits.detach()[:, target]


def batched_grads(model, points, target, batch=16):
    out = [score_grad(model, points[i:i + batch], target)[0]
           for i in range(0, points.shape[0], batch)]
    return torch.cat(out)


# ---------------------------------------------------------------- quadrature

def quadrature(rule, steps):
    """Points in [0, 1] and weights; `steps` points for every rule."""
    k = np.arange(steps, dtype=np.float64)
    if rule == "gauss-legendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1) / 2, weights / 2
    if rule == "trapezoid":
        w = np.full(steps, 1.0 / (steps - 1))
        w[0] = w[-1] = 0.5 / (steps - 1)
        return k / (steps - 1), w
    offset = {"riemann-left": 0.0, "riemann-middle": 0.5,
              "riemann-right": 1.0}[rule]
    return (k + offset) / steps, np.full(steps, 1.0 / steps)


def baseline_of(x, name, sigma=5.0):
    if name == "zero":
        return torch.zeros_like(x)
    if name == "black":
        black = [(0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        return torch.tensor(black, dtype=x.dtype).view(1, 3, 1, 1).expand_as(x)
    if name == "blurred":
        half = int(np.ceil(3 * sigma))
        return TF.gaussian_blur(x, [2 * half + 1] * 2, [sigma] * 2)
    raise ValueError(name)


def integrated_gradients(model, x, target, steps, rule, baseline, sigma=5.0):
    b = baseline_of(x, baseline, sigma)
    alphas, weights = quadrature(rule, steps)
    alphas = torch.tensor(alphas, dtype=x.dtype).view(-1, 1, 1, 1)
    weights = torch.tensor(weights, dtype=x.dtype).view(-1, 1, 1, 1)
    points = b + alphas * (x - b)
    grads = batched_grads(model, points, target)
    return ((x - b) * (grads * weights).sum(0, keepdim=True)).detach()


def expected_gradients(model, x, target, samples, stdev, seed, baselines):
    """Expected gradients / GradientSHAP, one image: `samples` draws of a baseline, a path point
    and input noise, in the order the method documents."""
    b_all = torch.cat([baseline_of(x, name) for name in baselines])      # [B, C, H, W]
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(len(baselines), (samples,), generator=g)
    eps = torch.randn((samples,) + tuple(x.shape[1:]), generator=g).to(x.dtype)
    alpha = torch.rand((samples,), generator=g).to(x.dtype).view(-1, 1, 1, 1)
    b = b_all[index]
    difference = x + stdev * eps - b
    grads = batched_grads(model, b + alpha * difference, target)
    return (grads * difference).mean(0, keepdim=True)


# ------------------------------------------------------------ noise wrappers

def noisy_saliency(model, x, target, samples, noise, seed):
    g = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    # One draw per copy, image by image.
    eps = torch.stack([torch.randn(list(x.shape[1:]), generator=g) for _ in range(n * samples)])
    eps = eps.view([n, samples] + list(x.shape[1:])).to(x.dtype)
    flat = x.flatten(1)
    sigma = noise * (flat.max(1).values - flat.min(1).values)
    copies = (x[:, None] + sigma.view(-1, 1, 1, 1, 1) * eps)
    grads = batched_grads(model, copies.reshape(-1, *x.shape[1:]), target)
    grads = grads.view(n, samples, *x.shape[1:])
    maps = grads.abs().amax(2)                      # saliency map: max |g|
    return {
        "smoothgrad": (grads.mean(1), maps.mean(1)),
        "smoothgrad_squared": ((grads ** 2).mean(1), (maps ** 2).mean(1)),
        "vargrad": (grads.var(1, unbiased=False), maps.var(1, unbiased=False)),
    }


# ------------------------------------------------------- modified gradients

class _ClampWithBackward(torch.autograd.Function):
    """y = clamp(x, lo, hi), with the backward pass rule(g, x, lo, hi)."""

    @staticmethod
    def forward(ctx, x, lo, hi, rule):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi, ctx.rule = lo, hi, rule
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.rule(g, x, ctx.lo, ctx.hi), None, None, None


def rectifier_gradient(model, x, target, rule, any_minimum):
    """The input gradient with the backward pass of F.relu and F.hardtanh (ReLU, ReLU6,
    functional calls) replaced by rule(g, x, lo, hi) while the model runs; hardtanhs with a
    minimum other than 0 keep theirs unless any_minimum."""
    relu, hardtanh = F.relu, F.hardtanh

    def my_relu(t, inplace=False):
        return _ClampWithBackward.apply(t, 0.0, None, rule)

    def my_hardtanh(t, min_val=-1.0, max_val=1.0, inplace=False):
        if min_val != 0.0 and not any_minimum:
            return hardtanh(t, min_val, max_val)
        return _ClampWithBackward.apply(t, min_val, max_val, rule)

    F.relu, F.hardtanh = my_relu, my_hardtanh
    try:
        return score_grad(model, x, target)[0]
    finally:
        F.relu, F.hardtanh = relu, hardtanh


def modified_backprop(model, x, target, guided):
    """Guided backprop / deconvnet: relu(g), masked by lo < x < hi if guided."""
    def positive(g, x, lo, hi):
        out = g.clamp(min=0)
        if guided:
            mask = x > lo
            if hi is not None:
                mask &= x < hi
            out = out * mask
        return out
    return rectifier_gradient(model, x, target, positive, any_minimum=False)


def beta_smooth(model, x, target, beta):
    """The backward of softplus smoothing: g (sigmoid(beta (x - lo)) - sigmoid(beta (x - hi)))."""
    def smooth(g, x, lo, hi):
        slope = torch.sigmoid(beta * (x - lo))
        if hi is not None:
            slope = slope - torch.sigmoid(beta * (x - hi))
        return g * slope
    return rectifier_gradient(model, x, target, smooth, any_minimum=True)


# ------------------------------------------------------- layers and neurons

# Per case: the hidden layers of the layer and neuron methods, as (torch module, graph value):
# the feature map of the CAMs, and on ResNet-18 a layer inside the network, a residual branch's
# last BatchNorm, which the block's shortcut bypasses.
LAYERS = {
    "resnet18": [("layer4", "features"),
                 ("layer3.1.bn2", "/layer3/layer3.1/bn2/BatchNormalization_output_0")],
    "vgg16_bn": [("features", "features")],
}


def run_with_layer(model, x, module, replace=None):
    """model(x) with module's output captured as a fresh leaf A (requiring grad), or replaced by
    the leaf `replace`; the rest of the network reads a copy (residual blocks add in place).
    Returns (logits, A)."""
    leaf = []

    def hook(m, inputs, output):
        a = output.detach().clone() if replace is None else replace
        leaf.append(a.requires_grad_(True))
        return a * 1.0
    handle = module.register_forward_hook(hook)
    try:
        logits = model(x)
    finally:
        handle.remove()
    return logits, leaf[0]


def layer_value_and_grad(model, x, target, module):
    """A = module's output for the batch x and d sum logits[:, target] / dA (A's gradient)."""
    logits, a = run_with_layer(model, x, module)
    (g,) = torch.autograd.grad(logits[:, target].sum(), [a])
    return a.detach(), g, logits.detach()[:, target]


def layer_integrated_gradients(model, x, target, module, steps, rule, baseline):
    """Captum's LayerIntegratedGradients: the straight path from A(baseline) to A(x) in the
    layer's space, the model run on x with the layer's output replaced by each point."""
    b = baseline_of(x, baseline)
    a_x = layer_value_and_grad(model, x, target, module)[0]
    a_b = layer_value_and_grad(model, b, target, module)[0]
    alphas, weights = quadrature(rule, steps)
    alphas = torch.tensor(alphas, dtype=x.dtype).view(-1, 1, 1, 1)
    weights = torch.tensor(weights, dtype=x.dtype).view(-1, 1, 1, 1)
    points = (a_b + alphas * (a_x - a_b)).requires_grad_(True)
    logits, _ = run_with_layer(model, x.expand(steps, -1, -1, -1), module, points)
    (grads,) = torch.autograd.grad(logits[:, target].sum(), [points])
    return (a_x - a_b) * (grads * weights).sum(0, keepdim=True)


def layer_conductance(model, x, target, module, steps, rule, baseline):
    """Conductance: sum over the intervals of the input path of the layer gradient (at the left
    end, the right end or their mean) times the change of the layer's value."""
    b = baseline_of(x, baseline)
    t = torch.arange(steps + 1, dtype=x.dtype).view(-1, 1, 1, 1) / steps
    a, g, _ = layer_value_and_grad(model, b + t * (x - b), target, module)
    left, right = {"trapezoid": (0.5, 0.5), "riemann-left": (1.0, 0.0),
                   "riemann-right": (0.0, 1.0)}[rule]
    return ((left * g[:-1] + right * g[1:]) * (a[1:] - a[:-1])).sum(0, keepdim=True)


def neuron_gradient(model, x, module, unit):
    """d u / dx for the batch x, u = module's output at channel unit[0], summed over its
    positions, or at (unit[1], unit[2])."""
    x = x.detach().clone().requires_grad_(True)
    values = []

    def hook(m, inputs, output):
        channel = output[:, unit[0]]
        values.append(channel.flatten(1).sum(1) if len(unit) == 1 else channel[:, unit[1], unit[2]])
        return output * 1.0
    handle = module.register_forward_hook(hook)
    try:
        model(x)
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(values[0].sum(), [x])
    return grad


def neuron_integrated_gradients(model, x, module, unit, steps, rule, baseline):
    b = baseline_of(x, baseline)
    alphas, weights = quadrature(rule, steps)
    alphas = torch.tensor(alphas, dtype=x.dtype).view(-1, 1, 1, 1)
    weights = torch.tensor(weights, dtype=x.dtype).view(-1, 1, 1, 1)
    grads = neuron_gradient(model, b + alphas * (x - b), module, unit)
    return (x - b) * (grads * weights).sum(0, keepdim=True)


def layer_references(case_name, model, x, target):
    """Yields the layer and neuron methods' references, as references() does: every method at
    the first layer of LAYERS (on the heavy cases with the fewest path points that check each
    quadrature); at the inner one the layer's paths with other quadratures and a position's
    gradient."""
    modules = dict(model.named_modules())
    heavy = case_name in HEAVY_CASES
    steps = 2 if heavy else 4
    for index, (module_name, value) in enumerate(LAYERS.get(case_name, [])):
        module = modules[module_name]
        a, g, _ = layer_value_and_grad(model, x, target, module)
        inner = index > 0
        tag = "_inner" if inner else ""
        ga = a * g
        yield (f"layer_gxa{tag}", "layer-gradient-x-activation", {"layer": value}, ga,
               F.interpolate(ga.sum(1, keepdim=True), size=x.shape[2:], mode="bilinear",
                             align_corners=False)[:, 0])
        rule, baseline = ("riemann-middle", "zero") if inner else ("gauss-legendre", "black")
        yield (f"layer_ig{tag}", "layer-integrated-gradients",
               {"layer": value, "steps": str(steps), "integration": rule,
                "baseline": baseline, "batch": "3"},
               layer_integrated_gradients(model, x, target, module, steps, rule, baseline),
               None)
        rule = "riemann-left" if inner else "trapezoid"
        intervals = 1 if heavy else steps
        yield (f"layer_conductance{tag}", "layer-conductance",
               {"layer": value, "steps": str(intervals), "integration": rule,
                "baseline": "black", "batch": "3"},
               layer_conductance(model, x, target, module, intervals, rule, "black"), None)
        # The most active channel: over its positions at the first layer, at its most active
        # position at the inner one.
        channel = int(a[0].flatten(1).sum(1).argmax())
        if inner:
            y, z = divmod(int(a[0, channel].argmax()), a.shape[3])
            unit, text = (channel, y, z), f"{value}:{channel}:{y}:{z}"
        else:
            unit, text = (channel,), f"{value}:{channel}"
        grad = neuron_gradient(model, x, module, unit)
        yield (f"neuron_gradient{tag}", "neuron-gradient", {"neuron": text}, grad,
               grad.abs().amax(1))
        if not inner:
            points = 1 if heavy else steps
            yield ("neuron_ig", "neuron-integrated-gradients",
                   {"neuron": text, "steps": str(points), "baseline": "black", "batch": "4"},
                   neuron_integrated_gradients(model, x, module, unit, points, "gauss-legendre",
                                               "black"), None)


# ---------------------------------------------------------------- black box

@torch.no_grad()
def occlusion(model, x, target, window, stride, fill, batch=16):
    _, _, h, w = x.shape

    def starts(size):
        s = list(range(0, size - window + 1, stride))
        return s + [size - window] if s[-1] + window < size else s

    boxes = [(y, z) for y in starts(h) for z in starts(w)]
    reference = model(x)[0, target]
    total = torch.zeros(h, w, dtype=x.dtype)
    count = torch.zeros(h, w, dtype=x.dtype)
    for i in range(0, len(boxes), batch):
        chunk = boxes[i:i + batch]
        copies = x.repeat(len(chunk), 1, 1, 1)
        for j, (y, z) in enumerate(chunk):
            copies[j, :, y:y + window, z:z + window] = fill
        drops = reference - model(copies)[:, target]
        for j, (y, z) in enumerate(chunk):
            total[y:y + window, z:z + window] += drops[j]
            count[y:y + window, z:z + window] += 1
    return (total / count)[None]


@torch.no_grad()
def rise(model, x, target, masks, cells, p, seed, batch=16):
    _, _, h, w = x.shape
    g = torch.Generator().manual_seed(seed)
    grid = (torch.rand([masks, cells, cells], generator=g) < p).to(x.dtype)
    ch, cw = -(-h // cells), -(-w // cells)
    dy = torch.randint(ch, [masks], generator=g)
    dx = torch.randint(cw, [masks], generator=g)
    total = torch.zeros(h, w, dtype=x.dtype)
    for i in range(0, masks, batch):
        up = F.interpolate(grid[i:i + batch, None],
                           size=((cells + 1) * ch, (cells + 1) * cw),
                           mode="bilinear", align_corners=False)[:, 0]
        m = torch.stack([up[j, dy[i + j]:dy[i + j] + h, dx[i + j]:dx[i + j] + w]
                         for j in range(up.shape[0])])
        probs = torch.softmax(model(x * m[:, None]), 1)[:, target]
        total += (probs.view(-1, 1, 1) * m).sum(0)
    return (total / (masks * p))[None]


@torch.no_grad()
def sobol(model, x, target, grid, designs):
    """Total Sobol indices of grid cells (Jansen), the designs from torch's Sobol engine."""
    _, _, h, w = x.shape
    d = grid * grid
    points = torch.quasirandom.SobolEngine(2 * d, scramble=False).draw(designs, dtype=torch.float64)
    a, b = points[:, :d], points[:, d:]
    rows = [a, b]
    for i in range(d):       # C_i: A with column i from B
        c = a.clone()
        c[:, i] = b[:, i]
        rows.append(c)
    masks = torch.cat(rows).view(-1, 1, grid, grid).to(x.dtype)
    up = F.interpolate(masks, size=(h, w), mode="nearest-exact")
    f = torch.cat([torch.softmax(model(x * up[k:k + 32]), 1)[:, target]
                   for k in range(0, len(up), 32)]).double().numpy()
    fa = f[:designs]
    fc = f[2 * designs:].reshape(d, designs)
    indices = ((fa[None] - fc) ** 2).sum(1) / (2 * designs * max(fa.var(ddof=1), 1e-12))
    grid_map = torch.from_numpy(indices).view(1, 1, grid, grid).to(x.dtype)
    return F.interpolate(grid_map, size=(h, w), mode="bicubic", align_corners=False)[:, 0]


# ------------------------------------------------------------------- driver

def references(case_name, model, x, target):
    """Yields (name, method, params, attribution, map or None)."""
    grad, _ = score_grad(model, x, target)
    yield "saliency", "saliency", {}, grad, grad.abs().amax(1)
    yield "gradient_input", "gradient-input", {}, grad * x, (grad * x).sum(1)

    steps = 8 if case_name in HEAVY_CASES else 16
    yield ("ig", "integrated-gradients",
           {"steps": str(steps), "integration": "gauss-legendre", "baseline": "black"},
           integrated_gradients(model, x, target, steps, "gauss-legendre", "black"), None)
    if case_name == "resnet18":
        yield ("ig_trapezoid_blurred", "integrated-gradients",
               {"steps": "12", "integration": "trapezoid", "baseline": "blurred",
                "sigma": "3"},
               integrated_gradients(model, x, target, 12, "trapezoid", "blurred", 3.0),
               None)
        yield ("ig_left_zero", "integrated-gradients",
               {"steps": "8", "integration": "riemann-left", "baseline": "zero",
                "batch": "5"},
               integrated_gradients(model, x, target, 8, "riemann-left", "zero"), None)

    samples = 4 if case_name in HEAVY_CASES else 8
    level = NOISE.get(case_name, 0.15)
    noise = {"samples": str(samples), "noise": str(level), "seed": "0", "batch": "8"}
    for name, (attr, smap) in noisy_saliency(model, x, target, samples, level, 0).items():
        yield name, name.replace("_", "-"), noise, attr, smap

    yield ("guided_backprop", "guided-backprop", {},
           modified_backprop(model, x, target, True), None)
    yield ("deconvnet", "deconvnet", {},
           modified_backprop(model, x, target, False), None)
    smooth = beta_smooth(model, x, target, 10.0)
    yield "beta_smooth", "beta-smooth", {}, smooth, smooth.abs().amax(1)
    if case_name == "resnet18":
        yield ("beta_smooth_3", "beta-smooth", {"beta": "3", "reduce": "sum"},
               beta_smooth(model, x, target, 3.0), None)

    draws = 6 if case_name in HEAVY_CASES else 12
    yield ("expected_gradients", "expected-gradients",
           {"baselines": "zero,black", "samples": str(draws), "seed": "2", "batch": "5"},
           expected_gradients(model, x, target, draws, 0.0, 2, ["zero", "black"]), None)
    if case_name == "resnet18":
        yield ("gradient_shap", "expected-gradients",
               {"baselines": "zero,black,blurred", "samples": "10", "stdev": "0.2",
                "seed": "5"},
               expected_gradients(model, x, target, 10, 0.2, 5, ["zero", "black", "blurred"]),
               None)

    yield from layer_references(case_name, model, x, target)

    if case_name in BLACKBOX_CASES:
        side = x.shape[-1]
        window, stride = side // 2, side // 4
        occ = occlusion(model, x, target, window, stride, 0.0)
        yield ("occlusion", "occlusion", {"window": str(window), "stride": str(stride)},
               occ[:, None], occ)
        window, stride = side * 2 // 7, side * 5 // 28    # uneven: edge windows
        occ = occlusion(model, x, target, window, stride, 0.5)
        yield ("occlusion_edge", "occlusion",
               {"window": str(window), "stride": str(stride), "fill": "0.5"}, occ[:, None], occ)
        ri = rise(model, x, target, 16, 7, 0.5, 3)
        yield ("rise", "rise", {"masks": "16", "cells": "7", "p": "0.5", "seed": "3"},
               ri[:, None], ri)
        so = sobol(model, x, target, 3, 8)      # 3 cells on a side: uneven nearest upsampling
        yield ("sobol", "sobol", {"grid": "3", "designs": "8", "batch": "20"}, so[:, None], so)


def compute(case_name, case_dir):
    case = make_fixtures.select_cases(case_name)[0]
    with open(os.path.join(case_dir, "meta.json")) as f:
        meta = json.load(f)
    model = make_fixtures.prepare_model(case, meta["input_shape"])
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.from_numpy(np.load(os.path.join(case_dir, "x.npy"))).double()
    target = int(meta["target"])
    model.double()
    with torch.no_grad():   # the rebuilt model must be the exported one
        logits = model(x).numpy()
    expected = np.load(os.path.join(case_dir, "logits64.npy"))
    if not np.abs(logits - expected).max() <= 1e-4 * np.abs(expected).max():
        raise RuntimeError("rebuilt model's logits differ from the fixture's")
    index = {}
    for name, method, params, attr, smap in references(case.name, model, x, target):
        entry = {"method": method, "params": params,
                 "attribution": f"ref_{name}.npy"}
        np.save(os.path.join(case_dir, entry["attribution"]),
                attr.detach().numpy().astype("<f8"))
        if smap is not None:
            entry["map"] = f"ref_{name}_map.npy"
            np.save(os.path.join(case_dir, entry["map"]),
                    smap.detach().numpy().astype("<f8"))
        index[name] = entry
    with open(os.path.join(case_dir, "ref_gradient.json"), "w") as f:
        json.dump({"target": target, "references": index}, f, indent=2)
    return sorted(index)


def main(argv):
    return runner.run_cases(argv, __doc__.split("\n")[0], CASES, MARKER, VERSION,
                            ["x.npy", "logits64.npy"], compute)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
