// Agreement with human attention maps: the saliency-benchmark measures (Bylinskii et al., "What
// do different evaluation metrics tell us about saliency models?", TPAMI 2019).
#include "whitebox/metrics/agreement.hpp"

#include <cmath>
#include <limits>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"

namespace whitebox::metrics {
namespace {

// Min-shifted and divided by its sum; uniform when constant.
at::Tensor distribution(const at::Tensor& map) {
  const at::Tensor shifted = map.to(at::kDouble) - map.to(at::kDouble).min();
  const double total = shifted.sum().item<double>();
  return total > 0 ? shifted / total
                   : at::full_like(shifted, 1.0 / static_cast<double>(shifted.numel()));
}

// The fixations as bool on the map's device, with at least one fixated and one other pixel.
at::Tensor fixation_mask(const at::Tensor& map, const at::Tensor& fixations,
                         const std::string& metric) {
  detail::check_same_plane(map, fixations, metric, "a fixation map");
  const at::Tensor fixated = fixations.to(map.device(), at::kBool);
  const int64_t count = fixated.sum().item<int64_t>();
  if (count == 0) throw InputError(metric + " needs at least one fixated pixel");
  if (metric == "AUC-Judd" && count == fixated.numel())
    throw InputError("AUC-Judd needs at least one pixel that is not fixated");
  return fixated;
}

}  // namespace

double pearson(const at::Tensor& map, const at::Tensor& reference) {
  detail::check_same_plane(map, reference, "CC", "a reference map");
  return detail::pearson_flat(map, reference);
}

double similarity(const at::Tensor& map, const at::Tensor& reference) {
  detail::check_same_plane(map, reference, "SIM", "a reference map");
  return at::minimum(distribution(map), distribution(reference).to(map.device()))
      .sum()
      .item<double>();
}

double kl_divergence(const at::Tensor& map, const at::Tensor& reference) {
  detail::check_same_plane(map, reference, "KL divergence", "a reference map");
  // The saliency benchmark's regularised form: epsilon keeps empty map pixels finite.
  constexpr double epsilon = std::numeric_limits<double>::epsilon();
  const at::Tensor q = distribution(map), p = distribution(reference).to(q.device());
  return (p * at::log(epsilon + p / (q + epsilon))).sum().item<double>();
}

double nss(const at::Tensor& map, const at::Tensor& fixations) {
  const at::Tensor fixated = fixation_mask(map, fixations, "NSS");
  const at::Tensor values = map.to(at::kDouble);
  const double deviation = values.std(/*unbiased=*/false).item<double>();
  if (!(deviation > 0)) return 0.0;
  return ((values - values.mean()) / deviation).masked_select(fixated).mean().item<double>();
}

double auc_judd(const at::Tensor& map, const at::Tensor& fixations) {
  const at::Tensor fixated = fixation_mask(map, fixations, "AUC-Judd");
  const at::Tensor values = map.to(at::kDouble).reshape({-1});
  const int64_t pixels = values.numel();
  const at::Tensor thresholds = std::get<0>(
      at::sort(values.masked_select(fixated.reshape({-1})), /*dim=*/0, /*descending=*/true));
  const int64_t count = thresholds.numel();
  // Pixels at or above each threshold, from the sorted values.
  const at::Tensor sorted = std::get<0>(at::sort(values));
  const at::Tensor above = pixels - at::searchsorted(sorted, thresholds);
  const at::Tensor i = at::arange(1, count + 1, values.options());
  const at::Tensor zero = at::zeros({1}, values.options()), one = at::ones({1}, values.options());
  const at::Tensor tp = at::cat({zero, i / count, one});
  const at::Tensor fp =
      at::cat({zero, (above.to(at::kDouble) - i) / static_cast<double>(pixels - count), one});
  return at::trapz(tp, fp).item<double>();
}

at::Tensor fixations_of(const at::Tensor& reference, double threshold) {
  if (!reference.defined() || reference.dim() != 2)
    throw InputError("fixations need a reference map [H, W]");
  const at::Tensor values = reference.to(at::kDouble);
  return values >= threshold * values.max();
}

namespace detail {

void add_agreement_metrics(std::vector<MetricInfo>& registry) {
  const std::string benchmark =
      "Bylinskii, Judd, Oliva, Torralba & Durand, What do different evaluation metrics tell us "
      "about saliency "
      "models?, TPAMI 2019";
  const Hyperparameter fixation_threshold =
      number_parameter("fixation_threshold", kFixationThreshold,
                       "share of the reference map's maximum that marks a fixation", 0, 1);
  registry.push_back({.name = "cc",
                      .group = Group::Agreement,
                      .summary = "Pearson correlation with the human attention map",
                      .citation = benchmark,
                      .needs_reference = true,
                      .values = {{"cc", true}},
                      .run = [](const Sample& s, const Params&) -> Values {
                        return {{"cc", pearson(s.map, reference_of(s, "cc"))}};
                      }});
  registry.push_back({.name = "sim",
                      .group = Group::Agreement,
                      .summary = "histogram intersection of the two maps as distributions",
                      .citation = benchmark,
                      .needs_reference = true,
                      .values = {{"sim", true}},
                      .run = [](const Sample& s, const Params&) -> Values {
                        return {{"sim", similarity(s.map, reference_of(s, "sim"))}};
                      }});
  registry.push_back({.name = "kl",
                      .group = Group::Agreement,
                      .summary = "KL divergence of the map from the human attention distribution",
                      .citation = benchmark,
                      .needs_reference = true,
                      .values = {{"kl", false}},
                      .run = [](const Sample& s, const Params&) -> Values {
                        return {{"kl", kl_divergence(s.map, reference_of(s, "kl"))}};
                      }});
  registry.push_back(
      {.name = "nss",
       .group = Group::Agreement,
       .summary = "mean of the standardised map on the fixations (reference >= threshold x max)",
       .citation =
           "Peters, Iyer, Itti & Koch, Components of bottom-up gaze allocation in natural images, "
           "Vision Research 2005",
       .needs_reference = true,
       .values = {{"nss", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {
             {"nss", nss(s.map, fixations_of(reference_of(s, "nss"),
                                             p.number("fixation_threshold", kFixationThreshold)))}};
       },
       .parameters = {fixation_threshold}});
  registry.push_back(
      {.name = "auc-judd",
       .group = Group::Agreement,
       .summary = "ROC area of the map as a detector of the fixated pixels",
       .citation =
           "Judd, Ehinger, Durand & Torralba, Learning to predict where humans look, ICCV 2009",
       .needs_reference = true,
       .values = {{"auc_judd", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"auc_judd", auc_judd(s.map, fixations_of(reference_of(s, "auc-judd"),
                                                           p.number("fixation_threshold",
                                                                    kFixationThreshold)))}};
       },
       .parameters = {fixation_threshold}});
}

}  // namespace detail

}  // namespace whitebox::metrics
