// Bad input gets a typed exception with a message that names the problem.
#include <gtest/gtest.h>

#include <fstream>

#include "onnx_builder.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"

namespace whitebox::test {
namespace {

std::filesystem::path temp_file(const std::string& name, const std::string& bytes) {
  auto path = std::filesystem::temp_directory_path() / ("whitebox_test_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

template <typename Exception, typename F>
std::string message_of(F f) {
  try {
    f();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

TEST(Errors, MissingModelFile) {
  auto msg = message_of<FileError>([] { Model::load("/nonexistent/model.onnx"); });
  EXPECT_NE(msg.find("/nonexistent/model.onnx"), std::string::npos) << msg;
}

TEST(Errors, NotAnOnnxFile) {
  auto file = temp_file("text.onnx", "this is not a protobuf\n");
  auto msg = message_of<ModelFormatError>([&] { Model::load(file); });
  EXPECT_NE(msg.find("not an ONNX model"), std::string::npos) << msg;
}

TEST(Errors, TruncatedOnnxFile) {
  const std::string bytes = read_bytes(data_dir() / "mobilenet_v1_0.25_128.onnx");
  auto file = temp_file("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(Model::load(file), ModelFormatError);
}

TEST(Errors, UnsupportedOperatorNamesTypeNodeAndOpset) {
  onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
  auto* graph = model.mutable_graph();
  auto* relu = graph->add_node();
  relu->set_op_type("Relu");
  relu->set_name("first");
  relu->add_input("x");
  relu->add_output("r");
  auto* node = graph->add_node();
  node->set_op_type("NonMaxSuppression");
  node->set_name("the_odd_one");
  node->add_input("r");
  node->add_output("y");
  graph->add_output()->set_name("y");
  auto file = temp_file("unsupported.onnx", model.SerializeAsString());
  try {
    Model::load(file);
    FAIL() << "expected UnsupportedOperator";
  } catch (const UnsupportedOperator& e) {
    EXPECT_EQ(e.op_type(), "NonMaxSuppression");
    EXPECT_EQ(e.node(), "the_odd_one");
    EXPECT_EQ(e.opset(), 13);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("NonMaxSuppression"), std::string::npos);
    EXPECT_NE(msg.find("the_odd_one"), std::string::npos);
    EXPECT_NE(msg.find("opset 13"), std::string::npos);
  }
}

TEST(Errors, WrongInputShape) {
  const Model model = Model::load(data_dir() / "mobilenet_v1_0.25_128.onnx");
  auto msg = message_of<InputError>([&] { model.forward(at::zeros({1, 3, 224, 224})); });
  EXPECT_NE(msg.find("128"), std::string::npos) << msg;
  EXPECT_THROW(model.forward(at::zeros({1, 1, 128, 128})), InputError);
  EXPECT_THROW(model.forward(at::zeros({3, 128, 128})), InputError);
}

TEST(Errors, UnknownLayerName) {
  const Model model = Model::load(data_dir() / "mobilenet_v1_0.25_128.onnx");
  auto msg = message_of<LookupError>([&] { model.graph().resolve("no_such_layer"); });
  EXPECT_NE(msg.find("no_such_layer"), std::string::npos) << msg;
}

TEST(Errors, TargetClassOutOfRange) {
  const Model model = Model::load(data_dir() / "mobilenet_v1_0.25_128.onnx");
  const Trace trace = model.forward(at::zeros({1, 3, 128, 128}));
  EXPECT_THROW(model.gradient(trace, {1000}), ArgumentError);
  EXPECT_THROW(model.gradient(trace, {-1}), ArgumentError);
}

// Initializers whose declared shape cannot be: the size is checked before it is multiplied out
// (dims 2^32 x 2^32 overflowed int64 and reported "needs 0 bytes"), and data of the wrong size is
// a ModelFormatError naming the tensor, never an ATen error.
TEST(Errors, InitializerShapesThatCannotBe) {
  struct Case {
    std::vector<int64_t> dims;
    bool raw;
    int values;
    std::string mention;
  };
  const std::vector<Case> cases = {
      {{int64_t{1} << 32, int64_t{1} << 32}, true, 0, "which no tensor can have"},
      {{6900000000000000000, 72}, false, 4, "which no tensor can have"},
      {{-1, 3}, true, 0, "which no tensor can have"},
      {{2, 2}, false, 3, "has 3 elements"},
      {{2, 2}, true, 3, "has 12 bytes"},
  };
  for (const Case& c : cases) {
    onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
    auto* graph = model.mutable_graph();
    auto* weight = graph->add_initializer();
    weight->set_name("odd_weight");
    weight->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : c.dims) weight->add_dims(d);
    if (c.raw) {
      weight->set_raw_data(std::string(static_cast<size_t>(c.values) * 4, '\0'));
    } else {
      for (int i = 0; i < c.values; ++i) weight->add_float_data(1.0f);
    }
    // Names as strings: GCC 12 warns falsely about adding one-character literals here.
    const std::string input = "x", output = "y";
    auto* node = graph->add_node();
    node->set_op_type("Add");
    node->set_name("add");
    node->add_input(input);
    node->add_input(weight->name());
    node->add_output(output);
    graph->add_output()->set_name(output);
    const auto file = temp_file("odd_initializer.onnx", model.SerializeAsString());
    const std::string msg = message_of<ModelFormatError>([&] { Model::load(file); });
    EXPECT_NE(msg.find("'odd_weight'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.mention), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace whitebox::test
