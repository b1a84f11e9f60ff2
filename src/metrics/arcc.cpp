// ARCC: complexity, coherency and ROAD of a map combined (pytorch-grad-cam 1.5's metric).
#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/faithfulness.hpp"

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

namespace detail {

void add_arcc_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "arcc",
       .group = Group::Faithfulness,
       .summary = "geometric mean of coherency (the map of the image weighted by the map agrees "
                  "with the map), 1 - complexity (mean of the scaled map) and ROAD's combined "
                  "score; also their harmonic mean, as pytorch-grad-cam computes it",
       .citation = "pytorch-grad-cam 1.5 (Gildenblat et al.), arXiv:2605.14641",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"arcc", true},
                  {"arcc_harmonic", true},
                  {"arcc_coherency", true},
                  {"arcc_complexity", false},
                  {"arcc_road", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Arcc a = arcc(model_of(s, "arcc"), class_explainer_of(s, "arcc"), s.image, s.map,
                             s.cls, road_options(p, arcc_road_options()));
         return {{"arcc", a.arcc},
                 {"arcc_harmonic", a.harmonic},
                 {"arcc_coherency", a.coherency},
                 {"arcc_complexity", a.complexity},
                 {"arcc_road", a.road}};
       },
       .parameters = road_parameters(arcc_road_options(),
                                     "comma-separated fractions of the pixels ROAD removes")});
}

}  // namespace detail

}  // namespace whitebox::metrics
