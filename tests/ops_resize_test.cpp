// Resize and Upsample in float64: against PyTorch's own resampling kernels for the modes PyTorch
// has (forward and autograd VJP), against a direct element-wise reading of the ONNX formulas for
// the others, and against hand-computed values of the ONNX operator documentation.
#include <gtest/gtest.h>

#include <cmath>

#include "ops_reference.hpp"

namespace whitebox::test {
namespace {

using Ints = std::vector<int64_t>;
using Attributes = std::map<std::string, Attribute>;

at::Tensor longs(const Ints& values) { return at::tensor(values, at::kLong); }
// Scales in float64: a float32 constant would make the model run in float32.
at::Tensor doubles(const std::vector<double>& values) { return at::tensor(values, at::kDouble); }

// A Resize (opset 13: X, roi, scales, sizes) with either scales or sizes.
Model resize_model(const Ints& shape, const Attributes& attributes, const at::Tensor& scales,
                   const at::Tensor& sizes, int64_t opset = 13) {
  return one_node_model("Resize", shape, {at::Tensor(), scales, sizes}, attributes, opset);
}

at::Tensor output(const Model& model, const at::Tensor& x) {
  Trace trace = model.forward(x);
  return trace[model.output()];
}

void expect_matches(const Model& model, const at::Tensor& x,
                    const std::function<at::Tensor(const at::Tensor&)>& reference) {
  const auto [forward, gradient] = compare_with_reference(model, x, reference);
  EXPECT_LT(forward, 1e-12);
  EXPECT_LT(gradient, 1e-12);
}

// ---- ONNX's formulas, read element by element (independent of the kernel's matrices) -----------

double source(const std::string& mode, double r, double scale, int64_t in, int64_t out) {
  if (mode == "half_pixel") return (r + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (r + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return out == 1 ? 0.0 : r * double(in - 1) / double(out - 1);
  if (mode == "asymmetric") return r / scale;
  if (mode == "tf_half_pixel_for_nn") return (r + 0.5) / scale;
  if (mode == "half_pixel_symmetric") {
    const double adjustment = double(out) / (scale * double(in));
    return double(in) / 2 * (1 - adjustment) + (r + 0.5) / scale - 0.5;
  }
  ADD_FAILURE() << mode;
  return 0;
}

int64_t nearest(const std::string& rule, double x) {
  const double down = std::floor(x);
  if (rule == "floor") return int64_t(down);
  if (rule == "ceil") return int64_t(std::ceil(x));
  if (x - down == 0.5) return int64_t(rule == "round_prefer_floor" ? down : down + 1);
  return int64_t(std::round(x));
}

// The cubic convolution kernel at distance d.
double cubic(double d, double a) {
  d = std::abs(d);
  if (d <= 1) return (a + 2) * d * d * d - (a + 3) * d * d + 1;
  if (d < 2) return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a;
  return 0;
}

struct Onnx {
  std::string mode = "nearest", coordinates = "half_pixel", rounding = "round_prefer_floor";
  double a = -0.75;
  bool exclude_outside = false;
};

// Resizes one axis of x to `out` positions: each output is a weighted sum of input slices read
// with edge padding (indices clamped), as ONNX's reference does; differentiable by autograd.
at::Tensor resize_axis(const at::Tensor& x, int64_t axis, int64_t out, double scale,
                       const Onnx& o) {
  const int64_t in = x.size(axis);
  auto slice = [&](int64_t i) { return x.select(axis, std::clamp<int64_t>(i, 0, in - 1)); };
  std::vector<at::Tensor> rows;
  for (int64_t r = 0; r < out; ++r) {
    const double s = source(o.coordinates, double(r), scale, in, out);
    if (o.mode == "nearest") {
      rows.push_back(slice(nearest(o.rounding, s)));
    } else if (o.mode == "linear") {
      const double base = std::floor(s);
      const double t = s - base;
      rows.push_back(slice(int64_t(base)) * (1 - t) + slice(int64_t(base) + 1) * t);
    } else {
      const auto base = int64_t(std::floor(s));
      at::Tensor sum = at::zeros_like(slice(0));
      double total = 0;
      for (int64_t i = base - 1; i <= base + 2; ++i) {
        if (o.exclude_outside && (i < 0 || i >= in)) continue;
        const double w = cubic(s - double(i), o.a);
        sum = sum + slice(i) * w;
        total += w;
      }
      rows.push_back(o.exclude_outside ? sum / total : sum);
    }
  }
  return at::stack(rows, axis);
}

at::Tensor onnx_resize(const at::Tensor& x, const Ints& out, const std::vector<double>& scales,
                       const Onnx& o) {
  at::Tensor y = x;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (out[d] != x.size(d) || scales[d] != 1.0) y = resize_axis(y, d, out[d], scales[d], o);
  }
  return y;
}

Attributes attributes_of(const Onnx& o) {
  return {{"mode", o.mode},
          {"coordinate_transformation_mode", o.coordinates},
          {"nearest_mode", o.rounding},
          {"cubic_coeff_a", o.a},
          {"exclude_outside", int64_t{o.exclude_outside}}};
}

// ---- against PyTorch ---------------------------------------------------------------------------

TEST(OpsResize, NearestMatchesPyTorch) {
  const at::Tensor x = at::randn({2, 3, 5, 7}, at::kDouble);
  // PyTorch's "nearest" is asymmetric + floor; with scale factors it reads r / scale.
  expect_matches(resize_model({2, 3, 5, 7},
                              {{"mode", std::string("nearest")},
                               {"coordinate_transformation_mode", std::string("asymmetric")},
                               {"nearest_mode", std::string("floor")}},
                              doubles({1, 1, 2, 3}), {}),
                 x, [](const at::Tensor& t) {
                   return at::upsample_nearest2d(t, {10, 21}, 2.0, 3.0);
                 });
  expect_matches(resize_model({2, 3, 5, 7},
                              {{"mode", std::string("nearest")},
                               {"coordinate_transformation_mode", std::string("asymmetric")},
                               {"nearest_mode", std::string("floor")}},
                              {}, longs({2, 3, 3, 4})),
                 x, [](const at::Tensor& t) {
                   return at::upsample_nearest2d(t, {3, 4});
                 });
  // "nearest-exact" is half_pixel + round_prefer_ceil.
  expect_matches(resize_model({2, 3, 5, 7},
                              {{"mode", std::string("nearest")},
                               {"nearest_mode", std::string("round_prefer_ceil")}},
                              {}, longs({2, 3, 9, 4})),
                 x, [](const at::Tensor& t) {
                   return at::_upsample_nearest_exact2d(t, {9, 4});
                 });
}

TEST(OpsResize, LinearMatchesPyTorch) {
  const at::Tensor x = at::randn({2, 3, 5, 7}, at::kDouble);
  for (const bool corners : {false, true}) {
    SCOPED_TRACE(corners);
    const Attributes attributes{{"mode", std::string("linear")},
                                {"coordinate_transformation_mode",
                                 std::string(corners ? "align_corners" : "pytorch_half_pixel")}};
    expect_matches(resize_model({2, 3, 5, 7}, attributes, {}, longs({2, 3, 11, 4})), x,
                   [&](const at::Tensor& t) {
                     return at::upsample_bilinear2d(t, {11, 4}, corners);
                   });
  }
  // Scale factors: half_pixel reads (r + 0.5) / scale - 0.5, as PyTorch does with them.
  expect_matches(
      resize_model({2, 3, 5, 7}, {{"mode", std::string("linear")}}, doubles({1, 1, 2, 0.5}), {}), x,
      [](const at::Tensor& t) {
        return at::upsample_bilinear2d(t, {10, 3}, false, 2.0, 0.5);
      });
  // One and three spatial axes.
  const at::Tensor line = at::randn({2, 3, 6}, at::kDouble);
  expect_matches(
      one_node_model("Resize", {2, 3, 6}, {at::Tensor(), at::Tensor(), longs({2, 3, 13})},
                     {{"mode", std::string("linear")}}),
      line, [](const at::Tensor& t) { return at::upsample_linear1d(t, {13}, false); });
  const at::Tensor volume = at::randn({1, 2, 3, 4, 5}, at::kDouble);
  expect_matches(one_node_model("Resize", {1, 2, 3, 4, 5},
                                {at::Tensor(), at::Tensor(), longs({1, 2, 5, 2, 9})},
                                {{"mode", std::string("linear")},
                                 {"coordinate_transformation_mode", std::string("align_corners")}}),
                 volume, [](const at::Tensor& t) {
                   return at::upsample_trilinear3d(t, {5, 2, 9}, true);
                 });
}

TEST(OpsResize, CubicMatchesPyTorch) {
  const at::Tensor x = at::randn({1, 2, 6, 5}, at::kDouble);
  for (const bool corners : {false, true}) {
    SCOPED_TRACE(corners);
    const Attributes attributes{
        {"mode", std::string("cubic")},
        {"coordinate_transformation_mode", std::string(corners ? "align_corners" : "half_pixel")}};
    expect_matches(resize_model({1, 2, 6, 5}, attributes, {}, longs({1, 2, 13, 3})), x,
                   [&](const at::Tensor& t) {
                     return at::upsample_bicubic2d(t, {13, 3}, corners);
                   });
  }
}

// An axis longer than 128 (an image's) gathers its taps instead of multiplying by a dense matrix.
TEST(OpsResize, LongAxesMatchPyTorchToo) {
  const at::Tensor x = at::randn({1, 2, 150, 6}, at::kDouble);
  const Ints shape = x.sizes().vec();
  expect_matches(resize_model(shape, {{"mode", std::string("linear")}}, {}, longs({1, 2, 67, 13})),
                 x, [](const at::Tensor& t) {
                   return at::upsample_bilinear2d(t, {67, 13}, false);
                 });
  expect_matches(resize_model(shape, {{"mode", std::string("cubic")}}, {}, longs({1, 2, 301, 4})),
                 x, [](const at::Tensor& t) {
                   return at::upsample_bicubic2d(t, {301, 4}, false);
                 });
  expect_matches(resize_model(shape,
                              {{"mode", std::string("nearest")},
                               {"coordinate_transformation_mode", std::string("asymmetric")},
                               {"nearest_mode", std::string("floor")}},
                              {}, longs({1, 2, 200, 5})),
                 x, [](const at::Tensor& t) {
                   return at::upsample_nearest2d(t, {200, 5});
                 });
  const Onnx o{"cubic", "half_pixel", "round_prefer_floor", -0.5, true};
  expect_matches(resize_model(shape, attributes_of(o), {}, longs({1, 2, 97, 6})), x,
                 [&](const at::Tensor& t) {
                   return onnx_resize(t, {1, 2, 97, 6}, {1, 1, 97.0 / 150, 1}, o);
                 });
}

// ---- every mode against ONNX's formulas --------------------------------------------------------

TEST(OpsResize, EveryModeMatchesTheOnnxFormulas) {
  const at::Tensor x = at::randn({1, 2, 5, 7}, at::kDouble);
  const std::vector<std::string> coordinates{"half_pixel",           "pytorch_half_pixel",
                                             "align_corners",        "asymmetric",
                                             "tf_half_pixel_for_nn", "half_pixel_symmetric"};
  // Up on one axis and down on the other, by sizes (scale = out / in) and by scales.
  const std::vector<std::pair<Ints, std::vector<double>>> targets{
      {{1, 2, 8, 3}, {1, 1, 8.0 / 5, 3.0 / 7}}, {{1, 2, 12, 4}, {1, 1, 2.5, 0.6}}};
  for (const std::string& mode : {"nearest", "linear", "cubic"}) {
    for (const std::string& coordinate : coordinates) {
      std::vector<Onnx> variants;
      if (mode == "nearest") {
        for (const char* rounding : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})
          variants.push_back({mode, coordinate, rounding});
      } else if (mode == "linear") {
        variants.push_back({mode, coordinate});
      } else {
        variants.push_back({mode, coordinate, "round_prefer_floor", -0.75, false});
        variants.push_back({mode, coordinate, "round_prefer_floor", -0.5, true});
      }
      for (const Onnx& o : variants) {
        for (size_t by_scales = 0; by_scales < 2; ++by_scales) {
          const auto& [out, scales] = targets[by_scales];
          SCOPED_TRACE(mode + " " + coordinate + " " + o.rounding + " a=" + std::to_string(o.a) +
                       (by_scales ? " scales" : " sizes"));
          const Model model =
              by_scales ? resize_model(x.sizes().vec(), attributes_of(o), doubles(scales), {})
                        : resize_model(x.sizes().vec(), attributes_of(o), {}, longs(out));
          expect_matches(model, x,
                         [&](const at::Tensor& t) { return onnx_resize(t, out, scales, o); });
        }
      }
    }
  }
}

TEST(OpsResize, UpsampleAndResize10AreAsymmetricWithFloor) {
  const at::Tensor x = at::randn({1, 2, 3, 4}, at::kDouble);
  const std::vector<double> scales{1, 1, 3, 2.5};
  for (const std::string& mode : {"nearest", "linear"}) {
    SCOPED_TRACE(mode);
    const Onnx o{mode, "asymmetric", "floor"};
    auto reference = [&](const at::Tensor& t) { return onnx_resize(t, {1, 2, 9, 10}, scales, o); };
    expect_matches(
        one_node_model("Upsample", {1, 2, 3, 4}, {}, {{"mode", mode}, {"scales", scales}}, 7), x,
        reference);
    expect_matches(one_node_model("Upsample", {1, 2, 3, 4}, {doubles(scales)}, {{"mode", mode}}, 9),
                   x, reference);
    expect_matches(one_node_model("Resize", {1, 2, 3, 4}, {doubles(scales)}, {{"mode", mode}}, 10),
                   x, reference);
  }
}

TEST(OpsResize, AxesAndAspectRatioPolicy) {
  const at::Tensor x = at::randn({1, 2, 4, 6}, at::kDouble);
  const Onnx o{"linear", "half_pixel"};
  // Opset 18: sizes for the listed axes only; not_larger fits 6 x 6 into 4 x 6 -> scale 1 ... 1.
  Attributes attributes = attributes_of(o);
  attributes["axes"] = Ints{3, 2};
  expect_matches(resize_model({1, 2, 4, 6}, attributes, {}, longs({9, 3}), 18), x,
                 [&](const at::Tensor& t) {
                   return onnx_resize(t, {1, 2, 3, 9}, {1, 1, 0.75, 1.5}, o);
                 });
  attributes["keep_aspect_ratio_policy"] = std::string("not_smaller");
  // Scale max(9 / 6, 3 / 4) = 1.5 on both axes: 4 x 6 -> 6 x 9.
  expect_matches(resize_model({1, 2, 4, 6}, attributes, {}, longs({9, 3}), 18), x,
                 [&](const at::Tensor& t) {
                   return onnx_resize(t, {1, 2, 6, 9}, {1, 1, 1.5, 1.5}, o);
                 });
  attributes["keep_aspect_ratio_policy"] = std::string("not_larger");
  // Scale min(1.5, 0.75) = 0.75: 4 x 6 -> 3 x 5 (4.5 rounds half up).
  expect_matches(resize_model({1, 2, 4, 6}, attributes, {}, longs({9, 3}), 18), x,
                 [&](const at::Tensor& t) {
                   return onnx_resize(t, {1, 2, 3, 5}, {1, 1, 0.75, 0.75}, o);
                 });
}

// ---- hand-computed (the ONNX operator documentation's examples) --------------------------------

TEST(OpsResize, DocumentedExamples) {
  const at::Tensor square = at::tensor({1.0, 2.0, 3.0, 4.0}, at::kDouble).view({1, 1, 2, 2});
  const at::Tensor up =
      output(one_node_model("Upsample", {1, 1, 2, 2}, {doubles({1, 1, 2, 3})}, {}, 9), square);
  const at::Tensor expected_up = at::tensor(std::vector<double>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                                                3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4},
                                            at::kDouble)
                                     .view({1, 1, 4, 6});
  EXPECT_TRUE(at::equal(up, expected_up));

