#pragma once
// Helpers of the operator tests: compare a model's forward value and sweep gradient with an
// independent reference differentiated by torch autograd, and build small multi-node graphs.
#include <torch/csrc/autograd/autograd.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support.hpp"
#include "whitebox/error.hpp"

namespace whitebox::test {

using Reference = std::function<at::Tensor(const at::Tensor& x)>;

// Relative errors of the model's output and of its sweep gradient (for a random output signal)
// against `reference(x)` and the autograd gradient of the reference.
struct ReferenceErrors {
  double forward = INFINITY;
  double gradient = INFINITY;
};

inline ReferenceErrors compare_to_reference(const Model& model, const at::Tensor& x,
                                            const Reference& reference) {
  at::Tensor expected, expected_grad, seed;
  {
    at::AutoGradMode grad_mode(true);
    at::Tensor leaf = x.detach().requires_grad_(true);
    at::Tensor y = reference(leaf);
    seed = at::randn_like(y);
    expected_grad = torch::autograd::grad({y}, {leaf}, {seed}, /*retain_graph=*/false,
                                          /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (!expected_grad.defined()) expected_grad = at::zeros_like(x);
    expected = y.detach();
  }
  ReferenceErrors errors;
  Trace trace = model.forward(x);
  errors.forward = relative_error(trace[model.output()], expected);
  if (trace[model.output()].sizes().equals(seed.sizes())) {
    errors.gradient = relative_error(model.sweep(trace, {{model.output(), seed}}).at(0), expected_grad);
  }
  return errors;
}

// Float64 agreement expected of every operator.
constexpr double kTolerance = 1e-10;

// Forward value and sweep gradient of `model` both within kTolerance of `reference`.
#define EXPECT_MATCHES(model, x, reference)                                   \
  do {                                                                        \
    const ReferenceErrors errors = compare_to_reference(model, x, reference); \
    EXPECT_LT(errors.forward, kTolerance);                                    \
    EXPECT_LT(errors.gradient, kTolerance);                                   \
  } while (0)

// One node of a hand-built graph: op over named values ("x" is the graph input, other names are
// constants or earlier outputs; "" is an omitted input), producing `output`.
struct Step {
  std::string op;
  std::vector<std::string> inputs;
  std::string output;
  std::map<std::string, Attribute> attributes = {};
};

// A model of the steps in order; its output is the last step's output.
inline Model steps_model(const std::vector<int64_t>& input_shape,
                         const std::map<std::string, at::Tensor>& constants,
                         const std::vector<Step>& steps, int64_t opset = 13) {
  Graph graph;
  graph.opset = opset;
  std::map<std::string, ValueId> ids;
  auto add_value = [&](const std::string& name, at::Tensor constant, std::vector<int64_t> shape) {
    graph.values.push_back(Value{name, std::move(constant), std::move(shape), -1});
    return ids[name] = static_cast<ValueId>(graph.values.size() - 1);
  };
  graph.inputs = {add_value("x", {}, input_shape)};
  for (const auto& [name, value] : constants) add_value(name, value, value.sizes().vec());
  for (const auto& step : steps) {
    Node node;
    node.name = step.output + "_node";
    node.op_type = step.op;
    node.attributes = step.attributes;
    for (const auto& name : step.inputs) node.inputs.push_back(name.empty() ? kNoValue : ids.at(name));
    node.outputs = {add_value(step.output, {}, {})};
    graph.nodes.push_back(std::move(node));
  }
  graph.outputs = graph.nodes.back().outputs;
  graph.index_producers();
  return Model::from_graph(std::move(graph));
}

}  // namespace whitebox::test
