// whitebox concepts, run as a user would: the attribution graph, its maps and JSON, and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

#ifdef WHITEBOX_CLI
ProcessResult concepts_cli(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--model", bundled("mobilenet_v1_0.25_128.onnx").string(),
                                  "concepts", bundled("images/chelsea.png").string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(WHITEBOX_CLI, all);
}

TEST(CliConcepts, WritesTheAttributionGraphWithItsMaps) {
  const fs::path out = fs::temp_directory_path() / "whitebox_cli_concepts";
  fs::remove_all(out);
  const ProcessResult r = concepts_cli({"--layer", "y4_conv_2d", "--layer", "y2_conv_2d", "--top",
                                        "2", "--subtop", "2", "--out", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("top concepts at y4_conv_2d"), std::string::npos) << r.out;
  nlohmann::json json;
  std::ifstream(out / "chelsea_concepts.json") >> json;
  EXPECT_EQ(json["method"], "lrp");
  EXPECT_EQ(json["relevance"].size(), 32u);
  ASSERT_EQ(json["concepts"].size(), 6u);
  std::vector<int> parents;
  for (const auto& c : json["concepts"]) parents.push_back(c["parent"].get<int>());
  EXPECT_EQ(parents, (std::vector<int>{-1, -1, 0, 0, 1, 1}));
  EXPECT_TRUE(fs::exists(out / "chelsea_concepts.png"));

  // The first concept's map is the library's.
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const at::Tensor x = preprocess(read_image(bundled("images/chelsea.png")), model.preprocessing).tensor;
  ConceptOptions options;
  options.top = 2;
  const Concepts found = concepts(model, x, "y4_conv_2d", Target::top(), options);
  EXPECT_EQ(json["concepts"][0]["channel"].get<int64_t>(), found.channels[0]);
  EXPECT_EQ(json["class"].get<int64_t>(), found.target);
  const auto map = out / json["concepts"][0]["map"].get<std::string>();
  EXPECT_LT(relative_error(read_npy(map), found.maps[0]), 1e-6);
  fs::remove_all(out);
}

TEST(CliConcepts, BadInputIsOneLine) {
  const auto expect_error = [](const std::vector<std::string>& args, const std::string& mention) {
    const ProcessResult r = concepts_cli(args);
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  };
  expect_error({"--layer", "y4_conv_2d", "--method", "gradcam", "--out", "/nonexistent/x"},
               "lrp-epsilon-plus");
  expect_error({"--layer", "y4_conv_2d", "--channels", "40", "--out", "/nonexistent/x"},
               "channels 0 to 31");
  expect_error({"--layer", "y4_conv_2d", "--channels", "1,x", "--out", "/nonexistent/x"}, "--channels");
  expect_error({"--layer", "no_such_layer", "--out", "/nonexistent/x"}, "no_such_layer");
  expect_error({"--out", "/nonexistent/x"}, "--layer");
  EXPECT_FALSE(fs::exists("/nonexistent"));
}
#endif

}  // namespace
}  // namespace whitebox::test
