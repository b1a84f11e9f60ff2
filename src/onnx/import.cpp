#include "onnx/import.hpp"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"
#include "whitebox/limits.hpp"

namespace whitebox::onnx_import {
namespace {

at::ScalarType scalar_type(int32_t onnx_type, const std::string& what) {
  using T = onnx::TensorProto;
  switch (onnx_type) {
    case T::FLOAT: return at::kFloat;
    case T::DOUBLE: return at::kDouble;
    case T::FLOAT16: return at::kHalf;
    case T::INT64: return at::kLong;
    case T::INT32: return at::kInt;
    case T::INT16: return at::kShort;
    case T::INT8: return at::kChar;
    case T::UINT8: return at::kByte;
    case T::BOOL: return at::kBool;
    default:
      throw ModelFormatError("tensor '" + what + "' has unsupported ONNX data type " +
                             std::to_string(onnx_type));
  }
}

[[noreturn]] void wrong_size(const onnx::TensorProto& proto, size_t has, int64_t needs, const char* what) {
  throw ModelFormatError("tensor '" + proto.name() + "' has " + std::to_string(has) + " " + what +
                         " of data, its shape needs " + std::to_string(needs));
}

template <typename Field>
at::Tensor from_field(const onnx::TensorProto& proto, const Field& field, at::ScalarType stored_as,
                      at::ScalarType type, const std::vector<int64_t>& dims, int64_t count) {
  using Element = typename Field::value_type;
  if (static_cast<int64_t>(field.size()) != count) wrong_size(proto, field.size(), count, "elements");
  std::vector<Element> copy(field.begin(), field.end());
  return at::from_blob(copy.data(), {static_cast<int64_t>(copy.size())},
                       at::TensorOptions().dtype(stored_as))
      .to(type)
      .reshape(dims)
      .clone();
}

at::Tensor to_tensor(const onnx::TensorProto& proto) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    throw ModelFormatError("tensor '" + proto.name() +
                           "' uses external data, which whitebox does not read");
  }
  const at::ScalarType type = scalar_type(proto.data_type(), proto.name());
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  // The element count, checked before anything is multiplied out of range: a hostile file may
  // declare any dims (at most 2^56 elements, so that the byte count fits as well). The bound holds
  // for the dims other than zero too, as the strides of an empty tensor multiply them out.
  int64_t extent = 1;
  bool empty = false;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && extent > (int64_t{1} << 56) / d)) {
      throw ModelFormatError("tensor '" + proto.name() + "' declares the shape " + c10::str(dims) +
                             ", which no tensor can have");
    }
    empty = empty || d == 0;
    extent *= std::max<int64_t>(d, 1);
  }
  const int64_t count = empty ? 0 : extent;
  at::Tensor t;
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const auto bytes = static_cast<size_t>(count) * at::elementSize(type);
    if (raw.size() != bytes) wrong_size(proto, raw.size(), static_cast<int64_t>(bytes), "bytes");
    t = at::empty(dims, at::TensorOptions().dtype(type));
    // ONNX raw data is little-endian, like x86/ARM. An empty tensor has no storage (a null
    // pointer, which memcpy must not get even for 0 bytes).
    if (bytes > 0) std::memcpy(t.data_ptr(), raw.data(), bytes);
    return t;
  }
  using T = onnx::TensorProto;
  switch (proto.data_type()) {
    case T::FLOAT: t = from_field(proto, proto.float_data(), at::kFloat, type, dims, count); break;
    case T::DOUBLE: t = from_field(proto, proto.double_data(), at::kDouble, type, dims, count); break;
    case T::INT64: t = from_field(proto, proto.int64_data(), at::kLong, type, dims, count); break;
    case T::FLOAT16:  // stored as bit patterns in int32_data
      t = from_field(proto, proto.int32_data(), at::kInt, at::kShort, dims, count).view(at::kHalf);
      break;
    default: t = from_field(proto, proto.int32_data(), at::kInt, type, dims, count); break;
  }
  return t;
}

Attribute to_attribute(const onnx::AttributeProto& a, const std::string& node) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: return a.i();
    case A::FLOAT: return static_cast<double>(a.f());
    case A::STRING: return a.s();
    case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS: return std::vector<double>(a.floats().begin(), a.floats().end());
    case A::TENSOR: return to_tensor(a.t());
    default:
      throw ModelFormatError("node '" + node + "': attribute '" + a.name() +
                             "' has a type whitebox does not read");
  }
}

std::vector<int64_t> static_shape(const onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return {};
  std::vector<int64_t> shape;
  for (const auto& d : type.tensor_type().shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0) return {};  // unknown, or not a size at all
    shape.push_back(d.dim_value());
  }
  return shape;
}

