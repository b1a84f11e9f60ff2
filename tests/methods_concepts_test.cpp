// Concept relevance (whitebox/concepts.hpp): the conditional maps against a masked PyTorch
// reference (tests/reference/lrp.py), their conservation over all channels of a layer for every
// method that has concepts, the attribution graph and the errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::test {
namespace {

// The bundled MobileNetV2 in float64 and the hot dog photo. y2_conv_2d (16 channels) and
// y5_conv_2d (24) are layers that every path from the output to the input crosses.
struct Bundled {
  Model model = Model::load(bundled("mobilenet_v2_1.0_224.onnx")).to(at::kDouble);
  at::Tensor x =
      preprocess(read_image(bundled("images/hot_dog.jpg")), model.preprocessing).tensor.to(at::kDouble);
};

const Bundled& bundled_case() {
  static const Bundled instance;
  return instance;
}

// At a layer that every path crosses, the conditional maps of all its channels add up to the
// method's own map, for every method that has concepts: the rules are linear in the relevance
// they pass on. The channels come most relevant first.
void expect_channels_add_up(const Model& model, const at::Tensor& x, const std::string& layer,
                            int64_t channels,
                            const std::vector<std::string>& methods = concept_methods()) {
  ASSERT_GE(concept_methods().size(), 10u);
  ConceptOptions options;
  options.top = 0;
  for (const std::string& method : methods) {
    options.method = method;
    const Concepts found = concepts(model, x, layer, Target::top(), options);
    ASSERT_EQ(static_cast<int64_t>(found.channels.size()), channels) << method;
    ASSERT_EQ(found.maps.size(0), channels) << method;
    const Explanation own = explain(model, x, {method}, Target::top()).at(method);
    EXPECT_LT(relative_error(found.attributions.sum(0, true), own.attribution), 1e-10) << method;
    for (size_t i = 1; i < found.channels.size(); ++i) {
      EXPECT_GE(found.relevance[found.channels[i - 1]].item<double>(),
                found.relevance[found.channels[i]].item<double>())
          << method;
    }
  }
}

TEST(MethodsConceptsBundled, AllChannelsAddUpToTheMethodsMap) {
  expect_channels_add_up(bundled_case().model, bundled_case().x, "y2_conv_2d", 16);
}

// Hierarchical concepts: the children of an upper-layer concept are the lower-layer channels
// ranked under its condition, and their conditional maps add up to the upper concept's map.
TEST(MethodsConceptsBundled, LowerConceptsMakeUpTheUpperOne) {
  const Bundled& b = bundled_case();
  ConceptOptions options;
  options.method = "lrp-epsilon-plus";
  options.top = 2;
  const std::vector<ConceptNode> graph =
      concept_graph(b.model, b.x, {"y5_conv_2d", "y2_conv_2d"}, Target::top(), options, 3);
  ASSERT_EQ(graph.size(), 2u + 2u * 3u);
  for (size_t i = 0; i < graph.size(); ++i) {
    EXPECT_EQ(graph[i].parent < 0, i < 2) << i;
    if (graph[i].parent >= 0) EXPECT_LT(graph[i].parent, static_cast<int>(i));
  }
  const ConceptNode& upper = graph[0];
  ConceptOptions under = options;
  under.conditions = {{"y5_conv_2d", {upper.channel}}};
  under.top = 0;
  const Concepts lower = concepts(b.model, b.x, "y2_conv_2d", Target::top(), under);
  EXPECT_EQ(graph[2].channel, lower.channels[0]);
  EXPECT_DOUBLE_EQ(graph[2].relevance, lower.relevance[lower.channels[0]].item<double>());
  EXPECT_LT(relative_error(graph[2].map, lower.maps[0]), 1e-12);

  ConceptOptions alone = options;
  alone.channels = {upper.channel};
  const Concepts whole = concepts(b.model, b.x, "y5_conv_2d", Target::top(), alone);
  EXPECT_DOUBLE_EQ(whole.relevance[upper.channel].item<double>(), upper.relevance);
  EXPECT_LT(relative_error(lower.attributions.sum(0, true), whole.attributions), 1e-10);
}

TEST(MethodsConceptsBundled, BatchesGiveTheSameMaps) {
  const Bundled& b = bundled_case();
  ConceptOptions options;
  options.top = 5;
  const Concepts one_sweep = concepts(b.model, b.x, "y2_conv_2d", Target::index(934), options);
  options.batch = 2;  // sweeps of 2, 2 and 1
  const Concepts three_sweeps = concepts(b.model, b.x, "y2_conv_2d", Target::index(934), options);
  EXPECT_EQ(one_sweep.channels, three_sweeps.channels);
  EXPECT_EQ(one_sweep.target, 934);
  EXPECT_LT(relative_error(three_sweeps.maps, one_sweep.maps), 1e-12);
  options.maps = false;
  EXPECT_FALSE(concepts(b.model, b.x, "y2_conv_2d", Target::index(934), options).maps.defined());
}

TEST(MethodsConceptsBundled, Errors) {
  const Bundled& b = bundled_case();
  const auto message = [&](const std::string& layer, const ConceptOptions& options) {
    return message_of<Error>([&] { concepts(b.model, b.x, layer, Target::top(), options); });
  };
  ConceptOptions options;
  options.method = "gradcam";
  EXPECT_NE(message("y2_conv_2d", options).find("lrp-epsilon-plus"), std::string::npos);
  options.method = "lrp";
  options.channels = {16};
  EXPECT_NE(message("y2_conv_2d", options).find("channels 0 to 15"), std::string::npos);
  options.channels = {};
  options.conditions = {{"y2_conv_2d", {0}}};
  EXPECT_NE(message("y5_conv_2d", options).find("is not before"), std::string::npos);
  options.conditions = {{"y5_conv_2d", {99}}};
  EXPECT_NE(message("y2_conv_2d", options).find("channel 99"), std::string::npos);
  options.conditions = {};
  EXPECT_THROW(concepts(b.model, b.x, "no_such_layer", Target::top(), options), LookupError);
  EXPECT_THROW(concepts(b.model, at::cat({b.x, b.x}), "y2_conv_2d", Target::top(), options),
               InputError);
  options.params.set("no_such_parameter", "1");
  EXPECT_THROW(concepts(b.model, b.x, "y2_conv_2d", Target::top(), options), ArgumentError);
}

// Against the masked float64 sweeps of tests/reference/lrp.py: the relevance of every channel at
// the layer and the conditional input relevance of the three most relevant.
class MethodsConcepts : public ::testing::TestWithParam<std::string> {};

TEST_P(MethodsConcepts, MatchTheMaskedPyTorchReference) {
  const auto dir = fixture(GetParam());
  ASSERT_TRUE(std::filesystem::exists(dir / "ref_crp.json"))
      << "missing references in " << dir << ": run the 'lrp_references' test first";
  nlohmann::json ref;
  std::ifstream(dir / "ref_crp.json") >> ref;
  const Model model = Model::load(dir / "model.onnx").to(at::kDouble);
  // The zB rule's box: the reference clamps x to it, and so does the test.
  std::vector<double> lo, hi;
  for (int c = 0; c < 3; ++c) {
    lo.push_back(model.preprocessing.lowest(c));
    hi.push_back(model.preprocessing.highest(c));
  }
  const at::Tensor x = at::min(at::max(read_npy(dir / "x.npy").to(at::kDouble),
                                       at::tensor(lo, at::kDouble).view({1, 3, 1, 1})),
                               at::tensor(hi, at::kDouble).view({1, 3, 1, 1}));
  nlohmann::json meta;
  std::ifstream(dir / "meta.json") >> meta;
  ConceptOptions options;
  options.method = ref["method"].get<std::string>();
  for (const auto& [key, value] : ref["params"].items()) options.params.set(key, value.get<std::string>());
  options.top = 3;
  const Concepts found = concepts(model, x, ref["layer"].get<std::string>(),
                                  Target::index(meta["target"].get<int64_t>()), options);
  const auto channels = ref["channels"].get<std::vector<int64_t>>();
  EXPECT_EQ(found.channels, channels);
  const at::Tensor relevance = at::tensor(ref["relevance"].get<std::vector<double>>(), at::kDouble);
  EXPECT_LT(relative_error(found.relevance * found.magnitude, relevance), 1e-8);
  EXPECT_NEAR(found.relevance.abs().sum().item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(found.seed, ref["seed"].get<double>(), 1e-9 * std::abs(found.seed));
  EXPECT_LT(relative_error(found.attributions, read_npy(dir / ref["maps"].get<std::string>())), 1e-8);
}

// Where the rules conserve (biases ignored on a network whose BatchNorms fold away), each
// channel's relevance is the total of its conditional map.
TEST_P(MethodsConcepts, EachChannelsRelevanceIsItsMapsTotal) {
  const auto dir = fixture(GetParam());
  nlohmann::json ref;
  std::ifstream(dir / "ref_crp.json") >> ref;
  const Model model = Model::load(dir / "model.onnx").to(at::kDouble);
  const at::Tensor x = read_npy(dir / "x.npy").to(at::kDouble);
  ConceptOptions options;
  options.method = "lrp-epsilon-plus";
  options.top = 4;
  const Concepts found = concepts(model, x, ref["layer"].get<std::string>(), Target::top(), options);
  for (size_t i = 0; i < found.channels.size(); ++i) {
    const double relevance = found.relevance[found.channels[i]].item<double>() * found.magnitude;
    const double total = found.attributions[static_cast<int64_t>(i)].sum().item<double>();
    EXPECT_NEAR(total, relevance, 1e-3 * std::abs(relevance)) << found.channels[i];
  }
}

// Every method on ResNet-18; on VGG-16, whose float64 passes cost ten times as much, one method
// of each kind of rule table: z+ with the box rule, alpha-beta, excitation, the gradient.
TEST_P(MethodsConcepts, AllChannelsAddUpToTheMethodsMap) {
  // The first convolution's activation: 64 channels, crossed by every path.
  const bool vgg = GetParam() == "vgg16_bn";
  const std::string layer = vgg ? "/features/features.2/Relu_output_0" : "/relu/Relu_output_0";
  const auto dir = fixture(GetParam());
  expect_channels_add_up(
      Model::load(dir / "model.onnx").to(at::kDouble), read_npy(dir / "x.npy").to(at::kDouble),
      layer, 64,
      vgg ? std::vector<std::string>{"deep-taylor", "lrp-epsilon-alpha2-beta1",
                                     "excitation-backprop", "gradient-input"}
          : concept_methods());
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsConcepts, ::testing::Values("vgg16_bn", "resnet18"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace whitebox::test
