#!/usr/bin/python3
"""Reference LRP relevances for the whitebox C++ tests, in plain PyTorch (float64).

Usage: /usr/bin/python3 tests/reference/lrp.py FIXTURES [--only CASE,...] [--force]

For vgg16_bn, resnet18 and mobilenet_v2, the seeded torch model is rebuilt with make_fixtures'
construction, its Conv -> BatchNorm pairs are folded (as the engine folds them) and relevance is
propagated layer by layer by hand over the known architecture: every Conv / Linear by its rule,
written term by term as in Zennit's rules (the generalized gamma and z+ of Andeol et al. 2021),
each W^T s by torch's input gradient of the modified layer; ReLU, ReLU6 and Dropout pass
relevance unchanged; residual sums split it by the inputs' shares; max pooling routes it to the
winner (or proportionally to the window's inputs); average pooling is LRP-0. The "zennit"
configurations follow Zennit's conventions: biases in every z, relevance 1 at the target, every
denominator stabilised by 1e-6. Written to the case folder: ref_lrp_<name>.npy ([1, 3, H, W], <f8),
ref_lrp.json (method and params of each, and how many signed inputs and negative residual
branches the rules met) and the marker ref_lrp_done. For vgg16_bn and resnet18, concept relevance
too: each channel's relevance at one hidden layer and the input relevance with the relevance at
that layer kept at one channel (ref_crp.json, ref_crp.npy).

Independent of the C++ code: the layer structure comes from the torch modules, not the graph.
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

CASES = ["vgg16_bn", "resnet18", "mobilenet_v2"]
MARKER = "ref_lrp_done"
VERSION = "8"
MEAN = [0.485, 0.456, 0.406]   # imagenet preprocessing: the fixtures have no sidecar
STD = [0.229, 0.224, 0.225]
ZENNIT_EPS = 1e-6

PRESETS = {
    "epsilon-plus": {"conv": ("zplus",), "dense": ("epsilon", 1e-6)},
    "epsilon-plus-flat": {"conv": ("zplus",), "dense": ("epsilon", 1e-6), "first": ("flat",)},
    "epsilon-gamma-box": {"conv": ("gamma", 0.25), "dense": ("epsilon", 1e-6), "first": ("zb",)},
    "epsilon-alpha2-beta1": {"conv": ("alphabeta", 2.0, 1.0), "dense": ("epsilon", 1e-6)},
    "epsilon-alpha2-beta1-flat": {"conv": ("alphabeta", 2.0, 1.0), "dense": ("epsilon", 1e-6),
                                  "first": ("flat",)},
    "lrp-0": {"conv": ("0",), "dense": ("0",)},
    "lrp-epsilon": {"conv": ("epsilon", 1e-6), "dense": ("epsilon", 1e-6)},
    "deep-taylor": {"conv": ("zplus",), "dense": ("zplus",), "first": ("zb",)},
    "excitation": {"conv": ("zplus",), "dense": ("zplus",)},
}

# name -> (C++ method, C++ params, preset, convention, maxpool, extra mapping), where the
# convention is (bias, initial relevance, stabilizer, residual sum stabilizer).
# LRP-0 / epsilon with biases ignored are left out: on a network with biases their z (without
# the bias) nearly cancels at many units, the relevances grow to ~1e8 with opposite signs, and
# no two implementations agree beyond roundoff there. lrp-0 and lrp-epsilon absorb by default.
WHITEBOX = ("ignore", "logit", 0.0, 0.0)
ABSORB = ("absorb", "logit", 0.0, 0.0)
ZENNIT = ("absorb", "one", ZENNIT_EPS, ZENNIT_EPS)
CONFIGS = {
    "lrp0": ("lrp-0", {}, "lrp-0", ABSORB, "winner", {}),
    "lrp0_proportional": ("lrp-0", {"maxpool": "proportional"}, "lrp-0", ABSORB, "proportional", {}),
    "epsilon": ("lrp-epsilon", {}, "lrp-epsilon", ABSORB, "winner", {}),
    "epsilon_plus": ("lrp-epsilon-plus", {}, "epsilon-plus", WHITEBOX, "winner", {}),
    "epsilon_plus_absorb": ("lrp-epsilon-plus", {"bias": "absorb"}, "epsilon-plus", ABSORB,
                            "winner", {}),
    "epsilon_plus_flat": ("lrp", {}, "epsilon-plus-flat", WHITEBOX, "winner", {}),
    "epsilon_gamma_box": ("lrp-epsilon-gamma-box", {}, "epsilon-gamma-box", WHITEBOX, "winner", {}),
    "epsilon_gamma_box_absorb": ("lrp-epsilon-gamma-box", {"bias": "absorb"}, "epsilon-gamma-box",
                                 ABSORB, "winner", {}),
    "gamma_stabilized": ("lrp", {"rule": "conv=gamma:0.5", "stabilizer": "0.001"},
                         "epsilon-plus-flat", ("ignore", "logit", 1e-3, 0.0), "winner",
                         {"conv": ("gamma", 0.5)}),
    "epsilon_alpha2_beta1": ("lrp-epsilon-alpha2-beta1", {}, "epsilon-alpha2-beta1", WHITEBOX,
                             "winner", {}),
    "epsilon_alpha2_beta1_absorb": ("lrp-epsilon-alpha2-beta1", {"bias": "absorb"},
                                    "epsilon-alpha2-beta1", ABSORB, "winner", {}),
    "epsilon_alpha2_beta1_flat": ("lrp-epsilon-alpha2-beta1-flat", {}, "epsilon-alpha2-beta1-flat",
                                  WHITEBOX, "winner", {}),
    "deep_taylor": ("deep-taylor", {}, "deep-taylor", WHITEBOX, "winner", {}),
    "deep_taylor_proportional": ("deep-taylor", {"maxpool": "proportional"}, "deep-taylor",
                                 WHITEBOX, "proportional", {}),
    "wsquare_first": ("lrp", {"rule": "first=wsquare;last=epsilon:0.01"}, "epsilon-plus-flat",
                      WHITEBOX, "winner", {"first": ("wsquare",), "last": ("epsilon", 0.01)}),
}
# Zennit's composites of the same names, under its conventions.
for _name, _method in [("epsilon_plus", "lrp-epsilon-plus"), ("epsilon_plus_flat", "lrp"),
                       ("epsilon_gamma_box", "lrp-epsilon-gamma-box"),
                       ("epsilon_alpha2_beta1", "lrp-epsilon-alpha2-beta1"),
                       ("epsilon_alpha2_beta1_flat", "lrp-epsilon-alpha2-beta1-flat")]:
    CONFIGS["zennit_" + _name] = (_method, {"convention": "zennit"}, CONFIGS[_name][2], ZENNIT,
                                  "winner", {})


def stabilize(z, eps):
    """z + eps sign(z), sign(0) = +1."""
    return z + eps * torch.where(z >= 0, 1.0, -1.0).to(z.dtype)


def safe_div(r, z, eps=0.0):
    """r / stabilize(z, eps); with eps = 0, r / z where z != 0 and 0 where z = 0."""
    if eps > 0:
        return r / stabilize(z, eps)
    return torch.where(z == 0, torch.zeros_like(z), r / torch.where(z == 0, torch.ones_like(z), z))


def transpose(fn, x, w, s):
    """W^T s for the linear map fn(., w) (no bias): fn's own `transpose` where it has one (a
    convolution's input gradient, without the forward autograd would run first), else autograd."""
    if hasattr(fn, "transpose"):
        return fn.transpose(w, s)
    xx = torch.zeros_like(x).requires_grad_(True)
    with torch.enable_grad():
        y = fn(xx, w, None)
        (c,) = torch.autograd.grad(y, xx, s)
    return c


