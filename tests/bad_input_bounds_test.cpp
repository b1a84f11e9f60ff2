// Hostile inputs that must be refused before they cost what they declare: windows with strides of
// 0 or pads of millions, constants and inputs of billions of elements, image headers declaring
// gigapixels, files that are not regular files, parameters of 1e9 steps; and inputs that used to
// give a silent wrong answer (docs/bad_inputs.md has the table).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "io/sidecar.hpp"
#include "onnx_builder.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"
#include "whitebox/image.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

// A float initializer of `dims`, every element `value`.
void add_initializer(onnx::ModelProto& model, const std::string& name,
                     const std::vector<int64_t>& dims, float value) {
  auto* t = model.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t count = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    count *= d;
  }
  for (int64_t i = 0; i < count; ++i) t->add_float_data(value);
}

// Appends a node reading `inputs`, writing `output`, with integer-list attributes; the output
// becomes the graph's.
void add_node(onnx::ModelProto& model, const std::string& op,
              const std::vector<std::string>& inputs,
              const std::map<std::string, std::vector<int64_t>>& attributes = {}) {
  auto* node = model.mutable_graph()->add_node();
  node->set_op_type(op);
  node->set_name(op + "_node");
  for (const auto& in : inputs) node->add_input(in);
  node->add_output(op + "_out");
  for (const auto& [name, values] : attributes) {
    auto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  model.mutable_graph()->clear_output();
  model.mutable_graph()->add_output()->set_name(op + "_out");
}

fs::path saved(const TempDir& dir, const onnx::ModelProto& model, const std::string& name) {
  const fs::path file = dir / name;
  std::ofstream(file, std::ios::binary) << model.SerializeAsString();
  return file;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The limits changed for as long as the object lives.
class LimitsChanged {
 public:
  explicit LimitsChanged(const std::function<void(Limits&)>& change) {
    Limits changed = before_;
    change(changed);
    set_limits(changed);
  }
  ~LimitsChanged() { set_limits(before_); }

 private:
  const Limits before_ = limits();
};

// Strides of 0 made ONNX's shape inference divide by zero (SIGFPE); pads of 3e6 were allocated
// before anything looked at them; a MaxPool's pads of 100000 gave ATen's "Dimension out of range".
TEST(BadInputBounds, WindowAttributesAreCheckedBeforeAnythingUsesThem) {
  TempDir dir;
  struct Case {
    std::string op;
    std::map<std::string, std::vector<int64_t>> attributes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"Conv", {{"strides", {0, 1}}}, "strides"},
      {"AveragePool", {{"kernel_shape", {2, 2}}, {"strides", {0, 0}}}, "strides"},
      {"Conv", {{"pads", {3000000, 0, 3000000, 0}}}, "pads"},
      {"Conv", {{"pads", {-3000000, 0, -3000000, 0}}}, "pads"},
      {"MaxPool", {{"kernel_shape", {2, 2}}, {"pads", {100000, 0, 0, 0}}}, "pads"},
      {"Conv", {{"kernel_shape", {5, 5}}}, "disagrees with the weight"},
  };
  for (const auto& c : cases) {
    onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
    std::vector<std::string> inputs = {"x"};
    if (c.op == "Conv") {
      add_initializer(model, "w", {4, 3, 3, 3}, 0.1f);
      inputs.push_back("w");
    }
    add_node(model, c.op, inputs, c.attributes);
    const std::string msg = message_of([&] { Model::load(saved(dir, model, "window.onnx")); });
    EXPECT_TRUE(has(msg, c.op + "_node") && has(msg, c.expected)) << c.op << ": " << msg;
  }
}

// A 253-byte model with ConstantOfShape [1, 3, 22000, 22000] took 5.7 GB while its constants were
// folded; a declared input of 20000 x 20000 pixels took 7 GB.
TEST(BadInputBounds, TensorsPastTheElementLimitAreRefusedBeforeAllocation) {
  TempDir dir;
  onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
  auto* shape = model.mutable_graph()->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(4);
  for (int64_t d : {1, 3, 22000, 22000}) shape->add_int64_data(d);
  add_node(model, "ConstantOfShape", {"shape"});
  std::string msg = message_of([&] { Model::load(saved(dir, model, "constant.onnx")); });
  EXPECT_TRUE(has(msg, "ConstantOfShape_node") && has(msg, "1452000000")) << msg;

  onnx::ModelProto tiled = onnx_model_with_input({1, 4});
  auto* repeats = tiled.mutable_graph()->add_initializer();
  repeats->set_name("repeats");
  repeats->set_data_type(onnx::TensorProto::INT64);
  repeats->add_dims(2);
  for (int64_t d : {1, 1000000000}) repeats->add_int64_data(d);
  add_node(tiled, "Tile", {"x", "repeats"});
  const Model tile = Model::load(saved(dir, tiled, "tile.onnx"));
  msg = message_of([&] { tile.logits(at::zeros({1, 4})); });
  EXPECT_TRUE(has(msg, "Tile_node") && has(msg, "elements")) << msg;

  // Found by fuzzing: the mean of an empty initializer of [2, 268435449, 0, 8064] over its last
  // axes, 2 GB, refused from the shapes before it is folded.
  msg = message_of([&] {
    Model::load(fs::path(WHITEBOX_SOURCE_DIR) / "fuzz" / "regressions" / "onnx_import" /
                "global-pool-of-an-empty-initializer.onnx");
  });
  EXPECT_TRUE(has(msg, "GlobalAveragePool") && has(msg, "536870898 elements")) << msg;

  onnx::ModelProto huge = onnx_model_with_input({1, 3, 20000, 20000});
  add_initializer(huge, "c", {1}, 1.0f);
  add_output_reading(huge, "c");
  msg = message_of([&] { Model::load(saved(dir, huge, "huge_input.onnx")); });
  EXPECT_TRUE(has(msg, "'x'") && has(msg, "1200000000")) << msg;
}

// A header-only TIFF: the first directory declares width x height, 8-bit RGB, nothing else.
std::string tiff_declaring(uint32_t width, uint32_t height) {
  std::string bytes("II*\0\x08\0\0\0", 8);
  const auto put16 = [&](uint32_t v) {
    bytes += {static_cast<char>(v), static_cast<char>(v >> 8)};
  };
  const auto put32 = [&](uint32_t v) {
    put16(v & 0xffff);
    put16(v >> 16);
  };
  put16(2);
  for (const auto& [tag, value] : {std::pair{256u, width}, std::pair{257u, height}}) {
    put16(tag);
    put16(4);  // LONG
    put32(1);
    put32(value);
  }
  put32(0);
  return bytes;
}

// A lossless WebP header declaring width x height.
std::string webp_declaring(uint32_t width, uint32_t height) {
  std::string bytes("RIFF\x40\0\0\0WEBPVP8L\x20\0\0\0\x2f", 21);
  const uint32_t bits = (width - 1) | ((height - 1) << 14);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(bits >> (8 * i)));
  bytes.append(16, '\0');
  return bytes;
}

