#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "support.hpp"

namespace whitebox::test {
namespace {

// Reference: an explicit pad followed by an unpadded convolution, differentiated by autograd.
std::pair<at::Tensor, at::Tensor> reference_conv(const at::Tensor& x, const at::Tensor& w,
                                                 const at::Tensor& b, std::vector<int64_t> pad_lrtb,
                                                 int64_t stride, int64_t groups,
                                                 const at::Tensor& seed) {
  at::AutoGradMode grad(true);
  at::Tensor leaf = x.detach().requires_grad_(true);
  at::Tensor y = at::conv2d(at::constant_pad_nd(leaf, pad_lrtb), w, b, at::IntArrayRef{stride, stride},
                            at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, groups);
  auto g = torch::autograd::grad({y}, {leaf}, {seed});
  return {y.detach(), g[0]};
}

TEST(Ops, ConvAsymmetricPadsGroupsAndStride) {
  at::manual_seed(0);
  const at::Tensor x = at::randn({2, 4, 9, 8}, at::kDouble);
  const at::Tensor w = at::randn({6, 2, 3, 3}, at::kDouble);
  const at::Tensor b = at::randn({6}, at::kDouble);
  // ONNX pads: [top, left, bottom, right] = [0, 0, 1, 1].
  Model model = one_node_model("Conv", {2, 4, 9, 8}, {w, b},
                               {{"pads", std::vector<int64_t>{0, 0, 1, 1}},
                                {"strides", std::vector<int64_t>{2, 2}},
                                {"group", int64_t{2}}});
  Trace trace = model.forward(x);
  const at::Tensor seed = at::randn_like(trace[model.output()]);
  auto [y, grad] = reference_conv(x, w, b, {0, 1, 0, 1}, 2, 2, seed);
  EXPECT_LT(relative_error(trace[model.output()], y), 1e-12);
  EXPECT_LT(relative_error(sweep_gradient(model, x, seed), grad), 1e-12);
}

TEST(Ops, ConvAutoPadSameUpper) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({1, 3, 7, 7}, at::kDouble);
  const at::Tensor w = at::randn({5, 3, 4, 4}, at::kDouble);
  Model model = one_node_model("Conv", {1, 3, 7, 7}, {w},
                               {{"auto_pad", std::string("SAME_UPPER")},
                                {"strides", std::vector<int64_t>{2, 2}}});
  Trace trace = model.forward(x);
  ASSERT_EQ(trace[model.output()].sizes(), at::IntArrayRef({1, 5, 4, 4}));
  const at::Tensor seed = at::randn_like(trace[model.output()]);
  // out 4, stride 2, kernel 4: total pad 3*2+4-7 = 3 -> begin 1, end 2.
  auto [y, grad] = reference_conv(x, w, at::Tensor(), {1, 2, 1, 2}, 2, 1, seed);
  EXPECT_LT(relative_error(trace[model.output()], y), 1e-12);
  EXPECT_LT(relative_error(sweep_gradient(model, x, seed), grad), 1e-12);
}

}  // namespace
}  // namespace whitebox::test
