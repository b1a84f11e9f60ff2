"""whitebox.evaluate: every metric of every method on every image of a data set, one row per image
and method, as ``whitebox evaluate`` computes them, resumable from its output folder. The folder
is the command line's: locked for the call's settings by the library's RunFolder, one record per
image written whole (out/images/<key>.json), an image done when its record has these settings."""

import contextlib
import csv
import hashlib
import io
import json
import os
import re

import numpy as np

from . import _inputs, _progress
from . import _whitebox as _core
from . import metrics as _metrics

_LIST_SUFFIXES = (".csv", ".txt", ".lst")


class _Item:
    """One image of the run: its key, file, target, how to read it and how to know it again (a
    digest of its content, which its record holds: a replaced image is computed again)."""

    def __init__(self, key, file="", target=None, load=None, digest=None):
        self.key, self.file, self.target, self.load = key, file, target, load
        self.digest = digest or (lambda: f"{_core.file_digest(file, 'image file')} "
                                         f"target {target}")


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
    def digest(i):
        content = hashlib.sha256(np.ascontiguousarray(batch[i]).tobytes())
        if planes is not None:
            content.update(np.ascontiguousarray(planes[i]).tobytes())
        return f"{batch.dtype} {list(batch.shape[1:])} {content.hexdigest()}"

    return [_Item(f"image-{i}", load=lambda i=i: (
        batch[i:i + 1], None if planes is None else planes[i], None),
        digest=lambda i=i: digest(i)) for i in range(batch.shape[0])]


def _plain(value):
    """A value json cannot write as it is (arrays, tensors, NumPy numbers, paths) as one it can."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__array__"):
        return np.asarray(value).tolist()
    return repr(value)


def _fingerprint(model, images, boxes, masks, methods, metrics, targets, method_params,
                 metric_params):
    """What the rows depend on, as deterministic JSON (the lock's settings and every record's
    "config"): the model, the inputs named by path, the methods, metrics, targets and options.
    The images' contents are in their records."""
    def named(value):
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        if isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (str, os.PathLike)) for v in value):
            return [os.fspath(v) for v in value]
        return None  # arrays: their digests are in the records

    settings = {"model": model.path, "dtype": model._core.dtype,
                "preprocessing": model.preprocessing, "images": named(images),
                "boxes": named(boxes), "masks": named(masks), "methods": methods,
                "metrics": metrics, "targets": targets, "method_params": method_params,
                "metric_params": metric_params}
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=_plain)


# A key that is a plain file name (letters, digits, "_", "+", "-", ".", spaces; no leading dot) is
# its record's name, as on the command line; any other (a separator, a control character, a name
# too long for a file system, one that is not UTF-8) is named by a hash.
_PLAIN_NAME = re.compile(r"[\w+-][\w.+\- ]*")


def _record_names(keys):
    """The record's file name in out/images/ for each image key: "<key>.json", as the command
    line names it, where the key is a plain file name; else a readable part of it and a hash. A
    key that repeats (image files of one name in two folders) names its later images by their
    position too, so that no two images share a record."""
    seen, names = {}, []
    for key in keys:
        repeat = seen.get(key, 0)
        seen[key] = repeat + 1
        if repeat == 0 and _PLAIN_NAME.fullmatch(key) and len(key.encode("utf-8")) <= 200:
            names.append(key + ".json")
            continue
        unique = key if repeat == 0 else f"{key}\n{repeat}"
        readable = re.sub(r"[^\w.+\- ]", "_", key)[:48].lstrip(".")
        hashed = hashlib.sha256(unique.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        names.append(f"{readable}-{hashed}.json")
    return names


def _saved(record, item, digest, fingerprint, field="rows"):
    """The results (`field`) of `item` in its record, if it was written by a call of these
    settings for this image; None (computed again) when it is missing, unreadable or of other
    settings. The records of whitebox.concept_index are read alike."""
    if not os.path.isfile(record):
        return None
    try:
        with open(record, encoding="utf-8") as f:
            saved = json.load(f)
        if (saved["config"] == fingerprint and saved["image"] == item.key
                and saved["file"] == item.file and saved["digest"] == digest
                and isinstance(saved[field], list)):
            return saved[field]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


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
        out: a folder, resumable as the command line's: each image's rows are written, whole,
            to its record out/images/<key>.json as it is done; a call with the same settings
            computes only the images without one (a record of other settings or of a replaced
            image is computed again, never mixed in), and out/rows.csv has every row at the
            end. The folder is locked for the call: another call or ``whitebox`` run of other
            settings on it meanwhile raises FileNotFoundError ("another whitebox run ...").
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
    fingerprint = _fingerprint(model, images, boxes, masks, method_names, metric_names,
                               targets, method_params, metric_params)
    out = None if out is None else os.fspath(out)
    folder = contextlib.nullcontext() if out is None else _core.RunFolder(out, fingerprint)
    with folder:
        records = None
        if out is not None:
            records = os.path.join(out, "images")
            folder.prepare_records(records)
            names = _record_names([item.key for item in items])
        rows = []
        with _progress.Images(len(items), "evaluate", progress) as bar:
            for index, item in enumerate(items):
                image_rows = None
                if records is not None:
                    record, digest = os.path.join(records, names[index]), item.digest()
                    image_rows = _saved(record, item, digest, fingerprint)
                if image_rows is None:
                    image_rows = _evaluate_image(model, item, index, method_names, metric_names,
                                                 targets, method_params, metric_params)
                    if records is not None:
                        _core.write_file(record, json.dumps(
                            {"image": item.key, "file": item.file, "digest": digest,
                             "config": fingerprint, "rows": image_rows}, indent=1) + "\n")
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
    columns = list(dict.fromkeys(k for row in rows for k in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(rows)
    _core.write_file(path, text.getvalue())
