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

}  // namespace
}  // namespace whitebox::test
