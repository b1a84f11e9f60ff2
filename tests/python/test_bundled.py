"""whitebox from Python on the bundled models: every registered method, the helpers, the metrics,
and the documented exceptions for bad input."""

import os

import numpy as np
import pytest

import whitebox

SMALL = "mobilenet_v1_0.25_128.onnx"   # bundled, 128x128: every method in seconds
# Hyper-parameters that keep the slow methods quick here.
QUICK = {"rise": {"masks": 64}, "occlusion": {"window": 32, "stride": 32},
         "integrated-gradients": {"steps": 4}, "smoothgrad": {"samples": 3},
         "smoothgrad-squared": {"samples": 3}, "vargrad": {"samples": 3},
         "scorecam": {"batch": 64}, "iscam": {"channels": 16, "samples": 2},
         "sscam": {"channels": 16, "samples": 2}, "expected-gradients": {"samples": 4},
         "deeplift-shap": {"baselines": "zero,black"}, "sobol": {"grid": 3, "designs": 4},
         "layer-integrated-gradients": {"steps": 4}, "layer-conductance": {"steps": 4},
         "neuron-integrated-gradients": {"steps": 4}}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    # A copy, so that fitted patterns stay out of the source tree.
    target = folder / SMALL
    with open(whitebox._whitebox.bundled_path(SMALL), "rb") as source:
        target.write_bytes(source.read())
    model = whitebox.Model.load(target, labels=whitebox._whitebox.bundled_path("imagenet_labels_1000.txt"),
                                preprocessing={"name": "mobilenet-tf", "width": 128, "height": 128})
    return model


@pytest.fixture(scope="module")
def photo(small):
    image = whitebox.read_image(whitebox._whitebox.bundled_path("images/chelsea.png"))
    return whitebox.preprocess(image, small)


def test_every_registered_method_runs_and_is_finite(small, photo):
    x, picture = photo
    small.fit_patterns(np.concatenate([x, x[:, :, ::-1, :].copy()]))
    for info in whitebox.methods():
        name = info["name"]
        assert "math" in info["mathematics"], name  # every entry has a formula block
        e = small.explain(x, name, **QUICK.get(name, {}))[name]
        assert e.method == name
        assert e.map.shape == (1, 128, 128), name
        assert np.isfinite(e.map).all() and np.isfinite(e.attribution).all(), name
        if info["resolution"].startswith("input"):
            # [N, C, H, W] over the input (one channel for occlusion's per-pixel scores)
            assert e.attribution.shape in ((1, 3, 128, 128), (1, 1, 128, 128)), name
        else:
            # [N, h, w] (a CAM) or [N, K, h, w] (a layer attribution) at the layer
            assert e.attribution.ndim in (3, 4) and e.layer, name
        assert all(np.isfinite(v) for v in e.stats.values()), name
    rgb = whitebox.overlay(picture, e)
    assert rgb.shape == (128, 128, 3) and rgb.dtype == np.uint8


def test_predict_and_default_model():
    model = whitebox.Model.load()
    x, _ = whitebox.preprocess(whitebox.read_image(whitebox._whitebox.bundled_path("images/parrot.jpg")), model)
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    top = model.predict(x, top=3)[0]
    assert top[0]["label"] == "macaw"
    assert top[0]["probability"] > top[1]["probability"]
    assert model.logits(x).shape == (1, 1000)


def test_targets_layers_and_parameters(small, photo):
    x, _ = photo
    batch = np.concatenate([x, x])
    by_index = small.explain(batch, "gradcam", target=[281, 285])["gradcam"]
    assert by_index.map.shape == (2, 128, 128)
    one = small.explain(x, "gradcam", target=285)["gradcam"]
    np.testing.assert_allclose(one.map[0], by_index.map[1], rtol=1e-5, atol=1e-6)
    named = small.explain(x, "gradcam", target=small.labels[285])["gradcam"]
    np.testing.assert_allclose(named.map, one.map)
    ig = small.explain(x, "ig", steps=3, baseline=np.zeros_like(x[0]))["ig"]
    assert abs(ig.stats["relative_completeness_gap"]) < 0.5
    layers = small.explain(x, "gradcam", layer=one.layer)["gradcam"]
    np.testing.assert_allclose(layers.map, small.explain(x, "gradcam")["gradcam"].map)


