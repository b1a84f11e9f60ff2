"""Reference examples of concepts over a data set: whitebox.concept_index builds the index that
``whitebox concepts-index`` writes (index.json and patches/, docs/concepts.md), in this process;
whitebox.load_concept_index reads either back, and ``Model.concepts(..., index=folder)`` attaches
each mapped channel's reference patches."""

import json
import os

import numpy as np

from . import _inputs
from . import _whitebox as _core
from ._evaluate import _record_names, _saved

FORMAT = "whitebox concept index 1"


def _items(model, images):
    """The data set's DataItems: a folder, a list file, or image files."""
    if isinstance(images, (str, os.PathLike)):
        path = os.fspath(images)
        if os.path.isdir(path):
            return _core.read_folder(path, "", "", "")
        return _core.read_list(path, model._core)
    if isinstance(images, (list, tuple)) and images and all(
            isinstance(i, (str, os.PathLike)) for i in images):
        return [_core.data_item(os.fspath(i)) for i in images]
    raise _inputs.type_error("images", "a folder, a list file or a list of image files", images)


class ConceptIndex(dict):
    """An index folder's index.json as a dict, with `folder` and `references`."""

    def __init__(self, folder, content):
        super().__init__(content)
        self.folder = os.fspath(folder)

    def layer(self, layer):
        """The entry of `layer` (as given to the index, or its graph value)."""
        for entry in self["layers"]:
            if layer in (entry["layer"], entry["value"]):
                return entry
        have = ", ".join(e["layer"] for e in self["layers"])
        raise ValueError(f"index {self.folder} has no layer {layer} (it has {have})")

    def references(self, layer, channel, by="relevance"):
        """The reference examples of `channel` of `layer`, best first: dicts of image, key,
        value, box and patch (the picture [h, w, 3] uint8), by "relevance" or "activation"."""
        if by not in ("relevance", "activation"):
            raise ValueError(f"by: 'relevance' or 'activation', not {by!r}")
        channels = self.layer(layer)["channels"]
        if not 0 <= channel < len(channels):
            return []
        return [dict(e, patch=_core.read_image(os.path.join(self.folder, e["patch"])),
                     patch_file=os.path.join(self.folder, e["patch"]))
                for e in channels[channel][by]]


def load_concept_index(folder):
    """The index of a folder written by ``whitebox concepts-index`` or ``concept_index``."""
    path = os.path.join(os.fspath(folder), "index.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{folder} holds no concept index (index.json)")
    with open(path, encoding="utf-8") as f:
        content = json.load(f)
    if content.get("format") != FORMAT:
        raise ValueError(f"{path} is not a whitebox concept index")
    return ConceptIndex(folder, content)


def check_index(index, model, layer):
    """The index's entry for `layer`, refused in one line for another model."""
    if index["model_digest"] != _core.file_digest(model.path, "model file"):
        raise ValueError(f"index {index.folder} was made for the model {index['model']}, "
                         f"not {model.path}")
    return index.layer(layer)


def concept_index(model, images, layers, out, top_n=8, method="lrp", target=None, patch=0.25,
                  **params):
    """Each channel's reference examples over a data set, as ``whitebox concepts-index``: the
    top_n images by relevance (for the image's class: a list file's target, else `target`, else
    the predicted class) and by peak activation at each of `layers`, each with the patch its
    conditional map points to; written to `out` (index.json, patches/) and returned loaded.
    Memory holds top_n examples per channel, whatever the size of the data set."""
    if isinstance(layers, str):
        layers = [layers]
    if int(top_n) < 1:
        raise ValueError(f"top_n: at least 1, not {top_n}")
    if not 0.01 <= float(patch) <= 1:
        raise ValueError(f"patch: a fraction of the image's side in [0.01, 1], not {patch}")
    items = _items(model, images)
    if not items:
        raise ValueError("images: the data set has no images")
    from . import preprocess  # the package's, which imports this module
    out = os.fspath(out)
    # What the scores depend on: the lock's settings and every record's; the images' contents
    # are in their records.
    fingerprint = json.dumps({"format": FORMAT,
                              "model_digest": _core.file_digest(model.path, "model file"),
                              "preprocessing": model.preprocessing, "method": method,
                              "params": {k: str(v) for k, v in params.items()},
                              "target": None if target is None else str(target),
                              "layers": [model._layer(layer) for layer in layers]},
                             sort_keys=True, default=str)
    with _core.RunFolder(out, fingerprint) as folder:
        records = os.path.join(out, "records")
        folder.prepare_records(records)
        return _build_index(model, items, layers, out, records, fingerprint, top_n, method,
                            target, patch, params, preprocess)


