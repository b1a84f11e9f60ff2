// Parameter randomisation and random-logit tests on the small shapes classifier (tests/shapes/).
#include <gtest/gtest.h>

#include "report_support.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/randomisation.hpp"

namespace whitebox::test {
namespace {

using namespace whitebox::metrics;

const Model& shapes_model() {
  static const Model model = Model::load(shapes_dir() / "shapes_cnn.onnx");
  return model;
}

// The first test picture, as a network input [1, 3, 64, 64].
at::Tensor first_picture() {
  const at::Tensor mosaic = read_image(shapes_dir() / "test_images.png");
  return preprocess(mosaic.narrow(0, 0, 64).narrow(1, 0, 64).contiguous(), shapes_model().preprocessing).tensor;
}

TEST(SanityRandomisation, ParameterLayersInGraphOrder) {
  const auto layers = parameter_layers(shapes_model());
  ASSERT_EQ(layers.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(layers[i].op_type, "Conv");
    EXPECT_EQ(layers[i].parameters.size(), 2u);  // weight and the folded BatchNorm's bias
    if (i > 0) EXPECT_LT(layers[i - 1].node, layers[i].node);
  }
  EXPECT_EQ(layers[4].op_type, "Gemm");
  EXPECT_EQ(layers[4].name, "/classifier/Gemm");
}

TEST(SanityRandomisation, RedrawnWeightsKeepTheirScaleAndSeed) {
  const Model& model = shapes_model();
  const auto layers = parameter_layers(model);
  const std::vector<ParameterLayer> top{layers.back()};
  const Model a = randomise_layers(model, top, 7), b = randomise_layers(model, top, 7), c = randomise_layers(model, top, 8);
  const ValueId weight = top[0].parameters[0];
  const at::Tensor original = model.graph().values[weight].constant;
  const at::Tensor redrawn = a.graph().values[weight].constant;
  EXPECT_FALSE(at::allclose(redrawn, original));
  EXPECT_TRUE(at::equal(redrawn, b.graph().values[weight].constant));
  EXPECT_FALSE(at::equal(redrawn, c.graph().values[weight].constant));
  EXPECT_LE(redrawn.sub(original.mean()).abs().max().item<double>(), 2 * original.std(false).item<double>() + 1e-6);
  EXPECT_NEAR(redrawn.std().item<double>(), original.std().item<double>(), 0.5 * original.std().item<double>());
  // Every other constant is untouched.
  const ValueId first_weight = layers.front().parameters[0];
  EXPECT_TRUE(at::equal(a.graph().values[first_weight].constant, model.graph().values[first_weight].constant));
  EXPECT_EQ(a.preprocessing.name, model.preprocessing.name);
  EXPECT_EQ(a.labels, model.labels);
}

TEST(SanityRandomisation, WithConstantsChecksItsInput) {
  const Model& model = shapes_model();
  const ValueId weight = parameter_layers(model).front().parameters[0];
  EXPECT_THROW(with_constants(model, {{model.input(), at::zeros({1})}}), ArgumentError);
  EXPECT_THROW(with_constants(model, {{weight, at::zeros({1})}}), ArgumentError);
  const at::Tensor zeros = at::zeros_like(model.graph().values[weight].constant);
  const Model blank = with_constants(model, {{weight, zeros}});
  EXPECT_TRUE(at::equal(blank.graph().values[weight].constant, zeros));
}

TEST(SanityRandomisation, CascadingFromTheOutputLayer) {
  const at::Tensor x = first_picture();
  const auto result = parameter_randomisation(shapes_model(), x, {"saliency", "grad-cam"});
  ASSERT_EQ(result.methods, (std::vector<std::string>{"saliency", "gradcam"}));
  ASSERT_EQ(result.steps.size(), 6u);
  EXPECT_EQ(result.steps[0].layer, "");
  EXPECT_EQ(result.steps[1].layer, "/classifier/Gemm");
  EXPECT_EQ(result.steps[5].layer, "/features/features.0/Conv");
  EXPECT_EQ(result.steps[0].similarity.at("saliency").spearman_abs, 1.0);
  EXPECT_EQ(result.steps[0].maps.at("gradcam").sizes(), (at::IntArrayRef{64, 64}));
  // With every layer re-drawn the saliency map is another map.
  EXPECT_LT(result.steps.back().similarity.at("saliency").spearman_abs, 0.9);

  // An independent step re-draws the same weights for its layer as the cascade does.
  RandomisationOptions independent;
  independent.mode = Randomisation::Independent;
  independent.layers = 2;
  const auto one = parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), independent);
  ASSERT_EQ(one.steps.size(), 3u);
  EXPECT_TRUE(at::allclose(one.steps[1].maps.at("saliency"), result.steps[1].maps.at("saliency")));
  EXPECT_EQ(one.steps[2].layer, "/features/features.11/Conv");
}

