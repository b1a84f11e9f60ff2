"""The metric functions on batches: N images in one call give the values and curves of N calls of
one image (deletion and insertion share their forward passes between the images), and the
signatures come from the registry."""

import inspect

import numpy as np
import pytest

import whitebox

PHOTOS = ("chelsea.png", "parrot.jpg", "coffee.png")


@pytest.fixture(scope="module")
def batch(small):
    x = np.concatenate([whitebox.preprocess(whitebox._whitebox.bundled_path(f"images/{p}"),
                                            small)[0] for p in PHOTOS])
    return x, small.explain(x, "saliency")["saliency"].map


@pytest.mark.parametrize("metric, options", [
    ("deletion", {"steps": 6, "batch": 4}),
    ("insertion", {"steps": 6, "substitution": "uniform"}),
    ("monotonicity", {"steps": 6}),
    ("pixel_flipping", {"steps": 5, "region": 32}),
    ("irof", {"region": 48}),
])
def test_a_batch_equals_one_call_per_image(small, batch, metric, options):
    x, maps = batch
    function = getattr(whitebox.metrics, metric)
    targets = [281, 88, 967]
    together = function(small, x, maps, target=targets, return_curve=True, **options)
    for i, target in enumerate(targets):
        alone = function(small, x[i], maps[i], target=target, return_curve=True, **options)
        for key, value in alone.items():
            expected = np.asarray(value)
            actual = np.asarray(together[key][i])
            assert actual.shape == expected.shape, key
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7, err_msg=key)
    if metric == "deletion":
        assert together["deletion_curve"].shape == (3, 7)


def test_signatures_and_info_come_from_the_registry():
    deletion = inspect.signature(whitebox.metrics.deletion)
    declared = {o["name"]: o for o in whitebox.metrics.info("deletion")["parameters"]}
    assert deletion.parameters["steps"].default == int(declared["steps"]["default"])
    assert deletion.parameters["substitution"].default == declared["substitution"]["default"]
    assert deletion.parameters["steps"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "return_curve" in deletion.parameters
    assert "return_curve" not in inspect.signature(whitebox.metrics.sparseness).parameters
    assert "masks" in inspect.signature(whitebox.metrics.pointing_game).parameters
    assert declared["steps"]["meaning"] in whitebox.metrics.deletion.__doc__
    assert whitebox.metrics.info("deletion")["curves"] == ["deletion"]
