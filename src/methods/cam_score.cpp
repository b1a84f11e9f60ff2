// Perturbation-weighted CAMs: each channel's weight is the model's response to an input or a
// feature map changed by that channel, evaluated in batches.
#include <ATen/ATen.h>

#include <algorithm>
#include <functional>

#include "methods/arguments.hpp"
#include "methods/cam_common.hpp"
#include "methods/parameters.hpp"
#include "whitebox/error.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::explainers {
namespace {

// The variants of the channels' masks [k, H, W] that a Score-CAM averages over: variant j of
// `count`.
struct MaskVariants {
  int64_t count = 1;
  std::function<at::Tensor(const at::Tensor& masks, int64_t j)> make;
};

// Wang et al.: for channel k, H_k = minmax(upsample(A_k)) masks the input; the weight is the
// softmax probability of the target class for x * H_k; map = relu(sum_k w_k A_k). The paper's
// baseline term f(X_b) is a constant shift of all weights of an image and is left out, as in the
// paper's own experiments (softmax scores as weights). With channels=k, only the k channels of
// highest spatial mean activation take part (the others weigh 0). IS-CAM and SS-CAM average the
// weight over variants of the masks (scaled, or with noise).
at::Tensor scorecam_map(const Context& c, ValueId layer, const MaskVariants& variants) {
  const at::Tensor& A = c.trace[layer];
  const int64_t batch = c.params.integer("batch");
  const int64_t count = c.params.integer("channels");
  const int64_t K = A.size(1);
  const int64_t used = count == 0 ? K : std::min(count, K);
  std::vector<at::Tensor> maps;
  plan_inputs(A.size(0) * variants.count * used);
  for (int64_t i = 0; i < A.size(0); ++i) {
    const at::Tensor a = A[i];  // [K, h, w]
    at::Tensor chosen = at::arange(K, at::TensorOptions().dtype(at::kLong).device(A.device()));
    if (used < K) chosen = std::get<1>(a.mean({1, 2}).topk(used));
    const at::Tensor selected = a.index_select(0, chosen);  // [k, h, w]
    const at::Tensor masks = minmax(upsample(selected, c.input));  // [k, H, W]
    at::Tensor weights = at::zeros({used}, A.options());
    for (int64_t j = 0; j < variants.count; ++j) {
      const at::Tensor variant = variants.make(masks, j);
      for (int64_t start = 0; start < used; start += batch) {
        const int64_t n = std::min(batch, used - start);
        const at::Tensor masked = c.input[i].unsqueeze(0) * variant.narrow(0, start, n).unsqueeze(1);
        weights.narrow(0, start, n) += at::softmax(c.model.logits(masked), 1).select(1, c.classes[i]);
        inputs_done(n);
      }
    }
    weights /= static_cast<double>(variants.count);
    maps.push_back(rectified_channel_sum(c, (weights.view({-1, 1, 1}) * selected).unsqueeze(0)));
  }
  return at::cat(maps);
}

// Desai & Ramaswamy: w_k = (y - y_k) / y, y the target logit and y_k the logit with channel k of
// the layer set to zero (the network rerun from the layer on, Model::forward_from);
// map = relu(sum_k w_k A_k). Weights are 0 for an image whose logit y is exactly 0.
// y is rerun in the batches with the y_k: a small drop y - y_k is then a difference of two
// numbers computed alike (a batch of one may take another BLAS routine).
at::Tensor ablationcam_map(const Context& c, ValueId layer) {
  const at::Tensor& A = c.trace[layer];
  const int64_t N = A.size(0), K = A.size(1);
  const int64_t batch = c.params.integer("batch");
  const at::Tensor index = at::tensor(c.classes, at::kLong).to(A.device());
  std::vector<at::Tensor> scores;  // [N, n] chunks of y, y_0, ..., y_{K-1}
  for (int64_t start = 0; start <= K; start += batch) {
    const int64_t n = std::min(batch, K + 1 - start);
    // Rows image-major: row i * n + j is image i with channel start + j - 1 zeroed (none for -1).
    const at::Tensor keep = (1 - at::eye(n, K + 1, A.options()).roll(start, 1)).narrow(1, 1, K);
    const at::Tensor replacement =
        (A.unsqueeze(1) * keep.view({1, n, K, 1, 1})).reshape({N * n, K, A.size(2), A.size(3)});
    const Trace rerun = c.model.forward_from(c.trace, layer, replacement);
    const at::Tensor& logits = rerun[c.model.output()];
    if (!logits.defined()) {
      throw ArgumentError("the logits do not depend on layer '" + c.model.graph().values[layer].name + "'");
    }
    scores.push_back(logits.reshape({N, n, -1}).gather(2, index.view({N, 1, 1}).expand({N, n, 1})).squeeze(2));
  }
  const at::Tensor all = at::cat(scores, 1);
  const at::Tensor y = all.narrow(1, 0, 1);
  const at::Tensor safe = at::where(y != 0, y, at::ones_like(y));
  const at::Tensor weights = (y - all.narrow(1, 1, K)) / safe * (y != 0);
  return rectified_channel_sum(c, weights.unsqueeze(2).unsqueeze(3) * A);
}

Explanation scorecam(const Context& c) {
  const MaskVariants plain{1, [](const at::Tensor& masks, int64_t) { return masks; }};
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return scorecam_map(c, layer, plain); });
}

