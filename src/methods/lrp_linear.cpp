// LRP rules for linear layers: each rule written as its parts (lrp.hpp), and the one evaluator
// that runs them with the layer's own geometry (ops::LinearForm), so that every rule holds for
// any padding, stride, group or transposition the kernel supports.
#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>

#include "methods/lrp.hpp"
#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/model.hpp"

namespace whitebox::explainers::lrp {

at::Tensor divide(const at::Tensor& r, const at::Tensor& z, double eps) {
  if (eps > 0.0) return r / (z + at::where(z >= 0, eps, -eps));
  // R / 0 is inf or nan: zeroed where z = 0 only, so that an overflow elsewhere stays visible
  // to the finiteness checks. The (vectorised) sum of the quotients spares the masked pass when
  // it is finite.
  at::Tensor q = at::div(r, z);
  return std::isfinite(q.sum().item<double>()) ? q : q.masked_fill_(z == 0, 0.0);
}

at::Tensor signed_weight(const Model& model, ValueId weight, const at::Tensor& w, bool positive) {
  return model.derived(weight, positive ? "positive" : "negative",
                       [&] { return positive ? w.clamp_min(0) : w.clamp_max(0); });
}

// ---- The rules, as data ----------------------------------------------------------------------

namespace {

using I = InputPart;
using W = WeightPart;

LinearRule single(std::vector<Term> numerator, std::vector<BiasTerm> bias) {
  return {.shares = {{.numerator = std::move(numerator), .bias = std::move(bias)}}};
}

}  // namespace

// z = W x (+ b).
LinearRule zero_rule() { return single({{1, I::X, W::Full}}, {{1, BiasPart::Full}}); }

LinearRule epsilon_rule(double epsilon) {
  LinearRule rule = zero_rule();
  rule.epsilon = epsilon;
  return rule;
}

// Where z > 0, the contributions x+ (W + g W+) + x- (W + g W-) (bias b + g b+): z plus g times
// the positive ones; where z < 0, z plus g times the negative ones. Each denominator has the sign
// of z and at least its size, so nothing can blow up. The second denominator is written with the
// first one's products (the negative contributions are W x less the positive ones).
LinearRule gamma_rule(double g) {
  const Share positive{.numerator = {{1, I::Positive, W::Full},
                                     {g, I::Positive, W::Positive},
                                     {1, I::Negative, W::Full},
                                     {g, I::Negative, W::Negative}},
                       .denominator = {{1, I::X, W::Full},
                                       {g, I::Positive, W::Positive},
                                       {g, I::Negative, W::Negative}},
                       .bias = {{1, BiasPart::Full}, {g, BiasPart::Positive}},
                       .region = Region::PositiveOutput};
  const Share negative{.numerator = {{1, I::Positive, W::Full},
                                     {g, I::Positive, W::Negative},
                                     {1, I::Negative, W::Full},
                                     {g, I::Negative, W::Positive}},
                       .denominator = {{1 + g, I::X, W::Full},
                                       {-g, I::Positive, W::Positive},
                                       {-g, I::Negative, W::Negative}},
                       .bias = {{1, BiasPart::Full}, {g, BiasPart::Negative}},
                       .region = Region::NegativeOutput};
  return {.shares = {positive, negative}};
}

// alpha times the positive contributions' shares (x+ W+ + x- W-, bias b+) less beta times the
// negative ones' (x+ W- + x- W+, bias b-), each normalised by its own total. z+ is alpha 1, beta 0.
LinearRule alpha_beta_rule(double alpha, double beta) {
  LinearRule rule;
  if (alpha != 0) {
    rule.shares.push_back(
        {.coefficient = alpha,
         .numerator = {{1, I::Positive, W::Positive}, {1, I::Negative, W::Negative}},
         .bias = {{1, BiasPart::Positive}}});
  }
  if (beta != 0) {
    rule.shares.push_back(
        {.coefficient = -beta,
         .numerator = {{1, I::Positive, W::Negative}, {1, I::Negative, W::Positive}},
         .bias = {{1, BiasPart::Negative}}});
  }
  return rule;
}

// z = W x - l W+ - h W- for the pixel bounds l, h: the bias is no part of it (the root point lies
// in the box).
LinearRule zbox_rule() {
  return single({{1, I::X, W::Full}, {-1, I::Low, W::Positive}, {-1, I::High, W::Negative}}, {});
}

// Independent of x: relevance spread by W^2 (or uniformly) over the receptive field.
LinearRule wsquare_rule() { return single({{1, I::Ones, W::Square}}, {}); }
LinearRule flat_rule() { return single({{1, I::Ones, W::Ones}}, {}); }

namespace {

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

// The linear rules by name, in the order the help lists them: what a user writes, its
// aliases, how many numbers it takes, and how it is made from them. parse_rule(), its message
// and the methods' help all read this one table.
struct Spelling {
  std::string syntax;  // "epsilon[:eps]"; its first word is the name
  std::vector<std::string> aliases;
  size_t most;  // numbers after the name
  std::function<LinearRule(const std::vector<double>&, const std::string& text)> make;
};

const std::vector<Spelling>& spellings() {
  // The i-th number written, or `fallback`.
  const auto at = [](const std::vector<double>& p, size_t i, double fallback) {
    return p.size() > i ? p[i] : fallback;
  };
  static const std::vector<Spelling> table = {
      {"0", {"zero", "lrp0"}, 0, [](auto&, auto&) { return zero_rule(); }},
      {"epsilon[:eps]",
       {"eps"},
       1,
       [at](const std::vector<double>& p, const std::string& text) {
         const double epsilon = at(p, 0, 1e-6);
         if (epsilon <= 0) throw ArgumentError("LRP rule '" + text + "': epsilon must be positive");
         return epsilon_rule(epsilon);
       }},
      {"gamma[:g]",
       {},
       1,
       [at](const std::vector<double>& p, const std::string& text) {
         const double gamma = at(p, 0, 0.25);
         if (gamma < 0) throw ArgumentError("LRP rule '" + text + "': gamma must be at least 0");
         return gamma_rule(gamma);
       }},
      {"alphabeta[:a[:b]]",
       {},
       2,
       [at](const std::vector<double>& p, const std::string& text) {
         const double alpha = at(p, 0, 2.0), beta = at(p, 1, alpha - 1.0);
         if (beta < 0 || std::abs(alpha - beta - 1.0) > 1e-12) {
           throw ArgumentError("LRP rule '" + text + "': needs beta >= 0 and alpha - beta = 1");
         }
         return alpha_beta_rule(alpha, beta);
       }},
      {"alpha2beta1", {}, 0, [](auto&, auto&) { return alpha_beta_rule(2.0, 1.0); }},
      {"alpha1beta0", {}, 0, [](auto&, auto&) { return alpha_beta_rule(1.0, 0.0); }},
      {"zplus", {"z+"}, 0, [](auto&, auto&) { return alpha_beta_rule(1.0, 0.0); }},
      {"zb", {"zbox", "box"}, 0, [](auto&, auto&) { return zbox_rule(); }},
      {"wsquare", {"w2"}, 0, [](auto&, auto&) { return wsquare_rule(); }},
      {"flat", {}, 0, [](auto&, auto&) { return flat_rule(); }},
  };
  return table;
}

}  // namespace

std::string rule_syntax() {
  std::string text;
  for (const Spelling& s : spellings()) text += (text.empty() ? "" : ", ") + s.syntax;
  return text;
}

LinearRule parse_rule(const std::string& text) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string::npos ? colon : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const std::string& name = parts[0];
  for (const Spelling& s : spellings()) {
    const bool named = s.syntax.substr(0, s.syntax.find('[')) == name ||
                       std::find(s.aliases.begin(), s.aliases.end(), name) != s.aliases.end();
    if (!named) continue;
    if (parts.size() - 1 > s.most) {
      throw ArgumentError("LRP rule '" + text + "' takes at most " + std::to_string(s.most) +
                          " parameter(s)");
    }
    std::vector<double> numbers;
    for (size_t i = 1; i < parts.size(); ++i) numbers.push_back(number(parts[i], text));
    LinearRule rule = s.make(numbers, text);
    rule.text = text;
    return rule;
  }
  throw ArgumentError("unknown LRP rule '" + text + "' (valid: " + rule_syntax() + ")");
}