onnx::ModelProto parse(const std::filesystem::path& file) {
  const std::string bytes = read_file(file, "model file", limits().model_bytes);
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    throw ModelFormatError("not an ONNX model (cannot parse protobuf, truncated or another format): " +
                           file.string());
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    throw ModelFormatError("ONNX file has no graph: " + file.string());
  }
  return model;
}

// "1 to 3 inputs", "at least 1 input", "1 output".
std::string counted(int low, int high, const std::string& what) {
  if (high == std::numeric_limits<int>::max()) {
    return "at least " + std::to_string(low) + " " + what + (low == 1 ? "" : "s");
  }
  const std::string range =
      low == high ? std::to_string(low) : std::to_string(low) + " to " + std::to_string(high);
  return range + " " + what + (high == 1 ? "" : "s");
}

// Kernel factories read the inputs that their operator requires without looking for them: a node
// with fewer inputs or outputs than its ONNX schema allows (an Abs with none), or that omits one
// its schema requires, is refused here. So is an operator that the model's opset does not define
// (any operator at opset 0): without a schema, nothing says what it needs.
void check_arity(const onnx::NodeProto& node, const std::string& name, int64_t opset) {
  const int version =
      static_cast<int>(std::clamp<int64_t>(opset, 0, std::numeric_limits<int>::max()));
  const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), version);
  if (!schema) {
    throw UnsupportedOperator(node.op_type(), name, opset, "ONNX does not define it at this opset");
  }
  const std::string node_is = "node '" + name + "' (" + node.op_type() + ") ";
  if (node.input_size() < schema->min_input() || node.input_size() > schema->max_input()) {
    throw ModelFormatError(node_is + "has " + std::to_string(node.input_size()) +
                           " inputs where it takes " +
                           counted(schema->min_input(), schema->max_input(), "input"));
  }
  if (node.output_size() < schema->min_output() || node.output_size() > schema->max_output()) {
    throw ModelFormatError(node_is + "has " + std::to_string(node.output_size()) +
                           " outputs where it gives " +
                           counted(schema->min_output(), schema->max_output(), "output"));
  }
  if (node.op_type() != "Constant" && (node.input_size() == 0 || node.input(0).empty())) {
    throw ModelFormatError(node_is + "has no first input");
  }
  // An input that the schema requires may not be omitted (an empty name), as ONNX's checker
  // says: a Conv without its weight reached ATen's convolution with an undefined tensor.
  const auto& formal = schema->inputs();
  for (int i = 0; i < node.input_size() && !formal.empty(); ++i) {
    const auto& parameter = formal[std::min<size_t>(i, formal.size() - 1)];
    if (node.input(i).empty() && parameter.GetOption() == onnx::OpSchema::Single) {
      throw ModelFormatError(node_is + "omits its input " + std::to_string(i) + " ('" +
                             parameter.GetName() + "'), which it requires");
    }
  }
  if (node.output_size() == 0 || node.output(0).empty()) {
    throw ModelFormatError(node_is + "has no first output");
  }
}

// A Constant node's attribute `name` if it has it, as a T.
template <typename T>
const T* constant_attribute(const std::map<std::string, Attribute>& attributes,
                            const std::string& node, const char* name) {
  auto it = attributes.find(name);
  if (it == attributes.end()) return nullptr;
  if (auto value = std::get_if<T>(&it->second)) return value;
  throw ModelFormatError("node '" + node + "' (Constant): attribute '" + name +
                         "' has the wrong type");
}

// The value of a Constant node, from whichever of its attributes holds it.
at::Tensor constant_value(const std::map<std::string, Attribute>& attributes,
                          const std::string& node, int64_t opset) {
  if (auto t = constant_attribute<at::Tensor>(attributes, node, "value")) return *t;
  if (auto f = constant_attribute<double>(attributes, node, "value_float")) {
    return at::scalar_tensor(*f, at::kFloat);
  }
  if (auto i = constant_attribute<int64_t>(attributes, node, "value_int")) {
    return at::scalar_tensor(*i, at::kLong);
  }
  if (auto f = constant_attribute<std::vector<double>>(attributes, node, "value_floats")) {
    return at::tensor(*f, at::kDouble).to(at::kFloat);
  }
  if (auto i = constant_attribute<std::vector<int64_t>>(attributes, node, "value_ints")) {
    return at::tensor(*i, at::kLong);
  }
  throw UnsupportedOperator("Constant", node, opset, "unsupported value attribute");
}

// A node's name, or its operator and index where it has none.
std::string node_name(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
}

