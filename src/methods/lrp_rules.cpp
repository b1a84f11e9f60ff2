// LRP rules for the reverse sweep. Every linear-layer rule has the "modified gradient" form
//   z' = W' x' + b'   (the layer rerun with modified weights / inputs),
//   s = R_out / stabilize(z'),
//   R_in = x' (.) (W'^T s),
// computed with the layer's own geometry (ops::LinearForm), so it holds for any padding, stride,
// group or transposition the kernel supports. Rules with several terms (alpha-beta, z+, gamma)
// sum such products over the sign-split inputs x+ = max(x, 0), x- = min(x, 0) and weights W+, W-.
#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "methods/lrp.hpp"
#include "methods/treatments.hpp"
#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/model.hpp"

namespace whitebox::explainers::lrp {
namespace {

using Kind = LinearRule::Kind;

// R / (z + eps sign(z)) with sign(0) = +1; with eps = 0, R / z where z != 0 and 0 where z = 0
// (that relevance is then absorbed, and shows up in the "absorbed" statistic).
at::Tensor divide(const at::Tensor& r, const at::Tensor& z, double eps) {
  if (eps > 0.0) return r / (z + at::where(z >= 0, eps, -eps));
  // R / 0 is inf or nan: zeroed where z = 0 only, so that an overflow elsewhere stays visible
  // to the finiteness checks. The (vectorised) sum of the quotients spares the masked pass when
  // it is finite.
  at::Tensor q = at::div(r, z);
  return std::isfinite(q.sum().item<double>()) ? q : q.masked_fill_(z == 0, 0.0);
}

// x (.) c, written into c when c is a dense tensor that nothing else holds (a transposed pass's
// fresh output): saves an allocation as large as the layer's input.
at::Tensor times(const at::Tensor& x, at::Tensor c) {
  const bool owned = c.use_count() == 1 && c.storage().use_count() == 1 &&
                     c.is_non_overlapping_and_dense() && c.sizes().equals(x.sizes()) &&
                     c.scalar_type() == x.scalar_type();
  return owned ? c.mul_(x) : x * c;
}

}  // namespace

at::Tensor signed_weight(const Model& model, ValueId weight, const at::Tensor& w, bool positive) {
  return model.derived(weight, positive ? "positive" : "negative",
                       [&] { return positive ? w.clamp_min(0) : w.clamp_max(0); });
}

namespace {

// Which part of the weight a term uses. An implicit weight (pooling) is non-negative: its
// positive part is itself, its negative part zero, and flat / squared weights are per-output
// multiples of it, which the division by z cancels.
enum class Part { Full, Pos, Neg, Square, Ones };

struct Layer {
  const ops::LinearForm& form;
  at::Tensor w, b;  // w undefined for an implicit weight; b undefined when none
  const Model& model;
  ValueId w_value;  // w's value in the graph: a constant one's modified parts stay with the model