def test_metrics_and_sanity(small, photo):
    x, _ = photo
    e = small.explain(x, "saliency")["saliency"]
    names = whitebox.metrics.names()
    assert "deletion" in names and "pointing-game" in names
    deletion = whitebox.metrics.deletion(small, x, e.map, steps=16)
    assert 0.0 <= deletion["deletion_auc"] <= 1.0
    assert whitebox.metrics.sparseness(small, x, e.map)["sparseness"] > 0.0
    mask = np.zeros((128, 128), dtype=bool)
    mask[32:96, 32:96] = True
    assert "pointing_game" in whitebox.metrics.compute("pointing-game", small, x, e.map, masks=mask)
    robust = whitebox.metrics.compute("sensitivity", small, x, e.map, method="saliency",
                                      samples=2)
    assert all(np.isfinite(v) for v in robust.values())
    assert "sufficiency" not in dir(whitebox.metrics)  # no single-image function
    with pytest.raises(ValueError, match="over_dataset"):
        whitebox.metrics.compute("sufficiency", small, x, e.map)
    images = [whitebox.preprocess(whitebox.read_image(whitebox._whitebox.bundled_path(
        f"images/{name}")), small)[0] for name in ("chelsea.png", "cat.bmp", "parrot.jpg")]
    maps = [small.explain(image, "gradcam")["gradcam"].map for image in images]
    both = whitebox.metrics.over_dataset("consistency", small, images, maps, top=1)
    assert len(both["per_image"]) == 3 and both["overall"] == {}
    # chelsea and cat: both cats, predicted alike, with the same top cell on a 1 x 1 grid
    one_cell = whitebox.metrics.over_dataset("consistency", small, images[:2], maps[:2], grid=1,
                                             top=1)
    classes = [int(np.argmax(small.logits(image)[0])) for image in images[:2]]
    assert [v["consistency"] for v in one_cell["per_image"]] == [float(classes[0] == classes[1])] * 2
    mege = whitebox.metrics.over_dataset("mege", small, images, maps, method="gradcam",
                                         models=str(small.path))
    assert mege["overall"]["mege"] == 1.0
    result = whitebox.sanity(small, x, ["saliency"], layers=2)

    assert len(result["steps"]) == 3 and "saliency" in result["steps"][1]["similarity"]
    assert np.isfinite(result["complexity_rise"]["saliency"])
    smooth = whitebox.sanity(small, x, ["saliency"], layers=2, smooth=2)
    assert not np.allclose(smooth["steps"][0]["maps"]["saliency"],
                           result["steps"][0]["maps"]["saliency"])


def test_bad_inputs_raise_the_documented_exceptions(small, photo, tmp_path):
    x, _ = photo
    with pytest.raises(FileNotFoundError):
        whitebox.Model.load(tmp_path / "missing.onnx")
    with pytest.raises(FileNotFoundError):
        whitebox.read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="steps"):
        small.explain(x, "integrated-gradients", stpes=3)
    with pytest.raises(ValueError, match="unknown method"):
        small.explain(x, "no-such-method")
    with pytest.raises(ValueError):
        small.explain(x, "integrated-gradients", steps=0)
    with pytest.raises(ValueError):
        small.explain(x[:, :, :64, :64].copy(), "saliency")   # wrong input size
    with pytest.raises(ValueError):
        small.explain(x.astype(np.int32), "saliency")
    with pytest.raises(ValueError):
        small.explain(x, "gradcam", layer="no_such_layer")
    # An operator whitebox does not implement: named, with its node.
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    graph = helper.make_graph(
        [helper.make_node("NonMaxSuppression", ["x"], ["y"], name="the_odd_one")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)])
    path = tmp_path / "odd.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(whitebox.UnsupportedOperator, match="the_odd_one"):
        whitebox.Model.load(path)
    assert issubclass(whitebox.UnsupportedOperator, ValueError)


def test_ctrl_c_interrupts_a_long_call():
    import signal
    import subprocess
    import sys
    import time
    script = (
        "import numpy as np, whitebox\n"
        "model = whitebox.Model.load()\n"
        "x = np.zeros((1, 3, 224, 224), np.float32)\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    model.explain(x, 'integrated-gradients', steps=2000)\n"
        "    print('finished', flush=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "print(len(model.explain(x, 'saliency')), flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ))
    assert child.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, _ = child.communicate(timeout=60)
    assert out.split() == ["interrupted", "1"], out   # and the next call runs
    assert time.monotonic() - sent < 10.0
