"""whitebox: why did the network say "tabby cat"?

Explanation maps for convolutional image classifiers, computed by whitebox's native engine: the
white-box methods of the field (gradients, relevance propagation, class activation maps, ...),
organised by the taxonomy of Ayyar, Benois-Pineau & Zemmari (2021), with the metrics to compare
them. Models are ONNX files, or PyTorch modules exported on the fly; inputs and outputs are NumPy
arrays, or CPU torch tensors.

    >>> import whitebox
    >>> model = whitebox.Model.load()              # the bundled MobileNetV2
    >>> x, picture = whitebox.preprocess(whitebox.read_image("cat.jpg"), model)
    >>> maps = model.explain(x, methods=["saliency", "gradcam"])
    >>> rgb = whitebox.overlay(picture, maps["gradcam"])

``whitebox.methods()`` lists every method with its hyper-parameters; ``help(whitebox.Model)``
documents the calls. Errors: a missing file raises FileNotFoundError, a bad argument ValueError
(naming the valid choices), an operator whitebox does not implement ``UnsupportedOperator`` (a
ValueError naming the node), a result that would not be finite ``NumericalError`` (an
ArithmeticError naming the method and node). Ctrl-C interrupts a long call.
"""

import dataclasses
import os

import numpy as np

# Installed (pip), the package carries the bundled models: the engine finds them there.
if os.path.isdir(os.path.join(os.path.dirname(__file__), "models")):
    os.environ.setdefault("WHITEBOX_DATA", os.path.join(os.path.dirname(__file__), "models"))

from . import _whitebox as _core  # noqa: E402
from ._whitebox import NumericalError, UnsupportedOperator
from . import _inputs, _progress, _torch
from . import metrics  # noqa: E402  (the metrics of `whitebox evaluate`, callable on arrays)
from ._evaluate import evaluate  # noqa: E402
from ._report import report  # noqa: E402
from . import _concept_index  # noqa: E402
from ._concept_index import ConceptIndex, concept_index, load_concept_index  # noqa: E402,F401
from ._serve import Viewer, serve  # noqa: E402,F401

__all__ = ["Model", "Explanation", "Concepts", "Tcav", "TcavConcept", "tcav", "read_image",
           "preprocess", "overlay", "methods", "concept_methods", "concept_index",
           "load_concept_index", "ConceptIndex", "metrics", "sanity", "evaluate", "report",
           "serve", "Viewer", "set_threads", "limits",
           "set_limits", "UnsupportedOperator", "NumericalError", "__version__"]

__version__ = _core.__version__


class Explanation:
    """One method's result for a batch.

    Attributes:
        method: the method's canonical name.
        map: [N, H, W] over the input pixels (CAMs upsampled): what is drawn.
        attribution: the raw result: [N, C, H, W] over the input, [N, h, w] over a layer (a
            CAM) or [N, K, h, w] per unit of a layer (the layer attributions).
        layer: the layer a CAM, layer or neuron attribution was computed at ("" for the other
            input-space methods).
        stats: the method's statistics (conservation, completeness gap, seconds, ...).
        is_signed: whether negative values carry meaning (drawn with a diverging colormap).
    """

    __slots__ = ("method", "map", "attribution", "layer", "stats", "is_signed")

    def __init__(self, method, map, attribution, layer, stats, is_signed):
        self.method, self.map, self.attribution = method, map, attribution
        self.layer, self.stats, self.is_signed = layer, stats, is_signed

    def __repr__(self):
        shape = list(self.map.shape)
        return f"Explanation(method={self.method!r}, map shape {shape}, layer={self.layer!r})"


class Concepts:
    """The concepts of one image at one layer (concept relevance propagation).

    Attributes:
        method, layer, target: the relevance method, the layer and the class explained.
        relevance: [C] each channel's relevance at the layer (summed over its positions) over
            `magnitude`: its share of the relevance that reaches the layer.
        magnitude: the sum of the channels' |relevance|, in the units of `seed`.
        seed: the relevance put in at the output (the target logit, or 1).
        channels: the mapped channels, most relevant first unless chosen.
        maps: [k, H, W] the input relevance conditioned on each channel (None with maps=False).
        attributions: [k, C, H, W] the same before the colour channels are summed.
        references: with ``index=``, {channel: [reference examples by relevance, best first]}
            for each mapped channel (``ConceptIndex.references``); else None.
    """

    __slots__ = ("method", "layer", "target", "relevance", "magnitude", "seed", "channels",
                 "maps", "attributions", "references")

    def __init__(self, method, layer, target, relevance, magnitude, seed, channels, maps,
                 attributions):
        self.method, self.layer, self.target = method, layer, target
        self.relevance, self.magnitude, self.seed = relevance, magnitude, seed
        self.channels, self.maps, self.attributions = channels, maps, attributions
        self.references = None

    def __repr__(self):
        return (f"Concepts(method={self.method!r}, layer={self.layer!r}, target={self.target}, "
                f"channels={self.channels})")


