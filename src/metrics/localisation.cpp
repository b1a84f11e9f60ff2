// Localisation: how much of the map falls on the annotated object.
#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"

namespace whitebox::metrics {
namespace {

// The mask as bool on the map's device; throws on a size mismatch or an empty mask.
at::Tensor object_mask(const at::Tensor& map, const at::Tensor& mask, const std::string& metric) {
  detail::check_same_plane(map, mask, metric, "a mask");
  const at::Tensor object = mask.to(map.device(), at::kBool);
  if (!object.any().item<bool>())
    throw InputError(metric + " needs a mask with at least one pixel");
  return object;
}

}  // namespace

bool pointing_game(const at::Tensor& map, const at::Tensor& mask, double tolerance_px) {
  const at::Tensor object = object_mask(map, mask, "the pointing game");
  if (!(tolerance_px >= 0))
    throw ArgumentError("the pointing-game tolerance must be >= 0, not " + c10::str(tolerance_px));
  const int64_t width = map.size(1);
  const int64_t peak = map.reshape({-1}).argmax().item<int64_t>();
  const double row = static_cast<double>(peak / width), col = static_cast<double>(peak % width);
  const auto options = at::TensorOptions().dtype(at::kDouble).device(map.device());
  const at::Tensor dy = at::arange(map.size(0), options).view({-1, 1}) - row;
  const at::Tensor dx = at::arange(width, options).view({1, -1}) - col;
  const at::Tensor distance2 =
      at::where(object, dy * dy + dx * dx, at::full_like(dy * dx, INFINITY));
  return distance2.min().item<double>() <= tolerance_px * tolerance_px;
}

double energy_pointing_game(const at::Tensor& map, const at::Tensor& mask) {
  const at::Tensor object = object_mask(map, mask, "the energy pointing game");
  const at::Tensor positive = at::clamp_min(map.to(at::kDouble), 0);
  const double total = positive.sum().item<double>();
  return total > 0 ? (positive * object).sum().item<double>() / total : 0.0;
}

double relevance_mass_accuracy(const at::Tensor& map, const at::Tensor& mask) {
  const at::Tensor object = object_mask(map, mask, "relevance mass accuracy");
  const at::Tensor positive = at::clamp_min(map.to(at::kDouble), 0);
  const double total = positive.sum().item<double>();
  return total > 0 ? (positive * object).sum().item<double>() / total : 0.0;
}

double relevance_rank_accuracy(const at::Tensor& map, const at::Tensor& mask) {
  const at::Tensor object = object_mask(map, mask, "relevance rank accuracy");
  const int64_t k = object.sum().item<int64_t>();
  const at::Tensor top = detail::pixel_rank(map.to(at::kDouble), /*descending=*/true) < k;
  return static_cast<double>((top & object).sum().item<int64_t>()) / static_cast<double>(k);
}

double iou(const at::Tensor& map, const at::Tensor& mask, double threshold) {
  const at::Tensor object = object_mask(map, mask, "IoU");
  const at::Tensor values = map.to(at::kDouble);
  const at::Tensor chosen = values >= threshold * values.max();
  const double intersection = static_cast<double>((chosen & object).sum().item<int64_t>());
  const double union_ = static_cast<double>((chosen | object).sum().item<int64_t>());
  return intersection / union_;
}

double top_k_intersection(const at::Tensor& map, const at::Tensor& mask, int64_t k) {
  const at::Tensor object = object_mask(map, mask, "top-k intersection");
  if (k < 1) throw ArgumentError("top-k intersection needs k >= 1, not " + std::to_string(k));
  k = std::min(k, map.numel());
  const at::Tensor top = detail::pixel_rank(map.to(at::kDouble), /*descending=*/true) < k;
  return static_cast<double>((top & object).sum().item<int64_t>()) / static_cast<double>(k);
}

double localisation_auc(const at::Tensor& map, const at::Tensor& mask) {
  const at::Tensor object = object_mask(map, mask, "localisation AUC").reshape({-1});
  const int64_t inside = object.sum().item<int64_t>(), n = object.numel();
  if (inside == n) throw InputError("localisation AUC needs a mask that leaves some pixels out");
  // Mann-Whitney: the mean rank of the mask's pixels among all (ties get their average rank).
  const at::Tensor values = map.to(at::kCPU, at::kDouble).reshape({-1}).contiguous();
  const auto [sorted, order] = at::sort(values);
  const at::Tensor in = object.to(at::kCPU).contiguous();
  const double* v = sorted.data_ptr<double>();
  const int64_t* position = order.data_ptr<int64_t>();
  const bool* is_inside = in.data_ptr<bool>();
  double sum = 0;  // of the mask pixels' ranks
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && v[j + 1] == v[i]) ++j;
    const double average = static_cast<double>(i + j) / 2.0 + 1.0;
    for (int64_t t = i; t <= j; ++t) sum += is_inside[position[t]] ? average : 0.0;
    i = j + 1;
  }
  const double positives = static_cast<double>(inside), negatives = static_cast<double>(n - inside);
  return (sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace whitebox::metrics
