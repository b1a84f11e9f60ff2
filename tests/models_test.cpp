// Every torchvision CNN family, exported by tests/fixtures/make_fixtures.py with PyTorch: logits,
// an intermediate feature map and gradients must match PyTorch's autograd.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

class Models : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(has_fixture(GetParam()))
        << "missing fixture " << fixture(GetParam()) << ": run the 'fixtures' test first";
    std::ifstream(fixture(GetParam()) / "meta.json") >> meta_;
  }
  at::Tensor npy(const std::string& name) const { return read_npy(fixture(GetParam()) / (name + ".npy")); }
  int64_t target() const { return meta_["target"].get<int64_t>(); }

  nlohmann::json meta_;
};

TEST_P(Models, Float32MatchesPyTorch) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx");
  const at::Tensor x = npy("x");
  const Trace trace = model.forward(x);
  const ValueId features = model.graph().resolve("features");
  EXPECT_LT(relative_error(trace[model.output()], npy("logits")), 1e-4) << "logits";
  EXPECT_LT(relative_error(trace[features], npy("features")), 1e-4) << "features";

  const auto grads = model.gradient(trace, {target()}, {model.input(), features});
  EXPECT_LT(relative_error(grads[1], npy("grad_features")), 1e-4) << "feature gradient";
  // A ReLU / max-pool network's input gradient is piecewise constant in x, and float32 roundoff
  // moves some pre-activations across a kink: which ones depends on the order of the sums
  // (PyTorch's or whitebox's, on one thread or two), and each such gradient is ~1e-2 from the
  // float64 one on about half the fixtures, not the same half. So the float32 gradient is
  // compared with the float64 gradient through the float32 pass's own decisions (its values
  // widened: the ReLU signs, the max-pool winners): the piece of the function it landed on.
  auto widen = [](const at::Tensor& v) {
    return v.defined() && v.is_floating_point() ? v.to(at::kDouble) : v;
  };
  std::vector<at::Tensor> widened;
  for (const at::Tensor& v : trace.values()) widened.push_back(widen(v));
  std::vector<Tensors> saved;
  for (size_t n = 0; n < model.graph().nodes.size(); ++n) {
    saved.emplace_back();
    for (const at::Tensor& v : trace.saved(static_cast<int>(n))) saved.back().push_back(widen(v));
  }
  const Model model64 = model.to(at::kDouble);
  const auto exact = model64.gradient(Trace(widened, saved), {target()}, {model.input()});
  EXPECT_LT(relative_error(grads[0], exact[0]), 1e-4) << "input gradient";
}

TEST_P(Models, LeanTraceGivesTheSameGradientsWithFewerValues) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx");
  const ValueId features = model.graph().resolve("features");
  const Trace full = model.forward(npy("x"));
  const Trace lean = model.forward(npy("x"), {/*lean=*/true, /*keep=*/{features}});
  auto count = [](const Trace& t) {
    return std::count_if(t.values().begin(), t.values().end(), [](const at::Tensor& v) { return v.defined(); });
  };
  EXPECT_LE(count(lean), count(full));
  EXPECT_TRUE(lean[features].equal(full[features]));
  const auto expected = model.gradient(full, {target()}, {model.input(), features});
  const auto actual = model.gradient(lean, {target()}, {model.input(), features});
  EXPECT_TRUE(actual[0].equal(expected[0]));
  EXPECT_TRUE(actual[1].equal(expected[1]));
}

// The last [N, C, H, W] value with H * W > 1, in node order.
ValueId last_spatial_map(const Model& model, const Trace& full) {
  ValueId last = kNoValue;
  for (const Node& node : model.graph().nodes) {
    for (ValueId v : node.outputs) {
      if (v != kNoValue && full[v].defined() && full[v].dim() == 4 && full[v].size(2) * full[v].size(3) > 1) {
        last = v;
      }
    }
  }
  return last;
}

TEST_P(Models, TracesForSweepsThatStopAtALayerKeepOnlyWhatFollowsIt) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx");
  const ValueId features = model.graph().resolve("features");
  const Trace full = model.forward(npy("x"));
  const ValueId map = last_spatial_map(model, full);
  ASSERT_NE(map, kNoValue);
  auto computed = [&](const Trace& t) {
    int64_t n = 0;
    for (size_t v = 0; v < t.values().size(); ++v) {
      n += t.values()[v].defined() && !model.graph().values[v].is_constant();
    }
    return n;
  };
  TraceOptions to_map;
  to_map.lean = true;
  to_map.sweep_stops = std::vector<ValueId>();
  to_map.keep_last_map = true;
  const Trace last = model.forward(npy("x"), to_map);
  TraceOptions to_features;
  to_features.lean = true;
  to_features.keep = {features};
  to_features.sweep_stops = std::vector<ValueId>{features};
  const Trace named = model.forward(npy("x"), to_features);
  // The map, the head after it and the input: a fraction of the full trace.
  EXPECT_LT(2 * computed(last), computed(full));
  EXPECT_LT(computed(named), computed(full));
  EXPECT_TRUE(last[map].equal(full[map]));
  EXPECT_TRUE(last[model.output()].equal(full[model.output()]));
  EXPECT_TRUE(model.gradient(last, {target()}, {map})[0].equal(
      model.gradient(full, {target()}, {map})[0]));
  EXPECT_TRUE(model.gradient(named, {target()}, {features})[0].equal(
      model.gradient(full, {target()}, {features})[0]));
}

