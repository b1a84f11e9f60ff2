// ARCC: complexity, coherency and ROAD of a map combined (pytorch-grad-cam 1.5's metric).
#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"

namespace whitebox::metrics {

RoadOptions arcc_road_options() {
  RoadOptions options;
  options.fractions = {0.2, 0.4, 0.6, 0.8};
  return options;
}

Arcc arcc(const Model& model, const ClassExplainer& explainer, const at::Tensor& image,
          const at::Tensor& map, int64_t cls, const RoadOptions& road_options) {
  detail::check_image_and_map(image, map, "ARCC");
  const at::Tensor x = detail::as_model_input(model, image);
  const at::Tensor m = detail::min_max_scaled(map.to(x.device()));
  Arcc a;
  a.complexity = m.mean().item<double>();
  const at::Tensor kept = (x * m.to(x.scalar_type()).unsqueeze(0)).unsqueeze(0);
  const at::Tensor again = detail::min_max_scaled(explainer(kept, cls)[0].to(x.device()));
  a.coherency = (detail::pearson_flat(again.flatten(), m.flatten()) + 1) / 2;

  RoadOptions o = road_options;
  o.most_relevant_first = true;
  const Curve morf = road(model, image, map, cls, o);
  o.most_relevant_first = false;
  a.road = std::clamp(2 * road_combined(morf, road(model, image, map, cls, o)), 0.0, 1.0);

  const double terms[] = {a.coherency, 1 - a.complexity, a.road};
  a.arcc = std::cbrt(terms[0] * terms[1] * terms[2]);
  if (std::all_of(std::begin(terms), std::end(terms), [](double t) { return t > 0; }))
    a.harmonic = 3 / (1 / terms[0] + 1 / terms[1] + 1 / terms[2]);
  return a;
}

}  // namespace whitebox::metrics
