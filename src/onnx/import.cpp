#include "onnx/import.hpp"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "ops/kernel.hpp"
#include "whitebox/error.hpp"

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
  // declare any dims (at most 2^56 elements, so that the byte count fits as well).
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && count > (int64_t{1} << 56) / d)) {
      throw ModelFormatError("tensor '" + proto.name() + "' declares the shape " + c10::str(dims) +
                             ", which no tensor can have");
    }
    count *= d;
  }
  at::Tensor t;
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const auto bytes = static_cast<size_t>(count) * at::elementSize(type);
    if (raw.size() != bytes) wrong_size(proto, raw.size(), static_cast<int64_t>(bytes), "bytes");
    t = at::empty(dims, at::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), raw.data(), bytes);  // ONNX raw data is little-endian, like x86/ARM
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
    if (!d.has_dim_value()) return {};
    shape.push_back(d.dim_value());
  }
  return shape;
}

onnx::ModelProto parse(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw FileError("model file not found: " + file.string());
  }
  std::ifstream stream(file, std::ios::binary);
  std::string bytes(std::filesystem::file_size(file, ec), '\0');
  if (!stream || ec || !stream.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw FileError("cannot read model file: " + file.string());
  }
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
  try {
    onnx::ShapeInferenceOptions options{false, 0, true};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception&) {
    // Shapes are an optimisation (folding Shape subgraphs); kernels also work without them.
  }

  // Every operator must be known before anything else is read: name the first one that is not.
  for (int n = 0; n < g.node_size(); ++n) {
    const auto& node = g.node(n);
    const std::string name = node.name().empty() ? node.op_type() + "_" + std::to_string(n) : node.name();
    const bool standard = node.domain().empty() || node.domain() == "ai.onnx";
    if (!standard || (node.op_type() != "Constant" && !ops::is_supported(node.op_type()))) {
      throw UnsupportedOperator((standard ? "" : node.domain() + ".") + node.op_type(), name,
                                graph.opset);
    }
  }

  std::unordered_map<std::string, ValueId> ids;
  auto value = [&](const std::string& name) -> ValueId {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    graph.values.push_back(Value{name, {}, {}, -1});
    return ids[name] = static_cast<ValueId>(graph.values.size() - 1);
  };
  for (const auto& init : g.initializer()) graph.values[value(init.name())].constant = to_tensor(init);
  for (const auto& input : g.input()) {
    ValueId v = value(input.name());
    graph.values[v].shape = static_shape(input.type());
    if (!graph.values[v].is_constant()) graph.inputs.push_back(v);
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
    node.name = proto.name().empty() ? proto.op_type() + "_" + std::to_string(n) : proto.name();
    node.op_type = proto.op_type();
    for (const auto& a : proto.attribute()) node.attributes[a.name()] = to_attribute(a, node.name);
    for (const auto& in : proto.input()) {
      if (in.empty()) {
        node.inputs.push_back(kNoValue);
      } else if (!ids.count(in)) {
        throw ModelFormatError("node '" + node.name + "' reads '" + in +
                               "', which nothing produces (the graph is not in topological order "
                               "or is incomplete)");
      } else {
        node.inputs.push_back(ids.at(in));
      }
    }
    for (const auto& out : proto.output()) node.outputs.push_back(out.empty() ? kNoValue : value(out));
    if (node.op_type == "Constant") {
      const ValueId out = node.outputs.at(0);
      auto& c = graph.values[out].constant;
      if (node.attributes.count("value")) {
        c = std::get<at::Tensor>(node.attributes.at("value"));
      } else if (auto it = node.attributes.find("value_float"); it != node.attributes.end()) {
        c = at::scalar_tensor(std::get<double>(it->second), at::kFloat);
      } else if (auto it = node.attributes.find("value_int"); it != node.attributes.end()) {
        c = at::scalar_tensor(std::get<int64_t>(it->second), at::kLong);
      } else if (auto it = node.attributes.find("value_floats"); it != node.attributes.end()) {
        const auto& f = std::get<std::vector<double>>(it->second);
        c = at::tensor(f, at::kDouble).to(at::kFloat);
      } else if (auto it = node.attributes.find("value_ints"); it != node.attributes.end()) {
        c = at::tensor(std::get<std::vector<int64_t>>(it->second), at::kLong);
      } else {
        throw UnsupportedOperator("Constant", node.name, graph.opset, "unsupported value attribute");
      }
      continue;
    }
    // Drop trailing omitted outputs (such as Dropout's mask) that nobody reads.
    graph.nodes.push_back(std::move(node));
  }
  for (const auto& output : g.output()) {
    if (!ids.count(output.name())) {
      throw ModelFormatError("graph output '" + output.name() + "' is never produced");
    }
    graph.outputs.push_back(ids.at(output.name()));
  }
  if (graph.outputs.empty()) throw ModelFormatError("the model has no output");
  graph.index_producers();
  return graph;
}

}  // namespace whitebox::onnx_import
