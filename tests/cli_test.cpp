// The whitebox command-line tool, run as a user would: a child process, its exit code, its output.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "onnx_builder.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

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
  ProcessResult r = run_process(WHITEBOX_CLI, args);
  return {r.code, std::move(r.out), std::move(r.err)};
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

// The global options may also follow the command, as the README's examples write them.
TEST(Cli, GlobalOptionsAfterTheCommand) {
  REQUIRE_CLI();
  const Result before = run_cli({"--model", small_model(), "predict", photo("chelsea.png"), "-k", "2"});
  const Result after = run_cli({"predict", photo("chelsea.png"), "-k", "2", "--model", small_model()});
  const Result bundled = run_cli({"predict", photo("chelsea.png"), "-k", "2"});
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  EXPECT_NE(after.out, bundled.out);
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
  // Each layer by the name results report and its node's name, both of which --layer takes.
  EXPECT_NE(r.out.find("--layer takes"), std::string::npos);
  EXPECT_NE(r.out.find("y26_conv_2d                   Clip_53"), std::string::npos) << r.out;
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
                            photo("coffee.png"), "--method", "saliency,gradcam", "--batch", "2", "--target", "top2", "--colormap",
                            "viridis", "--out", out.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "chelsea_gradcam.npy"));
  EXPECT_TRUE(fs::exists(out / "coffee_gradcam.npy"));
  EXPECT_TRUE(fs::exists(out / "coffee_grid.png"));
}

// A misspelt parameter is an error before any work, naming the closest valid one.
TEST(Cli, MisspeltParameterNamesTheValidOne) {
  REQUIRE_CLI();
  expect_one_line_error(run_cli({"--model", small_model(), "explain", "--param", "stpes=3"}),
                        "did you mean 'steps' (a parameter of integrated-gradients");
  expect_one_line_error(run_cli({"--model", small_model(), "explain", "--method", "ig", "--param", "stpes=3"}),
                        "unknown parameter 'stpes' for integrated-gradients");
}

