// Adebayo et al.'s finding on the bundled MobileNetV2: under cascading randomisation from the
// output layer, saliency maps lose their rank correlation with the trained model's maps while
// guided backpropagation's barely change (it reconstructs the image more than it explains the model).
#include <gtest/gtest.h>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"
#include "whitebox/randomisation.hpp"

namespace whitebox::test {
namespace {

TEST(SanityBundled, SaliencyFailsToSurviveRandomisationGuidedBackpropSurvives) {
  const Model model = Model::load(default_model());
  const at::Tensor x = preprocess(read_image(default_image()), model.preprocessing).tensor;
  metrics::RandomisationOptions options;
  options.layers = 4;  // the output layer and the three convolutions below it
  const auto result = metrics::parameter_randomisation(model, x, {"saliency", "guided-backprop"}, Target::top(), options);
  ASSERT_EQ(result.steps.size(), 5u);

  double saliency = 0, guided = 0;
  for (size_t k = 1; k < result.steps.size(); ++k) {
    saliency += std::abs(result.steps[k].similarity.at("saliency").spearman_abs) / options.layers;
    guided += std::abs(result.steps[k].similarity.at("guided-backprop").spearman_abs) / options.layers;
  }
  std::printf("mean |spearman| over %ld cascading steps: saliency %.3f, guided backprop %.3f\n",
              static_cast<long>(options.layers), saliency, guided);
  EXPECT_LT(saliency, guided);
  EXPECT_LT(saliency, 0.5);
  EXPECT_GT(guided, 0.8);
}

}  // namespace
}  // namespace whitebox::test
