// Activations, unary maps and Softmax: forward and sweep gradient against independent formulas.
#include <gtest/gtest.h>

#include "ops_check.hpp"

namespace whitebox::test {
namespace {

const std::vector<int64_t> kShape = {2, 3, 4, 5};

at::Tensor sample(double scale = 2.0) { return at::randn(kShape, at::kDouble) * scale; }
at::Tensor scalar(double v) { return at::scalar_tensor(v, at::kDouble); }

TEST(OpsActivation, Relu) {
  at::manual_seed(0);
  EXPECT_MATCHES(one_node_model("Relu", kShape), sample(),
                 [](const at::Tensor& x) { return at::where(x > 0, x, at::zeros_like(x)); });
}

TEST(OpsActivation, ClipAttributesBeforeOpset11) {
  at::manual_seed(1);
  Model model = one_node_model("Clip", kShape, {}, {{"min", -0.5}, {"max", 0.7}}, 6);
  EXPECT_MATCHES(model, sample(), [](const at::Tensor& x) { return at::clamp(x, -0.5, 0.7); });
  // Only a lower bound.
  Model lower = one_node_model("Clip", kShape, {}, {{"min", 0.0}}, 6);
  EXPECT_MATCHES(lower, sample(), [](const at::Tensor& x) { return at::clamp_min(x, 0.0); });
}

TEST(OpsActivation, ClipInputsFromOpset11) {
  at::manual_seed(2);
  Model both = one_node_model("Clip", kShape, {scalar(0.0), scalar(6.0)}, {}, 13);
  EXPECT_MATCHES(both, sample(5), [](const at::Tensor& x) { return at::clamp(x, 0.0, 6.0); });
  Model max_only = one_node_model("Clip", kShape, {at::Tensor(), scalar(0.3)}, {}, 11);
  EXPECT_MATCHES(max_only, sample(), [](const at::Tensor& x) { return at::clamp_max(x, 0.3); });
  Model none = one_node_model("Clip", kShape, {}, {}, 12);
  EXPECT_MATCHES(none, sample(), [](const at::Tensor& x) { return x * 1.0; });
  // Attributes are ignored from opset 11 on.
  Model ignored = one_node_model("Clip", kShape, {}, {{"min", 0.0}}, 11);
  EXPECT_MATCHES(ignored, sample(), [](const at::Tensor& x) { return x * 1.0; });
}

TEST(OpsActivation, ClipComputedBound) {
  at::manual_seed(3);
  // Clip(x, min = sigmoid(x)): the bound is computed, so signal flows through both operands.
  Model model = steps_model(kShape, {}, {{"Sigmoid", {"x"}, "s"}, {"Clip", {"x", "s", ""}, "y"}});
  EXPECT_MATCHES(model, sample(),
                 [](const at::Tensor& x) { return at::maximum(x, 1 / (1 + at::exp(-x))); });
}

TEST(OpsActivation, LeakyRelu) {
  at::manual_seed(4);
  EXPECT_MATCHES(one_node_model("LeakyRelu", kShape, {}, {{"alpha", 0.1}}), sample(),
                 [](const at::Tensor& x) { return at::where(x > 0, x, 0.1 * x); });
  EXPECT_MATCHES(one_node_model("LeakyRelu", kShape), sample(),
                 [](const at::Tensor& x) { return at::where(x > 0, x, 0.01 * x); });
}

TEST(OpsActivation, PReluBroadcastsSlope) {
  at::manual_seed(5);
  const at::Tensor per_channel = at::rand({3, 1, 1}, at::kDouble);
  EXPECT_MATCHES(one_node_model("PRelu", kShape, {per_channel}), sample(),
                 [&](const at::Tensor& x) { return at::where(x > 0, x, per_channel * x); });
  const at::Tensor last = at::rand({5}, at::kDouble);
  EXPECT_MATCHES(one_node_model("PRelu", kShape, {last}), sample(),
                 [&](const at::Tensor& x) { return at::where(x > 0, x, last * x); });
}

TEST(OpsActivation, EluAndSelu) {
  at::manual_seed(6);
  EXPECT_MATCHES(one_node_model("Elu", kShape, {}, {{"alpha", 0.7}}), sample(),
                 [](const at::Tensor& x) { return at::where(x > 0, x, 0.7 * (at::exp(x) - 1)); });
  const double alpha = 1.67326319217681884765625, gamma = 1.05070102214813232421875;
  EXPECT_MATCHES(one_node_model("Selu", kShape), sample(), [&](const at::Tensor& x) {
    return gamma * at::where(x > 0, x, alpha * (at::exp(x) - 1));
  });
  EXPECT_MATCHES(one_node_model("Selu", kShape, {}, {{"alpha", 2.0}, {"gamma", 3.0}}), sample(),
                 [](const at::Tensor& x) { return 3.0 * at::where(x > 0, x, 2.0 * (at::exp(x) - 1)); });
}

TEST(OpsActivation, TanhSigmoidSoftplus) {
  at::manual_seed(7);
  EXPECT_MATCHES(one_node_model("Tanh", kShape), sample(), [](const at::Tensor& x) {
    return (at::exp(2 * x) - 1) / (at::exp(2 * x) + 1);
  });
  EXPECT_MATCHES(one_node_model("Sigmoid", kShape), sample(),
                 [](const at::Tensor& x) { return 1 / (1 + at::exp(-x)); });
  EXPECT_MATCHES(one_node_model("Softplus", kShape), sample(5),
                 [](const at::Tensor& x) { return at::log(1 + at::exp(x)); });
}

TEST(OpsActivation, SoftplusDoesNotOverflow) {
  const at::Tensor x = at::tensor({-800.0, -30.0, 0.0, 30.0, 800.0}, at::kDouble);
  Model model = one_node_model("Softplus", {5});
  const at::Tensor y = model.logits(x);
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  EXPECT_NEAR(y[4].item<double>(), 800.0, 1e-12);
  EXPECT_NEAR(y[2].item<double>(), std::log(2.0), 1e-15);
}

TEST(OpsActivation, HardSigmoidAndHardSwish) {
  at::manual_seed(8);
  EXPECT_MATCHES(one_node_model("HardSigmoid", kShape, {}, {{"alpha", 0.3}, {"beta", 0.4}}),
                 sample(3), [](const at::Tensor& x) { return at::clamp(0.3 * x + 0.4, 0.0, 1.0); });
  EXPECT_MATCHES(one_node_model("HardSigmoid", kShape), sample(4),
                 [](const at::Tensor& x) { return at::clamp(0.2 * x + 0.5, 0.0, 1.0); });
  EXPECT_MATCHES(one_node_model("HardSwish", kShape), sample(4), [](const at::Tensor& x) {
    return x * at::clamp(x / 6 + 0.5, 0.0, 1.0);
  });
}

at::Tensor softmax_over(const at::Tensor& x, std::vector<int64_t> dims) {
  const at::Tensor e = at::exp(x - at::amax(x, dims, true).detach());
  return e / e.sum(dims, true);
}

TEST(OpsActivation, SoftmaxOpset13SingleAxis) {
  at::manual_seed(9);
  EXPECT_MATCHES(one_node_model("Softmax", kShape), sample(),
                 [](const at::Tensor& x) { return softmax_over(x, {3}); });
  EXPECT_MATCHES(one_node_model("Softmax", kShape, {}, {{"axis", int64_t{1}}}), sample(),
                 [](const at::Tensor& x) { return at::softmax(x, 1); });
}

TEST(OpsActivation, SoftmaxOpset11CoercesTo2D) {
  at::manual_seed(10);
  // Default axis 1: normalised over C*H*W together.
  EXPECT_MATCHES(one_node_model("Softmax", kShape, {}, {}, 11), sample(),
                 [](const at::Tensor& x) { return softmax_over(x, {1, 2, 3}); });
  EXPECT_MATCHES(one_node_model("Softmax", kShape, {}, {{"axis", int64_t{-2}}}, 11), sample(),
                 [](const at::Tensor& x) {
                   return at::softmax(x.reshape({6, 20}), 1).reshape(x.sizes());
                 });
  EXPECT_MATCHES(one_node_model("Softmax", {4, 10}, {}, {}, 9), at::randn({4, 10}, at::kDouble),
                 [](const at::Tensor& x) { return softmax_over(x, {1}); });
}

TEST(OpsActivation, LogSoftmax) {
  at::manual_seed(11);
  EXPECT_MATCHES(one_node_model("LogSoftmax", kShape, {}, {{"axis", int64_t{2}}}, 13), sample(),
                 [](const at::Tensor& x) { return x - at::log(at::exp(x).sum(2, true)); });
  EXPECT_MATCHES(one_node_model("LogSoftmax", kShape, {}, {{"axis", int64_t{2}}}, 11), sample(),
                 [](const at::Tensor& x) { return x - at::log(at::exp(x).sum({2, 3}, true)); });
  EXPECT_MATCHES(one_node_model("LogSoftmax", kShape, {}, {}, 12), sample(),
                 [](const at::Tensor& x) { return x - at::log(at::exp(x).sum({1, 2, 3}, true)); });
}

TEST(OpsActivation, UnaryMaps) {
  at::manual_seed(12);
  const at::Tensor x = sample();
  const at::Tensor positive = at::abs(x) + 0.1;
  const at::Tensor away_from_zero = at::where(x > 0, x + 0.5, x - 0.5);
  EXPECT_MATCHES(one_node_model("Erf", kShape), x, [](const at::Tensor& v) { return at::erf(v); });
  EXPECT_MATCHES(one_node_model("Exp", kShape), x, [](const at::Tensor& v) { return at::exp(v); });
  EXPECT_MATCHES(one_node_model("Log", kShape), positive,
                 [](const at::Tensor& v) { return at::log(v); });
  EXPECT_MATCHES(one_node_model("Abs", kShape), x,
                 [](const at::Tensor& v) { return at::where(v > 0, v, -v); });
  EXPECT_MATCHES(one_node_model("Neg", kShape), x, [](const at::Tensor& v) { return 0 - v; });
  EXPECT_MATCHES(one_node_model("Sqrt", kShape), positive,
                 [](const at::Tensor& v) { return at::pow(v, 0.5); });
  EXPECT_MATCHES(one_node_model("Reciprocal", kShape), away_from_zero,
                 [](const at::Tensor& v) { return 1 / v; });
}

TEST(OpsActivation, ErrorsAreReported) {
  // A Clip bound that is not a scalar is malformed.
  EXPECT_THROW(one_node_model("Clip", kShape, {at::zeros({2}, at::kDouble)}, {}, 13),
               ModelFormatError);
  EXPECT_THROW(one_node_model("PRelu", kShape), ModelFormatError);
}

}  // namespace
}  // namespace whitebox::test
