#pragma once
// Randomisation: the map against the method's map of something else (see also
// whitebox/randomisation.hpp for the sanity checks over a model).
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "whitebox/explain.hpp"
#include "whitebox/metrics/explainer.hpp"

namespace whitebox::metrics {

// The class the random-logit test explains instead of `cls`: uniform over the other classes,
// drawn from `seed`.
int64_t random_other_class(int64_t cls, int64_t classes, uint64_t seed);
// Random logit (Sixt, Granz & Landgraf, ICML 2020): SSIM between `map`, the explanation of `cls`,
// and the explanation of random_other_class(). Lower is better: a class-discriminative map
// changes with the class.
double random_logit_similarity(const Model& model, const ClassExplainer& explainer,
                               const at::Tensor& image, const at::Tensor& map, int64_t cls,
                               uint64_t seed = 0);

}  // namespace whitebox::metrics
