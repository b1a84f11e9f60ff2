#!/usr/bin/env python3
"""Explains a torchvision classifier with five methods and draws them in a grid.

    PYTHONPATH=build/python python3 examples/python/explain_torchvision.py \
        [--model resnet18] [--image models/images/chelsea.png] [--out grid.png]

Without downloaded weights the model's weights are random (torchvision's initialisation): the
maps then show what an untrained network looks at. Pass --weights FILE for a state dict.
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

import whitebox  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ["saliency", "integrated-gradients", "lrp", "gradcam", "scorecam"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet18", help="a torchvision.models name")
    parser.add_argument("--weights", help="a state dict for the model")
    parser.add_argument("--image", default=os.path.join(HERE, "..", "..", "models", "images", "chelsea.png"))
    parser.add_argument("--out", default="grid.png")
    args = parser.parse_args()

    module = getattr(torchvision.models, args.model)(weights=None)
    if args.weights:
        module.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model = whitebox.Model.from_torch(module, torch.zeros(1, 3, 224, 224), preprocessing="imagenet")
    x, picture = whitebox.preprocess(whitebox.read_image(args.image), model)
    maps = model.explain(torch.from_numpy(x), METHODS, steps=16)
    top = model.predict(x, top=1)[0][0]

    figure, axes = plt.subplots(1, len(METHODS) + 1, figsize=(3 * (len(METHODS) + 1), 3.3))
    axes[0].imshow(picture)
    axes[0].set_title(f"class {top['class']}, p={top['probability']:.2f}")
    for axis, name in zip(axes[1:], METHODS):
        axis.imshow(whitebox.overlay(picture, maps[name]))
        axis.set_title(name)
    for axis in axes:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(args.out, dpi=80)
    print(args.out)


if __name__ == "__main__":
    main()
