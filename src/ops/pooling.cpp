// MaxPool, AveragePool and their global forms, with closed-form VJPs.
//
// ATen's pooling takes only symmetric padding of at most half the kernel. Those cases (what
// PyTorch exports) run straight on ATen. Anything else (asymmetric or auto_pad SAME padding,
// larger pads) pads the input explicitly and pools it unpadded; ceil_mode then becomes extra end
// padding, so that ATen's ceil rule never sees our explicit padding as input.
#include <cmath>
#include <limits>

#include "ops/window.hpp"

namespace whitebox::ops {
namespace {

// How one call pools: ATen geometry over an input of spatial rank 2 or 3 (1-D pooling is lifted
// to 2-D), and the explicit padding applied before, if any.
struct Plan {
  std::vector<int64_t> kernel, strides, dilations, pads;  // what ATen gets
  bool ceil = false;
  bool padded = false;                   // the input is padded explicitly (pads are then 0)
  std::vector<int64_t> begin, end;       // explicit padding per spatial dim (end includes extra)
  std::vector<int64_t> onnx_end;         // the model's end padding (without the ceil extra)
  std::vector<int64_t> pad_nd;           // the same in constant_pad_nd order

  // Pads a lifted input explicitly (a no-op on the fast path).
  at::Tensor pad(const at::Tensor& x, double fill) const {
    return padded ? at::constant_pad_nd(x, pad_nd, fill) : x;
  }
  // Crops a signal of the padded input's shape back to the input's.
  at::Tensor crop(const at::Tensor& signal) const {
    if (!padded) return signal;
    std::vector<int64_t> negated(pad_nd.size());
    for (size_t i = 0; i < pad_nd.size(); ++i) negated[i] = -pad_nd[i];
    return at::constant_pad_nd(signal, negated, 0.0);
  }
};

class Pool : public Kernel {
 protected:
  explicit Pool(const NodeView& node) : window_(node, {}), ceil_(node.i("ceil_mode", 0) != 0) {
    const size_t rank = window_.kernel().size();
    if (rank == 0) node.invalid("missing kernel_shape");
    if (rank < 1 || rank > 3) node.unsupported("pooling over " + std::to_string(rank) + " dims");
    for (size_t d = 0; d < rank; ++d) {
      if (window_.kernel()[d] < 1 || window_.strides()[d] < 1 || window_.dilations()[d] < 1) {
        node.invalid("kernel_shape, strides and dilations must be positive");
      }
    }
    if (node.has_input(1)) node.invalid("pooling takes one input");
  }

  bool one_d() const { return window_.kernel().size() == 1; }
  // 1-D pooling runs as 2-D pooling over a height of 1.
  at::Tensor lift(const at::Tensor& x) const { return one_d() ? x.unsqueeze(2) : x; }
  at::Tensor lower(const at::Tensor& y) const { return one_d() ? y.squeeze(2) : y; }

