// Normalisations: BatchNormalization (inference form), LRN, LayerNormalization,
// InstanceNormalization. Only the first output (Y) is produced.
#include <algorithm>

#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

// [1, C, 1, ...] for a per-channel parameter of an input of rank `rank`.
std::vector<int64_t> channel_shape(int64_t channels, int64_t rank) {
  std::vector<int64_t> shape(std::max<int64_t>(rank, 2), 1);
  shape[1] = channels;
  return shape;
}

// y = scale * (x - mean) / sqrt(var + epsilon) + B over channel dimension 1, with the stored
// statistics. Inputs: X, scale, B, input_mean, input_var.
class BatchNorm final : public Kernel {
 public:
  explicit BatchNorm(const NodeView& node) : epsilon_(node.f("epsilon", 1e-5)) {
    for (size_t i = 0; i < 5; ++i) {
      if (!node.has_input(i)) node.invalid("BatchNormalization needs 5 inputs");
    }
    if (node.i("training_mode", 0) != 0) node.unsupported("training_mode=1");
    if (node.opset() < 9 && node.i("spatial", 1) == 0) node.unsupported("spatial=0");
  }

  Tensors forward(const Tensors& in) const override {
    if (in[0].dim() < 2) throw InputError("BatchNormalization needs an input of rank >= 2");
    return {at::batch_norm(in[0], in[1], in[2], in[3], in[4], /*training=*/false, 0.0, epsilon_,
                           /*cudnn_enabled=*/true)};
  }

  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!grad[0].defined()) return result;
    if (wanted[0]) {
      // An affine map per channel: the signal is scaled by scale / sqrt(var + epsilon).
      const at::Tensor factor = in[1] * at::rsqrt(in[4] + epsilon_);
      result[0] = grad[0] * factor.reshape(channel_shape(factor.numel(), in[0].dim()));
    }
    vjp_other_inputs(in, out, grad, wanted, result);
    return result;
  }

 private:
  double epsilon_;
};

// ONNX LRN: square_sum[c] = sum of x[c']^2 over c' in [c - floor((size-1)/2), c + ceil((size-1)/2)]
// (clipped to the channels), y = x / (bias + alpha / size * square_sum)^beta.
class Lrn final : public Kernel {
 public:
  explicit Lrn(const NodeView& node)
      : size_(node.i("size")),
        alpha_(node.f("alpha", 1e-4)),
        beta_(node.f("beta", 0.75)),
        bias_(node.f("bias", 1.0)) {
    if (size_ < 1) node.invalid("size must be positive");
  }

  Tensors forward(const Tensors& in) const override {
    const at::Tensor& x = in[0];
    if (x.dim() < 2) throw InputError("LRN needs an input of rank >= 2");
    const int64_t channels = x.size(1);
    // Zero-pad the channel dimension (constant_pad_nd lists pads from the last dimension).
    std::vector<int64_t> pads(2 * (x.dim() - 1), 0);
    pads[pads.size() - 2] = (size_ - 1) / 2;
    pads[pads.size() - 1] = size_ / 2;  // ceil((size - 1) / 2)
    const at::Tensor squares = at::constant_pad_nd(x * x, pads);
    at::Tensor window_sum = squares.narrow(1, 0, channels).clone();
    for (int64_t k = 1; k < size_; ++k) window_sum.add_(squares.narrow(1, k, channels));
    return {x * at::pow(window_sum * (alpha_ / static_cast<double>(size_)) + bias_, -beta_)};
  }

 private:
  int64_t size_;
  double alpha_, beta_, bias_;
};

// LayerNormalization (opset 17): normalise over dimensions axis..rank-1, then scale and shift
// (scale and B broadcast to the normalised shape).
class LayerNorm final : public Kernel {
 public:
  explicit LayerNorm(const NodeView& node)
      : axis_(node.i("axis", -1)), epsilon_(node.f("epsilon", 1e-5)) {
    if (!node.has_input(1)) node.invalid("LayerNormalization needs a scale input");
  }

  Tensors forward(const Tensors& in) const override {
    const at::Tensor& x = in[0];
    const auto normalized = x.sizes().slice(axis(axis_, x.dim()));
    const at::Tensor& scale = in[1];
    const at::Tensor bias = in.size() > 2 ? in[2] : at::Tensor();
    const bool exact = scale.sizes() == normalized && (!bias.defined() || bias.sizes() == normalized);
    // The fused kernel takes the affine parameters only when they have the normalised shape.
    if (exact) return {at::layer_norm(x, normalized, scale, bias, epsilon_)};
    at::Tensor y = at::layer_norm(x, normalized, {}, {}, epsilon_) * scale;
    return {bias.defined() ? y + bias : y};
  }

 private:
  int64_t axis_;
  double epsilon_;
};

// InstanceNormalization: per sample and channel, normalise over the spatial dimensions, then
// apply the per-channel scale and B.
class InstanceNorm final : public Kernel {
 public:
  explicit InstanceNorm(const NodeView& node) : epsilon_(node.f("epsilon", 1e-5)) {
    for (size_t i = 0; i < 3; ++i) {
      if (!node.has_input(i)) node.invalid("InstanceNormalization needs 3 inputs");
    }
  }

  Tensors forward(const Tensors& in) const override {
    const at::Tensor& x = in[0];
    if (x.dim() < 3) throw InputError("InstanceNormalization needs an input of rank >= 3");
    std::vector<int64_t> spatial;
    for (int64_t d = 2; d < x.dim(); ++d) spatial.push_back(d);
    auto [var, mean] = at::var_mean(x, spatial, /*unbiased=*/false, /*keepdim=*/true);
    const auto shape = channel_shape(x.size(1), x.dim());
    return {(x - mean) * at::rsqrt(var + epsilon_) * in[1].reshape(shape) + in[2].reshape(shape)};
  }

 private:
  double epsilon_;
};

}  // namespace

void register_normalization_ops(Registry& registry) {
  registry.add("BatchNormalization", {.kind = OpKind::Affine, .layer = Layer::BatchNormalization},
               [](const NodeView& node) { return std::make_unique<BatchNorm>(node); });
  registry.add("LRN", {OpKind::Mixing},
               [](const NodeView& node) { return std::make_unique<Lrn>(node); });
  registry.add("LayerNormalization", {.kind = OpKind::Mixing, .layer = Layer::LayerNormalization},
               [](const NodeView& node) { return std::make_unique<LayerNorm>(node); });
  registry.add("InstanceNormalization", {OpKind::Mixing},
               [](const NodeView& node) { return std::make_unique<InstanceNorm>(node); });
}

}  // namespace whitebox::ops
