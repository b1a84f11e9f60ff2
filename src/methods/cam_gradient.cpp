// Gradient-weighted CAMs. All read the plain gradient g = dY_c/dA of the target logit Y_c at the
// layer's activations A [N, K, h, w], so one shared sweep (Context::gradient) serves all of them.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "methods/arguments.hpp"
#include "methods/cam_common.hpp"
#include "methods/parameters.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

using GradientMap = at::Tensor (*)(const Context&, const at::Tensor& A, const at::Tensor& g);

Explanation gradient_cam(const Context& c, GradientMap map) {
  const auto layers = c.layers();
  c.prepare_gradients(layers);
  return cam_explanation(c, layers, [&](ValueId layer) { return map(c, c.trace[layer], c.gradient(layer)); });
}

// Selvaraju et al.: relu(sum_k mean_ij(g_kij) A_k).
at::Tensor gradcam_map(const Context& c, const at::Tensor& A, const at::Tensor& g) {
  return rectified_channel_sum(c, g.mean({2, 3}, /*keepdim=*/true) * A);
}

// Grad-CAM++ (Chattopadhay et al., eq. 19) for the exponential score S = exp(Y):
//   dS/dA = S g,  d2S/dA2 = S g^2,  d3S/dA3 = S g^3
// where the network downstream of A is taken as piecewise linear (d2Y/dA2 = 0, exact for ReLU /
// max-pool heads and for GAP + linear). The S factors cancel in the closed-form alphas:
//   alpha_kij = g_kij^2 / (2 g_kij^2 + sum_ab A_kab g_kij^3)    (0 where the denominator is 0)
//   w_k       = sum_ij alpha_kij relu(S g_kij) = S sum_ij alpha_kij relu(g_kij)   (S > 0)
//   map       = relu(sum_k w_k A_k) = S relu(sum_k (sum_ij alpha_kij relu(g_kij)) A_k)
// S = exp(Y_c) per image is applied last, so it only overflows when the map itself would.
// alpha_kij of Grad-CAM++ (below), [N, K, h, w].
at::Tensor gradcampp_alpha(const at::Tensor& A, const at::Tensor& g) {
  const at::Tensor g2 = g * g;
  const at::Tensor denominator = 2 * g2 + A.sum({2, 3}, /*keepdim=*/true) * g2 * g;
  const at::Tensor nonzero = denominator != 0;
  return at::where(nonzero, g2 / at::where(nonzero, denominator, at::ones_like(denominator)),
                   at::zeros_like(g2));
}

at::Tensor gradcampp_map(const Context& c, const at::Tensor& A, const at::Tensor& g) {
  const at::Tensor weights = (gradcampp_alpha(A, g) * at::relu(g)).sum({2, 3});
  const at::Tensor logits = c.trace[c.model.output()];
  const at::Tensor index = at::tensor(c.classes, at::kLong).to(logits.device()).unsqueeze(1);
  const at::Tensor score = logits.gather(1, index).squeeze(1).exp().view({-1, 1, 1});
  return rectified_channel_sum(c, weights.unsqueeze(2).unsqueeze(3) * A) * score;
}

// Smooth Grad-CAM++ (Omeiza et al. 2019, as torchcam computes it): Grad-CAM++'s channel weights
// averaged over `samples` noisy copies x + sigma eps, sigma = noise (max x - min x) (drawn as
// SmoothGrad draws them), each copy's alphas from its own A and g; the weights then weigh the
// noise-free A:
//   w_k = (1/S) sum_s sum_ij alpha^s_kij relu(g^s_kij),   map = relu(sum_k w_k A_k)
// (without Grad-CAM++'s positive factor exp(Y), which only scales the map).
Explanation smoothgradcampp(const Context& c) {
  const double noise = c.params.number("noise");
  const int64_t samples = c.params.integer("samples");
  at::Generator generator = seeded_generator(c.params);
  const at::Tensor& x = c.input;
  const at::Tensor flat = x.flatten(1);
  const at::Tensor sigma = noise * (std::get<0>(flat.max(1)) - std::get<0>(flat.min(1)));
  std::vector<at::Tensor> copies;
  for (int64_t k = 0; k < x.size(0) * samples; ++k) {
    const int64_t i = k / samples;
    copies.push_back(x[i] +
                     sigma[i] * at::randn(x[i].sizes(), generator, at::kFloat).to(x.options()));
  }
  const auto layers = c.layers();
  const Context noisy(c.model, at::stack(copies), repeat_each(c.classes, samples), c.params,
                      c.trace_options);
  noisy.prepare_gradients(layers);
  Explanation e = cam_explanation(c, layers, [&](ValueId layer) {
    const at::Tensor &As = noisy.trace[layer], &gs = noisy.gradient(layer);
    const at::Tensor weights =
        (gradcampp_alpha(As, gs) * at::relu(gs)).sum({2, 3}).view({x.size(0), samples, -1}).mean(1);
    return rectified_channel_sum(c, weights.unsqueeze(2).unsqueeze(3) * c.trace[layer]);
  });
  e.stats["sigma"] = sigma[0].item<double>();
  return e;
}

