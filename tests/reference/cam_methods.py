#!/usr/bin/python3
"""Reference class-activation maps for the whitebox C++ tests, in plain PyTorch.

Usage: /usr/bin/python3 tests/reference/cam_methods.py FIXTURES [--only CASE,...] [--force]

For every case below whose fixture folder exists (made by tests/fixtures/make_fixtures.py), the
seeded torch model is rebuilt with make_fixtures' own construction, the fixture's feature module
is hooked to get A = features and g = d logits[0, target] / dA by autograd, and each CAM is
computed at layer resolution (before upsampling) in float64 from the float32 A and g.  Written
to the case folder: ref_<method>.npy ([1, h, w], <f8), ref_xgradcam64.npy (XGrad-CAM from a
float64 run) and the marker ref_cam_done, holding VERSION and a hash of the fixture: a case with
a current marker is skipped, one whose fixture was regenerated is redone.

Independent of the C++ code: the CAM head weights come from the torch module, Ablation-CAM
reruns the torch head, Score-CAM runs the torch model on masked inputs.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import make_fixtures as mf  # noqa: E402
import runner  # noqa: E402

CASES = ["resnet18", "vgg16_bn", "densenet121", "mobilenet_v2", "efficientnet_b0"]
SCORECAM_CHANNELS = 8   # Score-CAM on the top-8 channels by mean activation (C++ test: channels=8)
SAMPLES = 3             # IS-CAM's scales and SS-CAM's noisy copies (C++ test: samples=3)
SS_NOISE, SS_SEED = 0.5, 4  # SS-CAM's noise and seed (C++ test: noise=0.5, seed=4)
FEM_K = 2.0
FINER_ALPHA, FINER_COMPARE = 1.0, 3   # Finer-CAM's defaults (C++ test: the same)
SMOOTH_NOISE, SMOOTH_SAMPLES, SMOOTH_SEED = 0.5, 3, 4  # Smooth Grad-CAM++ (C++ test: noise=0.5, samples=3, seed=4)
MARKER = "ref_cam_done"
VERSION = "12"           # in the marker with the fixture's hash; another stamp means redo


def head(case, model, A):
    """The torchvision classifier applied to the feature module's output A (eval mode)."""
    if case == "resnet18":
        return model.fc(torch.flatten(model.avgpool(A), 1))
    if case == "vgg16_bn":
        return model.classifier(torch.flatten(model.avgpool(A), 1))
    if case == "densenet121":
        return model.classifier(torch.flatten(F.adaptive_avg_pool2d(F.relu(A), 1), 1))
    if case in ("mobilenet_v2",):
        return model.classifier(torch.flatten(F.adaptive_avg_pool2d(A, 1), 1))
    if case == "efficientnet_b0":
        return model.classifier(torch.flatten(model.avgpool(A), 1))
    raise KeyError(case)


def cam_input(case, A):
    """The value that the GAP + linear head pools (densenet applies a ReLU after `features`)."""
    return F.relu(A) if case == "densenet121" else A


def cam_linear(case, model):
    """The linear layer after global average pooling, or None (VGG: three layers)."""
    return {"resnet18": lambda: model.fc,
            "densenet121": lambda: model.classifier,
            "mobilenet_v2": lambda: model.classifier[1],
            "efficientnet_b0": lambda: model.classifier[1]}.get(case, lambda: None)()


def relu(t):
    return t.clamp(min=0)


def wsum(w, A):
    """sum_k w[n, k] A[n, k] -> [N, h, w]."""
    return (w[:, :, None, None] * A).sum(1)


def minmax(m):
    flat = m.flatten(1)
    lo = flat.min(1, keepdim=True).values
    rng = flat.max(1, keepdim=True).values - lo
    out = torch.where(rng > 0, (flat - lo) / torch.where(rng > 0, rng, torch.ones_like(rng)),
                      torch.zeros_like(flat))
    return out.view(m.shape)


