// FullGrad (Srinivas & Fleuret, NeurIPS 2019): the input-gradient term and the bias-gradient
// terms of every spatial layer with a bias, each post-processed and summed, as pytorch-grad-cam
// computes it.
#include <ATen/ATen.h>

#include "methods/cam_common.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

// (a - min a) / (max(a - min a) + 1e-7) over the dimensions from `first` on, as pytorch-grad-cam
// scales (the 1e-7 keeps a constant channel at 0).
at::Tensor unit_scaled(const at::Tensor& a, int64_t first) {
  std::vector<int64_t> kept = a.sizes().slice(0, first).vec();
  kept.resize(a.dim(), 1);  // the scaled dimensions as 1, for broadcasting
  const at::Tensor shifted = a - std::get<0>(a.flatten(first).min(first)).view(kept);
  return shifted / (std::get<0>(shifted.flatten(first).max(first)).view(kept) + 1e-7);
}

// psi of FullGrad: |t| [N, C, h, w], each channel unit-scaled, resized bilinearly to the input,
// summed over the channels: [N, H, W]. The resize is linear, so the channels are summed first and
// resized once.
at::Tensor post_process(const at::Tensor& t, const at::Tensor& input) {
  return resize(unit_scaled(t.abs(), 2).sum(1), input.size(2), input.size(3));
}

// The bias of a layer, as added to its output, or undefined: a linear layer's constant bias
// (a Conv's [C]), a BatchNormalization's beta - gamma mean / sqrt(var + eps).
at::Tensor bias_of(const Model& model, int index) {
  const Graph& graph = model.graph();
  const Node& node = graph.nodes[index];
  const ops::NodeView view(graph, node);
  const auto constant = [&](int i) {
    return i >= 0 && view.is_constant(static_cast<size_t>(i))
               ? view.constant(static_cast<size_t>(i))
               : at::Tensor();
  };
  if (const ops::LinearForm* form = model.program().kernel(index).linear()) {
    return constant(form->bias_input());
  }
  if (ops::traits(node).layer == ops::Layer::BatchNormalization) {
    const at::Tensor gamma = constant(1), beta = constant(2), mean = constant(3), var = constant(4);
    if (!gamma.defined() || !beta.defined() || !mean.defined() || !var.defined()) return {};
    return beta - gamma * mean / at::sqrt(var + view.f("epsilon", 1e-5));
  }
  return {};
}

Explanation fullgrad(const Context& c) {
  const Graph& graph = c.model.graph();
  std::vector<ValueId> values = {c.model.input()};
  std::vector<at::Tensor> biases = {at::Tensor()};
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    const Node& node = graph.nodes[i];
    if (node.outputs.empty() || node.outputs[0] == kNoValue) continue;
    const at::Tensor& out = c.trace[node.outputs[0]];
    if (!out.defined() || out.dim() != 4) continue;
    at::Tensor b = bias_of(c.model, i);
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
  Explanation e;
  e.map = unit_scaled(map, 1);
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
