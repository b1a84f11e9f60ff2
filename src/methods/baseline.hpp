#pragma once
// Reference inputs of the methods that compare the input with a baseline (integrated gradients,
// DeepLIFT).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// The baseline image of every input image, [N, C, H, W], from params "baseline" (zero, black,
// mean, blurred with "sigma", uniform with "seed", or an image file). Throws ArgumentError.
at::Tensor make_baseline(const Context& c, const std::string& fallback = "black");

// The "baseline" hyper-parameters, for the registry.
std::vector<Hyperparameter> baseline_hyperparameters(const std::string& fallback = "black");

}  // namespace whitebox::explainers
