// Expected gradients (Erion et al.) and GradientSHAP (Lundberg & Lee, as Captum computes it):
// integrated gradients in expectation over a distribution of baselines, with one random point of
// each random path instead of a quadrature, and optionally Gaussian noise on the input.
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/arguments.hpp"
#include "methods/baseline.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"

namespace whitebox::explainers {
namespace {

// For image i, `samples` draws from one generator, reproducible in PyTorch:
//   g = torch.Generator().manual_seed(seed)
//   index = torch.randint(B, (samples,), generator=g)          # the baselines
//   eps = torch.randn((samples, C, H, W), generator=g)         # float32
//   alpha = torch.rand((samples,), generator=g)                # float32
// then, with b = baselines[index] and x~ = x_i + stdev eps:
//   attribution_i = mean over draws of grad f(b + alpha (x~ - b)) * (x~ - b).
// Images draw one after the other from the same generator.
Explanation expected_gradients(const Context& c) {
  const int64_t samples = c.params.integer("samples");
  const int64_t batch = c.params.integer("batch");
  const double stdev = c.params.number("stdev");
  const std::string reduce = c.params.text("reduce");
  const at::Tensor baselines = at::stack(make_baselines(c), 1);  // [N, B, C, H, W]
  const int64_t count = baselines.size(1);
  at::Generator generator = seeded_generator(c.params);

  const at::Tensor& x = c.input;
  std::vector<int64_t> per_sample(x.dim(), 1);  // [-1, 1, 1, ...]
  per_sample[0] = -1;
  std::vector<at::Tensor> attributions;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const at::Tensor index = at::randint(count, {samples}, generator, at::kLong);
    std::vector<int64_t> shape = {samples};
    for (int64_t d = 1; d < x.dim(); ++d) shape.push_back(x.size(d));
    const at::Tensor eps = at::randn(shape, generator, at::kFloat).to(x.options());
    const at::Tensor alpha = at::rand({samples}, generator, at::kFloat).to(x.options());
    const at::Tensor b = baselines[i].index_select(0, index.to(x.device()));
    const at::Tensor difference = x[i].unsqueeze(0) + stdev * eps - b;  // x~ - b
    const at::Tensor points = b + alpha.view(per_sample) * difference;
    at::Tensor total = at::zeros_like(x[i]);
    for (int64_t start = 0; start < samples; start += batch) {
      const int64_t n = std::min(batch, samples - start);
      const at::Tensor gradient =
          c.model.gradient(c.model.forward(points.narrow(0, start, n), c.trace_options),
                           std::vector<int64_t>(n, c.classes[i]))[0];
      total += (gradient * difference.narrow(0, start, n)).sum(0);
    }
    attributions.push_back(total / static_cast<double>(samples));
  }

  Explanation e;
  e.attribution = at::stack(attributions);
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";
  // Completeness holds in expectation only (without noise): sum(attribution) against
  // f(x) - mean f(b), the gap shrinking as 1 / sqrt(samples).
  at::Tensor reference_scores = at::zeros({x.size(0)}, x.options());
  for (int64_t k = 0; k < count; ++k) {
    reference_scores += class_scores(c.model.logits(baselines.select(1, k)), c.classes);
  }
  report_sum_gap(e, class_scores(c.trace[c.model.output()], c.classes) - reference_scores / count,
                 "expected_summation_gap");
  e.stats["samples"] = static_cast<double>(samples);
  return e;
}

}  // namespace

void add_expected_gradients_method(std::vector<MethodInfo>& registry) {
  std::vector<Hyperparameter> parameters = baselines_hyperparameters("zero,black,blurred");
  parameters.push_back(
      integer_parameter("samples", "50", "random (baseline, path point) draws", 1));
  parameters.push_back(
      number_parameter("stdev", "0",
                       "standard deviation of Gaussian noise added to the input (in its units): 0 "
                       "gives expected gradients, > 0 Captum's GradientSHAP",
                       0));
  parameters.push_back(
      integer_parameter("batch", "4", "path points per forward/backward pass", 1, kMostBatch));
  for (Hyperparameter& h : parameters) {
    if (h.name == "seed") h.meaning = "random seed of the draws (and of baseline uniform)";
  }
  parameters.push_back(choice_parameter("reduce", "sum", "channel reduction: sum (signed), max, l2",
                                        {"sum", "max", "l2"}));
  registry.push_back(
      {.name = "expected-gradients",
       .aliases = {"gradient-shap", "gradientshap"},
       .family = Family::Gradient,
       .summary = "integrated gradients in expectation over a distribution of baselines: each "
                  "draw picks a baseline b and a point b + alpha (x - b) of its path at random "
                  "(alpha uniform in [0, 1]) and contributes the gradient there times x - b; "
                  "with stdev > 0 the input gets Gaussian noise first (GradientSHAP). stats: "
                  "delta = f(x) - mean f(b), expected_summation_gap (0 only in expectation), "
                  "samples.",
       .class_discriminative = true,
       .needs_gradient = true,
       .needs_reference = true,
       .resolution = Resolution::Input,
       .cost = "samples forwards + samples backwards (in batches), + B forwards of the baselines",
       .hyperparameters = std::move(parameters),
       .citation = "Erion, Janizek, Sturmfels, Lundberg, Lee. Improving performance of deep "
                   "learning models with axiomatic attribution priors and expected gradients. "
                   "Nature Machine Intelligence 2021; Lundberg, Lee. NeurIPS 2017 (GradientSHAP)",
       .run = expected_gradients});
}

}  // namespace whitebox::explainers
