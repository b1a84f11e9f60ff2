// The model's response to the image weighted by its map: the change in confidence of
// Chattopadhay et al. (average drop, increase in confidence), and completeness against the
// all-zero input (Sundararajan et al.).
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/axiomatic.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {

ConfidenceChange confidence_change(const Model& model, const at::Tensor& image,
                                   const at::Tensor& map, int64_t cls) {
  detail::check_image_and_map(image, map, "confidence change");
  const at::Tensor x = detail::as_model_input(model, image);
  const at::Tensor weights = detail::min_max_scaled(map.to(x.device()));
  const double p = detail::score_of(model, x, cls, Score::Probability);
  const double o = detail::score_of(model, x * weights.to(x.scalar_type()).unsqueeze(0), cls,
                                    Score::Probability);
  return {p > 0 ? std::max(0.0, p - o) / p : 0.0, o > p};
}

double completeness_gap(const Model& model, const at::Tensor& image, const at::Tensor& map,
                        int64_t cls) {
  detail::check_image_and_map(image, map, "completeness");
  const at::Tensor x = detail::as_model_input(model, image);
  const double delta = detail::score_of(model, x, cls, Score::Logit) -
                       detail::score_of(model, at::zeros_like(x), cls, Score::Logit);
  const double gap = std::abs(map.to(at::kDouble).sum().item<double>() - delta);
  return delta != 0 ? gap / std::abs(delta) : gap;
}

namespace detail {

void add_confidence_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "confidence-change",
       .group = Group::Faithfulness,
       .summary = "the class probability for the image times its min-max normalised map against "
                  "the image's: drop = max(0, p - p_masked) / p (averaged: average drop), and "
                  "whether it rose (averaged: increase in confidence)",
       .citation = "Chattopadhay, Sarkar, Howlader & Balasubramanian, Grad-CAM++, WACV 2018",
       .needs_model = true,
       .values = {{"confidence_drop", false}, {"confidence_increase", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         const ConfidenceChange c =
             confidence_change(model_of(s, "confidence-change"), s.image, s.map, s.cls);
         return {{"confidence_drop", c.drop}, {"confidence_increase", c.increase ? 1.0 : 0.0}};
       }});
  registry.push_back(
      {.name = "completeness",
       .group = Group::Axiomatic,
       .summary = "|sum(map) - (y(x) - y(0))| / |y(x) - y(0)| for the class logit y and the "
                  "all-zero input: 0 for a complete attribution (use a signed, summed map)",
       .citation = "Sundararajan, Taly & Yan, Axiomatic Attribution for Deep Networks, ICML 2017",
       .needs_model = true,
       .values = {{"completeness_gap", false}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"completeness_gap",
                  completeness_gap(model_of(s, "completeness"), s.image, s.map, s.cls)}};
       }});
}

}  // namespace detail

}  // namespace whitebox::metrics
