// `whitebox compare`: the self-contained HTML report, and its errors.
#include <gtest/gtest.h>

#include <regex>

#include "report_support.hpp"
#include "whitebox/data.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

std::string small_model() { return bundled("mobilenet_v1_0.25_128.onnx").string(); }
std::string photo(const std::string& name) { return bundled("images/" + name).string(); }

ProcessResult compare(const std::vector<std::string>& args) {
  std::vector<std::string> all{"--model", small_model(), "--threads", "2", "compare"};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(cli_binary(), all);
}

void expect_one_line_error(const ProcessResult& r, const std::string& mention) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("whitebox: error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(CliCompare, WritesOneSelfContainedPage) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir out;
  const auto report = out / "report.html";
  const auto r = compare({photo("chelsea.png"), photo("coffee.png"), "--method", "saliency,gradcam",
                          "--curve-steps", "8", "--report", report.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("report.html"), std::string::npos);
  ASSERT_TRUE(fs::exists(report));
  for (const auto& entry : fs::directory_iterator(out.path()))
    EXPECT_NE(entry.path().extension(), ".tmp");
  const std::string html = read_text(report);

  // 2 photos + 2 x 2 overlays, every one embedded.
  EXPECT_EQ(count(html, "<img "), 6u);
  EXPECT_EQ(count(html, "<img src=\"data:image/png;base64,"), 6u);
  // Nothing is fetched: no external scripts, styles, fonts or pictures.
  for (const std::string external : {"<link", "src=\"http", "href=\"http", "url(", "@import"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
  // The metrics table, one row per method, and the two plots with a curve per method.
  EXPECT_NE(html.find("id=\"metrics-table\""), std::string::npos);
  EXPECT_EQ(count(html, "<tr><td data-value=\"saliency\""), 1u);
  EXPECT_EQ(count(html, "<tr><td data-value=\"gradcam\""), 1u);
  EXPECT_EQ(count(html, "<svg class=\"plot\""), 2u);
  EXPECT_EQ(count(html, "<path class=\"curve\""), 4u);
  const std::regex empty_path("<path class=\"curve\"[^>]*d=\"\"");
  EXPECT_FALSE(std::regex_search(html, empty_path));
  // Taxonomy entries and the predicted class.
  EXPECT_NE(html.find("Simonyan"), std::string::npos);
  EXPECT_NE(html.find("class-discriminative"), std::string::npos);
  EXPECT_NE(html.find("Deletion AUC"), std::string::npos);
  EXPECT_NE(html.find("chelsea.png"), std::string::npos);
}

TEST(CliCompare, HyperParametersShowTheValuesUsed) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir out;
  const auto report = out / "r.html";
  const auto r =
      compare({photo("coffee.png"), "--method", "saliency", "--curve-steps", "4", "--param",
               "reduce=l2", "--report", report.string(), "--title", "Coffee <test>"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = read_text(report);
  EXPECT_NE(html.find("<code>l2</code> <span class=\"sd\">(default max)</span>"), std::string::npos);
  EXPECT_NE(html.find("Coffee &lt;test&gt;"), std::string::npos);  // user text is escaped
}

// Registered metrics as more columns: one per value, per image or over the report's images.
TEST(CliCompare, AddsRegisteredMetricsAsColumns) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir out;
  const auto report = out / "r.html";
  const auto r =
      compare({photo("chelsea.png"), photo("coffee.png"), "--method", "saliency,gradcam",
               "--curve-steps", "4", "--metric", "completeness,consistency,mege", "--metric-param",
               "models=" + small_model(), "--metric-param", "top=1", "--report", report.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = read_text(report);
  for (const std::string column : {"completeness_gap", "consistency", "mege", "reco"})
    EXPECT_NE(html.find(">" + column + " <span class=\"dir\">"), std::string::npos) << column;
  // MeGe of the model against itself: 1 for both methods, and no spread (one value per method).
  EXPECT_EQ(count(html, "data-value=\"1.000000000000\">1.000</td>"), 2u);

  expect_one_line_error(compare({photo("chelsea.png"), "--metric", "pointing-game"}),
                        "annotations");
  expect_one_line_error(compare({photo("chelsea.png"), "--metric", "deletion"}), "already");
  expect_one_line_error(
      compare({photo("chelsea.png"), "--metric", "completeness", "--metric-param", "steps=3"}),
      "steps");
}

// The concept section: each image's most relevant channels of a layer with their maps.
TEST(CliCompare, AddsEachImagesConcepts) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir out;
  const auto report = out / "r.html";
  const auto r = compare({photo("chelsea.png"), photo("coffee.png"), "--method", "saliency",
                          "--curve-steps", "4", "--concept-layer", "y4_conv_2d", "--concepts",
                          "3", "--concept-method", "deep-taylor", "--report", report.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = read_text(report);
  const size_t section = html.find("<section id=\"concepts\">");
  ASSERT_NE(section, std::string::npos);
  const std::string concepts = html.substr(section, html.find("</section>", section) - section);
  EXPECT_NE(concepts.find("deep-taylor"), std::string::npos);
  EXPECT_NE(concepts.find("<code>y4_conv_2d</code>"), std::string::npos);
  // 2 photos and 2 x 3 concepts.
  EXPECT_EQ(count(concepts, "<img src=\"data:image/png;base64,"), 8u);
  EXPECT_EQ(count(concepts, "<figcaption>channel "), 6u);

  expect_one_line_error(compare({photo("chelsea.png"), "--concept-layer", "y4_conv_2d",
                                 "--concept-method", "gradcam", "--report", report.string()}),
                        "relevance sweep");
  expect_one_line_error(compare({photo("chelsea.png"), "--concept-layer", "nope", "--report",
                                 report.string()}),
                        "nope");
}

TEST(CliCompare, BadInputIsOneLineAndWritesNothing) {
  if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
  TempDir out;
  const auto report = (out / "report.html").string();
  expect_one_line_error(compare({photo("chelsea.png"), "--method", "nonsense", "--report", report}), "nonsense");
  expect_one_line_error(compare({(out / "missing.png").string(), "--report", report}), "missing.png");
  expect_one_line_error(compare({photo("chelsea.png"), "--substitution", "paint", "--report", report}), "paint");
  expect_one_line_error(compare({photo("chelsea.png"), "--report", (out / "no" / "r.html").string()}), "no");
  EXPECT_TRUE(fs::is_empty(out.path()));
}

}  // namespace
}  // namespace whitebox::test
