"""whitebox.concept_index, load_concept_index and Model.concepts(index=...) on a synthetic model
whose answer is known: channel 0 fires on a bright vertical bar only, so the three images with a
bar are its reference examples, with patches over the bar."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import whitebox

onnx = pytest.importorskip("onnx")
Image = pytest.importorskip("PIL.Image")
from onnx import helper, numpy_helper  # noqa: E402

SIZE = 32
BARS = {"img03.png": 6, "img07.png": 20, "img10.png": 13}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """bar.onnx (conv 3x3 with 4 channels -> ReLU "features" -> mean -> 2 logits) and twelve
    noisy grey images, three with a vertical bar."""
    root = tmp_path_factory.mktemp("bars")
    w = np.zeros((4, 3, 3, 3), np.float32)
    w[0] = np.array([-1, 2, -1], np.float32) / 3
    w[1] = 1 / 27
    w[2, :, :, 0], w[2, :, :, 2] = -1 / 9, 1 / 9
    w[3, :, 0, :], w[3, :, 2, :] = -1 / 9, 1 / 9
    b = np.array([-1.0, 0, 0, 0], np.float32)
    head = np.array([[4, 0.1, 0.1, 0.1], [0, 0.5, 0.5, 0.5]], np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["conv"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["conv"], ["features"]),
         helper.make_node("GlobalAveragePool", ["features"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("Gemm", ["flat", "head"], ["logits"], transB=1)],
        "bar", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
         numpy_helper.from_array(head, "head")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, root / "bar.onnx")
    (root / "pics").mkdir()
    rng = np.random.default_rng(7)
    for i in range(12):
        name = f"img{i:02d}.png"
        picture = rng.uniform(60, 120, (SIZE, SIZE)).round()
        if name in BARS:
            picture[8:24, BARS[name]] = 255
        Image.fromarray(np.repeat(picture[:, :, None], 3, 2).astype(np.uint8)).save(
            root / "pics" / name)
    return root


def test_the_images_of_the_pattern_are_the_references(data):
    model = whitebox.Model.load(data / "bar.onnx", preprocessing={"name": "unit", "crop": 1.0})
    index = whitebox.concept_index(model, data / "pics", ["features"], data / "idx", top_n=3,
                                   target=0)
    assert index == whitebox.load_concept_index(data / "idx")
    for by in ("relevance", "activation"):
        references = index.references("features", 0, by=by)
        assert {r["key"] for r in references} == set(BARS), by
        for r in references:
            x0, y0, x1, y1 = r["box"]
            assert x0 <= BARS[r["key"]] < x1 and r["patch"].shape == (y1 - y0, x1 - x0, 3)
            assert r["patch"].max() == 255  # the bar is in the patch
    x, _ = whitebox.preprocess(data / "pics" / "img07.png", model)
    found = model.concepts(x, "features", top=1, target=0, index=data / "idx")
    assert found.channels == [0]
    assert {r["key"] for r in found.references[0]} == set(BARS)
    with pytest.raises(ValueError, match="has no layer conv"):
        model.concepts(x, "conv", top=1, target=0, index=index)
    other = whitebox.Model.load()
    y, _ = whitebox.preprocess(data / "pics" / "img07.png", other)
    with pytest.raises(ValueError, match="was made for the model"):
        other.concepts(y, "features", index=index)


@pytest.mark.skipif("WHITEBOX_CLI" not in os.environ, reason="the CLI is not built")
def test_the_command_line_index_is_the_same(data):
    model = whitebox.Model.load(data / "bar.onnx", preprocessing={"name": "unit", "crop": 1.0})
    mine = whitebox.concept_index(model, data / "pics", ["features"], data / "py", top_n=3,
                                  target=0)
    (data / "bar.json").write_text(json.dumps({"preprocessing": "unit", "crop": 1.0}))
    r = subprocess.run([os.environ["WHITEBOX_CLI"], "--threads", "1", "--model",
                        str(data / "bar.onnx"), "concepts-index", "--images", str(data / "pics"),
                        "--layer", "features", "--top-n", "3", "--target", "0", "--out",
                        str(data / "cli")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    theirs = whitebox.load_concept_index(data / "cli")
    for by in ("relevance", "activation"):
        for c in range(4):
            a, b = mine.references("features", c, by), theirs.references("features", c, by)
            assert [r["key"] for r in a] == [r["key"] for r in b]
            assert [r["box"] for r in a] == [r["box"] for r in b]
            np.testing.assert_allclose([r["value"] for r in a], [r["value"] for r in b],
                                       rtol=1e-5)
