// The gradient family and the black-box references against independent PyTorch-autograd
// references (tests/reference/gradient_methods.py, in float64), plus properties that hold by
// construction.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "methods/parameters.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::test {
namespace {

// ---- against PyTorch -------------------------------------------------------------------------

class MethodsGradient : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto dir = fixture(GetParam());
    ASSERT_TRUE(std::filesystem::exists(dir / "ref_gradient_done"))
        << "missing references in " << dir << ": run the 'gradient_references' test first";
    std::ifstream(dir / "ref_gradient.json") >> refs_;
  }
  nlohmann::json refs_;
};

TEST_P(MethodsGradient, MatchPyTorchReferences) {
  const auto dir = fixture(GetParam());
  // In float64: in float32, random-weight networks at perturbed inputs (path points, noisy copies)
  // flip ReLU / max-pool decisions at near-ties, and two correct implementations then differ by
  // up to 1e-2 (efficientnet_b0 at SmoothGrad's noisy copies: by more than 100%).
  const Model model = Model::load(dir / "model.onnx").to(at::kDouble);
  const at::Tensor x = read_npy(dir / "x.npy").to(at::kDouble);
  const std::vector<int64_t> classes = {refs_["target"].get<int64_t>()};
  for (const auto& [name, ref] : refs_["references"].items()) {
    Params params;
    for (const auto& [key, value] : ref["params"].items()) params.set(key, value.get<std::string>());
    const auto start = std::chrono::steady_clock::now();
    const Explanation e = run(ref["method"].get<std::string>(), model, x, classes, params);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double error = relative_error(e.attribution, read_npy(dir / ref["attribution"].get<std::string>()));
    EXPECT_LT(error, 1e-4) << name << " attribution";
    std::string line = GetParam() + " " + name + ": attribution " + c10::str(error);
    if (ref.contains("map")) {
      const double map_error = relative_error(e.map, read_npy(dir / ref["map"].get<std::string>()));
      EXPECT_LT(map_error, 1e-4) << name << " map";
      line += ", map " + c10::str(map_error);
    }
    std::cout << "  " << line << " (" << seconds << " s)\n";
  }
}

// The prefix starts with "Methods" so that --gtest_filter=Methods* selects these.
INSTANTIATE_TEST_SUITE_P(MethodsTorchvision, MethodsGradient,
                         ::testing::Values("resnet18", "vgg16_bn", "densenet121", "mobilenet_v2",
                                           "efficientnet_b0"),
                         [](const auto& info) { return info.param; });

// ---- properties ------------------------------------------------------------------------------

// f(x) = W x + b over 6 features, 4 classes.
Model linear_model() {
  at::manual_seed(7);
  return one_node_model("Gemm", {1, 6}, {at::randn({4, 6}), at::randn({4})}, {{"transB", int64_t{1}}});
}

// An "image classifier" whose logits are its pixels: [N, 2, 5, 6] -> [N, 60].
Model pixel_model() { return one_node_model("Flatten", {1, 2, 5, 6}, {}, {{"axis", int64_t{1}}}); }

TEST(MethodsGradientProperties, RegistryHasEveryMethodOnceWithTaxonomy) {
  std::set<std::string> names;
  for (const auto& m : methods()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    for (const auto& alias : m.aliases) EXPECT_TRUE(names.insert(alias).second) << alias;
  }
  const std::map<std::string, Family> expected = {
      {"saliency", Family::Gradient},         {"gradient-input", Family::Gradient},
      {"integrated-gradients", Family::Gradient}, {"smoothgrad", Family::Gradient},
      {"smoothgrad-squared", Family::Gradient}, {"vargrad", Family::Gradient},
      {"guided-backprop", Family::Gradient},  {"deconvnet", Family::Gradient},
      {"occlusion", Family::BlackBox},        {"rise", Family::BlackBox}};
  for (const auto& [name, family] : expected) {
    const MethodInfo& m = find_method(name);
    EXPECT_EQ(m.family, family) << name;
    EXPECT_FALSE(m.summary.empty()) << name;
    EXPECT_FALSE(m.citation.empty()) << name;
    EXPECT_FALSE(m.cost.empty()) << name;
    EXPECT_FALSE(m.hyperparameters.empty()) << name;
    EXPECT_EQ(m.resolution, Resolution::Input) << name;
  }
  EXPECT_EQ(find_method("ig").name, "integrated-gradients");
  EXPECT_TRUE(find_method("gradient-input").scheduling.input_gradient);
  EXPECT_FALSE(find_method("occlusion").needs_gradient);
}

