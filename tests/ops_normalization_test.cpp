// Normalisations: forward and sweep gradient against the ONNX formulas differentiated by autograd.
#include <gtest/gtest.h>

#include <algorithm>

#include "ops_check.hpp"

namespace whitebox::test {
namespace {

const std::vector<int64_t> kShape = {2, 3, 4, 5};

at::Tensor randn(std::vector<int64_t> shape) { return at::randn(shape, at::kDouble); }

// A per-channel parameter shaped to broadcast over dimension 1 of a rank-`rank` tensor.
at::Tensor per_channel(const at::Tensor& p, int64_t rank) {
  std::vector<int64_t> shape(rank, 1);
  shape[1] = p.numel();
  return p.reshape(shape);
}

TEST(OpsNormalization, BatchNormalization) {
  at::manual_seed(0);
  const at::Tensor scale = randn({3}), bias = randn({3}), mean = randn({3});
  const at::Tensor var = at::rand({3}, at::kDouble) + 0.1;
  for (const auto& shape : std::vector<std::vector<int64_t>>{kShape, {4, 3}, {2, 3, 7}}) {
    for (double epsilon : {1e-5, 0.1}) {
      SCOPED_TRACE(c10::str(at::IntArrayRef(shape)) + " epsilon " + std::to_string(epsilon));
      const int64_t rank = static_cast<int64_t>(shape.size());
      Model model = one_node_model("BatchNormalization", shape, {scale, bias, mean, var},
                                   {{"epsilon", epsilon}}, 9);
      EXPECT_MATCHES(model, randn(shape), [&](const at::Tensor& x) {
        return per_channel(scale, rank) * (x - per_channel(mean, rank)) /
                   at::sqrt(per_channel(var, rank) + epsilon) +
               per_channel(bias, rank);
      });
    }
  }
}

TEST(OpsNormalization, BatchNormalizationOfAComputedValue) {
  // BN after a computed Mul (not foldable, not canonicalized here): signal goes through both.
  at::manual_seed(1);
  const at::Tensor scale = randn({3}), bias = randn({3}), mean = randn({3});
  const at::Tensor var = at::rand({3}, at::kDouble) + 0.1;
  const at::Tensor w = randn({3, 1, 1});
  Model model = steps_model(kShape, {{"s", scale}, {"b", bias}, {"m", mean}, {"v", var}, {"w", w}},
                            {{"Mul", {"x", "w"}, "h"},
                             {"BatchNormalization", {"h", "s", "b", "m", "v"}, "y"}});
  EXPECT_MATCHES(model, randn(kShape), [&](const at::Tensor& x) {
    return at::batch_norm(x * w, scale, bias, mean, var, false, 0.0, 1e-5, false);
  });
}

TEST(OpsNormalization, BatchNormalizationForms) {
  const at::Tensor p = at::ones({3}, at::kDouble);
  EXPECT_THROW(one_node_model("BatchNormalization", kShape, {p, p, p, p},
                              {{"training_mode", int64_t{1}}}, 15),
               UnsupportedOperator);
  EXPECT_THROW(one_node_model("BatchNormalization", kShape, {p, p, p, p}, {{"spatial", int64_t{0}}}, 7),
               UnsupportedOperator);
  EXPECT_THROW(one_node_model("BatchNormalization", kShape, {p, p}, {}, 9), ModelFormatError);
}

// LRN written out per the ONNX definition, one channel at a time.
at::Tensor reference_lrn(const at::Tensor& x, int64_t size, double alpha, double beta, double bias) {
  const int64_t channels = x.size(1);
  std::vector<at::Tensor> out;
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t lo = std::max<int64_t>(0, c - (size - 1) / 2);
    const int64_t hi = std::min<int64_t>(channels - 1, c + (size - 1 + 1) / 2);  // ceil((size-1)/2)
    at::Tensor square_sum = at::zeros_like(x.narrow(1, c, 1));
    for (int64_t k = lo; k <= hi; ++k) square_sum = square_sum + at::pow(x.narrow(1, k, 1), 2);
    out.push_back(x.narrow(1, c, 1) / at::pow(bias + alpha / size * square_sum, beta));
  }
  return at::cat(out, 1);
}

TEST(OpsNormalization, LocalResponseNormalization) {
  at::manual_seed(2);
  const std::vector<int64_t> shape = {2, 7, 3, 4};
  for (int64_t size : {1, 2, 3, 4, 5}) {
    SCOPED_TRACE("size " + std::to_string(size));
    Model model = one_node_model("LRN", shape, {},
                                 {{"size", size}, {"alpha", 0.3}, {"beta", 0.6}, {"bias", 1.5}});
    EXPECT_MATCHES(model, randn(shape), [&](const at::Tensor& x) {
      return reference_lrn(x, size, 0.3, 0.6, 1.5);
    });
  }
  // ONNX defaults (alpha 1e-4, beta 0.75, bias 1) with large values so the defaults matter.
  Model defaults = one_node_model("LRN", shape, {}, {{"size", int64_t{5}}});
  EXPECT_MATCHES(defaults, randn(shape) * 30,
                 [](const at::Tensor& x) { return reference_lrn(x, 5, 1e-4, 0.75, 1.0); });
  EXPECT_THROW(one_node_model("LRN", shape), ModelFormatError);
}

at::Tensor reference_layer_norm(const at::Tensor& x, int64_t axis, double epsilon) {
  std::vector<int64_t> dims;
  for (int64_t d = axis; d < x.dim(); ++d) dims.push_back(d);
  const at::Tensor centred = x - x.mean(dims, true);
  return centred / at::sqrt((centred * centred).mean(dims, true) + epsilon);
}

TEST(OpsNormalization, LayerNormalization) {
  at::manual_seed(3);
  const at::Tensor s5 = randn({5}), b5 = randn({5});
  EXPECT_MATCHES(one_node_model("LayerNormalization", kShape, {s5, b5}, {}, 17), randn(kShape),
                 [&](const at::Tensor& x) { return reference_layer_norm(x, 3, 1e-5) * s5 + b5; });
  EXPECT_MATCHES(one_node_model("LayerNormalization", kShape, {s5, b5}, {}, 17), randn(kShape),
                 [&](const at::Tensor& x) { return at::layer_norm(x, {5}, s5, b5, 1e-5); });
  // Normalised over C, H, W; scale without bias.
  const at::Tensor s345 = randn({3, 4, 5});
  EXPECT_MATCHES(one_node_model("LayerNormalization", kShape, {s345},
                                {{"axis", int64_t{1}}, {"epsilon", 0.01}}, 17),
                 randn(kShape),
                 [&](const at::Tensor& x) { return reference_layer_norm(x, 1, 0.01) * s345; });
  // Scale and bias that only broadcast to the normalised shape [4, 5].
  const at::Tensor s15 = randn({1, 5}), b41 = randn({4, 1});
  EXPECT_MATCHES(one_node_model("LayerNormalization", kShape, {s15, b41}, {{"axis", int64_t{-2}}}, 17),
                 randn(kShape),
                 [&](const at::Tensor& x) { return reference_layer_norm(x, 2, 1e-5) * s15 + b41; });
}

TEST(OpsNormalization, InstanceNormalization) {
  at::manual_seed(4);
  const at::Tensor scale = randn({3}), bias = randn({3});
  for (const auto& shape : std::vector<std::vector<int64_t>>{kShape, {2, 3, 6}}) {
    SCOPED_TRACE(c10::str(at::IntArrayRef(shape)));
    EXPECT_MATCHES(one_node_model("InstanceNormalization", shape, {scale, bias}, {{"epsilon", 0.01}}),
                   randn(shape), [&](const at::Tensor& x) {
                     return at::instance_norm(x, scale, bias, {}, {}, true, 0.0, 0.01, false);
                   });
  }
}

}  // namespace
}  // namespace whitebox::test