// A sweep given a trace (an rvalue) frees its values on the way, all but the targets, and
// computes what a sweep over a kept trace computes.
TEST_P(Models, OneShotSweepsFreeTheTraceOnTheWay) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx");
  const Trace kept = model.forward(npy("x"));
  Trace given = model.forward(npy("x"));
  const at::Tensor expected = model.gradient(kept, {target()})[0];
  EXPECT_TRUE(model.gradient(std::move(given), {target()})[0].equal(expected));
  for (size_t v = 0; v < given.values().size(); ++v) {
    const bool freed = !given.values()[v].defined() || model.graph().values[v].is_constant() ||
                       static_cast<ValueId>(v) == model.input();
    EXPECT_TRUE(freed) << model.graph().values[v].name;
  }
  for (size_t n = 0; n < model.graph().nodes.size(); ++n) EXPECT_TRUE(given.saved(n).empty());
}

TEST_P(Models, Float64MatchesPyTorch) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx").to(at::kDouble);
  const Trace trace = model.forward(npy("x").to(at::kDouble));
  EXPECT_EQ(trace[model.output()].scalar_type(), at::kDouble);
  EXPECT_LT(relative_error(trace[model.output()], npy("logits64")), 1e-10) << "logits";
  EXPECT_LT(relative_error(model.gradient(trace, {target()})[0], npy("grad_x64")), 1e-10)
      << "input gradient";
}

TEST_P(Models, BatchRowsEqualSingleImages) {
  const Model model = Model::load(fixture(GetParam()) / "model.onnx");
  const at::Tensor x = npy("x");
  const at::Tensor batch = at::cat({x, x.flip(3), 0.5 * x});
  const at::Tensor logits = model.logits(batch);
  ASSERT_EQ(logits.size(0), 3);
  EXPECT_LT(relative_error(logits[0], npy("logits")[0]), 1e-4);
  EXPECT_LT(relative_error(logits[2], model.logits(0.5 * x)[0]), 1e-4);
}

// Derived weights are made once per model, only from constants, and kept only within the
// budget of the model's own weight size.
TEST(ModelDerived, KeepsTensorsMadeFromConstantsWithinTheWeightsSize) {
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  ValueId weight = kNoValue;
  int64_t weight_bytes = 0;
  for (size_t v = 0; v < model.graph().values.size(); ++v) {
    const Value& value = model.graph().values[v];
    if (value.is_constant() && value.constant.is_floating_point()) {
      weight_bytes += value.constant.nbytes();
      if (weight == kNoValue && value.constant.dim() == 4) weight = static_cast<ValueId>(v);
    }
  }
  ASSERT_NE(weight, kNoValue);
  int made = 0;
  const auto positive = [&] {
    ++made;
    return model.graph().values[weight].constant.clamp_min(0);
  };
  const at::Tensor first = model.derived(weight, "positive", positive);
  const at::Tensor again = model.derived(weight, "positive", positive);
  EXPECT_EQ(made, 1);
  EXPECT_TRUE(again.is_same(first));
  EXPECT_TRUE(first.equal(model.graph().values[weight].constant.clamp_min(0)));
  // Another kind is another tensor; a copy of the model shares the kept ones.
  model.derived(weight, "negative", positive);
  EXPECT_EQ(made, 2);
  const Model copy = model;
  EXPECT_TRUE(copy.derived(weight, "positive", positive).is_same(first));
  // A computed value (the input) is never kept, nor what exceeds the budget.
  model.derived(model.input(), "positive", positive);
  model.derived(model.input(), "positive", positive);
  EXPECT_EQ(made, 4);
  const auto huge = [&] {
    ++made;
    return at::empty({weight_bytes / 4 + 1}, at::kFloat);
  };
  model.derived(weight, "huge", huge);
  model.derived(weight, "huge", huge);
  EXPECT_EQ(made, 6);
}

const std::vector<std::string> kCases = {
    "alexnet",         "vgg16_bn",          "resnet18",
    "resnext50_32x4d", "wide_resnet50_2",   "densenet121",
    "squeezenet1_1",   "googlenet",         "inception_v3",
    "mobilenet_v2",    "mobilenet_v3_small", "shufflenet_v2_x1_0",
    "mnasnet0_5",      "efficientnet_b0",   "regnet_y_400mf",
    "convnext_tiny",   "resnet18_opset9",   "mobilenet_v3_small_opset14",
    "convnext_tiny_opset17", "squeezenet1_1_opset11", "densenet121_opset10",
    "classics"};

INSTANTIATE_TEST_SUITE_P(Torchvision, Models, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace whitebox::test
