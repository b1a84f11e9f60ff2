// Input invariance (Kindermans et al. 2019): a model whose first layer absorbs a constant shift of
// its input computes the same function of the unshifted image, so an explanation of the model
// should not change with the shift.
#include <ATen/ATen.h>

#include "metrics/registration.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "whitebox/error.hpp"
#include "whitebox/metrics/axiomatic.hpp"
#include "whitebox/randomisation.hpp"

namespace whitebox::metrics {

Model shifted_input_model(const Model& model, double shift, int64_t height, int64_t width) {
  const Graph& original = model.graph();
  const std::vector<ParameterLayer> layers = parameter_layers(model);
  const int n = layers.empty() ? -1 : layers.front().node;
  if (n < 0 || original.nodes[n].inputs.at(0) != model.input()) {
    throw ArgumentError("input invariance needs a first Conv or Gemm that reads the input" +
                        (n < 0 ? std::string() : ": '" + original.nodes[n].name + "' does not"));
  }
  // The layer's response to the constant input `shift`, without its bias: spatially constant
  // except where zero padding enters, which is why it is a full map and not a bias change.
  const Node& layer = original.nodes[n];
  const at::Tensor& weight = original.values[layer.inputs.at(1)].constant;
  ops::Tensors inputs{at::full({1, model.input_shape().at(1), height, width}, shift,
                               weight.options()),
                      weight};
  const at::Tensor response = model.program().kernel(n).forward(inputs)[0];

  Graph graph = original;
  const ValueId output = layer.outputs.at(0);
  const auto add_value = [&graph](Value value) {
    graph.values.push_back(std::move(value));
    return static_cast<ValueId>(graph.values.size() - 1);
  };
  const ValueId unshifted =
      add_value({layer.name + "_shifted_output", {}, graph.values[output].shape, n});
  const ValueId compensation = add_value({layer.name + "_shift_compensation", -response, {}, -1});
  graph.nodes[n].outputs[0] = unshifted;
  Node add;
  add.name = layer.name + "_shift_compensation";
  add.op_type = "Add";
  add.inputs = {unshifted, compensation};
  add.outputs = {output};
  graph.nodes.insert(graph.nodes.begin() + n + 1, std::move(add));
  graph.index_producers();
  return model.with_graph(std::move(graph));
}

double input_invariance(const ClassExplainer& shifted_explainer, const at::Tensor& image,
                        const at::Tensor& map, int64_t cls, double shift) {
  const at::Tensor original = map.to(at::kDouble);
  const at::Tensor moved =
      shifted_explainer((image + shift).unsqueeze(0), cls)[0].to(original.device(), at::kDouble);
  if (!moved.sizes().equals(original.sizes())) {
    throw ArgumentError("input invariance: the map has shape " + c10::str(original.sizes()) +
                        ", the method gives " + c10::str(moved.sizes()));
  }
  const double total = original.abs().sum().item<double>();
  const double difference = (moved - original).abs().sum().item<double>();
  return total > 0 ? difference / total : (difference > 0 ? 1.0 : 0.0);
}

namespace detail {

void add_input_invariance_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "input-invariance",
       .group = Group::Axiomatic,
       .summary = "relative L1 difference between the map and the method's map for the input "
                  "shifted by a constant on a model whose first layer undoes the shift: 0 for "
                  "an input-invariant method",
       .citation = "Kindermans, Hooker, Adebayo, Alber, Schutt, Dahne, Erhan & Kim, The "
                   "(Un)reliability of Saliency Methods, in Explainable AI, Springer 2019",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"input_invariance", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const double shift = p.number("shift", kInvarianceShift);
         const Model shifted = shifted_input_model(model_of(s, "input-invariance"), shift,
                                                   s.image.size(1), s.image.size(2));
         return {{"input_invariance", input_invariance(explainer_on(shifted, s, "input-invariance"),
                                                       s.image, s.map, s.cls, shift)}};
       },
       .parameters = {number_parameter("shift", kInvarianceShift,
                                       "the constant added to every input value", -HUGE_VAL)}});
}

}  // namespace detail

}  // namespace whitebox::metrics
