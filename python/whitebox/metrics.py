"""The metrics of ``whitebox evaluate``, callable on arrays: one function per metric.

    >>> import whitebox
    >>> model = whitebox.Model.load()
    >>> e = model.explain("cat.jpg", "saliency")["saliency"]
    >>> x, _ = whitebox.preprocess("cat.jpg", model)
    >>> whitebox.metrics.deletion(model, x, e.map)                     # {"deletion_auc": [0.08]}
    >>> whitebox.metrics.deletion(model, x[0], e.map[0], return_curve=True)["deletion_curve"]
    >>> whitebox.metrics.sparseness(maps=e.map)

Every function takes a batch: ``images`` [N, C, H, W] (model inputs, or anything
``Model.logits`` takes) and ``maps`` [N, H, W] (or Explanations), with one target per image (None:
each image's top class; an index, a label, or a list of them), ``masks`` [N, H, W] boolean
annotations (localisation metrics), ``references`` [N, H, W] human attention maps (agreement
metrics), ``method`` the explanation method to re-run on perturbed inputs (robustness metrics)
with its hyper-parameters as ``method_params``, and the metric's own options as keywords, each
with its default in the function's signature. It returns a dict of arrays of N values (floats for
one unbatched image [C, H, W] with its map [H, W]); with ``return_curve=True`` the metrics that
follow a perturbation curve add each curve as ``<name>_curve`` [N, steps + 1] (a list of arrays
where the images' curves differ in length, as IROF's superpixel counts do). ``names()`` lists the
metrics, ``info(name)`` describes one with its options; ``docs/metrics.md`` has the formulas.

The metrics over a data set (sufficiency, consistency, mege) compare the maps of many images:

    >>> whitebox.metrics.over_dataset("sufficiency", model, images, maps, threshold=0.6)
    {"per_image": [{"sufficiency": ...}, ...], "overall": {}}
"""

import inspect

import numpy as np

from . import _inputs
from . import _whitebox as _core
from . import _progress

_REGISTRY = {m["name"]: m for m in _core.metrics()}


def names():
    """The metric names, as ``whitebox evaluate --metric`` takes them."""
    return list(_REGISTRY)


def info(name):
    """One metric's description: group, summary, citation, what it needs, its values, its curves
    and its options (name, default, type, takes, meaning)."""
    _inputs.check_type(name, "name", str, "a metric name")
    if name not in _REGISTRY:
        raise ValueError(f"unknown metric {name!r}{_inputs.closest(name, _REGISTRY)}; "
                         f"whitebox.metrics.names() lists them")
    return _REGISTRY[name]


_ARGUMENTS = ("model", "images", "maps", "target", "masks", "references", "method",
              "method_params", "return_curve", "progress")


def _check_option(metric, key, accepted):
    """TypeError for a keyword that is neither an argument nor one of the metric's options."""
    options = [o["name"] for o in metric["parameters"]]
    if key not in options and key not in accepted:
        raise TypeError(f"{metric['name']} takes no option {key!r}"
                        f"{_inputs.closest(key, options + list(accepted))}; its options: "
                        + (", ".join(options) or "none"))


def _default(option):
    """An option's default as a Python value (the registry writes it as the command line does)."""
    text = option["default"]
    try:
        if option["type"] == "integer":
            return int(text)
        if option["type"] == "number":
            return float(text)
    except ValueError:
        pass
    return text


def _maps(maps, count):
    if maps is None:
        raise ValueError("maps: give the explanation maps [N, H, W]")
    if hasattr(maps, "map") and hasattr(maps, "method"):  # an Explanation
        maps = maps.map
    array = _inputs.float_array(maps, "maps", 3, "[H, W] or [N, H, W]")
    if count is not None and array.shape[0] != count:
        raise ValueError(f"maps: {array.shape[0]} maps for {count} images")
    return array


def _plane(value, name, count, dtype):
    if value is None:
        return None
    array = _inputs.float_array(value, name, 3, "[H, W] or [N, H, W]", dtype)
    if array.shape[0] == 1 and count > 1:
        array = np.broadcast_to(array, (count,) + array.shape[1:])
    if array.shape[0] != count:
        raise ValueError(f"{name}: {array.shape[0]} for {count} images")
    return array


