#pragma once
// Hand-built ONNX models for the tests of hostile and unusual inputs.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace whitebox::test {

// An opset-13 model whose graph has one float input "x" of `shape` (a negative size: a named,
// unknown one) and nothing else yet.
inline onnx::ModelProto onnx_model_with_input(const std::vector<int64_t>& shape) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  auto* input = model.mutable_graph()->add_input();
  input->set_name("x");
  auto* type = input->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  for (size_t i = 0; i < shape.size(); ++i) {
    auto* dim = type->mutable_shape()->add_dim();
    if (shape[i] < 0) {
      dim->set_dim_param("unknown");
    } else {
      dim->set_dim_value(shape[i]);
    }
  }
  return model;
}

// Appends the node "add": y = x + `tensor`, and makes y the graph's output.
inline void add_output_reading(onnx::ModelProto& model, const std::string& tensor) {
  // Names as strings: GCC 12 warns falsely about adding one-character literals here.
  const std::string input = "x", output = "y";
  auto* node = model.mutable_graph()->add_node();
  node->set_op_type("Add");
  node->set_name("add");
  node->add_input(input);
  node->add_input(tensor);
  node->add_output(output);
  model.mutable_graph()->add_output()->set_name(output);
}

}  // namespace whitebox::test
