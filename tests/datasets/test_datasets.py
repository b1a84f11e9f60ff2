"""Data-set runs of the whitebox CLI: list files, resuming, and MPI ranks against one process.

Run by CTest (`datasets`) with WHITEBOX_CLI set to the binary and, when the CLI has MPI compiled
in, MPIEXEC to mpirun. Uses the small bundled MobileNetV1 and the bundled photos.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import numpy
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHITEBOX = os.environ["WHITEBOX_CLI"]
MPIEXEC = os.environ.get("MPIEXEC", "")
MODEL = str(ROOT / "models" / "mobilenet_v1_0.25_128.onnx")
PHOTOS = ["bird.bmp", "cat.bmp", "chelsea.png", "coffee.png", "hot_dog.jpg", "parrot.jpg"]
# mpirun as root (CI) needs both; oversubscribing lets two ranks share fewer cores.
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
EVALUATE = ["evaluate", "--method", "saliency,gradcam,integrated-gradients", "--param", "steps=8",
            "--metric", "deletion,insertion,sparseness", "--metric-param", "steps=16"]

needs_mpi = pytest.mark.skipif(not MPIEXEC, reason="the CLI is built without MPI")


def whitebox(*args, ranks=None):
    """The command line of a run: alone, or under mpirun with `ranks` ranks."""
    command = [WHITEBOX, "--threads", "1", "--model", MODEL, *args]
    return [MPIEXEC, "-np", str(ranks), *command] if ranks else command


def run(*args, ranks=None, code=0):
    r = subprocess.run(whitebox(*args, ranks=ranks), env=ENV, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == code, r.stderr
    return r


@pytest.fixture
def data(tmp_path):
    """Six photos in pics/, and data.csv listing them, two with their true class."""
    (tmp_path / "pics").mkdir()
    for name in PHOTOS:
        shutil.copy(ROOT / "models" / "images" / name, tmp_path / "pics" / name)
    lines = ["image,target"] + [f"pics/{name}," for name in PHOTOS]
    lines[2] = "pics/cat.bmp,285"  # Egyptian cat
    lines[3] = "pics/chelsea.png,tabby"
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def outputs(folder):
    """The summary files of an evaluate run, as bytes."""
    return {name: (folder / name).read_bytes()
            for name in ["per_image.csv", "summary.csv", "results.json"]}


def ranks_of(folder, pattern):
    return {json.loads(f.read_text())["rank"] for f in folder.glob(pattern)}


def test_a_list_explains_each_image_for_its_target(data):
    run("explain", "--list", str(data / "data.csv"), "--method", "saliency",
        "--formats", "json", "--out", str(data / "out"))
    classes = {f.name: json.loads(f.read_text())["class"] for f in (data / "out").glob("*.json")}
    assert classes["pics__cat_saliency.json"] == 285
    assert classes["pics__chelsea_saliency.json"] == 281  # "tabby" names class 281
    assert len(classes) == len(PHOTOS)
    assert not list((data / "out").glob("*.png"))  # --formats json writes only JSON


@pytest.mark.parametrize("line, words", [
    ("pics/nothing.png,", "no file"),
    ("pics/cat.bmp,1,2", "3 fields, the header has 2"),
    ("pics/unlisted.bmp,no such class", "target 'no such class'"),
    ("pics/unlisted.bmp,top1", "a rank is not a class"),
    ("pics/cat.bmp,", "listed already on line 3"),
    ('"pics/cat.bmp,', "quoted field is not closed"),
])
def test_a_bad_line_is_named(data, line, words):
    shutil.copy(data / "pics" / "cat.bmp", data / "pics" / "unlisted.bmp")
    lines = (data / "data.csv").read_text().splitlines()
    lines.insert(5, line)  # line 6 of the file
    (data / "data.csv").write_text("\n".join(lines) + "\n")
    for command in (["explain", "--formats", "npy"], ["evaluate", "--metric", "sparseness"]):
        r = run(*command, "--list", str(data / "data.csv"), "--out", str(data / "out"), code=1)
        assert r.stderr.count("\n") == 1, r.stderr
        assert "data.csv line 6" in r.stderr and words in r.stderr, r.stderr
        assert not (data / "out").exists()


def test_boxes_in_a_list_feed_the_localisation_metrics(data):
    (data / "boxes.csv").write_text("image,box\npics/cat.bmp,10 20 300 200;0 0 50 50\n"
                                    "pics/coffee.png,\n")
    run("evaluate", "--list", str(data / "boxes.csv"), "--method", "saliency",
        "--metric", "pointing-game", "--out", str(data / "out"))
    values = json.loads((data / "out" / "results.json").read_text())["images"]
    assert values["pics__cat.bmp"]["saliency"]["pointing_game"] in (0, 1)
    assert values["pics__coffee.png"]["saliency"]["pointing_game"] is None  # no box, no value
    (data / "boxes.csv").write_text("image,box\npics/cat.bmp,10 20 3000 200\n")
    r = run("evaluate", "--list", str(data / "boxes.csv"), "--method", "saliency",
            "--metric", "pointing-game", "--out", str(data / "out2"), code=1)
    assert "boxes.csv line 2: a box lies outside cat.bmp (512x341)" in r.stderr, r.stderr


def test_explain_resumes(data):
    args = ["explain", str(data / "pics"), "--method", "saliency", "--formats", "npy",
            "--out", str(data / "out")]
    run(*args)
    (data / "out" / ".done" / "cat.json").unlink()
    (data / "out" / "cat_saliency.npy").unlink()
    r = run(*args)
    assert f"5 of {len(PHOTOS)} images already done" in r.stdout, r.stdout
    assert (data / "out" / "cat_saliency.npy").exists()
    # Other settings are another run: nothing is reused.
    r = run(*args[:-2], "--percentile", "90", "--out", str(data / "out"))
    assert "already done" not in r.stdout


@needs_mpi
def test_two_ranks_give_the_result_of_one_process(data):
    listed = ["--list", str(data / "data.csv")]
    run(*EVALUATE, *listed, "--out", str(data / "one"))
    two = run(*EVALUATE, *listed, "--out", str(data / "two"), ranks=2)
    assert outputs(data / "one") == outputs(data / "two")
    # Rank 0 alone reports, counting the images of both ranks up to the job's total.
    counts = [line.split()[1] for line in two.stderr.splitlines() if line.startswith("evaluate ")]
    assert counts and counts[-1] == f"{len(PHOTOS)}/{len(PHOTOS)}", two.stderr
    assert all(c.endswith(f"/{len(PHOTOS)}") for c in counts), two.stderr
    assert ranks_of(data / "two" / "images", "*.json") == {0, 1}  # both ranks took images

    explain = ["explain", *listed, "--method", "saliency,gradcam", "--formats", "npy"]
    run(*explain, "--out", str(data / "maps_one"))
    run(*explain, "--out", str(data / "maps_two"), ranks=2)
    for one in (data / "maps_one").glob("*.npy"):
        assert one.read_bytes() == (data / "maps_two" / one.name).read_bytes(), one.name
    # Which ranks took these six quick images depends on how fast rank 1 starts (rank 0 may take
    # them all on a busy machine); evaluate's heavier images above show both ranks at work.
    assert ranks_of(data / "maps_two" / ".done", "*.json") <= {0, 1}


DATASET = ["evaluate", "--method", "saliency,gradcam", "--metric",
           "sufficiency,consistency,focus,mege", "--metric-param", f"models={MODEL}",
           "--metric-param", "top=1", "--metric-param", "threshold=0.8"]


def local_shares(observations, applies):
    """Per image: the share of the others that `applies` to it predicted as it (None if none)."""
    predictions = [o[0] for o in observations]
    shares = []
    for i, own in enumerate(predictions):
        others = [j for j in range(len(predictions)) if j != i and applies(i, j)]
        shares.append(sum(predictions[j] == own for j in others) / len(others) if others else None)
    return shares


def scipy_sufficiency(observations, threshold):
    """Quantus's construction: scipy's standardised Euclidean distance over the largest one."""
    from scipy.spatial.distance import cdist
    profiles = numpy.array([o[1:] for o in observations])
    varying = profiles.var(axis=0) > 0
    distance = cdist(profiles[:, varying], profiles[:, varying], "seuclidean")
    distance /= distance.max()
    return local_shares(observations, lambda i, j: distance[i, j] <= threshold)


def top_cell_consistency(observations):
    return local_shares(observations,
                        lambda i, j: numpy.argmax(observations[i][1:]) == numpy.argmax(observations[j][1:]))


def test_metrics_over_the_data_set_are_combined_from_every_image(data):
    listed = ["--list", str(data / "data.csv")]
    run(*DATASET, *listed, "--out", str(data / "one"))
    summary = json.loads((data / "one" / "results.json").read_text())["summary"]
    for method in ["saliency", "gradcam"]:
        # MeGe and ReCo exist for the whole set only; the others are means over the images.
        assert summary[method]["mege"]["mean"] == 1.0  # the model against itself
        assert summary[method]["mege"]["std"] is None
        assert summary[method]["reco"]["mean"] is None  # no model disagrees
        assert summary[method]["focus"]["n"] == len(PHOTOS)
    # Each image's local values against scipy and numpy on the observations saved with it.
    images = json.loads((data / "one" / "results.json").read_text())["images"]
    keys = [f"pics__{name}" for name in PHOTOS]
    for method in ["saliency", "gradcam"]:
        saved = [json.loads((data / "one" / "images" / f"{key}.json").read_text())
                 ["observations"][method] for key in keys]
        assert len(saved[0]["consistency"]) == 1 + 7 * 7
        for metric, expected in [
                ("sufficiency", scipy_sufficiency([o["sufficiency"] for o in saved], 0.8)),
                ("consistency", top_cell_consistency([o["consistency"] for o in saved]))]:
            actual = [images[key][method][metric] for key in keys]
            assert actual == pytest.approx(expected, abs=1e-12), (method, metric)
        assert any(images[key][method]["sufficiency"] is not None for key in keys)
    # Resumed: the observations saved with each image are combined again, to the same summary.
    before = outputs(data / "one")
    r = run(*DATASET, *listed, "--out", str(data / "one"))
    assert f"{len(PHOTOS)} of {len(PHOTOS)} images reused" in r.stdout
    assert outputs(data / "one") == before
    if MPIEXEC:
        run(*DATASET, *listed, "--out", str(data / "two"), ranks=2)
        assert outputs(data / "two") == before


def rank_process(rank, folder):
    """The pid of MPI rank `rank` of a whitebox run writing into `folder`."""
    for proc in pathlib.Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if (f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ and WHITEBOX.encode() in command
                and str(folder).encode() in command):
            return int(proc.name)
    return None


@needs_mpi
def test_a_run_killed_midway_resumes_with_another_number_of_ranks(data):
    # 24 images, so that the run is still going when one of its ranks is killed.
    names = [f"pics/{copy}_{name}" for copy in range(4) for name in PHOTOS]
    for name in names:
        shutil.copy(data / "pics" / name.split("_", 1)[1], data / name)
    (data / "many.csv").write_text("image\n" + "\n".join(names) + "\n")
    listed = ["--list", str(data / "many.csv")]
    run(*EVALUATE, *listed, "--out", str(data / "reference"))
    out = data / "out"
    job = subprocess.Popen(whitebox(*EVALUATE, *listed, "--out", str(out), ranks=2), env=ENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while len(list((out / "images").glob("*.json"))) < 2 and time.time() < deadline:
            time.sleep(0.05)
        victim = rank_process(1, out)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        assert job.wait(timeout=120) != 0
    finally:
        if job.poll() is None:
            job.kill()
    done = len(list((out / "images").glob("*.json")))
    assert 2 <= done < len(names), done
    assert not (out / "summary.csv").exists()
    r = run(*EVALUATE, *listed, "--out", str(out))
    assert f"{done} of {len(names)} images reused" in r.stdout, r.stdout
    assert outputs(out) == outputs(data / "reference")
