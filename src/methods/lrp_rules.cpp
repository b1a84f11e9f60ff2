// LRP rules for the nodes that are not linear layers: activations, sums, gates, normalisations,
// pooling. The linear layers' rules are in lrp_linear.cpp.
#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <optional>

#include "methods/lrp.hpp"
#include "methods/treatments.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "whitebox/error.hpp"
#include "whitebox/model.hpp"

namespace whitebox::explainers::lrp {
namespace {

// Whether v is a gate: a value in [0, 1] by its producer (a sigmoid).
bool is_gate(const Graph& graph, ValueId v) {
  const int p = graph.values[v].producer;
  return p >= 0 && ops::traits(graph.nodes[p]).range == ops::OutputRange::UnitInterval;
}

bool is_constant(const Graph& graph, ValueId v) { return v != kNoValue && graph.values[v].is_constant(); }

// The computed input of a node with one computed and otherwise constant inputs, or -1.
int only_computed(const NodeContext& n) {
  int found = -1;
  for (size_t i = 0; i < n.node.inputs.size(); ++i) {
    const ValueId v = n.node.inputs[i];
    if (v == kNoValue || n.graph.values[v].is_constant()) continue;
    if (found >= 0) return -1;
    found = static_cast<int>(i);
  }
  return found;
}

// Whether `v` is computed from `source` by a short chain of nodes with one computed input each
// (element-wise functions of it, such as 1 + erf(x / sqrt 2) of x).
bool computed_from(const Graph& graph, ValueId v, ValueId source, int depth = 6) {
  for (; depth > 0; --depth) {
    const int p = graph.values[v].producer;
    if (p < 0) return false;
    ValueId next = kNoValue;
    for (ValueId in : graph.nodes[p].inputs) {
      if (in == kNoValue || graph.values[in].is_constant()) continue;
      if (next != kNoValue) return false;
      next = in;
    }
    if (next == source) return true;
    if (next == kNoValue) return false;
    v = next;
  }
  return false;
}

// All the relevance of a product or quotient to the input that is not `gate` (held constant).
Tensors gated(const NodeContext& n, const Tensors& out, int gate) {
  Tensors result(n.inputs.size());
  if (!out.empty() && out[0].defined()) {
    result[1 - gate] = at::sum_to(out[0], n.inputs[1 - gate].sizes());
  }
  return result;
}

[[noreturn]] void no_rule(const Node& node, const std::string& why) {
  throw ArgumentError("LRP: no rule for node '" + node.name + "' (" + node.op_type + ")" +
                      (why.empty() ? "" : ": " + why));
}

// Relevance passes through unchanged to input 0 (element-wise activations).
Tensors pass_through(const NodeContext& n, const Tensors& out) {
  Tensors result(n.inputs.size());
  if (!out.empty() && out[0].defined()) result[0] = out[0];
  return result;
}

// z-rule for y = a x + c element-wise (c absorbed or not).
Tensors affine(const NodeContext& n, const Tensors& out, int input, const at::Tensor& scaled,
               const at::Tensor& shift, const Options& options) {
  Tensors result(n.inputs.size());
  if (out.empty() || !out[0].defined()) return result;
  const at::Tensor z = options.bias == Bias::Absorb && shift.defined() ? scaled + shift : scaled;
  const at::Tensor r = scaled * divide(out[0], z, options.stabilizer);
  result[input] = at::sum_to(r, n.inputs[input].sizes());
  return result;
}

double attribute(const Node& node, const std::string& name, double fallback) {
  auto it = node.attributes.find(name);
  if (it == node.attributes.end()) return fallback;
  if (const double* v = std::get_if<double>(&it->second)) return *v;
  if (const int64_t* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  return fallback;
}

// The rules of the nodes that are not linear layers with constant weights, one per trait.
NodeRule pass_through_rule(const Model&, int, const Options&) {
  return NodeRule{pass_through, Reads{false, false}};
}

// The gradient's routing (nullopt: the exact VJP), or the window sums of a pooling's linear
// stand-in.
std::optional<NodeRule> maximum_rule(const Model& model, int node, const Options& options) {
  if (options.maxpool == MaxPoolRule::Winner || !model.program().kernel(node).linear()) {
    return std::nullopt;
  }
  Options window = options;
  window.bias = Bias::Ignore;
  return linear_rule(zero_rule(), window, model);
}

NodeRule addition_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    Tensors result(n.inputs.size());
    if (out.empty() || !out[0].defined()) return result;
    const int computed = only_computed(n);
    bool any_constant = false;
    for (ValueId v : n.node.inputs) any_constant = any_constant || is_constant(n.graph, v);
    if (any_constant) {
      // A bias addition: ignored, or absorbed as the constant's share.
      if (computed < 0) no_rule(n.node, "adds a constant to several computed values");
      at::Tensor shift;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (static_cast<int>(i) == computed || !n.inputs[i].defined()) continue;
        shift = shift.defined() ? shift + n.inputs[i] : n.inputs[i];
      }
      return affine(n, out, computed, n.inputs[computed], shift, options);
    }
    // A residual connection: each input's share of the sum.
    const at::Tensor s = divide(out[0], n.outputs[0], options.sum_epsilon);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.wanted[i]) result[i] = at::sum_to(n.inputs[i] * s, n.inputs[i].sizes());
    }
    return result;
  })};
}