  const Model corners =
      resize_model({1, 1, 2, 2},
                   {{"mode", std::string("linear")},
                    {"coordinate_transformation_mode", std::string("align_corners")}},
                   doubles({1, 1, 2, 2}), {});
  const at::Tensor expected_corners =
      at::tensor(std::vector<double>{1, 4.0 / 3, 5.0 / 3, 2, 5.0 / 3, 2, 7.0 / 3, 8.0 / 3, 7.0 / 3,
                                     8.0 / 3, 3, 10.0 / 3, 3, 10.0 / 3, 11.0 / 3, 4},
                 at::kDouble)
          .view({1, 1, 4, 4});
  EXPECT_LT(relative_error(output(corners, square), expected_corners), 1e-15);

  const at::Tensor wide = at::arange(1, 9, at::kDouble).view({1, 1, 2, 4});
  const Model down =
      resize_model({1, 1, 2, 4}, {{"mode", std::string("nearest")}}, doubles({1, 1, 0.6, 0.6}), {});
  EXPECT_TRUE(
      at::equal(output(down, wide), at::tensor({1.0, 3.0}, at::kDouble).view({1, 1, 1, 2})));
}

TEST(OpsResize, ConstantSizesGiveALinearFormWithNonNegativeWeights) {
  const at::Tensor x = at::rand({1, 2, 5, 7}, at::kDouble);
  const Model linear =
      resize_model({1, 2, 5, 7}, {{"mode", std::string("linear")}}, {}, longs({1, 2, 9, 4}));
  const ops::LinearForm* form = kernel_of(linear).linear();
  ASSERT_NE(form, nullptr);
  const at::Tensor y = form->apply(x, {}, {});
  EXPECT_TRUE(at::equal(y, output(linear, x)));
  const at::Tensor signal = at::randn_like(y);
  EXPECT_LT(relative_error(form->apply_transpose(signal, x, {}), sweep_gradient(linear, x, signal)),
            1e-15);
  EXPECT_GE(y.min().item<double>(), 0.0);  // non-negative weights keep a non-negative input so
  // Cubic weights overshoot: no implicit non-negative form; the relevance rules use the VJP.
  EXPECT_EQ(kernel_of(resize_model({1, 2, 5, 7}, {{"mode", std::string("cubic")}}, {},
                                   longs({1, 2, 9, 4})))
                .linear(),
            nullptr);
}

TEST(OpsResize, BadGeometryIsAModelError) {
  EXPECT_THROW(
      resize_model({1, 1, 4, 4}, {{"mode", std::string("area")}}, doubles({1, 1, 2, 2}), {}),
      ModelFormatError);
  EXPECT_THROW(resize_model({1, 1, 4, 4},
                            {{"coordinate_transformation_mode", std::string("tf_crop_and_resize")}},
                            doubles({1, 1, 2, 2}), {}),
               UnsupportedOperator);
  EXPECT_THROW(
      resize_model({1, 1, 4, 4}, {{"mode", std::string("linear")}, {"antialias", int64_t{1}}},
                   doubles({1, 1, 0.5, 0.5}), {}, 18),
      UnsupportedOperator);
  const at::Tensor x = at::randn({1, 1, 4, 4}, at::kDouble);
  // Both scales and sizes, a scale that empties an axis, the wrong count, a negative scale.
  EXPECT_THROW(
      resize_model({1, 1, 4, 4}, {}, doubles({1, 1, 2, 2}), longs({1, 1, 8, 8})).forward(x),
      ModelFormatError);
  EXPECT_THROW(resize_model({1, 1, 4, 4}, {}, doubles({1, 1, 0.1, 2}), {}).forward(x),
               ModelFormatError);
  EXPECT_THROW(resize_model({1, 1, 4, 4}, {}, doubles({2, 2}), {}).forward(x), ModelFormatError);
  EXPECT_THROW(resize_model({1, 1, 4, 4}, {}, doubles({1, 1, -2, 2}), {}).forward(x),
               ModelFormatError);
  // An output past the tensor limit is refused before it is allocated.
  EXPECT_THROW(resize_model({1, 1, 4, 4}, {}, doubles({1, 1, 1e5, 1e5}), {}).forward(x),
               ModelFormatError);
}

}  // namespace
}  // namespace whitebox::test