  // The plan for an input `x` (not lifted).
  Plan plan(const at::Tensor& x) const {
    const auto spatial = x.sizes().slice(2);
    if (static_cast<size_t>(spatial.size()) != window_.kernel().size()) {
      throw InputError("pooling over " + std::to_string(window_.kernel().size()) +
                       " spatial dims got an input of shape " + c10::str(x.sizes()));
    }
    auto [begin, end] = window_.pads(spatial);
    Plan p;
    p.kernel = window_.kernel();
    p.strides = window_.strides();
    p.dilations = window_.dilations();
    std::vector<int64_t> sizes = spatial.vec();
    if (one_d()) {
      for (auto* v : {&p.kernel, &p.strides, &p.dilations, &sizes}) v->insert(v->begin(), 1);
      for (auto* v : {&begin, &end}) v->insert(v->begin(), 0);
    }
    const size_t n = p.kernel.size();
    bool fast = true;
    for (size_t d = 0; d < n; ++d) fast = fast && begin[d] == end[d] && 2 * begin[d] <= p.kernel[d];
    if (fast) {
      p.pads = begin;
      p.ceil = ceil_;
      return p;
    }
    p.padded = true;
    p.pads.assign(n, 0);
    p.begin = begin;
    p.onnx_end = end;
    p.end = end;
    for (size_t d = 0; d < n; ++d) {
      const int64_t length = sizes[d] + begin[d] + end[d];
      const int64_t extent = (p.kernel[d] - 1) * p.dilations[d] + 1;
      if (length < extent) throw InputError("pooling window larger than the padded input");
      int64_t out = (length - extent) / p.strides[d] + 1;
      if (ceil_) {
        out = (length - extent + p.strides[d] - 1) / p.strides[d] + 1;
        // As in PyTorch: the last window must start inside the input or the begin padding.
        if ((out - 1) * p.strides[d] >= sizes[d] + begin[d]) --out;
      }
      p.end[d] += std::max<int64_t>(0, (out - 1) * p.strides[d] + extent - length);
    }
    for (size_t d = n; d-- > 0;) {  // constant_pad_nd: last dim first
      p.pad_nd.push_back(begin[d]);
      p.pad_nd.push_back(p.end[d]);
    }
    return p;
  }

  Window window_;
  bool ceil_;
};

// For a max pooling, linear() is the sum over each window: the linear map that proportional
// relevance rules use in place of the max.
class MaxPool final : public Pool, public LinearForm {
 public:
  explicit MaxPool(const NodeView& node) : Pool(node) {
    for (size_t o = 1; o < node.node().outputs.size(); ++o) {
      if (node.node().outputs[o] != kNoValue) node.unsupported("the Indices output");
    }
    for (int64_t d : window_.dilations()) undilated_ = undilated_ && d == 1;
  }

  const LinearForm* linear() const override { return undilated_ ? this : nullptr; }

  at::Tensor apply(const at::Tensor& input, const at::Tensor&, const at::Tensor&) const override {
    const Plan p = plan(input);
    const at::Tensor x = p.pad(lift(input), 0.0);
    return lower(p.kernel.size() == 2
                     ? at::avg_pool2d(x, p.kernel, p.strides, p.pads, p.ceil, true, 1)
                     : at::avg_pool3d(x, p.kernel, p.strides, p.pads, p.ceil, true, 1));
  }

  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& input,
                             const at::Tensor&) const override {
    const Plan p = plan(input);
    const at::Tensor x = p.pad(lift(input), 0.0);
    const at::Tensor g = lift(signal);
    const at::Tensor gx =
        p.kernel.size() == 2
            ? at::avg_pool2d_backward(g, x, p.kernel, p.strides, p.pads, p.ceil, true, 1)
            : at::avg_pool3d_backward(g, x, p.kernel, p.strides, p.pads, p.ceil, true, 1);
    return lower(p.crop(gx));
  }

  // The output, then the argmax of every window for the VJP: ATen's max pooling finds it
  // anyway, so a trace keeps it rather than the VJP pooling again.
  Tensors forward(const Tensors& in) const override {
    const Plan p = plan(in[0]);
    auto [y, indices] = pool(p.pad(lift(in[0]), -std::numeric_limits<double>::infinity()), p);
    return {lower(y), std::move(indices)};
  }

