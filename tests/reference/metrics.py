"""Reference implementations of the explanation metrics in plain NumPy, written from the papers'
definitions independently of the C++ code. The model is linear: logits = sum(W[k] * x).

Usage: metrics.py DIR. Reads DIR/*.npy (written by the C++ test), writes DIR/results.json.
"""
import json
import math
import os
import sys

import numpy as np


def load(folder, name):
    return np.load(os.path.join(folder, name + ".npy"))


class Linear:
    def __init__(self, weights):
        self.w = weights  # [K, C, H, W]

    def logits(self, x):
        return np.einsum("kchw,chw->k", self.w, x)

    def probability(self, x, cls):
        z = self.logits(x)
        e = np.exp(z - z.max())
        return e[cls] / e.sum()


def round_half_up(v):
    return int(math.floor(v + 0.5))


def order(values, descending):
    flat = values.reshape(-1)
    return np.argsort(-flat if descending else flat, kind="stable")


def gaussian_blur(image, sigma):
    radius = int(math.ceil(3 * sigma))
    k = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    out = np.empty_like(image)
    for c in range(image.shape[0]):
        padded = np.pad(image[c], radius, mode="edge")
        rows = np.array([[np.dot(padded[i, j:j + 2 * radius + 1], k)
                          for j in range(image.shape[2])] for i in range(padded.shape[0])])
        out[c] = np.array([[np.dot(rows[i:i + 2 * radius + 1, j], k)
                            for j in range(image.shape[2])] for i in range(image.shape[1])])
    return out


def substitute(image, kind, sigma=1.5):
    if kind == "blur":
        return gaussian_blur(image, sigma)
    if kind == "mean":
        return np.broadcast_to(image.mean(axis=(1, 2), keepdims=True), image.shape).copy()
    return np.zeros_like(image)


