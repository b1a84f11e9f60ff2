#include <ATen/ATen.h>

#include "canonicalize/canonicalize.hpp"

namespace whitebox::passes {
namespace {

bool constant(const Graph& graph, const Node& node, size_t i) {
  return i < node.inputs.size() && node.inputs[i] != kNoValue &&
         graph.values[node.inputs[i]].is_constant();
}

double attribute(const Node& node, const char* name, double fallback) {
  auto it = node.attributes.find(name);
  if (it == node.attributes.end()) return fallback;
  if (auto d = std::get_if<double>(&it->second)) return *d;
  if (auto i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  return fallback;
}

// Folds `bn` into `layer` if the layer is a Conv, or a Gemm computing x * W^T + b.
bool fold(Graph& graph, Node& layer, const Node& bn) {
  for (size_t i = 1; i < 5; ++i) {
    if (!constant(graph, bn, i)) return false;
  }
  const bool conv = layer.op_type == "Conv";
  const bool gemm = layer.op_type == "Gemm" && attribute(layer, "transB", 0) == 1 &&
                    attribute(layer, "transA", 0) == 0 && attribute(layer, "alpha", 1) == 1 &&
                    attribute(layer, "beta", 1) == 1;
  if ((!conv && !gemm) || !constant(graph, layer, 1)) return false;
  const bool has_bias = layer.inputs.size() > 2 && layer.inputs[2] != kNoValue;
  if (has_bias && !constant(graph, layer, 2)) return false;

  auto param = [&](size_t i) {
    return graph.values[bn.inputs[i]].constant.to(at::kDouble).reshape({-1});
  };
  const at::Tensor weight = graph.values[layer.inputs[1]].constant;
  if (weight.dim() < 2) return false;
  // One scale, offset, mean, variance (and bias) per output channel, or the node stays as it is
  // and its kernel judges it.
  const int64_t channels = weight.size(0);
  for (size_t i = 1; i < 5; ++i) {
    if (graph.values[bn.inputs[i]].constant.numel() != channels) return false;
  }
  if (has_bias && graph.values[layer.inputs[2]].constant.numel() != channels) return false;
  const at::Tensor scale = param(1) / at::sqrt(param(4) + attribute(bn, "epsilon", 1e-5));
  std::vector<int64_t> broadcast(weight.dim(), 1);
  broadcast[0] = channels;
  const at::Tensor bias =
      has_bias ? graph.values[layer.inputs[2]].constant.to(at::kDouble).reshape({-1})
               : at::zeros({channels}, at::kDouble);
  const at::Tensor new_weight = (weight.to(at::kDouble) * scale.reshape(broadcast)).to(weight.scalar_type());
  const at::Tensor new_bias = ((bias - param(3)) * scale + param(2)).to(weight.scalar_type());

  // A copy: add_constant() grows graph.values, which a reference into it would not survive.
  const std::string name = graph.values[layer.inputs[1]].name;
  layer.inputs.resize(3);
  layer.inputs[1] = add_constant(graph, name + "/bn_folded", new_weight);
  layer.inputs[2] = add_constant(graph, name + "/bn_folded_bias", new_bias);
  layer.outputs[0] = bn.outputs[0];
  return true;
}

}  // namespace

void fold_batchnorm(Graph& graph) {
  const auto readers = graph.consumers();
  std::vector<bool> is_output(graph.values.size(), false);
  for (ValueId v : graph.outputs) is_output[v] = true;
  std::vector<bool> removed(graph.nodes.size(), false);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& bn = graph.nodes[n];
    if (bn.op_type != "BatchNormalization" || (bn.outputs.size() > 1 && bn.outputs[1] != kNoValue)) {
      continue;
    }
    const ValueId x = bn.inputs.at(0);
    const int producer = graph.values[x].producer;
    if (producer < 0 || readers[x].size() != 1 || is_output[x]) continue;
    if (fold(graph, graph.nodes[producer], bn)) removed[n] = true;
  }
  std::vector<Node> kept;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  graph.index_producers();
}

}  // namespace whitebox::passes
