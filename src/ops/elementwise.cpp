// Elementwise arithmetic with numpy (multidirectional) broadcasting: Add, Sub, Mul, Div, Pow and
// the n-ary Sum, Mean, Max, Min. Every VJP sums the signal back to each input's own shape.
#include <ATen/ExpandUtils.h>

#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

bool integral(const at::Tensor& t) { return !at::isFloatingType(t.scalar_type()) && !t.is_complex(); }

// Adds `more` into `acc`, in place when that keeps acc's shape and type (acc is always a fresh
// tensor owned by the caller).
void add_into(at::Tensor& acc, const at::Tensor& more) {
  if (at::infer_size(acc.sizes(), more.sizes()) == acc.sizes().vec() &&
      at::result_type(acc, more) == acc.scalar_type()) {
    acc.add_(more);
  } else {
    acc = acc + more;
  }
}

at::Tensor sum_of(const Tensors& in) {
  if (in.size() == 1) return in[0];
  at::Tensor acc = at::add(in[0], in[1]);
  for (size_t k = 2; k < in.size(); ++k) add_into(acc, in[k]);
  return acc;
}

void check_arity(const NodeView& node, size_t minimum, size_t maximum) {
  for (size_t i = 0; i < node.num_inputs(); ++i) {
    if (!node.has_input(i)) node.invalid("input " + std::to_string(i) + " may not be omitted");
  }
  if (node.num_inputs() < minimum || node.num_inputs() > maximum) {
    node.invalid("expects " + (minimum == maximum ? std::to_string(minimum)
                                                  : "at least " + std::to_string(minimum)) +
                 " inputs, has " + std::to_string(node.num_inputs()));
  }
}

// The output signal, scaled by `scale`, to every wanted input.
Tensors spread(const Tensors& in, const at::Tensor& g, const std::vector<bool>& wanted,
               double scale = 1.0) {
  Tensors result(in.size());
  if (!g.defined()) return result;
  const at::Tensor scaled = scale == 1.0 ? g : g * scale;
  for (size_t i = 0; i < in.size(); ++i) {
    if (wanted[i]) result[i] = unbroadcast(scaled, in[i].sizes());
  }
  return result;
}

std::unique_ptr<Kernel> add(const NodeView& node) {
  check_arity(node, 2, 2);
  return make_kernel(
      [](const Tensors& in) { return Tensors{at::add(in[0], in[1])}; },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        return spread(in, grad[0], wanted);
      });
}

std::unique_ptr<Kernel> sub(const NodeView& node) {
  check_arity(node, 2, 2);
  return make_kernel(
      [](const Tensors& in) { return Tensors{at::sub(in[0], in[1])}; },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!grad[0].defined()) return result;
        if (wanted[0]) result[0] = unbroadcast(grad[0], in[0].sizes());
        if (wanted[1]) result[1] = unbroadcast(-grad[0], in[1].sizes());
        return result;
      });
}

std::unique_ptr<Kernel> mul(const NodeView& node) {
  check_arity(node, 2, 2);
  return make_kernel(
      [](const Tensors& in) { return Tensors{at::mul(in[0], in[1])}; },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!grad[0].defined()) return result;
        if (wanted[0]) result[0] = unbroadcast(grad[0] * in[1], in[0].sizes());
        if (wanted[1]) result[1] = unbroadcast(grad[0] * in[0], in[1].sizes());
        return result;
      });
}

std::unique_ptr<Kernel> div(const NodeView& node) {
  check_arity(node, 2, 2);
  return make_kernel(
      [](const Tensors& in) {
        // Integer division (shape arithmetic) truncates, as in ONNX; at::div would promote.
        if (integral(in[0]) && integral(in[1])) return Tensors{at::div(in[0], in[1], "trunc")};
        return Tensors{at::div(in[0], in[1])};
      },
      [](const Tensors& in, const Tensors& out, const Tensors& grad,
         const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!grad[0].defined()) return result;
        // d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b = -y/b.
        const at::Tensor over_b = grad[0] / in[1];
        if (wanted[0]) result[0] = unbroadcast(over_b, in[0].sizes());
        if (wanted[1]) result[1] = unbroadcast(-over_b * out[0], in[1].sizes());
        return result;
      });
}

