// FullGrad (Srinivas & Fleuret, NeurIPS 2019): the input-gradient term and the bias-gradient
// terms of every spatial layer with a bias, each post-processed and summed, as pytorch-grad-cam
// computes it.
#include <ATen/ATen.h>

#include "methods/cam_common.hpp"
#include "ops/kernel.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

// psi of FullGrad: |t| [N, C, h, w], each channel min-max scaled to [0, 1] (max + 1e-7 as
// divisor), resized bilinearly to the input, summed over the channels: [N, H, W]. The resize is
// linear, so the channels are summed first and resized once.
at::Tensor post_process(const at::Tensor& t, const at::Tensor& input) {
  const at::Tensor a = t.abs();
  const at::Tensor low = std::get<0>(a.flatten(2).min(2, true)).unsqueeze(3);
  const at::Tensor shifted = a - low;
  const at::Tensor high = std::get<0>(shifted.flatten(2).max(2, true)).unsqueeze(3);
  return resize((shifted / (high + 1e-7)).sum(1), input.size(2), input.size(3));
}

// The bias of a spatial layer, [C] as added to its output, or undefined: a Conv's constant bias,
// a BatchNormalization's beta - gamma mean / sqrt(var + eps).
at::Tensor bias_of(const Graph& graph, const Node& node) {
  const auto constant = [&](size_t i) {
    return i < node.inputs.size() && node.inputs[i] != kNoValue &&
                   graph.values[node.inputs[i]].is_constant()
               ? graph.values[node.inputs[i]].constant
               : at::Tensor();
  };
  if (node.op_type == "Conv") return constant(2);
  if (node.op_type == "BatchNormalization") {
    const at::Tensor gamma = constant(1), beta = constant(2), mean = constant(3), var = constant(4);
    if (!gamma.defined() || !beta.defined() || !mean.defined() || !var.defined()) return {};
    double eps = 1e-5;
    if (auto it = node.attributes.find("epsilon"); it != node.attributes.end()) {
      if (const double* v = std::get_if<double>(&it->second)) eps = *v;
    }
    return beta - gamma * mean / at::sqrt(var + eps);
  }
  return {};
}

Explanation fullgrad(const Context& c) {
  const Graph& graph = c.model.graph();
  std::vector<ValueId> values = {c.model.input()};
  std::vector<at::Tensor> biases = {at::Tensor()};
  for (const Node& node : graph.nodes) {
    if (node.outputs.empty() || node.outputs[0] == kNoValue) continue;
    const at::Tensor& out = c.trace[node.outputs[0]];
    if (!out.defined() || out.dim() != 4) continue;
    at::Tensor b = bias_of(graph, node);
    if (!b.defined() || b.numel() != out.size(1)) continue;
    b = b.to(out.options());
    values.push_back(node.outputs[0]);
    biases.push_back(b);
  }
  c.prepare_gradients(values);
  at::Tensor map = post_process(c.gradient(values[0]) * c.input, c.input);
  for (size_t i = 1; i < values.size(); ++i) {
    map = map + post_process(c.gradient(values[i]) * biases[i].view({1, -1, 1, 1}), c.input);
  }
  const at::Tensor flat = map.flatten(1);
  const at::Tensor low = std::get<0>(flat.min(1, true)).unsqueeze(2);
  const at::Tensor shifted = map - low;
  Explanation e;
  e.map = shifted / (std::get<0>(shifted.flatten(1).max(1, true)).unsqueeze(2) + 1e-7);
  e.attribution = e.map.unsqueeze(1);
  e.stats["bias_layers"] = static_cast<double>(values.size() - 1);
  return e;
}

}  // namespace

void add_fullgrad_method(std::vector<MethodInfo>& registry) {
  registry.push_back(
      {.name = "fullgrad",
       .aliases = {"full-grad"},
       .family = Family::Cam,
       .summary = "|input gradient x input| plus |output gradient x bias| of every spatial layer "
                  "with a bias (Conv, BatchNormalization), each channel min-max scaled, resized "
                  "to the input and summed, the total min-max scaled. stats: bias_layers.",
       .class_discriminative = true,
       .needs_gradient = true,
       .resolution = Resolution::Input,
       .cost = "1 forward + 1 backward keeping the gradient of every biased layer",
       .hyperparameters = {},
       .citation = "Srinivas, Fleuret. Full-Gradient Representation for Neural Network "
                   "Visualization. NeurIPS 2019 (post-processing as pytorch-grad-cam)",
       .run = fullgrad});
}

}  // namespace whitebox::explainers
