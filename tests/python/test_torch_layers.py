"""Layers named in PyTorch's words for a model made with from_torch: the module object, its dotted
name and the ONNX value of its output give the same map, and that map is the Grad-CAM of that
module's output computed here with plain torch.autograd."""

import numpy as np
import pytest
import torch
import torchvision

import whitebox


def gradcam_reference(module, layer, x, cls):
    """Grad-CAM at `layer`'s output with torch.autograd, upsampled as whitebox does."""
    seen = {}
    hook = layer.register_forward_hook(lambda m, i, o: seen.update(a=o))
    try:
        logits = module(torch.from_numpy(x))
    finally:
        hook.remove()
    (grad,) = torch.autograd.grad(logits[0, cls], seen["a"])
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * seen["a"]).sum(1, keepdim=True))
    return torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="bilinear",
                                           align_corners=False)[:, 0].detach().numpy()


@pytest.mark.parametrize("name, layer, dotted", [
    ("resnet18", lambda net: net.layer4, "layer4"),
    ("resnet18", lambda net: net.layer3[1], "layer3.1"),
    ("mobilenet_v2", lambda net: net.features[18], "features.18"),
    ("mobilenet_v2", lambda net: net.features[14].conv[0], "features.14.conv.0"),
])
def test_a_module_its_dotted_name_and_its_onnx_value_name_the_same_layer(name, layer, dotted):
    torch.manual_seed(0)
    net = getattr(torchvision.models, name)(weights=None).eval()
    model = whitebox.Model.from_torch(net, torch.zeros(1, 3, 64, 64))
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype(np.float32)
    cls = int(np.argmax(model.logits(x)[0]))
    by_module = model.explain(x, "gradcam", target=cls, layer=layer(net))["gradcam"]
    by_name = model.explain(x, "gradcam", target=cls, layer=dotted)["gradcam"]
    value = model._layers.value(dotted)
    by_value = model.explain(x, "gradcam", target=cls, layer=value)["gradcam"]
    np.testing.assert_array_equal(by_module.map, by_name.map)
    np.testing.assert_array_equal(by_value.map, by_name.map)
    assert by_name.layer == dotted
    expected = gradcam_reference(net, layer(net), x, cls)
    error = np.linalg.norm(by_name.map - expected) / np.linalg.norm(expected)
    assert error < 1e-4, error


def test_the_default_layer_is_reported_as_its_module_and_bad_layers_are_named():
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    model = whitebox.Model.from_torch(net, torch.zeros(1, 3, 64, 64))
    x = np.zeros((1, 3, 64, 64), np.float32)
    assert model.explain(x, "gradcam")["gradcam"].layer == "layer4"
    with pytest.raises(ValueError, match="layer4"):
        model.explain(x, "gradcam", layer="layer5")  # did you mean layer4?
    with pytest.raises(ValueError, match="not a submodule"):
        model.explain(x, "gradcam", layer=torch.nn.ReLU())
    with pytest.raises(ValueError, match="no node of its own"):
        model.explain(x, "gradcam", layer="bn1")  # folded into conv1 by the export
