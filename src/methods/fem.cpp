// Class-agnostic CAMs: maps built from the activations alone (no gradient, no class).
#include <ATen/ATen.h>

#include <map>
#include <utility>

#include "methods/cam_common.hpp"
#include "methods/parameters.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

// Muhammad & Yeasin: the projection of the activations on their first principal direction,
// oriented by the channel-mean activation. No ReLU in the paper: the map is signed.
at::Tensor eigencam_map(const Context& c, ValueId layer) {
  const at::Tensor& A = c.trace[layer];
  return principal_projection(A, A.mean(1));
}

// KPCA-CAM (arXiv:2410.00267, 2024): the activations as hw points in R^K, centred per channel, and
// their projection on the first kernel principal component: with the kernel matrix G over the
// positions (sigmoid tanh(gamma <a, b> + 1) or RBF exp(-gamma |a - b|^2), gamma = 1 / K unless
// given), double-centred, and (lambda, u) its largest eigenpair, the map is sqrt(lambda) u, the
// sign making its largest-magnitude entry positive (as scikit-learn's KernelPCA fixes it).
at::Tensor kpcacam_map(const Context& c, ValueId layer) {
  const at::Tensor& A = c.trace[layer];
  const int64_t n = A.size(2) * A.size(3), channels = A.size(1);
  const at::Tensor points = A.flatten(2).transpose(1, 2);  // [N, hw, K]
  const at::Tensor X = points - points.mean(1, /*keepdim=*/true);
  const double given = c.params.number("gamma");
  const double gamma = given > 0 ? given : 1.0 / static_cast<double>(channels);
  const at::Tensor inner = at::bmm(X, X.transpose(1, 2));
  at::Tensor G;
  if (c.params.text("kernel") == "rbf") {
    const at::Tensor norms = inner.diagonal(0, 1, 2);
    G = at::exp(-gamma * (norms.unsqueeze(2) + norms.unsqueeze(1) - 2 * inner).clamp_min(0));
  } else {
    G = at::tanh(gamma * inner + 1.0);
  }
  const at::Tensor centred = G - G.mean(1, true) - G.mean(2, true) + G.mean({1, 2}, true);
  const auto [values, vectors] = at::linalg_eigh(centred);  // ascending
  const at::Tensor u = vectors.select(2, n - 1);            // [N, hw]
  const at::Tensor lambda = values.select(1, n - 1).clamp_min(0).unsqueeze(1);
  const at::Tensor peak = u.gather(1, std::get<1>(u.abs().max(1, true)));
  return (u * at::sqrt(lambda) * at::where(peak < 0, -1.0, 1.0))
      .view({A.size(0), A.size(2), A.size(3)});
}

// Fuad et al.: channel k's binary mask A_k > mu_k + K sigma_k (mean and population standard
// deviation over positions), weighted by mu_k, summed over channels, min-max normalised to [0, 1].
at::Tensor fem_map(const Context& c, ValueId layer) {
  const double k = c.params.number("k");
  const at::Tensor& A = c.trace[layer];
  const at::Tensor mu = A.mean({2, 3}, /*keepdim=*/true);
  const at::Tensor sigma = A.std({2, 3}, /*unbiased=*/false, /*keepdim=*/true);
  const at::Tensor mask = (A > mu + k * sigma).to(A.scalar_type());
  return minmax((mask * mu).sum(1));
}

Explanation eigencam(const Context& c) {
  Explanation e = cam_explanation(c, c.layers(), [&](ValueId layer) { return eigencam_map(c, layer); });
  e.is_signed = true;
  return e;
}

Explanation kpcacam(const Context& c) {
  Explanation e =
      cam_explanation(c, c.layers(), [&](ValueId layer) { return kpcacam_map(c, layer); });
  e.is_signed = true;
  return e;
}

Explanation fem(const Context& c) {
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return fem_map(c, layer); });
}

