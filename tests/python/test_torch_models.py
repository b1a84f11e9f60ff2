"""whitebox from PyTorch: torchvision models exported by Model.from_torch, explained, and checked
against plain torch.autograd computations written here (float64 on both sides, so that ReLU and
max-pool ties do not differ by roundoff)."""

import numpy as np
import pytest
import torch
import torchvision

import whitebox

TOLERANCE = 1e-5


def relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def build(name, side):
    torch.manual_seed(0)
    module = getattr(torchvision.models, name)(weights=None).eval()
    if name.startswith("vgg"):
        # VGG pools its trunk to 7x7, which ONNX's exporter does only from a multiple of 7: at
        # fewer pixels the trunk's own output goes to the classifier.
        module.avgpool = torch.nn.AdaptiveAvgPool2d(side // 32)
        module.classifier[0] = torch.nn.Linear(512 * (side // 32) ** 2, 4096)
    # Random BatchNorm statistics, so that folding them is not the identity.
    gen = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return module


# name -> (the module whose output is the last spatial feature map, IG steps, input side). The
# mathematics does not depend on ImageNet's 224 pixels; fewer keep the float64 runs short.
CASES = {
    "resnet18": (lambda m: m.layer4, 8, 96),
    "vgg16": (lambda m: m.features, 4, 64),
    "mobilenet_v2": (lambda m: m.features, 8, 96),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    name = request.param
    side = CASES[name][2]
    module = build(name, side)
    example = torch.zeros(1, 3, side, side)
    model = whitebox.Model.from_torch(module, example, dtype="float64")
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(2),
                    dtype=torch.float64)
    return name, module.double(), model, x


def reference_gradient(module, x, cls):
    x = x.clone().requires_grad_(True)
    module(x)[0, cls].backward()
    return x.grad


def test_saliency_ig_gradcam_equal_autograd(case):
    name, module, model, x = case
    cls = int(module(x).argmax())
    steps = CASES[name][1]
    maps = model.explain(x, ["saliency", "integrated-gradients", "gradcam"], target=cls,
                         steps=steps, baseline="zero", integration="riemann-right")

    # Saliency: max over channels of |d y_c / dx|; the raw attribution is the gradient.
    grad = reference_gradient(module, x, cls)
    assert relative_error(maps["saliency"].attribution, grad) < TOLERANCE

    # Integrated gradients, right Riemann sum from the zero baseline (what Captum computes).
    total = torch.zeros_like(x)
    for k in range(1, steps + 1):
        total += reference_gradient(module, x * (k / steps), cls)
    ig = x * total / steps
    assert relative_error(maps["integrated-gradients"].attribution, ig) < TOLERANCE

    # Grad-CAM at the last spatial feature map: ReLU(sum_k mean(dy/dA^k) A^k).
    layer = CASES[name][0](module)
    captured = {}
    hook = layer.register_forward_hook(lambda _m, _i, out: captured.__setitem__("a", out))
    try:
        with torch.enable_grad():
            logits = module(x)
            (g,) = torch.autograd.grad(logits[0, cls], captured["a"])
    finally:
        hook.remove()
    cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * captured["a"]).sum(1))
    gradcam = maps["gradcam"]
    assert gradcam.layer
    assert relative_error(gradcam.attribution, cam.detach()) < TOLERANCE


def test_torch_and_numpy_give_identical_arrays(case):
    _name, _module, model, x = case
    from_torch = model.explain(x, ["saliency", "gradcam"])
    from_numpy = model.explain(x.numpy(), ["saliency", "gradcam"])
    for method in ("saliency", "gradcam"):
        assert isinstance(from_torch[method].map, torch.Tensor)
        assert isinstance(from_numpy[method].map, np.ndarray)
        np.testing.assert_array_equal(from_torch[method].map.numpy(), from_numpy[method].map)
        np.testing.assert_array_equal(from_torch[method].attribution.numpy(),
                                      from_numpy[method].attribution)


def test_contiguous_float32_input_is_not_copied():
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    assert whitebox._whitebox._tensor_address(x) == x.ctypes.data
    t = torch.from_numpy(x)
    assert whitebox._whitebox._tensor_address(t.numpy()) == x.ctypes.data
    # A strided view cannot be read in place: it is copied.
    view = x[:, :, ::2, ::2]
    assert whitebox._whitebox._tensor_address(view) != view.ctypes.data