TEST(Cli, VersionAndHelp) {
  REQUIRE_CLI();
  const Result version = run_cli({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("whitebox"), std::string::npos);
  const Result help = run_cli({"explain", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--method"), std::string::npos);
  // The build's MPI line closes the top-level help only; every --target says what ranks are.
  EXPECT_EQ(help.out.find("MPI:"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("rank:K"), std::string::npos) << help.out;
  EXPECT_NE(run_cli({"--help"}).out.find("MPI:"), std::string::npos);
}

// More threads than the machine has: a note, and the hardware's count.
TEST(Cli, ThreadsAreCappedAtTheHardware) {
  REQUIRE_CLI();
  const Result r = run_cli({"--model", small_model(), "--threads", "4096", "predict", photo("chelsea.png")});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("whitebox: note: --threads 4096 is more than the"), std::string::npos) << lines[0];
  EXPECT_EQ(run_cli({"--model", small_model(), "--threads", "1", "predict", photo("chelsea.png")}).err, "");
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

TEST(Cli, MethodsListsEveryMethod) {
  REQUIRE_CLI();
  const Result r = run_cli({"methods"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string family : {"black-box", "gradient", "relevance", "cam"}) {
    EXPECT_NE(r.out.find("\n" + family + " ("), std::string::npos) << family;
  }
  for (const auto& method : methods()) {
    EXPECT_NE(r.out.find(" " + method.name + " "), std::string::npos) << method.name;
  }
}

TEST(Cli, MethodsShowsOneInFull) {
  REQUIRE_CLI();
  const Result r = run_cli({"methods", "gradcam"});
  ASSERT_EQ(r.code, 0) << r.err;
  // The citation, wrapped to the terminal's width.
  EXPECT_NE(r.out.find("Selvaraju et al. Grad-CAM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ICCV 2017"), std::string::npos);
  EXPECT_NE(r.out.find("layer=auto"), std::string::npos);
  // The formula in Unicode, no LaTeX left.
  EXPECT_NE(r.out.find("ReLU(Σₖ"), std::string::npos) << r.out;
  for (const std::string method : {"gradcam", "integrated-gradients", "lrp-epsilon", "sobol"}) {
    const Result shown = run_cli({"methods", method});
    EXPECT_FALSE(std::regex_search(shown.out, std::regex(R"(\\[a-zA-Z]|\$|```)"))) << shown.out;
  }
  const Result alias = run_cli({"methods", "grad-cam"});
  EXPECT_EQ(alias.code, 0);
  EXPECT_EQ(alias.out, r.out);
}

TEST(Cli, MethodsUnknownName) {
  REQUIRE_CLI();
  const Result r = run_cli({"methods", "no-such-method"});
  expect_one_line_error(r, "no-such-method");
  EXPECT_NE(r.err.find("whitebox methods"), std::string::npos);  // where the names are listed
  EXPECT_NE(run_cli({"methods", "gradcan"}).err.find("did you mean 'gradcam'"), std::string::npos);
  expect_one_line_error(run_cli({"methods", "gradcam", "--markdown"}), "--markdown");
}

TEST(Cli, MethodsDocHasEveryFormula) {
  REQUIRE_CLI();
  const Result r = run_cli({"methods", "--markdown"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& method : methods()) {
    const auto start = r.out.find("\n### " + method.name + "\n");
    ASSERT_NE(start, std::string::npos) << method.name;
    const std::string section = r.out.substr(start, r.out.find("\n### ", start + 1) - start);
    EXPECT_EQ(section.find("No formula written yet"), std::string::npos)
        << method.name << " has no mathematics in src/methods/mathematics.inc";
    EXPECT_NE(section.find("```math"), std::string::npos) << method.name;
    EXPECT_NE(section.find(method.citation), std::string::npos) << method.name;
    for (const auto& h : method.hyperparameters) {
      EXPECT_NE(section.find("| `" + h.name + "` |"), std::string::npos) << method.name << " " << h.name;
    }
  }
}

TEST(Cli, MethodsDocIsUpToDate) {
  REQUIRE_CLI();
  const Result r = run_cli({"methods", "--markdown"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string committed = read_text(fs::path(WHITEBOX_SOURCE_DIR) / "docs" / "methods.md");
  if (r.out == committed) return;
  // Point at the first difference rather than printing two long documents.
  std::stringstream generated(r.out), file(committed);
  std::string a, b;
  int line = 1;
  while (std::getline(generated, a) && std::getline(file, b) && a == b) ++line;
  ADD_FAILURE() << "docs/methods.md is out of date (first difference at line " << line
                << "): regenerate with `build/apps/whitebox/whitebox methods --markdown > docs/methods.md`";
}

// ---- relevance maps are bounded, finite, and a numerical failure is one line -------------------

const char* const kRelevanceMethods =
    "lrp,lrp-epsilon-plus,lrp-epsilon-gamma-box,lrp-epsilon-alpha2-beta1,"
    "lrp-epsilon-alpha2-beta1-flat,lrp-0,lrp-epsilon,deep-taylor,deeplift,deeplift-revealcancel,"
    "excitation-backprop,contrastive-excitation-backprop";

// Every relevance method on every bundled photo with the bundled MobileNetV2 (real weights: large
// biases, signed bottlenecks, saturated ReLU6): finite maps, and an LRP conservation figure that
// is a number in every JSON sidecar.
TEST(CliRelevance, BundledPhotosGiveFiniteMapsAndConservation) {
  REQUIRE_CLI();
  TempDir out;
  std::vector<std::string> args = {"explain", "--method", kRelevanceMethods, "--out", out.path().string()};
  const std::vector<std::string> photos = {"chelsea", "coffee", "parrot", "hot_dog", "cat", "bird"};
  for (const std::string name : {"chelsea.png", "coffee.png", "parrot.jpg", "hot_dog.jpg", "cat.bmp", "bird.bmp"}) {
    args.push_back(photo(name));
  }
  const Result r = run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  std::stringstream methods(kRelevanceMethods);
  for (std::string method; std::getline(methods, method, ',');) {
    for (const std::string& stem : photos) {
      SCOPED_TRACE(stem + " " + method);
      const auto meta = nlohmann::json::parse(read_text(out / (stem + "_" + method + ".json")));
      if (method.find("lrp") == 0 || method == "deep-taylor") {
        ASSERT_TRUE(meta["stats"]["conservation"].is_number_float()) << meta["stats"].dump();
        EXPECT_TRUE(std::isfinite(meta["stats"]["conservation"].get<double>()));
      }
      const at::Tensor a = read_npy(out / (stem + "_" + method + ".npy"));
      EXPECT_TRUE(at::isfinite(a).all().item<bool>());
    }
  }
}

// The generalized gamma rule keeps the relevance of the bundled MobileNetV2 bounded: every pixel's
// below the target logit (it was 5e18, with conservation 1e18, with gamma scaling W + g W+
// whatever the signs of the inputs and outputs).
TEST(CliRelevance, GammaBoxWithBiasesAbsorbedIsBounded) {
  REQUIRE_CLI();
  TempDir out;
  const Result r = run_cli({"explain", "--method", "lrp-epsilon-gamma-box", "--param", "bias=absorb",
                            "--out", out.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto meta = nlohmann::json::parse(read_text(out / "chelsea_lrp-epsilon-gamma-box.json"));
  const double logit = meta["logit"].get<double>();
  const double conservation = meta["stats"]["conservation"].get<double>();
  EXPECT_GT(conservation, 0.0);
  EXPECT_LT(conservation, 1.0);
  const at::Tensor a = read_npy(out / "chelsea_lrp-epsilon-gamma-box.npy");
  EXPECT_LT(a.abs().max().item<double>(), logit);
}

// A model whose forward pass overflows float32 (two 1x1 convolutions with weights 1e20): every
// method's result would be inf or nan. The CLI names the method (and for a sweep the node), exits
// non-zero with one line, and writes no map.
TEST(CliRelevance, ValuesThatAreNotFiniteAreOneLineAndWriteNothing) {
  REQUIRE_CLI();
  TempDir dir;
  onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
  auto* graph = model.mutable_graph();
  std::string previous = "x";
  for (const std::string name : {"conv_a", "conv_b"}) {
    auto* weight = graph->add_initializer();
    weight->set_name(name + "_w");
    weight->set_data_type(onnx::TensorProto::FLOAT);
    for (int d : {3, 3, 1, 1}) weight->add_dims(d);
    for (int i = 0; i < 9; ++i) weight->add_float_data(1e20f);
    auto* node = graph->add_node();
    node->set_op_type("Conv");
    node->set_name(name);
    node->add_input(previous);
    node->add_input(name + "_w");
    node->add_output(name + "_y");
    previous = name + "_y";
  }
  for (const std::string op : {"GlobalAveragePool", "Flatten"}) {
    auto* node = graph->add_node();
    node->set_op_type(op);
    node->set_name(op);
    node->add_input(previous);
    node->add_output(op + "_y");
    previous = op + "_y";
  }
  graph->add_output()->set_name(previous);
  const fs::path file = dir / "overflow.onnx";
  std::ofstream(file, std::ios::binary) << model.SerializeAsString();
  for (const std::string method : {"saliency", "lrp"}) {
    TempDir out;
    const Result r = run_cli({"--model", file.string(), "explain", "--method", method, "--out",
                              out.path().string()});
    expect_one_line_error(r, method + ": ");
    EXPECT_NE(r.err.find("not finite"), std::string::npos) << r.err;
    if (method == "lrp") EXPECT_NE(r.err.find("node '"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out / ("chelsea_" + method + ".npy")));
    EXPECT_FALSE(fs::exists(out / ("chelsea_" + method + ".png")));
  }
}

}  // namespace
}  // namespace whitebox::test
