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

import os
import tempfile

import numpy as np

from . import _whitebox as _core
from ._whitebox import NumericalError, UnsupportedOperator
from . import metrics  # noqa: E402  (the metrics of `whitebox evaluate`, callable on arrays)

__all__ = ["Model", "Explanation", "read_image", "preprocess", "overlay", "methods", "metrics",
           "sanity", "set_threads", "UnsupportedOperator", "NumericalError"]


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch"


def _as_input(x, name="x"):
    """(a float array [N, C, H, W], whether x was a torch tensor): no copy for a CPU tensor or a
    C-contiguous float32 / float64 array."""
    from_torch = _is_torch(x)
    if from_torch:
        if x.device.type != "cpu":
            raise ValueError(f"{name} must be a CPU tensor, not one on {x.device}")
        array = x.detach().numpy()
    else:
        array = np.asarray(x)
    if array.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, not {array.dtype}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"{name} must have shape [C, H, W] or [N, C, H, W], not {list(array.shape)}")
    return array, from_torch


def _output(array, as_torch):
    if as_torch:
        import torch
        return torch.from_numpy(array)
    return array


class Explanation:
    """One method's result for a batch.

    Attributes:
        method: the method's canonical name.
        map: [N, H, W] over the input pixels (CAMs upsampled): what is drawn.
        attribution: the raw result: [N, C, H, W] over the input, or [N, h, w] over a layer.
        layer: the layer a CAM was computed at ("" for input-space methods).
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


def _param_text(name, value, folder):
    """A keyword argument as the engine's parameter text; arrays (a baseline) go to a .npy file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return ",".join(str(v) for v in value)
    if _is_torch(value) or isinstance(value, np.ndarray):
        array = value.detach().numpy() if _is_torch(value) else value
        if array.ndim == 3:  # one image [C, H, W]: a batch of one
            array = array[None]
        path = os.path.join(folder, f"{name}.npy")
        dtype = array.dtype if array.dtype in (np.float32, np.float64) else np.float32
        np.save(path, np.ascontiguousarray(array, dtype=dtype))
        return path
    raise ValueError(f"parameter {name}={value!r}: expected a number, a string, a list or an array")


class Model:
    """A CNN image classifier loaded from ONNX, ready to explain.

    Load one with ``Model.load(path)`` (None: the bundled MobileNetV2) or
    ``Model.from_torch(module, example_input)``.
    """

    def __init__(self, core):
        self._core = core

    @staticmethod
    def load(path=None, dtype="float32", labels=None, preprocessing=None):
        """Imports an ONNX file (and its sidecar ``<file>.json``: preprocessing and labels).

        Args:
            path: the .onnx file; None for the bundled MobileNetV2.
            dtype: "float32" or "float64" (a reference precision).
            labels: class names, one per output, or a text file with one per line.
            preprocessing: a preset name ("imagenet", "inception", "mobilenet-tf", "unit") or a
                dict with any of name, width, height, crop, mean, std.
        """
        path = _core.default_model_path() if path is None else os.fspath(path)
        model = Model(_core.Model.load(path, dtype))
        if labels is not None:
            model.labels = labels
        if preprocessing is not None:
            model.preprocessing = preprocessing
        return model

    @staticmethod
    def from_torch(module, example_input, opset=13, dtype="float32", labels=None,
                   preprocessing=None):
        """Exports a ``torch.nn.Module`` (in eval mode) to ONNX with ``torch.onnx`` and loads it.

        Args:
            module: the classifier; its first output must be the logits [N, classes].
            example_input: a tensor of the input's shape, e.g. ``torch.zeros(1, 3, 224, 224)``.
            opset: the ONNX opset of the export (9 to 17).
            dtype, labels, preprocessing: as for ``Model.load``.
        """
        import torch
        was_training = module.training
        module.eval()
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.onnx")
                with torch.no_grad():
                    torch.onnx.export(module, example_input, path, opset_version=opset,
                                      input_names=["input"], output_names=["logits"],
                                      do_constant_folding=True)
                return Model.load(path, dtype=dtype, labels=labels, preprocessing=preprocessing)
        finally:
            module.train(was_training)

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
                labels = [line.rstrip("\n") for line in f]
        self._core.labels = list(labels)

    @property
    def preprocessing(self):
        """How images become inputs: name, width, height, crop, mean, std."""
        return self._core.preprocessing

    @preprocessing.setter
    def preprocessing(self, preprocessing):
        self._core.preprocessing = ({"name": preprocessing} if isinstance(preprocessing, str)
                                    else dict(preprocessing))

    def logits(self, x):
        """The logits [N, classes] of a batch x ([C, H, W] or [N, C, H, W])."""
        array, as_torch = _as_input(x)
        return _output(self._core.logits(array), as_torch)

    def predict(self, x, top=5):
        """The ``top`` classes of each image: a list (per image) of dicts with class, label,
        probability and logit, best first."""
        array, _ = _as_input(x)
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

    def explain(self, x, methods=("saliency", "gradcam"), target=None, layer=None, **params):
        """Explanation maps of a batch for its target classes, all methods sharing one forward pass.

        Args:
            x: the input, [C, H, W] or [N, C, H, W], float32 or float64, a NumPy array or a CPU
                torch tensor (results come back as the same kind).
            methods: method names or aliases (``whitebox.methods()``), or one name.
            target: None (each image's top class), a class index, one index per image, a label
                ("tabby cat") or a rank ("top3").
            layer: the layer of the CAM methods (a node or value name; default: the last
                spatial feature map).
            **params: the methods' hyper-parameters as Python values (steps=50,
                baseline="blurred" or an array of the input's shape, ...).

        Returns:
            dict: method name -> Explanation.
        """
        names = [methods] if isinstance(methods, str) else list(methods)
        array, as_torch = _as_input(x)
        if layer is not None:
            params["layer"] = layer
        if target is not None and not isinstance(target, str):
            target = np.asarray(target).reshape(-1).tolist()
            if len(target) == 1:
                target = target * array.shape[0]
            if len(target) != array.shape[0]:
                raise ValueError(f"{len(target)} targets for a batch of {array.shape[0]}")
        with tempfile.TemporaryDirectory() as folder:
            text = {k: _param_text(k, v, folder) for k, v in params.items()}
            raw = self._core.explain(array, names, target, text)
        return {name: Explanation(r["method"], _output(r["map"], as_torch),
                                  _output(r["attribution"], as_torch), r["layer"], r["stats"],
                                  r["is_signed"]) for name, r in raw.items()}

    def fit_patterns(self, x, estimator="twocomponent", folder=None):
        """Learns PatternNet's and PatternAttribution's signal patterns from a batch of inputs
        x [N, C, H, W] and saves them to `folder` (default: beside the model file, where the
        methods look). Returns the folder; pass it as ``patterns=`` to use another."""
        array, _ = _as_input(x)
        return _core.fit_patterns(self._core, array, estimator, os.fspath(folder or ""))

    def __repr__(self):
        return f"Model({self.path!r}, input {self.input_shape}, {self.num_classes} classes)"