@dataclasses.dataclass
class TcavConcept:
    """One concept's TCAV test.

    Attributes:
        name: the concept's name.
        scores: the TCAV score of each run: the fraction of the class's images whose logit rises
            along that run's concept activation vector (CAV).
        mean, std: of the scores (std with n - 1).
        p_value, t: the two-sided Student t-test (equal variances) of the scores against the
            scores of the CAVs of random images against random images.
        significant: p_value below the threshold (alpha, or alpha over the concepts).
        cav_accuracy: the mean of cav_accuracies, the balanced accuracy of each run's CAV on the
            concept's and random images that run did not draw: how well the layer tells the
            concept from random images (near 0.5: it does not, and the scores mean little).
    """

    name: str
    scores: list
    mean: float
    std: float
    p_value: float
    t: float
    significant: bool
    cav_accuracy: float
    cav_accuracies: list


@dataclasses.dataclass
class Tcav:
    """The result of ``whitebox.tcav``: ``result["striped"]`` is a concept's TcavConcept.

    Attributes:
        layer, target: the layer and the class scored.
        images: how many images of the class were scored.
        examples: the images on each side of every CAV.
        random_scores, random_mean, random_std: the null, the scores of CAVs of random images
            against other random images, one per run.
        threshold: what p must be below.
        concepts: {name: TcavConcept}, in the order given.
    """

    layer: str
    target: int
    images: int
    examples: int
    random_scores: list
    random_mean: float
    random_std: float
    threshold: float
    concepts: dict

    def __getitem__(self, name):
        return self.concepts[name]