  // outputs[1]: the argmax that forward() returned with the output, when the caller kept it.
  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wanted[0] || grad.empty() || !grad[0].defined()) return result;
    const Plan p = plan(in[0]);
    const at::Tensor x = p.pad(lift(in[0]), -std::numeric_limits<double>::infinity());
    const at::Tensor indices = out.size() > 1 && out[1].defined() ? out[1] : std::get<1>(pool(x, p));
    const at::Tensor g = lift(grad[0]);
    const at::Tensor gx =
        p.kernel.size() == 2
            ? at::max_pool2d_with_indices_backward(g, x, p.kernel, p.strides, p.pads,
                                                   p.dilations, p.ceil, indices)
            : at::max_pool3d_with_indices_backward(g, x, p.kernel, p.strides, p.pads,
                                                   p.dilations, p.ceil, indices);
    result[0] = lower(p.crop(gx));
    return result;
  }

  VjpReads vjp_reads() const override { return {/*inputs=*/true, /*outputs=*/false}; }

 private:
  // Output and argmax of a lifted, padded input.
  static std::tuple<at::Tensor, at::Tensor> pool(const at::Tensor& x, const Plan& p) {
    return p.kernel.size() == 2
               ? at::max_pool2d_with_indices(x, p.kernel, p.strides, p.pads, p.dilations, p.ceil)
               : at::max_pool3d_with_indices(x, p.kernel, p.strides, p.pads, p.dilations, p.ceil);
  }

  bool undilated_ = true;
};

class AveragePool final : public Pool, public LinearForm {
 public:
  explicit AveragePool(const NodeView& node)
      : Pool(node), count_include_pad_(node.i("count_include_pad", 0) != 0) {
    for (int64_t d : window_.dilations()) {
      if (d != 1) node.unsupported("dilated AveragePool");
    }
  }

  Tensors forward(const Tensors& in) const override {
    const Plan p = plan(in[0]);
    const at::Tensor x = lift(in[0]);
    if (!p.padded) {
      return {lower(pool(x, p, p.ceil, count_include_pad_, c10::nullopt))};
    }
    // Explicit padding: ATen would count padded zeros as input, so divide window sums by the
    // number of positions that count (the input, plus the model's pads if count_include_pad).
    const at::Tensor sums = pool(p.pad(x, 0.0), p, false, true, 1);
    return {lower(sums / counts(x, p))};
  }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wanted[0] || grad.empty() || !grad[0].defined()) return result;
    const Plan p = plan(in[0]);
    const at::Tensor x = lift(in[0]);
    const at::Tensor g = lift(grad[0]);
    if (!p.padded) {
      result[0] = lower(backward(g, x, p, p.ceil, count_include_pad_, c10::nullopt));
    } else {
      const at::Tensor gx = backward(g / counts(x, p), p.pad(x, 0.0), p, false, true, 1);
      result[0] = lower(p.crop(gx));
    }
    return result;
  }

 public:
  const LinearForm* linear() const override { return this; }
  at::Tensor apply(const at::Tensor& x, const at::Tensor&, const at::Tensor&) const override {
    return forward({x})[0];
  }
  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& x,
                             const at::Tensor&) const override {
    return vjp({x}, {}, {signal}, {true})[0];
  }

 private:
  static at::Tensor pool(const at::Tensor& x, const Plan& p, bool ceil, bool include_pad,
                         c10::optional<int64_t> divisor) {
    return p.kernel.size() == 2
               ? at::avg_pool2d(x, p.kernel, p.strides, p.pads, ceil, include_pad, divisor)
               : at::avg_pool3d(x, p.kernel, p.strides, p.pads, ceil, include_pad, divisor);
  }

  static at::Tensor backward(const at::Tensor& g, const at::Tensor& x, const Plan& p, bool ceil,
                             bool include_pad, c10::optional<int64_t> divisor) {
    return p.kernel.size() == 2
               ? at::avg_pool2d_backward(g, x, p.kernel, p.strides, p.pads, ceil, include_pad,
                                         divisor)
               : at::avg_pool3d_backward(g, x, p.kernel, p.strides, p.pads, ceil, include_pad,
                                         divisor);
  }

  // Per output position, the number of window positions that enter the average: a pooled mask
  // of ones over the input (and over the model's pads when they count), zeros elsewhere.
  at::Tensor counts(const at::Tensor& x, const Plan& p) const {
    const size_t n = p.kernel.size();
    std::vector<int64_t> shape{1, 1}, pad_nd;
    for (size_t d = 0; d < n; ++d) {
      const int64_t size = x.size(2 + d);
      shape.push_back(count_include_pad_ ? size + p.begin[d] + p.onnx_end[d] : size);
    }
    for (size_t d = n; d-- > 0;) {
      pad_nd.push_back(count_include_pad_ ? 0 : p.begin[d]);
      pad_nd.push_back(count_include_pad_ ? p.end[d] - p.onnx_end[d] : p.end[d]);
    }
    const at::Tensor mask = at::constant_pad_nd(at::ones(shape, x.options()), pad_nd, 0.0);
    Plan unpadded = p;
    unpadded.padded = false;
    return pool(mask, unpadded, false, true, 1);
  }

  bool count_include_pad_;
};