def trapezoid(x, y):
    return float(sum((x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 for i in range(1, len(x))))


def deletion_insertion(model, image, saliency, cls, steps, kind, insert):
    c, h, w = image.shape
    n = h * w
    ranked = order(saliency, True)
    base = substitute(image, kind)
    fractions, scores = [], []
    for k in range(steps + 1):
        count = round_half_up(k * n / steps)
        chosen = np.zeros(n, bool)
        chosen[ranked[:count]] = True
        chosen = chosen.reshape(h, w)
        x = np.where(chosen, image, base) if insert else np.where(chosen, base, image)
        fractions.append(count / n)
        scores.append(model.probability(x, cls))
    return trapezoid(fractions, scores)


def monotonicity(model, image, saliency, cls, steps, kind):
    """Pixels put back least relevant first (ties in row-major order): the share of steps at
    which the probability does not fall."""
    c, h, w = image.shape
    n = h * w
    ranked = order(saliency, False)
    base = substitute(image, kind)
    scores = []
    for k in range(steps + 1):
        chosen = np.zeros(n, bool)
        chosen[ranked[:round_half_up(k * n / steps)]] = True
        scores.append(model.probability(np.where(chosen.reshape(h, w), image, base), cls))
    return float(np.mean([scores[k] >= scores[k - 1] for k in range(1, steps + 1)]))


def pixel_flipping(model, image, saliency, cls, side, steps):
    c, h, w = image.shape
    rows, cols = -(-h // side), -(-w // side)
    sums = np.zeros(rows * cols)
    region = np.zeros((h, w), int)
    for i in range(h):
        for j in range(w):
            region[i, j] = (i // side) * cols + j // side
            sums[region[i, j]] += saliency[i, j]
    base = substitute(image, "mean")
    flips = min(steps, rows * cols)
    result = {}
    for name, descending in (("morf", True), ("lerf", False)):
        ranked = order(sums, descending)
        scores = []
        for k in range(flips + 1):
            flipped = np.isin(region, ranked[:k])
            scores.append(model.probability(np.where(flipped, base, image), cls))
        result["aopc_" + name] = float(np.mean([scores[0] - s for s in scores]))
        result["auc_" + name] = trapezoid([k / (rows * cols) for k in range(flips + 1)], scores)
    return result


def irof(model, image, saliency, cls, segments):
    """Segments removed (mean substitution) in decreasing order of their mean relevance (ties:
    the smaller label first); 1 - the area under p_k / p_0 over the share of segments removed."""
    labels = np.unique(segments)
    means = np.array([saliency[segments == label].mean() for label in labels])
    ranked = labels[order(means, True)]
    base = substitute(image, "mean")
    full = model.probability(image, cls)
    curve = [model.probability(np.where(np.isin(segments, ranked[:k]), base, image), cls) / full
             for k in range(labels.size + 1)]
    return 1 - trapezoid([k / labels.size for k in range(labels.size + 1)], curve)


def average_ranks(values):
    flat = np.asarray(values, float)
    ranks = np.empty(flat.size)
    ordered = np.argsort(flat, kind="stable")
    i = 0
    while i < flat.size:
        j = i
        while j + 1 < flat.size and flat[ordered[j + 1]] == flat[ordered[i]]:
            j += 1
        ranks[ordered[i:j + 1]] = (i + j) / 2
        i = j + 1
    return ranks


def region_effects(model, image, saliency, cls, side, noise, eps):
    """Nguyen & Martinez: per square region, summed |relevance| and the mean squared change of
    the probability when the region is replaced by each noise image."""
    c, h, w = image.shape
    cols = -(-w // side)
    region = np.array([[(i // side) * cols + j // side for j in range(w)] for i in range(h)])
    full = model.probability(image, cls)
    relevance, effect = [], []
    for r in range(region.max() + 1):
        inside = region == r
        relevance.append(np.abs(saliency[inside]).sum())
        effect.append(np.mean([(full - model.probability(np.where(inside, n, image), cls)) ** 2
                               for n in noise]))
    relevance, effect = np.array(relevance), np.array(effect)
    return {"monotonicity_correlation":
            float(np.corrcoef(average_ranks(relevance), average_ranks(effect))[0, 1]),
            "non_sensitivity": float(np.mean((relevance <= eps) != (effect <= eps)))}


def mufidelity(model, image, saliency, cls, cells):
    """Faithfulness correlation over grid cells: pixel (i, j) lies in cell
    (floor(i g / H), floor(j g / W)) of the g x g grid."""
    g = cells.shape[1]
    c, h, w = image.shape
    rows, cols = np.arange(h) * g // h, np.arange(w) * g // w
    subsets = np.array([cell[rows][:, cols] for cell in cells])
    base = np.zeros_like(image)
    full = model.probability(image, cls)
    relevance = [saliency[s].sum() for s in subsets]
    drops = [full - model.probability(np.where(s, base, image), cls) for s in subsets]
    return float(np.corrcoef(relevance, drops)[0, 1])


NEIGHBOURS = [((-1, -1), 1 / 12), ((-1, 0), 1 / 6), ((-1, 1), 1 / 12), ((0, -1), 1 / 6),
              ((0, 1), 1 / 6), ((1, -1), 1 / 12), ((1, 0), 1 / 6), ((1, 1), 1 / 12)]


def impute(image, removed):
    """ROAD's linear imputation: every removed pixel is the normalised weighted mean of its
    in-image neighbours; one dense linear system per channel."""
    c, h, w = image.shape
    unknown = {p: i for i, p in enumerate(zip(*np.nonzero(removed)))}
    out = image.copy()
    if not unknown:
        return out
    for ch in range(c):
        a = np.zeros((len(unknown), len(unknown)))
        b = np.zeros(len(unknown))
        for (i, j), row in unknown.items():
            a[row, row] = 1
            valid = [((i + di, j + dj), wt) for (di, dj), wt in NEIGHBOURS
                     if 0 <= i + di < h and 0 <= j + dj < w]
            total = sum(wt for _, wt in valid)
            for p, wt in valid:
                if p in unknown:
                    a[row, unknown[p]] -= wt / total
                else:
                    b[row] += wt / total * image[ch][p]
        solution = np.linalg.lstsq(a, b, rcond=None)[0]
        for (i, j), row in unknown.items():
            out[ch, i, j] = solution[row]
    return out


def road(model, image, saliency, cls, fractions, descending):
    c, h, w = image.shape
    n = h * w
    ranked = order(saliency, descending)
    xs, ys = [0.0], [model.probability(image, cls)]
    for f in fractions:
        count = round_half_up(f * n)
        removed = np.zeros(n, bool)
        removed[ranked[:count]] = True
        xs.append(count / n)
        ys.append(model.probability(impute(image, removed.reshape(h, w)), cls))
    return trapezoid(xs, ys), np.array(ys)


def faithfulness_correlation(model, image, saliency, cls, subsets):
    base = substitute(image, "mean")
    full = model.probability(image, cls)
    relevance = [saliency[s].sum() for s in subsets]
    drops = [full - model.probability(np.where(s, base, image), cls) for s in subsets]
    return float(np.corrcoef(relevance, drops)[0, 1])


def infidelity(model, image, saliency, cls, perturbations, normalize):
    full = model.logits(image)[cls]
    predicted = np.array([(p * saliency[None]).sum() for p in perturbations])
    drops = np.array([full - model.logits(image - p)[cls] for p in perturbations])
    beta = (predicted * drops).mean() / (predicted ** 2).mean() if normalize else 1.0
    return float(((beta * predicted - drops) ** 2).mean())


def pointing_game(saliency, mask, tolerance):
    i, j = np.unravel_index(np.argmax(saliency), saliency.shape)
    return float(any(math.hypot(i - a, j - b) <= tolerance for a, b in zip(*np.nonzero(mask))))


def localisation(saliency, mask):
    positive = np.clip(saliency, 0, None)
    k = int(mask.sum())
    top = order(saliency, True)[:k]
    thresholded = saliency >= 0.5 * saliency.max()
    return {
        "pointing_game": pointing_game(saliency, mask, 2.5),
        "energy_pointing_game": float(positive[mask].sum() / positive.sum()),
        "relevance_mass_accuracy": float(positive[mask].sum() / positive.sum()),
        "relevance_rank_accuracy": float(mask.reshape(-1)[top].sum() / k),
        "iou": float((thresholded & mask).sum() / (thresholded | mask).sum()),
    }


def localisation_more(saliency, mask, k):
    s, m = saliency.reshape(-1), mask.reshape(-1)
    inside, outside = s[m], s[~m]
    wins = (inside[:, None] > outside[None]).sum() + 0.5 * (inside[:, None] == outside[None]).sum()
    return {"top_k_intersection": float(m[order(saliency, True)[:k]].sum() / k),
            "localisation_auc": float(wins / (inside.size * outside.size))}


def confidence_and_completeness(model, image, saliency, cls):
    p = model.probability(image, cls)
    weights = (saliency - saliency.min()) / (saliency.max() - saliency.min())
    masked = model.probability(image * weights[None], cls)
    delta = model.logits(image)[cls] - model.logits(np.zeros_like(image))[cls]
    return {"confidence_drop": float(max(0.0, p - masked) / p),
            "confidence_increase": float(masked > p),
            "completeness_gap": float(abs(saliency.sum() - delta) / abs(delta))}


def robustness(weights, image, cls, perturbations):
    def explain(x):
        return (weights[cls] * x).sum(0) ** 2
    base = explain(image)
    changes = np.array([np.linalg.norm(explain(image + d) - base) for d in perturbations])
    relative = changes / np.linalg.norm(base)
    steps = np.array([np.linalg.norm(d) for d in perturbations])
    return {"max_sensitivity": float(relative.max()), "avg_sensitivity": float(relative.mean()),
            "local_lipschitz": float((changes / steps).max())}


def relative_stability(weights, image, perturbations, eps):
    """Agarwal et al.: largest ||(e - e') / e|| over ||(x - x') / x|| (RIS) or over the
    relative change of the logits (ROS), among perturbations that keep the predicted class."""
    def explain(x):
        return (weights[1] * x).sum(0) ** 2

    def relative(a, b):
        return np.linalg.norm(((a - b) / np.where(a == 0, eps, a)).reshape(-1))

    logits = np.einsum("kchw,chw->k", weights, image)
    ris, ros = 0.0, 0.0
    for d in perturbations:
        other = np.einsum("kchw,chw->k", weights, image + d)
        if other.argmax() != logits.argmax():
            continue
        change = relative(explain(image), explain(image + d))
        ris = max(ris, change / max(relative(image, image + d), eps))
        ros = max(ros, change / max(relative(logits, other), eps))
    return {"ris": float(ris), "ros": float(ros)}


def complexity(saliency):
    a = np.sort(np.abs(saliency).reshape(-1))
    n = a.size
    gini = sum((2 * (k + 1) - n - 1) * a[k] for k in range(n)) / (n * a.sum())
    p = a / a.sum()
    p = p[p > 0]
    return {"sparseness": float(gini), "entropy": float(-(p * np.log(p)).sum()),
            "effective_complexity": float((np.abs(saliency) > 0.3).mean())}


def distribution(m):
    m = m - m.min()
    return m / m.sum()


def agreement(saliency, reference):
    eps = np.finfo(float).eps
    p, q = distribution(reference), distribution(saliency)
    fix = reference >= 0.5 * reference.max()
    z = (saliency - saliency.mean()) / saliency.std()
    # AUC-Judd as in the MIT saliency benchmark.
    s = saliency.reshape(-1)
    at_fix = np.sort(s[fix.reshape(-1)])[::-1]
    nf, n = at_fix.size, s.size
    tp, fp = [0.0], [0.0]
    for i, t in enumerate(at_fix, 1):
        tp.append(i / nf)
        fp.append(((s >= t).sum() - i) / (n - nf))
    tp.append(1.0)
    fp.append(1.0)
    return {
        "cc": float(np.corrcoef(saliency.reshape(-1), reference.reshape(-1))[0, 1]),
        "sim": float(np.minimum(p, q).sum()),
        "kl": float((p * np.log(eps + p / (q + eps))).sum()),
        "nss": float(z[fix].mean()),
        "auc_judd": trapezoid(fp, tp),
    }


def main(folder):
    image, saliency, weights = load(folder, "image"), load(folder, "map"), load(folder, "weights")
    cls = int(load(folder, "class")[0])
    model = Linear(weights)
    results = {}
    for kind in ("blur", "mean", "zero"):
        results["deletion_" + kind] = deletion_insertion(model, image, saliency, cls, 16, kind, False)
        results["insertion_" + kind] = deletion_insertion(model, image, saliency, cls, 16, kind, True)
    results.update(pixel_flipping(model, image, saliency, cls, 3, 100))
    results["monotonicity"] = monotonicity(model, image, saliency, cls, 16, "mean")
    fractions = [0.1, 0.3, 0.5, 0.9]
    results["road_morf"], morf = road(model, image, saliency, cls, fractions, True)
    results["road_lerf"], lerf = road(model, image, saliency, cls, fractions, False)
    results["road_combined"] = float(np.mean((lerf[1:] - morf[1:]) / 2))
    results["irof"] = irof(model, image, saliency, cls, load(folder, "segments"))
    results.update(region_effects(model, image, saliency, cls, 4, load(folder, "region_noise"),
                                  0.05))
    results["mufidelity"] = mufidelity(model, image, saliency, cls,
                                       load(folder, "cells").astype(bool))
    results["faithfulness_correlation"] = faithfulness_correlation(
        model, image, saliency, cls, load(folder, "subsets").astype(bool))
    perturbations = load(folder, "perturbations")
    results["infidelity"] = infidelity(model, image, saliency, cls, perturbations, True)
    results["infidelity_raw"] = infidelity(model, image, saliency, cls, perturbations, False)
    results.update(localisation(saliency, load(folder, "mask").astype(bool)))
    results.update(localisation_more(saliency, load(folder, "mask").astype(bool), 10))
    results.update(confidence_and_completeness(model, image, saliency, cls))
    results.update(robustness(weights, image, cls, load(folder, "noise")))
    results.update(relative_stability(weights, image, load(folder, "noise"), 1e-6))
    results.update(complexity(saliency))
    results.update(agreement(saliency, load(folder, "reference")))
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