def conv_map(m, shape):
    """F.conv2d with m's geometry, with its transpose for inputs of `shape`."""
    def fn(inp, w, b):
        return F.conv2d(inp, w, b, m.stride, m.padding, m.dilation, m.groups)
    fn.transpose = lambda w, s: torch.nn.grad.conv2d_input(shape, w, s, m.stride, m.padding,
                                                           m.dilation, m.groups)
    return fn


def dense_map(inp, w, b):
    return F.linear(inp, w, b)


dense_map.transpose = lambda w, s: s @ w


class Census:
    """What the rules met: layers with signed inputs, residual branches with negative parts."""
    def __init__(self):
        self.signed_inputs = 0
        self.negative_branches = 0


def linear_rule(rule, fn, x, w, b, r, absorb, stab, census=None):
    """R_in for a layer y = fn(x, w, b) under `rule` (a tuple: name, params...)."""
    name = rule[0]
    b = b if absorb and b is not None else None

    def part(bias, clamp):   # the bias's part in a term, when absorbed
        if bias is None:
            return None
        return bias if clamp is None else bias.clamp(**clamp)
    pos, neg = w.clamp(min=0), w.clamp(max=0)
    signed = bool((x < 0).any())
    if census is not None and name in ("gamma", "zplus", "alphabeta") and signed:
        census.signed_inputs += 1
    # x = x+ + x-; a part that is zero (x- after a ReLU) contributes nothing and is skipped.
    xp, xn = x.clamp(min=0), (x.clamp(max=0) if signed else None)

    def forward(inp, weight, bias=None):  # fn(inp, weight, bias), 0 for a skipped part
        return 0 if inp is None else fn(inp, weight, bias)

    def back(inp, weight, s):             # inp (.) W^T s, 0 for a skipped part
        return 0 if inp is None else inp * transpose(fn, x, weight, s)
    if name in ("0", "epsilon"):
        s = safe_div(r, fn(x, w, b), rule[1] if name == "epsilon" else stab)
        return x * transpose(fn, x, w, s)
    if name == "gamma":
        g = rule[1]
        wgp, wgn = w + g * pos, w + g * neg
        zx = fn(x, w, b)
        zpos = forward(xp, wgp, None if b is None else b + g * b.clamp(min=0)) + forward(xn, wgn)
        zneg = forward(xp, wgn, None if b is None else b + g * b.clamp(max=0)) + forward(xn, wgp)
        sp = torch.where(zx > 0, r / stabilize(zpos, stab), torch.zeros_like(zx))
        sn = torch.where(zx < 0, r / stabilize(zneg, stab), torch.zeros_like(zx))
        return back(xp, wgp, sp) + back(xp, wgn, sn) + back(xn, wgn, sp) + back(xn, wgp, sn)
    if name in ("zplus", "alphabeta"):
        alpha, beta = (1.0, 0.0) if name == "zplus" else (rule[1], rule[2])
        zp = forward(xp, pos, part(b, {"min": 0})) + forward(xn, neg)
        sp = safe_div(r, zp, stab)
        rp = back(xp, pos, sp) + back(xn, neg, sp)
        if beta == 0:
            return alpha * rp
        zn = forward(xp, neg, part(b, {"max": 0})) + forward(xn, pos)
        sn = safe_div(r, zn, stab)
        return alpha * rp - beta * (back(xp, neg, sn) + back(xn, pos, sn))
    if name == "zb":
        lo, hi = bounds(x.dtype)
        lo, hi = lo.expand_as(x), hi.expand_as(x)
        z = fn(x, w, None) - fn(lo, pos, None) - fn(hi, neg, None)   # no bias: the root point
        s = safe_div(r, z, stab)
        return x * transpose(fn, x, w, s) - lo * transpose(fn, x, pos, s) - hi * transpose(fn, x, neg, s)
    if name in ("wsquare", "flat"):
        wm = w * w if name == "wsquare" else torch.ones_like(w)
        s = safe_div(r, fn(torch.ones_like(x), wm, None), stab)
        return transpose(fn, x, wm, s)
    raise KeyError(name)