def all_methods(case, model, feature_module, x, target):
    """Every CAM at layer resolution, in float64 arithmetic from A and g of `model`'s precision."""
    with mf.expose_features(model, feature_module) as tapped:
        logits, features = tapped(x)
        # Smooth Grad-CAM++: each noisy copy's Grad-CAM++ weights (its own A and g, without the
        # exp(Y) factor), averaged; the noise drawn as SmoothGrad draws it.
        draws = torch.Generator().manual_seed(SMOOTH_SEED)
        sigma = SMOOTH_NOISE * float(x.max() - x.min())
        smooth_weights = 0
        for _ in range(SMOOTH_SAMPLES):
            copy = x + sigma * torch.randn(x[0].shape, generator=draws).to(x.dtype)
            copy_logits, copy_features = tapped(copy)
            gs, = torch.autograd.grad(copy_logits[0, target], [copy_features])
            As, gs = copy_features.detach().double(), gs.double()
            denom = 2 * gs ** 2 + As.sum((2, 3), keepdim=True) * gs ** 3
            alpha = torch.where(denom != 0, gs ** 2 / torch.where(denom != 0, denom,
                                                                 torch.ones_like(denom)),
                                torch.zeros_like(gs))
            smooth_weights = smooth_weights + (alpha * relu(gs)).sum((2, 3)) / SMOOTH_SAMPLES
    g32, = torch.autograd.grad(logits[0, target], [features], retain_graph=True)
    # Shapley-CAM: ReST = z_c + log softmax(z)_c, its gradient at the features with the graph
    # kept, and that gradient differentiated along the features themselves: H A.
    rest = logits[0, target] + torch.log_softmax(logits[0], 0)[target]
    g_rest, = torch.autograd.grad(rest, [features], retain_graph=True, create_graph=True)
    hvp, = torch.autograd.grad(g_rest, [features], grad_outputs=features.detach(),
                               retain_graph=True)
    # Finer-CAM's score (pytorch-grad-cam's FinerWeightedTarget): the target's logit against the
    # FINER_COMPARE classes with the closest logits, weighted by their softmax probabilities
    # (which autograd differentiates too).
    z = logits[0]
    distance = (z - z[target]).abs().detach()
    nearest = [int(j) for j in torch.argsort(distance, stable=True) if int(j) != target]
    nearest = nearest[:FINER_COMPARE]
    p = torch.softmax(z, 0)
    finer = sum(p[j] * (z[target] - FINER_ALPHA * z[j]) for j in nearest) / (
        sum(p[j] for j in nearest) + 1e-9)
    gf, = torch.autograd.grad(finer, [features])
    A = features.detach().double()
    g = g32.double()
    y = float(logits[0, target])
    with torch.no_grad():
        check = head(case, model, features.detach())
    assert torch.allclose(check, logits.detach(), rtol=1e-4, atol=1e-4), "head != model"

    refs = {}
    linear = cam_linear(case, model)
    if linear is not None:
        refs["cam"] = wsum(linear.weight.detach().double()[target][None], cam_input(case, A))
    refs["gradcam"] = relu(wsum(g.mean((2, 3)), A))
    refs["finercam"] = relu(wsum(gf.double().mean((2, 3)), A))
    refs["shapleycam"] = relu(wsum((g_rest.detach().double() - 0.5 * hvp.double()).mean((2, 3)), A))
    refs["shapley_hvp"] = hvp.double()
    refs["smoothgradcam++"] = relu(wsum(smooth_weights, A))
    # eigen_smooth: Grad-CAM's weighted activations P = w_k A_k, centred per channel, projected on
    # their first right singular vector (oriented toward sum_k P_k), ReLU.
    P = (g.mean((2, 3))[:, :, None, None] * A)[0]
    M = P.flatten(1).t()
    p = (M - M.mean(0, keepdim=True)) @ torch.linalg.svd(M - M.mean(0, keepdim=True),
                                                          full_matrices=False).Vh[0]
    evidence = P.sum(0).flatten()
    if float(((p - p.mean()) * (evidence - evidence.mean())).sum()) < 0:
        p = -p
    refs["gradcam_eigen"] = relu(p).view(1, A.shape[2], A.shape[3])

    # Grad-CAM++ written with the exponential score S = exp(Y) itself (paper, eq. 19), assuming
    # the network after A is piecewise linear so that d^n S / dA^n = S g^n.
    S = np.exp(y)
    d1, d2, d3 = S * g, S * g ** 2, S * g ** 3
    denom = 2 * d2 + A.sum((2, 3), keepdim=True) * d3
    alpha = torch.where(denom != 0, d2 / torch.where(denom != 0, denom, torch.ones_like(denom)),
                        torch.zeros_like(d2))
    refs["gradcam++"] = relu(wsum((alpha * relu(d1)).sum((2, 3)), A))

    refs["hirescam"] = relu((g * A).sum(1))
    total = A.sum((2, 3), keepdim=True)
    share = torch.where(total != 0, A / torch.where(total != 0, total, torch.ones_like(total)),
                        torch.zeros_like(A))
    refs["xgradcam"] = relu(wsum((share * g).sum((2, 3)), A))
    refs["layercam"] = relu((relu(g) * A).sum(1))

    with torch.no_grad():
        # Score-CAM on the top channels by mean activation.
        a32 = features.detach()
        top = torch.topk(a32[0].mean((1, 2)), SCORECAM_CHANNELS).indices
        masks = F.interpolate(a32[:, top], size=x.shape[2:], mode="bilinear", align_corners=False)
        masks = minmax(masks[0].double()).to(x.dtype)       # [k, H, W], per channel

        def mask_scores(variant):
            return torch.softmax(model(x * variant[:, None]), 1)[:, target].double()

        scores = mask_scores(masks)
        refs["scorecam"] = relu(wsum(scores[None], A[:, top]))

        # IS-CAM: the scores of the masks scaled by j / N, j = 1..N, averaged (j = N: Score-CAM's).
        scaled = scores + sum(mask_scores(masks * (j / SAMPLES)) for j in range(1, SAMPLES))
        refs["iscam"] = relu(wsum((scaled / SAMPLES)[None], A[:, top]))
        # SS-CAM: the scores of the masks with Gaussian noise, one draw per copy, averaged.
        draws = torch.Generator().manual_seed(SS_SEED)
        noisy = sum(mask_scores(masks + SS_NOISE * torch.randn(masks.shape, generator=draws).to(masks.dtype))
                    for _ in range(SAMPLES))
        refs["sscam"] = relu(wsum((noisy / SAMPLES)[None], A[:, top]))

        # Recipro-CAM: the head's softmax score of the feature map kept around one position
        # (a 3 x 3 kernel [1 2 1]^T [1 2 1] / 16, cut at the borders), per position, min-max.
        _, _, h, w = a32.shape
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = torch.outer(kernel, kernel) / 16
        mosaics = []
        for i in range(h):
            for j in range(w):
                window = torch.zeros(h + 2, w + 2)
                window[i:i + 3, j:j + 3] = kernel
                mosaics.append(a32[0] * window[1:h + 1, 1:w + 1].to(a32.dtype))
        probabilities = torch.softmax(head(case, model, torch.stack(mosaics)), 1)[:, target]
        refs["reciprocam"] = minmax(probabilities.double().view(1, h, w))

        # Ablation-CAM: the torch head on A with one channel zeroed at a time.
        K = a32.shape[1]
        ablated = []
        for start in range(0, K, 64):
            n = min(64, K - start)
            rows = a32.repeat(n, 1, 1, 1)
            rows[torch.arange(n), start + torch.arange(n)] = 0
            ablated.append(head(case, model, rows)[:, target].double())
        yk = torch.cat(ablated)
        refs["ablationcam"] = relu(wsum(((y - yk) / y)[None], A))

    # Eigen-CAM: projection of M = A as [hw, K] on its first right singular vector.
    M = A[0].flatten(1).t()
    v = torch.linalg.svd(M, full_matrices=False).Vh[0]
    p = M @ v
    mean = A[0].mean(0).flatten()
    if float(((p - p.mean()) * (mean - mean.mean())).sum()) < 0:
        p = -p
    refs["eigencam"] = p.view(1, A.shape[2], A.shape[3])

    refs["gradcam-elementwise"] = relu(g * A).sum(1)
    # EigenGrad-CAM: the same projection for P = g * A, oriented by the class evidence sum_k P_k.
    P = (g * A)[0]
    M = P.flatten(1).t()
    v = torch.linalg.svd(M, full_matrices=False).Vh[0]
    p = M @ v
    evidence = P.sum(0).flatten()
    if float(((p - p.mean()) * (evidence - evidence.mean())).sum()) < 0:
        p = -p
    refs["eigengradcam"] = p.view(1, A.shape[2], A.shape[3])
    # Seg-Eigen-CAM: |g| * A centred per channel, the same projection, the sign that makes the
    # larger extreme positive.
    P = (g.abs() * A)[0]
    M = P.flatten(1).t()
    M = M - M.mean(0, keepdim=True)
    p = M @ torch.linalg.svd(M, full_matrices=False).Vh[0]
    if abs(float(p.min())) > abs(float(p.max())):
        p = -p
    refs["segeigencam"] = p.view(1, A.shape[2], A.shape[3])

    # KPCA-CAM: kernel PCA of the positions (rows of A as [hw, K], centred per channel) with
    # scikit-learn's conventions: gamma = 1 / K, sigmoid coef0 = 1, the doubly centred kernel
    # matrix, sqrt(lambda) u for its top eigenpair, u's largest-magnitude entry positive.
    X = A[0].flatten(1).t().numpy()
    X = X - X.mean(0, keepdims=True)
    gamma = 1.0 / X.shape[1]
    sq = (X ** 2).sum(1)
    for kernel, G in (("kpcacam", np.tanh(gamma * X @ X.T + 1.0)),
                      ("kpcacam_rbf", np.exp(-gamma * np.maximum(
                          sq[:, None] + sq[None, :] - 2 * X @ X.T, 0)))):
        n = G.shape[0]
        one = np.full((n, n), 1.0 / n)
        Gc = G - one @ G - G @ one + one @ G @ one
        values, vectors = np.linalg.eigh(Gc)
        u = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        u = u * np.sign(u[np.argmax(np.abs(u))])
        refs[kernel] = torch.from_numpy(u.copy()).view(1, A.shape[2], A.shape[3])

    # FEM: binary K-sigma masks weighted by channel means, min-max normalised.
    mu = A.mean((2, 3), keepdim=True)
    sigma = A.std((2, 3), unbiased=False, keepdim=True)
    refs["fem"] = minmax(((A > mu + FEM_K * sigma).double() * mu).sum(1))
    refs["mlfem"] = refs["fem"]    # at one layer (layers=features) MLFEM is FEM

    return refs


