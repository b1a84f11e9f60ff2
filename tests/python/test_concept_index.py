"""whitebox.concept_index, load_concept_index and Model.concepts(index=...) on a synthetic model
whose answer is known: channel 0 fires on a bright vertical bar only, so the three images with a
bar are its reference examples, with patches over the bar."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import whitebox

pytest.importorskip("onnx")
pytest.importorskip("PIL.Image")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "shared"))
from bars import BARS, write_bar_data  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """bar.onnx and twelve noisy grey images in pics/, three with a vertical bar."""
    return write_bar_data(tmp_path_factory.mktemp("bars"))


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


def test_a_second_call_reuses_the_records_and_redoes_a_lost_one(data):
    model = whitebox.Model.load(data / "bar.onnx", preprocessing={"name": "unit", "crop": 1.0})
    out = data / "resumed"
    first = whitebox.concept_index(model, data / "pics", ["features"], out, top_n=3, target=0)
    records = {f: f.stat().st_mtime_ns for f in (out / "records").glob("*.json")}
    assert len(records) == 12
    index = (out / "index.json").read_bytes()
    (out / "records" / "img05.png.json").unlink()
    second = whitebox.concept_index(model, data / "pics", ["features"], out, top_n=3, target=0)
    assert (out / "index.json").read_bytes() == index and second == first
    for f, written in records.items():
        if f.name != "img05.png.json":
            assert f.stat().st_mtime_ns == written, f  # read, not computed again
    assert (out / "records" / "img05.png.json").is_file()
    # Other settings write other records: the old ones are not mixed in.
    other = whitebox.concept_index(model, data / "pics", ["features"], out, top_n=3, target=1)
    assert other["target"] == "1"
    assert all(f.stat().st_mtime_ns != records.get(f) for f in (out / "records").glob("*.json"))


def test_the_report_shows_each_concepts_reference_patches(data, tmp_path):
    model = whitebox.Model.load(data / "bar.onnx", preprocessing={"name": "unit", "crop": 1.0})
    index = whitebox.concept_index(model, data / "pics", ["features"], data / "for_report",
                                   top_n=3, target=0)
    page = pathlib.Path(whitebox.report(
        model, [str(data / "pics" / "img07.png")], tmp_path / "report.html", methods="saliency",
        target=0, steps=4, concept_layer="features", concepts=1, concept_index=index.folder,
        progress=False)).read_text()
    # Channel 0, the bar's, is the image's top concept; its three reference patches follow its map.
    section = page[page.index('id="concepts"'):]
    assert "channel 0" in section
    references = section[section.index('class="references"'):]
    assert references[:references.index("</div>")].count("<img") == 3
    other = whitebox.Model.load()
    with pytest.raises(ValueError, match="was made for the model"):
        whitebox.report(other, [str(data / "pics" / "img07.png")], tmp_path / "r.html",
                        methods="saliency", concept_layer="y27_add", concept_index=index.folder)
