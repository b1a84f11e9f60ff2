// PatternNet and PatternAttribution: the estimators on a synthetic linear problem with a known
// signal and a distractor, their identities, the storage and its errors, an independent PyTorch
// reference on a small CNN, and the `whitebox patterns fit` command.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/patterns.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

double cosine(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor u = a.flatten().to(at::kDouble), v = b.flatten().to(at::kDouble);
  return (u.dot(v) / (u.norm() * v.norm())).item<double>();
}

PatternOptions with(PatternEstimator estimator) {
  PatternOptions options;
  options.estimator = estimator;
  return options;
}

// The paper's toy problem in D dimensions: x = s a_s + d a_d (+ a little noise), with a
// distractor direction a_d correlated with the signal direction a_s, and the filter w that
// cancels the distractor (w^T a_d = 0) and reads the signal (w^T a_s = 1), so y = w^T x = s.
struct Synthetic {
  static constexpr int64_t kDim = 16;
  at::Tensor signal, distractor, w, x;
  Model model;

  explicit Synthetic(int64_t samples = 4000, double bias = 0.0) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
    const auto normal = [&](std::vector<int64_t> shape) {
      return at::normal(0.0, 1.0, shape, generator, at::TensorOptions().dtype(at::kDouble));
    };
    signal = normal({kDim});
    distractor = signal + normal({kDim});
    w = signal - signal.dot(distractor) / distractor.dot(distractor) * distractor;
    w = w / w.dot(signal);
    x = normal({samples, 1}) * signal + 2.0 * normal({samples, 1}) * distractor +
        0.01 * normal({samples, kDim});
    model = one_node_model("Gemm", {samples, kDim},
                           {w.view({1, kDim}), at::full({1}, bias, at::kDouble)},
                           {{"transB", int64_t{1}}});
  }
};

TEST(Patterns, SyntheticPatternRecoversTheSignalDirection) {
  const Synthetic problem;
  const double weight_cosine = cosine(problem.w, problem.signal);
  EXPECT_LT(weight_cosine, 0.9) << "the weight vector should not point along the signal";
  for (const auto estimator : {PatternEstimator::Linear, PatternEstimator::TwoComponent}) {
    const Patterns patterns = fit_patterns(problem.model, {problem.x}, with(estimator));
    ASSERT_EQ(patterns.by_node.size(), 1u);
    const at::Tensor a = patterns.by_node.at("Gemm_node");
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, Synthetic::kDim}));
    const double c = cosine(a, problem.signal);
    EXPECT_GT(c, 0.99) << to_string(estimator);
    // Normalised so that the estimated signal a y reproduces y: w^T a = 1.
    EXPECT_NEAR(problem.w.dot(a.flatten()).item<double>(), 1.0, 1e-12);
    std::cout << to_string(estimator) << ": cosine(pattern, signal) " << c
              << ", cosine(weight, signal) " << weight_cosine << "\n";
    if (estimator == PatternEstimator::TwoComponent) {
      // The negative regime's pattern, by symmetry, too.
      const at::Tensor negative = patterns.negative.at("Gemm_node");
      EXPECT_GT(cosine(negative, problem.signal), 0.99);
      EXPECT_NEAR(problem.w.dot(negative.flatten()).item<double>(), 1.0, 1e-12);
      std::cout << "twocomponent, negative regime: cosine(pattern, signal) "
                << cosine(negative, problem.signal) << "\n";
    } else {
      EXPECT_TRUE(patterns.negative.empty());
    }
  }
}