class Model:
    """A CNN image classifier loaded from ONNX, ready to explain.

    Load one with ``Model.load(path)`` (None: the bundled MobileNetV2) or
    ``Model.from_torch(module, example_input)``.
    """

    def __init__(self, core, layers=None):
        self._core = core
        self._layers = layers  # _torch.Layers for a model made with from_torch

    @staticmethod
    def load(path=None, dtype="float32", labels=None, preprocessing=None):
        """Imports an ONNX file (and its sidecar ``<file>.json``: preprocessing and labels).

        Args:
            path: the .onnx file (str or os.PathLike); None for the bundled MobileNetV2.
            dtype: "float32" or "float64" (a reference precision).
            labels: class names, one per output, or a text file with one per line.
            preprocessing: a preset name ("imagenet", "inception", "mobilenet-tf", "unit") or a
                dict with any of name, width, height, crop, mean, std.
        """
        if path is not None:
            _inputs.check_type(path, "path", (str, os.PathLike), "an ONNX file path or None")
        _inputs.check_type(dtype, "dtype", str, "'float32' or 'float64'")
        path = _core.default_model_path() if path is None else os.fspath(path)
        model = Model(_core.Model.load(path, dtype))
        model._configure(labels, preprocessing)
        return model

    @staticmethod
    def from_torch(module, example_input=None, opset=13, dtype="float32", labels=None,
                   preprocessing=None):
        """Exports a ``torch.nn.Module`` (in eval mode) to ONNX with ``torch.onnx`` and loads it.
        Its layers can then be named as PyTorch does: ``layer=net.layer4`` or ``"layer4"``.

        Args:
            module: the classifier; its first output must be the logits [N, classes].
            example_input: a tensor of the input's shape (default ``torch.zeros(1, 3, 224, 224)``).
            opset: the ONNX opset of the export (9 to 17).
            dtype, labels, preprocessing: as for ``Model.load``.
        """
        import torch
        _inputs.check_type(module, "module", torch.nn.Module, "a torch.nn.Module")
        if example_input is None:
            example_input = torch.zeros(1, 3, 224, 224)
        _inputs.check_type(example_input, "example_input", torch.Tensor, "a torch tensor")
        _inputs.check_type(opset, "opset", int, "an ONNX opset number (9 to 17)")
        _inputs.check_type(dtype, "dtype", str, "'float32' or 'float64'")
        core = _torch.from_torch(module, example_input, opset,
                                 lambda path: _core.Model.load(path, dtype))
        model = Model(core, _torch.Layers(module, core))
        model._configure(labels, preprocessing)
        return model

    def _configure(self, labels, preprocessing):
        if labels is not None:
            self.labels = labels
        if preprocessing is not None:
            self.preprocessing = preprocessing

    @property
    def input_shape(self):
        """The declared input shape [N, C, H, W]."""
        return self._core.input_shape

    @property
    def num_classes(self):
        return self._core.num_classes

    @property
    def path(self):
        return self._core.path

    @property
    def labels(self):
        """Class names by output index (empty when unknown)."""
        return self._core.labels

    @labels.setter
    def labels(self, labels):
        if isinstance(labels, (str, os.PathLike)):
            with open(labels, encoding="utf-8") as f:
                labels = [line.rstrip("\r\n") for line in f]
        if not isinstance(labels, (list, tuple)) or not all(isinstance(l, str) for l in labels):
            raise _inputs.type_error("labels", "a list of class names or a text file path",
                                     labels)
        self._core.labels = list(labels)

    @property
    def preprocessing(self):
        """How images become inputs: name, width, height, crop, mean, std."""
        return self._core.preprocessing

    @preprocessing.setter
    def preprocessing(self, preprocessing):
        if isinstance(preprocessing, str):
            preprocessing = {"name": preprocessing}
        if not isinstance(preprocessing, dict):
            raise _inputs.type_error("preprocessing", "a preset name or a dict", preprocessing)
        fields = {"name": (str, "a preset name"), "width": (int, "a number of pixels"),
                  "height": (int, "a number of pixels"), "crop": ((int, float), "a fraction"),
                  "mean": ((list, tuple), "three numbers"), "std": ((list, tuple), "three numbers")}
        for key, value in preprocessing.items():
            if key not in fields:
                raise ValueError(f"preprocessing has no {key!r}{_inputs.closest(key, fields)}; "
                                 f"it takes {', '.join(fields)}")
            kind, takes = fields[key]
            _inputs.check_type(value, f"preprocessing[{key!r}]", kind, takes)
            if key in ("mean", "std") and (len(value) != 3 or not all(
                    isinstance(v, (int, float)) for v in value)):
                raise _inputs.type_error(f"preprocessing[{key!r}]", takes, value)
        self._core.preprocessing = dict(preprocessing)

    def _input(self, x):
        return _inputs.model_input(x, self._core)

    def logits(self, x):
        """The logits [N, classes] of x: an image path, a PIL image, a uint8 picture [H, W, 3]
        (preprocessed as the model's preprocessing says), a float input [C, H, W] or
        [N, C, H, W] (NumPy or torch, any layout), or a list of these."""
        array, like = self._input(x)
        return like(self._core.logits(array))

    def predict(self, x, top=5):
        """The ``top`` classes of each image (x as for ``logits``): a list (per image) of dicts
        with class, label, probability and logit, best first."""
        _inputs.check_type(top, "top", (int, np.integer), "a number of classes")
        array, _ = self._input(x)
        logits = self._core.logits(array).astype(np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        labels = self.labels
        result = []
        for row, probs in zip(logits, probabilities):
            best = np.argsort(-row, kind="stable")[:top]
            result.append([{"class": int(c), "label": labels[c] if c < len(labels) else "",
                            "probability": float(probs[c]), "logit": float(row[c])} for c in best])
        return result

    def _layer(self, layer, name="layer"):
        """A layer as the core names it: a graph value or node name, a module of a model made
        with from_torch or its dotted name, or a list of these."""
        if isinstance(layer, (list, tuple)):
            return ",".join(self._layer(l, name) for l in layer)
        if isinstance(layer, str):
            return self._layers.value(layer) if self._layers else layer
        if self._layers and _inputs.is_module(layer):
            return self._layers.value(layer)
        raise _inputs.type_error(name, "a layer name (a graph value or node, or for a model "
                                 "from from_torch a module or its dotted name)", layer)

    def explain(self, x, methods=("saliency", "gradcam"), target=None, layer=None, progress=None,
                **params):
        """Explanation maps of a batch for its target classes, all methods sharing one forward pass.

        Args:
            x: the images: as for ``logits``. Results come back as NumPy arrays, or as torch
                tensors on x's device when x is a tensor.
            methods: a method name or alias (``whitebox.methods()``), "a,b", or a list of names.
            target: None (each image's top class), a class index, a label ("tabby cat"), a rank
                ("top3"), or a list of indices and labels, one per image.
            layer: the layer of the CAM methods: for a model made with ``from_torch`` a module
                (``net.layer4``) or its dotted name ("layer4"); for any model a graph value or
                node name (``whitebox inspect`` lists them). Default: the last spatial feature
                map.
            progress: a bar of the network inputs the many-forward methods (occlusion, RISE,
                Score-CAM, LIME, Sobol, ...) pass: None shows it on a terminal once a call has
                run for a second, True always, False never.
            **params: the methods' hyper-parameters as Python values (steps=50,
                baseline="blurred" or an array of the input's shape, ...).

        Returns:
            dict: each name asked for, in their order -> its Explanation (whose ``method`` is the
            canonical name).
        """
        names = _inputs.method_names(methods)
        canonical = [_core.find_method(name) for name in names]
        array, like = self._input(x)
        target = _inputs.targets(target, array.shape[0], self.labels)
        asked_layer = None
        for key, value in (("layer", layer), ("layers", params.pop("layers", None))):
            if value is not None:
                params[key] = self._layer(value, key)
                asked_layer = value
        with _inputs.param_texts(params) as (text,):
            try:
                with _progress.Inputs("explain " + ",".join(names), progress) as inputs:
                    raw = self._core.explain(array, list(dict.fromkeys(canonical)), target,
                                             text, inputs.callback())
            except ValueError as error:
                hint = self._layers.unknown_hint(asked_layer) if self._layers else ""
                if hint and "layer" in str(error):
                    raise ValueError(f"{error}{hint}") from None
                raise
        result = {}
        for name, method in zip(names, canonical):
            r = raw[method]
            layer_name = r["layer"]
            if layer_name and self._layers:
                layer_name = (asked_layer if isinstance(asked_layer, str) else
                              self._layers.name_of(layer_name))
            result[name] = Explanation(r["method"], like(r["map"]), like(r["attribution"]),
                                       layer_name, r["stats"], r["is_signed"])
        return result

    def _concept_arguments(self, x, target, condition, params):
        """The core's image, target, conditions (output first) and parameter texts."""
        array, like = self._input(x)
        if array.shape[0] != 1:
            raise ValueError(f"x: concepts explain one image, not {array.shape[0]}")
        target = _inputs.targets(target, 1, self.labels)
        if condition is None:
            condition = {}
        _inputs.check_type(condition, "condition", dict,
                           "a dict {layer: [channels]} from the output down")
        conditions = [(self._layer(layer, "condition"), _inputs.channel_list(kept, "condition"))
                      for layer, kept in condition.items()]
        return array, like, target, conditions, params

    def concepts(self, x, layer, channels=None, top=8, method="lrp", target=None,
                 condition=None, maps=True, batch=16, progress=None, index=None, **params):
        """Concept relevance: each channel's share of the decision at `layer` and the map of the
        input relevance that flows through each chosen channel (Achtibat et al. 2023).

        Args:
            x: one image, as for ``logits``.
            layer: a layer as ``explain`` takes it (a graph value or node name, or for a model
                made with from_torch a module or its dotted name).
            channels: None (the `top` most relevant), "all", or a list of channel indices.
            top: how many of the most relevant channels to map.
            method: a relevance method (``whitebox.concept_methods()``: the LRP composites,
                deep Taylor, excitation backprop, gradient x input).
            target: as for ``explain`` (one class).
            condition: {layer: [channels]} on layers after `layer`, from the output down: the
                relevance goes on from those channels only (the lower concepts of an upper one).
            maps: False computes the relevance and ranking only (one sweep).
            batch: conditional maps per sweep.
            progress: as for ``explain``.
            index: a concept index (a folder of ``whitebox concepts-index`` or
                ``concept_index``, or one loaded) of this model and layer: each mapped channel's
                reference examples go to ``references``.
            **params: the method's hyper-parameters.

        Returns:
            Concepts; its arrays are NumPy arrays, or torch tensors on x's device when x is one.
        """
        if index is not None:
            if not isinstance(index, _concept_index.ConceptIndex):
                index = _concept_index.load_concept_index(index)
            _concept_index.check_index(index, self, self._layer(layer))
        array, like, target, conditions, params = self._concept_arguments(
            x, target, condition, params)
        chosen, top = _inputs.channel_choice(channels, top)
        with _inputs.param_texts(params) as (text,):
            raw = _core.concepts(self._core, array, self._layer(layer), target, method, text,
                                 chosen, top, conditions, bool(maps), batch, progress)
        name = layer if isinstance(layer, str) else (
            self._layers.name_of(raw["layer"]) if self._layers else raw["layer"])
        optional = lambda a: None if a is None else like(a)  # noqa: E731
        found = Concepts(raw["method"], name, raw["target"], like(raw["relevance"]),
                         raw["magnitude"], raw["seed"], raw["channels"], optional(raw["maps"]),
                         optional(raw["attributions"]))
        if index is not None:
            found.references = {c: index.references(raw["layer"], c) for c in raw["channels"]}
        return found

    def concept_graph(self, x, layers, top=4, subtop=3, method="lrp", target=None,
                      channels=None, condition=None, maps=False, batch=16, progress=None,
                      **params):
        """Hierarchical concepts: the `top` most relevant channels of the first of `layers`
        (from the output down), under each the `subtop` most relevant of the next layer
        conditioned on it, and so on. The other arguments are those of ``concepts``.

        Returns:
            A list of dicts (layer, channel, relevance, parent, and with maps=True the map
            [H, W] conditioned on the concept and its ancestors), parents before their
            children; parent is the index of the concept a channel makes up, -1 at the first
            layer.
        """
        if isinstance(layers, (str, os.PathLike)) or not isinstance(layers, (list, tuple)):
            raise _inputs.type_error("layers", "a list of layers, from the output down", layers)
        array, like, target, conditions, params = self._concept_arguments(
            x, target, condition, params)
        chosen, top = _inputs.channel_choice(channels, top)
        with _inputs.param_texts(params) as (text,):
            nodes = _core.concept_graph(self._core, array, [self._layer(l) for l in layers],
                                        target, method, text, chosen, top, subtop, conditions,
                                        bool(maps), batch, progress)
        names = {self._layer(l): l for l in layers if isinstance(l, str)}
        for node in nodes:
            node["layer"] = names.get(node["layer"], node["layer"])
            if "map" in node:
                node["map"] = like(node["map"])
        return nodes

    def fit_patterns(self, x, estimator="twocomponent", folder=None):
        """Learns PatternNet's and PatternAttribution's signal patterns from a batch of inputs x
        (as for ``logits``) and saves them to `folder` (default: beside the model file, where
        the methods look). Returns the folder; pass it as ``patterns=`` to use another."""
        _inputs.check_type(estimator, "estimator", str, "'linear' or 'twocomponent'")
        if folder is not None:
            _inputs.check_type(folder, "folder", (str, os.PathLike), "a folder path or None")
        array, _ = self._input(x)
        return _core.fit_patterns(self._core, array, estimator, os.fspath(folder or ""))

    def __repr__(self):
        return f"Model({self.path!r}, input {self.input_shape}, {self.num_classes} classes)"


def read_image(path):
    """An image file (PNG, JPEG, BMP, ...) as a uint8 RGB array [H, W, 3]."""
    return _inputs.read_picture(path, "path")


def preprocess(image, model):
    """(x [1, 3, H, W] float32, picture [H, W, 3] uint8): the model's crop, resize and
    normalisation of an RGB image (a path, a PIL image or a uint8 picture), and the cropped
    picture to draw maps over."""
    _inputs.check_type(model, "model", Model, "a whitebox.Model")
    rgb = _inputs.picture(image, "image")
    if rgb is None:
        raise _inputs.type_error("image", "an image file path, a PIL image or a uint8 picture "
                                 "[H, W, 3]", image)
    return _core.preprocess(rgb, model._core)


def overlay(picture, explanation, image=0, alpha=0.5, colormap=None, normalization=None,
            percentile=99.0):
    """A map drawn over a picture: an RGB uint8 array [H, W, 3] (for matplotlib's imshow).

    Args:
        picture: the preprocessed picture (``preprocess``'s second result): a uint8 [H, W, 3]
            array, a path or a PIL image.
        explanation: an Explanation (its map of image ``image``), or a map [H, W].
        colormap: jet, turbo, viridis, inferno or red-blue (default: red-blue for signed maps,
            jet otherwise).
        normalization: positive, absolute or signed (default: by the map's sign).
        percentile: magnitudes above this percentile saturate.
    """
    signed = False
    if isinstance(explanation, Explanation):
        signed = explanation.is_signed
        explanation = explanation.map[image]
    heat = _inputs.float_array(explanation, "explanation", 2, "[H, W]")
    rgb = _inputs.picture(picture, "picture")
    if rgb is None:
        raise _inputs.type_error("picture", "a uint8 picture [H, W, 3], a path or a PIL image",
                                 picture)
    for name, value, kind in (("colormap", colormap, str), ("normalization", normalization, str)):
        if value is not None:
            _inputs.check_type(value, name, kind, "a name")
    _inputs.check_type(alpha, "alpha", (int, float), "a number in [0, 1]")
    _inputs.check_type(percentile, "percentile", (int, float), "a number in (0, 100]")
    colormap = colormap or ("red-blue" if signed else "jet")
    normalization = normalization or ("signed" if signed else "positive")
    return _core.overlay(rgb, heat, alpha, colormap, normalization, percentile)


def _image_set(model, images, name):
    """Model inputs [N, C, H, W] from a folder, a list of folders, or anything ``Model.logits``
    takes (image files, pictures, arrays or tensors of any layout)."""
    is_folder = lambda p: isinstance(p, (str, os.PathLike)) and os.path.isdir(p)  # noqa: E731
    if is_folder(images):
        return _core.read_inputs(os.fspath(images), model._core)
    if isinstance(images, (list, tuple)) and images and all(is_folder(p) for p in images):
        return np.concatenate([_core.read_inputs(os.fspath(p), model._core) for p in images])
    if isinstance(images, (list, tuple)) and not images:
        raise ValueError(f"{name} is empty")
    return model._input(images)[0]


def tcav(model, layer, concepts, random, images, target=None, runs=10, examples=0, seed=0,
         alpha=0.05, bonferroni=False, batch=32, progress=None):
    """Testing with concept activation vectors (Kim et al., ICML 2018): how often the logit of a
    class rises along a concept, given by example images, at a hidden layer, and whether more
    often than along random images (docs/concepts.md, TCAV).

    Each of the `runs` runs draws `examples` images of every concept and two disjoint sets of as
    many random images R and R'. A concept's CAV is the unit normal of an L2-regularised logistic
    regression that separates its activations at `layer` from R's; a null CAV separates R''s from
    R's. A score is the fraction of the class's images whose logit's gradient at the layer points
    along the CAV; a concept's scores are compared with the null ones by a two-sided t-test.

    Args:
        model: a whitebox.Model.
        layer: as for ``Model.explain`` (a graph value or node name, or for a model made with
            from_torch a module or its dotted name).
        concepts: {name: images}, or a list of folders (each named by its folder). Images are a
            folder, a list of folders, or anything ``Model.logits`` takes (image files, pictures,
            float arrays or tensors [N, C, H, W] of any layout).
        random: the random images (counterexamples), as a concept's; several folders are pooled.
        images: the images of the class.
        target: the class: an index, a label, or None / "topK" where all images agree on it.
        runs: runs of the test (>= 2; the paper asks for 10 or more).
        examples: images on each side of a CAV; 0: a quarter of the fewer of a concept's images
            and half the random ones (at least 2).
        seed: of the draws.
        alpha: the significance level; bonferroni=True divides it by the number of concepts.
        batch: images per forward pass.
        progress: a bar of the images passed through the network (None: on a terminal once the
            call has run for a second, True always, False never).

    Returns:
        Tcav, with a TcavConcept per concept.
    """
    _inputs.check_type(model, "model", Model, "a whitebox.Model")
    for name, value in (("runs", runs), ("examples", examples), ("seed", seed), ("batch", batch)):
        _inputs.check_type(value, name, (int, np.integer), "a whole number")
    _inputs.check_type(alpha, "alpha", (int, float, np.floating), "a number in (0, 1)")
    _inputs.check_type(bonferroni, "bonferroni", bool, "True or False")
    if target is not None and not isinstance(target, str):
        _inputs.check_type(target, "target", (int, np.integer), "a class index, a label or 'topK'")
    if isinstance(concepts, (list, tuple)):
        named = {}
        for folder in concepts:
            if not (isinstance(folder, (str, os.PathLike)) and os.path.isdir(folder)):
                raise ValueError(f"concepts: a list names folders, and {folder!r} is none; give "
                                 "{name: images} for images of another kind")
            key = os.path.basename(os.path.normpath(os.fspath(folder)))
            if key in named:
                raise ValueError(f"concepts: two folders are named {key!r}; give {{name: folder}}")
            named[key] = folder
        concepts = named
    _inputs.check_type(concepts, "concepts", dict, "{name: images} or a list of folders")
    if not concepts:
        raise ValueError("concepts names no concept")
    pairs = []
    for name, value in concepts.items():
        _inputs.check_type(name, "a concept's name", str, "a string")
        pairs.append((name, _image_set(model, value, f"concepts[{name!r}]")))
    pool = _image_set(model, random, "random")
    scored = _image_set(model, images, "images")
    with _progress.Inputs("tcav", progress) as inputs:
        raw = _core.tcav(model._core, model._layer(layer), pairs, pool, scored,
                         None if target is None else (target if isinstance(target, str)
                                                      else int(target)),
                         int(runs), int(examples), int(seed), float(alpha), bonferroni,
                         int(batch), inputs.callback())
    layer_name = layer if isinstance(layer, str) else (
        model._layers.name_of(raw["layer"]) if model._layers else raw["layer"])
    found = {c["name"]: TcavConcept(c["name"], list(c["scores"]), c["mean"], c["std"],
                                    c["p_value"], c["t"], c["significant"], c["cav_accuracy"],
                                    list(c["cav_accuracies"])) for c in raw["concepts"]}
    return Tcav(layer_name, raw["target"], raw["images"], raw["examples"],
                list(raw["random_scores"]), raw["random_mean"], raw["random_std"],
                raw["threshold"], found)


def concept_methods():
    """The methods whose relevance ``Model.concepts`` can condition on channels."""
    return list(_core.concept_methods())


def methods():
    """The taxonomy: one dict per method (name, aliases, family, summary, hyperparameters, ...)."""
    return _core.methods()


def sanity(model, x, methods=_core.sanity_methods, mode=_core.sanity_defaults["mode"],
           layers=_core.sanity_defaults["layers"], seed=_core.sanity_defaults["seed"],
           smooth=_core.sanity_defaults["smooth"], progress=None, **params):
    """Adebayo et al.'s model-parameter randomisation test on one image (x as for
    ``Model.logits``; the methods as for ``Model.explain``).

    Returns a dict: cls (the class explained), methods, steps, each with the layer re-drawn, the
    maps [H, W] and their similarity (spearman, spearman_abs, ssim, hog) to the trained model's
    maps, and complexity_rise (efficient MPRT: the entropy of each method's last map over its
    first's). smooth=N makes every map the mean over N noisy copies (smooth MPRT). progress:
    a bar of the randomisation steps (None: on a terminal, True always, False never).
    """
    _inputs.check_type(model, "model", Model, "a whitebox.Model")
    names = _inputs.method_names(methods)
    _inputs.check_type(mode, "mode", str, "'cascading' or 'independent'")
    for name, value in (("layers", layers), ("seed", seed), ("smooth", smooth)):
        _inputs.check_type(value, name, (int, np.integer), "a whole number")
    array, _ = model._input(x)
    with _inputs.param_texts(params) as (text,):
        with _progress.Inputs("sanity", progress, "step") as steps:
            return _core.sanity(model._core, array, names, mode, layers, seed, smooth, text,
                                steps.callback())


def limits():
    """The bounds whitebox puts on one input (docs/bad_inputs.md, "Limits"), as a dict:
    image_pixels (read from an image's header before decoding, as Pillow's MAX_IMAGE_PIXELS),
    model_bytes, file_bytes and tensor_elements."""
    return dict(_core.limits())


def set_limits(**bounds):
    """Raises (or lowers) bounds of `limits()` for this process, e.g.
    `whitebox.set_limits(image_pixels=400_000_000)`; the WHITEBOX_MAX_* environment variables set
    them at start."""
    for name, value in bounds.items():
        _inputs.check_type(value, name, (int, np.integer), "a positive whole number")
    _core.set_limits({name: int(value) for name, value in bounds.items()})


def set_threads(threads=0):
    """Runs whitebox on `threads` cores (0: all), on LibTorch's thread pool."""
    _inputs.check_type(threads, "threads", (int, np.integer), "a number of cores (0: all)")
    _core.set_threads(int(threads))
