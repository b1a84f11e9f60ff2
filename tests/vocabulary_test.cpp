// One vocabulary: a misspelt method, metric, layer or class gets the closest names, layers are
// found by the name results report or by their node's, and ranks have one unambiguous spelling.
#include <gtest/gtest.h>

#include "closest.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/metrics.hpp"

namespace whitebox::test {
namespace {

// The message of the LookupError that `lookup` throws.
TEST(Vocabulary, ClosestNamesAreNearestFirstAndNeverFar) {
  const std::vector<std::string> names{"gradcam", "xgradcam", "scorecam", "saliency", "GradCAM++"};
  EXPECT_EQ(closest("gradcan", names), (std::vector<std::string>{"gradcam", "xgradcam"}));
  EXPECT_EQ(closest("GRADCAM", names),
            (std::vector<std::string>{"gradcam", "xgradcam", "GradCAM++"}));
  EXPECT_EQ(closest("sal", names), (std::vector<std::string>{"saliency"}));  // a prefix
  EXPECT_TRUE(closest("lime", names).empty());
  EXPECT_EQ(did_you_mean({"a", "b", "c"}), " (did you mean 'a', 'b' or 'c'?)");
  EXPECT_EQ(did_you_mean("zzzzzz", names), "");
}

TEST(Vocabulary, AMisspeltMethodOrMetricGetsTheClosestNamesNotTheWholeList) {
  const std::string method = message_of<LookupError>([] { find_method("gradcan"); });
  EXPECT_NE(method.find("did you mean 'gradcam'"), std::string::npos) << method;
  EXPECT_EQ(method.find("scorecam"), std::string::npos) << method;
  // An alias near the word is suggested as its method's name.
  const std::string alias = message_of<LookupError>([] { find_method("grad-cam+"); });
  EXPECT_NE(alias.find("'gradcam++'"), std::string::npos) << alias;
  const std::string metric = message_of<LookupError>([] { metrics::find_metric("deletoin"); });
  EXPECT_NE(metric.find("did you mean 'deletion'"), std::string::npos) << metric;
}

TEST(Vocabulary, LayersByValueOrNodeNameAndMisspeltOnes) {
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const Graph& graph = model.graph();
  const Node& last_clip = graph.nodes.at(53);
  ASSERT_EQ(last_clip.op_type, "Clip");
  const std::string value = graph.values[last_clip.outputs[0]].name;
  ASSERT_NE(value, last_clip.name);
  EXPECT_EQ(graph.resolve(value), graph.resolve(last_clip.name));
  const std::string error = message_of<LookupError>([&] { graph.resolve("y26_conv2d"); });
  EXPECT_NE(error.find("did you mean 'y26_conv_2d'"), std::string::npos) << error;
}

TEST(Vocabulary, RanksAndClasses) {
  const Target rank = Target::parse("rank:3");
  EXPECT_EQ(rank.kind, Target::Kind::TopK);
  EXPECT_EQ(rank.value, 3);
  EXPECT_EQ(Target::parse("top3").value, 3);
  EXPECT_THROW(Target::parse("rank:0"), ArgumentError);
  EXPECT_EQ(Target::parse("rank:x").kind, Target::Kind::Label);
  Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const at::Tensor logits = at::zeros({1, 1000});
  const std::string error =
      message_of<LookupError>([&] { Target::parse("tabby catt").resolve(model, logits); });
  EXPECT_NE(error.find("did you mean 'tabby, tabby cat'"), std::string::npos) << error;
}

}  // namespace
}  // namespace whitebox::test