class Lrp:
    def __init__(self, preset, convention, maxpool, extra, first, last):
        self.mapping = dict(PRESETS[preset])
        self.mapping.update(extra)
        bias, _initial, self.stab, self.sum_eps = convention
        self.absorb = bias == "absorb"
        self.maxpool = maxpool
        self.first, self.last = first, last
        self.census = Census()
        # Concept relevance: the relevance at the output of module `layer` (`seen`), kept at
        # `channels` only when they are given.
        self.layer, self.channels, self.seen = None, None, None
        # Neuron LRP: (module, relevance) put in at the output of `module` in place of what
        # arrives there (nothing: the sweep starts with zero relevance at the logits).
        self.source = None

    def at(self, module, r):
        """The relevance arriving at `module`'s output, conditioned when it is the layer."""
        if self.source is not None and module is self.source[0]:
            return self.source[1]
        if module is not self.layer:
            return r
        self.seen = r
        if self.channels is None:
            return r
        mask = torch.zeros_like(r)
        mask[:, self.channels] = 1
        return r * mask

    def rule(self, module, kind):
        if module is self.first and "first" in self.mapping:
            return self.mapping["first"]
        if module is self.last and "last" in self.mapping:
            return self.mapping["last"]
        return self.mapping[kind]

    def conv(self, m, x, r):
        return linear_rule(self.rule(m, "conv"), conv_map(m, x.shape), x, m.weight, m.bias, r,
                           self.absorb, self.stab, self.census)

    def dense(self, m, x, r):
        return linear_rule(self.rule(m, "dense"), dense_map, x, m.weight, m.bias, r, self.absorb,
                           self.stab, self.census)

    def residual(self, branch, short, r):
        """Shares of the residual sum branch + short."""
        s = safe_div(r, branch + short, self.sum_eps)
        if bool(((branch < 0) & (s != 0)).any()):
            self.census.negative_branches += 1
        return branch * s, short * s

    def max_pool(self, m, x, r):
        if self.maxpool == "winner":
            xx = x.detach().requires_grad_(True)
            with torch.enable_grad():
                (c,) = torch.autograd.grad(m(xx), xx, r)
            return c
        k, s, p = m.kernel_size, m.stride, m.padding

        def fn(inp, w, b):   # window sums, padded zeros included
            return F.avg_pool2d(inp, k, s, p, count_include_pad=True, divisor_override=1)
        return linear_rule(("0",), fn, x, torch.ones(1, dtype=x.dtype), None, r, False, self.stab)

    def avg_pool(self, fn, x, r):
        return linear_rule(("0",), lambda inp, w, b: fn(inp), x, torch.ones(1, dtype=x.dtype),
                           None, r, False, self.stab)