// Parameters are checked against what the chosen methods take; a noise wrapper takes its base
// method's as well, whichever base is chosen.
TEST(MethodsGradientProperties, ParametersAreCheckedAgainstTheMethods) {
  EXPECT_NO_THROW(check_parameters({"saliency", "ig"}, Params().set("steps", "3").set("reduce", "max")));
  EXPECT_THROW(check_parameters({"saliency"}, Params().set("steps", "3")), ArgumentError);
  EXPECT_NO_THROW(check_parameters({"smoothgrad"}, Params().set("base", "ig").set("steps", "3")));
  EXPECT_THROW(check_parameters({"smoothgrad"}, Params().set("steps", "3")), ArgumentError);
  EXPECT_THROW(check_parameters({"smoothgrad"}, Params().set("base", "nope")), LookupError);
  try {
    check_parameters({"gradcam"}, Params().set("layr", "x"));
    ADD_FAILURE() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown parameter 'layr' for gradcam (valid: aug_smooth, "
                                         "eigen_smooth, layer); did you mean 'layer'?"),
              std::string::npos)
        << e.what();
  }
  const Params kept = parameters_for(find_method("saliency"), Params().set("steps", "3").set("reduce", "l2"));
  EXPECT_EQ(kept.values(), (std::map<std::string, std::string>{{"reduce", "l2"}}));
  // explain() checks too, and reports the logits of the trace its methods shared.
  const Model model = conv_dense_model({1, 3, 4, 4}, true);
  const at::Tensor x = at::randn({1, 3, 4, 4}, at::kDouble);
  EXPECT_THROW(explain(model, x, {"saliency"}, Target::top(), Params().set("stpes", "3")),
               ArgumentError);
  const Explanation e = explain(model, x, {"saliency"}, Target::top(2)).at("saliency");
  EXPECT_TRUE(at::equal(e.logits, model.logits(x)));
  EXPECT_EQ(e.classes, Target::top(2).resolve(model, model.logits(x)));
}

// A method reads its options through its declaration: what the caller leaves out comes from the
// declared defaults, which are no given values, and a read of an undeclared key is a bug.
TEST(MethodsGradientProperties, MethodsReadTheirDeclaredDefaults) {
  using explainers::with_declared_defaults;
  const Params ig = with_declared_defaults(find_method("ig"), Params().set("steps", "3"));
  EXPECT_EQ(ig.integer("steps"), 3);
  EXPECT_EQ(ig.integer("batch"), 4);
  EXPECT_EQ(ig.text("baseline"), "black");
  EXPECT_FALSE(ig.has("batch"));
  EXPECT_EQ(ig.values(), (std::map<std::string, std::string>{{"steps", "3"}}));
  try {
    (void)ig.integer("window");
    ADD_FAILURE() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("'window'"), std::string::npos) << e.what();
  }
  // A computed default (the last feature map, window / 2) is shown, never read as a value.
  const Params cam = with_declared_defaults(find_method("gradcam"), Params());
  EXPECT_THROW((void)cam.text("layer"), std::logic_error);
  EXPECT_EQ(cam.integer("aug_smooth"), 0);
  EXPECT_THROW((void)with_declared_defaults(find_method("occlusion"), Params()).text("stride"),
               std::logic_error);
  // Another method's defaults give way to this one's.
  EXPECT_THROW((void)with_declared_defaults(find_method("saliency"), ig).integer("batch"),
               std::logic_error);
}