// A 63 KB TIFF of 30000^2 pixels reached 7.9 GB, a 10 KB WebP of 16383^2 2.5 GB, and a truncated
// JPEG was decoded with grey rows. The pixel limit is a setting (WHITEBOX_MAX_IMAGE_PIXELS).
TEST(BadInputBounds, ImageBombsAndTruncatedImagesAreRefusedFromTheHeader) {
  TempDir dir;
  const std::map<std::string, std::string> bombs = {{"bomb.tif", tiff_declaring(30000, 30000)},
                                                    {"bomb.webp", webp_declaring(16383, 16383)}};
  for (const auto& [name, bytes] : bombs) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    const std::string msg = message_of([&] { read_image(dir / name); });
    EXPECT_TRUE(has(msg, name) && has(msg, "pixels")) << msg;
  }
  const std::string jpeg = read_text(bundled("images/hot_dog.jpg"));
  std::ofstream(dir / "cut.jpg", std::ios::binary) << jpeg.substr(0, jpeg.size() / 2);
  EXPECT_TRUE(has(message_of([&] { read_image(dir / "cut.jpg"); }), "truncated"));
  EXPECT_NO_THROW(read_image(bundled("images/hot_dog.jpg")));

  const std::string msg = message_of([&] {
    const LimitsChanged small([](Limits& l) { l.image_pixels = 1000; });
    read_image(bundled("images/cat.bmp"));
  });
  EXPECT_TRUE(has(msg, "cat.bmp") && has(msg, "WHITEBOX_MAX_IMAGE_PIXELS")) << msg;
  EXPECT_NO_THROW(read_image(bundled("images/cat.bmp")));
}

