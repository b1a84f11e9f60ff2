"""whitebox.serve: the viewer of `whitebox serve`, started from Python (docs/viewer.md)."""

import os

from . import _core, _inputs

_DEFAULT_PORT = 8470
_running = []  # viewers run until stop(), whether or not their caller keeps a reference


class Viewer:
    """A running viewer: open ``url`` (also ``str(viewer)``) in a browser; ``stop()`` ends it."""

    def __init__(self, core):
        self._core = core

    @property
    def url(self):
        return self._core.url

    @property
    def port(self):
        return self._core.port

    def stop(self):
        """Stops answering (computations under way are cancelled)."""
        if self in _running:
            _running.remove(self)
        self._core.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.url

    def __repr__(self):
        return f"whitebox viewer at {self.url}"

    def _repr_html_(self):
        return f'<a href="{self.url}" target="_blank">whitebox viewer at {self.url}</a>'


def serve(model=None, images=None, eval=None, port=None, host="127.0.0.1", cache_mb=256):
    """Starts the viewer of ``whitebox serve`` on threads of its own and returns at once.

    Args:
        model: a whitebox.Model (None: the bundled MobileNetV2). Layers are named as in its ONNX
            graph (``Model.layers`` lists them).
        images: a folder of images or a list file (docs/datasets.md); None: the bundled photos.
            Only these images are shown.
        eval: an output folder of ``whitebox evaluate`` or ``whitebox.evaluate(out=...)``: its
            metrics as a table.
        port: the port; None: 8470, or any free one when 8470 is taken; 0: any free one.
        host: the address to listen on; anything but 127.0.0.1 lets other machines in.
        cache_mb: memory kept for computed maps and pictures, in MiB.

    Returns:
        Viewer, with ``url`` and ``stop()``.
    """
    from . import Model  # the package's Model, defined after this module is imported

    if model is None:
        model = Model.load()
    _inputs.check_type(model, "model", Model, "a whitebox.Model or None")
    for name, value in (("images", images), ("eval", eval)):
        if value is not None:
            _inputs.check_type(value, name, (str, os.PathLike), "a folder or file path or None")
    _inputs.check_type(host, "host", str, "an address such as '127.0.0.1'")
    _inputs.check_type(cache_mb, "cache_mb", int, "a whole number of MiB")
    if cache_mb < 1:
        raise ValueError(f"cache_mb must be at least 1, not {cache_mb}")
    if port is not None:
        _inputs.check_type(port, "port", int, "a port number, 0 or None")

    def start(chosen):
        return _core.Server(model._core, os.fspath(images or ""), os.fspath(eval or ""), host,
                            chosen, cache_mb << 20)

    if port is None:
        try:
            core = start(_DEFAULT_PORT)
        except ValueError as error:
            if "cannot listen" not in str(error):
                raise
            core = start(0)
    else:
        core = start(port)
    viewer = Viewer(core)
    _running.append(viewer)
    return viewer
