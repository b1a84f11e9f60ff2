// The comparison report in a real browser: headless Chromium opens it from disk, the page's own
// check (every picture decoded, every plot drawn, no script error) reads back through the DOM,
// the console stays silent and a screenshot shows the pictures.
#include <gtest/gtest.h>

#include <regex>

#include "report_support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

class ReportChromium : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chromium_ = find_chromium();
    if (chromium_.empty() || cli_binary().empty()) return;
    folder_ = new TempDir;
    const auto r = run_process(
        cli_binary(),
        {"--model", bundled("mobilenet_v1_0.25_128.onnx").string(), "--threads", "2", "compare",
         bundled("images/chelsea.png").string(), bundled("images/coffee.png").string(), "--method",
         "saliency,gradcam", "--curve-steps", "8", "--report", report().string()});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete folder_;
    folder_ = nullptr;
  }

  void SetUp() override {
    if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium): report not rendered";
    if (cli_binary().empty()) GTEST_SKIP() << "the whitebox CLI is not built";
    ASSERT_TRUE(fs::exists(report()));
  }

  static fs::path report() { return *folder_ / "report.html"; }

  // Chromium as root in a container: no sandbox, no GPU, a throw-away profile, no network use.
  static ProcessResult chromium(const std::vector<std::string>& args) {
    TempDir profile;
    std::vector<std::string> all{"--headless",
                                 "--disable-gpu",
                                 "--no-sandbox",
                                 "--no-first-run",
                                 "--disable-extensions",
                                 "--disable-background-networking",
                                 "--disable-dev-shm-usage",
                                 "--hide-scrollbars",
                                 "--enable-logging=stderr",
                                 "--v=0",
                                 "--user-data-dir=" + profile.path().string(),
                                 "--virtual-time-budget=10000"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back("file://" + fs::absolute(report()).string());
    return run_process("timeout", [&] {
      std::vector<std::string> timed{"120", chromium_};
      timed.insert(timed.end(), all.begin(), all.end());
      return timed;
    }());
  }

  static std::string attribute(const std::string& dom, const std::string& name) {
    const std::regex pattern(name + "=\"([^\"]*)\"");
    std::smatch match;
    return std::regex_search(dom, match, pattern) ? match[1].str() : "<missing>";
  }

  // Browser console messages (Chromium logs them as "...:CONSOLE...] "text", source: ...").
  static std::vector<std::string> console_lines(const std::string& log) {
    std::vector<std::string> lines;
    std::stringstream in(log);
    for (std::string line; std::getline(in, line);) {
      if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
    }
    return lines;
  }

  static inline std::string chromium_;
  static inline TempDir* folder_ = nullptr;
};

TEST_F(ReportChromium, OpensWithoutErrorsAndRendersEveryPictureAndPlot) {
  const auto r = chromium({"--dump-dom"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(attribute(r.out, "data-check"), "ok") << attribute(r.out, "data-problems");
  EXPECT_EQ(attribute(r.out, "data-images"), "6");  // 2 photos + 2 images x 2 methods
  EXPECT_EQ(attribute(r.out, "data-plots"), "2");
  EXPECT_EQ(attribute(r.out, "data-curves"), "4");
  EXPECT_TRUE(console_lines(r.err).empty()) << console_lines(r.err).front();
}

TEST_F(ReportChromium, ScreenshotShowsThePage) {
  TempDir shots;
  const auto file = shots / "report.png";
  const auto r = chromium({"--screenshot=" + file.string(), "--window-size=1280,1600"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(fs::exists(file)) << r.err;
  const at::Tensor shot = read_image(file).to(at::kLong);
  ASSERT_EQ(shot.size(1), 1280);
  ASSERT_EQ(shot.size(0), 1600);
  // Not blank: many colours (the photos and heat-maps) and the dark header band at the top.
  const at::Tensor packed = (shot.select(2, 0) * 65536 + shot.select(2, 1) * 256 + shot.select(2, 2)).flatten();
  EXPECT_GT(std::get<0>(at::_unique(packed)).numel(), 2000);
  EXPECT_LT(shot.narrow(0, 0, 40).to(at::kDouble).mean().item<double>(), 100.0);
  EXPECT_TRUE(console_lines(r.err).empty()) << console_lines(r.err).front();
}

}  // namespace
}  // namespace whitebox::test
