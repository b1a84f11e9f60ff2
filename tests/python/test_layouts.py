"""Every entry point gives the same result for an array of any memory layout as for its
C-contiguous copy: Fortran order, a transpose, a strided slice, reversed strides, torch views, and
other allocations in between (an array the core read from freed memory would differ)."""

import gc

import numpy as np
import torch

import whitebox


def churn():
    """Allocations of the same size as the inputs, filled with large values, then freed: memory
    a dead temporary left behind now holds these."""
    junk = [np.full((1, 3, 128, 128), 1e7, np.float32) for _ in range(16)]
    del junk
    gc.collect()


def layouts(array):
    """(name, the same values in another layout) for a C-contiguous array of 2 to 4 dimensions."""
    big = np.zeros(tuple(2 * n for n in array.shape), array.dtype)
    big[tuple(slice(None, None, 2) for _ in array.shape)] = array
    axis = next(i for i, n in enumerate(array.shape) if n > 1)
    moved = np.moveaxis(array, axis, -1).copy()  # that axis last in memory (HWC for CHW)
    order = tuple(range(axis)) + (array.ndim - 1,) + tuple(range(axis, array.ndim - 1))
    flipped = np.ascontiguousarray(array[..., ::-1])
    cases = [("fortran", np.asfortranarray(array)),
             ("transposed", np.moveaxis(moved, -1, axis)),
             ("strided", big[tuple(slice(None, None, 2) for _ in array.shape)]),
             ("reversed", flipped[..., ::-1]),
             ("torch-permuted", torch.from_numpy(moved).permute(order)),
             ("torch-sliced", torch.from_numpy(big)[tuple(slice(None, None, 2)
                                                         for _ in array.shape)])]
    for name, view in cases:
        values = view.numpy() if isinstance(view, torch.Tensor) else view
        assert not values.flags.c_contiguous or name.startswith("torch"), name
        np.testing.assert_array_equal(values, array)
    return cases


def as_numpy(value):
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def test_logits_predict_and_explain_read_every_layout(small, x):
    logits = small.logits(x)
    top = small.predict(x, top=3)
    maps = small.explain(x, "saliency,gradcam,ig", steps=2)
    for name, view in layouts(x):
        for _ in range(2):
            churn()
            np.testing.assert_array_equal(as_numpy(small.logits(view)), logits, err_msg=name)
            churn()
            assert small.predict(view, top=3) == top, name
            churn()
            result = small.explain(view, "saliency,gradcam,ig", steps=2)
            for method in maps:
                np.testing.assert_array_equal(as_numpy(result[method].map), maps[method].map,
                                              err_msg=f"{name} {method}")
    # A float64 input in any layout, and a baseline array given in another layout.
    baseline = np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    ig = small.explain(x, "ig", steps=2, baseline=baseline)["ig"].map
    for name, view in layouts(baseline[0]):
        churn()
        np.testing.assert_array_equal(
            small.explain(x, "ig", steps=2, baseline=view)["ig"].map, ig, err_msg=name)
    np.testing.assert_allclose(small.logits(np.asfortranarray(x.astype(np.float64))), logits,
                               rtol=1e-6, atol=1e-6)


def test_metrics_read_every_layout_of_images_maps_masks_and_references(small, x):
    saliency = small.explain(x, "saliency")["saliency"].map
    mask = np.zeros((1, 128, 128), bool)
    mask[:, 20:90, 30:100] = True
    reference = np.random.default_rng(1).random((1, 128, 128)).astype(np.float32)
    deletion = whitebox.metrics.deletion(small, x, saliency, steps=4, return_curve=True)
    pointing = whitebox.metrics.pointing_game(small, x, saliency, masks=mask)
    agreement = whitebox.metrics.compute("cc", small, x, saliency, references=reference)
    for name, view in layouts(x):
        churn()
        again = whitebox.metrics.deletion(small, view, saliency, steps=4, return_curve=True)
        np.testing.assert_array_equal(again["deletion_curve"], deletion["deletion_curve"], name)
    for name, view in layouts(saliency):
        churn()
        again = whitebox.metrics.deletion(small, x, view, steps=4, return_curve=True)
        np.testing.assert_array_equal(again["deletion_auc"], deletion["deletion_auc"], name)
    for name, view in layouts(mask):
        churn()
        again = whitebox.metrics.pointing_game(small, x, saliency, masks=view)
        np.testing.assert_array_equal(again["pointing_game"], pointing["pointing_game"], name)
    for name, view in layouts(reference):
        churn()
        again = whitebox.metrics.compute("cc", small, x, saliency, references=view)
        np.testing.assert_array_equal(again["cc"], agreement["cc"], name)


def test_sanity_and_patterns_read_every_layout(small, x, tmp_path):
    reference = whitebox.sanity(small, x, "saliency", layers=1)
    view = dict(layouts(x))["transposed"]
    churn()
    again = whitebox.sanity(small, view, "saliency", layers=1)
    for step, other in zip(reference["steps"], again["steps"]):
        np.testing.assert_array_equal(step["maps"]["saliency"], other["maps"]["saliency"])
    batch = np.concatenate([x, x[:, :, ::-1, :]])
    first = small.fit_patterns(np.ascontiguousarray(batch), folder=tmp_path / "a")
    second = small.fit_patterns(batch, folder=tmp_path / "b")
    for file in sorted((tmp_path / "a").iterdir()):
        assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes(), file.name
    assert first != second


def test_contiguous_float_inputs_are_read_in_place(x):
    assert whitebox._whitebox._tensor_address(x) == x.ctypes.data
    view = np.asfortranarray(x)
    assert whitebox._whitebox._tensor_address(view) != view.ctypes.data
