// DeepLIFT: summation-to-delta on the torchvision fixtures, the identity with gradient x (x - x0)
// on a linear network, and the layer-by-layer PyTorch reference on a small CNN
// (tests/reference/deeplift.py). Excitation backprop: the probability mass of every layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "methods/layers.hpp"
#include "support.hpp"
#include "whitebox/error.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

const char* const kRules[] = {"deeplift", "deeplift-revealcancel"};

class MethodsDeepLift : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(has_fixture(GetParam()))
        << "missing fixture " << fixture(GetParam()) << ": run the 'fixtures' test first";
    std::ifstream(fixture(GetParam()) / "meta.json") >> meta_;
    model_ = std::make_unique<Model>(Model::load(fixture(GetParam()) / "model.onnx"));
    x_ = read_npy(fixture(GetParam()) / "x.npy");
  }
  std::vector<int64_t> classes() const { return {meta_["target"].get<int64_t>()}; }

  nlohmann::json meta_;
  std::unique_ptr<Model> model_;
  at::Tensor x_;
};

// The attributions sum to f(x) - f(x0) in float32, through residual sums, concatenations,
// max-pooling, BatchNorm and ReLU6, for both rules and two references.
TEST_P(MethodsDeepLift, SummationToDelta) {
  for (const char* method : kRules) {
    for (const std::string baseline : {"black", "blurred"}) {
      const Explanation e = run(method, *model_, x_, classes(), Params().set("baseline", baseline));
      const double delta = e.stats.at("delta");
      const double total = e.attribution.sum().item<double>();
      EXPECT_LT(std::abs(total - delta) / std::abs(delta), 1e-4) << method << " " << baseline;
      EXPECT_NEAR(e.stats.at("summation_gap"), total - delta, 1e-4 * std::abs(delta));
      EXPECT_GT(std::abs(delta), 1e-3);
      EXPECT_EQ(e.attribution.sizes(), x_.sizes());
    }
  }
  // DeepLIFT-SHAP: the mean of the Rescale maps of its references, summing to the mean delta.
  const Explanation shap =
      run("deeplift-shap", *model_, x_, classes(), Params().set("baselines", "black,blurred"));
  const Explanation black =
      run("deeplift", *model_, x_, classes(), Params().set("baseline", "black"));
  const Explanation blurred =
      run("deeplift", *model_, x_, classes(), Params().set("baseline", "blurred"));
  EXPECT_LT(relative_error(shap.attribution, (black.attribution + blurred.attribution) / 2), 1e-6);
  EXPECT_NEAR(shap.stats.at("delta"), (black.stats.at("delta") + blurred.stats.at("delta")) / 2,
              1e-5 * std::abs(shap.stats.at("delta")));
  EXPECT_LT(std::abs(shap.stats.at("relative_summation_gap")), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsDeepLift,
                         ::testing::Values("resnet18", "vgg16_bn", "densenet121", "mobilenet_v2"),
                         [](const auto& info) { return info.param; });

// Without non-linearities the multipliers are the gradient: DeepLIFT = gradient x (x - x0).
TEST(MethodsDeepLiftIdentities, LinearNetworkIsGradientTimesDifference) {
  const Model model = conv_dense_model({2, 3, 5, 5}, false);
  const at::Tensor x = at::randn({2, 3, 5, 5}, at::kDouble);
  const std::vector<int64_t> classes = {1, 4};
  const Trace trace = model.forward(x);
  const at::Tensor gx = model.gradient(trace, classes)[0];
  for (const char* method : kRules) {
    const Explanation e = run(method, model, x, classes, Params().set("baseline", "mean"));
    const at::Tensor x0 = x.mean({2, 3}, true);
    EXPECT_LT(relative_error(e.attribution, gx * (x - x0)), 1e-12) << method;
  }
  // With a ReLU it is not, but the differences still add up.
  const Model relu = conv_dense_model({2, 3, 5, 5}, true);
  const at::Tensor grad_relu = relu.gradient(relu.forward(x), classes)[0];
  for (const char* method : kRules) {
    const Explanation e = run(method, relu, x, classes, Params().set("baseline", "zero"));
    EXPECT_GT(relative_error(e.attribution, grad_relu * x), 1e-3) << method;
    EXPECT_LT(std::abs(e.stats.at("relative_summation_gap")), 1e-12) << method;
  }
}

// Both rules against tests/reference/deeplift.py in float64.
TEST(MethodsDeepLiftReference, MatchesPyTorchOnSmallCnn) {
  const auto dir = fixture("deeplift_cnn");
  ASSERT_TRUE(std::filesystem::exists(dir / "done"))
      << "missing " << dir << ": run the 'deeplift_references' test first";
  nlohmann::json meta;
  std::ifstream(dir / "meta.json") >> meta;
  const Model model = Model::load(dir / "model.onnx").to(at::kDouble);
  const at::Tensor x = read_npy(dir / "x.npy");
  const std::vector<int64_t> classes = {meta["target"].get<int64_t>()};
  for (const auto& [method, name] : {std::pair{"deeplift", "rescale"}, {"deeplift-revealcancel", "revealcancel"}}) {
    const Explanation e =
        run(method, model, x, classes, Params().set("baseline", (dir / "x0.npy").string()));
    const at::Tensor expected = read_npy(dir / ("ref_" + std::string(name) + ".npy"));
    EXPECT_LT(relative_error(e.attribution, expected), 1e-10) << method;
    EXPECT_NEAR(e.stats.at("delta"), meta["delta"].get<double>(), 1e-10);
    EXPECT_LT(std::abs(e.stats.at("relative_summation_gap")), 1e-10) << method;
  }
  // The two rules differ on this network.
  EXPECT_GT(relative_error(read_npy(dir / "ref_rescale.npy"), read_npy(dir / "ref_revealcancel.npy")),
            1e-3);

  // DeepLIFT-SHAP over two references: the mean of their maps, summing to f(x) - mean f(x0).
  std::string references = (dir / "x0.npy").string();
  references += "," + (dir / "x1.npy").string();
  const Explanation shap =
      run("deeplift-shap", model, x, classes, Params().set("baselines", references));
  EXPECT_LT(relative_error(shap.attribution, read_npy(dir / "ref_shap.npy")), 1e-10);
  EXPECT_NEAR(shap.stats.at("delta"), meta["delta_shap"].get<double>(), 1e-10);
  EXPECT_LT(std::abs(shap.stats.at("relative_summation_gap")), 1e-10);
  EXPECT_GT(relative_error(shap.attribution, read_npy(dir / "ref_rescale.npy")), 1e-3);
}

TEST(MethodsDeepLiftArguments, BaselineTensorOfTheWrongShape) {
  const Model model = conv_dense_model({1, 3, 5, 5}, true);
  TempDir dir;
  write_npy(dir / "x0.npy", at::zeros({1, 3, 4, 4}, at::kDouble));
  EXPECT_THROW(run("deeplift", model, at::randn({1, 3, 5, 5}, at::kDouble), {0},
                   Params().set("baseline", (dir / "x0.npy").string())),
               ArgumentError);
  EXPECT_THROW(run("deeplift", model, at::randn({1, 3, 5, 5}, at::kDouble), {0},
                   Params().set("eps", "-1")),
               ArgumentError);
}

// Every other family runs, and summation-to-delta holds: through ConvNeXt's decomposed
// LayerNorm (a quotient of two computed values) by the two-input split, through the LRN and
// Softmax of "classics" by their path-integrated gradients.
TEST(MethodsDeepLiftCoverage, OtherFamilies) {
  for (const std::string name : {"alexnet", "squeezenet1_1", "googlenet", "inception_v3",
                                 "mobilenet_v3_small", "shufflenet_v2_x1_0", "mnasnet0_5",
                                 "efficientnet_b0", "regnet_y_400mf", "resnext50_32x4d",
                                 "classics", "convnext_tiny"}) {
    ASSERT_TRUE(has_fixture(name)) << "missing fixture " << name;
    const Model model = Model::load(fixture(name) / "model.onnx");
    const at::Tensor x = read_npy(fixture(name) / "x.npy");
    const Explanation e = run("deeplift-revealcancel", model, x, {0});
    EXPECT_TRUE(at::isfinite(e.attribution).all().item<bool>()) << name;
    const double gap = std::abs(e.stats.at("relative_summation_gap"));
    EXPECT_LT(gap, 1e-4) << name;
    std::cout << name << ": relative summation gap " << gap << "\n";
  }
}

// ---- excitation backprop ------------------------------------------------------------------------

class MethodsExcitation : public ::testing::TestWithParam<std::string> {};

// On ReLU networks with folded BatchNorms every hidden unit that receives probability has
// excitatory inputs, so each layer's probabilities sum to 1 (here the last feature map's) and the
// contrastive map's to 0. At the signed pixels some first-layer units have none (all x+ w+ = 0)
// and drop theirs.
TEST_P(MethodsExcitation, ConservesProbabilityMass) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx").to(at::kDouble);
  nlohmann::json meta;
  std::ifstream(fixture(GetParam()) / "meta.json") >> meta;
  const at::Tensor x = read_npy(fixture(GetParam()) / "x.npy").to(at::kDouble);
  const std::vector<int64_t> classes = {meta["target"].get<int64_t>()};
  const std::string layer =
      model.graph().values[explainers::cam_layer(model, model.forward(x), {})].name;
  for (const Params& params : {Params().set("layer", layer), Params()}) {
    const bool input = !params.has("layer");
    const Explanation e = run("excitation-backprop", model, x, classes, params);
    EXPECT_NEAR(e.attribution.sum().item<double>(), e.stats.at("mass"), 1e-12);
    EXPECT_LE(e.stats.at("mass"), 1.0 + 1e-12);
    EXPECT_GT(e.stats.at("mass"), input ? 0.999 : 1.0 - 1e-12) << (input ? "input" : layer);
    EXPECT_GE(e.attribution.min().item<double>(), 0.0);
    const Explanation c = run("contrastive-excitation-backprop", model, x, classes, params);
    if (!input) EXPECT_NEAR(c.stats.at("mass"), 0.0, 1e-9);
    EXPECT_GT(relative_error(c.attribution, e.attribution), 0.1);
    EXPECT_EQ(e.layer, input ? "" : layer);
  }
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsExcitation, ::testing::Values("resnet18", "vgg16_bn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace whitebox::test
