#pragma once
// The layers that carry a signal pattern (Conv, Gemm, MatMul with a constant weight) and the
// geometry the pattern code needs of them. Internal to the pattern methods.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "whitebox/model.hpp"

namespace whitebox::explainers::patterns {

struct PatternLayer {
  int node = -1;             // index in Graph::nodes
  int data = 0, weight = 1;  // which node inputs are x and W
  int64_t weight_axis = 0;   // the axis of W that indexes the output units
  int64_t output_axis = 1;   // the axis of y that does (negative: from the end)
  double scale = 1.0;        // y = scale * W x + b (Gemm's alpha)
};

// In topological order. Average pooling (implicit weight), max pooling and every other node have
// none: the pattern methods pass their gradient.
std::vector<PatternLayer> pattern_layers(const Model& model);

// A per-unit vector [K] shaped to broadcast along `axis` of a tensor of rank `rank`.
at::Tensor along(const at::Tensor& units, int64_t axis, int64_t rank);
// Sums over every axis but `axis`: [K].
at::Tensor sum_except(const at::Tensor& t, int64_t axis);

}  // namespace whitebox::explainers::patterns
