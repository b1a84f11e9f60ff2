"""Builds the `whitebox` wheel with the project's CMake.

The build step configures the CMake build tree (build/, or $WHITEBOX_BUILD_DIR) when it is not
configured yet, builds only the Python module's target, and puts into the package the files CMake
lays out in <build>/python/whitebox/ (the compiled _whitebox and the .py files) and the bundled
models/ as whitebox/models. A tree already built by scripts/build.sh is reused as it is: nothing
is compiled again. The library is linked statically into the module, which needs only the system's
libraries (LibTorch, ONNX, OpenCV from Debian). Metadata are in pyproject.toml; the version is the
one of CMakeLists.txt's project() line.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / (os.environ.get("WHITEBOX_BUILD_DIR") or "build")  # an absolute path stays absolute


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"^\s*project\s*\(\s*whitebox\s+VERSION\s+([0-9]+(?:\.[0-9]+)*)", text,
                      re.MULTILINE | re.IGNORECASE)
    if not match:
        raise RuntimeError("CMakeLists.txt has no `project(whitebox VERSION x.y.z ...)` line")
    return match.group(1)


def cached(name):
    """A variable of the build tree's CMake cache, or None."""
    cache = BUILD / "CMakeCache.txt"
    if not cache.exists():
        return None
    for line in cache.read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split("=", 1)[1]
    return None


def run(command):
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True)


def cmake_build():
    """Configures (once) and builds the module's target: (<build>/python/whitebox, the module)."""
    if not (BUILD / "CMakeCache.txt").exists():
        # The module is compiled for the interpreter that installs it (the base one of a venv).
        python = getattr(sys, "_base_executable", None) or sys.executable
        run(["cmake", "-S", ROOT, "-B", BUILD, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
             f"-DWHITEBOX_PYTHON={python}"])
    try:
        run(["cmake", "--build", BUILD, "--target", "whitebox_python"])
    except subprocess.CalledProcessError:
        sys.exit(f"building whitebox_python in {BUILD} failed (above); the Python module needs "
                 "pybind11-dev and python3-dev besides the library's dependencies "
                 "(scripts/install-deps.sh)")

    package = BUILD / "python" / "whitebox"
    module = package / ("_whitebox" + sysconfig.get_config_var("EXT_SUFFIX"))
    if not module.exists():
        found = sorted(p.name for p in package.glob("_whitebox*")) or "none"
        sys.exit(
            f"{module.name}, the module for this Python ({sys.executable}), is not in {package}: "
            f"the build tree {BUILD} is configured for WHITEBOX_PYTHON="
            f"{cached('WHITEBOX_PYTHON')} (modules there: {found}). Install with that Python, or "
            "set WHITEBOX_BUILD_DIR to another folder.")
    return package, module


class BuildWithCMake(build_py):
    """build_py that takes the package from the CMake build tree."""

    def run(self):
        package, module = cmake_build()
        target = Path(self.build_lib) / "whitebox"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        # The .py files of the source package, as CMake copied them beside the module.
        for source in sorted((ROOT / "python" / "whitebox").glob("*.py")):
            shutil.copy2(package / source.name, target / source.name)
        shutil.copy2(module, target / module.name)
        shutil.copytree(ROOT / "models", target / "models")


class BinaryDistribution(Distribution):
    """A compiled module is inside: the wheel is tagged for this Python and platform."""

    def has_ext_modules(self):
        return True


(BUILD / "setuptools").mkdir(parents=True, exist_ok=True)
setup(
    version=project_version(),
    packages=["whitebox"],
    package_dir={"whitebox": "python/whitebox"},
    cmdclass={"build_py": BuildWithCMake},
    distclass=BinaryDistribution,
    zip_safe=False,
    # setuptools' own output (lib.*, bdist.*, the egg-info) in the build tree, not in the sources.
    options={"build": {"build_base": str(BUILD / "setuptools")},
             "egg_info": {"egg_base": str(BUILD / "setuptools")}},
)
