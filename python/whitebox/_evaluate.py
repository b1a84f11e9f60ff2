"""whitebox.evaluate: every metric of every method on every image of a data set, one row per image
and method, as ``whitebox evaluate`` computes them, resumable from its output folder."""

import json
import os

import numpy as np

from . import _inputs, _progress
from . import _whitebox as _core
from . import metrics as _metrics

_LIST_SUFFIXES = (".csv", ".txt", ".lst")


class _Item:
    """One image of the run: its key, file, target and how to read it."""

    def __init__(self, key, file="", target=None, load=None):
        self.key, self.file, self.target, self.load = key, file, target, load


def _items(model, images, boxes, masks):
    """The run's images: a folder (with a boxes file and a masks folder), a list file, image
    files, or arrays and pictures (with masks [N, H, W])."""
    core = model._core
    read = lambda item: lambda: _core.load_item(item, core)  # noqa: E731
    if isinstance(images, (str, os.PathLike)):
        path = os.fspath(images)
        if os.path.isdir(path):
            found = _core.read_folder(path, os.fspath(boxes or ""),
                                      masks if isinstance(masks, (str, os.PathLike)) else "", "")
        elif path.lower().endswith(_LIST_SUFFIXES):
            found = _core.read_list(path, core)
        else:
            found = [_core.data_item(path)]
        return [_Item(i.key, i.file, i.target, read(i)) for i in found]
    if isinstance(images, (list, tuple)) and images and all(
            isinstance(i, (str, os.PathLike)) for i in images):
        found = [_core.data_item(os.fspath(i)) for i in images]
        return [_Item(i.key, i.file, i.target, read(i)) for i in found]
    if boxes is not None:
        raise ValueError("boxes: give a boxes file with a folder of images; for arrays give "
                         "masks [N, H, W]")
    batch, _ = _inputs.model_input(images, core, "images")
    planes = None if masks is None else \
        _inputs.float_array(masks, "masks", 3, "[N, H, W]", np.bool_)
    if planes is not None and planes.shape[0] != batch.shape[0]:
        raise ValueError(f"masks: {planes.shape[0]} masks for {batch.shape[0]} images")
    return [_Item(f"image-{i}", load=lambda i=i: (
        batch[i:i + 1], None if planes is None else planes[i], None))
        for i in range(batch.shape[0])]


def _settings(model, methods, metrics, targets, method_params, metric_params):
    return {"model": model.path, "methods": methods, "metrics": metrics,
            "targets": repr(targets), "method_params": repr(sorted(method_params.items())),
            "metric_params": repr(sorted(metric_params.items()))}


