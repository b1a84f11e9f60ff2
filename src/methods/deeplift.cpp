// DeepLIFT: the difference of the input from a reference input, x - x0, explains the difference
// of the target logit, f(x) - f(x0). Multipliers m (contribution per unit of difference) replace
// the gradient in the reverse sweep:
//  - nodes whose output difference is linear in their input differences (Conv, Gemm, pooling by
//    averages, BatchNorm, sums, reshapes, concatenations, ...) pass them by their exact VJP;
//  - element-wise non-linearities use the Rescale rule m_in = m_out dy / dx, or RevealCancel,
//    which gives the positive and negative parts of dx their own multipliers;
//  - max-pooling gives each window's dy to its winner at x where it rose, at x0 where it fell;
//  - element-wise products (gates) and other binary operators split dy between their two
//    computed inputs symmetrically (the Shapley values of the two differences);
//  - smooth non-linearities that mix elements (Softmax, LRN, LayerNormalization, ...) pass their
//    gradient integrated along the straight path from x0 to x (integrated gradients of the node);
// so that sum(m_in dx) = sum(m_out dy) at every node: summation-to-delta, reported with the gap.
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <set>

#include "methods/arguments.hpp"
#include "methods/baseline.hpp"
#include "methods/lrp.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/quadrature.hpp"
#include "methods/treatments.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"

namespace whitebox::explainers {
namespace {

// Gauss-Legendre points of the path integral over a mixing node: exact for polynomials of degree
// 15 along the path.
constexpr int64_t kPathPoints = 8;

enum class Nonlinearity { Rescale, RevealCancel };

// What the rules share: both forward traces and the RevealCancel hand-over.
struct Sweep {
  const Model& model;
  const Graph& graph;
  const Trace& trace;      // of the input
  const Trace& reference;  // of the reference input
  double eps;              // |dx| at or below which the gradient stands in for dy / dx
  std::vector<int> consumers;  // number of nodes reading each value
  // RevealCancel: the multiplier of the negative part of dx at a value, left by the activation
  // that reads it for the value's producer (the signal it sends is the positive part's).
  std::map<ValueId, at::Tensor> negative;