def compute(name, model=None, images=None, maps=None, target=None, masks=None, references=None,
            method=None, method_params=None, return_curve=False, progress=None, **options):
    """The values of metric `name` for a batch of images and their maps (see the module's help)."""
    metric = info(name)
    for key in options:
        _check_option(metric, key, _ARGUMENTS)
    if metric["over_dataset"]:
        raise ValueError(f"metric {name} compares the images of a data set: use "
                         f"whitebox.metrics.over_dataset")
    core = None
    if model is not None:
        core = _inputs.check_type(model, "model", _model_type(), "a whitebox.Model")._core
    elif metric["needs_model"]:
        raise ValueError(f"metric {name} needs the model: give model=")
    single = _is_single(images, maps)
    if images is None:
        heat = _maps(maps, None)
        batch = np.zeros((heat.shape[0], 3, 1, 1), np.float32)
    else:
        batch = _inputs.model_input(images, core)[0] if core is not None else \
            _inputs.float_array(images, "images", 4, "[C, H, W] or [N, C, H, W]")
        heat = _maps(maps, batch.shape[0])
    count = batch.shape[0]
    labels = model.labels if model is not None else []
    classes = _classes(target, core, batch, labels)
    mask = _plane(masks, "masks", count, np.bool_)
    reference = _plane(references, "references", count, np.float32)
    if metric["needs_explainer"] and not method:
        raise ValueError(f"metric {name} re-runs the explanation: give method=")
    if method is not None:
        _inputs.check_type(method, "method", str, "a method name")
    if method_params is not None and not isinstance(method_params, dict):
        raise _inputs.type_error("method_params", "a dict of the method's options", method_params)
    _inputs.check_type(return_curve, "return_curve", bool, "True or False")

    def run(rows, progress=None):
        return _core.metric(name, core, batch[rows], heat[rows], classes[rows.start:rows.stop],
                            None if mask is None else mask[rows],
                            None if reference is None else reference[rows], method or "",
                            method_text, text, return_curve, progress)

    parts = []
    with _inputs.param_texts(options, method_params) as (text, method_text):
        # A metric that shares forward passes between images runs the batch in one call (its
        # bar counts the network inputs); the others image by image when a bar is shown.
        if not metric["batched"] and _progress.wanted(progress, count):
            with _progress.Images(count, name, True) as images:
                for i in range(count):
                    parts.append(run(slice(i, i + 1)))
                    images.step()
        else:
            with _progress.Inputs(name, progress) as inputs:
                parts.append(run(slice(0, count), inputs.callback()))
    result = {key: np.concatenate([np.asarray(p[0][key], np.float64) for p in parts])
              for key in parts[0][0]}
    for key in parts[0][1]:
        curves = [np.asarray(c, np.float64) for p in parts for c in p[1][key]]
        same = len({len(c) for c in curves}) == 1
        result[f"{key}_curve"] = np.stack(curves) if same else curves
    if single:
        return {k: (float(v[0]) if isinstance(v, np.ndarray) and v.ndim == 1 else v[0])
                for k, v in result.items()}
    return result


def _classes(target, core, batch, labels):
    """One class per image: as given, or each image's top (or k-th) class."""
    classes = _inputs.targets(target, batch.shape[0], labels)
    rank = 0
    if isinstance(classes, str):
        if classes.startswith("top") and classes[3:].isdigit() and int(classes[3:]) >= 1:
            rank, classes = int(classes[3:]) - 1, None
        else:
            classes = _inputs.targets([classes], batch.shape[0], labels)
    if classes is not None:
        return classes
    if core is None:
        return [0] * batch.shape[0]
    return [int(np.argsort(-row, kind="stable")[rank]) for row in core.logits(batch)]


def _model_type():
    from . import Model
    return Model


def _is_single(images, maps):
    """An unbatched call: one image [C, H, W] (or a path, a PIL image) and one map [H, W]."""
    heat = getattr(maps, "map", maps)
    shape = getattr(heat, "shape", None)
    return shape is not None and len(shape) == 2 and not isinstance(images, (list, tuple))


