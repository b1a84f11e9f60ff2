// Monotonicity correlation and non-sensitivity (Nguyen & Martinez, arXiv:2007.07584, 2020): does
// a region's relevance follow what the region does to the score when it is replaced by noise?
#include "metrics/common.hpp"
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

}  // namespace whitebox::metrics