PASS_THROUGH = (nn.ReLU, nn.ReLU6, nn.Dropout, nn.Identity, nn.BatchNorm2d)


def sequential_relevance(layers, x, r, lrp):
    """Relevance through a chain of layers (BatchNorm2d folded into the conv before it: its
    forward is the identity)."""
    acts = [x]
    for layer in layers:
        acts.append(layer(acts[-1]))
    for i in reversed(range(len(layers))):
        layer, inp = layers[i], acts[i]
        r = lrp.at(layer, r)
        if isinstance(layer, nn.Conv2d):
            r = lrp.conv(layer, inp, r)
        elif isinstance(layer, nn.Linear):
            r = lrp.dense(layer, inp, r)
        elif isinstance(layer, nn.MaxPool2d):
            r = lrp.max_pool(layer, inp, r)
        elif isinstance(layer, nn.AdaptiveAvgPool2d):
            # VGG's pooling to 7x7 of a 7x7 map is the identity, which the engine folds away
            # (Zennit would stabilise its z: a change of 1e-6 / |z| under its conventions).
            if inp.shape != acts[i + 1].shape:
                r = lrp.avg_pool(layer, inp, r)
        elif isinstance(layer, nn.Flatten):
            r = r.reshape(inp.shape)
        elif isinstance(layer, PASS_THROUGH):
            pass
        else:
            raise TypeError(type(layer))
    return r


def leaves(module):
    """The leaf modules of nested Sequentials, in order."""
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in leaves(child)]
    return [module]


def vgg_relevance(model, x, seed, lrp):
    layers = list(model.features) + [model.avgpool, nn.Flatten()] + list(model.classifier)
    return sequential_relevance(layers, x, seed, lrp)


def resnet_relevance(model, x, seed, lrp):
    stem = model.relu(model.bn1(model.conv1(x)))
    pooled = model.maxpool(stem)
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
    inputs, h = [], pooled
    for blk in blocks:
        inputs.append(h)
        h = blk(h)
    gap = torch.flatten(model.avgpool(h), 1)
    r = lrp.dense(model.fc, gap, seed)
    r = lrp.avg_pool(model.avgpool, h, r.reshape(model.avgpool(h).shape))
    for blk, inp in zip(reversed(blocks), reversed(inputs)):
        r = lrp.at(blk, r)
        h1 = blk.relu(blk.bn1(blk.conv1(inp)))
        h2 = blk.bn2(blk.conv2(h1))
        short = blk.downsample(inp) if blk.downsample is not None else inp
        r_branch, r_short = lrp.residual(h2, short, r)   # the final ReLU passes r
        r_main = lrp.conv(blk.conv1, inp, lrp.conv(blk.conv2, h1, r_branch))
        if blk.downsample is not None:
            r_short = lrp.conv(blk.downsample[0], inp, r_short)
        r = r_main + r_short
    r = lrp.max_pool(model.maxpool, stem, r)
    return lrp.conv(model.conv1, x, r)


