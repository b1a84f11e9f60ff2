// Layer attribution (Captum's layer family): the target logit attributed to the units of one
// layer's output A [N, K, h, w] rather than to the pixels: gradient x activation, integrated
// gradients along a path in A's space, and conductance (integrated gradients of the input, routed
// through A). The map is the attribution summed over the channels, upsampled as the CAMs are.
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/arguments.hpp"
#include "methods/baseline.hpp"
#include "methods/layers.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/path_integral.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

// The one layer of params "layer" (default: the last spatial map).
ValueId attributed_layer(const Context& c, const std::string& method) {
  const std::vector<ValueId> layers = c.layers();
  if (layers.size() > 1) {
    throw ArgumentError(method + " attributes to one layer, not " + std::to_string(layers.size()) +
                        " (layer=" + c.params.text("layer", "") + ")");
  }
  return layers.front();
}

// The attribution [N, K, h, w] at `layer`, its channel sum upsampled to the input as the map.
Explanation layer_explanation(const Context& c, ValueId layer, at::Tensor attribution) {
  Explanation e;
  e.layer = c.model.graph().values[layer].name;
  e.map = upsample(attribution.sum(1), c.input);
  e.attribution = std::move(attribution);
  e.is_signed = true;
  return e;
}

Explanation layer_gradient_x_activation(const Context& c) {
  const ValueId layer = attributed_layer(c, "layer-gradient-x-activation");
  return layer_explanation(c, layer, c.trace[layer] * c.gradient(layer));
}

// The values that the nodes computed from `layer` read but do not compute (skip connections
// around it, shapes), and the layer itself: what Model::forward_from takes from the trace.
std::vector<ValueId> read_around(const Graph& graph, ValueId layer) {
  std::vector<char> downstream(graph.values.size(), 0), read(graph.values.size(), 0);
  downstream[layer] = 1;
  for (const Node& node : graph.nodes) {
    const bool after = std::any_of(node.inputs.begin(), node.inputs.end(),
                                   [&](ValueId v) { return v != kNoValue && downstream[v]; });
    if (!after) continue;
    for (ValueId v : node.inputs) {
      if (v != kNoValue && !downstream[v]) read[v] = 1;
    }
    for (ValueId v : node.outputs) {
      if (v != kNoValue) downstream[v] = 1;
    }
  }
  std::vector<ValueId> values = {layer};
  for (size_t v = 0; v < read.size(); ++v) {
    if (read[v] && !graph.values[v].is_constant()) values.push_back(static_cast<ValueId>(v));
  }
  return values;
}

// The value `layer` takes on the input `x`: a forward pass that stops there.
at::Tensor value_at(const Context& c, const at::Tensor& x, ValueId layer) {
  TraceOptions options;
  options.outputs_only = true;
  options.keep = {layer};
  options.until = std::vector<ValueId>{layer};
  return c.model.forward(x, options)[layer];
}

// Integrated gradients at the layer (Captum's LayerIntegratedGradients, attributing to the
// layer's output): the straight path from A(baseline) to A(x) in the layer's space, the network
// rerun from the layer on (other branches keep their values for x).
Explanation layer_integrated_gradients(const Context& c) {
  const ValueId layer = attributed_layer(c, "layer-integrated-gradients");
  const int64_t steps = c.params.integer("steps");
  const Quadrature q = quadrature(c.params.text("integration"), steps);
  const at::Tensor& A = c.trace[layer];
  const at::Tensor start = value_at(c, make_baseline(c), layer);
  const std::vector<ValueId> around = read_around(c.model.graph(), layer);
  const int64_t count = A.size(0);
  const at::Tensor total = integrate_path(
      start, A, q, c.params.integer("batch"),
      [&](const at::Tensor& points, const std::vector<int64_t>& images) {
        // The trace rows of these images, for forward_from to rerun the rest of the network.
        const at::Tensor rows = at::tensor(images, at::kLong).to(A.device());
        std::vector<at::Tensor> values = c.trace.values();
        for (ValueId v : around) {
          const at::Tensor& t = values[v];
          if (t.defined() && t.is_floating_point() && t.dim() > 0 && t.size(0) == count) {
            values[v] = t.index_select(0, rows);
          }
        }
        std::vector<int64_t> classes;
        for (int64_t image : images) classes.push_back(c.classes[image]);
        return c.model.gradient(c.model.forward_from(Trace(std::move(values)), layer, points),
                                classes, {layer})[0];
      });

  Explanation e = layer_explanation(c, layer, (A - start) * total);
  // Completeness: the sum equals y_c(x) - y_c(x with the layer set to A(baseline)), which is
  // y_c(x) - y_c(baseline) when every path from the input to the output crosses the layer.
  const at::Tensor end_score = class_scores(c.trace[c.model.output()], c.classes);
  const at::Tensor start_score =
      class_scores(c.model.forward_from(c.trace, layer, start)[c.model.output()], c.classes);
  report_sum_gap(e, end_score - start_score, "completeness_gap");
  e.stats["steps"] = static_cast<double>(steps);
  return e;
}