def fullgrad(model, x, target):
    """FullGrad as pytorch-grad-cam post-processes it: |input grad x input| and |output grad x
    bias| of every Conv2d with a bias and every BatchNorm2d (bias beta - gamma mean / sigma), each
    channel min-max scaled, resized bilinearly, summed; the total min-max scaled."""
    outputs, biases = [], []

    def keep(module, inputs, out):
        if isinstance(module, nn.Conv2d) and module.bias is not None:
            bias = module.bias
        elif isinstance(module, nn.BatchNorm2d):
            bias = module.bias - module.weight * module.running_mean / torch.sqrt(
                module.running_var + module.eps)
        else:
            return None
        out.retain_grad()
        outputs.append(out)
        biases.append(bias.detach())
        # The network goes on with a copy: an in-place ReLU (a module, or densenet's functional
        # one after its last BatchNorm) would otherwise overwrite the kept output's gradient.
        return out.clone()

    handles = [m.register_forward_hook(keep) for m in model.modules()]
    try:
        xg = x.clone().requires_grad_(True)
        model(xg)[0, target].backward()
    finally:
        for h in handles:
            h.remove()

    def psi(t):
        a = t.detach().abs().double()
        a = a - a.amin((2, 3), keepdim=True)
        a = a / (a.amax((2, 3), keepdim=True) + 1e-7)
        # Resizing is linear and the same for every channel: the channels are summed first.
        return F.interpolate(a.sum(1, keepdim=True), size=x.shape[2:], mode="bilinear",
                             align_corners=False)[:, 0]

    cam = psi(xg.grad * xg)
    for out, bias in zip(outputs, biases):
        cam = cam + psi(out.grad * bias.view(1, -1, 1, 1))
    cam = cam - cam.amin((1, 2), keepdim=True)
    return cam / (cam.amax((1, 2), keepdim=True) + 1e-7)


