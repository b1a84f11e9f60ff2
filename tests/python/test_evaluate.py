"""whitebox.evaluate: the command line's data-set run from Python, over a list file with boxes and
over arrays with masks, equal to the metric functions called image by image, and resumed."""

import shutil

import numpy as np
import pytest

import whitebox

IMAGES = ("chelsea.png", "parrot.jpg")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in IMAGES:
        shutil.copy(whitebox._whitebox.bundled_path(f"images/{name}"), folder / name)
    return folder


def rows_of(result):
    return result.to_dict("records") if hasattr(result, "to_dict") else list(result)


def test_a_list_file_with_boxes_gives_the_metric_functions_values_and_resumes(small, folder,
                                                                          tmp_path):
    listing = tmp_path / "data.csv"
    listing.write_text("image,target,box\n"
                       f"{folder / IMAGES[0]},285,40 40 300 260\n"
                       f"{folder / IMAGES[1]},,100 300 400 600\n")
    out = tmp_path / "eval"
    options = dict(methods="saliency,gradcam", metrics=["deletion", "pointing-game"],
                   metric_params={"steps": 4}, out=out, progress=False)
    rows = rows_of(whitebox.evaluate(small, listing, **options))
    assert [(r["image"], r["method"]) for r in rows] == [
        (k, m) for k in (rows[0]["image"], rows[2]["image"]) for m in ("saliency", "gradcam")]
    assert rows[0]["target"] == 285
    # The same numbers as the metric functions on each image, its target and its box mask.
    for row in rows:
        file = folder / (IMAGES[0] if row["image"] == rows[0]["image"] else IMAGES[1])
        x, _ = whitebox.preprocess(file, small)
        cls = row["target"]
        e = small.explain(x, row["method"], target=cls)[row["method"]]
        deletion = whitebox.metrics.deletion(small, x[0], e.map[0], target=cls, steps=4)
        assert row["deletion_auc"] == pytest.approx(deletion["deletion_auc"], abs=1e-12)
        assert row["pointing_game"] in (0.0, 1.0)
    assert (out / "rows.csv").exists()
    lines = (out / "rows.jsonl").read_text().splitlines()
    assert len(lines) == 4
    # Resumed: nothing is computed again, the rows come back as they were.
    again = rows_of(whitebox.evaluate(small, listing, **options))
    assert again == rows
    assert (out / "rows.jsonl").read_text().splitlines() == lines
    with pytest.raises(ValueError, match="other settings"):
        whitebox.evaluate(small, listing, **dict(options, methods="saliency"))


def test_arrays_with_masks_and_wrong_arguments(small, folder):
    x = np.concatenate([whitebox.preprocess(folder / name, small)[0] for name in IMAGES])
    masks = np.zeros((2, 128, 128), bool)
    masks[:, 30:100, 30:100] = True
    rows = rows_of(whitebox.evaluate(small, x, "saliency", "pointing-game,sparseness",
                                     targets=[285, 88], masks=masks, progress=False))
    assert [r["target"] for r in rows] == [285, 88]
    maps = small.explain(x, "saliency", target=[285, 88])["saliency"].map
    expected = whitebox.metrics.pointing_game(small, x, maps, target=[285, 88], masks=masks)
    np.testing.assert_array_equal([r["pointing_game"] for r in rows], expected["pointing_game"])
    with pytest.raises(TypeError, match="steps"):
        whitebox.evaluate(small, x, "saliency", "deletion", metric_params={"stesp": 3})
    with pytest.raises(ValueError, match="over_dataset"):
        whitebox.evaluate(small, x, "saliency", "sufficiency")
    with pytest.raises(ValueError, match="targets"):
        whitebox.evaluate(small, x, "saliency", "sparseness", targets=[1, 2, 3])
