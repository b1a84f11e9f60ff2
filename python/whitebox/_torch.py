"""PyTorch modules as whitebox models: the ONNX export, and layers named in PyTorch's words.

torch.onnx names each node after the chain of modules that ran it ("/layer4/layer4.1/relu_1/Relu"
for ResNet's layer4[1].relu, called a second time), so the nodes of a module are those under its
scope, and its output is the last value of that scope that the rest of the graph reads.
"""

import os
import re
import tempfile
import weakref

from ._inputs import closest


def export(module, example_input, path, opset):
    import torch
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, example_input, path, opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              do_constant_folding=True)
    finally:
        module.train(was_training)


def _scope_level(qualified):
    """The scope name torch.onnx gives a module: its dotted name from the last non-numeric part
    on ("layer4.1" stays, "layer4.1.conv1" is "conv1")."""
    parts = qualified.split(".")
    for i in range(len(parts) - 1, -1, -1):
        if not parts[i].isdigit():
            return ".".join(parts[i:])
    return qualified


def _scope_pattern(qualified, names):
    chain = [".".join(qualified.split(".")[:i + 1]) for i in range(qualified.count(".") + 1)]
    levels = [_scope_level(q) for q in chain if q in names]
    # A module called more than once gets "_1", "_2", ... after its scope name.
    return re.compile("^/" + "".join(re.escape(level) + r"(?:_\d+)?/" for level in levels))


def module_outputs(module, nodes, graph_outputs=()):
    """Dotted module name -> the graph value of that module's output, for every module of
    `module` that kept nodes of its own in the graph `nodes` (the core's Model.nodes)."""
    names = {name for name, _ in module.named_modules() if name}
    position = {}
    for index, node in enumerate(nodes):
        for value in node["inputs"]:
            position.setdefault(value, []).append(index)
    result = {}
    for name in names:
        pattern = _scope_pattern(name, names)
        inside = [i for i, node in enumerate(nodes) if pattern.match(node["name"])]
        if not inside:
            continue
        members = set(inside)
        for i in reversed(inside):
            leaving = [v for v in nodes[i]["outputs"]
                       if v in graph_outputs or any(j not in members for j in position.get(v, []))]
            if leaving:
                result[name] = leaving[0]
                break
    return result


class Layers:
    """The layer names of a model exported from PyTorch: modules and dotted names map to graph
    values; anything else (a graph value or node name) passes through to the core."""

    def __init__(self, module, core):
        self._names = {id(m): name for name, m in module.named_modules() if name}
        self._modules = weakref.WeakValueDictionary(
            {name: m for name, m in module.named_modules() if name})
        self._all = set(self._names.values())
        self._outputs = module_outputs(module, core.nodes)
        self._types = {name: type(m).__name__ for name, m in module.named_modules() if name}

    def value(self, layer):
        if isinstance(layer, str):
            if layer in self._outputs:
                return self._outputs[layer]
            if layer in self._all:
                raise ValueError(
                    f"layer {layer!r} ({self._types[layer]}) has no node of its own in the "
                    f"exported graph (torch.onnx folded it into the layer before it, as a "
                    f"BatchNorm into its convolution): name that layer instead")
            return layer
        name = self._names.get(id(layer))
        if name is None or self._modules.get(name) is not layer:
            raise ValueError(f"layer: this {type(layer).__name__} is not a submodule of the "
                             f"exported model")
        return self.value(name)

    def name_of(self, value):
        """The outermost module whose output a graph value is ("layer4" rather than
        "layer4.1.relu"), else the value's own name."""
        owners = [name for name, v in self._outputs.items() if v == value]
        return min(owners, key=len) if owners else value

    def unknown_hint(self, layer):
        return closest(layer, self._all) if isinstance(layer, str) else ""


def from_torch(module, example_input, opset, load):
    """Exports `module` to ONNX in a temporary folder and loads it with `load(path)`."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        export(module, example_input, path, opset)
        return load(path)