// Draelos & Carin: the element-wise product g * A summed over channels (no spatial averaging of
// the gradient), then the same ReLU as Grad-CAM to keep the evidence for the class.
at::Tensor hirescam_map(const Context& c, const at::Tensor& A, const at::Tensor& g) {
  return rectified_channel_sum(c, g * A);
}

// pytorch-grad-cam's element-wise Grad-CAM: the positive part of g * A, channel by channel,
// summed (HiResCAM takes the ReLU after the sum instead).
at::Tensor gradcam_elementwise_map(const Context& c, const at::Tensor& A, const at::Tensor& g) {
  return rectified_channel_sum(c, at::relu(g * A));
}

// EigenGrad-CAM: Eigen-CAM's projection of P = g * A, its sign chosen to make the map correlate
// positively with sum_k P_k (HiResCAM's map before its ReLU: the evidence for the class).
at::Tensor eigengradcam_map(const Context&, const at::Tensor& A, const at::Tensor& g) {
  const at::Tensor P = g * A;
  return principal_projection(P, P.sum(1));
}

// Fu et al.: w_k = sum_ij (A_kij / sum_ab A_kab) g_kij (0 for a channel summing to 0), then
// relu(sum_k w_k A_k).
at::Tensor xgradcam_map(const Context& c, const at::Tensor& A, const at::Tensor& g) {
  const at::Tensor total = A.sum({2, 3}, /*keepdim=*/true);
  const at::Tensor safe = at::where(total != 0, total, at::ones_like(total));
  const at::Tensor weights = (A / safe * g * (total != 0)).sum({2, 3}, /*keepdim=*/true);
  return rectified_channel_sum(c, weights * A);
}

// Jiang et al.: relu(sum_k relu(g_kij) A_kij), position-wise weights.
at::Tensor layercam_map(const Context& c, const at::Tensor& A, const at::Tensor& g) {
  return rectified_channel_sum(c, at::relu(g) * A);
}

// Seg-Eigen-CAM (Chung & Ying 2025): P = |g| * A, centred per channel over the positions,
// projected on its first right singular vector; the sign makes the larger extreme positive
// (flipped when |min| > |max|, the paper's eq. 13).
at::Tensor segeigencam_map(const Context&, const at::Tensor& A, const at::Tensor& g) {
  const at::Tensor P = g.abs() * A;
  const at::Tensor centred = P - P.mean({2, 3}, /*keepdim=*/true);
  const at::Tensor projection = principal_projection(centred, at::Tensor()).flatten(1);
  const at::Tensor flip =
      std::get<0>(projection.min(1, true)).abs() > std::get<0>(projection.max(1, true)).abs();
  return at::where(flip, -projection, projection).view({P.size(0), P.size(2), P.size(3)});
}

// The CAMs that Finer-CAM and Refine-CAM can wrap: those that read only A and g, in the order
// their `base` parameter lists them.
const std::vector<std::pair<std::string, GradientMap>>& base_cams() {
  static const std::vector<std::pair<std::string, GradientMap>> bases = {
      {"gradcam", gradcam_map},
      {"hirescam", hirescam_map},
      {"xgradcam", xgradcam_map},
      {"layercam", layercam_map},
      {"gradcam-elementwise", gradcam_elementwise_map}};
  return bases;
}