TEST(Patterns, TwoComponentEqualsLinearWhenEveryOutputIsPositive) {
  // A bias that keeps every y > 0: the positive regime is every sample.
  const Synthetic problem(2000, 50.0);
  ASSERT_GT(problem.model.logits(problem.x).min().item<double>(), 0.0);
  const auto linear = fit_patterns(problem.model, {problem.x}, with(PatternEstimator::Linear));
  const auto two = fit_patterns(problem.model, {problem.x}, with(PatternEstimator::TwoComponent));
  EXPECT_LT(relative_error(two.by_node.at("Gemm_node"), linear.by_node.at("Gemm_node")), 1e-12);
  EXPECT_EQ(two.negative.at("Gemm_node").abs().max().item<double>(), 0.0);  // an empty regime

  // The same on a convolution, whose units see every patch (grouped, strided, padded).
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor weight = at::normal(0.0, 0.3, {4, 2, 3, 3}, generator, options);
  const Model conv = one_node_model("Conv", {3, 4, 9, 9}, {weight, at::full({4}, 40.0, options)},
                                    {{"group", int64_t{2}},
                                     {"strides", std::vector<int64_t>{2, 2}},
                                     {"pads", std::vector<int64_t>{1, 0, 1, 2}}});
  const std::vector<at::Tensor> batches = {at::normal(0.0, 1.0, {3, 4, 9, 9}, generator, options),
                                           at::normal(0.5, 1.0, {2, 4, 9, 9}, generator, options)};
  ASSERT_GT(conv.logits(batches[0]).min().item<double>(), 0.0);
  const auto conv_linear = fit_patterns(conv, batches, with(PatternEstimator::Linear));
  const auto conv_two = fit_patterns(conv, batches, with(PatternEstimator::TwoComponent));
  EXPECT_EQ(conv_two.images, 5);
  EXPECT_LT(relative_error(conv_two.by_node.at("Conv_node"), conv_linear.by_node.at("Conv_node")),
            1e-12);
  // And they differ once some outputs are negative.
  const Synthetic centred(2000, 0.0);
  EXPECT_GT(
      relative_error(fit_patterns(centred.model, {centred.x}, with(PatternEstimator::TwoComponent))
                         .by_node.at("Gemm_node"),
                     fit_patterns(centred.model, {centred.x}, with(PatternEstimator::Linear))
                         .by_node.at("Gemm_node")),
      1e-4);
}

// For one linear layer y = w^T x + b: PatternNet is a y, PatternAttribution w (.) a y, with the
// two-component estimator's a+ where y > 0 and a- elsewhere.
TEST(Patterns, OneLayerSignalAndAttribution) {
  const Synthetic problem;
  const Patterns patterns = fit_patterns(problem.model, {problem.x});
  TempDir dir;
  patterns.save(dir / "p");
  const at::Tensor x = problem.x.slice(0, 0, 5);
  const Model model = one_node_model("Gemm", {5, Synthetic::kDim},
                                     {problem.w.view({1, -1}), at::zeros({1}, at::kDouble)},
                                     {{"transB", int64_t{1}}});
  // Patterns fitted on the same weights: the fingerprint does not depend on the batch size.
  const Params params = Params().set("patterns", (dir / "p").string());
  const std::vector<int64_t> classes(5, 0);
  const at::Tensor y = model.logits(x);  // [5, 1]
  ASSERT_GT((y > 0).sum().item<int64_t>(), 0);
  ASSERT_GT((y <= 0).sum().item<int64_t>(), 0);
  const at::Tensor a =
      at::where(y > 0, patterns.by_node.at("Gemm_node"), patterns.negative.at("Gemm_node"));
  const Explanation signal = run("patternnet", model, x, classes, params);
  EXPECT_LT(relative_error(signal.attribution, y * a), 1e-12);
  const Explanation attribution = run("patternattribution", model, x, classes, params);
  EXPECT_LT(relative_error(attribution.attribution, y * (problem.w.view({1, -1}) * a)), 1e-12);
  EXPECT_TRUE(attribution.is_signed);
  EXPECT_FALSE(signal.is_signed);
  EXPECT_EQ(attribution.stats.at("pattern_images"), 4000.0);
}

