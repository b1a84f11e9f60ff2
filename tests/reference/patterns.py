#!/usr/bin/python3
"""Reference patterns, PatternNet and PatternAttribution for the whitebox C++ tests, in plain
PyTorch (float64).

Usage: /usr/bin/python3 tests/reference/patterns.py OUT_DIR

Builds a small seeded CNN (a strided grouped convolution, max pooling, global average pooling,
a dense layer), exports it to OUT_DIR/model.onnx and writes seeded inputs: x_fit.npy (the images
the patterns are fitted on), x.npy (the images explained) and targets.npy. Then, layer by layer
over the known architecture, in float64:
- the pattern of every unit of every linear layer by both estimators, from explicitly unfolded
  input patches (F.unfold) and masked sample means: pattern_<estimator>_<i>.npy, in the layer's
  weight layout, i = 0.. in the order of the layers, and the two-component estimator's negative
  regime (y <= 0) in pattern_twocomponent_neg_<i>.npy;
- PatternNet and PatternAttribution by a hand-written backward pass, the target logit passed back
  through the patterns (or weights times patterns; two-component: a+ where the layer's output is
  positive, a- elsewhere), ReLUs gating, max pooling to the winners, average pooling spread
  evenly: patternnet_<estimator>.npy, patternattribution_<estimator>.npy.
Independent of the C++ code, which sums patches through the layers' weight gradients.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ESTIMATORS = ["linear", "twocomponent"]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2)
        self.conv3 = nn.Conv2d(8, 12, 1)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def estimate(xs, ys, w, regime):
    """The pattern of one unit from its samples xs [S, D], ys [S] and weight w [D], over the
    samples of the regime ("linear": all, "positive": y > 0, "negative": y <= 0); E[y] is over
    all samples."""
    inside = {"linear": torch.ones_like(ys, dtype=torch.bool), "positive": ys > 0,
              "negative": ys <= 0}[regime]
    if not inside.any():
        return torch.zeros_like(w)
    num = (xs[inside] * ys[inside, None]).mean(0) - xs[inside].mean(0) * ys.mean()
    den = w @ num
    if abs(den) <= 1e-12 * (w * num).abs().sum():
        return torch.zeros_like(w)
    return num / den


def conv_patterns(conv, x, estimator):
    """Every output channel sees every position's input patch (of its group)."""
    w = conv.weight.detach()
    k, cg = w.shape[0], w.shape[1]
    y = conv(x).detach()
    cols = F.unfold(x, conv.kernel_size, conv.dilation, conv.padding, conv.stride)  # [N, C*kk, L]
    n, _, positions = cols.shape
    per_group = k // conv.groups
    patch = cols.shape[1] // conv.groups
    ys = y.reshape(n, k, positions)
    patterns = torch.zeros(k, patch, dtype=x.dtype)
    for unit in range(k):
        g = unit // per_group
        xs = cols[:, g * patch:(g + 1) * patch, :].permute(0, 2, 1).reshape(-1, patch)
        patterns[unit] = estimate(xs, ys[:, unit, :].reshape(-1), w[unit].reshape(-1), estimator)
    return patterns.reshape(w.shape)


def dense_patterns(fc, x, estimator):
    w = fc.weight.detach()
    y = fc(x).detach()
    return torch.stack([estimate(x, y[:, unit], w[unit], estimator) for unit in range(w.shape[0])])


def forward(net, x):
    """The values the backward pass reads."""
    v = {"x": x}
    v["z1"] = net.conv1(x)
    v["a1"] = F.relu(v["z1"])
    v["z2"] = net.conv2(v["a1"])
    v["a2"] = F.relu(v["z2"])
    v["m"], v["idx"] = F.max_pool2d(v["a2"], 2, return_indices=True)
    v["z3"] = net.conv3(v["m"])
    v["a3"] = F.relu(v["z3"])
    v["p"] = F.adaptive_avg_pool2d(v["a3"], 1).flatten(1)
    v["y"] = net.fc(v["p"])
    return {key: t.detach() for key, t in v.items()}


def fit(net, x, regime):
    v = forward(net, x)
    return [conv_patterns(net.conv1, v["x"], regime), conv_patterns(net.conv2, v["a1"], regime),
            conv_patterns(net.conv3, v["m"], regime), dense_patterns(net.fc, v["p"], regime)]


def backward(net, x, targets, m, m_neg):
    """The target logit passed back with the matrices m (one per linear layer) for the weights,
    m_neg where the layer's output is <= 0."""
    from torch.nn.grad import conv2d_input
    v = forward(net, x)
    r = torch.zeros_like(v["y"])
    r[torch.arange(len(targets)), targets] = v["y"][torch.arange(len(targets)), targets]
    up = (v["y"] > 0).double()
    r = (r * up) @ m[3] + (r * (1 - up)) @ m_neg[3]
    h, w = v["a3"].shape[-2:]
    r = r[:, :, None, None].expand_as(v["a3"]) / (h * w)
    r = r * (v["z3"] > 0)  # the ReLU gate: nothing is left where z <= 0 for the negative pattern
    r = conv2d_input(v["m"].shape, m[2], r)
    r = F.max_unpool2d(r, v["idx"], 2, output_size=v["a2"].shape[-2:])
    r = r * (v["z2"] > 0)
    r = conv2d_input(v["a1"].shape, m[1], r, stride=2, padding=1, groups=2)
    r = r * (v["z1"] > 0)
    return conv2d_input(x.shape, m[0], r, padding=1)


def main(out_dir):
    torch.manual_seed(0)
    os.makedirs(out_dir, exist_ok=True)
    net = Net().eval()
    x_fit = torch.randn(16, 3, 12, 12)
    x = torch.randn(2, 3, 12, 12)
    torch.onnx.export(net, x[:1], os.path.join(out_dir, "model.onnx"), opset_version=13,
                      input_names=["x"], output_names=["logits"])
    net = net.double()
    x_fit, x = x_fit.double(), x.double()
    targets = torch.tensor([1, 3])
    np.save(os.path.join(out_dir, "x_fit.npy"), x_fit.numpy())
    np.save(os.path.join(out_dir, "x.npy"), x.numpy())
    np.save(os.path.join(out_dir, "targets.npy"), targets.numpy())
    weights = [net.conv1.weight, net.conv2.weight, net.conv3.weight, net.fc.weight]
    with torch.no_grad():
        for estimator in ESTIMATORS:
            patterns = fit(net, x_fit, "linear" if estimator == "linear" else "positive")
            negative = patterns if estimator == "linear" else fit(net, x_fit, "negative")
            for i, (p, q) in enumerate(zip(patterns, negative)):
                np.save(os.path.join(out_dir, f"pattern_{estimator}_{i}.npy"), p.numpy())
                if estimator != "linear":
                    np.save(os.path.join(out_dir, f"pattern_{estimator}_neg_{i}.npy"), q.numpy())
            signal = backward(net, x, targets, patterns, negative)
            attribution = backward(net, x, targets, [w.detach() * p for w, p in zip(weights, patterns)],
                                   [w.detach() * q for w, q in zip(weights, negative)])
            np.save(os.path.join(out_dir, f"patternnet_{estimator}.npy"), signal.numpy())
            np.save(os.path.join(out_dir, f"patternattribution_{estimator}.npy"), attribution.numpy())
            print(estimator, "patterns", [tuple(p.shape) for p in patterns],
                  "signal", float(signal.abs().sum()), "attribution", float(attribution.sum()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