  // The modified weight, or nullopt where it is zero. Made once per part: a rule uses each in
  // its forward and its transposed pass.
  std::optional<at::Tensor> weight(Part part) const {
    if (!w.defined()) {
      if (part == Part::Neg) return std::nullopt;
      return at::Tensor();
    }
    at::Tensor& made = parts[static_cast<size_t>(part)];
    if (made.defined()) return made;
    switch (part) {
      case Part::Full: return made = w;
      case Part::Pos: return made = signed_weight(model, w_value, w, true);
      case Part::Neg: return made = signed_weight(model, w_value, w, false);
      case Part::Square: return made = model.derived(w_value, "square", [&] { return w * w; });
      case Part::Ones: return made = model.derived(w_value, "ones", [&] { return at::ones_like(w); });
    }
    return made;
  }
  mutable std::array<at::Tensor, 5> parts;  // by Part
  // W' x, or undefined where W' or x is zero (undefined).
  at::Tensor forward(const at::Tensor& x, Part part) const {
    if (!x.defined()) return at::Tensor();
    auto wp = weight(part);
    if (!wp) return at::Tensor();
    return form.apply(x, *wp, at::Tensor());
  }
  // W'^T s, or undefined where W' = 0.
  at::Tensor backward(const at::Tensor& s, const at::Tensor& x, Part part) const {
    auto wp = weight(part);
    if (!wp) return at::Tensor();
    return part == Part::Ones && w.defined() ? form.apply_transpose_ones(s, x, *wp)
                                             : form.apply_transpose(s, x, *wp);
  }
};

at::Tensor sum_defined(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return a + b;
}
// x (.) c, undefined where either is.
at::Tensor product(const at::Tensor& x, const at::Tensor& c) {
  return x.defined() && c.defined() ? times(x, c) : at::Tensor();
}

// Per-channel pixel bounds [1, C, 1, ...] shaped for x.
at::Tensor bound(const Preprocessing& p, const at::Tensor& x, bool high) {
  if (x.dim() < 2 || x.size(1) != 3) {
    throw ArgumentError("the zb rule needs a 3-channel image input, got shape " +
                        c10::str(x.sizes()));
  }
  std::vector<double> values;
  for (int c = 0; c < 3; ++c) values.push_back(high ? p.highest(c) : p.lowest(c));
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = 3;
  return at::tensor(values, at::kDouble).to(x.options()).reshape(shape).expand(x.sizes());
}

Tensors linear_relevance(const LinearRule& rule, const Options& options, const Model& model,
                         const NodeContext& n, const Tensors& out) {
  const ops::LinearForm* form = n.node.kernel->linear();
  if (!form) {
    throw ArgumentError("LRP: node '" + n.node.name + "' (" + n.node.op_type +
                        ") is not a linear layer with constant weights");
  }
  Tensors result(n.inputs.size());
  if (out.empty() || !out[0].defined()) return result;
  const int data = form->data_input();
  const at::Tensor& x = n.inputs[data];
  const at::Tensor& r = out[0];
  const int weight = form->weight_input();
  const Layer layer{*form,
                    weight >= 0 ? n.inputs[weight] : at::Tensor(),
                    form->bias_input() >= 0 ? n.inputs[form->bias_input()] : at::Tensor(),
                    model,
                    weight >= 0 ? n.node.inputs[weight] : kNoValue,
                    {}};
  const double stab = options.stabilizer;
  const bool absorb = options.bias == Bias::Absorb && layer.b.defined();
  // The bias as the layer adds it to W x, when absorbed.
  const at::Tensor bias = absorb ? form->bias_term(layer.b, r.dim()) : at::Tensor();
  const auto bias_part = [&](bool positive) {
    return absorb ? (positive ? bias.clamp_min(0) : bias.clamp_max(0)) : at::Tensor();
  };

  // W x, with the bias when absorbed or not (`with_bias`): with an explicit weight, the layer's
  // own output, less its bias where that is excluded.
  const auto wx = [&](bool with_bias) {
    const at::Tensor& y = n.outputs[0];
    if (!layer.w.defined() || !y.defined()) {
      return sum_defined(layer.forward(x, Part::Full), with_bias ? bias : at::Tensor());
    }
    return with_bias || !layer.b.defined() ? y : y - form->bias_term(layer.b, y.dim());
  };
  // x+ and x-, made by split() for the rules that read them; x- stays undefined where x >= 0 by
  // construction (after a ReLU or ReLU6).
  at::Tensor xp, xn;
  const auto split = [&] {
    const bool positive = ops::non_negative(n.graph, n.node.inputs[data]);
    xp = positive ? x : x.clamp_min(0);
    if (!positive) xn = x.clamp_max(0);
  };
  // The positive contributions x+ W+ + x- W- (or the negative ones x+ W- + x- W+), bias excluded.
  const auto contributions = [&](bool positive_side) {
    return sum_defined(layer.forward(xp, positive_side ? Part::Pos : Part::Neg),
                       layer.forward(xn, positive_side ? Part::Neg : Part::Pos));
  };
  // x+ (.) (W_a^T s) + x- (.) (W_b^T s), the second term only where x has negative values.
  const auto shares = [&](const at::Tensor& s, Part for_positive, Part for_negative) {
    const at::Tensor positive_share = product(xp, layer.backward(s, x, for_positive));
    return xn.defined() ? sum_defined(positive_share, product(xn, layer.backward(s, x, for_negative)))
                        : positive_share;
  };

  at::Tensor relevance;
  switch (rule.kind) {
    case Kind::Zero:
    case Kind::Epsilon: {
      const double eps = rule.kind == Kind::Epsilon ? rule.epsilon : stab;
      const at::Tensor s = divide(r, wx(absorb), eps);
      relevance = times(x, layer.backward(s, x, Part::Full));
      break;
    }
    case Kind::Gamma: {
      // Where z = W x (+ b) > 0 the contributions x+ (W + g W+) + x- (W + g W-): z plus g times
      // the positive ones; where z < 0, z plus g times the negative ones (the bias split alike).
      // Each denominator has the sign of z and at least its size, so nothing can blow up.
      // With W+- = W + g W+- expanded, R_in needs three transposed passes (two for x >= 0):
      //   x+ (.) (W^T (sp + (1+g) sn) + g W+^T (sp - sn))
      // + x- (.) (W^T ((1+g) sp + sn) - g W+^T (sp - sn)).
      const double g = rule.gamma;
      split();
      const at::Tensor w_x = wx(false), positives = contributions(true);
      const at::Tensor z = sum_defined(w_x, bias);
      const at::Tensor pos = sum_defined(positives, bias_part(true));
      const at::Tensor neg = sum_defined(w_x - positives, bias_part(false));
      const at::Tensor sp = at::where(z > 0, r / (z + g * pos + stab), 0.0);
      const at::Tensor sn = at::where(z < 0, r / (z + g * neg - stab), 0.0);
      const at::Tensor both = layer.backward(g * (sp - sn), x, Part::Pos);
      relevance = times(xp, layer.backward(sp + (1 + g) * sn, x, Part::Full) + both);
      if (xn.defined()) {
        relevance = relevance + times(xn, layer.backward((1 + g) * sp + sn, x, Part::Full) - both);
      }
      break;
    }
    case Kind::ZPlus:
    case Kind::AlphaBeta: {
      // The positive contributions x+ W+ + x- W- (bias+ absorbed) and the negative ones
      // x+ W- + x- W+ (bias-), each normalised by its own total, combined as alpha R+ - beta R-.
      // z+ is alpha 1, beta 0.
      split();
      const at::Tensor zp = sum_defined(contributions(true), bias_part(true));
      relevance = shares(divide(r, zp, stab), Part::Pos, Part::Neg);
      if (rule.alpha != 1.0) relevance = rule.alpha * relevance;
      if (rule.beta != 0.0) {
        const at::Tensor zn = sum_defined(contributions(false), bias_part(false));
        if (zn.defined()) {
          const at::Tensor neg = shares(divide(r, zn, stab), Part::Neg, Part::Pos);
          if (neg.defined()) relevance = relevance - rule.beta * neg;
        }
      }
      break;
    }
    case Kind::ZBox: {
      // z = W x - l W+ - h W-: the bias is no part of it (the root point lies in the box).
      if (n.node.inputs[data] != n.graph.inputs.at(0)) {
        throw ArgumentError("LRP: the zb rule applies to a layer reading the model input; node '" +
                            n.node.name + "' (" + n.node.op_type + ") does not");
      }
      const at::Tensor low = bound(model.preprocessing, x, false);
      const at::Tensor high = bound(model.preprocessing, x, true);
      at::Tensor z = wx(false);
      if (at::Tensor t = layer.forward(low, Part::Pos); t.defined()) z = z - t;
      if (at::Tensor t = layer.forward(high, Part::Neg); t.defined()) z = z - t;
      const at::Tensor s = divide(r, z, stab);
      relevance = times(x, layer.backward(s, x, Part::Full));
      if (at::Tensor c = layer.backward(s, x, Part::Pos); c.defined()) relevance -= low * c;
      if (at::Tensor c = layer.backward(s, x, Part::Neg); c.defined()) relevance -= high * c;
      break;
    }
    case Kind::WSquare:
    case Kind::Flat: {
      // Independent of x: relevance spread by W^2 (or uniformly) over the receptive field.
      // z depends only on the weight and x's shape, so it stays with the model per shape.
      const Part part = rule.kind == Kind::WSquare ? Part::Square : Part::Ones;
      const std::string kind = std::string(part == Part::Square ? "square" : "flat") +
                               " z for " + c10::str(x.sizes());
      const at::Tensor z = model.derived(layer.w_value, kind, [&] {
        return layer.forward(at::ones_like(x), part);
      });
      relevance = layer.backward(divide(r, z, stab), x, part);
      break;
    }
  }
  result[data] = relevance;
  return result;
}

double number(const std::string& text, const std::string& rule) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v)) {
    throw ArgumentError("LRP rule '" + rule + "': '" + text + "' is not a number");
  }
  return v;
}

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

}  // namespace

