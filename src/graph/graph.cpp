#include "whitebox/graph.hpp"

#include <algorithm>

#include "closest.hpp"
#include "whitebox/error.hpp"

namespace whitebox {

std::optional<ValueId> Graph::find(std::string_view name) const {
  // An alias first: it names a value that canonicalization replaced.
  auto alias = aliases.find(std::string(name));
  if (alias != aliases.end()) return alias->second;
  for (size_t v = 0; v < values.size(); ++v) {
    if (values[v].name == name) return static_cast<ValueId>(v);
  }
  return std::nullopt;
}

ValueId Graph::resolve(std::string_view name) const {
  if (auto v = find(name)) return *v;
  for (const auto& node : nodes) {
    if (node.name == name && !node.outputs.empty()) return node.outputs.front();
  }
  std::vector<std::string> names;
  for (const auto& node : nodes) {
    names.push_back(node.name);
    for (ValueId v : node.outputs) {
      if (v != kNoValue) names.push_back(values[v].name);
    }
  }
  throw LookupError("no layer or value named '" + std::string(name) + "' in the model" +
                    did_you_mean(name, names) + "; the layers: whitebox inspect");
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> result(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (ValueId v : nodes[n].inputs) {
      if (v != kNoValue) result[v].push_back(static_cast<int>(n));
    }
  }
  return result;
}

int64_t Graph::parameter_count() const {
  std::vector<bool> read(values.size(), false);
  for (const auto& node : nodes) {
    for (ValueId v : node.inputs) {
      if (v != kNoValue) read[v] = true;
    }
  }
  int64_t count = 0;
  for (size_t v = 0; v < values.size(); ++v) {
    const auto& c = values[v].constant;
    if (read[v] && c.defined() && c.is_floating_point()) count += c.numel();
  }
  return count;
}

void Graph::index_producers() {
  for (auto& value : values) value.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (ValueId v : nodes[n].outputs) values[v].producer = static_cast<int>(n);
  }
}

}  // namespace whitebox