// Each value is defined once (by an initializer, the graph's input or one node) before any node
// reads it, and the graph's outputs are among them.
void check_dataflow(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> defined;
  for (const auto& init : graph.initializer()) {
    if (!defined.insert(init.name()).second) {
      throw ModelFormatError("two initializers are named '" + init.name() +
                             "' (which one the model means is not known)");
    }
  }
  std::unordered_set<std::string> inputs;
  for (const auto& input : graph.input()) {
    if (!inputs.insert(input.name()).second) {
      throw ModelFormatError("two graph inputs are named '" + input.name() + "'");
    }
    defined.insert(input.name());
  }
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    for (const auto& in : node.input()) {
      if (!in.empty() && !defined.count(in)) {
        throw ModelFormatError("node '" + node_name(node, n) + "' reads '" + in +
                               "', which nothing produces (the graph is not in topological order "
                               "or is incomplete)");
      }
    }
    for (const auto& out : node.output()) {
      if (!out.empty() && !defined.insert(out).second) {
        throw ModelFormatError("node '" + node_name(node, n) + "' writes '" + out +
                               "', which is already defined (each value has one producer)");
      }
    }
  }
  if (graph.output_size() == 0) throw ModelFormatError("the model has no output");
  for (const auto& output : graph.output()) {
    if (!defined.count(output.name())) {
      throw ModelFormatError("graph output '" + output.name() + "' is never produced");
    }
  }
}

// ONNX 1.12's shape inference of Conv and ConvTranspose takes the number of spatial dimensions
// from the weight when the node has no kernel_shape, and reads the input's dimensions that far
// without checking that the input has them (a hostile model crashed it there; later ONNX versions
// check). Such nodes get their kernel_shape from their constant weight here, and ONNX checks an
// attribute against the input. False where a weight is computed, its rank unknown before
// inference: the model then goes without inferred shapes.
// ONNX's shape inference divides by the strides of a convolution or pooling without checking
// them: a stride of 0 is SIGFPE. Its window attributes are checked first.
void check_window_attributes(const onnx::GraphProto& graph) {
  static const std::unordered_set<std::string> windowed = {
      "Conv", "ConvTranspose", "AveragePool", "MaxPool", "LpPool", "MaxUnpool", "MaxRoiPool"};
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    if (windowed.count(node.op_type()) == 0) continue;
    for (const auto& a : node.attribute()) {
      if (a.name() != "strides" && a.name() != "dilations" && a.name() != "kernel_shape") continue;
      for (const int64_t v : a.ints()) {
        if (v < 1) {
          throw ModelFormatError("node '" + node_name(node, n) + "' (" + node.op_type() +
                                 "): " + a.name() + " must be positive, not " + std::to_string(v));
        }
      }
    }
  }
}

bool give_convolutions_kernel_shapes(onnx::GraphProto& graph) {
  std::unordered_map<std::string, const onnx::TensorProto*> constants;
  for (const auto& t : graph.initializer()) constants[t.name()] = &t;
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      if (node.op_type() == "Constant" && a.name() == "value" && node.output_size() > 0) {
        constants[node.output(0)] = &a.t();
      }
    }
  }
  for (int n = 0; n < graph.node_size(); ++n) {
    auto& node = *graph.mutable_node(n);
    if (node.op_type() != "Conv" && node.op_type() != "ConvTranspose") continue;
    const auto& attributes = node.attribute();
    if (std::any_of(attributes.begin(), attributes.end(),
                    [](const auto& a) { return a.name() == "kernel_shape"; })) {
      continue;
    }
    const auto weight = node.input_size() > 1 ? constants.find(node.input(1)) : constants.end();
    if (weight == constants.end()) return false;
    // An empty kernel_shape made ONNX's inference read past the attribute (a SEGV).
    if (weight->second->dims_size() < 3) {
      throw ModelFormatError("node '" + node_name(node, n) + "' (" + node.op_type() +
                             "): the weight must have at least 3 dimensions, not " +
                             std::to_string(weight->second->dims_size()));
    }
    auto* kernel_shape = node.add_attribute();
    kernel_shape->set_name("kernel_shape");
    kernel_shape->set_type(onnx::AttributeProto::INTS);
    const auto& dims = weight->second->dims();
    for (int d = 2; d < dims.size(); ++d) kernel_shape->add_ints(dims[d]);
  }
  return true;
}

// A symbolic batch dimension becomes 1 so that shape inference yields static shapes.
void fix_symbolic_batch(onnx::GraphProto& graph) {
  for (auto& input : *graph.mutable_input()) {
    if (!input.type().has_tensor_type()) continue;
    auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() > 0 && !shape->dim(0).has_dim_value()) shape->mutable_dim(0)->set_dim_value(1);
  }
}

int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") return op.version();
  }
  return 1;
}

}  // namespace

