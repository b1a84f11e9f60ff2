// The pointing game on synthetic pictures with known object masks (tests/shapes/): a small CNN
// trained to tell circles, squares and triangles apart on clutter. Grad-CAM must point at the
// object far more often than chance; a random map must point at it at chance.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "report_support.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"

namespace whitebox::test {
namespace {

constexpr double kTolerance = 2.0;  // pixels, on 64 x 64 pictures

struct ShapesSet {
  at::Tensor inputs;              // [N, 3, 64, 64]
  at::Tensor masks;               // [N, 64, 64] bool
  std::vector<int64_t> classes;   // the true classes
};

const Model& shapes_model() {
  static const Model model = Model::load(shapes_dir() / "shapes_cnn.onnx");
  return model;
}

const ShapesSet& shapes_set() {
  static const ShapesSet set = [] {
    const auto meta = nlohmann::json::parse(read_text(shapes_dir() / "test_set.json"));
    const int64_t tile = meta.at("tile"), columns = meta.at("columns");
    const at::Tensor pictures = read_image(shapes_dir() / "test_images.png");
    const at::Tensor masks = read_image(shapes_dir() / "test_masks.png");
    ShapesSet s;
    std::vector<at::Tensor> inputs, tiles;
    int64_t index = 0;
    for (const auto& entry : meta.at("tiles")) {
      const int64_t row = index / columns * tile, column = index % columns * tile;
      const auto cut = [&](const at::Tensor& t) { return t.narrow(0, row, tile).narrow(1, column, tile).contiguous(); };
      inputs.push_back(preprocess(cut(pictures), shapes_model().preprocessing).tensor);
      tiles.push_back(cut(masks).select(2, 0) > 127);
      s.classes.push_back(entry.at("class").get<int64_t>());
      ++index;
    }
    s.inputs = at::cat(inputs);
    s.masks = at::stack(tiles);
    return s;
  }();
  return set;
}

// The share of pixels within `tolerance` of the mask: a uniformly placed maximum's hit rate.
double chance(const at::Tensor& mask, double tolerance) {
  const int64_t r = static_cast<int64_t>(std::floor(tolerance));
  const at::Tensor offsets = at::arange(-r, r + 1, at::kDouble);
  const at::Tensor disk = ((offsets.view({-1, 1}).square() + offsets.view({1, -1}).square()) <=
                           tolerance * tolerance).to(at::kDouble);
  const at::Tensor near = at::conv2d(mask.to(at::kDouble).view({1, 1, mask.size(0), mask.size(1)}),
                                     disk.view({1, 1, 2 * r + 1, 2 * r + 1}), {}, 1, r) > 0.5;
  return near.to(at::kDouble).mean().item<double>();
}

TEST(ShapesPointing, TheShippedClassifierRecognisesTheShapes) {
  const ShapesSet& set = shapes_set();
  ASSERT_EQ(set.inputs.size(0), 90);
  const at::Tensor predicted = shapes_model().logits(set.inputs).argmax(1);
  const double accuracy =
      predicted.eq(at::tensor(set.classes, at::kLong)).to(at::kDouble).mean().item<double>();
  EXPECT_GT(accuracy, 0.9);
}

TEST(ShapesPointing, GradCamPointsAtTheObjectAndARandomMapAtChance) {
  const ShapesSet& set = shapes_set();
  const int64_t n = set.inputs.size(0);
  const at::Tensor maps = run("gradcam", shapes_model(), set.inputs, set.classes).map;
  ASSERT_EQ(maps.sizes(), (at::IntArrayRef{n, 64, 64}));

  constexpr int draws = 20;  // random maps per picture
  at::Generator generator = at::detail::createCPUGenerator(11);
  double expected = 0;
  int gradcam_hits = 0, random_hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    expected += chance(set.masks[i], kTolerance) / n;
    gradcam_hits += metrics::pointing_game(maps[i], set.masks[i], kTolerance);
    for (int d = 0; d < draws; ++d) {
      random_hits += metrics::pointing_game(at::rand({64, 64}, generator, at::kDouble), set.masks[i], kTolerance);
    }
  }
  const double gradcam = static_cast<double>(gradcam_hits) / n;
  const double random = static_cast<double>(random_hits) / (n * draws);
  const double sigma = std::sqrt(expected * (1 - expected) / (n * draws));
  RecordProperty("chance", std::to_string(expected));
  RecordProperty("gradcam", std::to_string(gradcam));
  RecordProperty("random", std::to_string(random));
  std::printf("pointing game (tolerance %.0f px): chance %.3f, random map %.3f, Grad-CAM %.3f\n", kTolerance,
              expected, random, gradcam);
  EXPECT_NEAR(random, expected, 4 * sigma);
  EXPECT_GT(gradcam, 0.8);
  EXPECT_GT(gradcam, 4 * expected);
}

}  // namespace
}  // namespace whitebox::test
