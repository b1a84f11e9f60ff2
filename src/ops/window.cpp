#include "ops/window.hpp"

namespace whitebox::ops {

Window::Window(const NodeView& node, std::vector<int64_t> kernel)
    : kernel_(node.ints("kernel_shape", std::move(kernel))) {
  const size_t n = kernel_.size();
  strides_ = node.ints("strides", std::vector<int64_t>(n, 1));
  dilations_ = node.ints("dilations", std::vector<int64_t>(n, 1));
  pads_ = node.ints("pads", std::vector<int64_t>(2 * n, 0));
  auto_pad_ = node.s("auto_pad", "NOTSET");
  if (strides_.size() != n || dilations_.size() != n || pads_.size() != 2 * n) {
    node.invalid("kernel_shape, strides, dilations and pads disagree in rank");
  }
  // Checked before any input is padded: strides of 0 divide by zero, and pads of millions
  // allocate gigabytes. A pad past the kernel's extent only adds outputs that see no input.
  for (size_t d = 0; d < n; ++d) {
    constexpr int64_t kLargest = int64_t{1} << 20;
    if (kernel_[d] < 1 || kernel_[d] > kLargest)
      node.invalid("kernel_shape " + c10::str(kernel_) + " must be in [1, 2^20]");
    if (strides_[d] < 1 || strides_[d] > kLargest)
      node.invalid("strides " + c10::str(strides_) + " must be in [1, 2^20]");
    if (dilations_[d] < 1 || dilations_[d] > kLargest) {
      node.invalid("dilations " + c10::str(dilations_) + " must be in [1, 2^20]");
    }
    const int64_t extent = (kernel_[d] - 1) * dilations_[d] + 1;
    for (const int64_t pad : {pads_[d], pads_[d + n]}) {
      if (pad < 0 || pad > extent) {
        node.invalid("pads " + c10::str(pads_) + " must be in [0, " + std::to_string(extent) +
                     "] (the kernel's extent)");
      }
    }
  }
  if (auto_pad_ != "NOTSET" && auto_pad_ != "SAME_UPPER" && auto_pad_ != "SAME_LOWER" &&
      auto_pad_ != "VALID") {
    node.invalid("unknown auto_pad '" + auto_pad_ + "'");
  }
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> Window::pads(
    at::IntArrayRef input_sizes) const {
  const size_t n = kernel_.size();
  std::vector<int64_t> begin(n, 0), end(n, 0);
  for (size_t d = 0; d < n; ++d) {
    if (auto_pad_ == "NOTSET") {
      begin[d] = pads_[d];
      end[d] = pads_[d + n];
    } else if (auto_pad_ != "VALID") {
      const int64_t in = input_sizes[d];
      const int64_t out = (in + strides_[d] - 1) / strides_[d];
      const int64_t extent = (kernel_[d] - 1) * dilations_[d] + 1;
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides_[d] + extent - in);
      begin[d] = auto_pad_ == "SAME_UPPER" ? total / 2 : total - total / 2;
      end[d] = total - begin[d];
    }
  }
  return {begin, end};
}

std::vector<int64_t> Window::symmetric_pads(at::IntArrayRef input_sizes) const {
  auto [begin, end] = pads(input_sizes);
  for (size_t d = 0; d < begin.size(); ++d) begin[d] = std::min(begin[d], end[d]);
  return begin;
}

bool Window::asymmetric(at::IntArrayRef input_sizes) const {
  auto [begin, end] = pads(input_sizes);
  return begin != end;
}

at::Tensor Window::pad_input(const at::Tensor& x, double fill) const {
  auto spatial = x.sizes().slice(2);
  auto [begin, end] = pads(spatial);
  if (begin == end) return x;
  // constant_pad_nd takes (last dim begin, last dim end, previous dim begin, ...).
  std::vector<int64_t> extra;
  for (size_t d = begin.size(); d-- > 0;) {
    const int64_t common = std::min(begin[d], end[d]);
    extra.push_back(begin[d] - common);
    extra.push_back(end[d] - common);
  }
  return at::constant_pad_nd(x, extra, fill);
}

at::Tensor Window::unpad_signal(const at::Tensor& signal, at::IntArrayRef input_sizes) const {
  auto [begin, end] = pads(input_sizes);
  at::Tensor s = signal;
  for (size_t d = 0; d < begin.size(); ++d) {
    const int64_t common = std::min(begin[d], end[d]);
    const int64_t skip = begin[d] - common;
    if (s.size(d + 2) != input_sizes[d]) s = s.narrow(d + 2, skip, input_sizes[d]);
  }
  return s;
}

}  // namespace whitebox::ops
