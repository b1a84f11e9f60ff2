// whitebox tcav, run as a user would: folders in, the table and the JSON out (the library's
// scores), and errors as one line. On the small bundled MobileNet with folders the test writes.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"
#include "whitebox/tcav.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

#ifdef WHITEBOX_CLI
const std::string kLayer = "y4_conv_2d";

// Folders of images: crops of the cat photo (a concept, and the class's images), noise (another
// concept) and more noise (the random images).
struct Folders {
  TempDir dir;
  Folders() {
    const at::Tensor cat = read_image(bundled("images/chelsea.png"));
    const auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    const auto write = [&](const std::string& folder, int count, bool photo) {
      fs::create_directories(dir / folder);
      for (int i = 0; i < count; ++i) {
        const at::Tensor picture =
            photo ? cat.narrow(0, 8 * i, cat.size(0) - 48).narrow(1, 12 * i, cat.size(1) - 64)
                  : at::randint(0, 256, {64, 64, 3}, gen, at::kByte);
        write_image(dir / folder / (std::to_string(i) + ".png"), picture.contiguous());
      }
    };
    write("cats", 5, true);
    write("noise", 5, false);
    write("random", 8, false);
    write("class", 3, true);
    fs::create_directories(dir / "empty");
  }
  std::string operator[](const std::string& folder) const { return (dir / folder).string(); }
};

ProcessResult tcav_cli(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--model", bundled("mobilenet_v1_0.25_128.onnx").string(),
                                  "tcav"};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(WHITEBOX_CLI, all);
}

TEST(CliTcav, PrintsTheTableAndWritesTheLibrarysScores) {
  const Folders f;
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const at::Tensor images = read_inputs(f["class"], model.preprocessing);
  const int64_t cls = model.logits(images.narrow(0, 0, 1)).argmax(1).item<int64_t>();
  const fs::path out = f.dir / "tcav.json";
  const ProcessResult r =
      tcav_cli({"--layer", kLayer, "--concept", f["cats"], "--concept", f["noise"] + "/",
                "--random", f["random"], "--images", f["class"], "--target", std::to_string(cls),
                "--runs", "3", "--seed", "4", "--out", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("TCAV of "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ncats "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nnoise "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nrandom "), std::string::npos) << r.out;

  nlohmann::json json;
  std::ifstream(out) >> json;
  EXPECT_EQ(json["class"].get<int64_t>(), cls);
  EXPECT_EQ(json["layer"], kLayer);
  EXPECT_EQ(json["examples"], 2);  // a quarter of 5 and of 8 / 2, at least 2
  ASSERT_EQ(json["concepts"].size(), 2u);
  EXPECT_EQ(json["concepts"][1]["name"], "noise");

  TcavOptions options;
  options.runs = 3;
  options.seed = 4;
  const TcavResult found =
      tcav(model, kLayer,
           {{"cats", read_inputs(f["cats"], model.preprocessing)},
            {"noise", read_inputs(f["noise"], model.preprocessing)}},
           read_inputs(f["random"], model.preprocessing), images, Target::index(cls), options);
  EXPECT_EQ(json["random"]["scores"].get<std::vector<double>>(), found.random_scores);
  for (size_t c = 0; c < 2; ++c) {
    const auto& listed = json["concepts"][c];
    EXPECT_EQ(listed["scores"].get<std::vector<double>>(), found.concepts[c].scores);
    EXPECT_EQ(listed["cav_accuracies"].get<std::vector<double>>(),
              found.concepts[c].cav_accuracies);
    EXPECT_EQ(listed["p_value"].get<double>(), found.concepts[c].p_value);
    EXPECT_EQ(listed["significant"].get<bool>(), found.concepts[c].significant);
  }
}

TEST(CliTcav, BadInputIsOneLine) {
  const Folders f;
  // The arguments of a good run but `layer`, with `more` after them (a repeatable option adds up).
  const auto expect_error = [&](const std::string& layer, const std::vector<std::string>& more,
                                const std::string& mention) {
    std::vector<std::string> all = {"--layer",   layer,      "--concept", f["cats"],  "--random",
                                    f["random"], "--images", f["class"],  "--target", "281"};
    all.insert(all.end(), more.begin(), more.end());
    const ProcessResult r = tcav_cli(all);
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  };
  expect_error(kLayer, {"--runs", "1"}, "--runs");
  expect_error("no_such_layer", {}, "no_such_layer");
  expect_error(kLayer, {"--concept", f["empty"]}, "no images in");
  expect_error(kLayer, {"--concept", f["nowhere"]}, "nowhere");
  expect_error(kLayer, {"--concept", f["cats"] + "/"}, "two --concept folders are named 'cats'");
  expect_error(kLayer, {"--examples", "5"}, "concept 'cats' has 5 images");
  const ProcessResult missing = tcav_cli({"--layer", kLayer, "--concept", f["cats"]});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("--random"), std::string::npos) << missing.err;
}
#endif

}  // namespace
}  // namespace whitebox::test
