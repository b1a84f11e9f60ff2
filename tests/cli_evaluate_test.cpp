// `whitebox evaluate` end to end: results per image and aggregated, resuming, and every bad input
// rejected with one line naming the file before anything is written.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string out, err;
};

#ifdef WHITEBOX_CLI
Outcome evaluate(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--threads", "2", "--model",
                                  bundled("mobilenet_v1_0.25_128.onnx").string(), "evaluate"};
  all.insert(all.end(), args.begin(), args.end());
  ProcessResult r = run_process(WHITEBOX_CLI, all);
  return {r.code, std::move(r.out), std::move(r.err)};
}
#define REQUIRE_CLI() (void)0
#else
Outcome evaluate(const std::vector<std::string>&) { return {}; }
#define REQUIRE_CLI() GTEST_SKIP() << "the whitebox CLI is not built"
#endif

// Two bundled photos (cat.bmp 512x341, hot_dog.jpg 512x384) in a folder, and an output path.
class CliEvaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(images());
    for (const char* name : {"cat.bmp", "hot_dog.jpg"})
      fs::copy_file(bundled(std::string("images/") + name), images() / name);
  }
  fs::path images() const { return dir / "images"; }
  fs::path out() const { return dir / "out"; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return dir / name;
  }
  // The quick arguments: one method, few deletion steps when a curve is computed (the default
  // metrics or deletion named: a metric refuses options it does not take).
  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> all{"--images", images().string(), "--method",
                                 "saliency", "--out",           out().string()};
    const auto metric = std::find(extra.begin(), extra.end(), "--metric");
    if (metric == extra.end() || metric[1].find("deletion") != std::string::npos) {
      all.insert(all.end(), {"--metric-param", "steps=8"});
    }
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  // A failure: one line on stderr mentioning `mention`, and no output folder.
  void expect_rejected(const Outcome& r, const std::string& mention) const {
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("whitebox: error:", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out())) << "something was written before the error";
  }
  TempDir dir;
};

