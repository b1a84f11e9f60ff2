#include "canonicalize/canonicalize.hpp"

namespace whitebox::passes {

void canonicalize(Graph& graph) {
  remove_identities(graph);
  fold_constants(graph);
  fold_batchnorm(graph);
  explicit_sums(graph);
  prune(graph);
}

void replace_uses(Graph& graph, ValueId from, ValueId to) {
  for (auto& node : graph.nodes) {
    for (auto& v : node.inputs) {
      if (v == from) v = to;
    }
  }
  for (auto& v : graph.outputs) {
    if (v == from) {
      v = to;
      graph.aliases[graph.values[from].name] = to;
    }
  }
  for (auto& [name, v] : graph.aliases) {
    if (v == from) v = to;
  }
}

ValueId add_constant(Graph& graph, const std::string& name, at::Tensor constant) {
  graph.values.push_back(Value{name, std::move(constant), {}, -1});
  graph.values.back().shape = graph.values.back().constant.sizes().vec();
  return static_cast<ValueId>(graph.values.size() - 1);
}

}  // namespace whitebox::passes
