// LRP rules and composites: conservation, the identities that hold by construction (LRP-0 =
// gradient x input on ReLU networks, alpha1beta0 = z+), and the argument errors. In float64 on
// the torchvision fixtures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "methods/lrp.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "support.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

// The same model with every bias set to zero: Conv/Gemm biases, BatchNormalization shifts
// (B and mean), constants added or subtracted.
Model without_biases(const Model& model) {
  Graph graph = model.graph();
  auto zero = [&](ValueId v) {
    if (v != kNoValue && graph.values[v].is_constant()) {
      graph.values[v].constant = at::zeros_like(graph.values[v].constant);
    }
  };
  for (const Node& node : graph.nodes) {
    const std::string& op = node.op_type;
    if ((op == "Conv" || op == "Gemm") && node.inputs.size() > 2) zero(node.inputs[2]);
    if (op == "BatchNormalization" && node.inputs.size() > 3) {
      zero(node.inputs[2]);
      zero(node.inputs[3]);
    }
    if (op == "Add" || op == "Sub") {
      for (ValueId v : node.inputs) zero(v);
    }
  }
  Model copy = Model::from_graph(std::move(graph));
  copy.preprocessing = model.preprocessing;
  return copy;
}

class MethodsLrp : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(has_fixture(GetParam()))
        << "missing fixture " << fixture(GetParam()) << ": run the 'fixtures' test first";
    std::ifstream(fixture(GetParam()) / "meta.json") >> meta_;
    model_ = std::make_unique<Model>(Model::load(fixture(GetParam()) / "model.onnx").to(at::kDouble));
    // zB assumes pixels inside the preprocessing's box; the fixture's x (randn) is clamped to
    // it, as tests/reference/lrp.py does.
    const at::Tensor x = read_npy(fixture(GetParam()) / "x.npy").to(at::kDouble);
    std::vector<double> lo, hi;
    for (int c = 0; c < 3; ++c) {
      lo.push_back(model_->preprocessing.lowest(c));
      hi.push_back(model_->preprocessing.highest(c));
    }
    x_ = at::min(at::max(x, at::tensor(lo, at::kDouble).view({1, 3, 1, 1})),
                 at::tensor(hi, at::kDouble).view({1, 3, 1, 1}));
  }
  // ReLU networks whose BatchNorms are all folded: every layer input is non-negative after the
  // first, so z+ / alpha-beta see z = 0 only where no relevance arrives. On MobileNetV2 (linear
  // bottlenecks: signed inputs) and DenseNet (BatchNorm shifts before the ReLUs: units active by
  // their bias alone) relevance also reaches units with z = 0 and is dropped there.
  bool exact() const { return GetParam() == "resnet18" || GetParam() == "vgg16_bn"; }
  std::vector<int64_t> classes() const { return {meta_["target"].get<int64_t>()}; }
  double logit(const Model& model) const {
    return model.logits(x_)[0][classes()[0]].item<double>();
  }

  nlohmann::json meta_;
  std::unique_ptr<Model> model_;
  at::Tensor x_;
};

