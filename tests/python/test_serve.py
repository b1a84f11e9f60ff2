"""whitebox.serve: the viewer started from Python answers as the package computes, on a folder
the caller names; it stops on request, and bad arguments are Python errors."""

import io
import json
import shutil
import urllib.error
import urllib.request

import numpy as np
import pytest

import whitebox


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


@pytest.fixture(scope="module")
def model():
    return whitebox.Model.load(whitebox._core.bundled_path("mobilenet_v1_0.25_128.onnx"))


def test_the_viewer_serves_the_maps_the_package_computes(model, tmp_path):
    shutil.copy(whitebox._core.bundled_path("images/parrot.jpg"), tmp_path / "parrot.jpg")
    viewer = whitebox.serve(model, images=tmp_path, port=0)
    try:
        assert viewer.url == str(viewer) == f"http://127.0.0.1:{viewer.port}/"
        listed = json.loads(fetch(viewer.url + "api/images"))
        assert [image["name"] for image in listed["images"]] == ["parrot.jpg"]
        served = np.load(io.BytesIO(fetch(viewer.url + "api/map?image=parrot.jpg&method=gradcam&format=npy")))
        expected = model.explain(str(tmp_path / "parrot.jpg"), "gradcam")["gradcam"].map[0]
        np.testing.assert_array_equal(served, expected.astype(np.float32))
        assert "viewer" in viewer._repr_html_()
    finally:
        viewer.stop()
    with pytest.raises(urllib.error.URLError):
        fetch(viewer.url + "api/images")


def test_bad_arguments_are_python_errors(model, tmp_path):
    with pytest.raises(FileNotFoundError):
        whitebox.serve(model, images=tmp_path / "missing", port=0)
    with pytest.raises(TypeError):
        whitebox.serve("model.onnx")
    with pytest.raises(ValueError):
        whitebox.serve(model, cache_mb=0)


def cli():
    import os
    path = os.environ.get("WHITEBOX_CLI")
    if not path:
        pytest.skip("WHITEBOX_CLI is not set (ctest sets it)")
    return path


def test_the_command_prints_its_url_and_stops_on_ctrl_c(tmp_path):
    import re
    import signal
    import subprocess
    shutil.copy(whitebox._core.bundled_path("images/coffee.png"), tmp_path / "coffee.png")
    process = subprocess.Popen([cli(), "--model", whitebox._core.bundled_path("mobilenet_v1_0.25_128.onnx"),
                                "serve", "--images", str(tmp_path), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert json.loads(fetch(url + "api/info"))["images"] == 1
        assert fetch(url).startswith(b"<!doctype html>")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


@pytest.mark.parametrize("args", [["--images", "/no/such/folder"],
                                  ["--images", ".", "--list", "data.csv"],
                                  ["--port", "70000"]])
def test_the_command_refuses_bad_options_in_one_line(args):
    import subprocess
    done = subprocess.run([cli(), "serve", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.startswith("whitebox: error") and done.stderr.count("\n") == 1, done.stderr
