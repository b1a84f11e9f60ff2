#include "canonicalize/canonicalize.hpp"

#include <algorithm>

#include "ops/kernel.hpp"

namespace whitebox::passes {

namespace {

// An average pooling over 1x1 windows with stride 1 and no explicit padding (VGG's adaptive
// pooling of a 7x7 map to 7x7 exports as one). Any auto_pad pads such a window by zero.
bool is_identity_pool(const Graph& graph, const Node& node) {
  if (node.op_type != "AveragePool" || node.outputs.size() != 1) return false;
  const ops::NodeView view(graph, node);
  auto all_equal = [](const std::vector<int64_t>& v, int64_t x) {
    return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
  };
  const std::vector<int64_t> kernel = view.ints("kernel_shape", {});
  return !kernel.empty() && all_equal(kernel, 1) && all_equal(view.ints("strides", {}), 1) &&
         all_equal(view.ints("pads", {}), 0);
}

}  // namespace

void remove_identities(Graph& graph) {
  const auto readers = graph.consumers();
  std::vector<Node> kept;
  for (auto& node : graph.nodes) {
    const bool identity = node.op_type == "Identity" || is_identity_pool(graph, node) ||
                          (node.op_type == "Dropout" &&
                           (node.outputs.size() < 2 || node.outputs[1] == kNoValue ||
                            readers[node.outputs[1]].empty()));
    if (identity && node.inputs.at(0) != kNoValue) {
      replace_uses(graph, node.outputs[0], node.inputs[0]);
      // The removed node and value still name the layer.
      graph.aliases[graph.values[node.outputs[0]].name] = node.inputs[0];
      if (!node.name.empty()) graph.aliases[node.name] = node.inputs[0];
    } else {
      kept.push_back(std::move(node));
    }
  }
  graph.nodes = std::move(kept);
  graph.index_producers();
}

}  // namespace whitebox::passes