// Whether both inputs of a binary node (Sub, Div) are computed; a constant minus or divided by a
// computed value has no rule.
bool both_computed(const NodeContext& n) {
  if (n.node.inputs.size() != 2 || only_computed(n) == 1) {
    no_rule(n.node, "a constant minus / divided by a computed value has no rule");
  }
  return only_computed(n) < 0;
}

NodeRule subtraction_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    if (!both_computed(n)) return affine(n, out, 0, n.inputs[0], -n.inputs[1], options);
    // a - b of two computed values (a normalisation's centring): the shares a and -b of z.
    Tensors result(n.inputs.size());
    if (out.empty() || !out[0].defined()) return result;
    const at::Tensor s = divide(out[0], n.outputs[0], options.sum_epsilon);
    for (int i = 0; i < 2; ++i) {
      const at::Tensor share = i == 0 ? n.inputs[0] * s : -n.inputs[1] * s;
      if (n.wanted[i]) result[i] = at::sum_to(share, n.inputs[i].sizes());
    }
    return result;
  })};
}

NodeRule division_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    // A computed divisor (a normalisation's deviation) is held constant, as a gate is.
    if (both_computed(n)) return gated(n, out, 1);
    return affine(n, out, 0, n.outputs[0], at::Tensor(), options);
  })};
}

NodeRule product_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    if (n.node.inputs.size() != 2) no_rule(n.node, "");
    const int computed = only_computed(n);
    if (computed >= 0) return affine(n, out, computed, n.outputs[0], at::Tensor(), options);
    // Two computed factors: one must be a gate (a sigmoid, a broadcast per-channel factor as
    // in squeeze-excitation, or a function of the other factor as in GELU or Mish written
    // out), held constant; the other receives all the relevance.
    int gate = -1;
    for (int i = 0; i < 2; ++i) {
      if (gate < 0 && is_gate(n.graph, n.node.inputs[i])) gate = i;
    }
    if (gate < 0 && n.inputs[0].numel() != n.inputs[1].numel()) {
      gate = n.inputs[0].numel() < n.inputs[1].numel() ? 0 : 1;
    }
    for (int i = 0; i < 2 && gate < 0; ++i) {
      if (computed_from(n.graph, n.node.inputs[i], n.node.inputs[1 - i])) gate = i;
    }
    if (gate < 0) no_rule(n.node, "a product of two computed values without a recognisable gate");
    return gated(n, out, gate);
  })};
}

// The deviation held constant (Ali et al. 2022): y = (x - mean x) g / sigma (+ b) is linear in
// x, and the z-rule through it is R_in = x (.) (u - mean u) with u = g R / (z sigma).
NodeRule layer_normalization_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    Tensors result(n.inputs.size());
    if (out.empty() || !out[0].defined()) return result;
    const at::Tensor& x = n.inputs[0];
    int64_t axis = static_cast<int64_t>(attribute(n.node, "axis", -1));
    if (axis < 0) axis += x.dim();
    std::vector<int64_t> dims;
    for (int64_t d = axis; d < x.dim(); ++d) dims.push_back(d);
    const at::Tensor sigma = at::sqrt(at::var(x, dims, /*unbiased=*/false, /*keepdim=*/true) +
                                      attribute(n.node, "epsilon", 1e-5));
    const at::Tensor& scale = n.inputs[1];
    at::Tensor z = (x - x.mean(dims, /*keepdim=*/true)) / sigma * scale;
    if (options.bias == Bias::Absorb && n.inputs.size() > 2 && n.inputs[2].defined())
      z = z + n.inputs[2];
    const at::Tensor u = scale * divide(out[0], z, options.stabilizer) / sigma;
    result[0] = x * (u - u.mean(dims, /*keepdim=*/true));
    return result;
  })};
}