LinearRule parse_rule(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const std::string& name = parts[0];
  LinearRule rule;
  rule.text = text;
  auto args = [&](size_t most) {
    if (parts.size() - 1 > most) {
      throw ArgumentError("LRP rule '" + text + "' takes at most " + std::to_string(most) +
                          " parameter(s)");
    }
  };
  auto param = [&](size_t i, double fallback) {
    return parts.size() > i ? number(parts[i], text) : fallback;
  };
  if (name == "0" || name == "zero" || name == "lrp0") {
    args(0);
    rule.kind = Kind::Zero;
  } else if (name == "epsilon" || name == "eps") {
    args(1);
    rule.kind = Kind::Epsilon;
    rule.epsilon = param(1, 1e-6);
    if (rule.epsilon <= 0) throw ArgumentError("LRP rule '" + text + "': epsilon must be positive");
  } else if (name == "gamma") {
    args(1);
    rule.kind = Kind::Gamma;
    rule.gamma = param(1, 0.25);
    if (rule.gamma < 0) throw ArgumentError("LRP rule '" + text + "': gamma must be at least 0");
  } else if (name == "alphabeta" || name == "alpha2beta1" || name == "alpha1beta0") {
    rule.kind = Kind::AlphaBeta;
    if (name == "alphabeta") {
      args(2);
      rule.alpha = param(1, 2.0);
      rule.beta = param(2, rule.alpha - 1.0);
    } else {
      args(0);
      rule.alpha = name == "alpha2beta1" ? 2.0 : 1.0;
      rule.beta = rule.alpha - 1.0;
    }
    if (rule.beta < 0 || std::abs(rule.alpha - rule.beta - 1.0) > 1e-12) {
      throw ArgumentError("LRP rule '" + text + "': needs beta >= 0 and alpha - beta = 1");
    }
  } else if (name == "zplus" || name == "z+") {
    args(0);
    rule.kind = Kind::ZPlus;
  } else if (name == "zb" || name == "zbox" || name == "box") {
    args(0);
    rule.kind = Kind::ZBox;
  } else if (name == "wsquare" || name == "w2") {
    args(0);
    rule.kind = Kind::WSquare;
  } else if (name == "flat") {
    args(0);
    rule.kind = Kind::Flat;
  } else {
    throw ArgumentError("unknown LRP rule '" + text +
                        "' (valid: 0, epsilon[:eps], gamma[:g], alphabeta[:a[:b]], alpha2beta1, "
                        "alpha1beta0, zplus, zb, wsquare, flat)");
  }
  return rule;
}

