// Deletion and insertion curves (Petsiuk, Das & Saenko, RISE, BMVC 2018), and monotonicity
// (Arya et al. 2019): insertion least relevant first.
#include <cmath>

#include "metrics/common.hpp"

namespace whitebox::metrics {
namespace {

// Deletion removes the first `count` pixels of the order (most relevant first, or least) from the
// image; insertion starts from the substitute and puts them back. Both are one `where` per batch
// over the rank of each pixel.
Curve perturbation_curve(const Model& model, const at::Tensor& image_in, const at::Tensor& map,
                         int64_t cls, const PerturbationOptions& options, bool insert,
                         bool most_relevant_first = true) {
  const std::string metric = insert ? "insertion" : "deletion";
  detail::check_image_and_map(image_in, map, metric);
  detail::require_at_least(options.steps, 1, metric + " steps");
  const at::Tensor image = detail::as_model_input(model, image_in);
  const int64_t height = image.size(1), width = image.size(2), pixels = height * width;
  const at::Tensor rank =
      detail::pixel_rank(map.to(image.device(), at::kDouble), most_relevant_first);
  const at::Tensor replacement =
      detail::substitute(image, options.substitution, options.blur_sigma, options.seed);
  const at::Tensor& before = insert ? replacement : image;  // where the order has not reached yet
  const at::Tensor& after = insert ? image : replacement;

  Curve curve;
  std::vector<int64_t> counts;
  for (int64_t k = 0; k <= options.steps; ++k) {
    counts.push_back(std::llround(static_cast<double>(k) * pixels / options.steps));
    curve.fraction.push_back(static_cast<double>(counts.back()) / pixels);
  }
  const at::Tensor count_tensor = at::tensor(counts, at::kLong).to(image.device());
  curve.score = detail::scores_of(model, options.steps + 1, options.batch, cls, options.score,
                                  [&](int64_t first, int64_t size) {
                                    const at::Tensor reached =
                                        rank.unsqueeze(0) <
                                        count_tensor.narrow(0, first, size).view({-1, 1, 1});
                                    return at::where(reached.unsqueeze(1), after, before);
                                  });
  curve.auc = detail::trapezoid(curve.fraction, curve.score);
  return curve;
}

}  // namespace

Curve deletion(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
               const PerturbationOptions& options) {
  return perturbation_curve(model, image, map, cls, options, /*insert=*/false);
}

Curve insertion(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                const PerturbationOptions& options) {
  return perturbation_curve(model, image, map, cls, options, /*insert=*/true);
}

Curve monotonicity_curve(const Model& model, const at::Tensor& image, const at::Tensor& map,
                         int64_t cls, const PerturbationOptions& options) {
  return perturbation_curve(model, image, map, cls, options, /*insert=*/true,
                            /*most_relevant_first=*/false);
}

double monotonicity(const Curve& curve) {
  int64_t rising = 0;
  for (size_t k = 1; k < curve.score.size(); ++k) rising += curve.score[k] >= curve.score[k - 1];
  return static_cast<double>(rising) / static_cast<double>(curve.score.size() - 1);
}

double monotonicity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                    const PerturbationOptions& options) {
  return monotonicity(monotonicity_curve(model, image, map, cls, options));
}

}  // namespace whitebox::metrics