  at::Tensor delta(ValueId v) const { return trace[v] - reference[v]; }
  // A linear node's weight split by sign, {W+, W-}; undefined for an implicit (pooling) weight.
  std::pair<at::Tensor, at::Tensor> signed_weights(const Node& node, const ops::LinearForm& form) const {
    if (form.weight_input() < 0) return {};
    const ValueId w = node.inputs[form.weight_input()];
    return {lrp::signed_weight(model, w, trace[w], true), lrp::signed_weight(model, w, trace[w], false)};
  }
  // contribution / dx where |dx| > eps, else the gradient's multiplier (computed only then).
  // `contribution` is a temporary of dx's shape: the quotient is written into it.
  template <typename Gradient>
  at::Tensor ratio(at::Tensor contribution, const at::Tensor& dx, Gradient gradient) const {
    const at::Tensor magnitude = dx.abs();
    const at::Tensor q = contribution.sizes().equals(dx.sizes()) ? contribution.div_(dx)
                                                                 : contribution / dx;
    if (dx.numel() == 0 || magnitude.min().item<double>() > eps) return q;
    // Where |dx| <= eps the quotient may be inf or nan: where() selects the gradient there.
    return at::where(magnitude > eps, q, gradient());
  }
};

// The computed inputs of a node (not constants, not omitted).
std::vector<int> computed_inputs(const Graph& graph, const Node& node) {
  std::vector<int> found;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ValueId v = node.inputs[i];
    if (v != kNoValue && !graph.values[v].is_constant()) found.push_back(static_cast<int>(i));
  }
  return found;
}

// The node's first output with `input` replaced by `value`.
at::Tensor rerun(const NodeContext& n, int input, const at::Tensor& value) {
  Tensors inputs = n.inputs;
  inputs[input] = value;
  return n.kernel.forward(inputs)[0];
}

// A linear producer of the value an activation reads, whose input differences RevealCancel
// splits by sign: a Conv / Gemm / MatMul / average pool (not max-pooling's stand-in), or a Sum.
bool splits_by_sign(const Model& model, int producer) {
  const Node& node = model.graph().nodes[producer];
  const ops::OpKind kind = ops::traits(node).kind;
  if (kind == ops::OpKind::Sum) return ops::traits(node).layer == ops::Layer::Addition;
  return kind == ops::OpKind::Linear && model.program().kernel(producer).linear();
}

// The positive and negative parts of dx at a linear producer's output: the sums of its input
// differences' positive and negative contributions (biases cancel in differences).
std::pair<at::Tensor, at::Tensor> signed_parts(const Sweep& s, int producer_index) {
  const Node& producer = s.graph.nodes[producer_index];
  if (const ops::LinearForm* form = s.model.program().kernel(producer_index).linear();
      form && ops::traits(producer).kind == ops::OpKind::Linear) {
    const ValueId a = producer.inputs[form->data_input()];
    const at::Tensor da = s.delta(a);
    const auto [wp, wn] = s.signed_weights(producer, *form);
    const at::Tensor up = da.clamp_min(0), down = da.clamp_max(0);
    if (!wp.defined()) return {form->apply(up, wp, {}), form->apply(down, wp, {})};  // weights >= 0
    return {form->apply(up, wp, {}) + form->apply(down, wn, {}),
            form->apply(down, wp, {}) + form->apply(up, wn, {})};
  }
  const at::Tensor& out = s.trace[producer.outputs[0]];
  at::Tensor up = at::zeros_like(out), down = at::zeros_like(out);
  for (ValueId v : producer.inputs) {
    if (v == kNoValue || s.graph.values[v].is_constant()) continue;
    const at::Tensor d = s.delta(v);
    up = up + d.clamp_min(0);
    down = down + d.clamp_max(0);
  }
  return {up, down};
}

// Rescale / RevealCancel at an element-wise node with one computed input.
Tensors elementwise(const std::shared_ptr<Sweep>& s, Nonlinearity kind, const NodeContext& n,
                    const Tensors& out, int k) {
  Tensors result(n.inputs.size());
  if (out.empty() || !out[0].defined()) return result;
  const ValueId xv = n.node.inputs[k];
  const at::Tensor& x = n.inputs[k];
  const at::Tensor& x0 = s->reference[xv];
  const at::Tensor dx = x - x0;
  auto gradient = [&] { return n.vjp(out)[k]; };
  if (kind == Nonlinearity::Rescale) {
    at::Tensor dy = n.outputs[0] - s->reference[n.node.outputs[0]];
    result[k] = s->ratio(dy.mul_(out[0]), dx, gradient);
    return result;
  }
  // RevealCancel: dy+ and dy- are the average effects of adding dx+ (dx-) before and after the
  // other part.
  const int producer = s->graph.values[xv].producer;
  const bool split = producer >= 0 && splits_by_sign(s->model, producer) && s->consumers[xv] == 1 &&
                     !s->graph.values[xv].is_constant();
  at::Tensor up, down;
  if (split) {
    std::tie(up, down) = signed_parts(*s, producer);
  } else {
    up = dx.clamp_min(0);
    down = dx.clamp_max(0);
  }
  const at::Tensor y = n.outputs[0], y0 = s->reference[n.node.outputs[0]];
  const at::Tensor y_up = rerun(n, k, x0 + up), y_down = rerun(n, k, x0 + down);
  const at::Tensor dy_up = 0.5 * ((y_up - y0) + (y - y_down));
  const at::Tensor dy_down = 0.5 * ((y_down - y0) + (y - y_up));
  const at::Tensor m_up = s->ratio(out[0] * dy_up, up, gradient);
  const at::Tensor m_down = s->ratio(out[0] * dy_down, down, gradient);
  if (split) {
    s->negative[xv] = m_down;
    result[k] = m_up;
  } else {  // dx is all positive or all negative at each unit
    result[k] = at::where(dx > 0, m_up, m_down);
  }
  return result;
}

// A producer receiving the two RevealCancel multipliers: each input difference's part goes by
// its sign, positive contributions (w+ da+, w- da-) with m+ and negative ones with m-.
Tensors split_producer(const Sweep& s, const NodeContext& n, const at::Tensor& m_up,
                       const at::Tensor& m_down) {
  Tensors result(n.inputs.size());
  auto by_sign = [](const at::Tensor& da, const at::Tensor& when_up, const at::Tensor& when_down) {
    return at::where(da > 0, when_up, at::where(da < 0, when_down, 0.5 * (when_up + when_down)));
  };
  if (const ops::LinearForm* form = n.kernel.linear();
      form && ops::traits(n.node).kind == ops::OpKind::Linear) {
    const int data = form->data_input();
    const at::Tensor& a = n.inputs[data];
    const auto [wp, wn] = s.signed_weights(n.node, *form);
    const at::Tensor da = s.delta(n.node.inputs[data]);
    if (!wp.defined()) {  // an implicit weight (pooling), >= 0
      result[data] = by_sign(da, form->apply_transpose(m_up, a, wp), form->apply_transpose(m_down, a, wp));
    } else {
      result[data] = by_sign(da, form->apply_transpose(m_up, a, wp) + form->apply_transpose(m_down, a, wn),
                             form->apply_transpose(m_down, a, wp) + form->apply_transpose(m_up, a, wn));
    }
    return result;
  }
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (!n.wanted[i]) continue;
    const at::Tensor da = s.delta(n.node.inputs[i]).expand_as(m_up);
    result[i] = at::sum_to(by_sign(da, m_up, m_down), n.inputs[i].sizes());
  }
  return result;
}

