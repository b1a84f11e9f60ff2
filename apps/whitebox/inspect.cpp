// whitebox inspect: what a model is made of, node by node, and where a CAM can look.
#include <ATen/ATen.h>

#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.hpp"

namespace whitebox::cli {
namespace {

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') text += ',';
    text += digits[i];
  }
  return text;
}

std::vector<int64_t> sizes_of(const at::Tensor& t) { return t.sizes().vec(); }

// A CAM needs a feature map with more than one spatial position ([N, C, H, W]).
bool is_spatial(const at::Tensor& t) { return t.dim() == 4 && t.size(2) * t.size(3) > 1; }

// The declared input shape with unknown dimensions filled in: batch 1, the preprocessing size.
std::vector<int64_t> probe_shape(const Model& model) {
  std::vector<int64_t> shape = model.input_shape();
  if (shape.size() != 4) shape.resize(4, -1);
  const int64_t fallback[4] = {1, 3, model.preprocessing.height, model.preprocessing.width};
  for (int d = 0; d < 4; ++d) {
    if (shape[d] <= 0) shape[d] = fallback[d];
  }
  return shape;
}

void run_inspect(const Global& global, const std::string& file) {
  const Model model = load_model(global, file);
  const Graph& graph = model.graph();
  const Trace trace = model.forward(at::zeros(probe_shape(model), at::kFloat));

  std::cout << "file        " << printable(model.path().string()) << "\n"
            << "opset       " << graph.opset << "\n";
  for (ValueId v : graph.inputs) {
    std::cout << "input       " << printable(graph.values[v].name) << " "
              << shape_text(graph.values[v].shape) << "\n";
  }
  for (ValueId v : graph.outputs) {
    std::cout << "output      " << printable(graph.values[v].name) << " "
              << shape_text(sizes_of(trace[v])) << "\n";
  }
  std::cout << "parameters  " << with_thousands(graph.parameter_count()) << "\n"
            << "nodes       " << graph.nodes.size() << " (after canonicalization)\n";

  std::map<std::string, int> by_type;
  size_t type_width = 2;
  for (const auto& node : graph.nodes) {
    ++by_type[node.op_type];
    type_width = std::max(type_width, node.op_type.size());
  }
  for (const auto& [type, count] : by_type) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(type_width)) << type << "  " << count << "\n";
  }

  // The default CAM layer is the last spatial value: the feature map just before global pooling.
  int default_cam = -1;
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    if (!graph.nodes[i].outputs.empty() && is_spatial(trace[graph.nodes[i].outputs[0]])) default_cam = i;
  }

  // A layer is the value a node outputs: the name results report. --layer takes it or the node's
  // name, shown beside it where the two differ.
  struct Row {
    std::string index, layer, node, op, shape, note;
  };
  std::vector<Row> rows{{"#", "layer", "node", "op", "output shape", ""}};
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    const Node& node = graph.nodes[i];
    const ValueId out = node.outputs.empty() ? kNoValue : node.outputs[0];
    const std::string layer = out == kNoValue ? "-" : graph.values[out].name;
    Row row{std::to_string(i),
            printable(layer),
            layer == node.name ? "" : printable(node.name),
            printable(node.op_type),
            out == kNoValue ? "-" : shape_text(sizes_of(trace[out])),
            ""};
    if (out != kNoValue && is_spatial(trace[out])) {
      row.note = i == default_cam ? "CAM candidate (default CAM layer)" : "CAM candidate";
    }
    rows.push_back(std::move(row));
  }
  size_t w_index = 0, w_layer = 0, w_node = 0, w_op = 0, w_shape = 0;
  for (const auto& row : rows) {
    w_index = std::max(w_index, row.index.size());
    w_layer = std::max(w_layer, row.layer.size());
    w_node = std::max(w_node, row.node.size());
    w_op = std::max(w_op, row.op.size());
    w_shape = std::max(w_shape, row.shape.size());
  }
  std::cout << "\n--layer takes a layer's name (as results report it) or its node's name.\n\n";
  auto column = [](size_t width) { return std::setw(static_cast<int>(width)); };
  for (const auto& row : rows) {
    std::ostringstream line;
    line << std::right << column(w_index) << row.index << "  " << std::left << column(w_layer)
         << row.layer << "  " << column(w_node) << row.node << "  " << column(w_op) << row.op
         << "  " << column(w_shape) << row.shape << "  " << row.note;
    std::string text = line.str();
    while (!text.empty() && text.back() == ' ') text.pop_back();
    std::cout << text << "\n";
  }
  std::cout << std::flush;
}

}  // namespace

Command add_inspect(CLI::App& parent) {
  auto file = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("inspect", "list a model's inputs, outputs, parameters and nodes");
  app->add_option("model", *file, "ONNX model file (overrides --model)");
  return {app, [file](const Global& global) { run_inspect(global, *file); }};
}

}  // namespace whitebox::cli
