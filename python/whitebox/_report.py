"""whitebox.report: the page of ``whitebox compare``, several methods on several images with their
maps, metrics and curves, written from Python."""

import os

from . import _inputs, _progress
from . import _whitebox as _core

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_CURVES = {o["name"]: o for m in _core.metrics() if m["name"] == "deletion"
           for o in m["parameters"]}


def _pictures(images):
    """(names, uint8 pictures) from a folder, image files, PIL images or pictures."""
    if isinstance(images, (str, os.PathLike)) and os.path.isdir(images):
        folder = os.fspath(images)
        images = [os.path.join(folder, f) for f in sorted(os.listdir(folder))
                  if f.lower().endswith(_IMAGE_SUFFIXES)]
        if not images:
            raise ValueError(f"images: no image file in {folder}")
    if not isinstance(images, (list, tuple)):
        images = [images]
    names, pictures = [], []
    for i, image in enumerate(images):
        picture = _inputs.picture(image, f"images[{i}]")
        if picture is None:
            raise _inputs.type_error(f"images[{i}]", "an image file path, a PIL image or a uint8 "
                                     "picture [H, W, 3] (the page draws the maps over it)", image)
        names.append(os.path.basename(os.fspath(image)) if isinstance(image, (str, os.PathLike))
                     else f"image-{i}")
        pictures.append(picture)
    return names, pictures


def report(model, images, path="report.html", methods=_core.report_methods, target=None,
           title="Explanation methods compared", alpha=0.5, metrics=(), metric_params=None,
           steps=int(_CURVES["steps"]["default"]), substitution=_CURVES["substitution"]["default"],
           batch=int(_CURVES["batch"]["default"]), concept_layer=None, concepts=6,
           concept_method="lrp", concept_index=None, progress=None, **params):
    """Writes the comparison page of ``whitebox compare`` and returns its path.

    Args:
        model: a whitebox.Model.
        images: a folder, image files, PIL images or uint8 pictures [H, W, 3].
        path: the HTML file to write (replaced whole, never left half-written).
        methods: names, "a,b" or a list (the default is the command line's).
        target: None (each image's top class), a class index, a label or "topK".
        title, alpha: the page's title; the overlays' opacity.
        metrics, metric_params: registered metrics added as columns, and their options.
        steps, substitution, batch: the deletion and insertion curves' options (the deletion
            metric's defaults).
        concept_layer, concepts, concept_method: with a layer, a concept section: each image's
            `concepts` most relevant channels of the layer by `concept_method` with their
            conditional maps (``Model.concepts``).
        concept_index: a concept index of that layer (``whitebox.concept_index`` or ``whitebox
            concepts-index``): each concept's best reference patches beside its map.
        progress: a bar per image (None: on a terminal, True always, False never).
        **params: the methods' hyper-parameters.
    """
    from . import Model
    _inputs.check_type(model, "model", Model, "a whitebox.Model")
    _inputs.check_type(path, "path", (str, os.PathLike), "an HTML file path")
    names = _inputs.method_names(methods)
    metric_names = [] if not metrics else _inputs.method_names(metrics, "metrics")
    _inputs.check_type(title, "title", str, "a string")
    _inputs.check_type(alpha, "alpha", (int, float), "a number in [0, 1]")
    _inputs.check_type(concepts, "concepts", int, "a number of concepts >= 1")
    _inputs.check_type(concept_method, "concept_method", str, "a relevance method's name")
    if concept_index is not None:
        _inputs.check_type(concept_index, "concept_index", (str, os.PathLike),
                           "a concept index folder or None")
    if target is None:
        target = "top1"
    elif not isinstance(target, str):
        target = str(_inputs.targets(target, 1, model.labels)[0])
    if metric_params is not None:
        _inputs.check_type(metric_params, "metric_params", dict, "a dict of options")
    labels, pictures = _pictures(images)
    curve = {"steps": str(steps), "substitution": str(substitution), "batch": str(batch)}
    with _inputs.param_texts(params, metric_params) as (text, metric_text):
        with _progress.Inputs("report", progress, "image") as bar:
            page = _core.report(model._core, labels, pictures, names, target, title,
                                float(alpha), text, curve, metric_names, metric_text,
                                "" if concept_layer is None else model._layer(concept_layer),
                                concepts, concept_method,
                                "" if concept_index is None else os.fspath(concept_index),
                                bar.callback())
    path = os.fspath(path)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(temporary, path)
    return path
