"""whitebox.tcav: on a network built to say "red", red squares are significant and noise is not
(over the seeds 0 to 11 too, with 20 runs); folders, arrays of any layout and tensors give the
same scores; errors are Python's."""

import numpy as np
import pytest
import torch
from PIL import Image

import whitebox

SIDE = 24


class RedNet(torch.nn.Module):
    """Channel 0 of `act` fires on red pixels, channel 1 on blue ones; class 1's logit is the mean
    red response less half the blue one, class 0's its negative."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.act = torch.nn.ReLU()
        self.fc = torch.nn.Linear(4, 2)
        with torch.no_grad():
            torch.manual_seed(0)
            self.conv.weight.normal_(0, 0.05)
            self.conv.bias.zero_()
            self.conv.weight[0, :, 1, 1] = torch.tensor([1.0, -1.0, -1.0])
            self.conv.weight[1, :, 1, 1] = torch.tensor([-1.0, -1.0, 1.0])
            self.conv.bias[:2] = -0.2
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.weight[1, :2] = torch.tensor([3.0, -1.5])
            self.fc.weight[0] = -self.fc.weight[1]

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean((2, 3)))


def images(rng, count, square=False, stripes=False):
    """[N, 3, SIDE, SIDE] float32 in [0, 1], on 8 bits (as PNG files hold them)."""
    x = rng.uniform(0, 0.6, (count, SIDE, SIDE, 3))
    for image in x:
        if stripes:
            y, c = rng.integers(0, SIDE - 9, 2)
            image[y:y + 9:3, c:c + 9] = [0.1, 0.2, 1.0]
        if square:
            y, c = rng.integers(0, SIDE - 7, 2)
            image[y:y + 7, c:c + 7] = [1.0, 0.1, 0.1]
    return (np.round(x * 255) / 255).astype(np.float32).transpose(0, 3, 1, 2)


@pytest.fixture(scope="module")
def case():
    net = RedNet().eval()
    model = whitebox.Model.from_torch(net, torch.zeros(1, 3, SIDE, SIDE),
                                      labels=["other", "red"])
    model.preprocessing = {"name": "unit", "width": SIDE, "height": SIDE, "crop": 1.0}
    rng = np.random.default_rng(1)
    sets = {"square": images(rng, 24, square=True), "stripes": images(rng, 24, stripes=True),
            "noise": images(rng, 24), "random": images(rng, 48),
            "class": images(rng, 12, square=True)}
    return net, model, sets


def write_folder(folder, batch):
    folder.mkdir()
    for i, image in enumerate(batch):
        pixels = np.round(image.transpose(1, 2, 0) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    return folder


def test_the_deciding_concept_is_significant_and_noise_is_not(case):
    net, model, sets = case
    result = whitebox.tcav(model, "act", {k: sets[k] for k in ("square", "stripes", "noise")},
                           sets["random"], sets["class"], target="red", runs=20)
    assert isinstance(result, whitebox.Tcav)
    assert result.layer == "act" and result.target == 1 and result.images == 12
    assert result.examples == 6 and len(result.random_scores) == 20
    square, stripes, noise = (result[k] for k in ("square", "stripes", "noise"))
    assert square.mean == 1.0 and square.significant and square.p_value < 0.05
    # Its CAVs tell held-out squares from noise, though squares at new places less well: 6
    # examples a side for 2304 values.
    assert square.cav_accuracy > noise.cav_accuracy + 0.1 and len(square.scores) == 20
    # Blue lowers the logit: the stripes are significant the other way.
    assert stripes.mean == 0.0 and stripes.significant
    assert not noise.significant and noise.p_value > 0.05
    # The module itself names the layer as well.
    again = whitebox.tcav(model, net.act, {"square": sets["square"]}, sets["random"],
                          sets["class"], target=1, runs=20)
    assert again.layer == "act" and again["square"].scores == square.scores


def test_folders_layouts_and_tensors_give_the_same_scores(case, tmp_path):
    _, model, sets = case
    base = whitebox.tcav(model, "act", {"noise": sets["noise"]}, sets["random"], sets["class"],
                         target=1, runs=3, seed=2)
    # A channels-last view, a strided slice and a torch tensor.
    nhwc = np.ascontiguousarray(sets["noise"].transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    strided = np.repeat(sets["random"], 2, axis=3)[:, :, :, ::2]
    assert not nhwc.flags.c_contiguous and not strided.flags.c_contiguous
    for noise, random in ((nhwc, sets["random"]), (sets["noise"], strided),
                          (torch.from_numpy(sets["noise"]), torch.from_numpy(sets["random"]))):
        other = whitebox.tcav(model, "act", {"noise": noise}, random, sets["class"], target=1,
                              runs=3, seed=2)
        assert other["noise"].scores == base["noise"].scores
        assert other["noise"].cav_accuracies == base["noise"].cav_accuracies
        assert other.random_scores == base.random_scores
    # Folders of PNG files (the random pool split in two), named by the folder in a list.
    noise = write_folder(tmp_path / "noise", sets["noise"])
    halves = [write_folder(tmp_path / "random_a", sets["random"][:24]),
              write_folder(tmp_path / "random_b", sets["random"][24:])]
    cls = write_folder(tmp_path / "class", sets["class"])
    from_files = whitebox.tcav(model, "act", [noise], halves, cls, target=1, runs=3, seed=2)
    np.testing.assert_allclose(from_files["noise"].scores, base["noise"].scores, atol=1e-12)
    np.testing.assert_allclose(from_files.random_scores, base.random_scores, atol=1e-12)


def test_errors_are_pythons(case, tmp_path):
    _, model, sets = case
    concepts = {"square": sets["square"]}
    with pytest.raises(ValueError, match="runs must be >= 2"):
        whitebox.tcav(model, "act", concepts, sets["random"], sets["class"], target=1, runs=1)
    with pytest.raises(ValueError, match="no_such_layer"):
        whitebox.tcav(model, "no_such_layer", concepts, sets["random"], sets["class"], target=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images in"):
        whitebox.tcav(model, "act", {"empty": tmp_path / "empty"}, sets["random"],
                      sets["class"], target=1)
    with pytest.raises(FileNotFoundError):
        whitebox.tcav(model, "act", concepts, tmp_path / "nowhere.png", sets["class"], target=1)
    with pytest.raises(ValueError, match="concept 'few' has 3 images"):
        whitebox.tcav(model, "act", {"few": sets["square"][:3]}, sets["random"], sets["class"],
                      target=1, examples=3)
    with pytest.raises(TypeError, match="concepts"):
        whitebox.tcav(model, "act", sets["square"], sets["random"], sets["class"], target=1)
    with pytest.raises(ValueError, match="concepts names no concept"):
        whitebox.tcav(model, "act", {}, sets["random"], sets["class"], target=1)
