// Activations and other elementwise unary maps, plus Softmax / LogSoftmax.
#include <limits>
#include <optional>

#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

using UnaryFn = std::function<at::Tensor(const at::Tensor& x)>;
// Signal into x from the input x, the output y and the output signal g.
using UnaryVjpFn =
    std::function<at::Tensor(const at::Tensor& x, const at::Tensor& y, const at::Tensor& g)>;

// A one-input kernel; without `vjp` the signal comes from autograd. `in_place` (optional) writes
// the result into its argument.
using InPlaceFn = std::function<void(at::Tensor& x)>;
std::unique_ptr<Kernel> unary(UnaryFn f, UnaryVjpFn vjp = nullptr, VjpReads reads = {},
                              InPlaceFn in_place = nullptr) {
  ForwardFn forward = [f](const Tensors& in) { return Tensors{f(in[0])}; };
  ForwardFn reusing;
  if (in_place) {
    reusing = [in_place](const Tensors& in) {
      at::Tensor x = in[0];
      in_place(x);
      return Tensors{x};
    };
  }
  if (!vjp) return make_kernel(std::move(forward), nullptr, {}, std::move(reusing));
  return make_kernel(std::move(forward),
                     [vjp](const Tensors& in, const Tensors& out, const Tensors& grad,
                           const std::vector<bool>& wanted) {
                       Tensors result(in.size());
                       if (wanted[0] && grad[0].defined()) result[0] = vjp(in[0], out[0], grad[0]);
                       return result;
                     },
                     reads, std::move(reusing));
}

void add_unary(Registry& registry, const std::string& op, Traits traits, UnaryFn f,
               UnaryVjpFn vjp = nullptr, VjpReads reads = {}, InPlaceFn in_place = nullptr) {
  registry.add(op, traits, [f, vjp, reads, in_place](const NodeView&) {
    return unary(f, vjp, reads, in_place);
  });
}

// Relu and Clip's signal needs only the output: min < y < max exactly where min < x < max.
constexpr VjpReads kOutputOnly{/*inputs=*/false, /*outputs=*/true};

// ---- Clip -----------------------------------------------------------------------------------

std::optional<double> bound(const NodeView& node, size_t input) {
  if (!node.has_input(input)) return std::nullopt;
  if (node.constant(input).numel() != 1) node.invalid("Clip bounds must be scalars");
  return node.constant_scalar(input);
}

std::unique_ptr<Kernel> clip(const NodeView& node) {
  std::optional<double> lo, hi;
  if (node.opset() < 11) {
    if (node.has("min")) lo = node.f("min");
    if (node.has("max")) hi = node.f("max");
  } else {
    const bool computed = (node.has_input(1) && !node.is_constant(1)) ||
                          (node.has_input(2) && !node.is_constant(2));
    if (computed) {
      // Bounds computed at run time: rare; clamp on tensors and let autograd take the VJP.
      return make_kernel([](const Tensors& in) {
        auto opt = [&](size_t i) {
          return i < in.size() && in[i].defined() ? c10::optional<at::Tensor>(in[i]) : c10::nullopt;
        };
        if (!opt(1) && !opt(2)) return Tensors{in[0]};
        return Tensors{at::clamp(in[0], opt(1), opt(2))};
      });
    }
    lo = bound(node, 1);
    hi = bound(node, 2);
  }
  if (!lo && !hi) return unary([](const at::Tensor& x) { return x; },
                               [](const at::Tensor&, const at::Tensor&, const at::Tensor& g) { return g; });
  const c10::optional<at::Scalar> min = lo ? c10::optional<at::Scalar>(*lo) : c10::nullopt;
  const c10::optional<at::Scalar> max = hi ? c10::optional<at::Scalar>(*hi) : c10::nullopt;
  const double inf = std::numeric_limits<double>::infinity();
  const double min_or_inf = lo ? *lo : -inf, max_or_inf = hi ? *hi : inf;
  return unary(
      // Cast back: ONNX keeps the input type (clamp would promote integers with float bounds).
      [min, max](const at::Tensor& x) { return at::clamp(x, min, max).to(x.scalar_type()); },
      [min_or_inf, max_or_inf](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) {
        return at::hardtanh_backward(g, y, min_or_inf, max_or_inf);
      },
      kOutputOnly,
      [min, max](at::Tensor& x) {
        if (x.is_floating_point()) {
          x.clamp_(min, max);
        } else {
          x = at::clamp(x, min, max).to(x.scalar_type());
        }
      });
}