// Conductance (Dhamdhere et al.; Captum's LayerConductance): along the input path
// x_t = b + t (x - b), t_k = k / steps, the gradient at the layer times the change of the layer's
// value over each interval:
//   cond = sum_k gbar_k (.) (A(x_{t_k+1}) - A(x_{t_k})),
// gbar_k the gradient at the interval's left end, right end or their mean (trapezoid).
Explanation layer_conductance(const Context& c) {
  const ValueId layer = attributed_layer(c, "layer-conductance");
  const int64_t steps = c.params.integer("steps");
  const int64_t batch = c.params.integer("batch");
  const std::string rule = c.params.text("integration");
  double left = 0.5, right = 0.5;  // trapezoid
  if (rule == "riemann-left") {
    left = 1.0, right = 0.0;
  } else if (rule == "riemann-right") {
    left = 0.0, right = 1.0;
  } else if (rule != "trapezoid") {
    throw ArgumentError("layer-conductance: unknown integration '" + rule +
                        "' (valid: trapezoid, riemann-left, riemann-right)");
  }
  const at::Tensor& x = c.input;
  const at::Tensor baseline = make_baseline(c);
  const at::Tensor diff = x - baseline;
  const auto index_options = x.options().dtype(at::kLong);
  std::vector<int64_t> per_point(x.dim(), 1);
  per_point[0] = -1;
  // Path points keep the layer and what the sweep down to it reads.
  TraceOptions options;
  options.lean = true;
  options.keep = {layer};
  options.sweep_stops = std::vector<ValueId>{layer};

  const int64_t points_per_image = steps + 1;
  const int64_t count = x.size(0) * points_per_image;
  at::Tensor total, start_scores = at::zeros({x.size(0)}, x.options());
  // The last point of the previous batch: its interval ends in this one.
  at::Tensor carried_value, carried_gradient;
  int64_t carried_image = -1;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t last = std::min(count, first + batch);
    const at::Tensor flat = at::arange(first, last, index_options);
    const at::Tensor image = at::div(flat, points_per_image, c10::string_view("floor"));
    const at::Tensor t =
        at::remainder(flat, points_per_image).to(x.scalar_type()) / static_cast<double>(steps);
    const at::Tensor points =
        baseline.index_select(0, image) + t.view(per_point) * diff.index_select(0, image);
    std::vector<int64_t> images, classes, starts, start_rows;
    for (int64_t f = first; f < last; ++f) {
      images.push_back(f / points_per_image);
      classes.push_back(c.classes[images.back()]);
      if (f % points_per_image == 0) {
        starts.push_back(images.back());
        start_rows.push_back(f - first);
      }
    }
    Trace trace = c.model.forward(points, options);
    if (!starts.empty()) {
      const at::Tensor scores = class_scores(trace[c.model.output()], classes);
      start_scores.index_copy_(0, at::tensor(starts, index_options),
                               scores.index_select(0, at::tensor(start_rows, index_options)));
    }
    at::Tensor value = trace[layer];
    at::Tensor gradient = c.model.gradient(std::move(trace), classes, {layer})[0];
    if (!total.defined()) {
      std::vector<int64_t> shape = value.sizes().vec();
      shape[0] = x.size(0);
      total = at::zeros(shape, value.options());
    }
    if (carried_image >= 0) {
      images.insert(images.begin(), carried_image);
      value = at::cat({carried_value, value});
      gradient = at::cat({carried_gradient, gradient});
    }
    // Intervals: consecutive rows of one image.
    std::vector<int64_t> lower, owners;
    for (size_t r = 0; r + 1 < images.size(); ++r) {
      if (images[r] == images[r + 1]) {
        lower.push_back(static_cast<int64_t>(r));
        owners.push_back(images[r]);
      }
    }
    if (!lower.empty()) {
      const at::Tensor low = at::tensor(lower, index_options), high = low + 1;
      const at::Tensor mean_gradient =
          left * gradient.index_select(0, low) + right * gradient.index_select(0, high);
      total.index_add_(0, at::tensor(owners, index_options),
                       mean_gradient * (value.index_select(0, high) - value.index_select(0, low)));
    }
    carried_value = value.narrow(0, value.size(0) - 1, 1);
    carried_gradient = gradient.narrow(0, gradient.size(0) - 1, 1);
    carried_image = images.back();
  }

  Explanation e = layer_explanation(c, layer, total);
  // The layer's total conductance is the target logit's change along the path (completeness).
  report_sum_gap(e, class_scores(c.trace[c.model.output()], c.classes) - start_scores,
                 "completeness_gap");
  e.stats["steps"] = static_cast<double>(steps);
  return e;
}

