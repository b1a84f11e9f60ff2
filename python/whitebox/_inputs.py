"""What the public calls accept, turned into what the compiled core reads.

Images come as file paths, PIL images, uint8 pictures ([H, W, 3], or [3, H, W] as torchvision
reads them) or model-ready float arrays and tensors ([C, H, W] or [N, C, H, W]) of any layout:
the core copies what it cannot read in place and keeps every array alive while it reads it.
A wrong type raises TypeError naming the argument and what it takes; a wrong value ValueError.
"""

import contextlib
import difflib
import os
import sys
import tempfile

import numpy as np

from . import _whitebox as _core

IMAGES = ("an image file path, a PIL image, a uint8 picture [H, W, 3], a float array or tensor "
          "[C, H, W] or [N, C, H, W], or a list of these")
TARGET = ("None (each image's top class), a class index, a label, 'topK', or a list of indices "
          "and labels, one per image")


def is_torch(value):
    """Whether value is a torch tensor (torch is imported where one exists)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def is_module(value):
    """Whether value is a torch.nn.Module (torch is imported where one exists)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def is_pil(value):
    """Whether value is a PIL image (without importing PIL)."""
    return any(c.__name__ == "Image" and c.__module__.startswith("PIL.")
               for c in type(value).__mro__)


def type_error(name, takes, value):
    return TypeError(f"{name} must be {takes}, not {type(value).__name__}")


def check_type(value, name, types, takes):
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise type_error(name, takes, value)
    return value


def closest(word, choices):
    """' (did you mean a, b?)' for the choices nearest a misspelt word, else ''."""
    near = difflib.get_close_matches(str(word), list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def as_numpy(value, name, takes):
    """A NumPy view of an array or tensor, strides and all (the core copies what it must): a
    tensor of any device and gradient state, float16 and bfloat16 read as float32."""
    if is_torch(value):
        import torch
        value = value.detach()
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()
        if value.is_complex():
            raise ValueError(f"{name} must be real, not a {value.dtype} tensor")
        return value.cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype == np.float16:
            return value.astype(np.float32)
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (int, float, np.number, list, tuple)) for v in value):
        return np.asarray(value, dtype=np.float32)
    raise type_error(name, takes, value)


class Like:
    """How results go back: NumPy arrays, or torch tensors on the input's device."""

    def __init__(self, value=None):
        self.device = value.device if is_torch(value) else None

    def __call__(self, array):
        if self.device is None:
            return array
        import torch
        tensor = torch.from_numpy(array)
        return tensor if self.device.type == "cpu" else tensor.to(self.device)


def read_picture(path, name):
    if not isinstance(path, (str, os.PathLike)):
        raise type_error(name, "an image file path", path)
    return _core.read_image(os.fspath(path))


def picture(value, name):
    """A uint8 RGB picture [H, W, 3] from a path, a PIL image or a uint8 array, else None."""
    if isinstance(value, (str, os.PathLike)):
        return read_picture(value, name)
    if is_pil(value):
        return np.ascontiguousarray(np.asarray(value.convert("RGB")))
    if is_torch(value) or isinstance(value, np.ndarray):
        if str(value.dtype) not in ("uint8", "torch.uint8"):
            return None
        array = as_numpy(value, name, IMAGES)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        elif array.ndim == 3 and array.shape[2] not in (3, 4) and array.shape[0] in (3, 4):
            array = array.transpose(1, 2, 0)  # [C, H, W] as torchvision reads pictures
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise ValueError(f"{name}: a uint8 array is a picture [H, W, 3] (or [H, W] grey, "
                             f"[3, H, W]), not shape {list(array.shape)}")
        return np.ascontiguousarray(array[:, :, :3])
    return None


def model_input(x, model, name="x"):
    """(batch [N, C, H, W] float, Like) from anything IMAGES lists; pictures are preprocessed
    with the model's preprocessing, as the command line does."""
    if isinstance(x, (list, tuple)) and x and not isinstance(x[0], (int, float, np.number)):
        parts = [model_input(item, model, f"{name}[{i}]") for i, item in enumerate(x)]
        shapes = {p[0].shape[1:] for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"{name}: the images have different shapes {sorted(shapes)}")
        return np.concatenate([p[0] for p in parts]), parts[0][1]
    rgb = picture(x, name)
    if rgb is not None:
        return _core.preprocess(rgb, model)[0], Like()
    array = as_numpy(x, name, IMAGES)
    if array.dtype.kind not in "f":
        raise ValueError(f"{name}: a {array.dtype} array is neither a uint8 picture nor a float "
                         f"model input; convert it with .astype(np.float32)")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"{name} must have shape [C, H, W] or [N, C, H, W], not "
                         f"{list(array.shape)}")
    return array, Like(x)