// Linear without constant weights to modify (ReduceMean, ReduceSum): the z-rule through the
// node's own VJP.
NodeRule linear_vjp_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    Tensors result(n.inputs.size());
    if (out.empty() || !out[0].defined()) return result;
    const Tensors c = n.vjp({divide(out[0], n.outputs[0], options.stabilizer)});
    result[0] = n.inputs[0] * c[0];
    return result;
  })};
}

NodeRule batch_normalization_rule(const Model&, int, const Options& options) {
  return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
    for (size_t i = 1; i < 5 && i < n.node.inputs.size(); ++i) {
      if (!is_constant(n.graph, n.node.inputs[i])) no_rule(n.node, "non-constant statistics");
    }
    if (n.node.inputs.size() < 5) no_rule(n.node, "missing inputs");
    const at::Tensor& x = n.inputs[0];
    std::vector<int64_t> shape(x.dim(), 1);
    shape[1] = -1;
    const at::Tensor scale =
        (n.inputs[1] / at::sqrt(n.inputs[4] + attribute(n.node, "epsilon", 1e-5))).reshape(shape);
    const at::Tensor shift = n.inputs[2].reshape(shape) - n.inputs[3].reshape(shape) * scale;
    return affine(n, out, 0, x * scale, shift, options);
  })};
}

// What LRP does with an operator, from its traits: the treatment and the rule together, so that
// they cannot disagree. `rule` is set exactly when the treatment is Treatment::Rule.
struct Entry {
  Treatment treatment;
  std::function<std::optional<NodeRule>(const Model&, int, const Options&)> rule;
};

Entry entry(const ops::Traits& traits) {
  using ops::Layer;
  const Entry unsupported{Treatment::Unsupported, nullptr};
  switch (traits.kind) {
    case ops::OpKind::Rectifier:
    case ops::OpKind::Activation: return {Treatment::Rule, pass_through_rule};
    case ops::OpKind::Maximum: return {Treatment::Rule, maximum_rule};
    // Linear layers with constant weights get their composite's rule; the others the z-rule.
    case ops::OpKind::Linear: return {Treatment::Rule, linear_vjp_rule};
    case ops::OpKind::Affine:
      return traits.layer == Layer::BatchNormalization
                 ? Entry{Treatment::Rule, batch_normalization_rule}
                 : unsupported;
    case ops::OpKind::Sum:
      if (traits.layer == Layer::Addition) return {Treatment::Rule, addition_rule};
      if (traits.layer == Layer::Subtraction) return {Treatment::Rule, subtraction_rule};
      return unsupported;
    case ops::OpKind::Arithmetic:
      if (traits.layer == Layer::Multiplication) return {Treatment::Rule, product_rule};
      if (traits.layer == Layer::Division) return {Treatment::Rule, division_rule};
      return unsupported;
    case ops::OpKind::Mixing:
      return traits.layer == Layer::LayerNormalization
                 ? Entry{Treatment::Rule, layer_normalization_rule}
                 : unsupported;
    case ops::OpKind::Elementwise: return unsupported;
    case ops::OpKind::Reshape:
    case ops::OpKind::Routing:
    case ops::OpKind::ShapeOnly: return {Treatment::Exact, nullptr};
  }
  return unsupported;
}

}  // namespace

std::optional<NodeRule> structural_rule(const Model& model, int node, const Options& options) {
  const Entry e = entry(ops::traits(model.graph().nodes[node]));
  switch (e.treatment) {
    case Treatment::Exact: return std::nullopt;
    case Treatment::Unsupported:
      return NodeRule{
          Rule([](const NodeContext& n, const Tensors&) -> Tensors { no_rule(n.node, ""); }),
          Reads{false, false}};
    case Treatment::Rule: break;
  }
  return e.rule(model, node, options);
}

}  // namespace whitebox::explainers::lrp

namespace whitebox::explainers {

Treatment lrp_treatment(const std::string& op) { return lrp::entry(ops::traits(op)).treatment; }

}  // namespace whitebox::explainers
