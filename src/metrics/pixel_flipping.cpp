// Pixel flipping over square regions, MoRF and LeRF, and the AOPC (Samek et al., IEEE TNNLS 2017);
// the MoRF curve's area is selectivity (Montavon et al. 2018).
#include <algorithm>
#include <optional>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {
namespace {

Curve flipping_curve(const Model& model, const at::Tensor& image, const at::Tensor& replacement,
                     const at::Tensor& region, const at::Tensor& relevance,
                     bool most_relevant_first, int64_t cls, const FlippingOptions& options) {
  const int64_t total = relevance.numel(), flips = std::min(options.steps, total);
  // The step at which each pixel flips: the rank of its region.
  const at::Tensor region_rank = detail::pixel_rank(relevance, most_relevant_first);
  const at::Tensor pixel_rank =
      region_rank.index_select(0, region.reshape({-1})).view(region.sizes());
  Curve curve;
  for (int64_t k = 0; k <= flips; ++k) curve.fraction.push_back(static_cast<double>(k) / total);
  curve.score = detail::scores_of(
      model, flips + 1, options.batch, cls, options.score, [&](int64_t first, int64_t size) {
        const at::Tensor steps = at::arange(first, first + size, pixel_rank.options());
        const at::Tensor flipped = pixel_rank.unsqueeze(0) < steps.view({-1, 1, 1});
        return at::where(flipped.unsqueeze(1), replacement, image);
      });
  curve.auc = detail::trapezoid(curve.fraction, curve.score);
  return curve;
}

// Both curves, or only the one asked for.
Flipping flipping(const Model& model, const at::Tensor& image_in, const at::Tensor& map,
                  int64_t cls, const FlippingOptions& options, std::optional<bool> only) {
  detail::check_image_and_map(image_in, map, "pixel flipping");
  detail::require_at_least(options.region, 1, "the pixel-flipping region size");
  detail::require_at_least(options.steps, 1, "pixel-flipping steps");
  const at::Tensor image = detail::as_model_input(model, image_in);
  const auto [region, relevance] =
      detail::square_regions(map.to(image.device(), at::kDouble), options.region);
  const at::Tensor replacement =
      detail::substitute(image, options.substitution, options.blur_sigma, options.seed);
  Flipping result;
  if (only.value_or(true)) {
    result.morf = flipping_curve(model, image, replacement, region, relevance, true, cls, options);
    result.aopc_morf = aopc(result.morf);
  }
  if (!only.value_or(false)) {
    result.lerf = flipping_curve(model, image, replacement, region, relevance, false, cls, options);
    result.aopc_lerf = aopc(result.lerf);
  }
  return result;
}

}  // namespace

double aopc(const Curve& curve) {
  double sum = 0;
  for (double s : curve.score) sum += curve.score.front() - s;
  return sum / static_cast<double>(curve.score.size());
}

Flipping pixel_flipping(const Model& model, const at::Tensor& image, const at::Tensor& map,
                        int64_t cls, const FlippingOptions& options) {
  return flipping(model, image, map, cls, options, std::nullopt);
}

Curve region_perturbation(const Model& model, const at::Tensor& image, const at::Tensor& map,
                          int64_t cls, const FlippingOptions& options, bool most_relevant_first) {
  const Flipping f = flipping(model, image, map, cls, options, most_relevant_first);
  return most_relevant_first ? f.morf : f.lerf;
}

namespace detail {
namespace {

FlippingOptions flipping_options(const Params& p) {
  FlippingOptions o;
  o.region = positive(p, "region", o.region);
  o.steps = positive(p, "steps", o.steps);
  read_substitution_options(p, o);
  return o;
}

Declared flipping_parameters() {
  const FlippingOptions o;
  return Declared{integer_parameter("region", o.region, "side of the square regions, pixels", 1),
                  integer_parameter("steps", o.steps, "regions flipped", 1)} +
         substitution_parameters(o);
}

}  // namespace

void add_flipping_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "pixel-flipping",
       .group = Group::Faithfulness,
       .summary = "regions flipped most- and least-relevant first; area over the perturbation "
                  "curve (AOPC)",
       .citation = "Samek, Binder, Montavon, Lapuschkin & Mueller, Evaluating the visualization of "
                   "what a deep neural network has learned, IEEE TNNLS 2017",
       .needs_model = true,
       .values = {{"aopc_morf", true}, {"aopc_lerf", false}},
       .curves = {"morf", "lerf"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Flipping f = pixel_flipping(model_of(s, "pixel-flipping"), s.image, s.map, s.cls,
                                           flipping_options(p));
         keep_curve(s, "morf", f.morf);
         keep_curve(s, "lerf", f.lerf);
         return {{"aopc_morf", f.aopc_morf}, {"aopc_lerf", f.aopc_lerf}};
       },
       .parameters = flipping_parameters()});
  registry.push_back(
      {.name = "region-perturbation",
       .group = Group::Faithfulness,
       .summary = "regions flipped most relevant first only (pixel flipping's MoRF curve, as "
                  "Quantus's RegionPerturbation): its AOPC",
       .citation = "Samek, Binder, Montavon, Lapuschkin & Mueller, Evaluating the visualization of "
                   "what a deep neural network has learned, IEEE TNNLS 2017",
       .needs_model = true,
       .values = {{"region_perturbation_aopc", true}},
       .curves = {"region_perturbation"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve = region_perturbation(model_of(s, "region-perturbation"), s.image, s.map,
                                                 s.cls, flipping_options(p));
         return {{"region_perturbation_aopc", aopc(keep_curve(s, "region_perturbation", curve))}};
       },
       .parameters = flipping_parameters()});
  registry.push_back(
      {.name = "selectivity",
       .group = Group::Faithfulness,
       .summary = "area under the score while square regions are removed most relevant first "
                  "(region perturbation's MoRF curve)",
       .citation = "Montavon, Samek & Mueller, Methods for interpreting and understanding deep "
                   "neural networks, Digital Signal Processing 2018",
       .needs_model = true,
       .values = {{"selectivity_auc", false}},
       .curves = {"selectivity"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve = region_perturbation(model_of(s, "selectivity"), s.image, s.map, s.cls,
                                                 flipping_options(p));
         return {{"selectivity_auc", keep_curve(s, "selectivity", curve).auc}};
       },
       .parameters = flipping_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