// Max-pooling: a window's difference goes to the winner of the larger side: to its winner at x
// where the maximum rose, to its winner at x0 where it fell. That input's difference is then
// non-zero (at least |dy|), so nothing is lost.
Tensors maximum(const Sweep& s, const NodeContext& n, const Tensors& out) {
  Tensors result(n.inputs.size());
  if (out.empty() || !out[0].defined()) return result;
  const at::Tensor dy = n.outputs[0] - s.reference[n.node.outputs[0]];
  const at::Tensor dx = n.inputs[0] - s.reference[n.node.inputs[0]];
  Tensors reference_inputs, reference_outputs;
  for (ValueId v : n.node.inputs) reference_inputs.push_back(v == kNoValue ? at::Tensor() : s.reference[v]);
  for (ValueId v : n.node.outputs) reference_outputs.push_back(s.reference[v]);
  const at::Tensor rose = n.vjp({out[0] * dy.clamp_min(0)})[0];
  const at::Tensor fell =
      n.kernel.vjp(reference_inputs, reference_outputs, {out[0] * dy.clamp_max(0)}, n.wanted)[0];
  result[0] = s.ratio(rose + fell, dx, [&] { return n.vjp(out)[0]; });
  return result;
}

// Two computed inputs a, b: a's contribution is the mean of its effects with b at b0 and at b.
// Where da vanishes, its multiplier is the limit of contribution / da: the mean of the
// derivatives at (a, b0) and (a, b) ((b0 + b) / 2 for a product).
Tensors shapley_pair(const Sweep& s, const NodeContext& n, const Tensors& out) {
  Tensors result(n.inputs.size());
  if (out.empty() || !out[0].defined()) return result;
  const at::Tensor y = n.outputs[0], y0 = s.reference[n.node.outputs[0]];
  for (int k = 0; k < 2; ++k) {
    if (!n.wanted[k]) continue;
    const ValueId self = n.node.inputs[k], other = n.node.inputs[1 - k];
    Tensors inputs = n.inputs;
    inputs[k] = s.reference[self];
    const at::Tensor without_self = n.kernel.forward(inputs)[0];  // (x0_k, x_other)
    inputs = n.inputs;
    inputs[1 - k] = s.reference[other];
    const at::Tensor only_self = n.kernel.forward(inputs)[0];  // (x_k, x0_other)
    const at::Tensor contribution = 0.5 * ((only_self - y0) + (y - without_self));
    std::vector<bool> wanted(n.inputs.size(), false);
    wanted[k] = true;
    auto limit = [&] {
      return 0.5 * (n.vjp(out)[k] + n.kernel.vjp(inputs, {only_self}, out, wanted)[k]);
    };
    result[k] = s.ratio(at::sum_to(out[0] * contribution, n.inputs[k].sizes()), s.delta(self), limit);
  }
  return result;
}

// A mixing node with one computed input k: m_in = integral over t of J(x0 + t dx)^T m_out, so
// that m_in . dx = m_out . dy up to the quadrature's error.
Tensors path_integral(const Sweep& s, const NodeContext& n, const Tensors& out, int k) {
  Tensors result(n.inputs.size());
  if (out.empty() || !out[0].defined()) return result;
  const at::Tensor x0 = s.reference[n.node.inputs[k]], dx = n.inputs[k] - x0;
  std::vector<bool> wanted(n.inputs.size(), false);
  wanted[k] = true;
  const Quadrature q = quadrature("gauss-legendre", kPathPoints);
  at::Tensor m = at::zeros_like(dx);
  for (size_t i = 0; i < q.alphas.size(); ++i) {
    Tensors inputs = n.inputs;
    inputs[k] = x0 + q.alphas[i] * dx;
    const Tensors outputs = n.kernel.forward(inputs);
    m += q.weights[i] * n.kernel.vjp(inputs, outputs, out, wanted)[k];
  }
  result[k] = m;
  return result;
}

