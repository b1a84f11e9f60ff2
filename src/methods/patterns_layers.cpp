// Which nodes carry a pattern, and the axes of their weights and outputs.
#include "methods/patterns_layers.hpp"

#include <ATen/ATen.h>

#include "ops/kernel.hpp"

namespace whitebox::explainers::patterns {
namespace {

template <typename T>
T attribute_or(const Node& node, const char* name, T fallback) {
  if (auto it = node.attributes.find(name); it != node.attributes.end()) {
    if (const T* v = std::get_if<T>(&it->second)) return *v;
  }
  return fallback;
}

}  // namespace

std::vector<PatternLayer> pattern_layers(const Graph& graph) {
  std::vector<PatternLayer> layers;
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    const Node& node = graph.nodes[i];
    const ops::LinearForm* form = node.kernel ? node.kernel->linear() : nullptr;
    if (!form || form->weight_input() < 0) continue;
    PatternLayer layer;
    layer.node = i;
    layer.data = form->data_input();
    layer.weight = form->weight_input();
    const at::Tensor& w = graph.values[node.inputs[layer.weight]].constant;
    if (node.op_type == "Conv") {
      layer.weight_axis = 0;
      layer.output_axis = 1;
    } else if (node.op_type == "Gemm") {
      // B is [in, out], or [out, in] with transB; y = alpha A' B' + beta C.
      layer.weight_axis = attribute_or<int64_t>(node, "transB", 0) != 0 ? 0 : 1;
      layer.output_axis = 1;
      layer.scale = attribute_or<double>(node, "alpha", 1.0);
    } else if (node.op_type == "MatMul" && w.dim() == 2) {
      layer.weight_axis = 1;
      layer.output_axis = -1;
    } else {
      continue;  // a batched or 1-D MatMul weight: no unit structure to estimate per output
    }
    layers.push_back(layer);
  }
  return layers;
}

at::Tensor along(const at::Tensor& units, int64_t axis, int64_t rank) {
  std::vector<int64_t> shape(rank, 1);
  shape[axis < 0 ? axis + rank : axis] = units.numel();
  return units.reshape(shape);
}

at::Tensor sum_except(const at::Tensor& t, int64_t axis) {
  const int64_t a = axis < 0 ? axis + t.dim() : axis;
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d != a) dims.push_back(d);
  }
  return dims.empty() ? t : t.sum(dims);
}

}  // namespace whitebox::explainers::patterns
