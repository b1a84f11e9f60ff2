// The whitebox command-line tool, run as a user would: a child process, its exit code, its output.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/render.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("whitebox-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

struct Result {
  int code = -1;
  std::string out, err;
  std::vector<std::string> err_lines() const {
    std::vector<std::string> lines;
    std::stringstream in(err);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

#ifdef WHITEBOX_CLI
Result run_cli(const std::vector<std::string>& args) {
  TempDir capture;
  std::string command = quote(WHITEBOX_CLI);
  for (const auto& arg : args) command += " " + quote(arg);
  command += " >" + quote((capture / "out").string()) + " 2>" + quote((capture / "err").string());
  const int status = std::system(command.c_str());
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(capture / "out");
  result.err = read_text(capture / "err");
  return result;
}
#define REQUIRE_CLI() (void)0
#else
Result run_cli(const std::vector<std::string>&) { return {}; }
#define REQUIRE_CLI() GTEST_SKIP() << "the whitebox CLI is not built"
#endif

std::string small_model() { return bundled("mobilenet_v1_0.25_128.onnx").string(); }
std::string photo(const std::string& name) { return bundled("images/" + name).string(); }

// The line of rank 1 in `predict` output.
std::string top1_line(const std::string& out) {
  std::stringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields(line);
    std::string first;
    if (fields >> first && first == "1") return line;
  }
  return "";
}

// A failure: non-zero exit, exactly one line on stderr, in the whitebox format.
void expect_one_line_error(const Result& r, const std::string& mention = "") {
  EXPECT_NE(r.code, 0);
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("whitebox: error:", 0), 0u) << lines[0];
  if (!mention.empty()) EXPECT_NE(lines[0].find(mention), std::string::npos) << lines[0];
}