// With biases ignored every layer passes on all the relevance it receives (up to z = 0), so
// sum R_in equals the target logit; the statistics add up. Checked on the rules whose z has no
// cancellation (z+, alpha-beta, zB, flat, w-square): LRP-0 / epsilon with biases ignored also
// conserve in exact arithmetic, but their z nearly cancels at many units of a biased network.
TEST_P(MethodsLrp, ConservesWithBiasesIgnored) {
  const double y = logit(*model_);
  for (const auto& [composite, rule] : std::vector<std::pair<std::string, std::string>>{
           {"deep-taylor", ""},
           {"epsilon-plus", "dense=zplus;first=flat"},
           {"epsilon-plus", "conv=alphabeta:2:1;dense=alpha1beta0;first=wsquare"},
           {"epsilon-plus", "conv=alphabeta:3:2;dense=zplus;first=zb"}}) {
    Params params = Params().set("composite", composite);
    if (!rule.empty()) params.set("rule", rule);
    const Explanation e = run("lrp", *model_, x_, classes(), params);
    const double total = e.attribution.sum().item<double>();
    const bool alpha_beta = rule.find("alphabeta") != std::string::npos;
    if (exact()) {
      EXPECT_LT(std::abs(total - y) / std::abs(y), 1e-10) << composite << " " << rule;
    } else if (!alpha_beta) {
      // z+ only drops relevance (all of it non-negative below the first layer), never makes it.
      EXPECT_LT(total / y, 1.0 + 1e-10) << composite << " " << rule;
      EXPECT_GT(total / y, 0.5) << composite << " " << rule;
    }
    EXPECT_NEAR(e.stats.at("absorbed") + total, y, 1e-12 * std::abs(y)) << rule;
    EXPECT_NEAR(e.stats.at("conservation"), total / y, 1e-14) << rule;
    EXPECT_EQ(e.attribution.sizes(), x_.sizes());
    EXPECT_TRUE(e.is_signed);
    EXPECT_LT(relative_error(e.map, e.attribution.sum(1)), 1e-15);
  }
}

// With biases absorbed, a model whose biases are all zero conserves too (LRP-0 is then
// gradient x input of a positively homogeneous network).
TEST_P(MethodsLrp, ConservesWithZeroBiasesAbsorbed) {
  const Model zeroed = without_biases(*model_);
  const double y = logit(zeroed);
  for (const auto& [method, rule] : std::vector<std::pair<std::string, std::string>>{
           {"lrp-0", ""}, {"lrp", "conv=zplus;dense=zplus;first=zb"},
           {"lrp", "conv=alpha2beta1;dense=0;first=gamma:0.5"}}) {
    Params params = Params().set("bias", "absorb");
    if (!rule.empty()) params.set("rule", rule);
    if (!rule.empty() && !exact()) continue;  // z+ / alpha-beta: see exact()
    const Explanation e = run(method, zeroed, x_, classes(), params);
    const double total = e.attribution.sum().item<double>();
    EXPECT_LT(std::abs(total - y) / std::abs(y), 1e-10) << method << " " << rule;
  }
}

TEST_P(MethodsLrp, PresetsConserveWithBiasesIgnored) {
  const double y = logit(*model_);
  for (const std::string name : {"lrp", "lrp-epsilon-plus", "lrp-epsilon-alpha2-beta1",
                                 "lrp-epsilon-alpha2-beta1-flat", "lrp-epsilon-gamma-box",
                                 "deep-taylor"}) {
    const Explanation e = run(name, *model_, x_, classes());
    ASSERT_TRUE(at::isfinite(e.attribution).all().item<bool>()) << name;
    if (!exact()) continue;
    // Epsilon on the dense layers absorbs about eps / |z| of their relevance.
    EXPECT_LT(std::abs(e.stats.at("conservation") - 1.0), 1e-4)
        << name << " sum " << e.attribution.sum().item<double>() << " logit " << y;
  }
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsLrp,
                         ::testing::Values("resnet18", "vgg16_bn", "densenet121", "mobilenet_v2"),
                         [](const auto& info) { return info.param; });

// ---- identities on ReLU networks ----------------------------------------------------------------

class MethodsLrpRelu : public MethodsLrp {};

// LRP-0 with biases absorbed is gradient x input on a ReLU network (max-pool winners, residual
// sums, average pooling included).
TEST_P(MethodsLrpRelu, Lrp0EqualsGradientTimesInput) {
  const Explanation e = run("lrp-0", *model_, x_, classes(), Params().set("bias", "absorb"));
  const Trace trace = model_->forward(x_);
  const at::Tensor gx = model_->gradient(trace, classes())[0] * x_;
  EXPECT_LT(relative_error(e.attribution, gx), 1e-10);
}

