"""A synthetic data set whose concepts are known, for the tests of reference examples (the
command line's in tests/datasets, the package's in tests/python): bar.onnx, whose channel 0 of
"features" fires on a bright vertical bar and on nothing else, and twelve noisy grey images in
pics/, three of them with a bar."""

import json

import numpy
import onnx
from onnx import helper, numpy_helper
from PIL import Image

SIZE = 32
BARS = {"img03.png": 6, "img07.png": 20, "img10.png": 13}  # image -> the bar's column


def write_bar_model(path):
    """x [1, 3, 32, 32] -> conv 3x3 (4 channels) -> ReLU "features" -> mean -> 2 logits."""
    w = numpy.zeros((4, 3, 3, 3), numpy.float32)
    w[0, :, :, :] = numpy.array([-1, 2, -1], numpy.float32) / 3  # a bright 1-pixel column
    w[1] = 1 / 27  # brightness
    w[2, :, :, 0], w[2, :, :, 2] = -1 / 9, 1 / 9  # a left-to-right edge
    w[3, :, 0, :], w[3, :, 2, :] = -1 / 9, 1 / 9  # a top-to-bottom edge
    b = numpy.array([-1.0, 0, 0, 0], numpy.float32)  # the bar's filter ignores texture
    head = numpy.array([[4, 0.1, 0.1, 0.1], [0, 0.5, 0.5, 0.5]], numpy.float32)
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
    onnx.save(model, path)
    path.with_suffix(".json").write_text(json.dumps({"preprocessing": "unit", "crop": 1.0}))


def write_bar_data(root):
    """bar.onnx and pics/ in the folder `root`, which it returns."""
    write_bar_model(root / "bar.onnx")
    (root / "pics").mkdir()
    rng = numpy.random.default_rng(7)
    for i in range(12):
        name = f"img{i:02d}.png"
        picture = rng.uniform(60, 120, (SIZE, SIZE)).round()
        if name in BARS:
            picture[8:24, BARS[name]] = 255
        Image.fromarray(numpy.repeat(picture[:, :, None], 3, 2).astype(numpy.uint8)).save(
            root / "pics" / name)
    return root
