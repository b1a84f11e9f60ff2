#!/usr/bin/python3
"""Reference DeepLIFT attributions for the whitebox C++ tests, in plain PyTorch (float64).

Usage: /usr/bin/python3 tests/reference/deeplift.py FIXTURES

Builds a small seeded CNN that has every kind of node DeepLIFT treats differently (ReLU, Tanh and
Sigmoid non-linearities, max pooling, a residual sum feeding a ReLU, a squeeze-excitation gate
x * sigmoid(s), global average pooling, dense layers), exports it to
FIXTURES/deeplift_cnn/model.onnx and writes the input x, the reference input x0, and the
attributions of the Rescale and RevealCancel rules (ref_rescale.npy, ref_revealcancel.npy, <f8),
and DeepLIFT-SHAP over the references x0 and x1 (ref_shap.npy: the mean of their Rescale maps).

Independent of the C++ code: multipliers are propagated by hand through the known module
structure, with the definitions of Shrikumar et al. 2017; linear layers use torch.autograd for
their transposes.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-6  # |dx| at or below it: the gradient stands in for dy / dx (the C++ default)
VERSION = "3"


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, 8, 1)
        self.squeeze = nn.Linear(8, 8)
        self.fc = nn.Linear(8, 10)

    def parts(self, x):
        """Every intermediate value, by name."""
        v = {"x": x}
        v["h1"] = self.conv1(x)
        v["a1"] = torch.relu(v["h1"])
        v["p"] = self.pool(v["a1"])
        v["h2"] = self.conv2(v["p"])
        v["a2"] = torch.tanh(v["h2"])
        v["h3"] = self.conv3(v["a2"])
        v["r"] = v["h3"] + v["p"]
        v["u"] = torch.relu(v["r"])
        v["q"] = v["u"].mean((2, 3))
        v["t"] = self.squeeze(v["q"])
        v["s"] = torch.sigmoid(v["t"])
        v["g"] = v["u"] * v["s"][:, :, None, None]
        v["m"] = v["g"].mean((2, 3))
        v["y"] = self.fc(v["m"])
        return v

    def forward(self, x):
        return self.parts(x)["y"]


def transpose(fn, shape, signal):
    """(d fn / d input)^T signal for a linear map fn, by autograd."""
    z = torch.zeros(shape, dtype=signal.dtype, requires_grad=True)
    with torch.enable_grad():
        (c,) = torch.autograd.grad(fn(z), z, signal)
    return c


def ratio(contribution, dx, gradient):
    return torch.where(dx.abs() > EPS, contribution / torch.where(dx.abs() > EPS, dx, torch.ones_like(dx)),
                       gradient)


class DeepLift:
    def __init__(self, net, x, x0, reveal_cancel):
        self.net, self.rc = net, reveal_cancel
        with torch.no_grad():
            self.v, self.v0 = net.parts(x), net.parts(x0)

    def d(self, name):
        return self.v[name] - self.v0[name]

    def activation(self, f, fprime, inp, out, m, parts=None):
        """Multiplier at `inp` of out = f(inp); with RevealCancel, the (m+, m-) pair for the
        given positive and negative parts of d(inp)."""
        x, x0 = self.v[inp], self.v0[inp]
        dx, dy = x - x0, self.v[out] - self.v0[out]
        grad = m * fprime(x)
        if not self.rc:
            return ratio(m * dy, dx, grad)
        up, down = parts if parts is not None else (dx.clamp(min=0), dx.clamp(max=0))
        dy_up = 0.5 * (f(x0 + up) - f(x0)) + 0.5 * (f(x) - f(x0 + down))
        dy_down = 0.5 * (f(x0 + down) - f(x0)) + 0.5 * (f(x) - f(x0 + up))
        m_up, m_down = ratio(m * dy_up, up, grad), ratio(m * dy_down, down, grad)
        if parts is None:
            return torch.where(dx > 0, m_up, m_down)
        return m_up, m_down

    def linear_parts(self, fn_w, w, inp):
        """Positive and negative parts of the output difference of a linear layer."""
        da = self.d(inp)
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        up = fn_w(da.clamp(min=0), wp) + fn_w(da.clamp(max=0), wn)
        down = fn_w(da.clamp(max=0), wp) + fn_w(da.clamp(min=0), wn)
        return up, down

    def linear_back(self, fn_w, w, inp, m):
        """Multiplier at the input of a linear layer: m, or the (m+, m-) pair."""
        shape = self.v[inp].shape
        if not isinstance(m, tuple):
            return transpose(lambda z: fn_w(z, w), shape, m)
        m_up, m_down = m
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        t = lambda s, ww: transpose(lambda z: fn_w(z, ww), shape, s)  # noqa: E731
        when_up = t(m_up, wp) + t(m_down, wn)
        when_down = t(m_down, wp) + t(m_up, wn)
        da = self.d(inp)
        return torch.where(da > 0, when_up, torch.where(da < 0, when_down, 0.5 * (when_up + when_down)))

    def attribution(self, target):
        n = self.net
        conv = lambda layer: (lambda z, w: F.conv2d(z, w, None, layer.stride, layer.padding))  # noqa: E731
        dense = lambda z, w: F.linear(z, w)  # noqa: E731
        m_y = torch.zeros_like(self.v["y"])
        m_y[0, target] = 1.0
        m_m = self.linear_back(dense, n.fc.weight, "m", m_y)
        hw = self.v["g"].shape[2] * self.v["g"].shape[3]
        m_g = (m_m / hw)[:, :, None, None].expand_as(self.v["g"])
        # g = u * s: each factor gets half of the product's difference with the other at x and x0.
        s, s0 = self.v["s"][:, :, None, None], self.v0["s"][:, :, None, None]
        m_u = m_g * (s + s0) / 2
        m_s = (m_g * (self.v["u"] + self.v0["u"]) / 2).sum((2, 3))
        sig = torch.sigmoid
        if self.rc:
            m_t = self.activation(sig, lambda t: sig(t) * (1 - sig(t)), "t", "s", m_s,
                                  self.linear_parts(dense, n.squeeze.weight, "q"))
        else:
            m_t = self.activation(sig, lambda t: sig(t) * (1 - sig(t)), "t", "s", m_s)
        m_q = self.linear_back(dense, n.squeeze.weight, "q", m_t)
        m_u = m_u + (m_q / hw)[:, :, None, None]
        # u = relu(r), r = h3 + p: a sum before the ReLU.
        relu_prime = lambda z: (z > 0).to(z.dtype)  # noqa: E731
        if self.rc:
            dh3, dp = self.d("h3"), self.d("p")
            parts = (dh3.clamp(min=0) + dp.clamp(min=0), dh3.clamp(max=0) + dp.clamp(max=0))
            m_up, m_down = self.activation(torch.relu, relu_prime, "r", "u", m_u, parts)
            by_sign = lambda da: torch.where(da > 0, m_up, torch.where(da < 0, m_down, 0.5 * (m_up + m_down)))  # noqa: E731
            m_h3, m_p = by_sign(dh3), by_sign(dp)
        else:
            m_r = self.activation(torch.relu, relu_prime, "r", "u", m_u)
            m_h3, m_p = m_r, m_r
        m_a2 = self.linear_back(conv(n.conv3), n.conv3.weight, "a2", m_h3)
        tanh_prime = lambda z: 1 - torch.tanh(z) ** 2  # noqa: E731
        if self.rc:
            m_h2 = self.activation(torch.tanh, tanh_prime, "h2", "a2", m_a2,
                                   self.linear_parts(conv(n.conv2), n.conv2.weight, "p"))
        else:
            m_h2 = self.activation(torch.tanh, tanh_prime, "h2", "a2", m_a2)
        m_p = m_p + self.linear_back(conv(n.conv2), n.conv2.weight, "p", m_h2)
        # Max pooling: a window's difference goes to its winner at x if the maximum rose, to its
        # winner at x0 if it fell.
        size = self.v["a1"].shape[2:]
        _, at_x = F.max_pool2d(self.v["a1"], 2, return_indices=True)
        _, at_x0 = F.max_pool2d(self.v0["a1"], 2, return_indices=True)
        dp = self.d("p")
        routed = (F.max_unpool2d(m_p * dp.clamp(min=0), at_x, 2, output_size=size)
                  + F.max_unpool2d(m_p * dp.clamp(max=0), at_x0, 2, output_size=size))
        m_a1 = ratio(routed, self.d("a1"), F.max_unpool2d(m_p, at_x, 2, output_size=size))
        if self.rc:
            m_h1 = self.activation(torch.relu, relu_prime, "h1", "a1", m_a1,
                                   self.linear_parts(conv(n.conv1), n.conv1.weight, "x"))
        else:
            m_h1 = self.activation(torch.relu, relu_prime, "h1", "a1", m_a1)
        m_x = self.linear_back(conv(n.conv1), n.conv1.weight, "x", m_h1)
        return m_x * self.d("x")


def main(argv):
    out = os.path.join(argv[0], "deeplift_cnn")
    marker = os.path.join(out, "done")
    if os.path.exists(marker) and open(marker).read().strip() == VERSION:
        print("[skip] deeplift_cnn (done)")
        return 0
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    net = SmallCnn().eval()
    x = torch.randn(1, 3, 16, 16)
    x0 = 0.1 * torch.randn(1, 3, 16, 16)
    x1 = 0.5 * torch.randn(1, 3, 16, 16)
    torch.onnx.export(net, (x,), os.path.join(out, "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"])
    net = net.double()
    x, x0, x1 = x.double(), x0.double(), x1.double()
    with torch.no_grad():
        logits, logits0, logits1 = net(x), net(x0), net(x1)
    target = int(logits.argmax())
    np.save(os.path.join(out, "x.npy"), x.numpy())
    np.save(os.path.join(out, "x0.npy"), x0.numpy())
    np.save(os.path.join(out, "x1.npy"), x1.numpy())
    meta = {"target": target, "delta": float(logits[0, target] - logits0[0, target]),
            "delta_shap": float(logits[0, target] - (logits0[0, target] + logits1[0, target]) / 2)}
    shap = (DeepLift(net, x, x0, False).attribution(target) +
            DeepLift(net, x, x1, False).attribution(target)) / 2
    np.save(os.path.join(out, "ref_shap.npy"), shap.numpy())
    for name, rc in (("rescale", False), ("revealcancel", True)):
        a = DeepLift(net, x, x0, rc).attribution(target)
        np.save(os.path.join(out, f"ref_{name}.npy"), a.numpy())
        meta[f"sum_{name}"] = float(a.sum())
        print(f"{name}: sum {float(a.sum()):.12g}, delta {meta['delta']:.12g}")
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(marker, "w") as f:
        f.write(VERSION + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
