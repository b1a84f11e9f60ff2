// Bad input gets a typed exception with a message that names the problem.
#include <gtest/gtest.h>

#include <array>
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
      // Empty, but its strides would multiply the other dims out (found by fuzz_onnx_import).
      {{0, int64_t{1} << 40, int64_t{1} << 40}, false, 0, "which no tensor can have"},
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
    add_output_reading(model, weight->name());
    const auto file = temp_file("odd_initializer.onnx", model.SerializeAsString());
    const std::string msg = message_of<ModelFormatError>([&] { Model::load(file); });
    EXPECT_NE(msg.find("'odd_weight'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.mention), std::string::npos) << msg;
  }
}

// The model of x -> `op_type` (with `inputs` and `outputs` as written) -> "y".
onnx::ModelProto one_node_onnx(const std::string& op_type, const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs) {
  onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
  auto* node = model.mutable_graph()->add_node();
  node->set_op_type(op_type);
  node->set_name("odd");
  for (const auto& in : inputs) node->add_input(in);
  for (const auto& out : outputs) node->add_output(out);
  model.mutable_graph()->add_output()->set_name("y");
  return model;
}

// A node with fewer inputs or outputs than its operator takes is refused at import with a
// ModelFormatError naming it, before any kernel factory reads its input 0 (an Abs or a Clip with
// no input reached a kernel factory that bound a reference to a null element; a Conv without its
// weight reached ATen with an undefined tensor).
TEST(Errors, NodesWithoutTheirInputsOrOutputs) {
  struct Case {
    std::string op_type;
    std::vector<std::string> inputs, outputs;
    std::string mention;
  };
  const std::vector<Case> cases = {
      {"Abs", {}, {"y"}, "has 0 inputs where it takes 1 input"},
      {"Clip", {}, {"y"}, "has 0 inputs where it takes 1 to 3 inputs"},
      {"Clip", {"", "", ""}, {"y"}, "has no first input"},
      {"Relu", {"x", "x"}, {"y"}, "has 2 inputs where it takes 1 input"},
      {"Conv", {"x"}, {"y"}, "it takes 2 to 3 inputs"},
      {"Concat", {}, {"y"}, "it takes at least 1 input"},
      {"Conv", {"x", ""}, {"y"}, "omits its input 1 ('W'), which it requires"},
      {"Relu", {"x"}, {}, "has 0 outputs"},
      {"Relu", {"x"}, {""}, "has no first output"},
      {"Constant", {}, {}, "has 0 outputs"},
  };
  for (const Case& c : cases) {
    const auto file =
        temp_file("arity.onnx", one_node_onnx(c.op_type, c.inputs, c.outputs).SerializeAsString());
    const std::string msg = message_of<ModelFormatError>([&] { Model::load(file); });
    EXPECT_NE(msg.find("'odd' (" + c.op_type + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.mention), std::string::npos) << msg;
  }
}

// An operator at an opset where ONNX does not define it (here opset 0) has no schema to say what
// it needs: a one-input Conv at opset 0 reached its kernel, which read a weight past the inputs.
TEST(Errors, OperatorUndefinedAtTheOpset) {
  onnx::ModelProto model = one_node_onnx("Relu", {"x"}, {"y"});
  model.mutable_opset_import(0)->set_version(0);
  const auto file = temp_file("opset0.onnx", model.SerializeAsString());
  try {
    Model::load(file);
    FAIL() << "expected UnsupportedOperator";
  } catch (const UnsupportedOperator& e) {
    EXPECT_EQ(e.op_type(), "Relu");
    EXPECT_NE(std::string(e.what()).find("does not define it at this opset"), std::string::npos)
        << e.what();
  }
}

// Values are defined once, before they are read: shape annotations (value_info, the graph's
// outputs) name values that no node may read before it is produced.
TEST(Errors, ValuesReadBeforeOrDefinedTwice) {
  onnx::ModelProto early = one_node_onnx("Relu", {"later"}, {"y"});
  early.mutable_graph()->add_value_info()->set_name("later");
  auto file = temp_file("early.onnx", early.SerializeAsString());
  auto msg = message_of<ModelFormatError>([&] { Model::load(file); });
  EXPECT_NE(msg.find("reads 'later', which nothing produces"), std::string::npos) << msg;

  onnx::ModelProto unproduced = one_node_onnx("Relu", {"x"}, {"y"});
  unproduced.mutable_graph()->add_output()->set_name("z");
  file = temp_file("unproduced.onnx", unproduced.SerializeAsString());
  msg = message_of<ModelFormatError>([&] { Model::load(file); });
  EXPECT_NE(msg.find("graph output 'z' is never produced"), std::string::npos) << msg;

  for (const std::vector<std::string>& outputs : {std::vector<std::string>{"x"}, {"y", "y"}}) {
    onnx::ModelProto twice = one_node_onnx("Dropout", {"x"}, outputs);
    file = temp_file("twice.onnx", twice.SerializeAsString());
    msg = message_of<ModelFormatError>([&] { Model::load(file); });
    EXPECT_NE(msg.find("which is already defined"), std::string::npos) << msg;
  }
}

// A Constant whose value attribute has another type than its name says.
TEST(Errors, ConstantOfTheWrongType) {
  onnx::ModelProto model = one_node_onnx("Constant", {}, {"c"});
  auto* value = model.mutable_graph()->mutable_node(0)->add_attribute();
  value->set_name("value_float");
  value->set_type(onnx::AttributeProto::INT);
  value->set_i(3);
  auto* add = model.mutable_graph()->add_node();
  add->set_op_type("Add");
  add->add_input("x");
  add->add_input("c");
  add->add_output("y");
  const auto file = temp_file("constant.onnx", model.SerializeAsString());
  const std::string msg = message_of<ModelFormatError>([&] { Model::load(file); });
  EXPECT_NE(msg.find("attribute 'value_float' has the wrong type"), std::string::npos) << msg;
}

// A model without output classes (a last Gemm of zero rows, as raw data: an empty tensor, whose
// null storage went to memcpy) is refused at load, for every method needs a class.
TEST(Errors, ModelWithoutClasses) {
  onnx::ModelProto model = onnx_model_with_input({1, 3, 8, 8});
  auto* graph = model.mutable_graph();
  for (const char* name : {"weight", "bias"}) {
    auto* t = graph->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(0);
    if (std::string(name) == "weight") t->add_dims(3);
    t->set_raw_data("");
  }
  const std::vector<std::array<std::string, 3>> nodes = {{"GlobalAveragePool", "x", "pooled"},
                                                         {"Flatten", "pooled", "features"}};
  for (const auto& [op_type, in, out] : nodes) {
    auto* node = graph->add_node();
    node->set_op_type(op_type);
    node->add_input(in);
    node->add_output(out);
  }
  auto* gemm = graph->add_node();
  gemm->set_op_type("Gemm");
  for (const char* in : {"features", "weight", "bias"}) gemm->add_input(in);
  gemm->add_output("logits");
  auto* trans_b = gemm->add_attribute();
  trans_b->set_name("transB");
  trans_b->set_type(onnx::AttributeProto::INT);
  trans_b->set_i(1);
  graph->add_output()->set_name("logits");
  const auto file = temp_file("no_classes.onnx", model.SerializeAsString());
  const std::string msg = message_of<ModelFormatError>([&] { Model::load(file); });
  EXPECT_NE(msg.find("'logits' has no classes (shape [1, 0])"), std::string::npos) << msg;
}

}  // namespace
}  // namespace whitebox::test
