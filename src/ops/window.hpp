#pragma once
// Sliding-window geometry shared by convolution and pooling: strides, dilations and the ONNX
// padding forms (explicit, possibly asymmetric pads, or auto_pad SAME_UPPER / SAME_LOWER / VALID).
#include <ATen/ATen.h>

#include <vector>

#include "ops/kernel.hpp"

namespace whitebox::ops {

class Window {
 public:
  // Reads kernel_shape (or takes `kernel` from the weight), strides, dilations, pads, auto_pad.
  Window(const NodeView& node, std::vector<int64_t> kernel);

  const std::vector<int64_t>& kernel() const { return kernel_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  const std::vector<int64_t>& dilations() const { return dilations_; }

  // Begin/end padding of each spatial dimension for an input of these spatial sizes.
  std::pair<std::vector<int64_t>, std::vector<int64_t>> pads(at::IntArrayRef input_sizes) const;
  // Symmetric padding to hand to ATen, after `pad_input` added any asymmetric excess explicitly.
  std::vector<int64_t> symmetric_pads(at::IntArrayRef input_sizes) const;
  // The input with the asymmetric part of the padding applied explicitly (value `fill`).
  at::Tensor pad_input(const at::Tensor& x, double fill = 0.0) const;
  // Inverse of pad_input for a signal of the padded input's shape.
  at::Tensor unpad_signal(const at::Tensor& signal, at::IntArrayRef input_sizes) const;
  // Whether any padding is asymmetric (pad_input is then not a no-op).
  bool asymmetric(at::IntArrayRef input_sizes) const;

 private:
  std::vector<int64_t> kernel_, strides_, dilations_, pads_;
  std::string auto_pad_;
};

}  // namespace whitebox::ops
