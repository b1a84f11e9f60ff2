#include "graph/canonicalize.hpp"

#include <algorithm>

namespace whitebox::passes {

namespace {

// An average pooling over 1x1 windows with stride 1 and no padding (VGG's adaptive pooling of a
// 7x7 map to 7x7 exports as one).
bool is_identity_pool(const Node& node) {
  if (node.op_type != "AveragePool" || node.outputs.size() != 1) return false;
  auto ints = [&](const std::string& name) {
    auto it = node.attributes.find(name);
    const auto* v = it == node.attributes.end() ? nullptr : std::get_if<std::vector<int64_t>>(&it->second);
    return v ? *v : std::vector<int64_t>{};
  };
  auto all_equal = [](const std::vector<int64_t>& v, int64_t x) {
    return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
  };
  auto pad = node.attributes.find("auto_pad");
  const bool explicit_pads = pad == node.attributes.end() ||
                             std::get_if<std::string>(&pad->second) == nullptr ||
                             std::get<std::string>(pad->second) == "NOTSET" ||
                             std::get<std::string>(pad->second) == "VALID";
  const std::vector<int64_t> kernel = ints("kernel_shape");
  return !kernel.empty() && all_equal(kernel, 1) && all_equal(ints("strides"), 1) &&
         all_equal(ints("pads"), 0) && explicit_pads;
}

}  // namespace

void remove_identities(Graph& graph) {
  const auto readers = graph.consumers();
  std::vector<Node> kept;
  for (auto& node : graph.nodes) {
    const bool identity = node.op_type == "Identity" || is_identity_pool(node) ||
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