// /dev/zero as an image, an array or a labels file was read to 4.2 GB; a FIFO hung. Every file
// goes through read_file, which refuses both at once.
TEST(BadInputBounds, DevicesFifosAndFoldersAreRefusedWithoutReading) {
  TempDir dir;
  const fs::path fifo = dir / "pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const fs::path& file : {fs::path("/dev/zero"), fifo, dir.path()}) {
    for (const auto& [what, read] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"image", [&] { read_image(file); }},
             {"npy", [&] { read_npy(file); }},
             {"labels", [&] { read_labels(file); }},
             {"model", [&] { Model::load(file); }},
             {"list", [&] { read_list(file, Model::load(default_model())); }}}) {
      const std::string msg = message_of(read);
      EXPECT_TRUE(has(msg, file.string()) &&
                  (has(msg, "not a regular file") || has(msg, "is a folder")))
          << what << " " << file << ": " << msg;
    }
  }
  const std::string msg = message_of([&] {
    const LimitsChanged small([](Limits& l) { l.file_bytes = 100; });
    read_image(bundled("images/cat.bmp"));
  });
  EXPECT_TRUE(has(msg, "bytes, more than the 100")) << msg;
}

// IG steps, SmoothGrad samples, LIME samples and RISE masks of 1e9, seeds of 1e30 and a target
// of twenty digits are refused naming the parameter; a blur of sigma 1e300 too (UBSan saw the
// negation of INT64_MIN there).
TEST(BadInputBounds, ParametersPastTheirBoundsAreRefusedNamingThem) {
  const Model model = Model::load(bundled("mobilenet_v1_0.25_128.onnx"));
  const at::Tensor x = at::zeros({1, 3, 128, 128});
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"integrated-gradients", "steps", "1e9"},
      {"smoothgrad", "samples", "1000000000"},
      {"lime", "samples", "1e9"},
      {"rise", "masks", "1e9"},
      {"rise", "seed", "1e30"},
      {"integrated-gradients", "batch", "100000"},
  };
  for (const auto& [method, key, value] : cases) {
    const std::string msg =
        message_of([&] { explain(model, x, {method}, Target::top(), Params().set(key, value)); });
    EXPECT_TRUE(has(msg, key) && has(msg, value)) << method << " " << key << ": " << msg;
  }
  std::string msg = message_of([&] {
    explain(model, x, {"integrated-gradients"}, Target::top(),
            Params().set("baseline", "blurred").set("sigma", "1e300"));
  });
  EXPECT_TRUE(has(msg, "sigma")) << msg;
  msg = message_of([&] { Target::parse("99999999999999999999"); });
  EXPECT_TRUE(has(msg, "99999999999999999999")) << msg;
  msg = message_of([&] { Target::parse("top99999999999999999999"); });
  EXPECT_TRUE(has(msg, "top99999999999999999999")) << msg;
}

// The sidecar names its labels in the model's folder only: "/etc/passwd" printed that file's
// lines as class names. Keys of the wrong type name the key.
TEST(BadInputBounds, SidecarsReadNoFileOutsideTheModelsFolder) {
  TempDir dir;
  fs::create_directories(dir / "model");
  onnx::ModelProto model = onnx_model_with_input({1, 4});
  add_initializer(model, "c", {4}, 1.0f);
  add_output_reading(model, "c");
  const fs::path file = saved(dir, model, "model/m.onnx");
  std::ofstream(dir / "model" / "labels.txt") << "a\nb\nc\nd\n";
  std::ofstream(dir / "secret.txt") << "w\nx\ny\nz\n";
  fs::create_symlink(dir / "secret.txt", dir / "model" / "link.txt");
  for (const std::string labels :
       {"/etc/passwd", "../../../../etc/shadow", "../secret.txt", "link.txt"}) {
    std::ofstream(dir / "model" / "m.json") << nlohmann::json{{"labels", labels}}.dump();
    const std::string msg = message_of([&] { Model::load(file); });
    EXPECT_TRUE(has(msg, "m.json") && has(msg, "outside its folder")) << labels << ": " << msg;
  }
  std::ofstream(dir / "model" / "m.json") << R"({"labels": "labels.txt", "crop": 1})";
  EXPECT_EQ(Model::load(file).labels.size(), 4u);
  for (const std::string text : {R"({"crop": "big"})", R"({"labels": 3})", R"({"crop": 2})",
                                 R"({"lables": "labels.txt"})", R"([1, 2])", "{"}) {
    EXPECT_THROW(parse_sidecar(text, "m.json"), ModelFormatError) << text;
  }
}