// Naidu et al.: the weights integrated along the masks' scale, (1/N) sum_{j=1..N} p(x * (j/N) H_k).
Explanation iscam(const Context& c) {
  const int64_t samples = c.params.integer("samples");
  const MaskVariants scaled{samples, [samples](const at::Tensor& masks, int64_t j) {
                              return masks * (static_cast<double>(j + 1) / static_cast<double>(samples));
                            }};
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return scorecam_map(c, layer, scaled); });
}

// Wang et al. (SS-CAM): the weights averaged over masks with Gaussian noise, (1/N) sum_j
// p(x * (H_k + noise_j)). For each image and each j in turn, noise_j is one
// torch.randn((k, H, W), generator=torch.Generator().manual_seed(seed)) draw, float32 on the CPU,
// times `noise`.
Explanation sscam(const Context& c) {
  const int64_t samples = c.params.integer("samples");
  const double sigma = c.params.number("noise");
  at::Generator generator = seeded_generator(c.params);
  const MaskVariants noisy{samples, [&](const at::Tensor& masks, int64_t) {
                             return masks + sigma * at::randn(masks.sizes(), generator, at::kFloat)
                                                        .to(masks.options());
                           }};
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return scorecam_map(c, layer, noisy); });
}

// Byun & Lee (Recipro-CAM): for each position (i, j) of the layer, its feature map kept only
// around that position (A times a 3 x 3 Gaussian [1 2 1]^T [1 2 1] / 16 centred there, or the
// position alone with kernel=point) is run through the rest of the network; the map is the
// target's softmax probability per position, min-max normalised to [0, 1].
at::Tensor reciprocam_map(const Context& c, ValueId layer) {
  const at::Tensor& A = c.trace[layer];
  const int64_t N = A.size(0), K = A.size(1), h = A.size(2), w = A.size(3), positions = h * w;
  const int64_t batch = c.params.integer("batch");
  const std::string kernel = c.params.text("kernel");
  // masks[p] is position p's spatial mask [h, w].
  at::Tensor masks = at::eye(positions, A.options()).view({positions, 1, h, w});
  if (kernel == "gaussian") {
    const at::Tensor g = at::tensor(std::vector<double>{1, 2, 1}, A.options()) / 4;
    const at::Tensor gauss = (g.view({3, 1}) * g.view({1, 3})).view({1, 1, 3, 3});
    masks = at::conv2d(masks, gauss, at::Tensor(), 1, 1);
  }
  masks = masks.view({positions, h, w});
  const at::Tensor index = at::tensor(c.classes, at::kLong).to(A.device());
  std::vector<at::Tensor> scores;  // [N, n] chunks
  for (int64_t start = 0; start < positions; start += batch) {
    const int64_t n = std::min(batch, positions - start);
    const at::Tensor replacement =
        (A.unsqueeze(1) * masks.narrow(0, start, n).view({1, n, 1, h, w})).reshape({N * n, K, h, w});
    const Trace rerun = c.model.forward_from(c.trace, layer, replacement);
    const at::Tensor& logits = rerun[c.model.output()];
    if (!logits.defined()) {
      throw ArgumentError("the logits do not depend on layer '" + c.model.graph().values[layer].name + "'");
    }
    const at::Tensor p = at::softmax(logits.reshape({N * n, -1}), 1).reshape({N, n, -1});
    scores.push_back(p.gather(2, index.view({N, 1, 1}).expand({N, n, 1})).squeeze(2));
  }
  return minmax(at::cat(scores, 1).view({N, h, w}));
}

Explanation reciprocam(const Context& c) {
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return reciprocam_map(c, layer); });
}