// Proportional max pooling conserves as well (bias ignored), and differs from the winner rule.
TEST_P(MethodsLrpRelu, ProportionalMaxPoolConserves) {
  const Params params = Params().set("rule", "dense=zplus;first=flat").set("composite", "epsilon-plus");
  const Explanation e = run("lrp", *model_, x_, classes(), Params(params).set("maxpool", "proportional"));
  EXPECT_LT(std::abs(e.stats.at("conservation") - 1.0), 1e-10);
  const Explanation w = run("lrp", *model_, x_, classes(), params);
  EXPECT_GT(relative_error(e.attribution, w.attribution), 1e-6) << "the max-pool rule has no effect";
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsLrpRelu, ::testing::Values("resnet18", "vgg16_bn"),
                         [](const auto& info) { return info.param; });

// Every rule and preset, whitebox's and Zennit's conventions, against the layer-by-layer PyTorch
// reference (tests/reference/lrp.py), which writes the generalized gamma and z+ rules term by
// term as Zennit does. MobileNetV2's linear bottlenecks feed signed values into the next
// convolution, and ResNet's and MobileNetV2's residual branches are negative at units that
// receive relevance: the reference counts both, so that the comparison covers them.
class MethodsLrpReference : public MethodsLrp {};

TEST_P(MethodsLrpReference, MatchPyTorchReferences) {
  const auto dir = fixture(GetParam());
  ASSERT_TRUE(std::filesystem::exists(dir / "ref_lrp_done"))
      << "missing references in " << dir << ": run the 'lrp_references' test first";
  nlohmann::json refs;
  std::ifstream(dir / "ref_lrp.json") >> refs;
  ASSERT_GE(refs["references"].size(), 20u);
  if (GetParam() != "vgg16_bn") EXPECT_GT(refs["residual_sums_with_negative_branches"].get<int>(), 0);
  if (GetParam() == "mobilenet_v2") EXPECT_GT(refs["layers_with_signed_inputs"].get<int>(), 10);
  for (const auto& [name, ref] : refs["references"].items()) {
    Params params;
    for (const auto& [key, value] : ref["params"].items()) params.set(key, value.get<std::string>());
    const Explanation e = run(ref["method"].get<std::string>(), *model_, x_, classes(), params);
    const double error =
        relative_error(e.attribution, read_npy(dir / ref["attribution"].get<std::string>()));
    EXPECT_LT(error, 1e-8) << name;  // float64 on both sides
    std::cout << GetParam() << " " << name << ": relative error " << error << ", sum "
              << e.attribution.sum().item<double>() << " (reference " << ref["sum"] << ")\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsLrpReference,
                         ::testing::Values("resnet18", "vgg16_bn", "mobilenet_v2"),
                         [](const auto& info) { return info.param; });

// ---- arguments -------------------------------------------------------------------------------

TEST(MethodsLrpArguments, BadRulesAndComposites) {
  const Model model = conv_dense_model({1, 3, 4, 4}, true);
  const at::Tensor input = at::randn({1, 3, 4, 4}, at::kDouble);
  const std::vector<int64_t> cls = {1};

  for (const std::string bad : {"conv", "conv=", "=zplus", "conv=gamma:x", "conv=gamma:1:2",
                                "conv=alphabeta:2:2", "conv=unknown", "bogus=zplus",
                                "conv=epsilon:-1", "conv=zplus;;dense=nope"}) {
    EXPECT_THROW(run("lrp", model, input, cls, Params().set("rule", bad)), ArgumentError) << bad;
  }
  EXPECT_THROW(run("lrp", model, input, cls, Params().set("composite", "nope")), LookupError);
  EXPECT_THROW(run("lrp", model, input, cls, Params().set("bias", "maybe")), ArgumentError);
  EXPECT_THROW(run("lrp", model, input, cls, Params().set("maxpool", "first")), ArgumentError);
  EXPECT_THROW(find_method("lrp-nope"), LookupError);
  // zb on a layer that does not read the input.
  EXPECT_THROW(run("lrp", model, input, cls, Params().set("rule", "fc0=zb")), ArgumentError);
  // Rules by node name and position are accepted; an op without a rule is named.
  EXPECT_NO_THROW(run("lrp", model, input, cls, Params().set("rule", "conv0=wsquare;last=epsilon:0.1")));
  for (const std::string composite : {"epsilon-plus", "epsilon-plus-flat", "epsilon-gamma-box",
                                      "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat", "lrp-0",
                                      "lrp-epsilon", "deep-taylor"}) {
    EXPECT_NO_THROW(run("lrp", model, input, cls, Params().set("composite", composite))) << composite;
  }
  // A node without an LRP rule is named in the error.
  try {
    run("lrp", conv_dense_model({1, 3, 4, 4}, true, true), input, cls);
    ADD_FAILURE() << "no error for a Softmax node";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("'prob' (Softmax)"), std::string::npos) << e.what();
  }
}