// Values are checked against the declared type and range before anything runs, naming the
// method; a wrapper's own keys never reach its base unless prefixed "base.".
TEST(MethodsGradientProperties, ValuesAreCheckedAgainstTheDeclarations) {
  const auto message = [](const std::vector<std::string>& methods, const Params& params) {
    try {
      check_parameters(methods, params);
    } catch (const ArgumentError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({"ig"}, Params().set("steps", "0")),
            "parameter steps='0': takes an integer in [1, 100000] (integrated-gradients)");
  EXPECT_EQ(message({"ig"}, Params().set("steps", "2.5")),
            "parameter steps='2.5': takes an integer in [1, 100000] (integrated-gradients)");
  EXPECT_EQ(message({"saliency"}, Params().set("reduce", "mean")),
            "parameter reduce='mean': takes one of max, l2, sum (saliency)");
  EXPECT_EQ(message({"rise"}, Params().set("p", "2")),
            "parameter p='2': takes a number in [0, 1] (rise)");
  EXPECT_EQ(message({"lrp"}, Params().set("convention", "captum")),
            "parameter convention='captum': takes one of whitebox, zennit (lrp)");
  EXPECT_EQ(message({"smoothgrad"}, Params().set("base", "ig").set("base.batch", "0")),
            "parameter base.batch='0': takes an integer in [1, 1024] (smoothgrad)");
  EXPECT_EQ(
      message({"smoothgrad"}, Params().set("base", "ig").set("base.batch", "8").set("batch", "2")),
      "no error");
  EXPECT_NE(message({"smoothgrad"}, Params().set("base", "ig").set("base.stpes", "8"))
                .find("did you mean"),
            std::string::npos);
  // A text parameter takes anything; a layer is checked when the model is known.
  EXPECT_EQ(message({"gradcam"}, Params().set("layer", "0")), "no error");

  // The declared fallbacks are values of their own types.
  for (const MethodInfo& m : methods()) {
    for (const Hyperparameter& h : m.hyperparameters) {
      if (h.type != Hyperparameter::Type::Text && h.fallback != "window / 2") {
        EXPECT_NO_THROW(h.check(h.fallback)) << m.name << " " << h.name << "=" << h.fallback;
      }
    }
  }
  std::vector<std::string> names =
      parameter_names(find_method("smoothgrad"), Params().set("base", "ig"));
  for (const char* name : {"base", "base.batch", "base.steps", "batch", "steps", "noise"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name;
  }
}

// A wrapper reports its base's facts and statistics.
TEST(MethodsGradientProperties, WrappersTakeTheirFactsAndStatsFromTheBase) {
  const MethodInfo cam = facts(find_method("smoothgrad"), Params().set("base", "gradcam"));
  EXPECT_EQ(cam.resolution, Resolution::Layer);
  EXPECT_EQ(cam.cost, "samples x (" + find_method("gradcam").cost + ")");
  EXPECT_FALSE(facts(find_method("vargrad"), Params().set("base", "occlusion")).needs_gradient);
  EXPECT_TRUE(facts(find_method("smoothgrad"), Params().set("base", "ig")).needs_reference);
  EXPECT_EQ(facts(find_method("saliency"), Params()).resolution, Resolution::Input);

  const Model model = pixel_model();
  const at::Tensor x = at::randn({2, 2, 5, 6});
  const Explanation e =
      run("smoothgrad", model, x, {3, 50},
          Params().set("base", "ig").set("samples", "3").set("steps", "4").set("baseline", "zero"));
  EXPECT_EQ(e.stats.count("completeness_gap"), 1u);
  EXPECT_EQ(e.stats.at("samples"), 3.0);
}

TEST(MethodsGradientProperties, GradientTimesInputEqualsIntegratedGradientsOnALinearModel) {
  const Model model = linear_model();
  at::manual_seed(8);
  const at::Tensor x = at::randn({3, 6});
  const std::vector<int64_t> classes = {0, 2, 3};
  const Explanation gi = run("gradient-input", model, x, classes);
  for (const char* rule : {"gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "trapezoid"}) {
    const Explanation ig = run("integrated-gradients", model, x, classes,
                               Params().set("baseline", "zero").set("integration", rule).set("steps", "5").set("batch", "4"));
    EXPECT_LT(relative_error(ig.attribution, gi.attribution), 1e-6) << rule;
    EXPECT_LT(std::abs(ig.stats.at("completeness_gap")), 1e-5) << rule;
  }
}

TEST(MethodsGradientProperties, IntegratedGradientsBatchRowsEqualSingleImages) {
  const Model model = pixel_model();
  at::manual_seed(9);
  const at::Tensor x = at::randn({2, 2, 5, 6});
  const Params params = Params().set("baseline", "mean").set("steps", "7").set("batch", "3");
  const Explanation both = run("integrated-gradients", model, x, {4, 33}, params);
  const Explanation second = run("integrated-gradients", model, x.narrow(0, 1, 1), {33}, params);
  EXPECT_LT(relative_error(both.attribution[1], second.attribution[0]), 1e-6);
}

TEST(MethodsGradientProperties, ModifiedGradientsEqualTheGradientWithoutReLUs) {
  const Model model = linear_model();
  at::manual_seed(10);
  const at::Tensor x = at::randn({2, 6});
  const Explanation plain = run("saliency", model, x, {1, 3});
  EXPECT_LT(relative_error(run("guided-backprop", model, x, {1, 3}).attribution, plain.attribution), 1e-7);
  EXPECT_LT(relative_error(run("deconvnet", model, x, {1, 3}).attribution, plain.attribution), 1e-7);
}

TEST(MethodsGradientProperties, ModifiedGradientsAtReLUs) {
  // One Relu / ReLU6 node: the signal into x is the one-hot seed (positive), masked or not.
  const at::Tensor x = at::tensor({-1.0f, 2.0f, 7.0f, 0.5f}).view({1, 4});
  const Model relu = one_node_model("Relu", {1, 4});
  const Model relu6 = one_node_model("Clip", {1, 4}, {at::scalar_tensor(0.0f), at::scalar_tensor(6.0f)});
  for (int64_t cls = 0; cls < 4; ++cls) {
    const at::Tensor onehot = at::zeros({1, 4}).index_fill_(1, at::tensor({cls}), 1.0);
    const float v = x[0][cls].item<float>();
    EXPECT_TRUE(at::equal(run("deconvnet", relu, x, {cls}).attribution, onehot)) << cls;
    EXPECT_TRUE(at::equal(run("guided-backprop", relu, x, {cls}).attribution, onehot * (v > 0))) << cls;
    EXPECT_TRUE(at::equal(run("deconvnet", relu6, x, {cls}).attribution, onehot)) << cls;
    EXPECT_TRUE(at::equal(run("guided-backprop", relu6, x, {cls}).attribution, onehot * (v > 0 && v < 6)))
        << cls;
  }
}

TEST(MethodsGradientProperties, OcclusionAndRiseByHand) {
  const Model model = pixel_model();
  at::manual_seed(11);
  const at::Tensor x = at::randn({1, 2, 5, 6});
  // Class 1 * 30 + 2 * 6 + 3 is pixel (channel 1, row 2, column 3); a 1x1 window occluding both
  // channels drops the logit by x there and nowhere else.
  const Explanation occ = run("occlusion", model, x, {45}, Params().set("window", "1").set("batch", "7"));
  at::Tensor expected = at::zeros({1, 5, 6});
  expected[0][2][3] = x[0][1][2][3];
  EXPECT_LT(relative_error(occ.map, expected), 1e-7);
  // Windows of 3 at stride 2 (+ the edge one): pixel (2, 3) lies in 2 x 2 windows, all dropping x.
  const Explanation occ3 = run("occlusion", model, x, {45}, Params().set("window", "3").set("stride", "2"));
  EXPECT_NEAR(occ3.map[0][2][3].item<double>(), x[0][1][2][3].item<double>(), 1e-6);
  EXPECT_NEAR(occ3.map[0][0][0].item<double>(), 0.0, 1e-7);
  // p = 1 keeps everything: every mask is 1 and the map is the class probability everywhere.
  const Explanation r = run("rise", model, x, {45}, Params().set("masks", "5").set("p", "1").set("cells", "2"));
  const double prob = at::softmax(x.flatten(1), 1)[0][45].item<double>();
  EXPECT_LT(relative_error(r.map, at::full({1, 5, 6}, prob)), 1e-6);
}

TEST(MethodsGradientProperties, NoiseWrappers) {
  const Model model = pixel_model();
  at::manual_seed(12);
  const at::Tensor x = at::randn({2, 2, 5, 6});
  const std::vector<int64_t> classes = {3, 50};
  // No noise: every copy is x.
  const Explanation plain = run("gradient-input", model, x, classes);
  const Params quiet = Params().set("noise", "0").set("samples", "3").set("base", "gradient-input").set("batch", "4");
  EXPECT_LT(relative_error(run("smoothgrad", model, x, classes, quiet).attribution, plain.attribution), 1e-7);
  EXPECT_LT(relative_error(run("smoothgrad-squared", model, x, classes, quiet).attribution,
                           plain.attribution.pow(2)), 1e-7);
  EXPECT_LT(run("vargrad", model, x, classes, quiet).attribution.abs().max().item<double>(), 1e-10);
  // Any method can be the base; the seed makes runs repeatable, and batching does not matter.
  const Params noisy = Params().set("base", "occlusion").set("window", "2").set("samples", "5");
  const Explanation a = run("smoothgrad", model, x, classes, noisy);
  const Explanation b = run("smoothgrad", model, x, classes, Params(noisy).set("batch", "3"));
  EXPECT_EQ(a.map.sizes(), (at::IntArrayRef{2, 5, 6}));
  EXPECT_LT(relative_error(a.map, b.map), 1e-6);
  EXPECT_GT(
      relative_error(a.map, run("occlusion", model, x, classes, Params().set("window", "2")).map),
      1e-3);
  EXPECT_GT(relative_error(a.map, run("smoothgrad", model, x, classes, Params(noisy).set("seed", "1")).map), 1e-3);
}

// The wrapper's seed draws the noise; base.seed reaches the base (RISE's masks), and the
// wrapper's own seed does not.
TEST(MethodsGradientProperties, WrapperAndBaseKeepTheirOwnSeeds) {
  const Model model = pixel_model();
  const at::Tensor x = at::randn({1, 2, 5, 6});
  const Params rise =
      Params().set("base", "rise").set("masks", "8").set("cells", "2").set("samples", "2");
  const auto map = [&](const Params& p) { return run("smoothgrad", model, x, {3}, p).map; };
  const Params quiet = Params(rise).set("noise", "0");
  EXPECT_TRUE(at::equal(map(quiet), map(Params(quiet).set("seed", "5"))));
  EXPECT_FALSE(at::equal(map(quiet), map(Params(quiet).set("base.seed", "5"))));
  EXPECT_FALSE(at::equal(map(rise), map(Params(rise).set("seed", "5"))));
}

// On the bundled MobileNetV2 (real weights) and a bundled photo: no fixture needed.
TEST(MethodsGradientProperties, IntegratedGradientsCompletenessOnTheBundledModel) {
  const Model model = Model::load(bundled("mobilenet_v2_1.0_224.onnx"));
  const at::Tensor x =
      preprocess(read_image(bundled("images/hot_dog.jpg")), model.preprocessing).tensor;
  const Context context(model, x, Target::top(), Params());
  // Along a ReLU network's path the gradient is piecewise constant, so the error of a coarse
  // quadrature is erratic (4 points can beat 16); the default must beat both, and be < 1%.
  std::vector<double> relative;
  for (const char* steps : {"4", "16", "50"}) {
    const Params params = Params().set("steps", steps).set("batch", "25");
    const Explanation e = run("integrated-gradients", model, x, context.classes, params);
    relative.push_back(e.stats.at("relative_completeness_gap"));
    std::cout << "  mobilenet_v2 IG steps " << steps << ": delta " << e.stats.at("delta")
              << ", gap " << e.stats.at("completeness_gap") << " (relative " << relative.back()
              << ")\n";
  }
  EXPECT_LT(relative[2], std::min(relative[0], relative[1])) << "at the default 50 steps";
  EXPECT_LT(relative[2], 0.01) << "at the default 50 steps";
}

TEST(MethodsGradientProperties, BadHyperparametersThrow) {
  const Model model = pixel_model();
  const at::Tensor x = at::randn({1, 2, 5, 6});
  const std::vector<std::pair<std::string, Params>> bad = {
      {"integrated-gradients", Params().set("steps", "0")},
      {"integrated-gradients", Params().set("steps", "2.5")},
      {"integrated-gradients", Params().set("batch", "0")},
      {"integrated-gradients", Params().set("baseline", "grey")},
      {"integrated-gradients", Params().set("baseline", "black")},  // 2 channels: no black image
      {"integrated-gradients", Params().set("integration", "simpson").set("baseline", "zero")},
      {"integrated-gradients",
       Params().set("integration", "trapezoid").set("steps", "1").set("baseline", "zero")},
      {"integrated-gradients", Params().set("baseline", "blurred").set("sigma", "-1")},
      {"integrated-gradients", Params().set("baseline", "blurred").set("sigma", "4")},
      {"smoothgrad", Params().set("noise", "-0.1")},
      {"smoothgrad", Params().set("samples", "0")},
      {"vargrad", Params().set("base", "smoothgrad")},
      {"smoothgrad", Params().set("seed", "-3")},
      {"occlusion", Params().set("window", "6")},
      {"occlusion", Params().set("window", "0")},
      {"occlusion", Params().set("stride", "0")},
      {"rise", Params().set("masks", "0")},
      {"rise", Params().set("p", "0")},
      {"rise", Params().set("p", "1.5")},
      {"rise", Params().set("cells", "9")},
      {"sobol", Params().set("designs", "6")},
      {"sobol", Params().set("designs", "1")},
      {"sobol", Params().set("grid", "9")},
      {"sobol", Params().set("grid", "0")},
  };
  for (const auto& [method, params] : bad) {
    std::string text;
    for (const auto& [k, v] : params.values()) text += k + "=" + v + " ";
    EXPECT_THROW(run(method, model, x, {0}, params), ArgumentError) << method << " " << text;
  }
  EXPECT_THROW(run("smoothgrad", model, x, {0}, Params().set("base", "nonsense")), LookupError);
}

}  // namespace
}  // namespace whitebox::test
