"""whitebox.evaluate: the command line's data-set run from Python, over a list file with boxes and
over arrays with masks, equal to the metric functions called image by image, and resumed on the
command line's locked folder (whitebox::RunFolder): one record per image, redone when it is of
other settings or cut short, and the folder refused to a run of other settings meanwhile."""

import json
import os
import shutil
import subprocess

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
                                                                          tmp_path, monkeypatch):
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
    records = sorted((out / "images").iterdir())
    assert [r.name for r in records] == sorted(f"{r['image']}.json" for r in rows[::2])
    saved = {r.name: r.read_text() for r in records}
    assert all(json.loads(text)["config"] == json.loads(saved[records[0].name])["config"]
               for text in saved.values())

    # Resumed: nothing is computed again, the rows come back as they were.
    computed = []
    evaluate_image = whitebox._evaluate._evaluate_image
    monkeypatch.setattr(whitebox._evaluate, "_evaluate_image",
                        lambda model, item, *a: computed.append(item.key) or
                        evaluate_image(model, item, *a))
    again = rows_of(whitebox.evaluate(small, listing, **options))
    assert again == rows and computed == []
    assert {r.name: r.read_text() for r in records} == saved

    # A record of other settings, and one cut short by a killed call, are computed again.
    first = json.loads(saved[records[0].name])
    records[0].write_text(json.dumps(dict(first, config="the settings of another call")))
    records[1].write_text(saved[records[1].name][:40])
    again = rows_of(whitebox.evaluate(small, listing, **options))
    assert computed == [rows[0]["image"], rows[2]["image"]]
    assert len(again) == len(rows) and all(a == pytest.approx(r) for a, r in zip(again, rows))
    assert all(json.loads(r.read_text())["config"] == first["config"] for r in records)


def test_a_folder_is_refused_to_a_run_of_other_settings_while_one_holds_it(small, folder,
                                                                           tmp_path):
    out = tmp_path / "eval"
    # Two locks in one process exclude each other as two processes do; same settings share.
    with whitebox._whitebox.RunFolder(out, "other settings") as held:
        with whitebox._whitebox.RunFolder(out, "other settings"):
            pass
        with pytest.raises(FileNotFoundError, match="another whitebox run with other settings"):
            whitebox.evaluate(small, folder, "saliency", "sparseness", out=out, progress=False)
        cli = os.environ.get("WHITEBOX_CLI")
        if cli:  # the command line takes the same lock
            r = subprocess.run([cli, "--threads", "1", "evaluate", "--images", str(folder),
                                "-m", "saliency", "--metric", "sparseness", "--out", str(out)],
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 1 and "another whitebox run" in r.stderr, r.stderr
        held.release()
        held.release()
    # Released, a folder the lock created and nothing was written into is gone.
    assert not out.exists()


def test_record_names_are_plain_file_names_one_per_image():
    keys = ["cat.png", "my photo.jpg", "cat.png", "a/b.png", "..", ".hidden", "x" * 300,
            "bad\x1b[31m.png", "ü.png"]
    names = whitebox._evaluate._record_names(keys)
    assert names[:2] == ["cat.png.json", "my photo.jpg.json"] and names[-1] == "ü.png.json"
    assert len(set(names)) == len(keys)
    assert all("/" not in n and not n.startswith(".") and len(n.encode()) < 255 and
               n.isprintable() for n in names)


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
