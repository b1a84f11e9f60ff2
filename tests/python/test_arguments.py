"""What users pass: pictures, paths and PIL images as inputs, labels as targets, "a,b" as methods,
half-precision tensors; and for every public argument a wrong type, one message that names the
argument and what it takes (never a raw pybind11 or torch error)."""

import numpy as np
import pytest
import torch

import whitebox

PHOTO = whitebox._whitebox.bundled_path("images/chelsea.png")


def test_pictures_paths_and_pil_images_are_preprocessed_as_the_command_line_does(small, x):
    picture = whitebox.read_image(PHOTO)
    logits = small.logits(x)
    np.testing.assert_array_equal(small.logits(PHOTO), logits)
    np.testing.assert_array_equal(small.logits(picture), logits)
    np.testing.assert_array_equal(small.logits(torch.from_numpy(picture).permute(2, 0, 1)),
                                  logits)  # [3, H, W] uint8, as torchvision reads pictures
    PIL = pytest.importorskip("PIL.Image")
    np.testing.assert_array_equal(small.logits(PIL.fromarray(picture)), logits)
    both = small.predict([PHOTO, picture], top=1)
    assert both[0] == both[1] == small.predict(x, top=1)[0]
    maps = small.explain(PHOTO, "gradcam")["gradcam"].map
    np.testing.assert_array_equal(maps, small.explain(x, "gradcam")["gradcam"].map)


def test_half_precision_tensors_are_read_as_float32(small, x):
    for dtype in (torch.float16, torch.bfloat16):
        half = torch.from_numpy(x).to(dtype)
        np.testing.assert_array_equal(small.logits(half).numpy(),
                                      small.logits(half.float().numpy()))
    np.testing.assert_array_equal(small.logits(x.astype(np.float16)),
                                  small.logits(x.astype(np.float16).astype(np.float32)))
    grad = torch.from_numpy(x).requires_grad_()
    assert isinstance(small.explain(grad, "saliency")["saliency"].map, torch.Tensor)


def test_targets_methods_and_result_names(small, x):
    batch = np.concatenate([x, x])
    labels = small.labels
    by_label = small.explain(batch, "gradcam", target=[labels[281], labels[285]])["gradcam"]
    by_index = small.explain(batch, "gradcam", target=[281, 285])["gradcam"]
    np.testing.assert_array_equal(by_label.map, by_index.map)
    mixed = small.explain(batch, "gradcam", target=[281, labels[285]])["gradcam"]
    np.testing.assert_array_equal(mixed.map, by_index.map)
    with pytest.raises(ValueError, match="tabby"):
        small.explain(x, "gradcam", target=["tabby"])  # did you mean tabby, tabby cat?
    result = small.explain(x, "lrp-epsilon-plus-flat,ig,saliency", steps=2)
    assert list(result) == ["lrp-epsilon-plus-flat", "ig", "saliency"]
    assert result["ig"].method == "integrated-gradients"
    assert list(small.explain(x, ["gradcam", "saliency"])) == ["gradcam", "saliency"]


def test_every_argument_of_a_wrong_type_gets_one_message_naming_it(small, x):
    picture = whitebox.read_image(PHOTO)
    saliency = small.explain(x, "saliency")["saliency"]
    cases = [
        (lambda: whitebox.Model.load(3), "path"),
        (lambda: whitebox.Model.load(dtype=64), "dtype"),
        (lambda: whitebox.Model.load(labels=5), "labels"),
        (lambda: whitebox.Model.load(preprocessing=5), "preprocessing"),
        (lambda: whitebox.Model.load(preprocessing={"width": "wide"}), "width"),
        (lambda: whitebox.Model.load(preprocessing={"mean": [1, 2]}), "mean"),
        (lambda: whitebox.Model.load(preprocessing={"widht": 3}), "width"),
        (lambda: whitebox.Model.from_torch("resnet"), "module"),
        (lambda: whitebox.Model.from_torch(torch.nn.Identity(), [1, 2]), "example_input"),
        (lambda: whitebox.Model.from_torch(torch.nn.Identity(), opset="13"), "opset"),
        (lambda: small.logits({"x": 1}), "x"),
        (lambda: small.logits(None), "x"),
        (lambda: small.predict(x, top="5"), "top"),
        (lambda: small.predict(object()), "x"),
        (lambda: small.explain(x, methods=5), "methods"),
        (lambda: small.explain(x, target={"a": 1}), "target"),
        (lambda: small.explain(x, target=[1.5]), "target[0]"),
        (lambda: small.explain(x, "gradcam", layer=5), "layer"),
        (lambda: small.explain(x, "ig", steps=object()), "steps"),
        (lambda: small.fit_patterns(x, estimator=2), "estimator"),
        (lambda: small.fit_patterns(x, folder=2), "folder"),
        (lambda: whitebox.read_image(7), "path"),
        (lambda: whitebox.preprocess(7, small), "image"),
        (lambda: whitebox.preprocess(picture, "model"), "model"),
        (lambda: whitebox.overlay(7, saliency), "picture"),
        (lambda: whitebox.overlay(picture, "map"), "explanation"),
        (lambda: whitebox.overlay(picture, saliency, alpha="half"), "alpha"),
        (lambda: whitebox.overlay(picture, saliency, colormap=3), "colormap"),
        (lambda: whitebox.overlay(picture, saliency, percentile="x"), "percentile"),
        (lambda: whitebox.sanity("model", x), "model"),
        (lambda: whitebox.sanity(small, x, methods=3), "methods"),
        (lambda: whitebox.sanity(small, x, layers="all"), "layers"),
        (lambda: whitebox.sanity(small, x, seed=1.5), "seed"),
        (lambda: whitebox.sanity(small, x, smooth="no"), "smooth"),
        (lambda: whitebox.set_threads("two"), "threads"),
        (lambda: whitebox.metrics.deletion("model", x, saliency), "model"),
        (lambda: whitebox.metrics.deletion(small, "x.png", saliency), "x.png"),
        (lambda: whitebox.metrics.deletion(small, x, "map"), "maps"),
        (lambda: whitebox.metrics.deletion(small, x, saliency, target=object()), "target"),
        (lambda: whitebox.metrics.deletion(small, x, saliency, steps=[object()]), "steps"),
        (lambda: whitebox.metrics.deletion(small, x, saliency, stpes=4), "steps"),
        (lambda: whitebox.metrics.deletion(small, x, saliency, return_curve="yes"),
         "return_curve"),
        (lambda: whitebox.metrics.deletion(small, x, saliency, progress="yes"), "progress"),
        (lambda: whitebox.metrics.pointing_game(small, x, saliency, masks="mask"), "masks"),
        (lambda: whitebox.metrics.compute("cc", small, x, saliency, references=3),
         "references"),
        (lambda: whitebox.metrics.compute("sensitivity", small, x, saliency, method=3),
         "method"),
        (lambda: whitebox.metrics.compute("sensitivity", small, x, saliency, method="saliency",
                                          method_params=3), "method_params"),
        (lambda: whitebox.metrics.info(3), "name"),
        (lambda: whitebox.metrics.info("deletoin"), "deletion"),
    ]
    for call, named in cases:
        with pytest.raises((TypeError, ValueError, FileNotFoundError)) as error:
            call()
        message = str(error.value)
        assert named in message, (named, message)
        for raw in ("Unable to cast", "incompatible function arguments", "has no attribute",
                    "Traceback"):
            assert raw not in message, (named, message)
        assert "\n" not in message, (named, message)
