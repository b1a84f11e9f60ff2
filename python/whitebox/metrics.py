"""The metrics of ``whitebox evaluate``, callable on arrays: one function per metric.

    >>> import whitebox
    >>> model = whitebox.Model.load()
    >>> x, picture = whitebox.preprocess(whitebox.read_image("cat.jpg"), model)
    >>> e = model.explain(x, "saliency")["saliency"]
    >>> whitebox.metrics.deletion(model, x, e.map)           # {"deletion_auc": ...}
    >>> whitebox.metrics.sparseness(map=e.map)

Every function takes (model, image, map, target=None, mask=None, reference=None, method=None,
**params): image [C, H, W] or [1, C, H, W]; map [H, W] or [1, H, W]; target the class (None: the
top one); mask a [H, W] boolean annotation (localisation metrics); reference a [H, W] human
attention map (agreement metrics); method the explanation method to re-run on perturbed inputs
(robustness metrics), with its hyper-parameters as ``method_params``; params the metric's
options (steps=50, substitution="blur", ...). It returns a dict of the metric's values.
``names()`` lists the metrics, ``info(name)`` describes one; ``docs/metrics.md`` has the
formulas.

The metrics over a data set (sufficiency, consistency, mege) compare the maps of many images:

    >>> whitebox.metrics.over_dataset("sufficiency", model, images, maps, threshold=0.6)
    {"per_image": [{"sufficiency": ...}, ...], "overall": {}}
"""

import numpy as np

from . import _whitebox as _core


def _array(value, dtype):
    if value is None:
        return None
    if type(value).__module__.split(".")[0] == "torch":
        value = value.detach().numpy()
    return np.ascontiguousarray(value, dtype=dtype)


def _image_map(image, map):
    image = _array(image, np.float32) if image is not None else np.zeros((3, 1, 1), np.float32)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    map = _array(map, np.float32)
    if map.ndim == 3 and map.shape[0] == 1:
        map = map[0]
    if image.ndim != 3 or map.ndim != 2:
        raise ValueError(f"image must be [C, H, W] and map [H, W], not {list(image.shape)} and "
                         f"{list(map.shape)}")
    return image, map


def compute(name, model=None, image=None, map=None, target=None, mask=None, reference=None,
            method=None, method_params=None, **params):
    """The values of metric `name` for one image and its map (see the module's help)."""
    info_ = info(name)
    image, map = _image_map(image, map)
    core = model._core if model is not None else None
    if target is None:
        if core is None:
            target = 0
        else:
            target = int(np.argmax(core.logits(image[None])[0]))
    text = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    method_text = {k: str(v) for k, v in (method_params or {}).items()}
    if info_["needs_explainer"] and not method:
        raise ValueError(f"metric {name} re-runs the explanation: give method=")
    return _core.metric(name, core, image, map, int(target), _array(mask, np.bool_),
                        _array(reference, np.float32), method or "", method_text, text)


def over_dataset(name, model, images, maps, targets=None, method=None, method_params=None,
                 **params):
    """Metric `name` over a data set: images (each [C, H, W] or [1, C, H, W]), their maps, and
    their targets (None: each image's top class). Returns {"per_image": [values of each image],
    "overall": values that exist only for the whole set}."""
    pairs = [_image_map(image, map) for image, map in zip(images, maps)]
    if len(pairs) != len(images) or len(images) != len(maps):
        raise ValueError(f"{len(images)} images and {len(maps)} maps: give one map per image")
    core = model._core if model is not None else None
    if targets is None:
        if core is None:
            raise ValueError(f"metric {name} needs the model")
        targets = [int(np.argmax(core.logits(image[None])[0])) for image, _ in pairs]
    text = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    method_text = {k: str(v) for k, v in (method_params or {}).items()}
    if info(name)["needs_explainer"] and not method:
        raise ValueError(f"metric {name} re-runs the explanation: give method=")
    return _core.dataset_metric(name, core, [image for image, _ in pairs],
                                [map for _, map in pairs], [int(t) for t in targets],
                                method or "", method_text, text)


def names():
    """The metric names, as ``whitebox evaluate --metric`` takes them."""
    return [m["name"] for m in _core.metrics()]


def info(name):
    """One metric's description: group, summary, citation, what it needs, its values."""
    for m in _core.metrics():
        if m["name"] == name:
            return m
    raise ValueError(f"unknown metric {name!r}; valid: {', '.join(names())}")


def _define(name, summary):
    def metric(model=None, image=None, map=None, target=None, mask=None, reference=None,
               method=None, method_params=None, **params):
        return compute(name, model, image, map, target, mask, reference, method, method_params,
                       **params)
    metric.__name__ = metric.__qualname__ = name.replace("-", "_")
    metric.__doc__ = f"{summary}\n\nThe metric {name!r}: see the module's help for the arguments."
    return metric


for _m in _core.metrics():
    if not _m["over_dataset"]:
        globals()[_m["name"].replace("-", "_")] = _define(_m["name"], _m["summary"])