Hyperparameter attributed_layer_parameter() {
  return computed({"layer", "auto",
                   "the layer whose output is attributed, by value or node name (default: the "
                   "last spatial feature map, as the CAMs)"});
}

const char* const kCaptum =
    "Kokhlikyan et al. Captum: A unified and generic model interpretability library for "
    "PyTorch. arXiv 2009.07896, 2020";

}  // namespace

void add_layer_attribution_methods(std::vector<MethodInfo>& registry) {
  using Use = Scheduling::TraceUse;
  registry.push_back(
      {.name = "layer-gradient-x-activation",
       .aliases = {"layer-gradient-activation"},
       .family = Family::Gradient,
       .summary = "the layer's activations times the gradient of the class score with respect "
                  "to them, per unit [N, K, h, w]: a first-order share of the score per "
                  "unit; the map is their channel sum, upsampled",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = false,
       .resolution = Resolution::Layer,
       .cost = "1 forward + 1 backward to the layer (shares the CAMs' sweep)",
       .hyperparameters = {attributed_layer_parameter()},
       .citation = std::string(kCaptum) +
                   "; Shrikumar, Greenside, Shcherbina, Kundaje. Not Just a Black Box. arXiv "
                   "1605.01713, 2016",
       .run = layer_gradient_x_activation,
       .scheduling = {.layer_gradient = true, .trace_use = Use::LayerGradients}});

  std::vector<Hyperparameter> path = path_hyperparameters();
  path.insert(path.begin(), attributed_layer_parameter());
  registry.push_back(
      {.name = "layer-integrated-gradients",
       .aliases = {"layer-ig"},
       .family = Family::Gradient,
       .summary = "integrated gradients at a layer: the gradient at the layer averaged along "
                  "the straight path from the layer's value for the baseline image to its "
                  "value for the input (the rest of the network rerun from the layer), times "
                  "their difference, per unit [N, K, h, w]; the sum is the change of the "
                  "class score (stats completeness_gap, relative_completeness_gap, delta)",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = true,
       .resolution = Resolution::Layer,
       .cost = "1 forward of the baseline to the layer + steps forwards from the layer and "
               "backwards to it (in batches)",
       .hyperparameters = path,
       .citation = std::string(kCaptum) +
                   "; Sundararajan, Taly, Yan. Axiomatic Attribution for Deep Networks. ICML 2017",
       .run = layer_integrated_gradients});

  std::vector<Hyperparameter> intervals = path_hyperparameters();
  intervals.insert(intervals.begin(), attributed_layer_parameter());
  for (Hyperparameter& h : intervals) {
    if (h.name == "steps") h.meaning = "number of path intervals (steps + 1 points)";
    if (h.name == "integration") {
      h = choice_parameter("integration", "trapezoid",
                           "the gradient of each interval: trapezoid (the mean of its ends), "
                           "riemann-left, riemann-right (Captum's riemann_left / _right)",
                           {"trapezoid", "riemann-left", "riemann-right"});
    }
  }
  registry.push_back(
      {.name = "layer-conductance",
       .aliases = {"conductance"},
       .family = Family::Gradient,
       .summary =
           "conductance of the layer's units: along the straight path from a baseline "
           "image to the input, the gradient at the layer times the change of the "
           "layer's value, summed, per unit [N, K, h, w]: the share of the class score's "
           "change that flows through each unit; the total is the score's change when every path "
           "crosses the layer (stats completeness_gap, relative_completeness_gap, delta)",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = true,
       .resolution = Resolution::Layer,
       .cost = "(steps + 1) forwards + (steps + 1) backwards to the layer (in batches)",
       .hyperparameters = intervals,
       .citation = "Dhamdhere, Sundararajan, Yan. How Important Is a Neuron? ICLR 2019; "
                   "Shrikumar, Su, Kundaje. Computationally Efficient Measures of Internal "
                   "Neuron Importance. arXiv 1807.09946, 2018; " +
                   std::string(kCaptum),
       .run = layer_conductance,
       .scheduling = {.trace_use = Use::LayerValues}});
}

}  // namespace whitebox::explainers