// A signal beyond the float32 range is recomputed from a seed scaled by a power of two, and the
// scale is reported.
TEST(Patterns, SignalBeyondTheFloatRangeIsRescaled) {
  const Synthetic problem(400);
  Patterns patterns = fit_patterns(problem.model, {problem.x}, with(PatternEstimator::Linear));
  TempDir dir;
  patterns.save(dir / "fitted");
  at::Tensor& a = patterns.by_node.at("Gemm_node");
  a = a * 1e38;  // w^T a no longer 1: a stand-in for a deep network's growth
  patterns.save(dir / "p");
  const at::Tensor x = problem.x.slice(0, 0, 3).to(at::kFloat) * 100;
  const Model single = one_node_model("Gemm", {3, Synthetic::kDim},
                                      {problem.w.view({1, -1}).to(at::kFloat), at::zeros({1})},
                                      {{"transB", int64_t{1}}});
  const Explanation e =
      run("patternnet", single, x, {0, 0, 0}, Params().set("patterns", (dir / "p").string()));
  ASSERT_TRUE(at::isfinite(e.attribution).all().item<bool>());
  const double scale = e.stats.at("scale_log2");
  EXPECT_LT(scale, -100.0);
  const at::Tensor expected = single.logits(x).to(at::kDouble) * a * std::exp2(scale);
  EXPECT_LT(relative_error(e.attribution.to(at::kDouble), expected), 1e-5);
  // Within range nothing is rescaled.
  EXPECT_EQ(
      run("patternnet", single, x, {0, 0, 0}, Params().set("patterns", (dir / "fitted").string()))
          .stats.at("scale_log2"),
      0.0);
}

TEST(Patterns, SaveLoadRoundTrip) {
  const Synthetic problem(500);
  const Patterns patterns =
      fit_patterns(problem.model, {problem.x}, with(PatternEstimator::Linear));
  TempDir dir;
  patterns.save(dir / "model.onnx.patterns");
  const Patterns loaded = Patterns::load(dir / "model.onnx.patterns");
  EXPECT_EQ(loaded.estimator, PatternEstimator::Linear);
  EXPECT_EQ(loaded.images, 500);
  ASSERT_EQ(loaded.model.size(), 1u);
  EXPECT_EQ(loaded.model[0].node, "Gemm_node");
  EXPECT_TRUE(at::equal(loaded.by_node.at("Gemm_node"), patterns.by_node.at("Gemm_node")));
  EXPECT_NO_THROW(loaded.check(problem.model));
  // A float32 copy of the model is the same model.
  const Model single = one_node_model("Gemm", {2, Synthetic::kDim},
                                      {problem.w.view({1, -1}).to(at::kFloat), at::zeros({1})},
                                      {{"transB", int64_t{1}}});
  EXPECT_NO_THROW(loaded.check(single));
}

template <typename E>
void expect_error(const std::function<void()>& f, const std::string& mention) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << mention << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(Patterns, ErrorsAreTyped) {
  const Synthetic problem(300);
  TempDir dir;
  fit_patterns(problem.model, {problem.x}).save(dir / "p");
  const Params params = Params().set("patterns", (dir / "p").string());
  const at::Tensor x = problem.x.slice(0, 0, 2);
  // Other weights, another architecture.
  const Model other = one_node_model(
      "Gemm", {2, Synthetic::kDim}, {(problem.w * 1.01).view({1, -1}), at::zeros({1}, at::kDouble)},
      {{"transB", int64_t{1}}});
  expect_error<InputError>([&] { run("patternnet", other, x, {0, 0}, params); }, "another model");
  expect_error<InputError>(
      [&] {
        run("patternattribution", other, x, {0, 0}, params);
      },
      "weights of layer 'Gemm_node' differ");
  const Model conv = one_node_model("Conv", {1, 3, 4, 4}, {at::ones({2, 3, 3, 3}, at::kDouble)});
  expect_error<InputError>(
      [&] {
        run("patternnet", conv, at::ones({1, 3, 4, 4}), {0}, params);
      },
      "another model");
  // No patterns: where they were looked for, and how to make them.
  expect_error<FileError>(
      [&] {
        run("patternnet", problem.model, x, {0, 0},
            Params().set("patterns", (dir / "none").string()));
      },
      "whitebox patterns fit");
  expect_error<ArgumentError>([&] { run("patternnet", problem.model, x, {0, 0}); }, "patterns=");
  // No images.
  fs::create_directories(dir / "empty");
  std::ofstream(dir / "empty" / "notes.txt") << "not an image\n";
  expect_error<InputError>([&] { fit_patterns(problem.model, dir / "empty"); }, "no images");
  expect_error<FileError>([&] { fit_patterns(problem.model, dir / "missing"); }, "no image folder");
  expect_error<InputError>([&] { PatternFitter(problem.model).patterns(); }, "no images");
  expect_error<ArgumentError>([] { parse_estimator("quadratic"); }, "linear, twocomponent");
  // A model without a linear layer.
  const Model relu = one_node_model("Relu", {1, 4});
  expect_error<InputError>([&] { PatternFitter{relu}; }, "no linear layer");
}

