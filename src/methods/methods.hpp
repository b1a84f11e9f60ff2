#pragma once
// The method families. Each file registers its methods' taxonomy entries.
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::explainers {

void add_gradient_methods(std::vector<MethodInfo>& registry);
void add_cam_methods(std::vector<MethodInfo>& registry);

// Reduces an input-space attribution [N, C, H, W] to a map [N, H, W]: "max" of |a| over channels,
// "l2" norm, "sum" (signed). 
at::Tensor reduce_channels(const at::Tensor& attribution, const std::string& how);

}  // namespace whitebox::explainers
