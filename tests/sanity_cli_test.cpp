// `whitebox sanity` on the small shapes classifier: the figure, the CSV and JSON, and its errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report_support.hpp"
#include "whitebox/image.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

ProcessResult sanity(const std::vector<std::string>& args) {
  std::vector<std::string> all{"--model", (shapes_dir() / "shapes_cnn.onnx").string(), "--threads", "2", "sanity"};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(cli_binary(), all);
}

// The first test picture as a file.
fs::path shape_picture(const TempDir& dir) {
  const at::Tensor mosaic = read_image(shapes_dir() / "test_images.png");
  const auto file = dir / "shape.png";
  write_image(file, mosaic.narrow(0, 0, 64).narrow(1, 0, 64).contiguous());
  return file;
}

TEST(CliSanity, CascadingWritesFigureCsvAndJson) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir dir;
  const auto out = dir / "sanity";
  const auto r = sanity({shape_picture(dir).string(), "--method", "saliency,gradcam", "--out", out.string(),
                         "--columns", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("cascading randomisation of 5 layers"), std::string::npos) << r.out;

  // 5 parameter layers + the trained model, 2 methods.
  std::stringstream csv(read_text(out / "sanity.csv"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1u + 6 * 2);
  EXPECT_EQ(lines[0], "step,layer,method,spearman_abs,spearman,ssim,hog");
  EXPECT_EQ(lines[1], "0,,saliency,1,1,1,1");
  EXPECT_EQ(lines[3].rfind("1,/classifier/Gemm,saliency,", 0), 0u) << lines[3];

  const auto json = nlohmann::json::parse(read_text(out / "sanity.json"));
  EXPECT_EQ(json.at("mode"), "cascading");
  EXPECT_EQ(json.at("steps").size(), 6u);
  EXPECT_TRUE(json.at("random_logit").at("similarity").contains("gradcam"));
  EXPECT_NE(json.at("random_logit").at("class"), json.at("class"));

  // Rows: methods; columns: the photo, the trained model's map and 3 randomisation steps.
  const at::Tensor figure = read_image(out / "sanity.png");
  const at::Tensor cell = read_image(shape_picture(dir));
  EXPECT_GE(figure.size(1), 5 * cell.size(1));
  EXPECT_GE(figure.size(0), 2 * cell.size(0));
}

TEST(CliSanity, IndependentLimitedToTheTopLayers) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir dir;
  const auto r = sanity({shape_picture(dir).string(), "--method", "saliency", "--mode", "independent", "--layers",
                         "2", "--out", (dir / "o").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto json = nlohmann::json::parse(read_text(dir / "o" / "sanity.json"));
  EXPECT_EQ(json.at("mode"), "independent");
  ASSERT_EQ(json.at("steps").size(), 3u);
  EXPECT_EQ(json.at("steps")[2].at("layer"), "/features/features.11/Conv");
}

TEST(CliSanity, BadInputIsOneLine) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir dir;
  const std::string picture = shape_picture(dir).string(), out = (dir / "o").string();
  for (const auto& [args, mention] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{picture, "--mode", "sideways", "--out", out}, "sideways"},
           {{picture, "--method", "nonsense", "--out", out}, "nonsense"},
           {{(dir / "missing.png").string(), "--out", out}, "missing.png"}}) {
    const auto r = sanity(args);
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("whitebox: error:", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace whitebox::test
