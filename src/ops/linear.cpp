// Gemm and MatMul: the fully connected layers, with closed-form VJPs.
#include <ATen/ExpandUtils.h>
#include <ATen/Parallel.h>

#include "blas.hpp"
#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

bool wants(const std::vector<bool>& wanted, const Tensors& in, size_t i) {
  return i < wanted.size() && wanted[i] && i < in.size() && in[i].defined() &&
         in[i].is_floating_point();
}

// a @ b for one block of b's columns. A single row goes through BLAS's matrix-vector product: on a
// batch of one, gemm runs a dense layer at about half the speed of gemv (VGG-16's first classifier
// layer: 25 ms against 12 ms forward, 27 ms against 11 ms backward, 2 threads).
at::Tensor block_product(const at::Tensor& a, const at::Tensor& b) {
  if (a.size(0) == 1 && b.size(1) > 1) return at::mv(b.t(), a[0]).unsqueeze(0);
  return at::mm(a, b);
}

// a @ b for matrices. On the CPU, unless the BLAS has a thread pool of its own (set_threads()
// leaves it on the calling thread), the blocks run on LibTorch's pool: a tall a is split by rows,
// which keeps each block's output contiguous, a few rows (a dense layer's batch) by b's columns,
// so that each thread reads its share of the weights (VGG-16's first classifier layer: 22 ms on
// one thread, 14 on two). Under autograd (Model::hessian_vector_product) the blocks' writes
// into one output would not be recorded: one product.
at::Tensor product(const at::Tensor& a, const at::Tensor& b) {
  constexpr int64_t kMinBlock = 64;  // rows or columns: below this a block is not worth a thread
  const int64_t rows = a.size(0), columns = b.size(1);
  const bool by_rows = rows >= 2 * kMinBlock;
  if (!a.is_cpu() || at::get_num_threads() < 2 || (!by_rows && columns < 2 * kMinBlock) ||
      blas::own_threads() > 1 ||
      (at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad()))) {
    return block_product(a, b);
  }
  at::Tensor out = at::empty({rows, columns}, a.options());
  at::parallel_for(0, by_rows ? rows : columns, kMinBlock, [&](int64_t begin, int64_t end) {
    if (by_rows) {
      at::Tensor rows_out = out.slice(0, begin, end);
      at::mm_out(rows_out, a.slice(0, begin, end), b);
    } else {
      out.slice(1, begin, end).copy_(block_product(a, b.slice(1, begin, end)));
    }
  });
  return out;
}

// numpy's matmul, through product() whenever the right operand is a matrix.
at::Tensor batched_product(const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() < 2 || b.dim() != 2) return at::matmul(a, b);
  std::vector<int64_t> sizes = a.sizes().vec();
  sizes.back() = b.size(1);
  return product(a.reshape({-1, a.size(-1)}), b).view(sizes);
}

// Y = alpha * A' B' + beta * C, where A' = transA ? A^T : A and B' likewise.
class Gemm final : public Kernel, public LinearForm {
 public:
  explicit Gemm(const NodeView& node)
      : alpha_(node.f("alpha", 1.0)),
        beta_(node.f("beta", 1.0)),
        trans_a_(node.i("transA", 0) != 0),
        trans_b_(node.i("transB", 0) != 0) {
    if (node.num_inputs() < 2) node.invalid("Gemm needs inputs A and B");
    // A dense layer: x = A computed, B = weight and C = bias constant. A negative alpha would
    // flip the signs that relevance rules read off W, so it is not offered as linear.
    has_bias_ = node.has_input(2) && beta_ != 0.0;
    is_linear_ = !node.is_constant(0) && node.is_constant(1) &&
                 (!node.has_input(2) || node.is_constant(2)) && alpha_ > 0.0;
  }

  const LinearForm* linear() const override { return is_linear_ ? this : nullptr; }
  int weight_input() const override { return 1; }
  int bias_input() const override { return has_bias_ ? 2 : -1; }
  // B is [in, out], or [out, in] with transB.
  std::optional<Units> units() const override { return Units{trans_b_ ? 0 : 1, 1, alpha_}; }

  at::Tensor apply(const at::Tensor& x, const at::Tensor& weight,
                   const at::Tensor& bias) const override {
    const at::Tensor a = trans_a_ ? x.t() : x;
    const at::Tensor y = product(a, trans_b_ ? weight.t() : weight);
    const at::Tensor scaled = alpha_ == 1.0 ? y : y * alpha_;
    return bias.defined() ? scaled + bias_term(bias, 2) : scaled;
  }