// A gate (sigmoid output, or a broadcast per-channel factor) is held constant: all the relevance
// of x * gate goes to x; the gate's own input receives none through it.
TEST(MethodsLrpGates, RelevanceGoesToTheGatedInput) {
  for (const std::string gate_op : {"Sigmoid", "ReduceMean"}) {
    Graph graph;
    graph.values.push_back(Value{"x", {}, {1, 3, 4, 4}, -1});
    graph.values.push_back(Value{"g", {}, {}, -1});
    graph.values.push_back(Value{"y", {}, {}, -1});
    std::map<std::string, Attribute> attributes;
    if (gate_op == "ReduceMean") attributes["axes"] = std::vector<int64_t>{2, 3};
    graph.nodes.push_back(Node{"gate", gate_op, {0}, {1}, attributes});
    graph.nodes.push_back(Node{"mul", "Mul", {0, 1}, {2}, {}});
    graph.inputs = {0};
    graph.outputs = {2};
    graph.opset = 13;
    graph.index_producers();
    const Model model = Model::from_graph(std::move(graph));
    const at::Tensor x = at::randn({1, 3, 4, 4}, at::kDouble);
    const Trace trace = model.forward(x);
    const at::Tensor r = at::randn({1, 3, 4, 4}, at::kDouble);
    const Rules rules = explainers::lrp::composite_rules(model, {}, {});
    const at::Tensor r_in = model.sweep(trace, {{model.output(), r}}, {}, rules)[0];
    EXPECT_LT(relative_error(r_in, r), 1e-15) << gate_op;
  }
}

// ---- rules as data ----------------------------------------------------------------------------

// The relevance at the input of conv_dense_model (Conv, optional ReLU, Flatten, Gemm: without the
// ReLU both layers see signed inputs) with one rule on the Conv and one on the Gemm, biases
// absorbed.
at::Tensor relevance_under(const explainers::lrp::LinearRule& conv,
                           const explainers::lrp::LinearRule& dense, bool relu) {
  const Model model = conv_dense_model({1, 3, 6, 6}, relu);
  at::manual_seed(7);
  const at::Tensor x = at::randn({1, 3, 6, 6}, at::kDouble);
  explainers::lrp::Mapping mapping;
  mapping.kinds = {{"conv", conv}, {"dense", dense}};
  explainers::lrp::Options options;
  options.bias = explainers::lrp::Bias::Absorb;
  Trace trace = model.forward(x);
  const at::Tensor r = trace[model.output()].abs();
  return model.sweep(trace, {{model.output(), r}}, {model.input()},
                     explainers::lrp::composite_rules(model, mapping, options))[0];
}

