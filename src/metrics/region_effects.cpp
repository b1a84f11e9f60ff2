// Monotonicity correlation and non-sensitivity (Nguyen & Martinez, arXiv:2007.07584, 2020): does
// a region's relevance follow what the region does to the score when it is replaced by noise?
#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/axiomatic.hpp"
#include "whitebox/metrics/faithfulness.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::metrics {

RegionEffects region_effects(const Model& model, const at::Tensor& image_in, const at::Tensor& map,
                             int64_t cls, const at::Tensor& noise,
                             const RegionEffectOptions& options) {
  detail::check_image_and_map(image_in, map, "region effects");
  detail::require_at_least(options.region, 1, "the region size");
  if (!noise.defined() || noise.dim() != 4 || noise.sizes().slice(1) != image_in.sizes() ||
      noise.size(0) < 1) {
    throw InputError("region effects need noise images [K, " + c10::str(image_in.sizes()) + "]");
  }
  const at::Tensor image = detail::as_model_input(model, image_in);
  const at::Tensor noises = noise.to(image.device(), image.scalar_type());
  const auto [region, relevance] =
      detail::square_regions(map.to(image.device(), at::kDouble).abs(), options.region);
  const int64_t regions = relevance.numel(), draws = noises.size(0);
  // Input i replaces region i / K by noise image i % K.
  const std::vector<double> scores = detail::scores_of(
      model, regions * draws, options.batch, cls, options.score, [&](int64_t first, int64_t size) {
        const at::Tensor i = at::arange(first, first + size, region.options());
        const at::Tensor inside =
            region.unsqueeze(0) == at::div(i, draws, "floor").view({-1, 1, 1});
        return at::where(inside.unsqueeze(1), noises.index_select(0, i.remainder(draws)), image);
      });
  const double reference = detail::score_of(model, image, cls, options.score);
  const at::Tensor change = reference - detail::to_tensor(scores).view({regions, draws});
  return {relevance.to(at::kCPU), (change * change).mean(1)};
}

RegionEffects region_effects(const Model& model, const at::Tensor& image, const at::Tensor& map,
                             int64_t cls, const RegionEffectOptions& options) {
  detail::check_image_and_map(image, map, "region effects");
  detail::require_at_least(options.samples, 1, "the noise draws per region");
  std::vector<at::Tensor> noise;
  for (int64_t k = 0; k < options.samples; ++k) {
    noise.push_back(detail::substitute(image, Substitution::Uniform, 0,
                                       options.seed + static_cast<uint64_t>(k)));
  }
  return region_effects(model, image, map, cls, at::stack(noise), options);
}

double monotonicity_correlation(const RegionEffects& effects) {
  return rank_correlation(effects.relevance, effects.effect);
}

double non_sensitivity(const RegionEffects& effects, double eps) {
  const at::Tensor unattributed = effects.relevance <= eps, ineffective = effects.effect <= eps;
  return at::ne(unattributed, ineffective).to(at::kDouble).mean().item<double>();
}

namespace detail {
namespace {

RegionEffectOptions region_effect_options(const Params& p) {
  RegionEffectOptions o;
  o.region = positive(p, "region", o.region);
  o.samples = positive(p, "samples", o.samples);
  o.batch = positive(p, "batch", o.batch);
  o.score = score_option(p, o.score);
  o.seed = seed_option(p, o.seed);
  return o;
}

Declared region_effect_parameters() {
  const RegionEffectOptions o;
  return Declared{integer_parameter("region", o.region, "side of the square regions, pixels", 1),
                  integer_parameter("samples", o.samples, "noise draws per region", 1)} +
         common_parameters(o) + score_parameter(o.score);
}

}  // namespace

void add_monotonicity_correlation_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "monotonicity-correlation",
       .group = Group::Faithfulness,
       .summary = "Spearman correlation between the summed |map| of square regions and the mean "
                  "squared score change when each is replaced by noise",
       .citation = "Nguyen & Martinez, On quantitative aspects of model interpretability, "
                   "arXiv:2007.07584, 2020",
       .needs_model = true,
       .values = {{"monotonicity_correlation", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"monotonicity_correlation", monotonicity_correlation(region_effects(
                                                  model_of(s, "monotonicity-correlation"), s.image,
                                                  s.map, s.cls, region_effect_options(p)))}};
       },
       .parameters = region_effect_parameters()});
}

void add_non_sensitivity_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "non-sensitivity",
       .group = Group::Axiomatic,
       .summary = "share of square regions that have no relevance (summed |map| <= eps) but do "
                  "change the score under noise, or the reverse: 0 for a map that gives "
                  "relevance exactly to what matters",
       .citation = "Nguyen & Martinez, On quantitative aspects of model interpretability, "
                   "arXiv:2007.07584, 2020",
       .needs_model = true,
       .values = {{"non_sensitivity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"non_sensitivity",
                  non_sensitivity(region_effects(model_of(s, "non-sensitivity"), s.image, s.map,
                                                 s.cls, region_effect_options(p)),
                                  p.number("eps", kNonSensitivityEps))}};
       },
       .parameters =
           region_effect_parameters() +
           Declared{number_parameter(
               "eps", kNonSensitivityEps,
               "at most this much relevance or mean squared score change counts as none", 0)}});
}

}  // namespace detail

}  // namespace whitebox::metrics
