// Elementwise arithmetic with broadcasting: forward and sweep gradient against torch autograd.
#include <gtest/gtest.h>

#include "ops_check.hpp"

namespace whitebox::test {
namespace {

const std::vector<int64_t> kShape = {2, 3, 4, 5};

at::Tensor randn(std::vector<int64_t> shape) { return at::randn(shape, at::kDouble); }

// Binary op `op` with the constant c on the right (x op c) and on the left (c op x).
void check_both_sides(const std::string& op, const at::Tensor& x, const at::Tensor& c,
                      const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& f) {
  SCOPED_TRACE(op + " with constant of shape " + c10::str(c.sizes()));
  EXPECT_MATCHES(steps_model(x.sizes().vec(), {{"c", c}}, {{op, {"x", "c"}, "y"}}), x,
                 [&](const at::Tensor& v) { return f(v, c); });
  EXPECT_MATCHES(steps_model(x.sizes().vec(), {{"c", c}}, {{op, {"c", "x"}, "y"}}), x,
                 [&](const at::Tensor& v) { return f(c, v); });
}

TEST(OpsElementwise, AddSubMulWithConstantsOnEitherSide) {
  at::manual_seed(0);
  const at::Tensor x = randn(kShape);
  for (const auto& shape : std::vector<std::vector<int64_t>>{{3, 1, 1}, {5}, {2, 1, 4, 1}, {}, {2, 3, 4, 5}}) {
    const at::Tensor c = randn(shape);
    check_both_sides("Add", x, c, [](const at::Tensor& a, const at::Tensor& b) { return a + b; });
    check_both_sides("Sub", x, c, [](const at::Tensor& a, const at::Tensor& b) { return a - b; });
    check_both_sides("Mul", x, c, [](const at::Tensor& a, const at::Tensor& b) { return a * b; });
  }
}

TEST(OpsElementwise, ConstantBroadcastToLargerShape) {
  // The constant has more dimensions than x: the output takes the broadcast shape.
  at::manual_seed(1);
  const at::Tensor x = randn({4, 5});
  const at::Tensor c = randn({3, 1, 5});
  check_both_sides("Add", x, c, [](const at::Tensor& a, const at::Tensor& b) { return a + b; });
  check_both_sides("Mul", x, c, [](const at::Tensor& a, const at::Tensor& b) { return a * b; });
}

TEST(OpsElementwise, Div) {
  at::manual_seed(2);
  const at::Tensor x = randn(kShape);
  const at::Tensor away_from_zero = at::where(x > 0, x + 0.5, x - 0.5);
  const at::Tensor c = at::rand({3, 1, 1}, at::kDouble) + 0.5;
  EXPECT_MATCHES(steps_model(kShape, {{"c", c}}, {{"Div", {"x", "c"}, "y"}}), x,
                 [&](const at::Tensor& v) { return v * (1 / c); });
  EXPECT_MATCHES(steps_model(kShape, {{"c", c}}, {{"Div", {"c", "x"}, "y"}}), away_from_zero,
                 [&](const at::Tensor& v) { return c * at::pow(v, -1.0); });
}

TEST(OpsElementwise, DivOfIntegersTruncates) {
  Model model = one_node_model("Div", {4}, {at::tensor({2, 2, 3, 3}, at::kLong)});
  const at::Tensor y = model.logits(at::tensor({7.0, -7.0, 9.0, 1.0}, at::kDouble));
  EXPECT_TRUE(at::allclose(y, at::tensor({3.5, -3.5, 3.0, 1.0 / 3}, at::kDouble)));
  // Constant folding runs kernels on integer shapes.
  auto kernel_model = steps_model({1}, {{"a", at::tensor({7, -7}, at::kLong)}, {"b", at::tensor({2}, at::kLong)}},
                                  {{"Div", {"a", "b"}, "q"}, {"Add", {"x", "q"}, "y"}});
  const at::Tensor q = kernel_model.logits(at::zeros({1}, at::kDouble));
  EXPECT_TRUE(at::equal(q, at::tensor({3.0, -3.0}, at::kDouble)));
}

TEST(OpsElementwise, Pow) {
  at::manual_seed(3);
  const at::Tensor positive = at::rand(kShape, at::kDouble) + 0.2;
  EXPECT_MATCHES(one_node_model("Pow", kShape, {at::scalar_tensor(2.0, at::kDouble)}), randn(kShape),
                 [](const at::Tensor& v) { return v * v; });
  EXPECT_MATCHES(one_node_model("Pow", kShape, {at::scalar_tensor(3, at::kLong)}), randn(kShape),
                 [](const at::Tensor& v) { return v * v * v; });
  const at::Tensor e = randn({5});
  EXPECT_MATCHES(one_node_model("Pow", kShape, {e}), positive,
                 [&](const at::Tensor& v) { return at::exp(e * at::log(v)); });
  const at::Tensor base = at::rand({3, 1, 1}, at::kDouble) + 0.5;
  EXPECT_MATCHES(steps_model(kShape, {{"b", base}}, {{"Pow", {"b", "x"}, "y"}}), randn(kShape),
                 [&](const at::Tensor& v) { return at::exp(v * at::log(base)); });
}

// Computed operands of different shapes, all functions of x:
//   a = x * w (like x), r = ReduceSum(x, axes 0, keepdims 0) ([3, 4, 5]),
//   s = ReduceSum(r, axes 1 2, keepdims 1) ([3, 1, 1]); axes are attributes: opset < 13.
struct Operands {
  at::Tensor w = randn(kShape);
  std::map<std::string, at::Tensor> constants() const { return {{"w", w}}; }
  std::vector<Step> steps() const {
    return {{"Mul", {"x", "w"}, "a"},
            {"ReduceSum", {"x"}, "r", {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{0}}}},
            {"ReduceSum", {"r"}, "s", {{"axes", std::vector<int64_t>{1, 2}}}}};
  }
  at::Tensor a(const at::Tensor& x) const { return x * w; }
  static at::Tensor r(const at::Tensor& x) { return x.sum(0); }
  static at::Tensor s(const at::Tensor& x) { return x.sum(0).sum({1, 2}, true); }
};

Model with_final(const Operands& operands, Step final, int64_t opset = 11) {
  std::vector<Step> steps = operands.steps();
  steps.push_back(std::move(final));
  return steps_model(kShape, operands.constants(), steps, opset);
}

TEST(OpsElementwise, BinaryOpsOfTwoComputedValues) {
  at::manual_seed(4);
  Operands o;
  const at::Tensor x = randn(kShape);
  EXPECT_MATCHES(with_final(o, {"Add", {"a", "s"}, "y"}), x,
                 [&](const at::Tensor& v) { return o.a(v) + o.s(v); });
  EXPECT_MATCHES(with_final(o, {"Sub", {"s", "a"}, "y"}), x,
                 [&](const at::Tensor& v) { return o.s(v) - o.a(v); });
  EXPECT_MATCHES(with_final(o, {"Mul", {"r", "a"}, "y"}), x,
                 [&](const at::Tensor& v) { return o.r(v) * o.a(v); });
  EXPECT_MATCHES(with_final(o, {"Div", {"a", "s"}, "y"}), x,
                 [&](const at::Tensor& v) { return o.a(v) / o.s(v); });
  // Both operands the same value: the signals of the two inputs add up.
  EXPECT_MATCHES(steps_model(kShape, {}, {{"Mul", {"x", "x"}, "y"}}), x,
                 [](const at::Tensor& v) { return at::pow(v, 2.0); });
}

TEST(OpsElementwise, SumAndMeanNary) {
  at::manual_seed(5);
  Operands o;
  const at::Tensor x = randn(kShape);
  const at::Tensor c = randn({5});
  auto constants = o.constants();
  constants["c"] = c;
  auto steps = o.steps();
  steps.push_back({"Sum", {"s", "x", "a", "r", "c"}, "y"});
  EXPECT_MATCHES(steps_model(kShape, constants, steps, 11), x, [&](const at::Tensor& v) {
    return o.s(v) + v + o.a(v) + o.r(v) + c;
  });
  steps.back() = {"Mean", {"s", "x", "a", "r", "c"}, "y"};
  EXPECT_MATCHES(steps_model(kShape, constants, steps, 11), x, [&](const at::Tensor& v) {
    return (o.s(v) + v + o.a(v) + o.r(v) + c) / 5;
  });
  // Two inputs (what canonicalization makes of Add) and a single input.
  EXPECT_MATCHES(with_final(o, {"Sum", {"r", "s"}, "y"}), x,
                 [&](const at::Tensor& v) { return o.r(v) + o.s(v); });
  EXPECT_MATCHES(one_node_model("Sum", kShape), x, [](const at::Tensor& v) { return v * 1; });
  EXPECT_MATCHES(one_node_model("Mean", kShape), x, [](const at::Tensor& v) { return v * 1; });
}

TEST(OpsElementwise, MaxMinNaryRouteToTheWinner) {
  at::manual_seed(6);
  Operands o;
  const at::Tensor x = randn(kShape);
  const at::Tensor c = randn({4, 1});
  auto constants = o.constants();
  constants["c"] = c;
  for (bool max : {true, false}) {
    SCOPED_TRACE(max ? "Max" : "Min");
    auto steps = o.steps();
    steps.push_back({max ? "Max" : "Min", {"a", "x", "c", "s"}, "y"});
    EXPECT_MATCHES(steps_model(kShape, constants, steps, 11), x, [&](const at::Tensor& v) {
      auto f = [&](const at::Tensor& p, const at::Tensor& q) {
        return max ? at::maximum(p, q) : at::minimum(p, q);
      };
      return f(f(f(o.a(v), v), c), o.s(v));
    });
    EXPECT_MATCHES(one_node_model(max ? "Max" : "Min", kShape, {c}), x, [&](const at::Tensor& v) {
      return max ? at::maximum(v, c) : at::minimum(v, c);
    });
  }
}

TEST(OpsElementwise, MaxTieGoesToTheFirstInput) {
  // Max(x, x): every element ties; the whole signal reaches x once, through the first input.
  Model model = steps_model({3}, {}, {{"Max", {"x", "x"}, "y"}});
  const at::Tensor x = at::tensor({1.0, -2.0, 3.0}, at::kDouble);
  Trace trace = model.forward(x);
  const at::Tensor g = model.sweep(trace, {{model.output(), at::ones({3}, at::kDouble)}}).at(0);
  EXPECT_TRUE(at::equal(g, at::ones({3}, at::kDouble)));
}

TEST(OpsElementwise, ErrorsAreReported) {
  EXPECT_THROW(steps_model(kShape, {}, {{"Add", {"x"}, "y"}}), ModelFormatError);
  EXPECT_THROW(steps_model(kShape, {}, {{"Sum", {"x", ""}, "y"}}), ModelFormatError);
}

}  // namespace
}  // namespace whitebox::test
