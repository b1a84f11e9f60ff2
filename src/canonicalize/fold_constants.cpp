#include <ATen/ATen.h>

#include "canonicalize/canonicalize.hpp"
#include "ops/kernel.hpp"
#include "whitebox/error.hpp"

namespace whitebox::passes {
namespace {

// The outputs' sizes first, on meta tensors (nothing allocated): a node whose output is past the
// tensor limit is refused before it is computed (the mean of an empty initializer of
// [2, 268435449, 0, 8064] over its last axes is 2 GB). A kernel that reads its inputs' values
// (a shape, repeats) cannot run on meta tensors; those check their own sizes when they run.
void check_sizes(const ops::Kernel& kernel, const ops::Tensors& inputs, const Graph& graph,
                 const Node& node) {
  ops::Tensors shapes;
  for (const at::Tensor& t : inputs) {
    shapes.push_back(t.defined() ? at::empty(t.sizes(), t.options().device(at::kMeta)) : t);
  }
  ops::Tensors outputs;
  try {
    outputs = kernel.forward(shapes);
  } catch (const std::exception&) {
    return;
  }
  for (const at::Tensor& t : outputs) {
    if (t.defined()) ops::check_output_size(ops::NodeView(graph, node).label(), t.sizes());
  }
}

}  // namespace

void fold_constants(Graph& graph) {
  at::NoGradGuard no_grad;
  std::vector<Node> kept;
  for (auto& node : graph.nodes) {
    ops::Tensors inputs;
    bool known = true;
    for (ValueId v : node.inputs) {
      if (v == kNoValue) {
        inputs.emplace_back();
      } else if (graph.values[v].is_constant()) {
        inputs.push_back(graph.values[v].constant);
      } else if ((node.op_type == "Shape" || node.op_type == "Size") &&
                 !graph.values[v].shape.empty()) {
        // Only the shape is read: a meta tensor of the static shape stands in for the value.
        inputs.push_back(at::empty(graph.values[v].shape, at::TensorOptions().device(at::kMeta)));
      } else {
        known = false;
      }
    }
    if (!known) {
      kept.push_back(std::move(node));
      continue;
    }
    ops::Tensors outputs;
    try {
      const auto kernel = ops::build(graph, node);
      check_sizes(*kernel, inputs, graph, node);
      outputs = kernel->forward(inputs);
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      // Constants that do not fit together (a Gemm of mismatched weights): the model is broken.
      throw ModelFormatError(ops::NodeView(graph, node).label() +
                             " cannot be computed from its constant inputs: " +
                             e.what_without_backtrace());
    } catch (const std::runtime_error& e) {  // ATen's shape checks (reshape) throw these
      throw ModelFormatError(ops::NodeView(graph, node).label() +
                             " cannot be computed from its constant inputs: " + e.what());
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] == kNoValue) continue;
      auto& value = graph.values[node.outputs[o]];
      value.constant = outputs.at(o);
      value.shape = value.constant.sizes().vec();
      value.producer = -1;
    }
  }
  graph.nodes = std::move(kept);
  graph.index_producers();
}

}  // namespace whitebox::passes