// Bourroux et al.: FEM at several layers, each map (already in [0, 1]) upsampled bilinearly to the
// input and fused by an equal-weight average (the paper fuses the per-layer maps; the plain mean
// is our choice of fusion). attribution holds the same average at the finest layer's resolution.
Explanation mlfem(const Context& c) {
  const auto layers = c.params.has("layers") ? cam_layers(c.model, c.trace, c.params, "layers")
                                             : stage_ends(c, "mlfem");
  return cam_explanation(c, layers, [&](ValueId layer) { return fem_map(c, layer); });
}

}  // namespace

std::vector<ValueId> stage_ends(const Context& c, const std::string& method) {
  const Graph& graph = c.model.graph();
  std::map<std::pair<int64_t, int64_t>, ValueId> last;
  for (const auto& node : graph.nodes) {
    for (ValueId v : node.outputs) {
      if (v == kNoValue) continue;
      const at::Tensor& t = c.trace[v];
      if (!t.defined() || t.dim() != 4 || !t.is_floating_point() || t.size(2) * t.size(3) <= 1)
        continue;
      if (t.size(2) == c.input.size(2) && t.size(3) == c.input.size(3)) continue;
      last[{t.size(2), t.size(3)}] = v;
    }
  }
  if (last.empty()) throw LookupError("the model has no spatial feature map for " + method);
  std::vector<ValueId> ends;
  for (auto it = last.rbegin(); it != last.rend(); ++it)
    ends.push_back(it->second);  // finest first
  return ends;
}

void add_feature_cams(std::vector<MethodInfo>& registry) {
  registry.push_back(cam_entry(
      "eigencam", {"eigen-cam"},
      "projection of the activations on their first principal component (SVD); class-agnostic, "
      "signed",
      false, false, "1 forward + 1 SVD", {layer_parameter()},
      "Muhammad, Yeasin. Eigen-CAM: Class Activation Map using Principal Components. IJCNN 2020",
      eigencam, false));
  registry.back().scheduling.trace_use = Scheduling::TraceUse::LayerValues;
  registry.push_back(cam_entry(
      "kpcacam", {"kpca-cam"},
      "projection of the activations (positions as points) on their first kernel principal "
      "component, sigmoid or RBF kernel; class-agnostic, signed",
      false, false, "1 forward + 1 eigendecomposition of an hw x hw kernel matrix",
      {layer_parameter(), choice_parameter("kernel", "sigmoid", "the kernel", {"sigmoid", "rbf"}),
       number_parameter("gamma", "0", "kernel coefficient; 0: 1 / channels", 0)},
      "KPCA-CAM: Visual Explainability of Deep Computer Vision Models using Kernel PCA. "
      "arXiv:2410.00267, 2024",
      kpcacam, false));
  registry.back().scheduling.trace_use = Scheduling::TraceUse::LayerValues;
  registry.push_back(cam_entry(
      "fem", {"feature-explanation"},
      "channels thresholded at mean + k standard deviations, weighted by their means, summed, "
      "normalised; class-agnostic",
      false, false, "1 forward",
      {layer_parameter(),
       number_parameter("k", "2", "threshold in standard deviations above each channel's mean",
                        -HUGE_VAL)},
      "Fuad, Martin, Giot, Bourqui, Domenger, Zemmari. Features Understanding in 3D CNNs for "
      "Actions Recognition in Video. IPTA 2020",
      fem, false));
  registry.back().scheduling.trace_use = Scheduling::TraceUse::LayerValues;
  registry.push_back(cam_entry(
      "mlfem", {"multi-layer-fem"},
      "FEM at the end of every resolution stage, upsampled and averaged; class-agnostic", false,
      false, "1 forward",
      {computed({"layers", "auto",
                 "comma-separated layers (default: the last value of each spatial resolution, "
                 "i.e. before each downsampling, and the final feature map)"}),
       number_parameter("k", "2", "threshold in standard deviations above each channel's mean",
                        -HUGE_VAL)},
      "Bourroux, Benois-Pineau, Bourqui, Peteri. Multi Layered Feature Explanation Method for "
      "Convolutional Neural Networks. ICPRAI 2022",
      mlfem, false));
}

}  // namespace whitebox::explainers
