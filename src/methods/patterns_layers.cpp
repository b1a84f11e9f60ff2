// Which nodes carry a pattern, and the axes of their weights and outputs.
#include "methods/patterns_layers.hpp"

#include <ATen/ATen.h>

#include "ops/kernel.hpp"
#include "ops/program.hpp"

namespace whitebox::explainers::patterns {

std::vector<PatternLayer> pattern_layers(const Model& model) {
  std::vector<PatternLayer> layers;
  for (int i = 0; i < static_cast<int>(model.graph().nodes.size()); ++i) {
    const ops::LinearForm* form = model.program().kernel(i).linear();
    if (!form || form->weight_input() < 0) continue;
    const std::optional<ops::LinearForm::Units> units = form->units();
    if (!units) continue;  // no unit structure to estimate per output
    PatternLayer layer;
    layer.node = i;
    layer.data = form->data_input();
    layer.weight = form->weight_input();
    layer.weight_axis = units->weight_axis;
    layer.output_axis = units->output_axis;
    layer.scale = units->scale;
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