// Answers that used to come back as numbers: a conv-only model's [1, 8, 32, 32] map as 8192
// classes, NaN weights as nan scores, two initializers of one name (the last won), an all-NaN
// gaze map (cc 0, sim 0.818).
TEST(BadInputBounds, WhatHasNoAnswerIsAnErrorNotANumber) {
  TempDir dir;
  onnx::ModelProto map = onnx_model_with_input({1, 8, 32, 32});
  add_initializer(map, "c", {1}, 1.0f);
  add_output_reading(map, "c");
  std::string msg = message_of([&] { Model::load(saved(dir, map, "map.onnx")); });
  EXPECT_TRUE(has(msg, "[1, 8, 32, 32]") && has(msg, "classifier")) << msg;

  onnx::ModelProto nan = onnx_model_with_input({1, 4});
  add_initializer(nan, "c", {4}, std::nanf(""));
  add_output_reading(nan, "c");
  const Model broken = Model::load(saved(dir, nan, "nan.onnx"));
  msg = message_of([&] { broken.logits(at::zeros({1, 4})); });
  EXPECT_TRUE(has(msg, "'add'") && has(msg, "not finite")) << msg;

  onnx::ModelProto twice = onnx_model_with_input({1, 4});
  add_initializer(twice, "c", {4}, 1.0f);
  add_initializer(twice, "c", {4}, 2.0f);
  add_output_reading(twice, "c");
  msg = message_of([&] { Model::load(saved(dir, twice, "twice.onnx")); });
  EXPECT_TRUE(has(msg, "two initializers") && has(msg, "'c'")) << msg;

  write_npy(dir / "gaze.npy", at::full({4, 4}, NAN));
  msg = message_of([&] { read_plane(dir / "gaze.npy"); });
  EXPECT_TRUE(has(msg, "gaze.npy") && has(msg, "not finite")) << msg;
}

// An error inside a kernel (ATen's broadcast check here) names the node it happened in.
TEST(BadInputBounds, ErrorsInTheForwardPassNameTheNode) {
  onnx::ModelProto model = onnx_model_with_input({1, -1});
  add_initializer(model, "c", {4}, 1.0f);
  add_output_reading(model, "c");
  TempDir dir;
  const Model loaded = Model::load(saved(dir, model, "free.onnx"));
  const std::string msg = message_of([&] { loaded.logits(at::zeros({1, 3})); });
  EXPECT_TRUE(has(msg, "node 'add' (Add)")) << msg;
}

// Escape sequences in names reach no terminal; text that is UTF-8 stays as it is.
TEST(BadInputBounds, PrintableEscapesControlsAndBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(printable("\xc2\x9b"
                      "2J"),
            "\\xc2\\x9b2J");  // C1 CSI
  EXPECT_EQ(printable("a\xff"
                      "b\xc3"),
            "a\\xffb\\xc3");
  EXPECT_TRUE(is_utf8("caf\xc3\xa9"));
  EXPECT_FALSE(is_utf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(is_utf8("\xff.png"));
}

// write_file replaces a link at the destination instead of writing through it, and leaves no
// temporary when it fails; remove_abandoned_temporaries removes its own dead temporaries only.
TEST(BadInputBounds, WritesNeverFollowLinksAndCleanUpOnlyTheirOwn) {
  TempDir dir;
  std::ofstream(dir / "victim.txt") << "keep";
  fs::create_symlink(dir / "victim.txt", dir / "map.npy");
  write_npy(dir / "map.npy", at::ones({2}));
  EXPECT_EQ(read_text(dir / "victim.txt"), "keep");
  EXPECT_FALSE(fs::is_symlink(dir / "map.npy"));
  EXPECT_TRUE(at::equal(read_npy(dir / "map.npy"), at::ones({2})));

  EXPECT_THROW(write_file(dir / "no_folder" / "x.json", "{}"), FileError);
  // A full disk, as a file-size limit: the write fails, the good file stays as it was, and no
  // temporary is left.
  write_file(dir / "good.json", "{\"good\": true}");
  struct rlimit before {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto ignored = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = before;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  EXPECT_THROW(write_file(dir / "good.json", std::string(100000, ' ')), FileError);
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, ignored);
  EXPECT_EQ(read_text(dir / "good.json"), "{\"good\": true}");
  const std::vector<std::string> kept = {"x.99999999999999999999.tmp", "notes.tmp",
                                         "a.whitebox-12x-0.tmp",
                                         "a.whitebox-" + std::to_string(::getpid()) + "-0.tmp"};
  for (const auto& name : kept) std::ofstream(dir / name) << "";
  std::ofstream(dir / "a.json.whitebox-999999999-3.tmp") << "{\"half\": ";
  remove_abandoned_temporaries(dir.path());
  for (const auto& name : kept) EXPECT_TRUE(fs::exists(dir / name)) << name;
  EXPECT_FALSE(fs::exists(dir / "a.json.whitebox-999999999-3.tmp"));
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, kept.size() + 3);  // the kept, victim.txt, map.npy and good.json
}

}  // namespace
}  // namespace whitebox::test