def over_dataset(name, model, images, maps, targets=None, method=None, method_params=None,
                 **options):
    """Metric `name` over a data set: images [N, C, H, W] (or a list of [C, H, W]), their maps,
    and their targets (None: each image's top class). Returns {"per_image": [values of each
    image], "overall": values that exist only for the whole set}."""
    metric = info(name)
    if model is not None:
        _inputs.check_type(model, "model", _model_type(), "a whitebox.Model")
    core = model._core if model is not None else None
    if isinstance(images, (list, tuple)) and isinstance(maps, (list, tuple)) \
            and len(images) != len(maps):
        raise ValueError(f"{len(images)} images and {len(maps)} maps: give one map per image")
    batch = _inputs.model_input(images, core)[0] if core is not None else \
        _inputs.float_array(images, "images", 4, "[N, C, H, W]")
    if isinstance(maps, (list, tuple)):
        heat = np.concatenate([_maps(m, None) for m in maps])
    else:
        heat = _maps(maps, None)
    if heat.shape[0] != batch.shape[0]:
        raise ValueError(f"{batch.shape[0]} images and {heat.shape[0]} maps: give one map per "
                         f"image")
    classes = _inputs.targets(targets, batch.shape[0], model.labels if model else [])
    if classes is None:
        if core is None:
            raise ValueError(f"metric {name} needs the model")
        classes = [int(np.argmax(row)) for row in core.logits(batch)]
    elif isinstance(classes, str):
        raise ValueError("targets: give one class index or label per image")
    if metric["needs_explainer"] and not method:
        raise ValueError(f"metric {name} re-runs the explanation: give method=")
    with _inputs.param_texts(options, method_params) as (text, method_text):
        return _core.dataset_metric(name, core, list(batch), list(heat), classes, method or "",
                                    method_text, text)


def _signature(metric):
    P = inspect.Parameter
    args = [P("model", P.POSITIONAL_OR_KEYWORD, default=None),
            P("images", P.POSITIONAL_OR_KEYWORD, default=None),
            P("maps", P.POSITIONAL_OR_KEYWORD, default=None),
            P("target", P.POSITIONAL_OR_KEYWORD, default=None)]
    if metric["needs_mask"]:
        args.append(P("masks", P.POSITIONAL_OR_KEYWORD, default=None))
    if metric["needs_reference"]:
        args.append(P("references", P.POSITIONAL_OR_KEYWORD, default=None))
    if metric["needs_explainer"]:
        args += [P("method", P.POSITIONAL_OR_KEYWORD, default=None),
                 P("method_params", P.POSITIONAL_OR_KEYWORD, default=None)]
    args += [P(o["name"], P.KEYWORD_ONLY, default=_default(o)) for o in metric["parameters"]]
    if metric["curves"]:
        args.append(P("return_curve", P.KEYWORD_ONLY, default=False))
    args.append(P("progress", P.KEYWORD_ONLY, default=None))
    return inspect.Signature(args)


def _docstring(metric):
    lines = [metric["summary"][0].upper() + metric["summary"][1:] + ".", "",
             f"The metric {metric['name']!r} ({metric['group']}): {metric['citation']}.",
             "See help(whitebox.metrics) for the arguments images, maps, target"
             + (", masks" if metric["needs_mask"] else "")
             + (", references" if metric["needs_reference"] else "")
             + (", method, method_params" if metric["needs_explainer"] else "") + ".", ""]
    if metric["parameters"]:
        lines.append("Options:")
        for o in metric["parameters"]:
            lines.append(f"    {o['name']}: {o['meaning']} ({o['takes']}; default {o['default']})")
    if metric["curves"]:
        lines.append("    return_curve: also return the curves "
                     + ", ".join(f"{c}_curve" for c in metric["curves"]) + " [N, steps + 1]")
    lines.append("    progress: a bar per image (None: on a terminal, for several images)")
    lines += ["", "Returns a dict of N values each: " + ", ".join(
        f"{v['name']} ({'higher' if v['higher_is_better'] else 'lower'} is better)"
        for v in metric["values"]) + "."]
    return "\n".join(lines)


def _define(metric):
    signature = _signature(metric)
    accepted = set(signature.parameters)

    def function(*args, **kwargs):
        for key in kwargs:
            _check_option(metric, key, accepted)
        bound = signature.bind(*args, **kwargs)
        given = dict(bound.arguments)
        return compute(metric["name"], **given)

    function.__name__ = function.__qualname__ = metric["name"].replace("-", "_")
    function.__signature__ = signature
    function.__doc__ = _docstring(metric)
    function.__module__ = __name__
    return function


for _metric in _REGISTRY.values():
    if not _metric["over_dataset"]:
        globals()[_metric["name"].replace("-", "_")] = _define(_metric)
