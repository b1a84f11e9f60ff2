// Reductions over a set of axes: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceL2,
// ReduceSumSquare, ReduceProd.
#include <algorithm>

#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

enum class Reduction { kSum, kMean, kMax, kMin, kL2, kSumSquare, kProd };

class Reduce final : public Kernel {
 public:
  // `axes_input_opset`: the opset from which the axes are input 1 instead of an attribute.
  Reduce(const NodeView& node, Reduction kind, int64_t axes_input_opset)
      : kind_(kind),
        keepdims_(node.i("keepdims", 1) != 0),
        noop_(node.i("noop_with_empty_axes", 0) != 0) {
    if (node.opset() < axes_input_opset) {
      axes_ = node.ints("axes", {});
    } else if (node.has_input(1)) {
      axes_ = node.constant_ints(1);
    }
    std::vector<int64_t> sorted = axes_;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      node.invalid("repeated axis");
    }
  }

  Tensors forward(const Tensors& in) const override {
    const at::Tensor& x = in[0];
    if (axes_.empty() && noop_) return {x};
    const std::vector<int64_t> d = dims(x.dim());
    if (d.empty()) return {x};  // a scalar: nothing to reduce
    switch (kind_) {
      case Reduction::kSum: return {at::sum(x, d, keepdims_)};
      case Reduction::kMean: return {at::mean(x, d, keepdims_)};
      case Reduction::kMax: return {at::amax(x, d, keepdims_)};
      case Reduction::kMin: return {at::amin(x, d, keepdims_)};
      case Reduction::kL2: return {at::linalg_vector_norm(x, 2, d, keepdims_)};
      case Reduction::kSumSquare: return {at::sum(x * x, d, keepdims_)};
      case Reduction::kProd: {  // one axis at a time, the last first so that the others stay put
        at::Tensor y = x;
        for (auto a = d.rbegin(); a != d.rend(); ++a) y = at::prod(y, *a, keepdims_);
        return {y};
      }
    }
    return {};
  }

  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    const bool linear = kind_ == Reduction::kSum || kind_ == Reduction::kMean;
    if (!linear) return Kernel::vjp(in, out, grad, wanted);  // ties and zero norms: autograd
    Tensors result(in.size());
    if (!wanted[0] || !grad[0].defined()) return result;
    const at::Tensor& x = in[0];
    if (axes_.empty() && noop_) {
      result[0] = grad[0];
      return result;
    }
    const std::vector<int64_t> d = dims(x.dim());
    at::Tensor g = grad[0];
    if (kind_ == Reduction::kMean) {
      int64_t count = 1;
      for (int64_t a : d) count *= x.size(a);
      g = g / static_cast<double>(count);
    }
    if (!keepdims_) {
      for (int64_t a : d) g = g.unsqueeze(a);  // d is ascending
    }
    // Materialised, so later in-place accumulation never writes into a broadcast view.
    result[0] = g.expand(x.sizes()).contiguous();
    return result;
  }

 private:
  // The reduced dimensions, ascending; all of them when no axes are given.
  std::vector<int64_t> dims(int64_t rank) const {
    std::vector<int64_t> d;
    if (axes_.empty()) {
      for (int64_t a = 0; a < rank; ++a) d.push_back(a);
    } else {
      for (int64_t a : axes_) d.push_back(axis(a, rank));
      std::sort(d.begin(), d.end());
    }
    return d;
  }

  Reduction kind_;
  std::vector<int64_t> axes_;
  bool keepdims_, noop_;
};

void add_reduce(Registry& registry, const std::string& op, Traits traits, Reduction kind,
                int64_t axes_input_opset) {
  registry.add(op, traits, [kind, axes_input_opset](const NodeView& node) {
    return std::make_unique<Reduce>(node, kind, axes_input_opset);
  });
}

}  // namespace

void register_reduce_ops(Registry& registry) {
  add_reduce(registry, "ReduceSum", {OpKind::Linear, OutputRange::OfInput}, Reduction::kSum, 13);
  add_reduce(registry, "ReduceMean", {OpKind::Linear, OutputRange::OfInput, Layer::AxisMean},
             Reduction::kMean, 18);
  add_reduce(registry, "ReduceMax", {OpKind::Maximum, OutputRange::OfInput}, Reduction::kMax, 18);
  add_reduce(registry, "ReduceMin", {OpKind::Mixing, OutputRange::OfInput}, Reduction::kMin, 18);
  add_reduce(registry, "ReduceL2", {OpKind::Mixing, OutputRange::NonNegative}, Reduction::kL2, 18);
  // tf2onnx writes these: a layer norm as a batch norm (the variance), and a Keras Dense on a
  // 4-D tensor with a dynamic batch (the product of shape dimensions).
  add_reduce(registry, "ReduceSumSquare", {OpKind::Mixing, OutputRange::NonNegative},
             Reduction::kSumSquare, 18);
  add_reduce(registry, "ReduceProd", {OpKind::Mixing, OutputRange::Any}, Reduction::kProd, 18);
}

}  // namespace whitebox::ops
