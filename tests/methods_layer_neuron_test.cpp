// Layer and neuron attribution (Captum's families): their axioms and identities on the bundled
// MobileNetV1 and a small ReLU network, and the errors of params "neuron". Their attributions
// against float64 PyTorch autograd (tests/reference/gradient_methods.py) and the LRP reference
// (tests/reference/lrp.py) are checked with the other references, by methods_gradient_test.cpp
// and methods_lrp_test.cpp.
#include <gtest/gtest.h>

#include "methods/layers.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::test {
namespace {

// The bundled MobileNetV1 (0.25, 128 x 128: ReLU6, depthwise convolutions, a chain, so that every
// path from the input to the output crosses every layer) in float64 on the cat photo, and its
// forward trace.
struct Bundled {
  Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx")).to(at::kDouble);
  at::Tensor x = preprocess(read_image(bundled("images/chelsea.png")), model.preprocessing)
                     .tensor.to(at::kDouble);
  Trace trace = model.forward(x);
  std::vector<int64_t> classes = Target::top().resolve(model, trace[model.output()]);
};

const Bundled& bundled_case() {
  static const Bundled instance;
  return instance;
}

double logit(const Model& model, const at::Tensor& x, int64_t cls) {
  return model.logits(x)[0][cls].item<double>();
}

// The preprocessed black image, as baseline=black makes it.
at::Tensor black(const Model& model, const at::Tensor& x) {
  const auto& p = model.preprocessing;
  std::vector<double> pixel;
  for (int c = 0; c < 3; ++c) pixel.push_back(-p.mean[c] / p.std[c]);
  return at::tensor(pixel, at::kDouble).view({1, 3, 1, 1}).expand_as(x).contiguous();
}

// Completeness at the last feature map, which a linear head (average pooling, 1x1 convolution)
// follows: the gradient at the layer is the same all along the path, so layer integrated
// gradients and the layer's total conductance are y_c(x) - y_c(baseline) for any steps.
TEST(MethodsLayerNeuronBundled, LayerAttributionsAreCompleteBeforeALinearHead) {
  const Bundled& b = bundled_case();
  const double delta = b.trace[b.model.output()][0][b.classes[0]].item<double>() -
                       logit(b.model, black(b.model, b.x), b.classes[0]);
  const ValueId last = explainers::cam_layer(b.model, b.trace, Params());
  for (const std::string method : {"layer-integrated-gradients", "layer-conductance"}) {
    const Explanation e = run(method, b.model, b.x, b.classes, Params().set("steps", "2"));
    EXPECT_EQ(e.layer, b.model.graph().values[last].name) << method;
    EXPECT_EQ(e.attribution.sizes(), b.trace[last].sizes()) << method;
    EXPECT_EQ(e.map.sizes(), (at::IntArrayRef{1, 128, 128})) << method;
    EXPECT_NEAR(e.stats.at("delta"), delta, 1e-10 * std::abs(delta)) << method;
    EXPECT_LT(e.stats.at("relative_completeness_gap"), 1e-10) << method;
    EXPECT_NEAR(e.attribution.sum().item<double>(), delta, 1e-10 * std::abs(delta)) << method;
  }
}

// Layer gradient x activation is A (.) dy_c/dA, the gradient of Context::gradient, at the CAMs'
// default layer; its map the channel sum, upsampled as the CAMs' maps are.
TEST(MethodsLayerNeuronBundled, LayerGradientTimesActivationIsTheProductAtTheLayer) {
  const Bundled& b = bundled_case();
  const Context c(b.model, b.x, b.classes, Params());
  const ValueId layer = c.layer();
  const at::Tensor expected = c.trace[layer] * c.gradient(layer);
  const Explanation e = run("layer-gradient-x-activation", b.model, b.x, b.classes);
  EXPECT_EQ(e.layer, b.model.graph().values[layer].name);
  EXPECT_LT(relative_error(e.attribution, expected), 1e-14);
  EXPECT_LT(relative_error(e.map, explainers::upsample(expected.sum(1), b.x)), 1e-14);
  EXPECT_TRUE(e.is_signed);
}

// The unit's gradient: the seeded sweep from the layer, and a central difference along a random
// direction (steps of 1e-8: the network is piecewise linear, and larger ones cross its kinks);
// neuron=auto is the most active channel of the last spatial map.
TEST(MethodsLayerNeuronBundled, NeuronGradientIsTheGradientOfTheUnit) {
  const Bundled& b = bundled_case();
  const std::string name = "y4_conv_2d";
  const ValueId layer = b.model.graph().resolve(name);
  at::Tensor seed = at::zeros_like(b.trace[layer]);
  seed[0][7][3][11] = 1.0;
  const Explanation one =
      run("neuron-gradient", b.model, b.x, b.classes, Params().set("neuron", name + ":7:3:11"));
  EXPECT_LT(relative_error(one.attribution, b.model.sweep(b.trace, {{layer, seed}})[0]), 1e-14);
  EXPECT_EQ(one.stats.at("channel"), 7.0);

  const Explanation channel =
      run("neuron-gradient", b.model, b.x, b.classes, Params().set("neuron", name + ":7"));
  TraceOptions until;
  until.until = std::vector<ValueId>{layer};
  const auto unit = [&](const at::Tensor& x) {
    return b.model.forward(x, until)[layer][0][7].sum().item<double>();
  };
  at::manual_seed(5);
  const at::Tensor v = at::randn_like(b.x);
  const double h = 1e-8;
  const double difference = (unit(b.x + h * v) - unit(b.x - h * v)) / (2 * h);
  EXPECT_NEAR((channel.attribution * v).sum().item<double>(), difference,
              1e-5 * std::abs(difference));

  const Explanation automatic = run("neuron-gradient", b.model, b.x, b.classes);
  const ValueId last = explainers::cam_layer(b.model, b.trace, Params());
  const int64_t strongest = b.trace[last].flatten(2).sum(2)[0].argmax().item<int64_t>();
  EXPECT_EQ(automatic.layer, b.model.graph().values[last].name);
  EXPECT_EQ(automatic.stats.at("channel"), static_cast<double>(strongest));
}

// Along the path, the quadratures approach completeness at a layer inside the network.
TEST(MethodsLayerNeuronBundled, PathAttributionsApproachCompleteness) {
  const Bundled& b = bundled_case();
  const Model& model = b.model;
  const at::Tensor& x = b.x;
  const std::vector<int64_t>& classes = b.classes;
  const std::string layer = "y8_conv_2d";
  const double delta = logit(model, x, classes[0]) - logit(model, black(model, x), classes[0]);
  for (const std::string method : {"layer-integrated-gradients", "layer-conductance"}) {
    const Explanation e =
        run(method, model, x, classes, Params().set("layer", layer).set("steps", "16"));
    EXPECT_NEAR(e.stats.at("delta"), delta, 1e-10 * std::abs(delta)) << method;
    EXPECT_LT(e.stats.at("relative_completeness_gap"), 0.05) << method;
    std::cout << "  " << method << ": relative completeness gap "
              << e.stats.at("relative_completeness_gap") << "\n";
  }
  const ValueId value = model.graph().resolve(layer);
  const auto unit = [&](const at::Tensor& input) {
    return model.forward(input)[value][0][5].sum().item<double>();
  };
  const double change = unit(x) - unit(black(model, x));
  const Explanation e = run("neuron-integrated-gradients", model, x, classes,
                            Params().set("neuron", layer + ":5").set("steps", "16"));
  EXPECT_NEAR(e.stats.at("delta"), change, 1e-10 * std::abs(change));
  EXPECT_LT(e.stats.at("relative_completeness_gap"), 0.05);
  EXPECT_NEAR(e.stats.at("completeness_gap"), e.attribution.sum().item<double>() - change,
              1e-9 * std::abs(change));
  std::cout << "  neuron-integrated-gradients: relative completeness gap "
            << e.stats.at("relative_completeness_gap") << "\n";
}

// On a ReLU network, neuron LRP with LRP-0 and biases absorbed is the neuron's gradient x input;
// with biases ignored, the flat and z-rules conserve the unit's activation.
TEST(MethodsLayerNeuronBundled, NeuronLrpIsGradientTimesInputWithLrp0) {
  const Model model = conv_dense_model({2, 3, 6, 7}, true);
  at::manual_seed(11);
  const at::Tensor x = at::randn({2, 3, 6, 7}, at::kDouble);
  const std::vector<int64_t> classes = {1, 3};
  for (const std::string neuron : {"relu0:2", "relu0:1:2:3", "conv0:3", "fc0:4"}) {
    const Explanation lrp =
        run("neuron-lrp", model, x, classes,
            Params().set("neuron", neuron).set("composite", "lrp-0").set("bias", "absorb"));
    const Explanation gradient =
        run("neuron-gradient", model, x, classes, Params().set("neuron", neuron));
    EXPECT_LT(relative_error(lrp.attribution, x * gradient.attribution), 1e-12) << neuron;
    const Explanation flat = run("neuron-lrp", model, x, classes, Params().set("neuron", neuron));
    // (The epsilon rule of the dense layer absorbs about 1e-6 / |z| of the logit's relevance.)
    EXPECT_NEAR(flat.stats.at("conservation"), 1.0, neuron == "fc0:4" ? 1e-5 : 1e-12) << neuron;
  }
}

// The path methods batch their points across images: each row of a batch is its image's own
// result, whichever images a batch of points straddles.
TEST(MethodsLayerNeuronBundled, BatchRowsEqualSingleImages) {
  const Model model = conv_dense_model({3, 3, 6, 7}, true);
  at::manual_seed(13);
  const at::Tensor x = at::randn({3, 3, 6, 7}, at::kDouble);
  const std::vector<int64_t> classes = {1, 3, 0};
  for (const std::string method :
       {"layer-integrated-gradients", "layer-conductance", "neuron-integrated-gradients"}) {
    const Params params = Params()
                              .set(method.rfind("layer", 0) == 0 ? "layer" : "neuron",
                                   method.rfind("layer", 0) == 0 ? "relu0" : "relu0:2")
                              .set("steps", "4")
                              .set("batch", "3")
                              .set("baseline", "zero");
    const Explanation all = run(method, model, x, classes, params);
    for (int64_t i = 0; i < 3; ++i) {
      const Explanation one = run(method, model, x.narrow(0, i, 1), {classes[i]}, params);
      EXPECT_LT(relative_error(all.attribution.narrow(0, i, 1), one.attribution), 1e-14)
          << method << " " << i;
    }
  }
}

// Bad units are named with what the layer has.
TEST(MethodsLayerNeuronBundled, BadNeuronsAreNamed) {
  const Model model = conv_dense_model({1, 3, 6, 7}, true);
  const at::Tensor x = at::randn({1, 3, 6, 7}, at::kDouble);
  const auto error = [&](const std::string& neuron) {
    return message_of<ArgumentError>(
        [&] { run("neuron-gradient", model, x, {0}, Params().set("neuron", neuron)); });
  };
  EXPECT_NE(error("relu0").find("is not LAYER:CHANNEL or LAYER:CHANNEL:Y:X"), std::string::npos);
  EXPECT_NE(error("relu0:x").find("is not LAYER:CHANNEL"), std::string::npos);
  EXPECT_NE(error(":3").find("names no layer"), std::string::npos);
  EXPECT_NE(error("relu0:4").find("channel 4 of layer r: it has channels 0 to 3"),
            std::string::npos);
  EXPECT_NE(error("relu0:-1").find("channel -1 of layer r"), std::string::npos);
  EXPECT_NE(
      error("relu0:1:4:0").find("position (y, x) = (4, 0) is outside layer r's 4 x 5 positions"),
      std::string::npos);
  EXPECT_NE(error("fc0:1:0:0").find("a position needs a spatial layer"), std::string::npos);
  EXPECT_NE(error("w:0").find("w is not a value computed from the input"), std::string::npos);
  const std::string unknown = message_of<LookupError>(
      [&] { run("neuron-lrp", model, x, {0}, Params().set("neuron", "relu1:0")); });
  EXPECT_NE(unknown.find("no layer or value named 'relu1'"), std::string::npos) << unknown;
  EXPECT_NE(message_of<ArgumentError>([&] {
              run("layer-conductance", model, x, {0}, Params().set("layer", "c,r"));
            }).find("layer-conductance attributes to one layer, not 2"),
            std::string::npos);
}

// Neuron LRP from a hidden unit of ResNet-18 conserves its activation with biases ignored (z+
// below the layer, flat at the first), and with LRP-0, biases absorbed, it is the neuron's
// gradient x input (residual sums, max pooling included).
class MethodsLayerNeuron : public ::testing::TestWithParam<std::string> {};

TEST_P(MethodsLayerNeuron, NeuronLrpConservesAndIsGradientTimesInput) {
  const auto dir = fixture(GetParam());
  ASSERT_TRUE(has_fixture(GetParam()))
      << "missing fixture " << dir << ": run the 'fixtures' test first";
  const Model model = Model::load(dir / "model.onnx").to(at::kDouble);
  const at::Tensor x = read_npy(dir / "x.npy").to(at::kDouble);
  const std::vector<int64_t> classes = {0};
  const std::string neuron = "/layer2/layer2.0/relu_1/Relu_output_0:5";
  const Explanation flat = run("neuron-lrp", model, x, classes, Params().set("neuron", neuron));
  EXPECT_NEAR(flat.stats.at("conservation"), 1.0, 1e-9);
  const Explanation lrp0 =
      run("neuron-lrp", model, x, classes,
          Params().set("neuron", neuron).set("composite", "lrp-0").set("bias", "absorb"));
  const Explanation gradient =
      run("neuron-gradient", model, x, classes, Params().set("neuron", neuron));
  EXPECT_LT(relative_error(lrp0.attribution, x * gradient.attribution), 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsLayerNeuron, ::testing::Values("resnet18"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace whitebox::test