TEST(Cli, PredictDefault) {
  REQUIRE_CLI();
  const Result r = run_cli({"predict"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string top1 = top1_line(r.out);
  EXPECT_TRUE(top1.find("tabby") != std::string::npos || top1.find("tiger cat") != std::string::npos ||
              top1.find("Egyptian cat") != std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("chelsea.png"), std::string::npos);
}

TEST(Cli, PredictParrotIsMacaw) {
  REQUIRE_CLI();
  const Result r = run_cli({"predict", photo("parrot.jpg"), "--top", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(top1_line(r.out).find("macaw"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
}

TEST(Cli, PredictSeveralImages) {
  REQUIRE_CLI();
  const Result r = run_cli({"--model", small_model(), "--threads", "1", "predict", photo("chelsea.png"),
                            photo("coffee.png"), "-k", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("chelsea.png"), std::string::npos);
  EXPECT_NE(r.out.find("coffee.png"), std::string::npos);
}

TEST(Cli, InspectListsNodesAndCamCandidates) {
  REQUIRE_CLI();
  const Result r = run_cli({"inspect", small_model()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("opset"), std::string::npos);
  EXPECT_NE(r.out.find("parameters"), std::string::npos);
  EXPECT_NE(r.out.find("Conv"), std::string::npos);
  EXPECT_NE(r.out.find("CAM candidate"), std::string::npos);
  EXPECT_NE(r.out.find("default CAM layer"), std::string::npos);
  EXPECT_NE(r.out.find("[1, 1000]"), std::string::npos);
}

TEST(Cli, ExplainWritesFiles) {
  REQUIRE_CLI();
  TempDir out;
  const Result r = run_cli({"--model", small_model(), "explain", photo("chelsea.png"), "--method",
                            "saliency,gradcam", "--out", out.path().string(), "--param", "reduce=max"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string method : {"saliency", "gradcam"}) {
    for (const std::string suffix : {".png", "_heatmap.png", ".npy", ".json"}) {
      EXPECT_TRUE(fs::exists(out / ("chelsea_" + method + suffix))) << method << suffix;
    }
    const at::Tensor picture = read_image(out / ("chelsea_" + method + ".png"));
    EXPECT_EQ(picture.sizes(), at::IntArrayRef({128, 128, 3}));
    const auto meta = nlohmann::json::parse(read_text(out / ("chelsea_" + method + ".json")));
    EXPECT_EQ(meta.at("method"), method);
    EXPECT_GE(meta.at("class").get<int>(), 0);
    EXPECT_GT(meta.at("score").get<double>(), 0.0);
    EXPECT_TRUE(meta.contains("logit") && meta.contains("seconds") && meta.contains("label"));
  }
  // Raw attributions: over the input for saliency, over the CAM layer for Grad-CAM.
  const at::Tensor saliency = read_npy(out / "chelsea_saliency.npy");
  EXPECT_EQ(saliency.sizes(), at::IntArrayRef({3, 128, 128}));
  EXPECT_EQ(saliency.scalar_type(), at::kFloat);
  const at::Tensor gradcam = read_npy(out / "chelsea_gradcam.npy");
  EXPECT_EQ(gradcam.dim(), 2);
  EXPECT_TRUE(fs::exists(out / "chelsea_grid.png"));
  EXPECT_GT(read_image(out / "chelsea_grid.png").size(1), 3 * 128);
}

TEST(Cli, ExplainBatchOfTwo) {
  REQUIRE_CLI();
  TempDir out;
  // --param takes one pair: the word after it is an image again.
  const Result r = run_cli({"--model", small_model(), "explain", "--param", "reduce=max", photo("chelsea.png"),
                            photo("coffee.png"), "--method", "gradcam", "--batch", "2", "--target", "top2", "--colormap",
                            "viridis", "--out", out.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "chelsea_gradcam.npy"));
  EXPECT_TRUE(fs::exists(out / "coffee_gradcam.npy"));
  EXPECT_TRUE(fs::exists(out / "coffee_grid.png"));
}

TEST(Cli, VersionAndHelp) {
  REQUIRE_CLI();
  const Result version = run_cli({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("whitebox"), std::string::npos);
  const Result help = run_cli({"explain", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--method"), std::string::npos);
}

TEST(Cli, ParseErrorIsNonZero) {
  REQUIRE_CLI();
  EXPECT_NE(run_cli({"predict", "--no-such-option"}).code, 0);
  EXPECT_NE(run_cli({}).code, 0);  // a subcommand is required
}

TEST(Cli, ErrorMissingImage) {
  REQUIRE_CLI();
  expect_one_line_error(run_cli({"--model", small_model(), "predict", "/no/such/image.png"}),
                        "/no/such/image.png");
}

TEST(Cli, ErrorTextFileAsImage) {
  REQUIRE_CLI();
  TempDir dir;
  std::ofstream(dir / "notes.png") << "this is not a picture\n";
  expect_one_line_error(run_cli({"--model", small_model(), "predict", (dir / "notes.png").string()}),
                        "notes.png");
}

TEST(Cli, ErrorMissingModel) {
  REQUIRE_CLI();
  expect_one_line_error(run_cli({"--model", "/no/such/model.onnx", "predict"}));
  expect_one_line_error(run_cli({"inspect", "/no/such/model.onnx"}));
}

TEST(Cli, ErrorTruncatedModel) {
  REQUIRE_CLI();
  TempDir dir;
  const std::string whole = read_text(small_model());
  std::ofstream(dir / "half.onnx", std::ios::binary).write(whole.data(), static_cast<std::streamsize>(whole.size() / 2));
  expect_one_line_error(run_cli({"--model", (dir / "half.onnx").string(), "predict", photo("chelsea.png")}));
}

TEST(Cli, ErrorUnknownMethod) {
  REQUIRE_CLI();
  TempDir out;
  expect_one_line_error(run_cli({"--model", small_model(), "explain", "--method", "saliency,no-such-method",
                                 "--out", out.path().string()}),
                        "no-such-method");
}

TEST(Cli, ErrorUnknownLayer) {
  REQUIRE_CLI();
  TempDir out;
  expect_one_line_error(run_cli({"--model", small_model(), "explain", "--method", "gradcam", "--layer",
                                 "no_such_layer", "--out", out.path().string()}),
                        "no_such_layer");
}

TEST(Cli, ErrorBadTarget) {
  REQUIRE_CLI();
  TempDir out;
  for (const std::string target : {"5000", "no such class label", "top0"}) {
    SCOPED_TRACE(target);
    expect_one_line_error(run_cli({"--model", small_model(), "explain", "--method", "saliency", "--target",
                                   target, "--out", out.path().string()}));
  }
}

TEST(Cli, ErrorUnknownColormap) {
  REQUIRE_CLI();
  TempDir out;
  expect_one_line_error(run_cli({"--model", small_model(), "explain", "--colormap", "rainbow", "--out",
                                 out.path().string()}),
                        "rainbow");
}

// The imaging functions the CLI is built on.

TEST(CliImaging, WriteReadRoundTrip) {
  TempDir dir;
  const at::Tensor picture = at::randint(0, 256, {5, 7, 3}, at::kByte);
  write_image(dir / "p.png", picture);
  EXPECT_TRUE(at::equal(read_image(dir / "p.png"), picture));
  EXPECT_THROW(write_image(dir / "p.nosuchformat", picture), FileError);
  EXPECT_THROW(write_image(dir / "missing-folder" / "p.png", picture), FileError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no leftovers
  EXPECT_THROW(read_image(dir / "absent.png"), FileError);
}

TEST(CliImaging, PreprocessCropsResizesNormalises) {
  // A 100x60 picture: the central crop is 0.5 * 60 = 30 pixels square.
  at::Tensor picture = at::zeros({60, 100, 3}, at::kByte);
  picture.slice(0, 15, 45).slice(1, 35, 65).fill_(255);
  Preprocessing p = Preprocessing::preset("unit", 16, 8);
  p.crop = 0.5;
  const Input input = preprocess(picture, p);
  EXPECT_EQ(input.tensor.sizes(), at::IntArrayRef({1, 3, 8, 16}));
  EXPECT_EQ(input.image.sizes(), at::IntArrayRef({8, 16, 3}));
  EXPECT_NEAR(input.tensor.min().item<double>(), 1.0, 1e-6);  // the crop is all white
  const Input imagenet = preprocess(picture, Preprocessing::preset("imagenet", 4, 4));
  EXPECT_NEAR(imagenet.tensor.min().item<double>(), (0 - 0.485) / 0.229, 1e-5);
}

TEST(CliImaging, ColorizeAndNormalize) {
  const at::Tensor diverging = colorize(at::tensor({-1.0f, 0.0f, 1.0f}).view({1, 3}), Colormap::RedBlue);
  EXPECT_TRUE(at::equal(diverging[0][0], at::tensor({0, 0, 255}, at::kByte)));
  EXPECT_TRUE(at::equal(diverging[0][1], at::tensor({255, 255, 255}, at::kByte)));
  EXPECT_TRUE(at::equal(diverging[0][2], at::tensor({255, 0, 0}, at::kByte)));
  const at::Tensor jet = colorize(at::ones({2, 2}), Colormap::Jet);
  EXPECT_GT(jet[0][0][0].item<int>(), jet[0][0][2].item<int>());  // jet's top is red, in RGB order

  const at::Tensor map = at::arange(1, 101, at::kFloat).view({10, 10});
  const at::Tensor clipped = normalize_map(map, Normalization::Absolute, 50.0);
  EXPECT_FLOAT_EQ(clipped.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(clipped[0][9].item<float>(), 10.0f / 50.0f);
  EXPECT_TRUE(at::equal(normalize_map(-map, Normalization::Positive), at::zeros({10, 10})));
  EXPECT_FLOAT_EQ(normalize_map(-map, Normalization::Signed).min().item<float>(), -1.0f);
  EXPECT_THROW(parse_colormap("rainbow"), LookupError);
  EXPECT_THROW(parse_normalization("log"), LookupError);

  const at::Tensor tiles = grid({at::zeros({20, 30, 3}, at::kByte), at::zeros({10, 10, 3}, at::kByte),
                                 at::zeros({20, 30, 3}, at::kByte)},
                                {"a", "b", "c"}, 2);
  EXPECT_GT(tiles.size(0), 2 * 20);
  EXPECT_GT(tiles.size(1), 2 * 30);
  EXPECT_EQ(overlay(at::zeros({20, 30, 3}, at::kByte), at::full({5, 5, 3}, 200, at::kByte), 0.5)
                .sizes(),
            at::IntArrayRef({20, 30, 3}));
}

}  // namespace
}  // namespace whitebox::test