// ---- PRelu ----------------------------------------------------------------------------------

// y = x for x > 0, slope * x otherwise, the slope broadcast to x (unidirectionally).
std::unique_ptr<Kernel> prelu(const NodeView& node) {
  if (!node.has_input(1)) node.invalid("PRelu needs a slope input");
  return make_kernel(
      [](const Tensors& in) { return Tensors{at::where(in[0] > 0, in[0], in[0] * in[1])}; },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!grad[0].defined()) return result;
        const at::Tensor positive = in[0] > 0;
        if (wanted[0]) {
          result[0] = unbroadcast(at::where(positive, grad[0], grad[0] * in[1]), in[0].sizes());
        }
        if (wanted[1]) {
          result[1] = unbroadcast(at::where(positive, at::zeros_like(grad[0]), grad[0] * in[0]),
                                  in[1].sizes());
        }
        return result;
      });
}

// ---- HardSigmoid ----------------------------------------------------------------------------

std::unique_ptr<Kernel> hard_sigmoid(const NodeView& node) {
  const double alpha = node.f("alpha", 0.2), beta = node.f("beta", 0.5);
  return unary(
      [alpha, beta](const at::Tensor& x) { return at::clamp(x * alpha + beta, 0.0, 1.0); },
      // The slope is alpha strictly inside the linear part: read it off the output.
      [alpha](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) {
        return at::hardtanh_backward(g * alpha, y, 0.0, 1.0);
      });
}

// ---- Softmax / LogSoftmax -------------------------------------------------------------------

// Before opset 13 the input is coerced to 2D [prod(dims < axis), prod(dims >= axis)] and
// normalised over the second dimension; from 13 on, over the single dimension `axis`.
class Softmax final : public Kernel {
 public:
  Softmax(const NodeView& node, bool log)
      : log_(log), coerced_(node.opset() < 13), axis_(node.i("axis", node.opset() < 13 ? 1 : -1)) {}

  Tensors forward(const Tensors& in) const override {
    const at::Tensor& x = in[0];
    const int64_t a = axis(axis_, x.dim());
    if (!coerced_ || a == x.dim() - 1) return {apply(x, a)};
    return {apply(flat(x, a), 1).reshape(x.sizes())};
  }

  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wanted[0] || !grad[0].defined()) return result;
    const at::Tensor& y = out[0];
    const int64_t a = axis(axis_, y.dim());
    if (!coerced_ || a == y.dim() - 1) {
      result[0] = backward(grad[0], y, a);
    } else {
      result[0] = backward(flat(grad[0], a), flat(y, a), 1).reshape(y.sizes());
    }
    return result;
  }

 private:
  static at::Tensor flat(const at::Tensor& t, int64_t a) {
    int64_t outer = 1;
    for (int64_t d = 0; d < a; ++d) outer *= t.size(d);
    return t.reshape({outer, outer == 0 ? 0 : t.numel() / outer});
  }
  at::Tensor apply(const at::Tensor& x, int64_t dim) const {
    return log_ ? at::log_softmax(x, dim) : at::softmax(x, dim);
  }
  at::Tensor backward(const at::Tensor& g, const at::Tensor& y, int64_t dim) const {
    return log_ ? at::_log_softmax_backward_data(g, y, dim, y.scalar_type())
                : at::_softmax_backward_data(g, y, dim, y.scalar_type());
  }

  bool log_, coerced_;
  int64_t axis_;
};

}  // namespace