def mobilenet_relevance(model, x, seed, lrp):
    inputs, h = [], x
    for block in model.features:
        inputs.append(h)
        h = block(h)
    pooled = F.adaptive_avg_pool2d(h, 1)
    r = lrp.dense(model.classifier[1], torch.flatten(pooled, 1), seed)
    r = lrp.avg_pool(lambda t: F.adaptive_avg_pool2d(t, 1), h, r.reshape(pooled.shape))
    for block, inp in zip(reversed(model.features), reversed(inputs)):
        if getattr(block, "use_res_connect", False):   # linear bottleneck + the block's input
            branch = block.conv(inp)
            r_branch, r_short = lrp.residual(branch, inp, r)
            r = sequential_relevance(leaves(block.conv), inp, r_branch, lrp) + r_short
        else:
            layers = leaves(block.conv) if hasattr(block, "conv") else leaves(block)
            r = sequential_relevance(layers, inp, r, lrp)
    return r


def bounds(dtype):
    mean, std = torch.tensor(MEAN, dtype=dtype), torch.tensor(STD, dtype=dtype)
    return ((0 - mean) / std).view(1, 3, 1, 1), ((1 - mean) / std).view(1, 3, 1, 1)


def box(x):
    lo, hi = bounds(x.dtype)
    return torch.maximum(torch.minimum(x, hi), lo)


def compute(case, case_dir):
    meta = json.load(open(os.path.join(case_dir, "meta.json")))
    target = meta["target"]
    built = mf.torchvision_case(case)
    model = mf.prepare_model(built, meta["input_shape"]).double().eval()
    x = torch.from_numpy(np.load(os.path.join(case_dir, "x.npy"))).double()
    with torch.no_grad():
        expected = torch.from_numpy(np.load(os.path.join(case_dir, "logits64.npy")))
        assert torch.allclose(model(x), expected, rtol=1e-9, atol=1e-9), "rebuilt model != fixture"
    model = mf.fold_conv_batchnorm(model, x)  # a float64 model: folded in float64
    # The zB rule assumes pixels inside the box of the preprocessing: the fixture's x (randn)
    # is clamped to it for every configuration (the C++ test does the same).
    x = box(x)
    with torch.no_grad():
        logits = model(x)
        seed = torch.zeros_like(logits)
        seed[0, target] = logits[0, target]
        onehot = (seed != 0).to(seed.dtype)
        if case == "vgg16_bn":
            first, last, fn = model.features[0], model.classifier[6], vgg_relevance
        elif case == "resnet18":
            first, last, fn = model.conv1, model.fc, resnet_relevance
        else:
            first, last, fn = model.features[0][0], model.classifier[1], mobilenet_relevance
        refs = {}
        census = Census()

        def save(name, method, params, r):
            path = f"ref_lrp_{name}.npy"
            np.save(os.path.join(case_dir, path), r.numpy().astype("<f8"))
            refs[name] = {"method": method, "params": params, "attribution": path,
                          "sum": float(r.sum()), "logit": float(logits[0, target])}

        def relevance(lrp, initial):
            r = fn(model, x, initial, lrp)
            census.signed_inputs = max(census.signed_inputs, lrp.census.signed_inputs)
            census.negative_branches = max(census.negative_branches, lrp.census.negative_branches)
            return r

        for name, (method, params, preset, convention, maxpool, extra) in CONFIGS.items():
            lrp = Lrp(preset, convention, maxpool, extra, first, last)
            save(name, method, params, relevance(lrp, onehot if convention[1] == "one" else seed))
        # Excitation backprop: z+ everywhere from probability 1 at the target; the contrastive
        # variant subtracts the dual unit's, whose classifier passes the x+ w- shares.
        eb = relevance(Lrp("excitation", WHITEBOX, "winner", {}, first, last), onehot)
        dual = relevance(Lrp("excitation", WHITEBOX, "winner",
                             {"last": ("alphabeta", 0.0, -1.0)}, first, last), onehot)
        save("excitation_backprop", "excitation-backprop", {}, eb)
        save("contrastive_excitation_backprop", "contrastive-excitation-backprop", {}, eb - dual)
        if case in CONCEPT_LAYERS:
            concepts = conditional_relevance(case, case_dir, model, x, seed, first, last, fn)
        for name, method, params, r in neuron_relevance(case, model, x, seed, first, last, fn):
            save(name, method, params, r)
    if case in CONCEPT_LAYERS:
        with open(os.path.join(case_dir, "ref_crp.json"), "w") as f:
            json.dump(concepts, f, indent=1)
    with open(os.path.join(case_dir, "ref_lrp.json"), "w") as f:
        json.dump({"target": target, "references": refs,
                   "layers_with_signed_inputs": census.signed_inputs,
                   "residual_sums_with_negative_branches": census.negative_branches}, f, indent=1)
    return sorted(refs)