  at::Tensor bias_term(const at::Tensor& bias, int64_t) const override {
    return beta_ == 1.0 ? bias : beta_ * bias;
  }

  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& x,
                             const at::Tensor& weight) const override {
    const at::Tensor g = alpha_ == 1.0 ? signal : signal * alpha_;
    const at::Tensor b = trans_b_ ? weight.t() : weight;
    return trans_a_ ? product(b, g.t()) : product(g, b.t());
  }

  Tensors forward(const Tensors& in) const override {
    const at::Tensor a = trans_a_ ? in[0].t() : in[0];
    const at::Tensor b = trans_b_ ? in[1].t() : in[1];
    const bool has_c = in.size() > 2 && in[2].defined() && beta_ != 0.0;
    at::Tensor y = product(a, b);
    if (alpha_ != 1.0) y.mul_(alpha_);
    return {has_c ? y.add_(in[2], beta_) : y};
  }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (grad.empty() || !grad[0].defined()) return result;
    const at::Tensor g = alpha_ == 1.0 ? grad[0] : grad[0] * alpha_;
    const at::Tensor a = trans_a_ ? in[0].t() : in[0];
    const at::Tensor b = trans_b_ ? in[1].t() : in[1];
    // dA' = g B'^T, dB' = A'^T g; a transposed operand receives the transpose.
    if (wants(wanted, in, 0)) result[0] = trans_a_ ? product(b, g.t()) : product(g, b.t());
    if (wants(wanted, in, 1)) result[1] = trans_b_ ? at::mm(g.t(), a) : at::mm(a.t(), g);
    if (wants(wanted, in, 2) && beta_ != 0.0) {
      result[2] = unbroadcast(beta_ == 1.0 ? grad[0] : grad[0] * beta_, in[2].sizes());
    }
    return result;
  }

 private:
  double alpha_, beta_;
  bool trans_a_, trans_b_;
  bool has_bias_ = false, is_linear_ = false;
};

// numpy matmul semantics: 1-D operands are promoted (and the added dimension removed again),
// batch dimensions broadcast.
Tensors matmul_vjp(const Tensors& in, const Tensors&, const Tensors& grad,
                   const std::vector<bool>& wanted) {
  Tensors result(in.size());
  if (grad.empty() || !grad[0].defined()) return result;
  const at::Tensor a = in[0].dim() == 1 ? in[0].unsqueeze(0) : in[0];
  const at::Tensor b = in[1].dim() == 1 ? in[1].unsqueeze(-1) : in[1];
  // The gradient in the promoted shape [batch..., n, m].
  std::vector<int64_t> out_shape =
      at::infer_size(a.sizes().slice(0, a.dim() - 2), b.sizes().slice(0, b.dim() - 2));
  out_shape.push_back(a.size(-2));
  out_shape.push_back(b.size(-1));
  const at::Tensor g = grad[0].reshape(out_shape);
  const int64_t k = a.size(-1);
  if (wants(wanted, in, 0)) {
    at::Tensor ga;
    if (a.dim() == 2 && b.dim() > 2) {
      // Sum over the batch inside one mm: [n, batch*m] x [batch*m, k].
      ga = at::mm(g.movedim(-2, 0).reshape({a.size(0), -1}), b.movedim(-2, 0).reshape({k, -1}).t());
    } else {
      ga = at::sum_to(batched_product(g, b.transpose(-1, -2)), a.sizes());
    }
    result[0] = ga.reshape(in[0].sizes());
  }
  if (wants(wanted, in, 1)) {
    at::Tensor gb;
    if (b.dim() == 2 && a.dim() > 2) {
      // The common Linear-on-NHWC case: fold the batch into one mm.
      gb = at::mm(a.reshape({-1, k}).t(), g.reshape({-1, b.size(1)}));
    } else {
      gb = at::sum_to(batched_product(a.transpose(-1, -2), g), b.sizes());
    }
    result[1] = gb.reshape(in[1].sizes());
  }
  return result;
}

// x @ W with a constant W: a dense layer without bias.
class MatMul final : public Kernel, public LinearForm {
 public:
  explicit MatMul(const NodeView& node) : is_linear_(!node.is_constant(0) && node.is_constant(1)) {
    if (node.num_inputs() != 2) node.invalid("MatMul needs two inputs");
    matrix_weight_ = is_linear_ && node.constant(1).dim() == 2;
  }
  Tensors forward(const Tensors& in) const override { return {batched_product(in[0], in[1])}; }
  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    return matmul_vjp(in, out, grad, wanted);
  }

  const LinearForm* linear() const override { return is_linear_ ? this : nullptr; }
  int weight_input() const override { return 1; }
  std::optional<Units> units() const override {
    return matrix_weight_ ? std::optional<Units>(Units{1, -1}) : std::nullopt;
  }
  at::Tensor apply(const at::Tensor& x, const at::Tensor& weight, const at::Tensor&) const override {
    return batched_product(x, weight);
  }
  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& x,
                             const at::Tensor& weight) const override {
    return matmul_vjp({x, weight}, {}, {signal}, {true, false})[0];
  }

 private:
  bool is_linear_;
  bool matrix_weight_ = false;
};

}  // namespace

void register_linear_ops(Registry& registry) {
  registry.add("Gemm", {.kind = OpKind::Linear, .layer = Layer::Dense},
               [](const NodeView& node) { return std::make_unique<Gemm>(node); });
  registry.add("MatMul", {.kind = OpKind::Linear, .layer = Layer::Dense},
               [](const NodeView& node) { return std::make_unique<MatMul>(node); });
}

}  // namespace whitebox::ops
