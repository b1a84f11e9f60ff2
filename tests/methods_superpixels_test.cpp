// Feature ablation, LIME and Kernel SHAP over superpixels. On an affine model the class logit of
// a coalition is f(b) + sum_s z_s c_s exactly, with c_s the segment's summed gradient x (x - b):
// all three must return c_s (LIME without its ridge penalty). On the bundled MobileNetV2 (real
// weights): a finite map, and Kernel SHAP's efficiency: the values sum to f(x) - f(b).
#include <gtest/gtest.h>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

TEST(MethodsSuperpixels, AnAffineModelGivesEachSegmentItsContribution) {
  const Model model = conv_dense_model({1, 3, 6, 6}, /*relu=*/false);
  at::manual_seed(11);
  const at::Tensor x = at::randn({1, 3, 6, 6}, at::kDouble);
  const std::vector<int64_t> cls = {2};
  // Segments: 2 x 2 squares, 9 of them; the baseline is zero.
  const at::Tensor gradient = model.gradient(model.forward(x), cls)[0];
  const at::Tensor per_pixel = (gradient * x).sum(1)[0];                           // [6, 6]
  const at::Tensor squares = at::avg_pool2d(per_pixel.view({1, 1, 6, 6}), 2) * 4;  // [1, 1, 3, 3]
  const at::Tensor expected = at::upsample_nearest2d(squares, {6, 6}).view({1, 6, 6});
  const Params grid =
      Params({{"segments", "grid"}, {"region", "2"}, {"samples", "60"}, {"ridge", "0"}});
  for (const std::string method : {"feature-ablation", "lime", "kernel-shap"}) {
    Params params = grid;
    if (method == "feature-ablation") params = Params({{"segments", "grid"}, {"region", "2"}});
    if (method == "kernel-shap")
      params = Params({{"segments", "grid"}, {"region", "2"}, {"samples", "60"}});
    const Explanation e = run(method, model, x, cls, params);
    EXPECT_LT(relative_error(e.map, expected), 1e-8) << method;
    EXPECT_EQ(e.stats.at("segments"), 9.0) << method;
  }
  // LIME's default ridge penalty shrinks the coefficients.
  const Explanation shrunk = run(
      "lime", model, x, cls, Params({{"segments", "grid"}, {"region", "2"}, {"samples", "60"}}));
  EXPECT_GT(relative_error(shrunk.map, expected), 1e-3);

  // A label map from a file: one segment for the left half, one for the right.
  TempDir dir;
  at::Tensor halves = at::zeros({6, 6}, at::kLong);
  halves.slice(1, 3, 6).fill_(7);
  write_npy(dir / "halves.npy", halves);
  const Explanation e = run("feature-ablation", model, x, cls,
                            Params().set("segments", (dir / "halves.npy").string()));
  EXPECT_NEAR(e.map[0][0][0].item<double>(), per_pixel.slice(1, 0, 3).sum().item<double>(), 1e-9);
  EXPECT_NEAR(e.map[0][0][5].item<double>(), per_pixel.slice(1, 3, 6).sum().item<double>(), 1e-9);
  write_npy(dir / "wrong.npy", at::zeros({5, 6}, at::kLong));
  EXPECT_THROW(run("lime", model, x, cls, Params().set("segments", (dir / "wrong.npy").string())),
               ArgumentError);
}

TEST(MethodsSuperpixels, KernelShapIsEfficientOnTheBundledModel) {
  const Model model = Model::load(default_model());
  const at::Tensor x =
      preprocess(read_image(bundled("images/parrot.jpg")), model.preprocessing).tensor;
  const Explanation e = explain(model, x, {"kernel-shap"}, Target::top(),
                                Params({{"samples", "64"}, {"region", "48"}}))
                            .at("kernel-shap");
  ASSERT_TRUE(at::isfinite(e.map).all().item<bool>());
  EXPECT_GT(e.stats.at("segments"), 4);
  EXPECT_LT(e.stats.at("relative_efficiency_gap"), 1e-3);
  EXPECT_GT(e.map.max().item<double>(), 0);
  // The same over Felzenszwalb-Huttenlocher segments.
  const Explanation graph =
      explain(model, x, {"kernel-shap"}, Target::top(),
              Params({{"samples", "64"}, {"region", "48"}, {"segments", "felzenszwalb"}}))
          .at("kernel-shap");
  EXPECT_GT(graph.stats.at("segments"), 4);
  EXPECT_LT(graph.stats.at("relative_efficiency_gap"), 1e-3);
  EXPECT_FALSE(at::equal(graph.map, e.map));
}

}  // namespace
}  // namespace whitebox::test
