// The forward trace: runs the nodes in order and keeps every value for the reverse sweep.
#include "engine/engine.hpp"

#include "ops/kernel.hpp"

namespace whitebox::engine {

Trace forward(const Graph& graph, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> values(graph.values.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (graph.values[v].is_constant()) values[v] = graph.values[v].constant;
  }
  values[graph.inputs.at(0)] = x;
  ops::Tensors inputs;
  for (const auto& node : graph.nodes) {
    inputs.clear();
    for (ValueId v : node.inputs) inputs.push_back(v == kNoValue ? at::Tensor() : values[v]);
    ops::Tensors outputs = node.kernel->forward(inputs);
    for (size_t o = 0; o < node.outputs.size() && o < outputs.size(); ++o) {
      values[node.outputs[o]] = std::move(outputs[o]);
    }
  }
  return Trace(std::move(values));
}

}  // namespace whitebox::engine
