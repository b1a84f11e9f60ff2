// Integrated gradients: the path integral of the input gradient along the straight line from a
// baseline to the input, times (input - baseline), by a chosen quadrature.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "methods/arguments.hpp"
#include "methods/baseline.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/path_integral.hpp"

namespace whitebox::explainers {

at::Tensor integrate_path(const at::Tensor& start, const at::Tensor& end, const Quadrature& q,
                          int64_t batch, const PathGradient& gradient) {
  const auto steps = static_cast<int64_t>(q.alphas.size());
  const at::Tensor diff = end - start;
  const at::Tensor alphas = at::tensor(q.alphas, at::kDouble).to(start.options());
  const at::Tensor weights = at::tensor(q.weights, at::kDouble).to(start.options());
  const auto index_options = start.options().dtype(at::kLong);
  std::vector<int64_t> per_point(start.dim(), 1);  // [-1, 1, 1, ...]: one scalar per path point
  per_point[0] = -1;

  // The weighted gradients are summed per image.
  at::Tensor total = at::zeros_like(start);
  const int64_t count = start.size(0) * steps;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t last = std::min(count, first + batch);
    const at::Tensor flat = at::arange(first, last, index_options);
    const at::Tensor image = at::div(flat, steps, c10::string_view("floor"));
    const at::Tensor k = at::remainder(flat, steps);
    const at::Tensor points =
        start.index_select(0, image) +
        alphas.index_select(0, k).view(per_point) * diff.index_select(0, image);
    std::vector<int64_t> images;
    for (int64_t f = first; f < last; ++f) images.push_back(f / steps);
    total.index_add_(0, image,
                     gradient(points, images) * weights.index_select(0, k).view(per_point));
  }
  return total;
}

std::vector<Hyperparameter> path_hyperparameters() {
  std::vector<Hyperparameter> parameters = {
      integer_parameter("steps", "50", "number of path points (gradient evaluations)", 1),
      choice_parameter(
          "integration", "gauss-legendre",
          "quadrature over [0, 1]: gauss-legendre, riemann-left, riemann-right, "
          "riemann-middle, trapezoid (endpoints included)",
          {"gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "trapezoid"}),
      integer_parameter("batch", "4", "path points per forward/backward pass", 1, kMostBatch)};
  const auto baseline = baseline_hyperparameters();
  parameters.insert(parameters.begin(), baseline[0]);
  parameters.insert(parameters.end(), baseline.begin() + 1, baseline.end());
  return parameters;
}

namespace {

Explanation integrated_gradients(const Context& c) {
  const int64_t steps = c.params.integer("steps");
  const Quadrature q = quadrature(c.params.text("integration"), steps);
  const std::string reduce = c.params.text("reduce");
  if (reduce != "sum" && reduce != "max" && reduce != "l2") reduce_channels(c.input, reduce);  // throws early

  const at::Tensor& x = c.input;
  const at::Tensor baseline = make_baseline(c);
  // A one-shot sweep per batch of path points: its trace is freed on the way back.
  const at::Tensor total = integrate_path(
      baseline, x, q, c.params.integer("batch"),
      [&](const at::Tensor& points, const std::vector<int64_t>& images) {
        std::vector<int64_t> classes;
        for (int64_t image : images) classes.push_back(c.classes[image]);
        return c.model.gradient(c.model.forward(points, c.trace_options), classes)[0];
      });

  Explanation e;
  e.attribution = (x - baseline) * total;
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";

  // Completeness: sum(attribution) should equal f(x) - f(baseline).
  report_sum_gap(e,
                 class_scores(c.trace[c.model.output()], c.classes) -
                     class_scores(c.model.logits(baseline), c.classes),
                 "completeness_gap");
  e.stats["steps"] = static_cast<double>(steps);
  return e;
}

}  // namespace

void add_integrated_gradients_method(std::vector<MethodInfo>& registry) {
  std::vector<Hyperparameter> parameters = path_hyperparameters();
  parameters.push_back(choice_parameter(
      "reduce", "sum", "channel reduction of the map: sum (signed), max (of |a|), l2",
      {"sum", "max", "l2"}));
  registry.push_back(
      {.name = "integrated-gradients",
       .aliases = {"ig"},
       .family = Family::Gradient,
       .summary =
           "gradients averaged along the straight path from a baseline image to the input, times "
           "(input - baseline); the attributions sum to f(input) - f(baseline) (completeness, "
           "reported as stats completeness_gap, relative_completeness_gap, delta)",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = true,
       .resolution = Resolution::Input,
       .cost = "steps forwards + steps backwards (in batches), + 1 forward of the baseline",
       .hyperparameters = parameters,
       .citation = "Sundararajan, Taly, Yan. Axiomatic Attribution for Deep Networks. ICML 2017",
       .run = integrated_gradients,
       .scheduling = {.trace_use = Scheduling::TraceUse::InputGradients}});
}

}  // namespace whitebox::explainers