// ---- The evaluator ---------------------------------------------------------------------------

namespace {

// x (.) c, written into c when c is a dense tensor that nothing else holds (a transposed pass's
// fresh output): saves an allocation as large as the layer's input.
at::Tensor times(const at::Tensor& x, at::Tensor c) {
  const bool owned = c.use_count() == 1 && c.storage().use_count() == 1 &&
                     c.is_non_overlapping_and_dense() &&
                     c.sizes().equals(at::infer_size(x.sizes(), c.sizes())) &&
                     c.scalar_type() == x.scalar_type();
  return owned ? c.mul_(x) : x * c;
}

// sum + coefficient * t, where an undefined tensor is zero.
void accumulate(at::Tensor& sum, const at::Tensor& t, double coefficient) {
  if (!t.defined()) return;
  if (!sum.defined()) {
    sum = coefficient == 1.0 ? t : t * coefficient;
  } else {
    sum = at::add(sum, t, coefficient);
  }
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

constexpr size_t kInputParts = 6, kWeightParts = 5;
size_t index(InputPart p) { return static_cast<size_t>(p); }
size_t index(WeightPart p) { return static_cast<size_t>(p); }

// One rule at one node: every part and product made at most once.
class Evaluation {
 public:
  Evaluation(const LinearRule& rule, const Options& options, const Model& model,
             const NodeContext& n, const ops::LinearForm& form)
      : rule_(rule),
        model_(model),
        n_(n),
        form_(form),
        data_(form.data_input()),
        x_(first_of_repeated(n.inputs[form.data_input()])) {
    const int w = form.weight_input(), b = form.bias_input();
    if (w >= 0) weight_ = n.inputs[w], weight_value_ = n.node.inputs[w];
    if (b >= 0 && n.inputs[b].defined()) bias_ = n.inputs[b];
    absorb_ = options.bias == Bias::Absorb && bias_.defined();
    epsilon_ = rule.epsilon.value_or(options.stabilizer);
  }

  at::Tensor relevance(const at::Tensor& r) {
    r_ = r;
    // The quotient s of each share, on its region.
    std::vector<at::Tensor> s(rule_.shares.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const Share& share = rule_.shares[i];
      const at::Tensor z = denominator(share);
      if (!z.defined()) continue;
      s[i] = divide(r, z, epsilon_);
      if (share.region != Region::Everywhere) {
        const at::Tensor output = wx(absorb_);
        s[i] =
            at::where(share.region == Region::PositiveOutput ? output > 0 : output < 0, s[i], 0.0);
      }
    }
    return backward(s);
  }

 private:
  // The layer's input. Where it is one image's viewed once per row (concept relevance's sweeps
  // of many channels), the forward products are made for that image alone and broadcast over the
  // rows of the relevance: only the quotients and the transposed passes differ per row.
  const at::Tensor& x() const { return x_; }
  static at::Tensor first_of_repeated(const at::Tensor& t) {
    const bool repeated = t.defined() && t.dim() > 0 && t.size(0) > 1 && t.stride(0) == 0;
    return repeated ? t.narrow(0, 0, 1) : t;
  }

  // The input part, undefined where it is zero (x- after a ReLU). Ones is made only for the
  // forward products that read it.
  at::Tensor input(InputPart part) {
    std::optional<at::Tensor>& made = inputs_[index(part)];
    if (made) return *made;
    const bool non_negative = ops::non_negative(n_.graph, n_.node.inputs[data_]);
    switch (part) {
      case I::X: return *(made = x());
      case I::Positive: return *(made = non_negative ? x() : x().clamp_min(0));
      case I::Negative: return *(made = non_negative ? at::Tensor() : x().clamp_max(0));
      case I::Ones: return *(made = at::ones_like(x()));
      case I::Low:
      case I::High:
        if (n_.node.inputs[data_] != n_.graph.inputs.at(0)) {
          throw ArgumentError(
              "LRP: the zb rule applies to a layer reading the model input; node '" + n_.node.name +
              "' (" + n_.node.op_type + ") does not");
        }
        return *(made = bound(model_.preprocessing, x(), part == I::High));
    }
    return {};
  }
  bool absent(InputPart part) { return part != I::Ones && !input(part).defined(); }

  // The weight part, or nullopt where it is zero. An implicit weight (pooling, an undefined
  // tensor) is non-negative: its positive part is itself, its negative part zero, and squared or
  // flat weights are per-output multiples of it, which the division by z cancels.
  std::optional<at::Tensor> weight(WeightPart part) {
    if (!weight_.defined()) return part == W::Negative ? std::nullopt : std::optional(at::Tensor());
    at::Tensor& made = weights_[index(part)];
    if (made.defined()) return made;
    switch (part) {
      case W::Full: return made = weight_;
      case W::Positive: return made = signed_weight(model_, weight_value_, weight_, true);
      case W::Negative: return made = signed_weight(model_, weight_value_, weight_, false);
      case W::Square:
        return made = model_.derived(weight_value_, "square", [&] { return weight_ * weight_; });
      case W::Ones:
        return made = model_.derived(weight_value_, "ones", [&] { return at::ones_like(weight_); });
    }
    return made;
  }

  // W x, with the bias or without: with an explicit weight, the layer's own output (less its
  // bias where that is excluded).
  at::Tensor wx(bool with_bias) {
    std::optional<at::Tensor>& made = wx_[with_bias];
    if (made) return *made;
    const at::Tensor y = n_.outputs.empty() ? at::Tensor() : first_of_repeated(n_.outputs[0]);
    if (!weight_.defined() || !y.defined()) {
      at::Tensor z = form_.apply(x(), weight_, at::Tensor());
      if (with_bias && bias_.defined()) accumulate(z, bias(BiasPart::Full), 1.0);
      return *(made = z);
    }
    return *(made = with_bias || !bias_.defined() ? y : y - form_.bias_term(bias_, y.dim()));
  }

  at::Tensor bias(BiasPart part) {
    const at::Tensor b = form_.bias_term(bias_, r_.dim());
    switch (part) {
      case BiasPart::Full: return b;
      case BiasPart::Positive: return b.clamp_min(0);
      case BiasPart::Negative: return b.clamp_max(0);
    }
    return b;
  }

  // W' x', undefined where either is zero. Products with the ones input depend only on the
  // weight and x's shape: those of a constant weight stay with the model, per shape.
  at::Tensor product(InputPart in, WeightPart w) {
    std::optional<at::Tensor>& made = products_[index(in)][index(w)];
    if (made) return *made;
    const std::optional<at::Tensor> wp = weight(w);
    if (!wp || absent(in)) return *(made = at::Tensor());
    if (in == I::X && w == W::Full) return *(made = wx(false));
    if (in == I::Ones) {
      const std::string key =
          "z of weight part " + std::to_string(index(w)) + " on ones " + c10::str(x().sizes());
      return *(made = model_.derived(weight_value_, key, [&] {
        return form_.apply(input(I::Ones), *wp, at::Tensor());
      }));
    }
    return *(made = form_.apply(input(in), *wp, at::Tensor()));
  }

  // z of a share: its products and, when absorbed, its bias parts. W x + b together is the
  // layer's own output.
  at::Tensor denominator(const Share& share) {
    const std::vector<Term>& terms =
        share.denominator.empty() ? share.numerator : share.denominator;
    double full = 0.0, full_bias = 0.0;
    for (const Term& t : terms)
      full += t.input == I::X && t.weight == W::Full ? t.coefficient : 0.0;
    if (absorb_) {
      for (const BiasTerm& b : share.bias)
        full_bias += b.part == BiasPart::Full ? b.coefficient : 0.0;
    }
    const bool whole_output = full != 0.0 && full == full_bias;
    at::Tensor z;
    if (whole_output) accumulate(z, wx(true), full);
    for (const Term& t : terms) {
      if (whole_output && t.input == I::X && t.weight == W::Full) continue;
      accumulate(z, product(t.input, t.weight), t.coefficient);
    }
    if (absorb_) {
      for (const BiasTerm& b : share.bias) {
        if (!(whole_output && b.part == BiasPart::Full)) accumulate(z, bias(b.part), b.coefficient);
      }
    }
    return z;
  }

  // R_in = sum over input parts x' (.) c_x', with c_x' = sum of a W'^T u, where u combines the
  // shares' quotients. Each (input part, weight part) pair gets its coefficients on the quotients;
  // W-^T u becomes W^T u - W+^T u where that input part has both other passes anyway; and pairs
  // of a weight part whose coefficients are proportional share one transposed pass.
  at::Tensor backward(const std::vector<at::Tensor>& s) {
    using Coefficients = std::vector<double>;  // one per share
    std::map<std::pair<InputPart, WeightPart>, Coefficients> needed;
    for (size_t i = 0; i < s.size(); ++i) {
      if (!s[i].defined()) continue;
      for (const Term& t : rule_.shares[i].numerator) {
        if (t.coefficient == 0.0 || absent(t.input) || !weight(t.weight)) continue;
        Coefficients& c = needed[{t.input, t.weight}];
        c.resize(s.size(), 0.0);
        c[i] += rule_.shares[i].coefficient * t.coefficient;
      }
    }
    if (weight_.defined()) {
      for (size_t in = 0; in < kInputParts; ++in) {
        const auto part = static_cast<InputPart>(in);
        const auto negative = needed.find({part, W::Negative});
        if (negative == needed.end() || !needed.count({part, W::Full}) ||
            !needed.count({part, W::Positive})) {
          continue;
        }
        for (size_t i = 0; i < s.size(); ++i) {
          needed[{part, W::Full}][i] += negative->second[i];
          needed[{part, W::Positive}][i] -= negative->second[i];
        }
        needed.erase(negative);
      }
    }
    // One pass per weight part and direction of coefficients.
    std::array<at::Tensor, kInputParts> c;
    for (size_t w = 0; w < kWeightParts; ++w) {
      std::vector<Coefficients> directions;
      std::vector<at::Tensor> made;
      for (const auto& [key, coefficients] : needed) {
        const bool zero = std::all_of(coefficients.begin(), coefficients.end(),
                                      [](double v) { return v == 0.0; });
        if (index(key.second) != w || zero) continue;
        double scale = 0.0;
        size_t d = 0;
        while (d < directions.size() && (scale = proportion(coefficients, directions[d])) == 0.0)
          ++d;
        if (d == directions.size()) {
          directions.push_back(coefficients);
          made.push_back(transpose(combine(s, coefficients), key.second));
          scale = 1.0;
        }
        accumulate(c[index(key.first)], made[d], scale);
      }
    }  // c alone holds the passes now, and times() may overwrite those used once
    at::Tensor relevance;
    for (size_t in = 0; in < kInputParts; ++in) {
      if (!c[in].defined()) continue;
      const auto part = static_cast<InputPart>(in);
      accumulate(relevance, part == I::Ones ? c[in] : times(input(part), std::move(c[in])), 1.0);
    }
    return relevance;
  }

  // lambda with a = lambda b, or 0 where a is no multiple of b.
  static double proportion(const std::vector<double>& a, const std::vector<double>& b) {
    double lambda = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (b[i] != 0.0 && lambda == 0.0) lambda = a[i] / b[i];
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::abs(a[i] - lambda * b[i]) > 1e-12 * std::abs(a[i])) return 0.0;
    }
    return lambda;
  }

