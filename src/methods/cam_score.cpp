// Perturbation-weighted CAMs: each channel's weight is the model's response to an input or a
// feature map changed by that channel, evaluated in batches.
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/cam_common.hpp"
#include "methods/parameters.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

int64_t batch_size(const Context& c) {
  const int64_t batch = c.params.integer("batch", 32);
  if (batch < 1) throw ArgumentError("batch must be at least 1 (got " + std::to_string(batch) + ")");
  return batch;
}

// Wang et al.: for channel k, H_k = minmax(upsample(A_k)) masks the input; the weight is the
// softmax probability of the target class for x * H_k; map = relu(sum_k w_k A_k). The paper's
// baseline term f(X_b) is a constant shift of all weights of an image and is left out, as in the
// paper's own experiments (softmax scores as weights). With channels=k, only the k channels of
// highest spatial mean activation take part (the others weigh 0).
at::Tensor scorecam_map(const Context& c, ValueId layer) {
  const at::Tensor& A = c.trace[layer];
  const int64_t batch = batch_size(c);
  const int64_t count = c.params.integer("channels", 0);
  if (count < 0) throw ArgumentError("channels must be 0 (all) or positive");
  const int64_t K = A.size(1);
  const int64_t used = count == 0 ? K : std::min(count, K);
  std::vector<at::Tensor> maps;
  for (int64_t i = 0; i < A.size(0); ++i) {
    const at::Tensor a = A[i];  // [K, h, w]
    at::Tensor chosen = at::arange(K, at::TensorOptions().dtype(at::kLong).device(A.device()));
    if (used < K) chosen = std::get<1>(a.mean({1, 2}).topk(used));
    const at::Tensor selected = a.index_select(0, chosen);  // [k, h, w]
    const at::Tensor masks = minmax(upsample(selected, c.input));  // [k, H, W]
    std::vector<at::Tensor> weights;
    for (int64_t start = 0; start < used; start += batch) {
      const int64_t n = std::min(batch, used - start);
      const at::Tensor masked = c.input[i].unsqueeze(0) * masks.narrow(0, start, n).unsqueeze(1);
      weights.push_back(at::softmax(c.model.logits(masked), 1).select(1, c.classes[i]));
    }
    maps.push_back(at::relu(weighted_sum(at::cat(weights).unsqueeze(0), selected.unsqueeze(0))));
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
  const int64_t batch = batch_size(c);
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
  return at::relu(weighted_sum(weights, A));
}

Explanation scorecam(const Context& c) {
  return cam_explanation(c, c.layers(), [&](ValueId layer) { return scorecam_map(c, layer); });
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
      {layer_parameter(), integer_parameter("batch", "32", "masked inputs per forward pass", 1),
       integer_parameter("channels", "0",
                         "use only the k channels of highest mean activation (0: all)", 0)},
      "Wang, Wang, Du, Yang, Zhang, Ding, Mardziel, Hu. Score-CAM: Score-Weighted Visual "
      "Explanations for Convolutional Neural Networks. CVPR Workshops 2020",
      scorecam, false));
  registry.push_back(cam_entry(
      "ablationcam", {"ablation-cam"},
      "channels weighted by the relative drop (y - y_k) / y of the target logit when channel k of "
      "the layer is zeroed; gradient-free",
      true, false, "1 forward + K forwards of the part after the layer, batched",
      {layer_parameter(),
       integer_parameter("batch", "32", "ablated channels per forward pass (times the images)", 1)},
      "Desai, Ramaswamy. Ablation-CAM: Visual Explanations for Deep Convolutional Network via "
      "Gradient-free Localization. WACV 2020",
      ablationcam, false));
}

}  // namespace whitebox::explainers