GradientMap finer_base(const std::string& name) {
  const std::string& method = find_method(name).name;
  for (const auto& [base, map] : base_cams()) {
    if (base == method) return map;
  }
  throw ArgumentError("'" + name + "' is not a base CAM");  // the choice check forbids it
}

std::vector<std::string> base_cam_names() {
  std::vector<std::string> names;
  for (const auto& base : base_cams()) names.push_back(base.first);
  return names;
}

// Finer-CAM's score for image n, as pytorch-grad-cam's FinerWeightedTarget writes it: with J the
// `compare` classes whose logits lie closest to the target's z_c (ties: lower index first),
// p = softmax(z) and d_j = z_c - alpha z_j,
//   T = N / D,  N = sum_{j in J} p_j d_j,  D = sum_{j in J} p_j + 1e-9 = m + 1e-9,
// and its gradient dT/dz (the softmax weights differentiated too, dp_j/dz_k = p_j ([j = k] - p_k))
// is the seed of the backward sweep:
//   dN/dz_k = [k in J] p_k (d_k - alpha) - p_k N + [k = c] m
//   dD/dz_k = [k in J] p_k - p_k m
//   dT/dz_k = (dN/dz_k D - N dD/dz_k) / D^2
at::Tensor finer_seed(const at::Tensor& output, const std::vector<int64_t>& classes, double alpha,
                      int64_t compare) {
  const at::Tensor z = output.reshape({output.size(0), -1}).to(at::kDouble);
  const int64_t count = z.size(1);
  if (compare < 1 || compare >= count) {
    throw ArgumentError("finercam compares with 1 to " + std::to_string(count - 1) +
                        " classes, not " + std::to_string(compare));
  }
  const at::Tensor c = at::tensor(classes, at::kLong).to(z.device()).unsqueeze(1);
  const at::Tensor zc = z.gather(1, c);
  // Distance to the target's logit, the target itself last.
  const at::Tensor distance = (z - zc).abs().scatter(1, c, HUGE_VAL);
  const at::Tensor nearest =
      std::get<1>(at::sort(distance, /*stable=*/true, /*dim=*/1, /*descending=*/false))
          .narrow(1, 0, compare);
  const at::Tensor in_j = at::zeros_like(z).scatter(1, nearest, 1.0);
  const at::Tensor is_c = at::zeros_like(z).scatter(1, c, 1.0);
  const at::Tensor p = at::softmax(z, 1);
  const at::Tensor d = zc - alpha * z;
  const at::Tensor mass = (in_j * p).sum(1, true);
  const at::Tensor N = (in_j * p * d).sum(1, true), D = mass + 1e-9;
  const at::Tensor dN = in_j * p * (d - alpha) - p * N + is_c * mass;
  const at::Tensor dD = in_j * p - p * mass;
  return ((dN * D - N * dD) / (D * D)).to(output.scalar_type()).view(output.sizes());
}

Explanation finercam(const Context& c) {
  const GradientMap base = finer_base(c.params.text("base"));
  const at::Tensor& output = c.trace[c.model.output()];
  const at::Tensor seed =
      finer_seed(output, c.classes, c.params.number("alpha"), c.params.integer("compare"));
  const auto layers = c.layers();
  const std::vector<at::Tensor> grads = c.model.sweep(c.trace, {{c.model.output(), seed}}, layers);
  return cam_explanation(c, layers, [&](ValueId layer) {
    const size_t i = std::find(layers.begin(), layers.end(), layer) - layers.begin();
    return base(c, c.trace[layer], grads[i]);
  });
}

