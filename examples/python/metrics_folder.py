#!/usr/bin/env python3
"""Scores explanation methods with whitebox.metrics over a folder of images.

    PYTHONPATH=build/python python3 examples/python/metrics_folder.py [FOLDER] \
        [--methods saliency,gradcam] [--metrics deletion,insertion,sparseness]

Prints one line per image and method, and the mean of each metric per method, with the bundled
MobileNetV2.
"""
import argparse
import os
from collections import defaultdict

import numpy as np

import whitebox

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=os.path.join(HERE, "..", "..", "models", "images"))
    parser.add_argument("--methods", default="saliency,gradcam")
    parser.add_argument("--metrics", default="deletion,insertion,sparseness")
    parser.add_argument("--steps", type=int,
                        help="curve points of deletion / insertion (default: the metrics' own)")
    args = parser.parse_args()

    model = whitebox.Model.load()
    methods, metrics = args.methods.split(","), args.metrics.split(",")
    means = defaultdict(list)
    for file in sorted(os.listdir(args.folder)):
        if os.path.splitext(file)[1].lower() not in (".png", ".jpg", ".jpeg", ".bmp"):
            continue
        x, _ = whitebox.preprocess(whitebox.read_image(os.path.join(args.folder, file)), model)
        maps = model.explain(x, methods)
        for method in methods:
            values = {}
            for metric in metrics:
                options = ({"steps": args.steps}
                           if args.steps and metric in ("deletion", "insertion") else {})
                values.update(whitebox.metrics.compute(metric, model, x[0], maps[method].map[0],
                                                      **options))
            for key, value in values.items():
                means[(method, key)].append(value)
            print(file, method, " ".join(f"{k}={v:.4f}" for k, v in values.items()))
    for (method, key), values in sorted(means.items()):
        print(f"mean {method} {key} {np.mean(values):.4f}")


if __name__ == "__main__":
    main()