def float_array(value, name, ndim, shape_text, dtype=np.float32):
    """An array of `ndim` dimensions (one fewer: a batch of one added) from an array or tensor."""
    array = as_numpy(value, name, f"an array or tensor {shape_text}")
    if array.ndim == ndim - 1:
        array = array[None]
    if array.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_text}, not {list(array.shape)}")
    return array.astype(dtype, copy=False) if array.dtype != dtype else array


def method_names(methods, name="methods"):
    """A list of names from a name, "a,b" or a list of names (methods or metrics)."""
    if isinstance(methods, str):
        names = [m.strip() for m in methods.split(",") if m.strip()]
    elif isinstance(methods, (list, tuple)) and all(isinstance(m, str) for m in methods):
        names = [n.strip() for m in methods for n in m.split(",") if n.strip()]
    else:
        raise type_error(name, "a name, 'a,b', or a list of names", methods)
    if not names:
        raise ValueError(f"{name} names nothing")
    return names


def label_index(label, labels, name):
    text = label.strip()
    if text.isdigit():
        return int(text)
    if text in labels:
        return labels.index(text)
    lowered = [l.lower() for l in labels]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    raise ValueError(f"{name}: no class labelled {label!r}{closest(label, labels)}")


def targets(target, count, labels, name="target"):
    """None, a text target for the core ('top3', a label), or one class index per image."""
    if target is None:
        return None
    if is_torch(target) or isinstance(target, np.ndarray):
        target = as_numpy(target, name, TARGET).reshape(-1).tolist()
    if isinstance(target, str):
        return target
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        target = [int(target)]
    if not isinstance(target, (list, tuple)):
        raise type_error(name, TARGET, target)
    classes = []
    for i, t in enumerate(target):
        if isinstance(t, str):
            classes.append(label_index(t, labels, f"{name}[{i}]"))
        elif isinstance(t, (int, np.integer, float, np.floating)) and not isinstance(t, bool) \
                and float(t) == int(t):
            classes.append(int(t))
        else:
            raise type_error(f"{name}[{i}]", "a class index or a label", t)
    if len(classes) == 1:
        classes *= count
    if len(classes) != count:
        raise ValueError(f"{name}: {len(classes)} targets for {count} images")
    return classes


def channel_list(value, name):
    """Channel indices: a list (or array, tensor) of integers."""
    if is_torch(value) or isinstance(value, np.ndarray):
        value = as_numpy(value, name, "a list of channel indices").reshape(-1).tolist()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in value):
        raise type_error(name, "a list of channel indices", value)
    return [int(c) for c in value]


def channel_choice(channels, top):
    """The core's (channels, top) for concepts' channels=None | "all" | [indices]."""
    check_type(top, "top", (int, np.integer), "a number of channels >= 0")
    if channels is None:
        return [], int(top)
    if isinstance(channels, str):
        if channels != "all":
            raise ValueError(f"channels: None, 'all' or a list of indices, not {channels!r}")
        return [], 0
    return channel_list(channels, "channels"), int(top)


def param_text(name, value, folder):
    """An option as the engine's parameter text; an array (a baseline) goes to a .npy file in
    `folder`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return ",".join(str(v) for v in value)
    if is_torch(value) or isinstance(value, np.ndarray):
        array = as_numpy(value, name, "an array")
        if array.ndim == 3:  # one image [C, H, W]: a batch of one
            array = array[None]
        path = os.path.join(folder, f"{name}.npy")
        dtype = array.dtype if array.dtype in (np.float32, np.float64) else np.float32
        np.save(path, np.ascontiguousarray(array, dtype=dtype))
        return path
    raise TypeError(f"parameter {name} must be a number, a string, a list or an array, not "
                    f"{type(value).__name__}")


@contextlib.contextmanager
def param_texts(*options):
    """Each dict of options (or None) as the engine's parameter texts, for the duration of the
    block: the arrays among them live in a temporary folder until it ends."""
    with tempfile.TemporaryDirectory() as folder:
        yield [{k: param_text(k, v, folder) for k, v in (o or {}).items()} for o in options]
