#include "canonicalize/canonicalize.hpp"

namespace whitebox::passes {

void prune(Graph& graph) {
  // Backwards: a node stays if one of its outputs is a graph output or read by a kept node.
  std::vector<bool> used(graph.values.size(), false);
  for (ValueId v : graph.outputs) used[v] = true;
  std::vector<bool> keep(graph.nodes.size(), false);
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    for (ValueId v : graph.nodes[n].outputs) keep[n] = keep[n] || (v != kNoValue && used[v]);
    if (!keep[n]) continue;
    for (ValueId v : graph.nodes[n].inputs) {
      if (v != kNoValue) used[v] = true;
    }
  }
  for (ValueId v : graph.inputs) used[v] = true;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!keep[n]) continue;
    for (ValueId v : graph.nodes[n].outputs) {
      if (v != kNoValue) used[v] = true;
    }
  }

  // Renumber the surviving values densely.
  std::vector<ValueId> remap(graph.values.size(), kNoValue);
  std::vector<Value> values;
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (!used[v]) continue;
    remap[v] = static_cast<ValueId>(values.size());
    values.push_back(std::move(graph.values[v]));
  }
  auto renumber = [&](std::vector<ValueId>& ids) {
    for (auto& v : ids) v = v == kNoValue ? kNoValue : remap[v];
  };
  std::vector<Node> nodes;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!keep[n]) continue;
    renumber(graph.nodes[n].inputs);
    renumber(graph.nodes[n].outputs);
    nodes.push_back(std::move(graph.nodes[n]));
  }
  renumber(graph.inputs);
  renumber(graph.outputs);
  std::map<std::string, ValueId> aliases;
  for (auto& [name, v] : graph.aliases) {
    if (remap[v] != kNoValue) aliases[name] = remap[v];
  }
  graph.values = std::move(values);
  graph.nodes = std::move(nodes);
  graph.aliases = std::move(aliases);
  graph.index_producers();
}

}  // namespace whitebox::passes
