// Localisation: how much of the map falls on the annotated object.
#include "whitebox/metrics/localisation.hpp"

#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"

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

namespace detail {
namespace {

// Top-k intersection's k.
constexpr int64_t kTopK = 1000;

}  // namespace

void add_localisation_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "pointing-game",
       .group = Group::Localisation,
       .summary = "whether the map's maximum falls on the object (within a tolerance)",
       .citation =
           "Zhang, Bargal, Lin, Brandt, Shen & Sclaroff, Top-down Neural Attention by Excitation "
           "Backprop, ECCV 2016 / IJCV 2018",
       .needs_mask = true,
       .values = {{"pointing_game", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"pointing_game", pointing_game(s.map, mask_of(s, "pointing-game"),
                                                 p.number("tolerance", kPointingGameTolerance))
                                       ? 1.0
                                       : 0.0}};
       },
       .parameters = {number_parameter(
           "tolerance", kPointingGameTolerance,
           "distance in pixels from the mask within which the maximum counts as a hit", 0)}});
  registry.push_back(
      {.name = "energy-pointing-game",
       .group = Group::Localisation,
       .summary = "share of the positive map's energy on the object",
       .citation =
           "Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu, Score-CAM: Score-Weighted Visual "
           "Explanations for "
           "Convolutional Neural Networks, CVPR Workshops 2020",
       .needs_mask = true,
       .values = {{"energy_pointing_game", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"energy_pointing_game",
                  energy_pointing_game(s.map, mask_of(s, "energy-pointing-game"))}};
       }});
  registry.push_back(
      {.name = "relevance-mass",
       .group = Group::Localisation,
       .summary = "share of the positive relevance inside the object mask",
       .citation = "Arras, Osman & Samek, CLEVR-XAI: A benchmark dataset for the ground truth "
                   "evaluation of neural network explanations, Information Fusion 2022",
       .needs_mask = true,
       .values = {{"relevance_mass_accuracy", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"relevance_mass_accuracy",
                  relevance_mass_accuracy(s.map, mask_of(s, "relevance-mass"))}};
       }});
  registry.push_back(
      {.name = "relevance-rank",
       .group = Group::Localisation,
       .summary = "share of the K most relevant pixels inside the mask (K = mask size)",
       .citation = "Arras, Osman & Samek, CLEVR-XAI: A benchmark dataset for the ground truth "
                   "evaluation of neural network explanations, Information Fusion 2022",
       .needs_mask = true,
       .values = {{"relevance_rank_accuracy", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"relevance_rank_accuracy",
                  relevance_rank_accuracy(s.map, mask_of(s, "relevance-rank"))}};
       }});
  registry.push_back(
      {.name = "iou",
       .group = Group::Localisation,
       .summary =
           "intersection over union of the map thresholded at a share of its maximum and the mask",
       .citation =
           "Zhou, Khosla, Lapedriza, Oliva & Torralba, Learning Deep Features for Discriminative "
           "Localization, CVPR 2016",
       .needs_mask = true,
       .values = {{"iou", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"iou", iou(s.map, mask_of(s, "iou"), p.number("threshold", kIouThreshold))}};
       },
       .parameters = {number_parameter("threshold", kIouThreshold,
                                       "share of the map's maximum above which a pixel is on", 0,
                                       1)}});
  registry.push_back(
      {.name = "top-k-intersection",
       .group = Group::Localisation,
       .summary = "share of the map's k highest pixels on the object",
       .citation = "Theiner, Mueller-Budack & Ewerth, Interpretable Semantic Photo Geolocation, "
                   "WACV 2022",
       .needs_mask = true,
       .values = {{"top_k_intersection", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"top_k_intersection", top_k_intersection(s.map, mask_of(s, "top-k-intersection"),
                                                           p.integer("k", kTopK))}};
       },
       .parameters = {integer_parameter(
           "k", kTopK, "pixels counted (all of them when the map has fewer)", 1)}});
  registry.push_back(
      {.name = "localisation-auc",
       .group = Group::Localisation,
       .summary = "ROC area of the map as a detector of the object's pixels (0.5: chance)",
       .citation = "Fawcett, An introduction to ROC analysis, Pattern Recognition Letters 2006 "
                   "(as a localisation metric: Quantus, Hedstroem et al., JMLR 2023)",
       .needs_mask = true,
       .values = {{"localisation_auc", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"localisation_auc", localisation_auc(s.map, mask_of(s, "localisation-auc"))}};
       }});
}

}  // namespace detail

}  // namespace whitebox::metrics
