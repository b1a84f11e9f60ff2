// The relevance methods never write a value that is not finite: every LRP preset, deep Taylor,
// DeepLIFT (both rules) and excitation backprop on every torchvision family and on the bundled
// real MobileNets, with their conservation (or summation-to-delta) within the bounds that
// docs/methods.md states; and a signal that does stop being finite is a NumericalError naming the
// node where it first did.
#include <gtest/gtest.h>

#include <algorithm>
#include <iomanip>
#include <iostream>

#include "methods/methods.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::test {
namespace {

const std::vector<std::string> kLrp = {
    "lrp", "lrp-epsilon-plus", "lrp-epsilon-gamma-box", "lrp-epsilon-alpha2-beta1",
    "lrp-epsilon-alpha2-beta1-flat", "deep-taylor", "lrp-0", "lrp-epsilon"};
const std::vector<std::string> kOthers = {"deeplift", "deeplift-revealcancel", "excitation-backprop",
                                          "contrastive-excitation-backprop"};

// Families of ReLU networks whose BatchNorms all fold into the convolutions before them: every
// unit that receives relevance has z != 0, so the bias-free rules conserve it. The others drop
// the relevance of units active by their bias alone (a BatchNorm shift before the activation, a
// linear bottleneck, AlexNet's biased layers), some of it negative.
bool conserving(const std::string& name) {
  for (const char* family : {"vgg16_bn", "resnet18", "resnext50_32x4d", "wide_resnet50_2",
                             "squeezenet1_1", "googlenet", "inception_v3", "regnet_y_400mf"}) {
    if (name == family) return true;
  }
  return false;
}

struct Case {
  std::string name;
  std::function<Model()> load;
  std::function<at::Tensor(const Model&)> input;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const std::string family :
       {"alexnet", "vgg16_bn", "resnet18", "resnext50_32x4d", "wide_resnet50_2", "densenet121",
        "squeezenet1_1", "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_small",
        "shufflenet_v2_x1_0", "mnasnet0_5", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny"}) {
    all.push_back({family, [family] { return Model::load(fixture(family) / "model.onnx"); },
                   [family](const Model&) { return read_npy(fixture(family) / "x.npy"); }});
  }
  for (const std::string file : {"mobilenet_v2_1.0_224.onnx", "mobilenet_v1_0.25_128.onnx"}) {
    all.push_back({file, [file] { return Model::load(bundled(file)); }, [](const Model& model) {
                     return preprocess(read_image(bundled("images/hot_dog.jpg")), model.preprocessing).tensor;
                   }});
  }
  return all;
}

// One table row per model: conservation of each LRP preset, relative summation gap of DeepLIFT,
// probability mass of excitation backprop (the figures of docs/methods.md). One test per model,
// so that the methods shards share them.
class MethodsRelevanceTable : public testing::TestWithParam<Case> {};

TEST_P(MethodsRelevanceTable, FiniteAndWithinTheDocumentedBounds) {
  const Case& c = GetParam();
  if (c.name.find(".onnx") == std::string::npos && !has_fixture(c.name)) {
    FAIL() << "missing fixture " << c.name;
  }
  std::vector<std::string> names = kLrp;
  names.insert(names.end(), kOthers.begin(), kOthers.end());
  std::cout << "| model |";
  for (const auto& n : names) std::cout << " " << n << " |";
  std::cout << "\n";
  const Model model = c.load();
  const at::Tensor x = c.input(model);
  const auto maps = explain(model, x, names, Target::top());
  std::cout << "| " << c.name << " |" << std::setprecision(3);
  for (const auto& name : names) {
    const Explanation& e = maps.at(name);
    ASSERT_TRUE(at::isfinite(e.attribution).all().item<bool>()) << name;
    ASSERT_TRUE(at::isfinite(e.map).all().item<bool>()) << name;
    for (const auto& [key, value] : e.stats) EXPECT_TRUE(std::isfinite(value)) << name << " " << key;
    double figure = 0;
    if (name.rfind("deeplift", 0) == 0) {
      figure = e.stats.at("relative_summation_gap");
      EXPECT_LT(std::abs(figure), 1e-3) << name;
    } else if (name == "excitation-backprop") {
      figure = e.stats.at("mass");
      EXPECT_GT(figure, 0.0) << name;
      EXPECT_LE(figure, 1.0 + 1e-4) << name;
    } else if (name == "contrastive-excitation-backprop") {
      figure = e.stats.at("mass");
      EXPECT_LE(std::abs(figure), 1.0 + 1e-4) << name;
    } else {
      figure = e.stats.at("conservation");
      // Alpha-beta keeps alpha R+ at units without negative terms and -beta R- at units
      // without positive ones: its total is bounded by neither 0 nor the logit.
      const bool alpha_beta = name.find("alpha2") != std::string::npos;
      const bool absorbs = name == "lrp-0" || name == "lrp-epsilon";  // bias=absorb
      if (!absorbs && conserving(c.name)) {
        EXPECT_GT(figure, 0.99) << name;
        EXPECT_LT(figure, alpha_beta ? 1.1 : 1.0 + 1e-3) << name;
      } else if (alpha_beta) {
        EXPECT_LT(std::abs(figure), 10.0) << name;
      } else if (!absorbs) {
        EXPECT_GT(figure, 0.0) << name;
        EXPECT_LT(figure, 1.1) << name;
      }
    }
    std::cout << " " << figure << " |";
  }
  std::cout << "\n";
}

INSTANTIATE_TEST_SUITE_P(Models, MethodsRelevanceTable, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {  // a file name: no dots
                           std::string name = info.param.name;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// ConvNeXt at opset 13 writes its LayerNorms out (ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add) and
// at opset 17 as LayerNormalization nodes: the centring's shares with the deviation held constant
// and the LayerNormalization rule are the same map. Biases absorbed: with the shift ignored, the
// relevance of units the shift drives is pushed onto x - mean, and both forms agree only up to
// float32 roundoff of those large shares.
TEST(MethodsRelevanceFinite, WrittenOutAndFusedLayerNormAgree) {
  ASSERT_TRUE(has_fixture("convnext_tiny") && has_fixture("convnext_tiny_opset17"));
  const Model written = Model::load(fixture("convnext_tiny") / "model.onnx").to(at::kDouble);
  const Model fused = Model::load(fixture("convnext_tiny_opset17") / "model.onnx").to(at::kDouble);
  const at::Tensor x = read_npy(fixture("convnext_tiny") / "x.npy").to(at::kDouble);
  for (const std::string method : {"lrp", "lrp-epsilon-gamma-box"}) {
    const Params params = Params().set("bias", "absorb");
    const Explanation a = run(method, written, x, {3}, params);
    const Explanation b = run(method, fused, x, {3}, params);
    EXPECT_LT(relative_error(a.attribution, b.attribution), 1e-9) << method;
    EXPECT_GT(a.attribution.abs().sum().item<double>(), 0.0);
  }
}

// A rule that writes inf at one node: the sweep of sweep_finite() finds it again with every node
// checked and names that node and the values; explain() adds the method.
TEST(MethodsRelevanceFinite, TheFirstNodeThatIsNotFiniteIsNamed) {
  const Model model = conv_dense_model({1, 3, 4, 4}, true);
  const Params params;
  const Context c(model, at::randn({1, 3, 4, 4}, at::kDouble), std::vector<int64_t>{1}, params);
  Rules rules;
  rules.by_op("Relu", [](const NodeContext& n, const Tensors& out) {
    Tensors in = n.vjp(out);
    in[0].view(-1)[0] = std::numeric_limits<double>::infinity();
    return in;
  });
  const at::Tensor seed = at::ones_like(c.trace[model.output()]);
  try {
    explainers::sweep_finite(c, {{model.output(), seed}}, {model.input()}, rules);
    FAIL() << "no NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_EQ(e.method(), "");
    EXPECT_EQ(e.node(), "relu0");
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("the signal leaving node 'relu0' (Relu)", 0), 0u) << what;
    EXPECT_NE(what.find("inf"), std::string::npos) << what;
  }
  // Without the faulty rule the same call is the gradient.
  const at::Tensor g =
      explainers::sweep_finite(c, {{model.output(), seed}}, {model.input()}, Rules())[0];
  EXPECT_LT(relative_error(g, sweep_gradient(model, c.input, seed)), 1e-15);
  // Through explain(), the error names the method as well: an input that overflows the forward.
  try {
    explain(model, at::full({1, 3, 4, 4}, 1e308, at::kDouble), {"lrp"}, std::vector<int64_t>{1});
    FAIL() << "no NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_EQ(e.method(), "lrp");
    EXPECT_FALSE(e.node().empty());
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("lrp: the signal leaving node '", 0), 0u) << what;
  }
}

// explain() checks every method's map, attribution and statistics.
TEST(MethodsRelevanceFinite, ExplainRejectsAMapThatIsNotFinite) {
  Explanation e;
  e.map = at::zeros({1, 2, 2});
  e.attribution = at::zeros({1, 3, 2, 2});
  EXPECT_NO_THROW(explainers::check_finite(e, "m"));
  e.stats["gap"] = std::nan("");
  EXPECT_THROW(explainers::check_finite(e, "m"), NumericalError);
  e.stats.clear();
  e.attribution[0][1][0][0] = -std::numeric_limits<float>::infinity();
  try {
    explainers::check_finite(e, "m");
    FAIL() << "no NumericalError";
  } catch (const NumericalError& error) {
    EXPECT_EQ(error.node(), "");
    EXPECT_NE(std::string(error.what()).find("attribution is not finite (1 of 12"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace whitebox::test
