#pragma once
// Reference inputs of the methods that compare the input with a baseline (integrated gradients,
// DeepLIFT).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// The baseline image of every input image, [N, C, H, W], from params "baseline" (zero, black,
// mean, blurred with "sigma", uniform with "seed", or an image file), which the method declares
// (baseline_hyperparameters). Throws ArgumentError.
at::Tensor make_baseline(const Context& c);

// The baseline of this name, as params "baseline" takes it.
at::Tensor named_baseline(const Context& c, const std::string& name);

// A reference distribution, from params "baselines": baselines as "baseline" takes them,
// comma-separated, or a folder whose images are the distribution. Each [N, C, H, W].
std::vector<at::Tensor> make_baselines(const Context& c);

// The "baseline" hyper-parameters, for the registry; "baselines" for a distribution.
std::vector<Hyperparameter> baseline_hyperparameters(const std::string& fallback = "black");
std::vector<Hyperparameter> baselines_hyperparameters(const std::string& fallback);

}  // namespace whitebox::explainers