std::vector<int64_t> spatial_dims(const at::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

Tensors global_average_vjp(const Tensors& in, const Tensors&, const Tensors& grad,
                           const std::vector<bool>& wanted) {
  Tensors result(in.size());
  if (!wanted[0] || !grad[0].defined()) return result;
  const int64_t count = in[0].dim() > 2 ? in[0][0][0].numel() : 1;
  result[0] = (grad[0] / static_cast<double>(count)).expand(in[0].sizes()).contiguous();
  return result;
}

// The signal goes to one maximum per channel (the first), as MaxPool's does.
Tensors global_max_vjp(const Tensors& in, const Tensors&, const Tensors& grad,
                       const std::vector<bool>& wanted) {
  Tensors result(in.size());
  if (!wanted[0] || !grad[0].defined()) return result;
  if (in[0].dim() <= 2) return {grad[0]};
  const at::Tensor x = in[0].flatten(2);
  const at::Tensor index = x.argmax(2, /*keepdim=*/true);
  result[0] = at::zeros_like(x).scatter_(2, index, grad[0].reshape(index.sizes()))
                  .reshape(in[0].sizes());
  return result;
}

// Global pooling as a kernel with a linear form: the mean for GlobalAveragePool, and for
// GlobalMaxPool the spatial sum (the proportional relevance stand-in, as for MaxPool).
class GlobalPool final : public Kernel, public LinearForm {
 public:
  explicit GlobalPool(bool max) : max_(max) {}
  Tensors forward(const Tensors& in) const override {
    if (in[0].dim() <= 2) return {in[0]};
    return {max_ ? at::amax(in[0], spatial_dims(in[0]), true)
                 : at::mean(in[0], spatial_dims(in[0]), true)};
  }
  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    return max_ ? global_max_vjp(in, out, grad, wanted) : global_average_vjp(in, out, grad, wanted);
  }

  const LinearForm* linear() const override { return this; }
  at::Tensor apply(const at::Tensor& x, const at::Tensor&, const at::Tensor&) const override {
    if (x.dim() <= 2) return x;
    return max_ ? at::sum(x, spatial_dims(x), true) : at::mean(x, spatial_dims(x), true);
  }
  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& x,
                             const at::Tensor&) const override {
    if (x.dim() <= 2) return signal;
    const double scale = max_ ? 1.0 : 1.0 / static_cast<double>(x[0][0].numel());
    return (signal * scale).expand(x.sizes()).contiguous();
  }

 private:
  bool max_;
};

}  // namespace

void register_pooling_ops(Registry& registry) {
  registry.add("MaxPool", {OpKind::Maximum, OutputRange::OfInput},
               [](const NodeView& node) { return std::make_unique<MaxPool>(node); });
  registry.add("AveragePool", {OpKind::Linear, OutputRange::OfInput, Layer::AveragePool},
               [](const NodeView& node) { return std::make_unique<AveragePool>(node); });
  registry.add("GlobalAveragePool",
               {OpKind::Linear, OutputRange::OfInput, Layer::GlobalAveragePool},
               [](const NodeView&) { return std::make_unique<GlobalPool>(false); });
  registry.add("GlobalMaxPool", {OpKind::Maximum, OutputRange::OfInput},
               [](const NodeView&) { return std::make_unique<GlobalPool>(true); });
}

}  // namespace whitebox::ops
