// Robustness of an explanation to small input changes: max- and average sensitivity (Yeh et al.,
// NeurIPS 2019), the local Lipschitz estimate (Alvarez-Melis & Jaakkola, 2018) and continuity
// under translation (Montavon et al. 2018).
#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"

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

}  // namespace whitebox::metrics
