"""Progress of the long calls: drawn on stderr when asked (or on a terminal), nothing otherwise,
and the engine's count of the many-forward methods' inputs reaches what they planned."""

import sys

import numpy as np

import whitebox


def test_metric_batches_and_sanity_show_progress_only_when_asked(small, x, capfd):
    batch = np.concatenate([x, x, x])
    maps = small.explain(batch, "saliency")["saliency"].map
    capfd.readouterr()
    quiet = whitebox.metrics.deletion(small, batch, maps, steps=4)  # stderr is not a terminal
    assert capfd.readouterr().err == ""
    shown = whitebox.metrics.deletion(small, batch, maps, steps=4, progress=True)
    err = capfd.readouterr().err  # one call for the batch: its bar counts the network inputs
    assert "deletion" in err and "15/15" in err, err
    np.testing.assert_array_equal(shown["deletion_auc"], quiet["deletion_auc"])
    whitebox.metrics.monotonicity(small, batch, maps, steps=4, progress=True)
    err = capfd.readouterr().err  # image by image
    assert "monotonicity" in err and "3/3" in err, err
    whitebox.sanity(small, x, "saliency", layers=2, progress=True)
    assert "sanity" in capfd.readouterr().err
    whitebox.sanity(small, x, "saliency", layers=2, progress=False)
    assert capfd.readouterr().err == ""


def test_the_engine_counts_every_planned_input_of_a_many_forward_method(small, x):
    seen = []
    small._core.explain(x, ["rise"], None, {"masks": "96", "batch": "32"},
                        lambda done, planned: seen.append((done, planned)))
    counts = whitebox._whitebox.progress()
    assert counts == (96, 96), counts
    assert all(done <= planned for done, planned in seen)
    assert whitebox._whitebox.progress() == (96, 96)


def test_without_tqdm_one_line_is_rewritten_in_place(small, x, capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    batch = np.concatenate([x, x])
    maps = small.explain(batch, "saliency")["saliency"].map
    capfd.readouterr()
    whitebox.metrics.monotonicity(small, batch, maps, steps=4, progress=True)
    err = capfd.readouterr().err
    assert "\rmonotonicity: 2/2 images" in err and err.endswith("\n"), repr(err)