// Whether the operator multiplies or divides: linear when one factor is a constant.
bool scales(ops::Layer layer) {
  return layer == ops::Layer::Multiplication || layer == ops::Layer::Division;
}

Rules deeplift_rules(const std::shared_ptr<Sweep>& s, Nonlinearity kind) {
  const Graph& graph = s->graph;
  Rules rules;
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    const Node& node = graph.nodes[i];
    const std::vector<int> computed = computed_inputs(graph, node);
    const bool own_rule = deeplift_treatment(node.op_type) == Treatment::Rule;
    const ops::OpKind op = ops::traits(node).kind;
    if (own_rule && computed.size() == 2 && op == ops::OpKind::Arithmetic) {
      rules.by_node(
          i, [s](const NodeContext& n, const Tensors& out) { return shapley_pair(*s, n, out); });
    } else if (own_rule && op == ops::OpKind::Maximum) {
      rules.by_node(i,
                    [s](const NodeContext& n, const Tensors& out) { return maximum(*s, n, out); });
    } else if (own_rule && computed.size() == 1 && op == ops::OpKind::Mixing) {
      const int k = computed[0];
      rules.by_node(i, [s, k](const NodeContext& n, const Tensors& out) {
        return path_integral(*s, n, out, k);
      });
    } else if (own_rule && computed.size() == 1 &&
               !scales(ops::traits(node).layer)) {  // by a constant: linear
      const int k = computed[0];
      rules.by_node(i, [s, kind, k](const NodeContext& n, const Tensors& out) {
        return elementwise(s, kind, n, out, k);
      });
    } else if (kind == Nonlinearity::RevealCancel && splits_by_sign(s->model, i)) {
      // Receives m+ as its signal and m- from the activation reading its output, if split there.
      rules.by_node(i, [s](const NodeContext& n, const Tensors& out) {
        auto it = s->negative.find(n.node.outputs[0]);
        if (it == s->negative.end() || out.empty() || !out[0].defined()) return n.vjp(out);
        const at::Tensor m_down = std::move(it->second);
        s->negative.erase(it);
        return split_producer(*s, n, out[0], m_down);
      });
    }
  }
  return rules;
}

// The multipliers of one reference input, times the difference from it; `delta`, when given,
// receives f(x) - f(x0) per image.
Explanation deeplift_from(const Context& c, const at::Tensor& baseline, Nonlinearity kind,
                          at::Tensor* delta = nullptr) {
  const Trace reference = c.model.forward(baseline);
  const Graph& graph = c.model.graph();
  auto s = std::make_shared<Sweep>(
      Sweep{c.model, graph, c.trace, reference, c.params.number("eps"), {}, {}});
  s->consumers.assign(graph.values.size(), 0);
  for (const Node& node : graph.nodes) {
    for (ValueId v : node.inputs) {
      if (v != kNoValue) ++s->consumers[v];
    }
  }
  for (ValueId v : graph.outputs) ++s->consumers[v];

  const ValueId output = c.model.output();
  const at::Tensor& logits = c.trace[output];
  const at::Tensor multipliers =
      sweep_finite(c, {{output, target_one_hot(c)}}, {c.model.input()}, deeplift_rules(s, kind))[0];

  Explanation e;
  e.attribution = multipliers * (c.input - baseline);
  e.map = e.attribution.sum(1);
  e.is_signed = true;
  // Summation-to-delta: sum(attribution) against f(x) - f(x0).
  const at::Tensor difference =
      class_scores(logits, c.classes) - class_scores(reference[output], c.classes);
  report_sum_gap(e, difference, "summation_gap");
  if (delta) *delta = difference;
  return e;
}

Explanation deeplift(const Context& c, Nonlinearity kind) {
  return deeplift_from(c, make_baseline(c), kind);
}

// DeepLIFT-SHAP (Lundberg & Lee 2017): the Rescale attributions of each reference of a
// distribution, averaged. Each sums to f(x) - f(x0), so the average sums to f(x) - mean f(x0).
Explanation deeplift_shap(const Context& c) {
  const std::vector<at::Tensor> baselines = make_baselines(c);
  at::Tensor total, delta;
  for (const at::Tensor& baseline : baselines) {
    at::Tensor d;
    const Explanation one = deeplift_from(c, baseline, Nonlinearity::Rescale, &d);
    total = total.defined() ? total + one.attribution : one.attribution;
    delta = delta.defined() ? delta + d : d;
  }
  const double count = static_cast<double>(baselines.size());
  Explanation e;
  e.attribution = total / count;
  e.map = e.attribution.sum(1);
  e.is_signed = true;
  report_sum_gap(e, delta / count, "summation_gap");
  e.stats["references"] = count;
  return e;
}

}  // namespace