TEST_F(CliEvaluate, WritesPerImageResultsAndAggregates) {
  REQUIRE_CLI();
  const fs::path boxes = write("boxes.json", R"({"cat.bmp": [[100, 20, 400, 330]]})");
  const Outcome r =
      evaluate(args({"--metric", "deletion,sparseness,pointing-game", "--boxes", boxes.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  // stderr is not a terminal: a plain line per image, no bar (CliProgress has the format).
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("deletion_auc"), std::string::npos) << r.out;
  for (const char* file : {"summary.csv", "per_image.csv", "results.json", "images/cat.bmp.json",
                           "images/hot_dog.jpg.json"}) {
    EXPECT_TRUE(fs::exists(out() / file)) << file;
  }
  for (const auto& entry : fs::recursive_directory_iterator(out()))
    EXPECT_NE(entry.path().extension(), ".tmp");

  const auto json = nlohmann::json::parse(read_text(out() / "results.json"));
  const auto& summary = json.at("summary").at("saliency");
  EXPECT_EQ(summary.at("sparseness").at("n"), 2);
  EXPECT_EQ(summary.at("pointing_game").at("n"), 1);  // only the cat has a box
  const double a = json["images"]["cat.bmp"]["saliency"]["sparseness"],
               b = json["images"]["hot_dog.jpg"]["saliency"]["sparseness"];
  EXPECT_NEAR(summary.at("sparseness").at("mean").get<double>(), (a + b) / 2, 1e-12);
  // The bootstrap interval of two values: the means of their resamples are a, (a + b) / 2 and b.
  EXPECT_EQ(summary.at("sparseness").at("ci95")[0].get<double>(), std::min(a, b));
  EXPECT_EQ(summary.at("sparseness").at("ci95")[1].get<double>(), std::max(a, b));
  EXPECT_TRUE(json["images"]["hot_dog.jpg"]["saliency"]["pointing_game"].is_null());

  const std::string csv = read_text(out() / "summary.csv");
  EXPECT_EQ(csv.rfind("method,metric,higher_is_better,n,mean,std,ci95_low,ci95_high\n", 0), 0u)
      << csv;
  EXPECT_NE(csv.find("saliency,deletion_auc,false,2,"), std::string::npos) << csv;
  EXPECT_NE(read_text(out() / "per_image.csv").find("cat.bmp,saliency,sparseness,"), std::string::npos);
}

TEST_F(CliEvaluate, ResumesWithoutRecomputingFinishedImages) {
  REQUIRE_CLI();
  ASSERT_EQ(evaluate(args({"--metric", "sparseness"})).code, 0);
  // A sentinel in one image's results shows whether it was reused; the other is recomputed.
  const fs::path cat = out() / "images" / "cat.bmp.json";
  auto saved = nlohmann::json::parse(read_text(cat));
  saved["results"]["saliency"]["sparseness"] = 0.125;
  std::ofstream(cat) << saved.dump();
  fs::remove(out() / "images" / "hot_dog.jpg.json");

  const Outcome r = evaluate(args({"--metric", "sparseness"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 of 2 images reused"), std::string::npos) << r.out;
  const auto json = nlohmann::json::parse(read_text(out() / "results.json"));
  EXPECT_EQ(json["images"]["cat.bmp"]["saliency"]["sparseness"], 0.125);
  EXPECT_TRUE(fs::exists(out() / "images" / "hot_dog.jpg.json"));

  // Other settings make the saved results stale: everything is computed again.
  const Outcome changed = evaluate(args({"--metric", "sparseness,entropy"}));
  ASSERT_EQ(changed.code, 0) << changed.err;
  EXPECT_EQ(changed.out.find("reused"), std::string::npos) << changed.out;
}

// Focus without `others` draws its two images of other classes from the run's images: two
// photos leave each one other, too few.
TEST_F(CliEvaluate, FocusNeedsTwoOtherClassesInTheDataSet) {
  REQUIRE_CLI();
  const Outcome r = evaluate(args({"--metric", "focus"}));
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("fewer than 2 images of classes other than"), std::string::npos) << r.err;
  fs::copy_file(bundled("images/parrot.jpg"), images() / "parrot.jpg");
  const Outcome three = evaluate(args({"--metric", "focus"}));
  EXPECT_EQ(three.code, 0) << three.err;
}

TEST_F(CliEvaluate, HelpListsEveryMetric) {
  REQUIRE_CLI();
  const Outcome r = evaluate({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const auto& metric : metrics::registry())
    EXPECT_NE(r.out.find(" " + metric.name), std::string::npos) << metric.name;
  EXPECT_NE(r.out.find("over the data set: sufficiency, consistency, mege"), std::string::npos);
}

TEST_F(CliEvaluate, RejectsUnknownMetricNames) {
  REQUIRE_CLI();
  expect_rejected(evaluate(args({"--metric", "deletion,accuracy"})), "unknown metric 'accuracy'");
}

TEST_F(CliEvaluate, RejectsAnEmptyFolder) {
  REQUIRE_CLI();
  fs::create_directories(dir / "empty");
  std::ofstream(dir / "empty" / "notes.txt") << "no pictures here";
  auto a = args({"--metric", "sparseness"});
  a[1] = (dir / "empty").string();
  expect_rejected(evaluate(a), "no images in " + (dir / "empty").string());
}

TEST_F(CliEvaluate, RejectsBoxesOfUnknownImages) {
  REQUIRE_CLI();
  const fs::path boxes =
      write("boxes.json", R"({"cat.bmp": [[0, 0, 10, 10]], "dog.jpg": [[0, 0, 10, 10]]})");
  expect_rejected(evaluate(args({"--metric", "iou", "--boxes", boxes.string()})),
                  boxes.string() + " names unknown image 'dog.jpg'");
}

TEST_F(CliEvaluate, RejectsBoxesOutsideTheImage) {
  REQUIRE_CLI();
  const fs::path boxes = write("boxes.json", R"({"cat.bmp": [[400, 100, 600, 200]]})");
  const Outcome r = evaluate(args({"--metric", "iou", "--boxes", boxes.string()}));
  expect_rejected(r, boxes.string());
  EXPECT_NE(r.err.find("outside 'cat.bmp' (512x341)"), std::string::npos) << r.err;
}

TEST_F(CliEvaluate, RejectsMalformedBoxes) {
  REQUIRE_CLI();
  const fs::path broken = write("broken.json", R"({"cat.bmp": [[0, 0, 10]]})");
  expect_rejected(evaluate(args({"--metric", "iou", "--boxes", broken.string()})), broken.string());
  const fs::path invalid = write("invalid.json", "{not json");
  expect_rejected(evaluate(args({"--metric", "iou", "--boxes", invalid.string()})),
                  invalid.string() + " is not valid JSON");
}

TEST_F(CliEvaluate, RejectsMasksOfTheWrongSizeOrOfNoImage) {
  REQUIRE_CLI();
  fs::create_directories(dir / "masks");
  write_image(dir / "masks" / "cat.png", at::zeros({10, 10, 3}, at::kByte));
  const Outcome r =
      evaluate(args({"--metric", "pointing-game", "--masks", (dir / "masks").string()}));
  expect_rejected(r, (dir / "masks" / "cat.png").string());
  EXPECT_NE(r.err.find("is 10x10 but its image cat.bmp is 512x341"), std::string::npos) << r.err;

  fs::remove(dir / "masks" / "cat.png");
  write_image(dir / "masks" / "parrot.png", at::zeros({10, 10, 3}, at::kByte));
  expect_rejected(
      evaluate(args({"--metric", "pointing-game", "--masks", (dir / "masks").string()})),
      (dir / "masks" / "parrot.png").string() + " belongs to no image");
}

TEST_F(CliEvaluate, RejectsLocalisationWithoutAnnotations) {
  REQUIRE_CLI();
  expect_rejected(evaluate(args({"--metric", "pointing-game"})), "--boxes FILE, --masks DIR");
  expect_rejected(evaluate(args({"--metric", "nss"})), "--gaze DIR");
}

TEST_F(CliEvaluate, AgreementWithGazeMapsAndMasks) {
  REQUIRE_CLI();
  // A gaze map as .npy for the cat, a mask image for the hot dog, both in original pixels.
  fs::create_directories(dir / "gaze");
  fs::create_directories(dir / "masks");
  at::Tensor gaze = at::zeros({341, 512}, at::kDouble);
  gaze.slice(0, 100, 200).slice(1, 200, 300).fill_(1.0);
  write_npy(dir / "gaze" / "cat.npy", gaze);
  at::Tensor mask = at::zeros({384, 512, 3}, at::kByte);
  mask.slice(0, 100, 300).slice(1, 100, 400).fill_(255);
  write_image(dir / "masks" / "hot_dog.png", mask);
  const Outcome r = evaluate(args({"--metric", "cc,auc-judd,relevance-mass", "--gaze",
                                   (dir / "gaze").string(), "--masks", (dir / "masks").string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto json = nlohmann::json::parse(read_text(out() / "results.json"));
  EXPECT_TRUE(json["images"]["cat.bmp"]["saliency"]["auc_judd"].is_number());
  EXPECT_TRUE(json["images"]["hot_dog.jpg"]["saliency"]["auc_judd"].is_null());
  EXPECT_TRUE(json["images"]["hot_dog.jpg"]["saliency"]["relevance_mass_accuracy"].is_number());
  EXPECT_EQ(json["summary"]["saliency"]["cc"]["n"], 1);
}

}  // namespace
}  // namespace whitebox::test
