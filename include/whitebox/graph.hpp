#pragma once
// The intermediate representation: a topologically ordered list of nodes over numbered values.
// Imported from ONNX and canonicalized (see docs/architecture.md); the engine runs it as is.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace whitebox {

using ValueId = int;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input

using Attribute = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>, at::Tensor>;

struct Value {
  std::string name;
  at::Tensor constant;               // defined when the value is known at load time (weights, folded)
  std::vector<int64_t> shape;        // static shape from the model, empty when unknown
  int producer = -1;                 // index of the node that computes it, -1 for inputs/constants
  bool is_constant() const { return constant.defined(); }
};

struct Node {
  std::string name;
  std::string op_type;
  std::vector<ValueId> inputs;   // kNoValue for omitted optional inputs
  std::vector<ValueId> outputs;
  std::map<std::string, Attribute> attributes;
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;       // topological order
  std::vector<ValueId> inputs;   // non-constant graph inputs (the image tensor)
  std::vector<ValueId> outputs;
  std::map<std::string, ValueId> aliases;  // names of values removed by canonicalization
  int64_t opset = 13;

  // The value with this name, or std::nullopt.
  std::optional<ValueId> find(std::string_view name) const;
  // The value a user means by `name`: a value name or a node name (its first output).
  // Throws LookupError listing some valid names.
  ValueId resolve(std::string_view name) const;
  // For each value, the indices of the nodes that read it.
  std::vector<std::vector<int>> consumers() const;
  // Number of parameters: elements of the floating-point constants read by nodes.
  int64_t parameter_count() const;
  // Recomputes Value::producer from the node list.
  void index_producers();
};

}  // namespace whitebox
