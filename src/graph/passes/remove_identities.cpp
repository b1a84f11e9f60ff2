#include "graph/canonicalize.hpp"

namespace whitebox::passes {

void remove_identities(Graph& graph) {
  const auto readers = graph.consumers();
  std::vector<Node> kept;
  for (auto& node : graph.nodes) {
    const bool identity = node.op_type == "Identity" ||
                          (node.op_type == "Dropout" &&
                           (node.outputs.size() < 2 || node.outputs[1] == kNoValue ||
                            readers[node.outputs[1]].empty()));
    if (identity && node.inputs.at(0) != kNoValue) {
      replace_uses(graph, node.outputs[0], node.inputs[0]);
    } else {
      kept.push_back(std::move(node));
    }
  }
  graph.nodes = std::move(kept);
  graph.index_producers();
}

}  // namespace whitebox::passes
