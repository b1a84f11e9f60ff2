// Every registered method gives the same result on the lean trace that explain() chooses for it
// (MethodInfo::trace_use, trace_reads) as on a full trace: what a method declares it reads is
// what it reads. On the bundled MobileNetV1 (real weights, ReLU6, depthwise convolutions).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"
#include "whitebox/patterns.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::test {
namespace {

// Hyper-parameters that keep the slow methods quick.
Params quick(const std::string& method, const std::filesystem::path& patterns) {
  if (method == "rise") return Params().set("masks", "16");
  if (method == "sobol") return Params().set("grid", "3").set("designs", "4");
  if (method == "occlusion") return Params().set("window", "32").set("stride", "32");
  if (method == "integrated-gradients" || method == "layer-integrated-gradients" ||
      method == "layer-conductance" || method == "neuron-integrated-gradients") {
    return Params().set("steps", "3");
  }
  if (method == "smoothgrad" || method == "smoothgrad-squared" || method == "vargrad") {
    return Params().set("samples", "2");
  }
  if (method == "scorecam") return Params().set("channels", "8");
  if (method == "iscam" || method == "sscam") return Params().set("channels", "8").set("samples", "2");
  if (method == "expected-gradients") return Params().set("samples", "3");
  if (method == "patternnet" || method == "patternattribution") {
    return Params().set("patterns", patterns.string());
  }
  return {};
}

TEST(MethodsLeanTrace, EveryMethodGivesTheMapOfAFullTrace) {
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const at::Tensor x =
      preprocess(read_image(bundled("images/chelsea.png")), model.preprocessing).tensor;
  const std::filesystem::path patterns =
      std::filesystem::temp_directory_path() / ("whitebox_lean_" + std::to_string(::getpid()));
  fit_patterns(model, {x, x.flip(3)}).save(patterns);
  const std::vector<int64_t> classes = {Target::top().resolve(model, model.logits(x))[0]};
  int lean = 0;
  for (const MethodInfo& method : methods()) {
    SCOPED_TRACE(method.name);
    const Params params = quick(method.name, patterns);
    const TraceOptions options = explainers::trace_options_for({&method}, model, params);
    lean += options.lean;
    const Explanation chosen = explain(model, x, {method.name}, classes, params).at(method.name);
    // The method itself, on a full trace, with the defaults explain() gives it.
    const Params own = explainers::with_declared_defaults(method, params);
    const Explanation full = method.run(Context(model, x, classes, own, TraceOptions{}));
    EXPECT_LT(relative_error(chosen.map, full.map), 1e-5);
    EXPECT_LT(relative_error(chosen.attribution, full.attribution), 1e-5);
  }
  std::filesystem::remove_all(patterns);
  EXPECT_GT(lean, 20) << "methods served by a lean trace";
}

// TraceOptions::until: the values a layer is computed from, as the full pass computes them, and
// nothing after it.
TEST(MethodsLeanTrace, UntilComputesOnlyWhatTheLayerNeeds) {
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const at::Tensor x = preprocess(read_image(bundled("images/chelsea.png")), model.preprocessing).tensor;
  const ValueId layer = model.graph().resolve("y4_conv_2d");
  TraceOptions options;
  options.until = std::vector<ValueId>{layer};
  const Trace full = model.forward(x), part = model.forward(x, options);
  EXPECT_TRUE(at::equal(part[layer], full[layer]));
  EXPECT_FALSE(part[model.output()].defined());
  for (ValueId v = 0; v < static_cast<ValueId>(model.graph().values.size()); ++v) {
    if (part[v].defined()) EXPECT_TRUE(at::equal(part[v], full[v])) << model.graph().values[v].name;
  }
}

}  // namespace
}  // namespace whitebox::test