def read_image(path):
    """An image file (PNG, JPEG, BMP, ...) as a uint8 RGB array [H, W, 3]."""
    return _core.read_image(os.fspath(path))


def preprocess(image, model):
    """(x [1, 3, H, W] float32, picture [H, W, 3] uint8): the model's crop, resize and
    normalisation of an RGB image, and the cropped picture to draw maps over."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] uint8 RGB, not {list(image.shape)}")
    return _core.preprocess(image, model._core)


def overlay(picture, explanation, image=0, alpha=0.5, colormap=None, normalization=None,
            percentile=99.0):
    """A map drawn over a picture: an RGB uint8 array [H, W, 3] (for matplotlib's imshow).

    Args:
        picture: [H, W, 3] uint8, the preprocessed picture (``preprocess``'s second result).
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
    heat = explanation.detach().numpy() if _is_torch(explanation) else np.asarray(explanation)
    colormap = colormap or ("red-blue" if signed else "jet")
    normalization = normalization or ("signed" if signed else "positive")
    return _core.overlay(np.ascontiguousarray(picture, dtype=np.uint8),
                         np.ascontiguousarray(heat, dtype=np.float32), alpha, colormap,
                         normalization, percentile)


def methods():
    """The taxonomy: one dict per method (name, aliases, family, summary, hyperparameters, ...)."""
    return _core.methods()


def sanity(model, x, methods=("saliency", "gradcam"), mode="cascading", layers=0, seed=0,
           smooth=0, **params):
    """Adebayo et al.'s model-parameter randomisation test on one image [1, C, H, W].

    Returns a dict: cls (the class explained), methods, steps, each with the layer re-drawn, the
    maps [H, W] and their similarity (spearman, spearman_abs, ssim, hog) to the trained model's
    maps, and complexity_rise (efficient MPRT: the entropy of each method's last map over its
    first's). smooth=N makes every map the mean over N noisy copies (smooth MPRT).
    """
    array, _ = _as_input(x)
    names = [methods] if isinstance(methods, str) else list(methods)
    with tempfile.TemporaryDirectory() as folder:
        text = {k: _param_text(k, v, folder) for k, v in params.items()}
        return _core.sanity(model._core, array, names, mode, layers, seed, smooth, text)


def set_threads(threads=0):
    """Runs whitebox on `threads` cores (0: all), on LibTorch's thread pool."""
    _core.set_threads(threads)