// Shapley-CAM (Cai, arXiv:2501.06261): each channel's weight is the second-order Taylor
// estimate of its Shapley value for the score S,
//   w_k = mean_ij (g - 1/2 H A)_kij,   map = relu(sum_k w_k A_k),
// with g = dS/dA and H A the Hessian-vector product with the activations themselves
// (Model::hessian_vector_product). S is ReST (params score=rest, the paper's): the logit plus
// its log-softmax, z_c + log p_c; with score=logit, S = z_c, whose Hessian vanishes on a
// piecewise-linear head, which makes Shapley-CAM Grad-CAM there.
Explanation shapleycam(const Context& c) {
  const bool rest = c.params.text("score") == "rest";
  const at::Tensor index =
      at::tensor(c.classes, at::kLong).to(c.trace[c.model.output()].device()).unsqueeze(1);
  const ScoreFunction score = [&](const at::Tensor& output) {
    const at::Tensor z = output.reshape({output.size(0), -1});
    const at::Tensor zc = z.gather(1, index).squeeze(1);
    return rest ? zc + at::log_softmax(z, 1).gather(1, index).squeeze(1) : zc;
  };
  return cam_explanation(c, c.layers(), [&](ValueId layer) {
    const at::Tensor& A = c.trace[layer];
    const Curvature d = c.model.hessian_vector_product(c.trace, layer, A, score);
    const at::Tensor weights = (d.gradient - 0.5 * d.hessian_vector).mean({2, 3}, true);
    return rectified_channel_sum(c, weights * A);
  });
}

// Refine-CAM (arXiv:2605.14641): the base CAM at several layers (params "layers", default the
// end of every resolution stage), each min-max normalised to [0, 1], resized bilinearly and
// multiplied: what survives is where every layer's evidence agrees. attribution is the product
// at the finest layer's resolution, map at the input's. The default base is LayerCAM, whose
// position-wise weights stay sharp at shallow layers (with Grad-CAM's channel averages the
// shallow factors blur the product: on the bundled MobileNetV2 the object-to-background density
// of the map falls from 2.5-11.7 to 0.9-1.3).
Explanation refinecam(const Context& c) {
  const GradientMap base = finer_base(c.params.text("base"));
  const auto layers = c.params.has("layers") ? cam_layers(c.model, c.trace, c.params, "layers")
                                             : stage_ends(c, "refinecam");
  c.prepare_gradients(layers);
  int64_t height = 0, width = 0;
  for (ValueId layer : layers) {
    const at::Tensor& A = c.trace[layer];
    if (A.size(2) * A.size(3) > height * width) height = A.size(2), width = A.size(3);
  }
  Explanation e;
  for (ValueId layer : layers) {
    const at::Tensor m = minmax(base(c, c.trace[layer], c.gradient(layer)));
    const at::Tensor fine = resize(m, height, width), full = upsample(m, c.input);
    e.attribution = e.attribution.defined() ? e.attribution * fine : fine;
    e.map = e.map.defined() ? e.map * full : full;
    e.layer += (e.layer.empty() ? "" : ",") + c.model.graph().values[layer].name;
  }
  return e;
}

Explanation gradcam(const Context& c) { return gradient_cam(c, gradcam_map); }
Explanation gradcampp(const Context& c) { return gradient_cam(c, gradcampp_map); }
Explanation hirescam(const Context& c) { return gradient_cam(c, hirescam_map); }
Explanation xgradcam(const Context& c) { return gradient_cam(c, xgradcam_map); }
Explanation layercam(const Context& c) { return gradient_cam(c, layercam_map); }
Explanation gradcam_elementwise(const Context& c) {
  return gradient_cam(c, gradcam_elementwise_map);
}
Explanation eigengradcam(const Context& c) {
  Explanation e = gradient_cam(c, eigengradcam_map);
  e.is_signed = true;
  return e;
}
Explanation segeigencam(const Context& c) {
  Explanation e = gradient_cam(c, segeigencam_map);
  e.is_signed = true;
  return e;
}

// Selvaraju et al.: guided backpropagation (from its own registry entry, so it is implemented
// once) times the upsampled Grad-CAM, pixel by pixel.
Explanation guided_gradcam(const Context& c) {
  // Each part reads the options its own entry declares, at their defaults but the layer.
  const Params cam_params = with_declared_defaults(find_method("gradcam"), c.params);
  const Explanation cam = gradcam(c.with_params(cam_params));
  const MethodInfo& backprop = find_method("guided-backprop");
  const Params backprop_params = with_declared_defaults(backprop, Params());
  const Explanation guided = backprop.run(c.with_params(backprop_params));
  Explanation e;
  e.layer = cam.layer;
  e.attribution = guided.attribution * cam.map.unsqueeze(1);
  // The channel reduction of guided backprop commutes with a non-negative per-pixel factor.
  e.map = guided.map * cam.map;
  e.is_signed = guided.is_signed;
  return e;
}

}  // namespace

