#pragma once
// Agreement with a human attention map (fixation density) of the same size. Maps become
// distributions by min-shift and division by the sum.
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

namespace whitebox::metrics {

double pearson(const at::Tensor& map, const at::Tensor& reference);        // CC; 0 if constant
double similarity(const at::Tensor& map, const at::Tensor& reference);     // SIM, sum min(P, Q)
double kl_divergence(const at::Tensor& map, const at::Tensor& reference);  // KL(reference || map)
// Normalised scanpath saliency: mean of the standardised map at the fixations ([H, W] bool).
double nss(const at::Tensor& map, const at::Tensor& fixations);
// AUC-Judd: ROC area of the map as a classifier of fixated pixels, thresholds at the map's
// values on the fixations.
double auc_judd(const at::Tensor& map, const at::Tensor& fixations);
// Fixations from a density: pixels at or above `threshold` times the maximum.
inline constexpr double kFixationThreshold = 0.5;
at::Tensor fixations_of(const at::Tensor& reference, double threshold = kFixationThreshold);

}  // namespace whitebox::metrics
