// The model's response to the image weighted by its map: the change in confidence of
// Chattopadhay et al. (average drop, increase in confidence), and completeness against the
// all-zero input (Sundararajan et al.).
#include <cmath>

#include "metrics/common.hpp"

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

}  // namespace whitebox::metrics
