// Conv: grouped / depthwise / dilated convolution with any ONNX padding form.
#include "ops/window.hpp"

namespace whitebox::ops {
namespace {

class Conv final : public Kernel, public LinearForm {
 public:
  explicit Conv(const NodeView& node)
      : window_(node, weight_kernel(node)),
        groups_(node.i("group", 1)),
        // Linear in x only when the weight (and bias) are parameters.
        is_linear_(node.is_constant(1) && (!node.has_input(2) || node.is_constant(2))),
        has_bias_(node.has_input(2)) {
    if (window_.kernel().empty()) node.invalid("cannot determine the kernel size");
    if (const auto weight = weight_kernel(node); !weight.empty() && weight != window_.kernel()) {
      node.invalid("kernel_shape " + c10::str(window_.kernel()) + " disagrees with the weight's " +
                   c10::str(weight));
    }
  }

  Tensors forward(const Tensors& in) const override {
    return {apply(in[0], in[1], in.size() > 2 ? in[2] : at::Tensor())};
  }

  const LinearForm* linear() const override { return is_linear_ ? this : nullptr; }
  int weight_input() const override { return 1; }
  int bias_input() const override { return has_bias_ ? 2 : -1; }
  std::optional<Units> units() const override { return Units{0, 1}; }

  at::Tensor apply(const at::Tensor& input, const at::Tensor& weight,
                   const at::Tensor& bias) const override {
    const at::Tensor x = window_.pad_input(input);
    const auto spatial = input.sizes().slice(2);
    return at::convolution(x, weight, bias, window_.strides(), window_.symmetric_pads(spatial),
                           window_.dilations(), false,
                           std::vector<int64_t>(window_.kernel().size(), 0), groups_);
  }

  at::Tensor bias_term(const at::Tensor& bias, int64_t output_dim) const override {
    std::vector<int64_t> shape(output_dim - 1, 1);
    shape[0] = -1;
    return bias.view(shape);
  }

  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& input,
                             const at::Tensor& weight) const override {
    const auto spatial = input.sizes().slice(2);
    auto grads = at::convolution_backward(
        signal, window_.pad_input(input), weight, c10::nullopt, window_.strides(),
        window_.symmetric_pads(spatial), window_.dilations(), false,
        std::vector<int64_t>(window_.kernel().size(), 0), groups_, {true, false, false});
    return window_.unpad_signal(std::get<0>(grads), spatial);
  }

  // Every output channel reads every input channel through the same all-ones kernel (one group):
  // the signal summed over output channels, passed back through one of them.
  at::Tensor apply_transpose_ones(const at::Tensor& signal, const at::Tensor& input,
                                  const at::Tensor& ones) const override {
    if (groups_ != 1) return apply_transpose(signal, input, ones);
    return apply_transpose(signal.sum(1, /*keepdim=*/true), input, ones.narrow(0, 0, 1));
  }

  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wanted[0] || !grad[0].defined()) return Kernel::vjp(in, out, grad, wanted);
    const auto spatial = in[0].sizes().slice(2);
    const at::Tensor x = window_.pad_input(in[0]);
    auto grads = at::convolution_backward(
        grad[0], x, in[1], c10::nullopt, window_.strides(), window_.symmetric_pads(spatial),
        window_.dilations(), false, std::vector<int64_t>(window_.kernel().size(), 0), groups_,
        {true, false, false});
    result[0] = window_.unpad_signal(std::get<0>(grads), spatial);
    vjp_other_inputs(in, out, grad, wanted, result);
    return result;
  }

  VjpReads vjp_reads() const override { return {/*inputs=*/true, /*outputs=*/false}; }

  const Window& window() const { return window_; }
  int64_t groups() const { return groups_; }

 private:
  static std::vector<int64_t> weight_kernel(const NodeView& node) {
    if (node.is_constant(1)) {
      auto sizes = node.constant(1).sizes();
      if (sizes.size() < 3) {
        node.invalid("the weight must have at least 3 dimensions, not " + c10::str(sizes));
      }
      return {sizes.begin() + 2, sizes.end()};
    }
    const auto& shape = node.static_shape(1);
    return shape.size() > 2 ? std::vector<int64_t>(shape.begin() + 2, shape.end())
                            : std::vector<int64_t>{};
  }

  Window window_;
  int64_t groups_;
  bool is_linear_, has_bias_;
};

}  // namespace

void register_conv_ops(Registry& registry) {
  registry.add("Conv", {.kind = OpKind::Linear, .layer = Layer::Convolution},
               [](const NodeView& node) { return std::make_unique<Conv>(node); });
}

}  // namespace whitebox::ops
