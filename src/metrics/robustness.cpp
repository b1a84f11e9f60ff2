// Robustness of an explanation to small input changes: max- and average sensitivity (Yeh et al.,
// NeurIPS 2019), the local Lipschitz estimate (Alvarez-Melis & Jaakkola, 2018) and continuity
// under translation (Montavon et al. 2018).
#include "whitebox/metrics/robustness.hpp"

#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"

namespace whitebox::metrics {
namespace {

void check_image(const at::Tensor& image, const std::string& metric) {
  if (!image.defined() || image.dim() != 3) throw InputError(metric + " needs an image [C, H, W]");
}

void check_perturbations(const at::Tensor& image, const at::Tensor& perturbations,
                         const std::string& metric) {
  if (!perturbations.defined() || perturbations.dim() != 4 ||
      perturbations.sizes().slice(1) != image.sizes() || perturbations.size(0) < 1) {
    throw InputError(metric + " needs perturbations [N, " + c10::str(image.sizes()) + "]");
  }
}

// ||map(x + d_i) - map(x)|| (the L`norm` norm) for every perturbation, and ||map(x)||.
std::pair<at::Tensor, double> map_changes(const Explainer& explainer, const at::Tensor& image,
                                          const at::Tensor& perturbations, int64_t batch,
                                          int norm = 2) {
  detail::require_at_least(batch, 1, "the robustness batch size");
  const at::Tensor base = explainer(image.unsqueeze(0)).to(at::kDouble);
  if (base.dim() != 3 || base.size(0) != 1) {
    throw InputError("the explainer must return maps [N, H, W], not " + c10::str(base.sizes()));
  }
  std::vector<at::Tensor> changes;
  for (int64_t first = 0; first < perturbations.size(0); first += batch) {
    const int64_t size = std::min(batch, perturbations.size(0) - first);
    const at::Tensor inputs =
        image.unsqueeze(0) +
        perturbations.narrow(0, first, size).to(image.device(), image.scalar_type());
    const at::Tensor maps = explainer(inputs).to(base.device(), at::kDouble);
    if (maps.dim() != 3 || maps.size(0) != size || maps.sizes().slice(1) != base.sizes().slice(1)) {
      throw InputError("the explainer returned maps of shape " + c10::str(maps.sizes()) + " for " +
                       std::to_string(size) + " inputs");
    }
    changes.push_back((maps - base).reshape({size, -1}).norm(norm, 1).to(at::kCPU));
  }
  return {at::cat(changes), base.norm(norm).item<double>()};
}

}  // namespace

Sensitivity sensitivity(const Explainer& explainer, const at::Tensor& image,
                        const at::Tensor& perturbations, const RobustnessOptions& options) {
  check_image(image, "sensitivity");
  check_perturbations(image, perturbations, "sensitivity");
  auto [changes, base_norm] = map_changes(explainer, image, perturbations, options.batch);
  if (options.normalize && base_norm > 0) changes = changes / base_norm;
  return {changes.max().item<double>(), changes.mean().item<double>()};
}

Sensitivity sensitivity(const Explainer& explainer, const at::Tensor& image,
                        const RobustnessOptions& options) {
  check_image(image, "sensitivity");
  return sensitivity(explainer, image,
                     detail::input_noise(image, options.samples, options.radius, options.seed,
                                         false, "robustness"),
                     options);
}

double local_lipschitz(const Explainer& explainer, const at::Tensor& image,
                       const at::Tensor& perturbations, const RobustnessOptions& options) {
  check_image(image, "the local Lipschitz estimate");
  check_perturbations(image, perturbations, "the local Lipschitz estimate");
  const auto [changes, base_norm] = map_changes(explainer, image, perturbations, options.batch);
  const at::Tensor steps =
      perturbations.to(at::kCPU, at::kDouble).reshape({perturbations.size(0), -1}).norm(2, 1);
  const at::Tensor ratios = at::where(steps > 0, changes / steps, at::zeros_like(steps));
  return ratios.max().item<double>();
}

double local_lipschitz(const Explainer& explainer, const at::Tensor& image,
                       const RobustnessOptions& options) {
  check_image(image, "the local Lipschitz estimate");
  return local_lipschitz(
      explainer, image,
      detail::input_noise(image, options.samples, options.radius, options.seed, true, "robustness"),
      options);
}

at::Tensor translations(const at::Tensor& image, const ContinuityOptions& options) {
  check_image(image, "continuity");
  detail::require_at_least(options.steps, 1, "continuity's steps");
  detail::require_at_least(options.step, 1, "continuity's step");
  const int64_t width = image.size(2);
  if (options.steps * options.step >= width) {
    throw ArgumentError("continuity: " + std::to_string(options.steps) + " steps of " +
                        std::to_string(options.step) + " pixels leave nothing of an image " +
                        std::to_string(width) + " pixels wide");
  }
  std::vector<at::Tensor> moved;
  for (int64_t k = 1; k <= options.steps; ++k) {
    const int64_t shift = k * options.step;
    moved.push_back(at::constant_pad_nd(image.narrow(2, 0, width - shift), {shift, 0}, 0.0));
  }
  return at::stack(moved) - image.unsqueeze(0);
}

double continuity(const Explainer& explainer, const at::Tensor& image,
                  const ContinuityOptions& options) {
  const at::Tensor perturbations = translations(image, options);
  const auto [changes, base_norm] =
      map_changes(explainer, image, perturbations, options.batch, /*norm=*/1);
  const at::Tensor steps =
      perturbations.to(at::kCPU, at::kDouble).reshape({perturbations.size(0), -1}).norm(2, 1);
  return at::where(steps > 0, changes / steps, at::zeros_like(steps)).max().item<double>();
}

namespace detail {
namespace {

RobustnessOptions robustness_options(const Params& p) {
  RobustnessOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.radius = p.number("radius", o.radius);
  o.batch = positive(p, "batch", o.batch);
  o.normalize = p.integer("normalize", o.normalize) != 0;
  o.seed = seed_option(p, o.seed);
  return o;
}

Declared robustness_parameters() {
  const RobustnessOptions o;
  return Declared{integer_parameter("samples", o.samples, "perturbed inputs", 1),
                  number_parameter("radius", o.radius,
                                   "half-width of the uniform L-infinity noise (input units)", 0),
                  integer_parameter("normalize", o.normalize, "1: maps normalised before comparing",
                                    0, 1)} +
         common_parameters(o);
}

ContinuityOptions continuity_options(const Params& p) {
  ContinuityOptions o;
  o.steps = positive(p, "steps", o.steps);
  o.step = positive(p, "step", o.step);
  o.batch = positive(p, "batch", o.batch);
  return o;
}

Declared continuity_parameters() {
  const ContinuityOptions o;
  return {
      integer_parameter("steps", o.steps, "translations", 1),
      integer_parameter("step", o.step, "pixels added to the shift at each step", 1),
      integer_parameter("batch", o.batch, "translated copies per explainer call", 1, kMostBatch)};
}

}  // namespace

void add_robustness_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "sensitivity",
       .group = Group::Robustness,
       .summary = "largest and average change of the map under uniform noise of a small radius "
                  "(relative to the map)",
       .citation =
           "Yeh, Hsieh, Suggala, Inouye & Ravikumar, On the (In)fidelity and Sensitivity of "
           "Explanations, NeurIPS 2019",
       .needs_explainer = true,
       .values = {{"max_sensitivity", false}, {"avg_sensitivity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Sensitivity r =
             sensitivity(explainer_of(s, "sensitivity"), s.image, robustness_options(p));
         return {{"max_sensitivity", r.max}, {"avg_sensitivity", r.average}};
       },
       .parameters = robustness_parameters()});
  registry.push_back(
      {.name = "local-lipschitz",
       .group = Group::Robustness,
       .summary = "largest ratio of map change to input change under Gaussian noise",
       .citation =
           "Alvarez-Melis & Jaakkola, On the Robustness of Interpretability Methods, ICML Workshop "
           "2018",
       .needs_explainer = true,
       .values = {{"local_lipschitz", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"local_lipschitz", local_lipschitz(explainer_of(s, "local-lipschitz"), s.image,
                                                     robustness_options(p))}};
       },
       .parameters = robustness_parameters()});
  registry.push_back(
      {.name = "continuity",
       .group = Group::Robustness,
       .summary = "largest ratio of the map's L1 change to the input's L2 change when the image "
                  "is moved sideways, a few pixels at a time",
       .citation = "Montavon, Samek & Muller, Methods for Interpreting and Understanding Deep "
                   "Neural Networks, Digital Signal Processing 2018",
       .needs_explainer = true,
       .values = {{"continuity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"continuity",
                  continuity(explainer_of(s, "continuity"), s.image, continuity_options(p))}};
       },
       .parameters = continuity_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
