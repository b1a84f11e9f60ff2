#!/usr/bin/python3
"""Writes the fuzzers' seed corpora: a few tiny valid files per target (run from anywhere).

The ONNX seeds cover the canonicalisation passes (BatchNorm folding, Identity removal, constant
folding) and operators with optional inputs; the images one file per codec; the arrays each dtype.
"""
import io
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(0)


def tensor(name, shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def save_model(name, nodes, initializers, input_shape, output_shape, opset=13):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    (HERE / "onnx_import" / f"{name}.onnx").write_bytes(model.SerializeToString())


def onnx_seeds():
    (HERE / "onnx_import").mkdir(exist_ok=True)
    # Conv, BatchNorm (folded), Relu, pooling, Flatten, Gemm: the shape of every bundled CNN.
    save_model("cnn", [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "o", "m", "v"], ["n"]),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], transB=1),
    ], [tensor("w", [2, 3, 3, 3]), tensor("b", [2]), tensor("s", [2]), tensor("o", [2]),
        tensor("m", [2]), numpy_helper.from_array(np.ones(2, np.float32), "v"),
        tensor("fc", [3, 2]), tensor("fb", [3])], [1, 3, 4, 4], [1, 3])
    # Constants, shape arithmetic and operators with optional inputs.
    save_model("shapes", [
        helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.float32(0), "lo")),
        helper.make_node("Clip", ["x", "lo", ""], ["c"]),
        helper.make_node("Identity", ["c"], ["i"]),
        helper.make_node("Shape", ["i"], ["s"]),
        helper.make_node("Constant", [], ["k"], value_ints=[1, -1]),
        helper.make_node("Reshape", ["i", "k"], ["r"]),
        helper.make_node("Softmax", ["r"], ["y"], axis=1),
    ], [], [1, 1, 2, 2], [1, 4])
    # Concat, element-wise arithmetic and a reduction, at an older opset.
    save_model("branches", [
        helper.make_node("Sigmoid", ["x"], ["a"]),
        helper.make_node("Mul", ["x", "a"], ["m"]),
        helper.make_node("Concat", ["x", "m"], ["c"], axis=1),
        helper.make_node("AveragePool", ["c"], ["p"], kernel_shape=[2, 2]),
        helper.make_node("ReduceMean", ["p"], ["y"], axes=[2, 3], keepdims=0),
    ], [], [1, 2, 3, 3], [1, 4], opset=11)


def image_seeds():
    (HERE / "image").mkdir(exist_ok=True)
    rgb = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8), "RGB")
    for name, picture, options in [
        ("rgb.png", rgb, {}), ("icc.png", rgb, {"icc_profile": b"not a real profile"}),
        ("grey.png", rgb.convert("L"), {}),
        ("rgba.png", rgb.convert("RGBA"), {}), ("palette.png", rgb.convert("P"), {}),
        ("rgb.jpg", rgb, {"quality": 50}), ("progressive.jpg", rgb, {"progressive": True}),
        ("rgb.bmp", rgb, {}), ("rgb.ppm", rgb, {}), ("grey.pgm", rgb.convert("L"), {}),
        ("rgb.tif", rgb, {}), ("rgb.webp", rgb, {"quality": 50}),
    ]:
        buffer = io.BytesIO()
        picture.save(buffer, format=name.split(".")[1].replace("jpg", "jpeg").replace(
            "tif", "tiff").replace("pgm", "ppm"), **options)
        (HERE / "image" / name).write_bytes(buffer.getvalue())


def npy_seeds():
    (HERE / "npy").mkdir(exist_ok=True)
    for name, array in [
        ("f4.npy", rng.standard_normal((2, 3)).astype(np.float32)),
        ("f8.npy", rng.standard_normal(4)),
        ("i8.npy", np.arange(6, dtype=np.int64).reshape(1, 2, 3)),
        ("i4.npy", np.int32(7)),
        ("u1.npy", np.arange(4, dtype=np.uint8)),
        ("b1.npy", np.array([True, False])),
        ("empty.npy", np.zeros((0, 3), np.float32)),
    ]:
        np.save(HERE / "npy" / name, array)
    # Version 2 (4-byte header length), which numpy writes only for huge headers.
    with open(HERE / "npy" / "version2.npy", "wb") as f:
        np.lib.format.write_array(f, np.ones((2, 2), np.float32), version=(2, 0))


if __name__ == "__main__":
    onnx_seeds()
    image_seeds()
    npy_seeds()