// A rule is its parts. The same rule written without the evaluator's shortcuts (the gamma rule's
// second denominator read off the first's products, the layer's output standing for W x + b,
// transposed passes shared between terms) gives the same relevance; gamma 0 is LRP-0; shares
// add up; a share's coefficient and its denominator scale as written.
TEST(MethodsLrpRuleParts, RulesWrittenTermByTermGiveTheSameRelevance) {
  namespace lrp = explainers::lrp;
  for (const bool relu : {true, false}) {
    const auto both = [&](const lrp::LinearRule& rule) {
      return relevance_under(rule, rule, relu);
    };
    lrp::LinearRule plain = lrp::gamma_rule(0.3);
    for (lrp::Share& share : plain.shares) share.denominator.clear();
    const at::Tensor gamma = both(lrp::gamma_rule(0.3));
    EXPECT_GT(gamma.abs().sum().item<double>(), 0.0);
    EXPECT_LT(relative_error(both(plain), gamma), 1e-12) << relu;
    const at::Tensor zero = both(lrp::zero_rule());
    EXPECT_LT(relative_error(both(lrp::gamma_rule(0.0)), zero), 1e-12) << relu;

    // LRP-0 on the Conv is linear in the relevance it receives: alpha 2 beta 1 on the Gemm gives
    // the sum of its two shares taken one at a time.
    const lrp::LinearRule ab = lrp::alpha_beta_rule(2.0, 1.0);
    lrp::LinearRule positive = ab, negative = ab;
    positive.shares.pop_back();
    negative.shares.erase(negative.shares.begin());
    const auto last = [&](const lrp::LinearRule& rule) {
      return relevance_under(lrp::zero_rule(), rule, relu);
    };
    EXPECT_LT(relative_error(last(ab), last(positive) + last(negative)), 1e-12) << relu;
    EXPECT_GT(relative_error(last(positive), last(negative)), 0.1) << relu;

    // R / (z / 2), passed on twice: four times LRP-0 at each of the two layers.
    lrp::LinearRule quadruple = lrp::zero_rule();
    quadruple.shares[0].coefficient = 2.0;
    quadruple.shares[0].denominator = {{0.5, lrp::InputPart::X, lrp::WeightPart::Full}};
    quadruple.shares[0].bias = {{0.5, lrp::BiasPart::Full}};
    EXPECT_LT(relative_error(both(quadruple), 16.0 * zero), 1e-12) << relu;
  }
}

// ---- the kernels' linear forms ---------------------------------------------------------------

