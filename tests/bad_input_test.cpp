// Rows of the bad-input table (docs/hardening.md) that no other test file covers: references to
// files outside the model, images that declare more pixels than any photo has, and two runs of
// `whitebox evaluate` writing into one folder at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "onnx_builder.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

std::string message_of_load(const fs::path& file) {
  try {
    Model::load(file);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// An initializer whose data lives in a file named by the model (ONNX external data) is refused,
// whatever the path: a model must not make whitebox read /etc/passwd or ../../secret.
TEST(BadInput, ExternalDataIsRefusedNamingTheTensor) {
  TempDir dir;
  for (const std::string location : {"weights.bin", "../../etc/passwd", "/etc/passwd"}) {
    onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
    auto* graph = model.mutable_graph();
    auto* weight = graph->add_initializer();
    weight->set_name("outside");
    weight->set_data_type(onnx::TensorProto::FLOAT);
    weight->add_dims(3);
    weight->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = weight->add_external_data();
    entry->set_key("location");
    entry->set_value(location);
    add_output_reading(model, weight->name());
    const fs::path file = dir / "external.onnx";
    std::ofstream(file, std::ios::binary) << model.SerializeAsString();
    const std::string msg = message_of_load(file);
    EXPECT_NE(msg.find("'outside'"), std::string::npos) << location << ": " << msg;
    EXPECT_NE(msg.find("external data"), std::string::npos) << location << ": " << msg;
  }
}

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string big_endian(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// A PNG chunk with its length and CRC.
std::string chunk(const std::string& type, const std::string& data) {
  return big_endian(static_cast<uint32_t>(data.size())) + type + data +
         big_endian(crc32(type + data));
}

// A well-formed PNG header declaring width x height 8-bit RGB pixels, and no pixel data.
std::string png_declaring(uint32_t width, uint32_t height) {
  const std::string header =
      big_endian(width) + big_endian(height) + std::string("\x08\x02\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("IEND", "");
}

// An image that declares 10^10 pixels is refused with the file named, before anything of that
// size is allocated; so is one whose pixel data is missing.
TEST(BadInput, ImagesDeclaringBillionsOfPixelsAreRefused) {
  TempDir dir;
  for (const auto& [width, height] :
       std::vector<std::array<uint32_t, 2>>{{100000, 100000}, {64, 64}}) {
    const fs::path file = dir / ("declared_" + std::to_string(width) + ".png");
    std::ofstream(file, std::ios::binary) << png_declaring(width, height);
    try {
      read_image(file);
      ADD_FAILURE() << "no error for " << width << " x " << height;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(file.filename().string()), std::string::npos)
          << e.what();
    }
  }
}

#ifdef WHITEBOX_CLI
// Two runs of evaluate into one folder at once: each image's results are written atomically
// (a temporary file renamed into place), so both runs succeed and every file left is complete.
TEST(CliBadInput, TwoRunsIntoOneFolderLeaveCompleteFiles) {
  TempDir dir;
  fs::create_directories(dir / "images");
  for (const char* name : {"cat.bmp", "hot_dog.jpg"}) {
    fs::copy_file(bundled(std::string("images/") + name), dir / "images" / name);
  }
  const std::vector<std::string> args = {"--threads",
                                         "1",
                                         "--model",
                                         bundled("mobilenet_v1_0.25_128.onnx").string(),
                                         "evaluate",
                                         "--images",
                                         (dir / "images").string(),
                                         "--method",
                                         "saliency",
                                         "--metric",
                                         "deletion",
                                         "--metric-param",
                                         "steps=8",
                                         "--out",
                                         (dir / "out").string()};
  std::array<ProcessResult, 2> runs;
  std::thread other([&] { runs[1] = run_process(WHITEBOX_CLI, args); });
  runs[0] = run_process(WHITEBOX_CLI, args);
  other.join();
  for (const ProcessResult& r : runs) EXPECT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir / "out" / "results.json");
  const nlohmann::json results = nlohmann::json::parse(in);
  EXPECT_EQ(results.at("images").size(), 2u);
  for (const auto& entry : fs::recursive_directory_iterator(dir / "out")) {
    EXPECT_NE(entry.path().extension(), ".tmp") << "a temporary file was left: " << entry.path();
  }
}

// A run killed while writing leaves "<file>.whitebox-<pid>-<n>.tmp": the next run removes it,
// unless the process that wrote it still runs (another run writing the same folder).
TEST(CliBadInput, KilledRunsLeaveTemporariesTheNextRunRemoves) {
  TempDir dir;
  fs::create_directories(dir / "images");
  fs::copy_file(bundled("images/cat.bmp"), dir / "images" / "cat.bmp");
  const fs::path results = dir / "out" / "images";
  fs::create_directories(results);
  const fs::path dead = results / "cat.bmp.json.whitebox-999999999-0.tmp";
  const fs::path live =
      results / ("cat.bmp.json.whitebox-" + std::to_string(::getpid()) + "-0.tmp");
  std::ofstream(dead) << "{\"half\": ";
  std::ofstream(live) << "{\"half\": ";
  const ProcessResult r = run_process(
      WHITEBOX_CLI, {"--threads", "1", "--model", bundled("mobilenet_v1_0.25_128.onnx").string(),
                     "evaluate", "--images", (dir / "images").string(), "--method", "saliency",
                     "--metric", "sparseness", "--out", (dir / "out").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(results / "cat.bmp.json"));
}
#endif

}  // namespace
}  // namespace whitebox::test
