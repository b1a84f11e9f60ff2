"""The scripts of examples/python run as their docstrings say (on small inputs)."""

import os
import shutil
import subprocess
import sys

import whitebox

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def run(script, *args):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", script), *args],
                            capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_explain_torchvision_draws_a_grid(tmp_path):
    out = tmp_path / "grid.png"
    assert run("explain_torchvision.py", "--model", "squeezenet1_1", "--out", str(out)).strip() == str(out)
    grid = whitebox.read_image(out)
    assert grid.shape[1] > 5 * grid.shape[0]   # six panels in a row


def test_metrics_folder_scores_every_image(tmp_path):
    for name in ("chelsea.png", "parrot.jpg"):
        shutil.copy(whitebox._whitebox.bundled_path("images/" + name), tmp_path / name)
    lines = run("metrics_folder.py", str(tmp_path), "--steps", "4").splitlines()
    assert sum(line.startswith(("chelsea.png saliency", "parrot.jpg gradcam")) for line in lines) == 2
    assert any(line.startswith("mean gradcam deletion_auc") for line in lines)
