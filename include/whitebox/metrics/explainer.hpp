#pragma once
// An explanation method as a function, for the metrics that re-run it (robustness, randomisation,
// Focus, input invariance, ARCC).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace whitebox::metrics {

// An explanation method as a function: inputs [N, C, H, W] -> maps [N, H, W].
using Explainer = std::function<at::Tensor(const at::Tensor& inputs)>;
// The same for a class given with the call.
using ClassExplainer = std::function<at::Tensor(const at::Tensor& inputs, int64_t cls)>;

}  // namespace whitebox::metrics