// ---- against the PyTorch reference (tests/reference/patterns.py)
// ---------------------------------

TEST(PatternMethodsReference, MatchesPyTorch) {
  TempDir dir;
  const std::string command = std::string(WHITEBOX_PYTHON) + " " + WHITEBOX_SOURCE_DIR +
                              "/tests/reference/patterns.py " + dir.path().string() + " > " +
                              (dir / "log.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const Model model = Model::load(dir / "model.onnx").to(at::kDouble);
  const at::Tensor x_fit = read_npy(dir / "x_fit.npy"), x = read_npy(dir / "x.npy");
  const at::Tensor targets = read_npy(dir / "targets.npy");
  const std::vector<int64_t> classes(targets.data_ptr<int64_t>(),
                                     targets.data_ptr<int64_t>() + targets.numel());
  for (const auto estimator : {PatternEstimator::Linear, PatternEstimator::TwoComponent}) {
    const std::string name = to_string(estimator);
    // Two batches: the statistics are streamed.
    const Patterns patterns =
        fit_patterns(model, {x_fit.slice(0, 0, 5), x_fit.slice(0, 5)}, with(estimator));
    ASSERT_EQ(patterns.model.size(), 4u);
    for (size_t i = 0; i < patterns.model.size(); ++i) {
      const at::Tensor expected =
          read_npy(dir / ("pattern_" + name + "_" + std::to_string(i) + ".npy"));
      const double error = relative_error(patterns.by_node.at(patterns.model[i].node), expected);
      EXPECT_LT(error, 1e-8) << name << " layer " << i << " " << patterns.model[i].node;
      std::cout << name << " pattern " << patterns.model[i].node << ": relative error " << error
                << "\n";
      if (estimator == PatternEstimator::Linear) continue;
      const double negative = relative_error(
          patterns.negative.at(patterns.model[i].node),
          read_npy(dir / ("pattern_" + name + "_neg_" + std::to_string(i) + ".npy")));
      EXPECT_LT(negative, 1e-8) << name << " negative layer " << i;
      std::cout << name << " negative pattern " << patterns.model[i].node << ": relative error "
                << negative << "\n";
    }
    // The float32 model: per-batch sums in float32, accumulated in float64.
    const Model single = Model::load(dir / "model.onnx");
    const Patterns approximate = fit_patterns(single, {x_fit}, with(estimator));
    for (size_t i = 0; i < patterns.model.size(); ++i) {
      const std::string& node = patterns.model[i].node;
      const double error = relative_error(approximate.by_node.at(node), patterns.by_node.at(node));
      EXPECT_LT(error, 1e-3) << name << " float32 layer "
                             << node;  // measured <= 4e-5 (the dense layer)
      std::cout << name << " pattern " << node << " in float32: relative error " << error << "\n";
    }
    patterns.save(dir / name);
    const Params params = Params().set("patterns", (dir / name).string());
    for (const std::string method : {"patternnet", "patternattribution"}) {
      const Explanation e = run(method, model, x, classes, params);
      const double error =
          relative_error(e.attribution, read_npy(dir / (method + "_" + name + ".npy")));
      EXPECT_LT(error, 1e-8) << method << " " << name;
      std::cout << method << " " << name << ": relative error " << error << "\n";
    }
  }
}

// ---- the command line -------------------------------------------------------------------------

#ifdef WHITEBOX_CLI
struct CliResult {
  int code = -1;
  std::string out, err;
};

CliResult cli(const std::vector<std::string>& args) {
  ProcessResult r = run_process(WHITEBOX_CLI, args);
  return {r.code, std::move(r.out), std::move(r.err)};
}

void expect_one_line_error(const CliResult& r, const std::string& mention) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("whitebox: error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
}

// A copy of the small bundled model in a temporary folder, so that its patterns land there.
class CliPatterns : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"mobilenet_v1_0.25_128.onnx", "mobilenet_v1_0.25_128.json", "imagenet_labels_1000.txt"}) {
      fs::copy_file(bundled(name), dir_ / name);
    }
    fs::create_directories(dir_ / "images");
    for (const char* name : {"chelsea.png", "coffee.png", "parrot.jpg"}) {
      fs::copy_file(bundled(std::string("images/") + name), dir_ / "images" / name);
    }
  }
  std::string model() const { return (dir_ / "mobilenet_v1_0.25_128.onnx").string(); }
  TempDir dir_;
};

