// The gradient family: maps over the input built from the input gradient of the target logit.
// Integrated gradients, the modified-gradient methods (guided backprop, deconvnet) and the layer
// and neuron forms live in integrated_gradients.cpp, modified_gradients.cpp,
// layer_attribution.cpp and neuron_attribution.cpp.
#include <ATen/ATen.h>

#include "methods/arguments.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {

at::Tensor reduce_channels(const at::Tensor& attribution, const std::string& how) {
  if (how == "max") return std::get<0>(attribution.abs().max(1));
  if (how == "l2") return attribution.norm(2, 1);
  if (how == "sum") return attribution.sum(1);
  throw ArgumentError("unknown channel reduction '" + how + "' (valid: max, l2, sum)");
}

namespace {

Explanation saliency(const Context& c) {
  Explanation e;
  e.attribution = c.gradient(c.model.input());
  const std::string reduce = c.params.text("reduce");
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";
  return e;
}

Explanation gradient_input(const Context& c) {
  Explanation e;
  e.attribution = c.gradient(c.model.input()) * c.input;
  const std::string reduce = c.params.text("reduce");
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";
  return e;
}

}  // namespace

void add_gradient_methods(std::vector<MethodInfo>& registry) {
  registry.push_back(
      {.name = "saliency",
       .aliases = {"gradient", "vanilla-gradient"},
       .family = Family::Gradient,
       .summary = "magnitude of the gradient of the class score with respect to each pixel",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = false,
       .resolution = Resolution::Input,
       .cost = "1 forward + 1 backward",
       .hyperparameters = {choice_parameter("reduce", "max",
                                            "channel reduction: max (of |grad|), l2, sum (signed)",
                                            {"max", "l2", "sum"})},
       .citation = "Simonyan, Vedaldi, Zisserman. Deep Inside Convolutional Networks. ICLR "
                   "Workshop 2014",
       .run = saliency,
       .scheduling = {.input_gradient = true, .trace_use = Scheduling::TraceUse::InputGradients}});
  registry.push_back(
      {.name = "gradient-input",
       .aliases = {"gradient-x-input", "input-x-gradient"},
       .family = Family::Gradient,
       .summary = "elementwise product of the input and the gradient of the class score: a "
                  "first-order (Taylor) share of the score per pixel, signed",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = false,
       .resolution = Resolution::Input,
       .cost = "1 forward + 1 backward (shares the saliency sweep)",
       .hyperparameters = {choice_parameter("reduce", "sum",
                                            "channel reduction: sum (signed), max (of |a|), l2",
                                            {"sum", "max", "l2"})},
       .citation = "Shrikumar, Greenside, Shcherbina, Kundaje. Not Just a Black Box: Learning "
                   "Important Features Through Propagating Activation Differences. arXiv "
                   "1605.01713, 2016",
       .run = gradient_input,
       .scheduling = {.input_gradient = true, .trace_use = Scheduling::TraceUse::InputGradients},
       .relevance_sweep = [](const Context& c) {
         return RelevanceSweep{Rules(), target_one_hot(c), /*gradient=*/true};
       }});
  add_integrated_gradients_method(registry);
  add_expected_gradients_method(registry);
  add_modified_gradient_methods(registry);
  add_layer_attribution_methods(registry);
  add_neuron_gradient_methods(registry);
}

}  // namespace whitebox::explainers