std::unique_ptr<Kernel> pow(const NodeView& node) {
  check_arity(node, 2, 2);
  // ONNX Pow keeps the base's type, whatever the exponent's.
  if (node.is_constant(1) && node.constant(1).numel() == 1 && !node.is_constant(0)) {
    const double exponent = node.constant_scalar(1);
    return make_kernel([exponent](const Tensors& in) {
      return Tensors{at::pow(in[0], exponent).to(in[0].scalar_type())};
    });
  }
  return make_kernel([](const Tensors& in) {
    return Tensors{at::pow(in[0], in[1]).to(in[0].scalar_type())};
  });
}

std::unique_ptr<Kernel> sum(const NodeView& node) {
  check_arity(node, 1, SIZE_MAX);
  return make_kernel(
      [](const Tensors& in) { return Tensors{sum_of(in)}; },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        return spread(in, grad[0], wanted);
      });
}

std::unique_ptr<Kernel> mean(const NodeView& node) {
  check_arity(node, 1, SIZE_MAX);
  return make_kernel(
      [](const Tensors& in) {
        if (in.size() == 1) return Tensors{in[0]};
        return Tensors{sum_of(in).div_(static_cast<double>(in.size()))};
      },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        return spread(in, grad[0], wanted, 1.0 / static_cast<double>(in.size()));
      });
}

// Max / Min: the signal of each element goes to the first input that attains the extremum.
std::unique_ptr<Kernel> extremum(const NodeView& node, bool max) {
  check_arity(node, 1, SIZE_MAX);
  return make_kernel(
      [max](const Tensors& in) {
        at::Tensor acc = in[0];
        for (size_t k = 1; k < in.size(); ++k) {
          acc = max ? at::maximum(acc, in[k]) : at::minimum(acc, in[k]);
        }
        return Tensors{acc};
      },
      [](const Tensors& in, const Tensors& out, const Tensors& grad,
         const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!grad[0].defined()) return result;
        if (in.size() == 1) {
          if (wanted[0]) result[0] = grad[0];
          return result;
        }
        at::Tensor taken;  // elements already claimed by an earlier input
        for (size_t i = 0; i < in.size(); ++i) {
          at::Tensor wins = at::eq(in[i], out[0]).expand(out[0].sizes());
          if (taken.defined()) wins = wins.logical_and(taken.logical_not());
          if (wanted[i]) {
            result[i] = unbroadcast(at::where(wins, grad[0], at::zeros_like(grad[0])),
                                    in[i].sizes());
          }
          taken = taken.defined() ? taken.logical_or(wins) : wins;
        }
        return result;
      });
}

}  // namespace

void register_elementwise_ops(Registry& registry) {
  registry.add("Add", {.kind = OpKind::Sum, .layer = Layer::Addition}, add);
  registry.add("Sub", {.kind = OpKind::Sum, .layer = Layer::Subtraction}, sub);
  registry.add("Mul", {.kind = OpKind::Arithmetic, .layer = Layer::Multiplication}, mul);
  registry.add("Div", {.kind = OpKind::Arithmetic, .layer = Layer::Division}, div);
  registry.add("Pow", {OpKind::Arithmetic}, pow);
  registry.add("Sum", {.kind = OpKind::Sum, .layer = Layer::Addition}, sum);
  registry.add("Mean", {OpKind::Sum}, mean);
  registry.add("Max", {OpKind::Arithmetic},
               [](const NodeView& node) { return extremum(node, true); });
  registry.add("Min", {OpKind::Arithmetic},
               [](const NodeView& node) { return extremum(node, false); });
}

}  // namespace whitebox::ops
