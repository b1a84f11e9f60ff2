#pragma once
// Axiomatic: properties an attribution should have by construction (completeness,
// non-sensitivity, input invariance).
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "whitebox/explain.hpp"
#include "whitebox/metrics/explainer.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {

// Completeness (Sundararajan et al. 2017): |sum(map) - (y(x) - y(0))| / |y(x) - y(0)|, y the
// class logit and 0 the all-zero input; the absolute gap when y(x) = y(0).
double completeness_gap(const Model& model, const at::Tensor& image, const at::Tensor& map,
                        int64_t cls);

// Non-sensitivity (Nguyen & Martinez 2020), over the region effects of faithfulness.hpp: the share
// of regions where exactly one of a_r <= eps and v_r <= eps holds (relevance on what does not
// matter, or none on what does). Lower is better.
inline constexpr double kNonSensitivityEps = 1e-5;
double non_sensitivity(const RegionEffects& effects, double eps = kNonSensitivityEps);

// A copy of the model for inputs shifted by `shift`: its first parameter layer (a Conv or Gemm
// that reads the graph input) is followed by the constant -layer(shift), computed without bias
// on an input of `height` x `width`, so that shifted(x + shift) = model(x) at every position,
// zero padding included. Throws ArgumentError when the first layer does not read the input.
Model shifted_input_model(const Model& model, double shift, int64_t height, int64_t width);
// The relative L1 difference sum |map' - map| / sum |map| between the map of the image and the
// map `shifted_explainer` (the method on shifted_input_model) gives for image + shift: 0 for an
// input-invariant method (gradients, CAMs), not for those that multiply by the input or
// integrate from a fixed baseline. Lower is better.
inline constexpr double kInvarianceShift = -1.0;
double input_invariance(const ClassExplainer& shifted_explainer, const at::Tensor& image,
                        const at::Tensor& map, int64_t cls, double shift = kInvarianceShift);

}  // namespace whitebox::metrics
