#include "canonicalize/canonicalize.hpp"

namespace whitebox::passes {

void explicit_sums(Graph& graph) {
  for (auto& node : graph.nodes) {
    if (node.op_type != "Add") continue;
    const bool computed = node.inputs.size() == 2 && !graph.values[node.inputs[0]].is_constant() &&
                          !graph.values[node.inputs[1]].is_constant();
    if (computed) node.op_type = "Sum";
  }
}

}  // namespace whitebox::passes
