"""whitebox.report writes the page of `whitebox compare`: the same images, methods and numbers
(every number but the methods' wall time), from the same library code."""

import os
import re
import subprocess

import numpy as np
import pytest

import whitebox

SMALL = "mobilenet_v1_0.25_128.onnx"
PHOTOS = [whitebox._whitebox.bundled_path(f"images/{name}") for name in ("chelsea.png",
                                                                          "coffee.png")]


def cli_binary():
    path = os.environ.get("WHITEBOX_CLI") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(whitebox.__file__)))),
        "apps", "whitebox", "whitebox")
    return path if os.path.isfile(path) else None


def numbers(page):
    """The metric table's values, row by row, without the last column (the wall time)."""
    rows = re.findall(r"<tr><td data-value=.*?</tr>", page, re.S)
    return [v for row in rows for v in re.findall(r'<td[^>]*data-value="([^"]*)"', row)[:-1]]


def test_the_python_page_is_the_command_line_page(tmp_path):
    binary = cli_binary()
    if binary is None:
        pytest.skip("no whitebox CLI beside the package")
    model_file = whitebox._whitebox.bundled_path(SMALL)
    cli_page = tmp_path / "cli.html"
    subprocess.run([binary, "--model", model_file, "--threads", "2", "compare", *PHOTOS,
                    "--method", "saliency,gradcam", "--curve-steps", "4", "--report", str(cli_page)],
                   check=True, capture_output=True)
    model = whitebox.Model.load(model_file)
    path = whitebox.report(model, PHOTOS, tmp_path / "python.html", "saliency,gradcam", steps=4,
                           progress=False)
    assert path == str(tmp_path / "python.html")
    ours, theirs = (open(p, encoding="utf-8").read() for p in (path, cli_page))
    ours_values, their_values = numbers(ours), numbers(theirs)
    assert len(ours_values) == len(their_values) >= 4
    for a, b in zip(ours_values, their_values):  # names equal, numbers to float precision
        try:
            assert float(a) == pytest.approx(float(b), rel=1e-5, abs=1e-7), (a, b)
        except ValueError:
            assert a == b
    for name in ("chelsea.png", "coffee.png", "Deletion AUC", "curve steps: 4"):
        assert name in ours.replace("</b> ", ": ").replace("<b>", ""), name


def test_pictures_and_pil_images_and_wrong_arguments(tmp_path):
    model = whitebox.Model.load(whitebox._whitebox.bundled_path(SMALL))
    picture = whitebox.read_image(PHOTOS[0])
    path = whitebox.report(model, [picture], tmp_path / "r.html", "saliency", steps=2)
    page = open(path, encoding="utf-8").read()
    assert "image-0" in page and page.count("data:image/png;base64") >= 2
    with pytest.raises(TypeError, match=r"images\[0\]"):
        whitebox.report(model, [np.zeros((1, 3, 128, 128), np.float32)], tmp_path / "x.html")
    with pytest.raises(ValueError, match="paint"):
        whitebox.report(model, PHOTOS, tmp_path / "x.html", substitution="paint")
    assert not (tmp_path / "x.html").exists()
