// Reductions: axes as attribute or input by opset, keepdims, empty axes; forward and sweep
// gradient against torch autograd.
#include <gtest/gtest.h>

#include "ops_check.hpp"

namespace whitebox::test {
namespace {

const std::vector<int64_t> kShape = {2, 3, 4, 5};

using Ints = std::vector<int64_t>;

struct Case {
  std::string op;
  int64_t axes_input_opset;  // from this opset on, axes are input 1
  std::function<at::Tensor(const at::Tensor&, Ints dims, bool keepdim)> reference;
};

std::vector<Case> cases() {
  return {
      {"ReduceSum", 13, [](const at::Tensor& x, Ints d, bool k) { return x.sum(d, k); }},
      {"ReduceMean", 18,
       [](const at::Tensor& x, Ints d, bool k) {
         int64_t n = 1;
         for (int64_t a : d) n *= x.size(a < 0 ? a + x.dim() : a);
         return x.sum(d, k) / static_cast<double>(n);
       }},
      {"ReduceMax", 18, [](const at::Tensor& x, Ints d, bool k) { return at::amax(x, d, k); }},
      {"ReduceMin", 18, [](const at::Tensor& x, Ints d, bool k) { return -at::amax(-x, d, k); }},
      {"ReduceL2", 18,
       [](const at::Tensor& x, Ints d, bool k) { return at::sqrt((x * x).sum(d, k)); }},
      {"ReduceSumSquare", 18,
       [](const at::Tensor& x, Ints d, bool k) { return (x * x).sum(d, k); }},
      // The product as exp(sum log |x|), its sign from the count of negative factors.
      {"ReduceProd", 18,
       [](const at::Tensor& x, Ints d, bool k) {
         const at::Tensor negatives = (x < 0).to(x.scalar_type()).sum(d, k);
         return at::exp(at::log(x.abs()).sum(d, k)) * (1 - 2 * at::fmod(negatives, 2));
       }},
  };
}

// The model of `c` reducing `axes` (empty: none given) the way `opset` spells it.
Model reduce_model(const Case& c, const Ints& axes, bool keepdims, int64_t opset,
                   std::map<std::string, Attribute> attributes = {}) {
  attributes["keepdims"] = int64_t{keepdims};
  std::vector<at::Tensor> constants;
  if (!axes.empty()) {
    if (opset < c.axes_input_opset) {
      attributes["axes"] = axes;
    } else {
      constants.push_back(at::tensor(axes, at::kLong));
    }
  }
  return one_node_model(c.op, kShape, constants, attributes, opset);
}

TEST(OpsReduce, AxesAsAttributeAndAsInput) {
  at::manual_seed(0);
  for (const Case& c : cases()) {
    for (int64_t opset : {11, 13, 18}) {
      for (bool keepdims : {true, false}) {
        for (const Ints& axes : {Ints{1, 3}, Ints{-1}, Ints{2, 0, 3}}) {
          SCOPED_TRACE(c.op + " opset " + std::to_string(opset) + " keepdims " +
                       std::to_string(keepdims) + " axes " + c10::str(at::IntArrayRef(axes)));
          EXPECT_MATCHES(reduce_model(c, axes, keepdims, opset), at::randn(kShape, at::kDouble),
                         [&](const at::Tensor& x) { return c.reference(x, axes, keepdims); });
        }
      }
    }
  }
}

TEST(OpsReduce, EmptyAxesReduceEverythingUnlessNoop) {
  at::manual_seed(1);
  for (const Case& c : cases()) {
    for (int64_t opset : {11, 18}) {
      SCOPED_TRACE(c.op + " opset " + std::to_string(opset));
      for (bool keepdims : {true, false}) {
        EXPECT_MATCHES(reduce_model(c, {}, keepdims, opset), at::randn(kShape, at::kDouble),
                       [&](const at::Tensor& x) { return c.reference(x, {0, 1, 2, 3}, keepdims); });
      }
      if (opset >= c.axes_input_opset) {
        EXPECT_MATCHES(reduce_model(c, {}, true, opset, {{"noop_with_empty_axes", int64_t{1}}}),
                       at::randn(kShape, at::kDouble), [](const at::Tensor& x) { return x * 1; });
      }
    }
  }
}

TEST(OpsReduce, GlobalAveragePoolingShape) {
  at::manual_seed(2);
  Model model = one_node_model("ReduceMean", kShape, {}, {{"axes", Ints{2, 3}}}, 13);
  const at::Tensor x = at::randn(kShape, at::kDouble);
  EXPECT_EQ(model.logits(x).sizes(), at::IntArrayRef({2, 3, 1, 1}));
  EXPECT_MATCHES(model, x, [](const at::Tensor& v) { return at::adaptive_avg_pool2d(v, {1, 1}); });
}

TEST(OpsReduce, ErrorsAreReported) {
  EXPECT_THROW(one_node_model("ReduceSum", kShape, {}, {{"axes", Ints{1, 1}}}, 11), ModelFormatError);
  // Axes must be known at load time.
  EXPECT_THROW(steps_model(kShape, {}, {{"ReduceSum", {"x", "x"}, "y"}}), UnsupportedOperator);
}

}  // namespace
}  // namespace whitebox::test
