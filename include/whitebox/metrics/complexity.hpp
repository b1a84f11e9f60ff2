#pragma once
// Complexity of |map|: how concentrated the explanation is.
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

namespace whitebox::metrics {

// Gini index of |map| (Chalasani et al. 2020): 0 for a uniform map, (n - 1) / n for one pixel.
double sparseness(const at::Tensor& map);
// Entropy (natural log) of |map| / sum |map| (Bhatt et al. 2020): log n for a uniform map.
double entropy(const at::Tensor& map);
// Effective complexity (Nguyen & Martinez 2020): the share of pixels with |map| > eps.
inline constexpr double kEffectiveComplexityEps = 1e-5;
double effective_complexity(const at::Tensor& map, double eps = kEffectiveComplexityEps);

}  // namespace whitebox::metrics