# Concept relevance at one layer per family: the torch module whose output it is, the graph
# value the C++ test names, and the configuration.
CONCEPT_LAYERS = {
    "vgg16_bn": (lambda m: m.features[13], "/features/features.13/MaxPool_output_0",
                 "epsilon_plus"),
    "resnet18": (lambda m: m.layer2[1], "/layer2/layer2.1/relu_1/Relu_output_0", "deep_taylor"),
}


def conditional_relevance(case, case_dir, model, x, seed, first, last, fn):
    """Each channel's relevance at the layer and the input relevance conditioned on the three
    most relevant channels, one masked sweep each: ref_crp.npy [3, 3, H, W]."""
    module, layer, name = CONCEPT_LAYERS[case]
    method, params, preset, convention, maxpool, extra = CONFIGS[name]
    lrp = Lrp(preset, convention, maxpool, extra, first, last)
    lrp.layer = module(model)
    fn(model, x, seed, lrp)
    relevance = lrp.seen.flatten(2).sum(2)[0]
    channels = [int(c) for c in torch.argsort(relevance, descending=True)[:3]]
    maps = []
    for channel in channels:
        lrp.channels = [channel]
        maps.append(fn(model, x, seed, lrp))
    np.save(os.path.join(case_dir, "ref_crp.npy"), torch.cat(maps).numpy().astype("<f8"))
    return {"layer": layer, "method": method, "params": params, "channels": channels,
            "maps": "ref_crp.npy", "relevance": [float(v) for v in relevance],
            "seed": float(seed.sum())}


# Neuron LRP at one hidden layer per family: the torch module whose output it is and the graph
# value the C++ method names.
NEURON_LAYERS = {
    "vgg16_bn": (lambda m: m.features[29], "/features/features.29/Relu_output_0"),
    "resnet18": (lambda m: m.layer2[1], "/layer2/layer2.1/relu_1/Relu_output_0"),
}


def neuron_relevance(case, model, x, seed, first, last, fn):
    """neuron-lrp from the layer's most active channel (its activation at every position, the
    default composite) and, on ResNet-18, from that channel's most active position (LRP-0,
    biases absorbed): yields (name, method, params, input relevance)."""
    if case not in NEURON_LAYERS:
        return
    module, layer = NEURON_LAYERS[case]
    module = module(model)
    values = []
    handle = module.register_forward_hook(lambda m, inputs, output: values.append(output.clone()))
    try:
        model(x)
    finally:
        handle.remove()
    a = values[0]
    channel = int(a[0].flatten(1).sum(1).argmax())
    y, z = divmod(int(a[0, channel].argmax()), a.shape[3])
    whole, one = torch.zeros_like(a), torch.zeros_like(a)
    whole[:, channel] = 1
    one[:, channel, y, z] = 1
    configs = [("neuron_lrp", f"{layer}:{channel}", "epsilon_plus_flat", whole)]
    if case == "resnet18":   # VGG's float64 sweeps cost ten times as much: one there
        configs.append(("neuron_lrp0_position", f"{layer}:{channel}:{y}:{z}", "lrp0", one))
    for name, text, config, mask in configs:
        method, params, preset, convention, maxpool, extra = CONFIGS[config]
        lrp = Lrp(preset, convention, maxpool, extra, first, last)
        lrp.source = (module, a * mask)
        params = dict(params, neuron=text)
        if method != "lrp":
            params["composite"] = preset
        if convention[0] == "absorb":
            params["bias"] = "absorb"
        yield name, "neuron-lrp", params, fn(model, x, torch.zeros_like(seed), lrp)


def main(argv):
    # One image at a time: the float64 convolutions find their threads in BLAS (float64 only, so
    # the rebuilt model is the fixture's under any threads).
    return runner.run_cases(argv, __doc__.split("\n")[0], CASES, MARKER, VERSION,
                            ["x.npy", "logits64.npy"], compute, threads=(1, 2))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
