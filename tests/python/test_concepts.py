"""Model.concepts and Model.concept_graph: the conditional maps of all channels of a layer add up
to the method's map, layouts and types in and out, layers in PyTorch's words, and errors."""

import numpy as np
import pytest
import torch

import whitebox
from conftest import SMALL, bundled

LAYER = "y2_conv_2d"  # 16 channels, crossed by every path from the output to the input


@pytest.fixture(scope="module")
def small64():
    return whitebox.Model.load(bundled(SMALL), dtype="float64",
                               preprocessing={"name": "mobilenet-tf", "width": 128,
                                              "height": 128})


def test_all_channels_add_up_to_the_map(small64, x):
    x = x.astype(np.float64)
    for method in ("lrp", "gradient-input"):
        found = small64.concepts(x, LAYER, channels="all", method=method)
        assert found.maps.shape == (16, 128, 128)
        assert found.attributions.shape == (16, 3, 128, 128)
        assert sorted(found.channels) == list(range(16))
        ranked = found.relevance[found.channels]
        assert np.all(ranked[:-1] >= ranked[1:])
        own = small64.explain(x, method)[method].attribution
        np.testing.assert_allclose(found.attributions.sum(0, keepdims=True), own, rtol=1e-10,
                                   atol=1e-10 * np.abs(own).max())


def test_layouts_and_types(small, x):
    base = small.concepts(x, LAYER, top=3)
    assert base.relevance.shape == (16,)
    assert len(base.channels) == 3 and base.maps.shape == (3, 128, 128)
    assert base.target == int(np.argmax(small.logits(x)[0]))
    # A channels-last view and a sliced batch give the same as the contiguous array.
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    batch = np.concatenate([x, x])[1:]
    for other in (nhwc, batch, x[:, :, ::1, :]):
        again = small.concepts(other, LAYER, top=3)
        assert again.channels == base.channels
        np.testing.assert_array_equal(again.maps, base.maps)
    tensor = small.concepts(torch.from_numpy(x), LAYER, channels=[4, 1])
    assert isinstance(tensor.maps, torch.Tensor) and tensor.channels == [4, 1]
    np.testing.assert_allclose(tensor.relevance.numpy(), base.relevance, rtol=1e-6, atol=1e-9)
    ranking = small.concepts(x, LAYER, top=3, maps=False)
    assert ranking.maps is None and ranking.channels == base.channels


def test_conditions_and_the_graph(small, x):
    nodes = small.concept_graph(x, ["y4_conv_2d", LAYER], top=2, subtop=2)
    assert [n["parent"] for n in nodes] == [-1, -1, 0, 0, 1, 1]
    assert nodes[2]["layer"] == LAYER
    under = small.concepts(x, LAYER, top=2, condition={"y4_conv_2d": [nodes[0]["channel"]]},
                           maps=False)
    assert under.channels == [nodes[2]["channel"], nodes[3]["channel"]]
    assert under.relevance[under.channels[0]] == pytest.approx(nodes[2]["relevance"])


def test_a_module_names_the_layer():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(6, 5)).eval()
    model = whitebox.Model.from_torch(net, torch.zeros(1, 3, 16, 16))
    x = torch.randn(1, 3, 16, 16)
    by_module = model.concepts(x, net[1], channels="all", method="gradient-input")
    by_name = model.concepts(x, "1", channels="all", method="gradient-input")
    assert by_module.layer == "1" and by_name.layer == "1"
    torch.testing.assert_close(by_module.maps, by_name.maps)
    # Gradient x input through the four channels adds up to gradient x input.
    x.requires_grad_(True)
    logits = net(x)
    (grad,) = torch.autograd.grad(logits[0, by_name.target], x)
    torch.testing.assert_close(by_name.maps.sum(0), (grad * x).sum(1)[0].detach(), rtol=1e-4,
                               atol=1e-5)


def test_errors(small, x):
    with pytest.raises(ValueError, match="lrp-epsilon-plus"):
        small.concepts(x, LAYER, method="gradcam")
    with pytest.raises(ValueError, match="channels 0 to 15"):
        small.concepts(x, LAYER, channels=[16])
    with pytest.raises(ValueError, match="channels"):
        small.concepts(x, LAYER, channels="some")
    with pytest.raises(TypeError, match="channels"):
        small.concepts(x, LAYER, channels=[1.5])
    with pytest.raises(ValueError, match="one image"):
        small.concepts(np.concatenate([x, x]), LAYER)
    with pytest.raises(ValueError, match="is not before"):
        small.concepts(x, "y4_conv_2d", condition={LAYER: [0]})
    with pytest.raises(TypeError, match="condition"):
        small.concepts(x, LAYER, condition=[("y4_conv_2d", [0])])
    with pytest.raises(ValueError, match="no layer or value named 'no_such_layer'"):
        small.concepts(x, "no_such_layer")
    assert "lrp" in whitebox.concept_methods() and "gradcam" not in whitebox.concept_methods()


def test_the_report_shows_the_concepts(small, tmp_path):
    path = whitebox.report(small, [bundled("images/chelsea.png")], tmp_path / "r.html",
                           methods="saliency", steps=4, concept_layer="y4_conv_2d", concepts=2,
                           progress=False)
    page = open(path, encoding="utf-8").read()
    assert page.count("<figcaption>channel ") == 2
    with pytest.raises(ValueError, match="relevance sweep"):
        whitebox.report(small, [bundled("images/chelsea.png")], tmp_path / "s.html",
                        methods="saliency", steps=4, concept_layer="y4_conv_2d",
                        concept_method="gradcam", progress=False)