Treatment deeplift_treatment(const std::string& op) {
  switch (ops::traits(op).kind) {
    case ops::OpKind::Rectifier:
    case ops::OpKind::Activation:
    case ops::OpKind::Elementwise:
    case ops::OpKind::Arithmetic:
    case ops::OpKind::Maximum:
    case ops::OpKind::Mixing: return Treatment::Rule;
    // Linear in their computed inputs: the multipliers are the gradient.
    case ops::OpKind::Sum:
    case ops::OpKind::Linear:
    case ops::OpKind::Affine:
    case ops::OpKind::Reshape:
    case ops::OpKind::Routing:
    case ops::OpKind::ShapeOnly: return Treatment::Exact;
  }
  return Treatment::Exact;
}

void add_deeplift_methods(std::vector<MethodInfo>& registry) {
  const std::string how =
      " Multipliers replace gradients in one reverse sweep over the traces of the input and the "
      "reference: linear nodes pass them by their VJP; max-pooling gives each window's "
      "difference to its winner at x where the maximum rose, at x0 where it fell; products and "
      "other binary element-wise operators split the output difference symmetrically between "
      "their two inputs; Softmax, LRN and "
      "LayerNormalization pass their gradient integrated along the path from x0 to x "
      "(8-point Gauss-Legendre). attribution = m (x - x0); stats: delta = f(x) - "
      "f(x0), summation_gap = sum(attribution) - delta, relative_summation_gap.";
  std::vector<Hyperparameter> parameters = baseline_hyperparameters();
  parameters.push_back(number_parameter(
      "eps", "1e-6", "differences |dx| at or below it use the gradient instead of dy / dx", 0));
  const auto method = [&](std::string name, std::string alias, std::string summary,
                          Nonlinearity rule) {
    registry.push_back({.name = std::move(name),
                        .aliases = {std::move(alias)},
                        .family = Family::Relevance,
                        .summary = std::move(summary) + how,
                        .class_discriminative = true,
                        .needs_reference = true,
                        .resolution = Resolution::Input,
                        .cost = "2 forwards + 1 modified backward",
                        .hyperparameters = parameters,
                        .citation =
                            "Shrikumar, Greenside, Kundaje. Learning Important Features Through "
                            "Propagating Activation Differences. ICML 2017",
                        .run = [rule](const Context& c) { return deeplift(c, rule); }});
  };
  method("deeplift", "deeplift-rescale",
         "DeepLIFT with the Rescale rule: each element-wise non-linearity passes m_out dy / dx, "
         "the ratio of its output and input differences from the reference.",
         Nonlinearity::Rescale);
  method("deeplift-revealcancel", "deeplift-reveal-cancel",
         "DeepLIFT with the RevealCancel rule: the positive and negative parts of an "
         "activation's input difference (the positive and negative terms of the linear layer "
         "before it) get their own multipliers, dy+ / dx+ and dy- / dx-, where dy+ = (f(x0 + "
         "dx+) - f(x0) + f(x) - f(x0 + dx-)) / 2.",
         Nonlinearity::RevealCancel);
  std::vector<Hyperparameter> distribution = baselines_hyperparameters("zero,black,blurred");
  distribution.push_back(parameters.back());  // eps
  registry.push_back(
      {.name = "deeplift-shap",
       .aliases = {"deepliftshap", "deep-shap"},
       .family = Family::Relevance,
       .summary = "DeepLIFT (Rescale) against every reference of a distribution, averaged: an "
                  "estimate of SHAP values when the references are samples of the data. "
                  "stats: delta = f(x) - mean f(x0), summation_gap = sum(attribution) - delta "
                  "(exact: each reference's attribution sums to its own delta), references.",
       .class_discriminative = true,
       .needs_reference = true,
       .resolution = Resolution::Input,
       .cost = "(1 + B) forwards + B modified backwards, B references",
       .hyperparameters = distribution,
       .citation = "Lundberg, Lee. A Unified Approach to Interpreting Model Predictions. NeurIPS "
                   "2017; Shrikumar, Greenside, Kundaje. ICML 2017",
       .run = deeplift_shap});
}

}  // namespace whitebox::explainers