// Smooth MPRT: every step's map is SmoothGrad over the method (base=method), on the trained and
// on the randomised model; efficient MPRT: the entropy of the last map over the first's.
TEST(SanityRandomisation, SmoothAndEfficientMprt) {
  const at::Tensor x = first_picture();
  RandomisationOptions o;
  o.layers = 2;
  o.smooth_samples = 3;
  o.smooth_noise = 0.2;
  const auto result = parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), o);
  ASSERT_EQ(result.steps.size(), 3u);
  const Params smoothgrad({{"base", "saliency"}, {"samples", "3"}, {"noise", "0.2"}});
  const auto layers = parameter_layers(shapes_model());
  const Model last =
      randomise_layers(shapes_model(), {layers.rbegin(), layers.rbegin() + 2}, o.seed);
  for (const auto& [model, step] : {std::pair{&shapes_model(), 0}, std::pair{&last, 2}}) {
    const at::Tensor expected =
        explain(*model, x, {"smoothgrad"}, Target::index(result.cls), smoothgrad)
            .at("smoothgrad")
            .map[0];
    EXPECT_LT(relative_error(result.steps[step].maps.at("saliency"), expected.to(at::kDouble)),
              1e-6)
        << step;
  }
  const auto plain = parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), {});
  EXPECT_GT(relative_error(result.steps[0].maps.at("saliency"), plain.steps[0].maps.at("saliency")),
            1e-3);
  const double rise = complexity_rise(result, "saliency");
  EXPECT_DOUBLE_EQ(rise, entropy(result.steps[2].maps.at("saliency")) /
                             entropy(result.steps[0].maps.at("saliency")));
  EXPECT_NE(rise, 1.0);
  o.smooth_samples = -1;
  EXPECT_THROW(parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), o),
               ArgumentError);
}

// The metrics efficient-mprt and smooth-mprt: the last step of a full cascading randomisation
// (every layer re-drawn, the same weights), in one step.
TEST(SanityRandomisation, MprtMetricsAreTheLastCascadingStep) {
  const at::Tensor x = first_picture();
  const int64_t cls = shapes_model().logits(x).argmax(1).item<int64_t>();
  Sample sample;
  sample.model = &shapes_model();
  sample.image = x[0];
  sample.cls = cls;
  sample.method = "saliency";
  sample.map = explain(shapes_model(), x, {"saliency"}, Target::index(cls)).at("saliency").map[0];
  const auto efficient = find_metric("efficient-mprt").run(sample, Params().set("seed", "2"));
  RandomisationOptions o;
  o.seed = 2;
  const auto cascade = parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), o);
  ASSERT_EQ(cascade.steps.size(), 6u);
  EXPECT_NEAR(efficient.at("complexity_rise"), complexity_rise(cascade, "saliency"), 1e-9);
  o.smooth_samples = 3;
  o.smooth_noise = 0.2;
  const auto smooth = parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), o);
  const auto metric = find_metric("smooth-mprt")
                          .run(sample, Params({{"seed", "2"}, {"samples", "3"}, {"noise", "0.2"}}));
  const MapSimilarity& last = smooth.steps.back().similarity.at("saliency");
  EXPECT_NEAR(metric.at("smooth_mprt_spearman"), last.spearman_abs, 1e-9);
  EXPECT_NEAR(metric.at("smooth_mprt_ssim"), last.ssim, 1e-9);
  EXPECT_LT(metric.at("smooth_mprt_spearman"), 0.9);
  sample.method.clear();
  EXPECT_THROW(find_metric("efficient-mprt").run(sample, Params()), ArgumentError);
}

TEST(SanityRandomisation, RandomLogit) {
  const auto result = random_logit(shapes_model(), first_picture(), {"gradcam"}, Target::top(), 3);
  EXPECT_NE(result.cls, result.other);
  EXPECT_GE(result.other, 0);
  EXPECT_LT(result.other, 3);
  EXPECT_LT(result.similarity.at("gradcam").spearman_abs, 1.0);
}

TEST(SanityRandomisation, BadInput) {
  const at::Tensor x = first_picture();
  EXPECT_THROW(parameter_randomisation(shapes_model(), at::cat({x, x}), {"saliency"}), InputError);
  EXPECT_THROW(parameter_randomisation(shapes_model(), x, {"no-such-method"}), LookupError);
  EXPECT_THROW(parameter_randomisation(shapes_model(), x, {}), ArgumentError);
  RandomisationOptions negative;
  negative.layers = -1;
  EXPECT_THROW(parameter_randomisation(shapes_model(), x, {"saliency"}, Target::top(), negative), ArgumentError);
  EXPECT_THROW(parse_randomisation("sideways"), LookupError);
}

}  // namespace
}  // namespace whitebox::test
