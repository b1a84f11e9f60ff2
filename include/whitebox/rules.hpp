#pragma once
// Rules of the reverse sweep. A rule maps the signal arriving at a node's outputs to the signal
// leaving through its inputs. The default rule of every node is the exact vector-Jacobian product
// of its operator; methods (guided backprop, LRP, DeepLIFT, ...) override it per operator kind or
// per node.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "whitebox/graph.hpp"

namespace whitebox {

namespace ops {
class Kernel;  // a node's operator kernel (src/ops/kernel.hpp), internal to the library
}

using Tensors = std::vector<at::Tensor>;

// What a rule sees of one node during the sweep.
struct NodeContext {
  const Graph& graph;
  int node_index;
  const Node& node;
  const ops::Kernel& kernel;  // the node's kernel: its forward, its VJP, its linear form
  const Tensors& inputs;   // the forward values of the node's inputs (undefined for omitted ones)
  // The forward values of its outputs, then what its kernel saved for its VJP (Trace::saved).
  const Tensors& outputs;
  const std::vector<bool>& wanted;  // which inputs need a signal

  // The exact vector-Jacobian product of the node (the gradient rule).
  Tensors vjp(const Tensors& output_signal) const;
};

// Signal through a node: one tensor per node input (undefined where none is wanted).
using Rule = std::function<Tensors(const NodeContext&, const Tensors& output_signal)>;

// Which forward values of its node a rule reads: a lean trace (TraceOptions::lean) keeps them.
struct Reads {
  bool inputs = true;
  bool outputs = true;
};

// A rule table: per-node overrides first, then per-operator rules, then the gradient.
class Rules {
 public:
  Rules& by_op(const std::string& op_type, Rule rule, Reads reads = {});
  Rules& by_node(int node_index, Rule rule, Reads reads = {});
  // The rule for a node, or nullptr for the gradient.
  const Rule* find(int node_index, const Node& node) const;
  // The values that the rules of `graph`'s nodes read: with TraceOptions::keep, a lean trace
  // then serves a sweep with this table (the exact VJPs' reads are kept anyway).
  std::vector<ValueId> values_read(const Graph& graph) const;
  // Makes a sweep with this table check the signal leaving every node: the first one that is
  // not finite throws NumericalError naming the node and the values. It costs a pass over every
  // signal, so methods sweep without it and again with it to diagnose a result that is not
  // finite (explainers::sweep_finite).
  Rules& check_finite();
  bool checks_finite() const { return checks_finite_; }

 private:
  struct Entry {
    Rule rule;
    Reads reads;
  };
  const Entry* entry(int node_index, const Node& node) const;
  std::unordered_map<std::string, Entry> by_op_;
  std::unordered_map<int, Entry> by_node_;
  bool checks_finite_ = false;
};

}  // namespace whitebox