TEST_F(CliPatterns, FitThenExplain) {
  const CliResult fit = cli({"--threads", "2", "patterns", "fit", model(),
                             (dir_ / "images").string(), "--limit", "2", "--estimator", "linear"});
  ASSERT_EQ(fit.code, 0) << fit.err;
  EXPECT_NE(fit.out.find("fitted linear patterns of"), std::string::npos) << fit.out;
  EXPECT_NE(fit.out.find("on 2 images"), std::string::npos) << fit.out;
  ASSERT_TRUE(fs::exists(dir_ / "mobilenet_v1_0.25_128.onnx.patterns" / "patterns.json"));
  const Patterns patterns = Patterns::load(dir_ / "mobilenet_v1_0.25_128.onnx.patterns");
  EXPECT_EQ(patterns.estimator, PatternEstimator::Linear);
  EXPECT_EQ(patterns.images, 2);
  const Model loaded = Model::load(model());
  EXPECT_NO_THROW(patterns.check(loaded));
  EXPECT_NO_THROW(patterns.check(loaded.to(at::kDouble)));  // folded in float64: the same model
  for (const auto& [node, a] : patterns.by_node) {
    EXPECT_TRUE(at::isfinite(a).all().item<bool>()) << node;
  }

  const CliResult explain =
      cli({"--model", model(), "explain", (dir_ / "images" / "chelsea.png").string(), "--method",
           "patternnet,patternattribution", "--out", (dir_ / "out").string()});
  ASSERT_EQ(explain.code, 0) << explain.err;
  EXPECT_TRUE(fs::exists(dir_ / "out")) << explain.out;
}

TEST_F(CliPatterns, Errors) {
  // Explaining before fitting.
  expect_one_line_error(
      cli({"--model", model(), "explain", (dir_ / "images" / "chelsea.png").string(), "--method",
           "patternnet", "--out", (dir_ / "out").string()}),
      "whitebox patterns fit");
  // An empty folder, a missing one, a bad estimator.
  fs::create_directories(dir_ / "empty");
  expect_one_line_error(cli({"patterns", "fit", model(), (dir_ / "empty").string()}), "no images");
  expect_one_line_error(cli({"patterns", "fit", model(), (dir_ / "missing").string()}),
                        "no image folder");
  expect_one_line_error(
      cli({"patterns", "fit", model(), (dir_ / "images").string(), "--estimator", "cubic"}),
      "unknown pattern estimator");
  // Patterns of another model.
  ASSERT_EQ(cli({"patterns", "fit", model(), (dir_ / "images").string(), "--limit", "1", "--out",
                 (dir_ / "v1.patterns").string()})
                .code,
            0);
  expect_one_line_error(
      cli({"--model", bundled("mobilenet_v2_1.0_224.onnx").string(), "explain",
           (dir_ / "images" / "chelsea.png").string(), "--method", "patternattribution", "--param",
           "patterns=" + (dir_ / "v1.patterns").string(), "--out", (dir_ / "out").string()}),
      "another model");
}
#endif

}  // namespace
}  // namespace whitebox::test