void register_activation_ops(Registry& registry) {
  // The hand VJPs below are the closed forms of the derivatives; where they use the output y,
  // it is because y is cheaper or more accurate than recomputing from x.
  add_unary(
      registry, "Relu", {OpKind::Rectifier, OutputRange::NonNegative, Layer::Relu},
      [](const at::Tensor& x) { return at::relu(x); },
      [](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) {
        return at::threshold_backward(g, y, 0);
      },
      kOutputOnly, [](at::Tensor& x) { x.relu_(); });
  registry.add("Clip", {OpKind::Rectifier, OutputRange::OfLowerBound, Layer::Clip}, clip);
  registry.add("LeakyRelu", {OpKind::Activation}, [](const NodeView& node) {
    const double alpha = node.f("alpha", 0.01);
    return unary([alpha](const at::Tensor& x) { return at::leaky_relu(x, alpha); },
                 [alpha](const at::Tensor& x, const at::Tensor&, const at::Tensor& g) {
                   return at::leaky_relu_backward(g, x, alpha, /*self_is_result=*/false);
                 });
  });
  registry.add("PRelu", {OpKind::Activation}, prelu);
  registry.add("Elu", {OpKind::Activation}, [](const NodeView& node) {
    const double alpha = node.f("alpha", 1.0);
    return unary([alpha](const at::Tensor& x) { return at::elu(x, alpha); });
  });
  registry.add("Selu", {OpKind::Activation}, [](const NodeView& node) {
    // ONNX defaults, as float32 values.
    const double alpha = node.f("alpha", 1.67326319217681884765625);
    const double gamma = node.f("gamma", 1.05070102214813232421875);
    return unary([alpha, gamma](const at::Tensor& x) { return at::elu(x, alpha, gamma, 1.0); });
  });
  add_unary(
      registry, "Tanh", {OpKind::Activation}, [](const at::Tensor& x) { return at::tanh(x); },
      [](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) {
        return at::tanh_backward(g, y);
      });
  add_unary(
      registry, "Sigmoid", {OpKind::Activation, OutputRange::UnitInterval},
      [](const at::Tensor& x) { return at::sigmoid(x); },
      [](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) {
        return at::sigmoid_backward(g, y);
      });
  registry.add("HardSigmoid", {OpKind::Activation, OutputRange::UnitInterval}, hard_sigmoid);
  // ONNX HardSwish is x * HardSigmoid(x) with alpha 1/6, beta 1/2: PyTorch's hardswish.
  add_unary(
      registry, "HardSwish", {OpKind::Activation},
      [](const at::Tensor& x) { return at::hardswish(x); },
      [](const at::Tensor& x, const at::Tensor&, const at::Tensor& g) {
        return at::hardswish_backward(g, x);
      });
  // log(1 + e^x) in a form that neither overflows nor needs at::softplus's linear cut-off.
  add_unary(
      registry, "Softplus", {OpKind::Activation, OutputRange::NonNegative},
      [](const at::Tensor& x) { return at::relu(x) + at::log1p(at::exp(-at::abs(x))); },
      [](const at::Tensor& x, const at::Tensor&, const at::Tensor& g) {
        return g * at::sigmoid(x);
      });
  registry.add("Softmax", {OpKind::Mixing, OutputRange::UnitInterval},
               [](const NodeView& node) { return std::make_unique<Softmax>(node, false); });
  registry.add("LogSoftmax", {OpKind::Mixing},
               [](const NodeView& node) { return std::make_unique<Softmax>(node, true); });

  add_unary(registry, "Erf", {OpKind::Elementwise}, [](const at::Tensor& x) { return at::erf(x); });
  add_unary(
      registry, "Exp", {OpKind::Elementwise, OutputRange::NonNegative},
      [](const at::Tensor& x) { return at::exp(x); },
      [](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) { return g * y; });
  add_unary(
      registry, "Log", {OpKind::Elementwise}, [](const at::Tensor& x) { return at::log(x); },
      [](const at::Tensor& x, const at::Tensor&, const at::Tensor& g) { return g / x; });
  add_unary(
      registry, "Abs", {OpKind::Elementwise, OutputRange::NonNegative},
      [](const at::Tensor& x) { return at::abs(x); },
      [](const at::Tensor& x, const at::Tensor&, const at::Tensor& g) { return g * at::sgn(x); });
  add_unary(
      registry, "Neg", {OpKind::Elementwise}, [](const at::Tensor& x) { return at::neg(x); },
      [](const at::Tensor&, const at::Tensor&, const at::Tensor& g) { return at::neg(g); });
  add_unary(
      registry, "Sqrt", {OpKind::Elementwise, OutputRange::NonNegative},
      [](const at::Tensor& x) { return at::sqrt(x); },
      [](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) { return g / (2 * y); });
  add_unary(
      registry, "Reciprocal", {OpKind::Elementwise},
      [](const at::Tensor& x) { return at::reciprocal(x); },
      [](const at::Tensor&, const at::Tensor& y, const at::Tensor& g) { return -g * y * y; });
}

}  // namespace whitebox::ops
