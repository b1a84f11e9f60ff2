#pragma once
// A graph bound to its kernels: the canonicalized graph a model runs, with one kernel per node,
// built once when the model is made. The IR (whitebox/graph.hpp) knows nothing of kernels; the
// engine and the methods reach a node's kernel here, by the node's index.
#include <memory>
#include <vector>

#include "ops/kernel.hpp"
#include "whitebox/graph.hpp"

namespace whitebox::ops {

class Program {
 public:
  // Builds the kernel of every node of `graph`. Throws UnsupportedOperator for an operator
  // without a kernel, ModelFormatError naming the node for attributes or constant inputs that
  // its kernel refuses (ATen's errors among them).
  explicit Program(Graph graph);

  const Graph& graph() const { return graph_; }
  // The kernel of node `node` (an index in graph().nodes).
  const Kernel& kernel(int node) const { return *kernels_[node]; }

 private:
  Graph graph_;
  std::vector<std::unique_ptr<const Kernel>> kernels_;  // by node index
};

}  // namespace whitebox::ops
