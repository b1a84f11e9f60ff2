#!/usr/bin/python3
"""A synthetic localisation benchmark: shapes on clutter, and a small CNN that classifies them.

Each 64x64 picture shows one upright circle, square or triangle (random size, colour and position)
drawn over clutter (a colour gradient, line segments and small dots). Because the
object's pixels are known, the pointing game of an explanation method can be scored exactly.

The script is deterministic (seeded) and runs in about a minute on two CPU cores. The network
ends in global max pooling: "is there a triangle anywhere" is a maximum over positions, which it
learns in a few epochs where average pooling over the clutter does not. It writes, into
the folder given (default: beside this script):

  shapes_cnn.onnx, shapes_cnn.json   the trained classifier (opset 13) and its whitebox sidecar
  shapes_labels.txt                  the class names, one a line
  test_images.png, test_masks.png    the test set as a mosaic of 64x64 tiles, row-major, and the
                                     object masks (255 inside the object) in the same layout
  test_set.json                      tile size, columns, and per tile: label, class, box

Needs Debian's python3-torch, python3-onnx and python3-pil: run it as /usr/bin/python3.
"""
import argparse
import json
import math
import pathlib
import time

import numpy as np
import torch
from PIL import Image
from torch import nn

SIZE = 64
CLASSES = ["circle", "square", "triangle"]
TEST_PER_CLASS = 30
TEST_COLUMNS = 10


def background(rng):
    """A linear gradient between two random colours, with clutter on top."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1)
    angle = rng.uniform(0, 2 * math.pi)
    t = (np.cos(angle) * x + np.sin(angle) * y + 1.5) / 3.0
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    for _ in range(rng.integers(3, 7)):  # line segments
        x0, y0, x1, y1 = rng.uniform(-8, SIZE + 8, 4)
        width = rng.uniform(0.6, 1.6)
        # Distance of every pixel to the segment.
        dx, dy = x1 - x0, y1 - y0
        px, py = x * (SIZE - 1) - x0, y * (SIZE - 1) - y0
        s = np.clip((px * dx + py * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
        near = np.hypot(px - s * dx, py - s * dy) <= width
        image[near] = 0.4 * image[near] + 0.6 * rng.uniform(0, 255, 3)
    for _ in range(rng.integers(3, 8)):  # dots, smaller than any object
        cx, cy = rng.uniform(0, SIZE, 2)
        r = rng.uniform(1.0, 2.5)
        dot = np.hypot(x * (SIZE - 1) - cx, y * (SIZE - 1) - cy) <= r
        image[dot] = rng.uniform(0, 255, 3)
    return image


def shape_mask(kind, rng):
    """A boolean mask of one upright shape of class `kind` at a random place and size."""
    radius = rng.uniform(7.0, 11.0)
    cx, cy = rng.uniform(radius + 1, SIZE - radius - 1, 2)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    u, v = x - cx, y - cy
    if kind == "circle":
        return u * u + v * v <= radius * radius
    if kind == "square":
        half = radius / math.sqrt(2) * 1.1  # about the circle's area
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # An equilateral triangle inscribed in a circle a little larger than `radius`.
    r = radius * 1.25
    inside = np.ones_like(u, dtype=bool)
    for k in range(3):
        theta = math.pi / 2 + 2 * math.pi * k / 3  # pointing up
        # Edge k's inward normal points at the centre; the edge lies r/2 from it.
        inside &= (np.cos(theta) * u + np.sin(theta) * v) <= r / 2
    return inside


def sample(label, rng):
    image = background(rng)
    mask = shape_mask(CLASSES[label], rng)
    colour = rng.uniform(0, 255, 3)
    # Keep the object visible: push its colour away from the background's mean under it.
    under = image[mask].mean(axis=0)
    if np.abs(colour - under).sum() < 150:
        colour = np.where(under > 127, under - 120, under + 120)
    image[mask] = colour
    return np.clip(image, 0, 255).astype(np.uint8), mask


def dataset(count, rng, balanced=False):
    labels = (np.arange(count) % len(CLASSES)) if balanced else rng.integers(0, len(CLASSES), count)
    images, masks = zip(*(sample(int(label), rng) for label in labels))
    return np.stack(images), np.stack(masks), labels.astype(np.int64)


def to_input(images):
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [0, 1]: whitebox's "unit" preprocessing."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


class ShapesNet(nn.Module):
    def __init__(self):
        super().__init__()

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

        self.features = nn.Sequential(
            *block(3, 16), nn.MaxPool2d(2),
            *block(16, 32), nn.MaxPool2d(2),
            *block(32, 32), *block(32, 32))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.classifier = nn.Linear(32, len(CLASSES))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def accuracy(model, images, labels):
    model.eval()
    with torch.no_grad():
        predicted = model(to_input(images)).argmax(1).numpy()
    return float((predicted == labels).mean())


def mosaic(tiles):
    rows = math.ceil(len(tiles) / TEST_COLUMNS)
    canvas = np.zeros((rows * SIZE, TEST_COLUMNS * SIZE) + tiles.shape[3:], dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, TEST_COLUMNS)
        canvas[r * SIZE:(r + 1) * SIZE, c * SIZE:(c + 1) * SIZE] = tile
    return canvas


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default=str(pathlib.Path(__file__).resolve().parent))
    parser.add_argument("--train", type=int, default=2400, help="training pictures")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    start = time.time()
    train_x, _, train_y = dataset(args.train, np.random.default_rng(1))
    val_x, _, val_y = dataset(600, np.random.default_rng(2))
    test_x, test_masks, test_y = dataset(TEST_PER_CLASS * len(CLASSES), np.random.default_rng(3),
                                         balanced=True)

    model = ShapesNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    steps = args.epochs * math.ceil(len(train_y) / 32)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, total_steps=steps, pct_start=0.15)
    inputs, targets = to_input(train_x), torch.from_numpy(train_y)
    order = torch.Generator().manual_seed(4)
    for epoch in range(args.epochs):
        model.train()
        permutation = torch.randperm(len(targets), generator=order)
        total = 0.0
        for first in range(0, len(targets), 32):
            batch = permutation[first:first + 32]
            x = inputs[batch]
            if torch.rand(1, generator=order).item() < 0.5:  # mirror images are the same shapes
                x = x.flip(3)
            loss = nn.functional.cross_entropy(model(x), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: loss {total / len(targets):.4f}, "
              f"validation accuracy {accuracy(model, val_x, val_y):.3f} ({time.time() - start:.0f} s)")
    print(f"test accuracy {accuracy(model, test_x, test_y):.3f}")

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), str(out / "shapes_cnn.onnx"),
                      input_names=["input"], output_names=["logits"], opset_version=13,
                      do_constant_folding=True)
    (out / "shapes_cnn.json").write_text(json.dumps(
        {"preprocessing": "unit", "crop": 1.0, "labels": "shapes_labels.txt"}) + "\n")
    (out / "shapes_labels.txt").write_text("\n".join(CLASSES) + "\n")

    Image.fromarray(mosaic(test_x)).save(out / "test_images.png", optimize=True)
    Image.fromarray(mosaic(test_masks.astype(np.uint8) * 255)).save(out / "test_masks.png",
                                                                   optimize=True)
    tiles = []
    for label, mask in zip(test_y, test_masks):
        ys, xs = np.nonzero(mask)
        tiles.append({"label": CLASSES[label], "class": int(label),
                      "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]})
    (out / "test_set.json").write_text(json.dumps(
        {"tile": SIZE, "columns": TEST_COLUMNS, "classes": CLASSES, "tiles": tiles}, indent=1) + "\n")
    print(f"wrote {out} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
