"""Fixtures shared by the Python tests: the small bundled MobileNet (128 x 128, with its labels
and preprocessing) and the bundled cat photo as its input."""

import pytest

import whitebox

SMALL = "mobilenet_v1_0.25_128.onnx"


def bundled(name):
    return whitebox._whitebox.bundled_path(name)


@pytest.fixture(scope="session")
def small():
    return whitebox.Model.load(bundled(SMALL), labels=bundled("imagenet_labels_1000.txt"),
                               preprocessing={"name": "mobilenet-tf", "width": 128,
                                              "height": 128})


@pytest.fixture(scope="session")
def x(small):
    return whitebox.preprocess(bundled("images/chelsea.png"), small)[0]