  static at::Tensor combine(const std::vector<at::Tensor>& s,
                            const std::vector<double>& coefficients) {
    at::Tensor u;
    for (size_t i = 0; i < s.size(); ++i) {
      if (coefficients[i] != 0.0) accumulate(u, s[i], coefficients[i]);
    }
    return u;
  }

  // W'^T u, shaped like the layer's input with u's rows.
  at::Tensor transpose(const at::Tensor& u, WeightPart part) {
    const at::Tensor w = *weight(part);
    const at::Tensor& shape = n_.inputs[data_];
    return part == W::Ones && weight_.defined() ? form_.apply_transpose_ones(u, shape, w)
                                                : form_.apply_transpose(u, shape, w);
  }

  const LinearRule& rule_;
  const Model& model_;
  const NodeContext& n_;
  const ops::LinearForm& form_;
  const int data_;
  const at::Tensor x_;
  at::Tensor weight_, bias_, r_;
  ValueId weight_value_ = kNoValue;
  bool absorb_ = false;
  double epsilon_ = 0.0;
  std::array<std::optional<at::Tensor>, 2> wx_;  // without, with the bias
  std::array<std::optional<at::Tensor>, kInputParts> inputs_;
  std::array<at::Tensor, kWeightParts> weights_;
  std::array<std::array<std::optional<at::Tensor>, kWeightParts>, kInputParts> products_;
};

// Whether a rule reads z = W x (+ b), which the layer's output gives for free.
bool reads_output(const LinearRule& rule) {
  for (const Share& share : rule.shares) {
    if (share.region != Region::Everywhere) return true;
    for (const Term& t : share.denominator.empty() ? share.numerator : share.denominator) {
      if (t.input == I::X && t.weight == W::Full) return true;
    }
  }
  return false;
}

}  // namespace

NodeRule linear_rule(const LinearRule& rule, const Options& options, const Model& model) {
  return {[rule, options, &model](const NodeContext& n, const Tensors& out) {
            const ops::LinearForm* form = n.kernel.linear();
            if (!form) {
              throw ArgumentError("LRP: node '" + n.node.name + "' (" + n.node.op_type +
                                  ") is not a linear layer with constant weights");
            }
            Tensors result(n.inputs.size());
            if (!out.empty() && out[0].defined()) {
              result[form->data_input()] =
                  Evaluation(rule, options, model, n, *form).relevance(out[0]);
            }
            return result;
          },
          Reads{/*inputs=*/true, reads_output(rule)}};
}

}  // namespace whitebox::explainers::lrp