def _build_index(model, items, layers, out, records, fingerprint, top_n, method, target, patch,
                 params, preprocess):
    """concept_index's work in its locked folder: each image's channel scores from its record,
    or computed and recorded (a second call computes only the images without one); then the
    patches of the chosen images and index.json."""
    kinds = ("relevance", "activation")
    top = {k: [None] * len(layers) for k in kinds}  # [kind][layer] -> per channel [(value, key, i)]
    names = _record_names([item.key for item in items])
    for i, item in enumerate(items):
        record = os.path.join(records, names[i])
        digest = _core.file_digest(item.file, "image file")
        scores = _saved(record, item, digest, fingerprint, "scores")
        if scores is None:
            x, _ = preprocess(item.file, model)
            tgt = item.target if item.target is not None else target
            scores = []
            for layer in layers:
                found = model.concepts(x, layer, channels="all", method=method, target=tgt,
                                       maps=False, **params)
                relevance = np.asarray(found.relevance, np.float64) * found.magnitude
                peaks = _core.channel_peaks(model._core, x, model._layer(layer))
                scores.append({"relevance": relevance.tolist(),
                               "activation": np.asarray(peaks, np.float64).tolist()})
            _core.write_file(record, json.dumps(
                {"image": item.key, "file": item.file, "digest": digest, "config": fingerprint,
                 "scores": scores}) + "\n")
        for l in range(len(layers)):
            for k in kinds:
                lists = top[k][l] = top[k][l] or [[] for _ in scores[l][k]]
                for c, v in enumerate(scores[l][k]):
                    lists[c].append((-float(v), item.key, i))
                    lists[c].sort()
                    del lists[c][top_n:]
    entries = []
    chosen = {}
    for l in range(len(layers)):
        for k in kinds:
            for c, examples in enumerate(top[k][l]):
                for _, _, i in examples:
                    chosen.setdefault(i, [set() for _ in layers])[l].add(c)
    boxes = {}
    for i, per_layer in sorted(chosen.items()):
        item = items[i]
        x, picture = preprocess(item.file, model)
        tgt = item.target if item.target is not None else target
        for l, channels in enumerate(per_layer):
            if not channels:
                continue
            found = model.concepts(x, layers[l], channels=sorted(channels), method=method,
                                   target=tgt, **params)
            for m, c in enumerate(found.channels):
                heat = np.asarray(found.maps[m])
                box = _core.patch_box(heat, patch)
                name = f"patches/l{l}/{item.key}_c{c}.png"
                os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
                _core.write_image(os.path.join(out, name),
                                  np.ascontiguousarray(picture[box[1]:box[3], box[0]:box[2]]))
                boxes[(i, l, c)] = (name, box)
    for l, layer in enumerate(layers):
        channels = []
        for c in range(len(top["relevance"][l])):
            entry = {"channel": c}
            for k in kinds:
                entry[k] = [{"image": items[i].file, "key": key, "value": -v,
                             "patch": boxes[(i, l, c)][0], "box": boxes[(i, l, c)][1]}
                            for v, key, i in top[k][l][c]]
            channels.append(entry)
        entries.append({"layer": layer if isinstance(layer, str) else model._layer(layer),
                        "value": model._layer(layer), "channels": channels})
    content = {"format": FORMAT, "model": model.path,
               "model_digest": _core.file_digest(model.path, "model file"),
               "preprocessing": model.preprocessing.get("name") if isinstance(
                   model.preprocessing, dict) else model.preprocessing,
               "method": method, "params": {k: str(v) for k, v in params.items()},
               "target": "top1" if target is None else str(target), "top_n": int(top_n),
               "patch": float(patch), "images": len(items), "layers": entries}
    _core.write_file(os.path.join(out, "index.json"),
                     json.dumps(content, indent=1, sort_keys=True) + "\n")
    return load_concept_index(out)
