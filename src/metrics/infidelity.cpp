// Infidelity (Yeh et al., NeurIPS 2019): how well the map, read as a linear model of the score,
// predicts the score's change under random perturbations.
#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {

double infidelity(const Model& model, const at::Tensor& image_in, const at::Tensor& map_in,
                  int64_t cls, const at::Tensor& perturbations_in,
                  const InfidelityOptions& options) {
  if (!image_in.defined() || image_in.dim() != 3)
    throw InputError("infidelity needs an image [C, H, W]");
  if (!map_in.defined() || (map_in.dim() == 2 && map_in.sizes() != image_in.sizes().slice(1)) ||
      (map_in.dim() == 3 && map_in.sizes() != image_in.sizes()) || map_in.dim() < 2 ||
      map_in.dim() > 3) {
    throw InputError(
        "infidelity needs a map [H, W] or an attribution [C, H, W] of the image's size " +
        c10::str(image_in.sizes()));
  }
  if (!perturbations_in.defined() || perturbations_in.dim() != 4 ||
      perturbations_in.sizes().slice(1) != image_in.sizes()) {
    throw InputError("infidelity needs perturbations [N, " + c10::str(image_in.sizes()) + "]");
  }
  const at::Tensor image = detail::as_model_input(model, image_in);
  const at::Tensor perturbations = perturbations_in.to(image.device(), image.scalar_type());
  // A plane map weighs every channel of its pixel alike.
  const at::Tensor map = map_in.to(image.device(), at::kDouble);
  const at::Tensor weights = map.dim() == 2 ? map.unsqueeze(0) : map;
  const at::Tensor predicted =
      (perturbations.to(at::kDouble) * weights.unsqueeze(0)).sum({1, 2, 3}).to(at::kCPU);

  const double reference = detail::score_of(model, image, cls, options.score);
  const auto scores =
      detail::scores_of(model, perturbations.size(0), options.batch, cls, options.score,
                        [&](int64_t first, int64_t size) {
                          return image.unsqueeze(0) - perturbations.narrow(0, first, size);
                        });
  const at::Tensor drops = reference - detail::to_tensor(scores);
  double beta = 1.0;
  if (options.normalize) {
    const double energy = (predicted * predicted).mean().item<double>();
    beta = energy > 0 ? (predicted * drops).mean().item<double>() / energy : 0.0;
  }
  const at::Tensor error = beta * predicted - drops;
  return (error * error).mean().item<double>();
}

double infidelity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                  const InfidelityOptions& options) {
  if (!image.defined() || image.dim() != 3) throw InputError("infidelity needs an image [C, H, W]");
  detail::require_at_least(options.samples, 1, "the number of infidelity samples");
  at::Generator g = detail::generator(options.seed);
  std::vector<int64_t> shape{options.samples};
  for (auto s : image.sizes()) shape.push_back(s);
  const at::Tensor perturbations = options.noise * at::randn(shape, g, at::kDouble);
  return infidelity(model, image, map, cls, perturbations, options);
}

namespace detail {
namespace {

InfidelityOptions infidelity_options(const Params& p) {
  InfidelityOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.noise = p.number("noise", o.noise);
  o.normalize = p.integer("normalize", o.normalize) != 0;
  o.batch = positive(p, "batch", o.batch);
  o.score = score_option(p, o.score);
  o.seed = seed_option(p, o.seed);
  return o;
}

Declared infidelity_parameters() {
  const InfidelityOptions o;
  return Declared{integer_parameter("samples", o.samples, "perturbations", 1),
                  number_parameter("noise", o.noise,
                                   "std of the Gaussian perturbations (input units)", 0),
                  integer_parameter("normalize", o.normalize,
                                    "1: the map's scale fitted to the score changes", 0, 1)} +
         common_parameters(o) + score_parameter(o.score);
}

}  // namespace

void add_infidelity_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "infidelity",
       .group = Group::Faithfulness,
       .summary =
           "mean squared error of the map as a linear predictor of the score change under noise",
       .citation =
           "Yeh, Hsieh, Suggala, Inouye & Ravikumar, On the (In)fidelity and Sensitivity of "
           "Explanations, NeurIPS 2019",
       .needs_model = true,
       .values = {{"infidelity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"infidelity", infidelity(model_of(s, "infidelity"), s.image, s.map, s.cls,
                                           infidelity_options(p))}};
       },
       .parameters = infidelity_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