def _resume(out, settings):
    """The rows already in `out` for these settings (by image key); a folder of other settings
    is refused rather than mixed."""
    os.makedirs(out, exist_ok=True)
    settings_file = os.path.join(out, "settings.json")
    if os.path.exists(settings_file):
        with open(settings_file, encoding="utf-8") as f:
            if json.load(f) != settings:
                raise ValueError(f"out: {out} holds the results of other settings (methods, "
                                 f"metrics, targets or options): choose another folder")
    else:
        temporary = settings_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(settings, f, indent=2)
        os.replace(temporary, settings_file)
    done = {}
    rows_file = os.path.join(out, "rows.jsonl")
    if os.path.exists(rows_file):
        with open(rows_file, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by an interrupted run
                    continue
                done.setdefault(row["image"], []).append(row)
    return done


def evaluate(model, images, methods=_core.evaluate_methods, metrics=_core.evaluate_metrics,
             targets=None, boxes=None, masks=None, out=None, progress=None, method_params=None,
             metric_params=None):
    """Every metric of every method on every image: ``whitebox evaluate`` from Python.

    Args:
        model: a whitebox.Model.
        images: a folder of images, a list file (CSV: image,target,box,mask,gaze as
            docs/datasets.md describes), image files, or arrays, tensors and pictures (anything
            ``Model.logits`` takes).
        methods, metrics: names, "a,b" or lists (the defaults are the command line's).
        targets: None (a list file's targets, else each image's top class), one class index or
            label for all, or one per image.
        boxes: with a folder, the boxes file (JSON, as ``--boxes``).
        masks: with a folder, a folder of masks named like the images; with arrays, [N, H, W].
        out: a folder: each image's rows are appended to out/rows.jsonl as it is done, a call
            with the same settings resumes from them, and out/rows.csv has every row at the end.
        progress: a bar per image (None: on a terminal, True always, False never).
        method_params, metric_params: dicts of the methods' and the metrics' options.

    Returns:
        One row per image and method (a dict: image, file, method, target, and each metric
        value); a pandas DataFrame when pandas is importable.
    """
    from . import Model
    _inputs.check_type(model, "model", Model, "a whitebox.Model")
    method_names = _inputs.method_names(methods)
    metric_names = _inputs.method_names(metrics, "metrics")
    for name in metric_names:
        if _metrics.info(name)["over_dataset"]:
            raise ValueError(f"metric {name} compares the images of a data set: use "
                             f"whitebox.metrics.over_dataset or the command line's evaluate")
    method_params = dict(method_params or {})
    metric_params = dict(metric_params or {})
    for name, value in (("method_params", method_params), ("metric_params", metric_params)):
        _inputs.check_type(value, name, dict, "a dict of options")
    options = {o["name"] for m in metric_names for o in _metrics.info(m)["parameters"]}
    for key in metric_params:
        if key not in options:
            raise TypeError(f"metric_params: no metric of {', '.join(metric_names)} takes "
                            f"{key!r}{_inputs.closest(key, options)}")
    if out is not None:
        _inputs.check_type(out, "out", (str, os.PathLike), "a folder path")
    items = _items(model, images, boxes, masks)
    if isinstance(targets, (list, tuple, np.ndarray)) and len(targets) != len(items):
        raise ValueError(f"targets: {len(targets)} targets for {len(items)} images")
    settings = _settings(model, method_names, metric_names, targets, method_params,
                         metric_params)
    done = _resume(os.fspath(out), settings) if out is not None else {}
    rows = []
    with _progress.Images(len(items), "evaluate", progress) as bar:
        for index, item in enumerate(items):
            if item.key in done:
                rows += done[item.key]
                bar.step(item.key)
                continue
            image_rows = _evaluate_image(model, item, index, method_names, metric_names,
                                         targets, method_params, metric_params)
            if out is not None:
                with open(os.path.join(out, "rows.jsonl"), "a", encoding="utf-8") as f:
                    f.write("".join(json.dumps(row) + "\n" for row in image_rows))
            rows += image_rows
            bar.step(item.key)
    if out is not None:
        _write_csv(os.path.join(out, "rows.csv"), rows)
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


def _evaluate_image(model, item, index, methods, metrics, targets, method_params,
                    metric_params):
    x, mask, reference = item.load()
    target = targets[index] if isinstance(targets, (list, tuple, np.ndarray)) else targets
    if target is None:
        target = item.target
    if target is None:
        target = int(np.argmax(model._core.logits(x)[0]))
    cls = _inputs.targets(target, 1, model.labels)
    cls = cls[0] if isinstance(cls, list) else _inputs.targets([cls], 1, model.labels)[0]
    explanations = model.explain(x, methods, target=cls, progress=False, **method_params)
    rows = []
    for name in methods:
        row = {"image": item.key, "file": item.file, "method": name, "target": cls}
        for metric in metrics:
            info = _metrics.info(metric)
            own = {o["name"] for o in info["parameters"]}
            options = {k: v for k, v in metric_params.items() if k in own}
            if info["needs_mask"] and mask is not None and not mask.any():
                # The central crop cut the object away: nothing to localise, as on the CLI.
                row.update({v["name"]: float("nan") for v in info["values"]})
                continue
            values = _metrics.compute(
                metric, model, x[0], explanations[name].map[0], target=cls,
                masks=None if mask is None or not info["needs_mask"] else mask,
                references=None if reference is None or not info["needs_reference"] else
                reference,
                method=name if info["needs_explainer"] else None,
                method_params=method_params if info["needs_explainer"] else None,
                progress=False, **options)
            row.update({k: float(v) for k, v in values.items()})
        rows.append(row)
    return rows


def _write_csv(path, rows):
    import csv
    columns = list(dict.fromkeys(k for row in rows for k in row))
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, path)
