#pragma once
// Robustness: the explanation method re-run on perturbed inputs.
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "whitebox/explain.hpp"
#include "whitebox/metrics/explainer.hpp"

namespace whitebox::metrics {

struct RobustnessOptions {
  int64_t samples = 16;
  double radius = 0.02;   // half-width of the uniform L-infinity noise (input units)
  int64_t batch = 8;      // perturbed inputs per call of the explainer
  bool normalize = true;  // sensitivities relative to ||map(x)||
  uint64_t seed = 0;
};
struct Sensitivity {
  double max = 0;      // max-sensitivity (Yeh et al. 2019): max_d ||map(x + d) - map(x)||
  double average = 0;  // average sensitivity: the mean over the samples
};
Sensitivity sensitivity(const Explainer& explainer, const at::Tensor& image,
                        const RobustnessOptions& options = {});
// The same with given perturbations d [N, C, H, W].
Sensitivity sensitivity(const Explainer& explainer, const at::Tensor& image,
                        const at::Tensor& perturbations, const RobustnessOptions& options);
// Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018):
// max_d ||map(x + d) - map(x)|| / ||d||, d Gaussian with std `radius`.
double local_lipschitz(const Explainer& explainer, const at::Tensor& image,
                       const RobustnessOptions& options = {});
double local_lipschitz(const Explainer& explainer, const at::Tensor& image,
                       const at::Tensor& perturbations, const RobustnessOptions& options);

// Continuity (Montavon, Samek & Muller 2018): the strongest variation of the map under
// translation, max_k ||map(x_k) - map(x)||_1 / ||x_k - x||_2, x_k the image moved right by
// k * step pixels (the uncovered columns 0), k = 1..steps. Lower is better.
struct ContinuityOptions {
  int64_t steps = 8;
  int64_t step = 2;  // pixels
  int64_t batch = 8;
};
double continuity(const Explainer& explainer, const at::Tensor& image,
                  const ContinuityOptions& options = {});
// The translations as perturbations x_k - x [steps, C, H, W].
at::Tensor translations(const at::Tensor& image, const ContinuityOptions& options = {});
// Relative stability (Agarwal et al. 2022): over perturbations x' = x + d that keep the predicted
// class, the largest relative change of the map, ||(e(x) - e(x')) / e(x)||, over the relative
// change of the input (RIS), of the logits (ROS), or of an internal representation (RRS: the
// value named `layer`, by default the last feature map before pooling); element-wise divisions
// by 0 divide by `eps` instead, and a denominator is at least `eps`. Lower is better.
struct StabilityOptions {
  int64_t samples = 16;
  double radius = 0.02;  // half-width of the uniform L-infinity noise (input units)
  int64_t batch = 8;
  double eps = 1e-6;
  uint64_t seed = 0;
  std::string layer;  // RRS's representation; empty: the last spatial feature map
};
struct RelativeStability {
  double input = 0, output = 0, representation = 0;  // RIS, ROS, RRS
  int64_t kept = 0;  // perturbations that kept the class (0: every value is 0)
};
RelativeStability relative_stability(const Model& model, const Explainer& explainer,
                                     const at::Tensor& image, const StabilityOptions& options = {});
// The same with given perturbations d [N, C, H, W].
RelativeStability relative_stability(const Model& model, const Explainer& explainer,
                                     const at::Tensor& image, const at::Tensor& perturbations,
                                     const StabilityOptions& options);

}  // namespace whitebox::metrics
