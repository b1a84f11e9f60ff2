"""CNNs whose forward calls F.interpolate (ONNX Resize, or Upsample at opset 9): logits and input
gradients against torch.autograd in float64 for every mode the PyTorch exporter writes, and one such
CNN explained by every method family, CAM layers before and after the resampling."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import whitebox


def relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


class Resampling(torch.nn.Module):
    """Conv -> ReLU -> F.interpolate -> Conv -> ReLU -> global mean -> Linear (5 classes)."""

    def __init__(self, **interpolation):
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.ReLU())
        self.body = torch.nn.Sequential(torch.nn.Conv2d(6, 8, 3, padding=1), torch.nn.ReLU())
        self.head = torch.nn.Linear(8, 5)
        self.interpolation = interpolation

    def forward(self, x):
        a = F.interpolate(self.stem(x), **self.interpolation)
        return self.head(self.body(a).mean(dim=(2, 3)))


# (opset, F.interpolate's arguments): what the exporter writes for each.
MODES = [
    (9, dict(scale_factor=2, mode="nearest")),                          # Upsample
    (11, dict(scale_factor=2, mode="nearest")),                         # asymmetric + floor
    (13, dict(size=(13, 9), mode="nearest")),
    (13, dict(size=(13, 9), mode="bilinear", align_corners=False)),     # half_pixel
    (17, dict(scale_factor=1.5, mode="bilinear", align_corners=False)),
    (13, dict(size=(5, 4), mode="bilinear", align_corners=True)),       # align_corners, shrinking
    (13, dict(size=(13, 9), mode="bicubic", align_corners=False)),
    (17, dict(size=(13, 9), mode="bicubic", align_corners=True)),
]


@pytest.mark.parametrize("opset, interpolation", MODES)
def test_logits_and_input_gradient_equal_autograd(opset, interpolation):
    net = Resampling(**interpolation).eval()
    model = whitebox.Model.from_torch(net, torch.zeros(1, 3, 8, 7), opset=opset, dtype="float64")
    x = torch.randn(2, 3, 8, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    net = net.double()
    assert relative_error(model.logits(x), net(x).detach()) < 1e-12
    leaf = x.clone().requires_grad_(True)
    net(leaf)[:, 3].sum().backward()
    saliency = model.explain(x, "saliency", target=3)["saliency"]
    assert relative_error(saliency.attribution, leaf.grad) < 1e-12


FAMILIES = ["saliency", "integrated-gradients", "guided-backprop", "lrp-epsilon", "lrp",
            "deep-taylor", "deeplift", "excitation-backprop", "gradcam", "scorecam", "fem",
            "occlusion"]


@pytest.fixture(scope="module")
def bilinear():
    net = Resampling(scale_factor=2, mode="bilinear", align_corners=False).eval()
    model = whitebox.Model.from_torch(net, torch.zeros(1, 3, 16, 16), dtype="float64")
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    return net.double(), model, x


def test_every_method_family_explains_through_the_resize(bilinear):
    net, model, x = bilinear
    maps = model.explain(x, FAMILIES, target=1, steps=16, window=4, stride=4, baseline="zero")
    for name in FAMILIES:
        attribution = np.asarray(maps[name].attribution)
        assert np.isfinite(attribution).all(), name
        assert np.abs(attribution).sum() > 0, name
    logit = float(net(x)[0, 1])
    # Completeness through the resampling: LRP-epsilon's relevance sums to the logit up to the
    # biases and epsilon; DeepLIFT's and IG's to the logit minus the zero input's.
    zero = float(net(torch.zeros_like(x))[0, 1])
    deeplift = float(np.asarray(maps["deeplift"].attribution).sum())
    assert abs(deeplift - (logit - zero)) < 1e-9 * max(1.0, abs(logit))
    ig = float(np.asarray(maps["integrated-gradients"].attribution).sum())
    assert abs(ig - (logit - zero)) < 0.05 * abs(logit - zero)


def test_cam_layers_before_and_after_the_resize(bilinear):
    net, model, x = bilinear
    for layer in (net.stem, net.body):
        seen = {}
        hook = layer.register_forward_hook(lambda _m, _i, out: seen.update(a=out))
        try:
            (grad,) = torch.autograd.grad(net(x)[0, 1], seen["a"])
        finally:
            hook.remove()
        cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * seen["a"]).sum(1)).detach()
        gradcam = model.explain(x, "gradcam", target=1, layer=layer)["gradcam"]
        assert relative_error(gradcam.attribution, cam) < 1e-12
        # Before the resize the map is 16 x 16, after it 32 x 32: both come back at the input's size.
        assert np.asarray(gradcam.map).shape[-2:] == (16, 16)