NodeRule linear_rule(const LinearRule& rule, const Options& options, const Model& model) {
  // The rules with z = W x (+ b) read it off the layer's output.
  const bool reads_output = rule.kind == Kind::Zero || rule.kind == Kind::Epsilon ||
                            rule.kind == Kind::Gamma || rule.kind == Kind::ZBox;
  return {[rule, options, &model](const NodeContext& n, const Tensors& out) {
            return linear_relevance(rule, options, model, n, out);
          },
          Reads{/*inputs=*/true, reads_output}};
}

std::optional<NodeRule> structural_rule(const Model& model, const Node& node,
                                       const Options& options) {
  switch (lrp_treatment(node.op_type)) {
    case Treatment::Exact: return std::nullopt;
    case Treatment::Unsupported:
      return NodeRule{
          Rule([](const NodeContext& n, const Tensors&) -> Tensors { no_rule(n.node, ""); }),
          Reads{false, false}};
    case Treatment::Rule: break;
  }
  const ops::OpKind kind = ops::traits(node).kind;
  const std::string& op = node.op_type;
  if (kind == ops::OpKind::Rectifier || kind == ops::OpKind::Activation) {
    return NodeRule{pass_through, Reads{false, false}};
  }
  if (kind == ops::OpKind::Maximum) {
    // The gradient's routing, or the window sums of a pooling's linear stand-in.
    if (options.maxpool == MaxPoolRule::Winner || !node.kernel->linear()) return std::nullopt;
    Options window = options;
    window.bias = Bias::Ignore;
    return linear_rule(LinearRule{}, window, model);
  }
  if (op == "Sum" || op == "Add") {
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
          if (static_cast<int>(i) != computed && n.inputs[i].defined()) shift = sum_defined(shift, n.inputs[i]);
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
  if (op == "Sub" || op == "Div") {
    return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
      if (n.node.inputs.size() != 2 || only_computed(n) == 1) {
        no_rule(n.node, "a constant minus / divided by a computed value has no rule");
      }
      const bool both_computed = only_computed(n) < 0;
      if (n.node.op_type == "Div") {
        // A computed divisor (a normalisation's deviation) is held constant, as a gate is.
        if (both_computed) return gated(n, out, 1);
        return affine(n, out, 0, n.outputs[0], at::Tensor(), options);
      }
      if (!both_computed) return affine(n, out, 0, n.inputs[0], -n.inputs[1], options);
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
  if (op == "LayerNormalization") {
    // The deviation held constant (Ali et al. 2022): y = (x - mean x) g / sigma (+ b) is linear
    // in x, and the z-rule through it is R_in = x (.) (u - mean u) with u = g R / (z sigma).
    return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
      Tensors result(n.inputs.size());
      if (out.empty() || !out[0].defined()) return result;
      const at::Tensor& x = n.inputs[0];
      int64_t axis = static_cast<int64_t>(attribute(n.node, "axis", -1));
      if (axis < 0) axis += x.dim();
      std::vector<int64_t> dims;
      for (int64_t d = axis; d < x.dim(); ++d) dims.push_back(d);
      const at::Tensor sigma =
          at::sqrt(at::var(x, dims, /*unbiased=*/false, /*keepdim=*/true) + attribute(n.node, "epsilon", 1e-5));
      const at::Tensor& scale = n.inputs[1];
      at::Tensor z = (x - x.mean(dims, /*keepdim=*/true)) / sigma * scale;
      if (options.bias == Bias::Absorb && n.inputs.size() > 2 && n.inputs[2].defined()) z = z + n.inputs[2];
      const at::Tensor u = scale * divide(out[0], z, options.stabilizer) / sigma;
      result[0] = x * (u - u.mean(dims, /*keepdim=*/true));
      return result;
    })};
  }
  if (op == "Mul") {
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
  if (kind == ops::OpKind::Linear) {
    // Linear without constant weights to modify (ReduceMean, ReduceSum): the z-rule through the
    // node's own VJP.
    return NodeRule{Rule([options](const NodeContext& n, const Tensors& out) {
      Tensors result(n.inputs.size());
      if (out.empty() || !out[0].defined()) return result;
      const Tensors c = n.vjp({divide(out[0], n.outputs[0], options.stabilizer)});
      result[0] = n.inputs[0] * c[0];
      return result;
    })};
  }
  if (op == "BatchNormalization") {
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
  throw std::logic_error("lrp_treatment() gives a rule to " + op + " that structural_rule() lacks");
}

}  // namespace whitebox::explainers::lrp

namespace whitebox::explainers {

Treatment lrp_treatment(const std::string& op) {
  switch (ops::traits(op).kind) {
    case ops::OpKind::Rectifier:
    case ops::OpKind::Activation:
    case ops::OpKind::Affine:
    case ops::OpKind::Maximum: return Treatment::Rule;
    // Linear layers with constant weights get their composite's rule; the others the z-rule.
    case ops::OpKind::Linear: return Treatment::Rule;
    case ops::OpKind::Sum: return op == "Mean" ? Treatment::Unsupported : Treatment::Rule;
    case ops::OpKind::Arithmetic:
      return op == "Mul" || op == "Div" ? Treatment::Rule : Treatment::Unsupported;
    case ops::OpKind::Mixing:
      return op == "LayerNormalization" ? Treatment::Rule : Treatment::Unsupported;
    case ops::OpKind::Elementwise: return Treatment::Unsupported;
    case ops::OpKind::Reshape:
    case ops::OpKind::Routing:
    case ops::OpKind::ShapeOnly: return Treatment::Exact;
  }
  return Treatment::Unsupported;
}

}  // namespace whitebox::explainers
