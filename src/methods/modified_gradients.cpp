// Modified-gradient methods: the exact vector-Jacobian product everywhere except at ReLU-like
// nodes, whose backward pass only lets positive signal through (guided backprop, deconvnet) or
// is smoothed (beta-smooth). Implemented as rule tables for the model's reverse sweep.
#include <ATen/ATen.h>

#include <functional>
#include <optional>

#include "methods/arguments.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/treatments.hpp"
#include "ops/kernel.hpp"

namespace whitebox::explainers {
namespace {

// A scalar bound of a Clip node: attribute (opset < 11) or constant input (opset >= 11).
std::optional<double> clip_bound(const NodeContext& n, size_t input, const char* attribute) {
  if (auto it = n.node.attributes.find(attribute); it != n.node.attributes.end()) {
    if (const double* v = std::get_if<double>(&it->second)) return *v;
    if (const int64_t* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  }
  if (input < n.node.inputs.size() && n.node.inputs[input] != kNoValue) {
    const Value& value = n.graph.values[n.node.inputs[input]];
    if (value.is_constant() && value.constant.numel() == 1) return value.constant.item<double>();
  }
  return std::nullopt;
}

// Whether a Clip node's bounds are computed values (its rules then keep the exact gradient).
bool computed_bounds(const NodeContext& n) {
  for (size_t i = 1; i < n.node.inputs.size() && i < 3; ++i) {
    const ValueId v = n.node.inputs[i];
    if (v != kNoValue && !n.graph.values[v].is_constant()) return true;
  }
  return false;
}

enum class Mode { Guided, Deconvnet };

// Relu: guided passes relu(g) where x > 0; deconvnet passes relu(g) regardless of x.
Tensors relu_rule(Mode mode, const NodeContext& n, const Tensors& out) {
  Tensors in(n.inputs.size());
  if (!out[0].defined()) return in;
  in[0] = at::relu(out[0]);
  // relu(x) > 0 exactly where x > 0: the output suffices.
  if (mode == Mode::Guided) in[0] = in[0] * (n.outputs[0] > 0).to(in[0].scalar_type());
  return in;
}

// Clip with min 0 is a ReLU (ReLU6 with max 6): the same, guided also masking by the local
// derivative (0 < x < max). Other clips keep the gradient.
Tensors clip_rule(Mode mode, const NodeContext& n, const Tensors& out) {
  const std::optional<double> lo = clip_bound(n, 1, "min");
  if (computed_bounds(n) || !lo || *lo != 0.0 || !out[0].defined()) return n.vjp(out);
  Tensors in(n.inputs.size());
  in[0] = at::relu(out[0]);
  if (mode == Mode::Guided) {
    // 0 < y < max exactly where 0 < x < max: the output suffices.
    at::Tensor passing = n.outputs[0] > 0;
    if (const std::optional<double> hi = clip_bound(n, 2, "max")) passing = passing & (n.outputs[0] < *hi);
    in[0] = in[0] * passing.to(in[0].scalar_type());
  }
  return in;
}

// Beta-smooth (Dombrowski et al.; Zennit's BetaSmooth): the backward pass of a rectifier is that
// of its softplus smoothing, sigmoid(beta x) for Relu and, for Clip(lo, hi), that of the smooth
// clip softplus(x - lo) - softplus(x - hi): sigmoid(beta (x - lo)) - sigmoid(beta (x - hi)), a
// missing bound dropping its term. The forward pass is unchanged.
Tensors smooth_rule(double beta, bool relu, const NodeContext& n, const Tensors& out) {
  if (out.empty() || !out[0].defined()) return Tensors(n.inputs.size());
  if (!relu && computed_bounds(n)) return n.vjp(out);
  const at::Tensor& x = n.inputs[0];
  at::Tensor slope;
  if (relu) {
    slope = at::sigmoid(beta * x);
  } else {
    const std::optional<double> lo = clip_bound(n, 1, "min"), hi = clip_bound(n, 2, "max");
    slope = lo ? at::sigmoid(beta * (x - *lo)) : at::ones_like(x);
    if (hi) slope = slope - at::sigmoid(beta * (x - *hi));
  }
  Tensors in(n.inputs.size());
  in[0] = out[0] * slope;
  return in;
}

// A rule table giving every rectifier the rule `make` returns for it (for Relu: relu true; for
// Clip: false), reading what `reads` says. The operator is told apart once, here, not per node.
Rules rectifier_rules(const std::function<Rule(bool relu)>& make, Reads reads) {
  Rules rules;
  for (const std::string& op : ops::supported_operators()) {
    if (guided_treatment(op) == Treatment::Rule) {
      rules.by_op(op, make(ops::traits(op).layer == ops::Layer::Relu), reads);
    }
  }
  return rules;
}

Rules rules_for(Mode mode) {
  return rectifier_rules(
      [mode](bool relu) -> Rule {
        if (relu)
          return
              [mode](const NodeContext& n, const Tensors& out) { return relu_rule(mode, n, out); };
        return [mode](const NodeContext& n, const Tensors& out) { return clip_rule(mode, n, out); };
      },
      Reads{});
}

// The sweep from the target logit to the input under `rules`, its channels reduced by "reduce".
Explanation modified_sweep(const Context& c, const Rules& rules) {
  const std::string reduce = c.params.text("reduce");
  Explanation e;
  e.attribution =
      c.model.sweep(c.trace, {{c.model.output(), target_one_hot(c)}}, {c.model.input()}, rules)[0];
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";
  return e;
}

Explanation modified_gradient(const Context& c, Mode mode) {
  static const Rules guided = rules_for(Mode::Guided), deconvnet = rules_for(Mode::Deconvnet);
  return modified_sweep(c, mode == Mode::Guided ? guided : deconvnet);
}

Explanation beta_smooth(const Context& c) {
  const double beta = c.params.number("beta");
  return modified_sweep(c, rectifier_rules(
                               [beta](bool relu) -> Rule {
                                 return [beta, relu](const NodeContext& n, const Tensors& out) {
                                   return smooth_rule(beta, relu, n, out);
                                 };
                               },
                               Reads{/*inputs=*/true, /*outputs=*/false}));
}

const char* kReluOnly =
    " Only ReLU-like nodes are modified: Relu, and Clip with min 0 (ReLU6); every other node, "
    "other activations included (LeakyRelu, PRelu, SiLU as Sigmoid*Mul, HardSwish, GELU, ...), "
    "passes the exact gradient, so on a ReLU-free network the result is the plain gradient.";

}  // namespace

Treatment guided_treatment(const std::string& op) {
  switch (ops::traits(op).kind) {
    case ops::OpKind::Rectifier: return Treatment::Rule;
    case ops::OpKind::Activation:
    case ops::OpKind::Elementwise:
    case ops::OpKind::Sum:
    case ops::OpKind::Arithmetic:
    case ops::OpKind::Linear:
    case ops::OpKind::Affine:
    case ops::OpKind::Maximum:
    case ops::OpKind::Mixing:
    case ops::OpKind::Reshape:
    case ops::OpKind::Routing:
    case ops::OpKind::ShapeOnly: return Treatment::Exact;
  }
  return Treatment::Exact;
}

void add_modified_gradient_methods(std::vector<MethodInfo>& registry) {
  const auto method = [&](std::string name, std::vector<std::string> aliases, std::string summary,
                          std::string citation, Mode mode) {
    registry.push_back({.name = std::move(name),
                        .aliases = std::move(aliases),
                        .family = Family::Gradient,
                        .summary = std::move(summary) + kReluOnly,
                        .needs_gradient = true,
                        .resolution = Resolution::Input,
                        .cost = "1 forward + 1 modified backward",
                        .hyperparameters = {choice_parameter(
                            "reduce", "max", "channel reduction: max (of |a|), l2, sum (signed)",
                            {"max", "l2", "sum"})},
                        .citation = std::move(citation),
                        .run = [mode](const Context& c) { return modified_gradient(c, mode); },
                        .scheduling = {.trace_use = Scheduling::TraceUse::InputGradients}});
  };
  method("guided-backprop", {"guided-backpropagation", "guided"},
         "gradient in which ReLU-like nodes pass only positive signal, and only where their "
         "forward input was positive (and below a Clip's max): sharp edges, weakly "
         "class-discriminative.",
         "Springenberg, Dosovitskiy, Brox, Riedmiller. Striving for Simplicity: The All "
         "Convolutional Net. ICLR Workshop 2015",
         Mode::Guided);
  method("deconvnet", {"deconvolution"},
         "backward pass in which ReLU-like nodes pass only positive signal, ignoring the forward "
         "activations (the 'deconvolution' network).",
         "Zeiler, Fergus. Visualizing and Understanding Convolutional Networks. ECCV 2014",
         Mode::Deconvnet);
  registry.push_back(
      {.name = "beta-smooth",
       .aliases = {"betasmooth", "softplus-gradient"},
       .family = Family::Gradient,
       .summary = "gradient in which each ReLU-like node passes the derivative of its softplus "
                  "smoothing, sigmoid(beta x) (for ReLU6, sigmoid(beta x) - sigmoid(beta (x - "
                  "6))), instead of its step: the forward pass unchanged, a gradient less "
                  "sensitive to tiny input changes; large beta gives the plain gradient." +
                  std::string(kReluOnly),
       .class_discriminative = true,
       .needs_gradient = true,
       .resolution = Resolution::Input,
       .cost = "1 forward + 1 modified backward",
       .hyperparameters = {number_parameter("beta", "10",
                                            "softplus sharpness (larger: closer to the gradient)",
                                            1e-6),
                           choice_parameter("reduce", "max",
                                            "channel reduction: max (of |a|), l2, sum (signed)",
                                            {"max", "l2", "sum"})},
       .citation = "Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be "
                   "manipulated and geometry is to blame. NeurIPS 2019",
       .run = beta_smooth});
}

}  // namespace whitebox::explainers