// apply(x, W, b) is the node's forward and apply_transpose(s, x, W) its input VJP, for every
// geometry; for MaxPool, apply is the sum over each window.
TEST(MethodsLrpLinearForms, MatchForwardAndVjp) {
  const auto d = at::kDouble;
  struct Case {
    std::string op;
    std::vector<int64_t> shape;
    std::vector<at::Tensor> constants;
    std::map<std::string, Attribute> attributes;
  };
  const std::vector<Case> cases = {
      {"Conv", {2, 4, 9, 8}, {at::randn({6, 2, 3, 2}, d), at::randn({6}, d)},
       {{"group", int64_t{2}}, {"strides", std::vector<int64_t>{2, 1}},
        {"pads", std::vector<int64_t>{1, 0, 2, 1}}, {"dilations", std::vector<int64_t>{1, 2}}}},
      {"Conv", {1, 3, 7, 7}, {at::randn({5, 3, 3, 3}, d)},
       {{"auto_pad", std::string("SAME_UPPER")}, {"strides", std::vector<int64_t>{2, 2}}}},
      {"Gemm", {3, 5}, {at::randn({4, 5}, d), at::randn({4}, d)},
       {{"transB", int64_t{1}}, {"alpha", 0.5}, {"beta", 2.0}}},
      {"Gemm", {3, 5}, {at::randn({5, 4}, d)}, {}},
      {"MatMul", {2, 3, 5}, {at::randn({5, 4}, d)}, {}},
      {"AveragePool", {1, 2, 7, 6}, {},
       {{"kernel_shape", std::vector<int64_t>{3, 2}}, {"strides", std::vector<int64_t>{2, 2}},
        {"pads", std::vector<int64_t>{1, 0, 0, 1}}}},
      {"GlobalAveragePool", {2, 3, 4, 5}, {}, {}},
  };
  for (const auto& c : cases) {
    const Model model = one_node_model(c.op, c.shape, c.constants, c.attributes);
    const ops::LinearForm* form = model.program().kernel(0).linear();
    ASSERT_NE(form, nullptr) << c.op;
    const at::Tensor x = at::randn(c.shape, d);
    const Trace trace = model.forward(x);
    const at::Tensor y = trace[model.output()];
    const at::Tensor w = form->weight_input() >= 0 ? c.constants.at(form->weight_input() - 1) : at::Tensor();
    const at::Tensor b = form->bias_input() >= 0 ? c.constants.at(form->bias_input() - 1) : at::Tensor();
    EXPECT_LT(relative_error(form->apply(x, w, b), y), 1e-14) << c.op;
    const at::Tensor s = at::randn_like(y);
    EXPECT_LT(relative_error(form->apply_transpose(s, x, w), sweep_gradient(model, x, s)), 1e-14) << c.op;
  }
  // MaxPool: window sums over the same windows (asymmetric pads, ceil mode), and their transpose.
  const Model pool = one_node_model("MaxPool", {1, 2, 7, 7},
                                    {}, {{"kernel_shape", std::vector<int64_t>{3, 3}},
                                         {"strides", std::vector<int64_t>{2, 2}},
                                         {"pads", std::vector<int64_t>{1, 1, 0, 0}},
                                         {"ceil_mode", int64_t{1}}});
  const ops::LinearForm* form = pool.program().kernel(0).linear();
  ASSERT_NE(form, nullptr);
  const at::Tensor x = at::rand({1, 2, 7, 7}, d) + 1.0;
  const at::Tensor sums = form->apply(x, {}, {});
  const at::Tensor y = pool.logits(x);
  ASSERT_EQ(sums.sizes(), y.sizes());
  // Each window sum is at least its maximum and at most 9 times it (positive inputs).
  EXPECT_TRUE((sums >= y).all().item<bool>());
  EXPECT_TRUE((sums <= 9 * y + 1e-12).all().item<bool>());
  // The transpose is the adjoint: <apply(x), s> = <x, apply_transpose(s)>.
  const at::Tensor s = at::randn_like(y);
  EXPECT_NEAR((sums * s).sum().item<double>(), (x * form->apply_transpose(s, x, {})).sum().item<double>(),
              1e-12);
}

// Every rule-bearing op of the other fixture families: LRP runs (or names the node it cannot
// handle) and gives a finite attribution.
TEST(MethodsLrpCoverage, OtherFamilies) {
  for (const std::string name : {"alexnet", "squeezenet1_1", "googlenet", "inception_v3",
                                 "mobilenet_v3_small", "shufflenet_v2_x1_0", "mnasnet0_5",
                                 "efficientnet_b0", "regnet_y_400mf", "resnext50_32x4d",
                                 "classics", "convnext_tiny"}) {
    if (!has_fixture(name)) {
      ADD_FAILURE() << "missing fixture " << name;
      continue;
    }
    const Model model = Model::load(fixture(name) / "model.onnx");
    const at::Tensor x = read_npy(fixture(name) / "x.npy");
    std::string outcome;
    try {
      const Explanation e = run("lrp", model, x, {0}, Params().set("composite", "epsilon-plus"));
      EXPECT_TRUE(at::isfinite(e.attribution).all().item<bool>()) << name;
      outcome = "conservation " + c10::str(e.stats.at("conservation"));
    } catch (const ArgumentError& error) {
      outcome = error.what();
      EXPECT_NE(outcome.find("LRP: no rule for node"), std::string::npos) << name << ": " << outcome;
    }
    std::cout << name << ": " << outcome << "\n";
  }
}

}  // namespace
}  // namespace whitebox::test