def compute(case, case_dir):
    meta = json.load(open(os.path.join(case_dir, "meta.json")))
    target = meta["target"]
    input_shape = meta["input_shape"]
    built = mf.torchvision_case(case)
    unfolded = mf.prepare_model(built, input_shape)
    x = torch.from_numpy(np.load(os.path.join(case_dir, "x.npy")))
    fixture_features = torch.from_numpy(np.load(os.path.join(case_dir, "features.npy")))
    # float32 on the same function as the fixture's own float32 references: BatchNorm folded into
    # Conv as the engine folds it (make_fixtures.fold_conv_batchnorm) where the fixture was made
    # so, else the model as exported. float64 always on the model as exported.
    candidates = []
    fold = getattr(mf, "fold_conv_batchnorm", None)
    if fold is not None:
        try:
            candidates.append(fold(unfolded, x))
        except Exception as err:   # reported through the mismatch below if nothing fits
            print(f"  {case}: fold_conv_batchnorm failed ({type(err).__name__}: {err})", flush=True)
    candidates.append(unfolded)
    for model in candidates:
        with mf.expose_features(model, built.feature_module) as tapped:
            logits, features = tapped(x)
        if torch.allclose(fixture_features, features.detach(), rtol=1e-4, atol=1e-5):
            break
    else:
        raise RuntimeError("no rebuilt model reproduces the fixture's features")
    refs = all_methods(case, model, built.feature_module, x, target)
    refs["fullgrad"] = fullgrad(model, x, target)
    # Also everything in float64 on the model as exported: XGrad-CAM's division by channel sums
    # is ill-conditioned where activations of both signs nearly cancel (densenet121's BatchNorm
    # `features`) and FEM's thresholds are discontinuous, so float32 roundoff may legitimately
    # move them; in float64 every method must agree.
    model64 = unfolded.double()
    for name, ref in all_methods(case, model64, built.feature_module, x.double(), target).items():
        refs[name + "64"] = ref
    refs["fullgrad64"] = fullgrad(model64, x.double(), target)

    for name, ref in refs.items():
        np.save(os.path.join(case_dir, f"ref_{name}.npy"), ref.numpy().astype("<f8"))
    return sorted(refs)


def main(argv):
    return runner.run_cases(argv, __doc__.split("\n")[0], CASES, MARKER, VERSION,
                            ["x.npy", "features.npy", "logits.npy"], compute)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