Explanation ablationcam(const Context& c) {
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return ablationcam_map(c, layer); });
}

}  // namespace

void add_score_cams(std::vector<MethodInfo>& registry) {
  registry.push_back(cam_entry(
      "scorecam", {"score-cam"},
      "channels weighted by the target's softmax probability when the input is masked by each "
      "channel's normalised, upsampled activation; gradient-free",
      true, false, "1 + K forwards (K channels), batched",
      {layer_parameter(), eigen_smooth_parameter(),
       integer_parameter("batch", "32", "masked inputs per forward pass", 1, kMostBatch),
       integer_parameter("channels", "0",
                         "use only the k channels of highest mean activation (0: all)", 0)},
      "Wang, Wang, Du, Yang, Zhang, Ding, Mardziel, Hu. Score-CAM: Score-Weighted Visual "
      "Explanations for Convolutional Neural Networks. CVPR Workshops 2020",
      scorecam, false));
  const std::vector<Hyperparameter> score_parameters = {
      layer_parameter(), eigen_smooth_parameter(),
      integer_parameter("batch", "32", "masked inputs per forward pass", 1, kMostBatch),
      integer_parameter("channels", "0",
                        "use only the k channels of highest mean activation (0: all)", 0)};
  std::vector<Hyperparameter> integrated = score_parameters;
  integrated.push_back(integer_parameter("samples", "10", "scales j / samples of each mask, j = 1..samples", 1));
  registry.push_back(cam_entry(
      "iscam", {"is-cam", "integrated-score-cam"},
      "Score-CAM whose weights are averaged over the masks scaled from 1/N to 1 (a Riemann sum of "
      "the score along the mask's scale); gradient-free",
      true, false, "1 + samples x K forwards (K channels), batched", integrated,
      "Naidu, Ghosh, Maurya, K, Kundu. IS-CAM: Integrated Score-CAM for axiomatic-based "
      "explanations. arXiv:2010.03023, 2020",
      iscam, false));
  std::vector<Hyperparameter> smoothed = score_parameters;
  smoothed.push_back(integer_parameter("samples", "35", "noisy copies of each mask", 1));
  smoothed.push_back(number_parameter("noise", "2", "standard deviation of the Gaussian noise added to the [0, 1] masks", 0));
  smoothed.push_back(
      integer_parameter("seed", "0", "random seed (torch.Generator().manual_seed)", 0, kMostSeed));
  registry.push_back(cam_entry(
      "sscam", {"ss-cam", "smoothed-score-cam"},
      "Score-CAM whose weights are averaged over masks with Gaussian noise added; gradient-free",
      true, false, "1 + samples x K forwards (K channels), batched", smoothed,
      "Wang, Naidu, Ghosh, Kundu, et al. SS-CAM: Smoothed Score-CAM for Sharper Visual Feature "
      "Localization. arXiv:2006.14255, 2020",
      sscam, false));
  registry.push_back(cam_entry(
      "reciprocam", {"recipro-cam"},
      "the target's softmax probability when the layer's feature map is kept only around one "
      "position at a time (a 3 x 3 Gaussian window), run through the rest of the network; "
      "min-max normalised; gradient-free",
      true, false, "1 forward + h x w forwards of the part after the layer, batched",
      {layer_parameter(),
       integer_parameter("batch", "32", "positions per forward pass (times the images)", 1,
                         kMostBatch),
       choice_parameter("kernel", "gaussian",
                        "spatial mask: gaussian (3 x 3) or point (the position alone)",
                        {"gaussian", "point"})},
      "Byun, Lee. Recipro-CAM: Fast gradient-free visual explanations for convolutional neural "
      "networks. arXiv:2209.14074, 2022 (CVPR Workshops 2024)",
      reciprocam, false));
  registry.push_back(cam_entry(
      "ablationcam", {"ablation-cam"},
      "channels weighted by the relative drop (y - y_k) / y of the target logit when channel k of "
      "the layer is zeroed; gradient-free",
      true, false, "1 forward + K forwards of the part after the layer, batched",
      {layer_parameter(), eigen_smooth_parameter(),
       integer_parameter("batch", "32", "ablated channels per forward pass (times the images)", 1,
                         kMostBatch)},
      "Desai, Ramaswamy. Ablation-CAM: Visual Explanations for Deep Convolutional Network via "
      "Gradient-free Localization. WACV 2020",
      ablationcam, false));
}

}  // namespace whitebox::explainers