void add_gradient_cams(std::vector<MethodInfo>& registry) {
  const std::string one_sweep = "1 forward + 1 backward to the layer";
  registry.push_back(cam_entry(
      "gradcam", {"grad-cam"},
      "layer activations weighted by their spatially averaged gradients, ReLU", true, true,
      one_sweep, {layer_parameter(), eigen_smooth_parameter()},
      "Selvaraju et al. Grad-CAM: Visual Explanations from Deep Networks via Gradient-based "
      "Localization. ICCV 2017",
      gradcam, true));
  registry.push_back(cam_entry(
      "gradcam++", {"gradcampp", "grad-cam++"},
      "Grad-CAM with positive gradients weighted by closed-form alphas for the score exp(Y): "
      "alpha = g^2 / (2 g^2 + sum_ab A_ab g^3), w_k = sum_ij alpha relu(exp(Y) g), "
      "relu(sum_k w_k A_k)",
      true, true, one_sweep, {layer_parameter(), eigen_smooth_parameter()},
      "Chattopadhay, Sarkar, Howlader, Balasubramanian. Grad-CAM++: Generalized Gradient-based "
      "Visual Explanations for Deep Convolutional Networks. WACV 2018",
      gradcampp, true));
  registry.push_back(cam_entry(
      "smoothgradcam++", {"smoothgradcampp", "smooth-grad-cam++"},
      "Grad-CAM++'s channel weights averaged over noisy copies of the input (each copy's alphas "
      "from its own activations and gradients), weighing the noise-free activations, ReLU",
      true, true, "1 forward + samples x (1 forward + 1 backward to the layer)",
      {layer_parameter(), eigen_smooth_parameter(),
       number_parameter("noise", "0.15",
                        "noise standard deviation, as a share of the input's range", 0),
       integer_parameter("samples", "4", "noisy copies", 1),
       integer_parameter("seed", "0", "random seed (torch.Generator().manual_seed)", 0, kMostSeed)},
      "Omeiza, Speakman, Cintas, Weldermariam. Smooth Grad-CAM++: An Enhanced Inference Level "
      "Visualization Technique for Deep Convolutional Neural Network Models. arXiv:1908.01224, "
      "2019",
      smoothgradcampp, false));
  registry.push_back(cam_entry(
      "hirescam", {"hires-cam"},
      "element-wise gradient x activation summed over channels, ReLU; equals CAM on GAP + linear "
      "heads",
      true, true, one_sweep, {layer_parameter(), eigen_smooth_parameter()},
      "Draelos, Carin. Use HiResCAM instead of Grad-CAM for faithful explanations of "
      "convolutional neural networks. arXiv:2011.08891, 2020",
      hirescam, true));
  registry.push_back(cam_entry(
      "xgradcam", {"xgrad-cam"},
      "activations weighted by the activation-weighted average of their gradients "
      "(w_k = sum_ij A_ij g_ij / sum_ab A_ab), ReLU",
      true, true, one_sweep, {layer_parameter(), eigen_smooth_parameter()},
      "Fu, Hu, Dong, Guo, Gao, Li. Axiom-based Grad-CAM: Towards Accurate Visualization and "
      "Explanation of CNNs. BMVC 2020",
      xgradcam, true));
  registry.push_back(cam_entry(
      "layercam", {"layer-cam"},
      "activations weighted position by position by their positive gradients, summed, ReLU; "
      "useful at shallow layers too",
      true, true, one_sweep, {layer_parameter(), eigen_smooth_parameter()},
      "Jiang, Zhang, Hou, Cheng, Wei. LayerCAM: Exploring Hierarchical Class Activation Maps for "
      "Localization. IEEE TIP 2021",
      layercam, true));
  registry.push_back(cam_entry(
      "gradcam-elementwise", {"grad-cam-elementwise", "gradcam-ew"},
      "the positive part of gradient x activation, element by element, summed over channels", true,
      true, one_sweep, {layer_parameter(), eigen_smooth_parameter()},
      "Gildenblat and contributors. PyTorch library for CAM methods (GradCAMElementWise). "
      "github.com/jacobgil/pytorch-grad-cam, 2021",
      gradcam_elementwise, true));
  registry.push_back(cam_entry(
      "eigengradcam", {"eigen-grad-cam", "eigengrad-cam"},
      "projection of gradient x activation on its first principal component (SVD), oriented "
      "toward the class evidence; signed",
      true, true, "1 forward + 1 backward to the layer + 1 SVD", {layer_parameter()},
      "Gildenblat and contributors. PyTorch library for CAM methods (EigenGradCAM). "
      "github.com/jacobgil/pytorch-grad-cam, 2021; after Muhammad, Yeasin. Eigen-CAM, IJCNN 2020",
      eigengradcam, true));
  registry.push_back(cam_entry(
      "segeigencam", {"seg-eigen-cam"},
      "|gradient| x activation, centred per channel, projected on its first principal component "
      "(SVD), the larger extreme made positive; signed",
      true, true, "1 forward + 1 backward to the layer + 1 SVD", {layer_parameter()},
      "Chung, Ying. Seg-Eigen-CAM: Eigen-Value-Based Visual Explanations for Semantic "
      "Segmentation Models. Applied Sciences 15(13), 2025",
      segeigencam, true));
  registry.push_back(cam_entry(
      "finercam", {"finer-cam"},
      "a gradient CAM of the target's logit against its most similar classes: the score "
      "sum_j p_j (z_c - alpha z_j) / sum_j p_j over the `compare` classes with the closest "
      "logits (p: softmax)",
      true, true, "1 forward + 1 backward to the layer",
      {layer_parameter(), eigen_smooth_parameter(),
       choice_parameter("base", "gradcam", "the CAM computed from the new score's gradient",
                        base_cam_names()),
       number_parameter("alpha", "1", "strength of the comparison", 0),
       integer_parameter("compare", "3", "most similar classes compared with", 1)},
      "Zhang, Chowdhury, Stevens, Wang, Chao, Su. Finer-CAM: Spotting the Difference Reveals "
      "Finer Details for Visual Explanation. CVPR 2025 (arXiv:2501.11309); the score as in "
      "pytorch-grad-cam",
      finercam, false));
  registry.push_back(cam_entry(
      "shapleycam", {"shapley-cam"},
      "activations weighted by the spatial mean of g - 1/2 H A (gradient and Hessian-vector "
      "product: a second-order estimate of each channel's Shapley value), ReLU",
      true, true, "1 forward + 1 forward of the head under autograd + 2 backward through it",
      {layer_parameter(), eigen_smooth_parameter(),
       choice_parameter("score", "rest",
                        "the explained score: rest (the logit plus its log-softmax, as the "
                        "paper) or logit",
                        {"rest", "logit"})},
      "Cai. CAMs as Shapley Value-based Explainers. arXiv:2501.06261, 2025; the ReST score as "
      "in pytorch-grad-cam",
      shapleycam, false));
  registry.push_back(cam_entry(
      "refinecam", {"refine-cam"},
      "the base CAM at several layers, each min-max normalised, upsampled and multiplied: only "
      "what every layer agrees on remains",
      true, true, "1 forward + 1 backward to the shallowest layer",
      {computed({"layers", "auto",
                 "comma-separated layers (default: the end of every resolution stage and the "
                 "final feature map)"}),
       eigen_smooth_parameter(),
       choice_parameter("base", "layercam", "the CAM computed at each layer", base_cam_names())},
      "Refine-CAM: per-layer class activation maps multiplied across layers. arXiv:2605.14641",
      refinecam, false));
  MethodInfo guided = cam_entry(
      "guided-gradcam", {"guided-grad-cam"},
      "guided backpropagation multiplied pixel-wise by the upsampled Grad-CAM: fine detail, class "
      "discriminative",
      true, true, "1 forward + 1 backward to the layer + 1 modified backward to the input",
      {layer_parameter()},
      "Selvaraju et al. Grad-CAM: Visual Explanations from Deep Networks via Gradient-based "
      "Localization. ICCV 2017",
      guided_gradcam, true);
  guided.resolution = Resolution::Input;
  guided.scheduling.trace_use =
      Scheduling::TraceUse::InputGradients;  // guided backprop to the input
  registry.push_back(std::move(guided));
}

}  // namespace whitebox::explainers
