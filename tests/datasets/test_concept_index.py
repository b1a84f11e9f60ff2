"""Reference examples of concepts over a data set (whitebox concepts-index) on a synthetic model
whose answer is known: channel 0 of its only convolution fires on a bright vertical bar and on
nothing else, so the images with a bar are that channel's top examples, by activation and by
relevance, and their patches lie over the bar. Two MPI ranks give the index of one process byte
for byte.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("onnx")
Image = pytest.importorskip("PIL.Image")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "shared"))
from bars import BARS, write_bar_data  # noqa: E402

WHITEBOX = os.environ["WHITEBOX_CLI"]
MPIEXEC = os.environ.get("MPIEXEC", "")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


@pytest.fixture
def data(tmp_path):
    """bar.onnx and twelve noisy grey images in pics/, three of them with a vertical bar."""
    return write_bar_data(tmp_path)


def index(data, out, ranks=None):
    command = [WHITEBOX, "--threads", "1", "--model", str(data / "bar.onnx"), "concepts-index",
               "--images", str(data / "pics"), "--layer", "features", "--top-n", "3",
               "--target", "0", "--out", str(data / out)]
    if ranks:
        command = [MPIEXEC, "-np", str(ranks), *command]
    r = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads((data / out / "index.json").read_text())


def test_the_images_of_the_pattern_come_first_with_patches_over_it(data):
    idx = index(data, "idx")
    channel = idx["layers"][0]["channels"][0]
    for ranking in ["activation", "relevance"]:
        examples = channel[ranking]
        assert {e["key"] for e in examples} == set(BARS), ranking
        assert all(e["value"] > 0 for e in examples)
        for e in examples:
            x0, y0, x1, y1 = e["box"]
            assert x0 <= BARS[e["key"]] < x1 and y0 < 24 and y1 > 8, e
            assert Image.open(data / "idx" / e["patch"]).size == (x1 - x0, y1 - y0)
    # A second run reuses every record and writes the same index; a lost record is made again.
    before = (data / "idx" / "index.json").read_bytes()
    records = {f: f.stat().st_mtime_ns for f in (data / "idx" / "records").glob("*.json")}
    (data / "idx" / "records" / "img05.png.json").unlink()
    index(data, "idx")
    assert (data / "idx" / "index.json").read_bytes() == before
    again = {f: f.stat().st_mtime_ns for f in (data / "idx" / "records").glob("*.json")}
    assert {f for f in records if again.get(f) != records[f]} == {
        data / "idx" / "records" / "img05.png.json"}
    # `concepts --index` shows the reference examples of the image's top concepts.
    r = subprocess.run([WHITEBOX, "--threads", "1", "--model", str(data / "bar.onnx"), "concepts",
                        str(data / "pics" / "img07.png"), "--layer", "features", "--top", "1",
                        "--target", "0", "--index", str(data / "idx"), "--out", str(data / "c")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    concept = json.loads((data / "c" / "img07_concepts.json").read_text())["concepts"][0]
    assert concept["channel"] == 0
    assert {pathlib.Path(e["image"]).name for e in concept["references"]} == set(BARS)
    # An index without the layer asked for is refused in one line.
    r = subprocess.run([WHITEBOX, "--model", str(data / "bar.onnx"), "concepts",
                        str(data / "pics" / "img07.png"), "--layer", "conv", "--index",
                        str(data / "idx"), "--out", str(data / "c")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "has no layer conv" in r.stderr


@pytest.mark.skipif(not MPIEXEC, reason="the CLI is built without MPI")
def test_two_ranks_give_the_index_of_one_process(data):
    index(data, "one")
    index(data, "two", ranks=2)
    one, two = data / "one", data / "two"
    assert (one / "index.json").read_bytes() == (two / "index.json").read_bytes()
    patches = sorted(p.relative_to(one) for p in (one / "patches").rglob("*.png"))
    assert patches == sorted(p.relative_to(two) for p in (two / "patches").rglob("*.png"))
    for p in patches:
        assert (one / p).read_bytes() == (two / p).read_bytes()