Graph import(const std::filesystem::path& file) {
  onnx::ModelProto model = parse(file);
  Graph graph;
  graph.opset = default_opset(model);
  onnx::GraphProto& g = *model.mutable_graph();
  fix_symbolic_batch(g);

  // Everything ONNX's shape inference reads is checked first, as it trusts its input: the
  // operators (all known to whitebox, the first unknown one named), their inputs and outputs,
  // the order of the graph and the tensors.
  for (int n = 0; n < g.node_size(); ++n) {
    const auto& node = g.node(n);
    const bool standard = node.domain().empty() || node.domain() == "ai.onnx";
    if (!standard || (node.op_type() != "Constant" && !ops::is_supported(node.op_type()))) {
      throw UnsupportedOperator((standard ? "" : node.domain() + ".") + node.op_type(),
                                node_name(node, n), graph.opset);
    }
    check_arity(node, node_name(node, n), graph.opset);
  }
  check_dataflow(g);
  for (const auto& input : g.input()) {
    const bool typed = input.type().has_tensor_type() &&
                       input.type().tensor_type().elem_type() != onnx::TensorProto::UNDEFINED;
    if (!typed) {
      throw ModelFormatError("the graph input '" + input.name() + "' declares no tensor type");
    }
  }
  std::vector<at::Tensor> initializers;
  for (const auto& init : g.initializer()) initializers.push_back(to_tensor(init));
  std::vector<std::map<std::string, Attribute>> attributes(g.node_size());
  std::vector<at::Tensor> constants(g.node_size());  // of the Constant nodes
  for (int n = 0; n < g.node_size(); ++n) {
    for (const auto& a : g.node(n).attribute()) {
      attributes[n][a.name()] = to_attribute(a, node_name(g.node(n), n));
    }
    if (g.node(n).op_type() == "Constant") {
      constants[n] = constant_value(attributes[n], node_name(g.node(n), n), graph.opset);
    }
  }
  check_window_attributes(g);
  if (give_convolutions_kernel_shapes(g)) {
    try {
      onnx::ShapeInferenceOptions options{false, 0, true};
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception&) {
      // Shapes are an optimisation (folding Shape subgraphs); kernels also work without them.
    }
  }

  std::unordered_map<std::string, ValueId> ids;
  auto value = [&](const std::string& name) -> ValueId {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    graph.values.push_back(Value{name, {}, {}, -1});
    return ids[name] = static_cast<ValueId>(graph.values.size() - 1);
  };
  for (int i = 0; i < g.initializer_size(); ++i) {
    graph.values[value(g.initializer(i).name())].constant = std::move(initializers[i]);
  }
  for (const auto& input : g.input()) {
    ValueId v = value(input.name());
    graph.values[v].shape = static_shape(input.type());
    if (!graph.values[v].is_constant()) graph.inputs.push_back(v);
  }
  for (const ValueId v : graph.inputs) {
    // A declared input of 20000 x 20000 pixels is gigabytes in every layer.
    const auto& shape = graph.values[v].shape;
    uint64_t count = 1;
    for (const int64_t size : shape) {
      if (__builtin_mul_overflow(count, static_cast<uint64_t>(size), &count)) count = UINT64_MAX;
    }
    if (count > limits().tensor_elements) {
      throw ModelFormatError("the model's input '" + graph.values[v].name + "' declares " +
                             c10::str(shape) + ", " + std::to_string(count) +
                             " elements, more than the " +
                             std::to_string(limits().tensor_elements) +
                             " whitebox allocates for one tensor (WHITEBOX_MAX_TENSOR_ELEMENTS)");
    }
  }
  if (graph.inputs.size() != 1) {
    throw ModelFormatError("the model must have exactly one input tensor (the image), it has " +
                           std::to_string(graph.inputs.size()));
  }
  for (const auto& info : g.value_info()) graph.values[value(info.name())].shape = static_shape(info.type());
  for (const auto& output : g.output()) {
    ValueId v = value(output.name());
    if (graph.values[v].shape.empty()) graph.values[v].shape = static_shape(output.type());
  }

  for (int n = 0; n < g.node_size(); ++n) {
    const auto& proto = g.node(n);
    Node node;
    node.name = node_name(proto, n);
    node.op_type = proto.op_type();
    node.attributes = std::move(attributes[n]);
    for (const auto& in : proto.input()) node.inputs.push_back(in.empty() ? kNoValue : ids.at(in));
    for (const auto& out : proto.output()) node.outputs.push_back(out.empty() ? kNoValue : value(out));
    if (node.op_type == "Constant") {
      graph.values[node.outputs[0]].constant = std::move(constants[n]);
      continue;
    }
    graph.nodes.push_back(std::move(node));
  }
  for (const auto& output : g.output()) graph.outputs.push_back(ids.at(output.name()));
  graph.index_producers();
  return graph;
}

}  // namespace whitebox::onnx_import
