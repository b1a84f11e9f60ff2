// SmoothGrad, SmoothGrad-squared and VarGrad: any registered method run on noisy copies of the
// input, its results averaged (mean, mean of squares, variance over the samples).
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/arguments.hpp"
#include "methods/layers.hpp"
#include "methods/methods.hpp"

namespace whitebox::explainers {
namespace {

enum class Aggregate { Mean, MeanOfSquares, Variance };

const char* const kWrappers[] = {"smoothgrad", "smoothgrad-squared", "vargrad"};

at::Tensor aggregate(const at::Tensor& samples, Aggregate how) {  // [N, S, ...] -> [N, ...]
  switch (how) {
    case Aggregate::Mean: return samples.mean(1);
    case Aggregate::MeanOfSquares: return samples.pow(2).mean(1);
    case Aggregate::Variance: return samples.var(1, /*unbiased=*/false);
  }
  return {};
}

// Noise generation, reproducible in PyTorch:
//   g = torch.Generator().manual_seed(seed)
//   eps = torch.randn([N, samples, C, H, W], generator=g)          # float32, CPU, one call
//   sigma_i = noise * (x_i.max() - x_i.min())                      # per image
//   copies = (x[:, None] + sigma[:, None, None, None, None] * eps).reshape(N * samples, C, H, W)
// The copies (image-major: image i's samples are rows i*samples .. i*samples+samples-1) go
// through the base method `batch` at a time, in that order.
Explanation noise_wrapper(const Context& c, Aggregate how) {
  const MethodInfo& base = find_method(c.params.text("base", "saliency"));
  if (std::find(std::begin(kWrappers), std::end(kWrappers), base.name) != std::end(kWrappers)) {
    throw ArgumentError("base=" + base.name + ": the base of a noise wrapper cannot be a noise wrapper");
  }
  const double noise = number_at_least(c.params, "noise", 0.15, 0.0);
  const int64_t samples = integer_at_least(c.params, "samples", 50, 1);
  const int64_t batch = integer_at_least(c.params, "batch", 4, 1);
  at::Generator generator = seeded_generator(c.params);

  const at::Tensor& x = c.input;
  const int64_t n = x.size(0);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.insert(shape.begin() + 1, samples);
  const at::Tensor eps = at::randn(shape, generator, at::kFloat).to(x.options());
  const at::Tensor flat = x.flatten(1);
  const at::Tensor sigma = noise * (std::get<0>(flat.max(1)) - std::get<0>(flat.min(1)));
  std::vector<int64_t> sigma_shape(shape.size(), 1);
  sigma_shape[0] = n;
  shape.erase(shape.begin());
  shape[0] = n * samples;
  const at::Tensor copies = (x.unsqueeze(1) + sigma.view(sigma_shape) * eps).reshape(shape);
  const std::vector<int64_t> classes = repeat_each(c.classes, samples);

  // The copies' traces keep only what the base method reads.
  const TraceOptions options = trace_options_for({&base}, c.model, c.params);
  std::vector<at::Tensor> attributions, maps;
  Explanation first;
  for (int64_t start = 0; start < n * samples; start += batch) {
    const int64_t end = std::min(n * samples, start + batch);
    const Context noisy(c.model, copies.narrow(0, start, end - start),
                        std::vector<int64_t>(classes.begin() + start, classes.begin() + end),
                        c.params, options);
    Explanation e = base.run(noisy);
    attributions.push_back(e.attribution);
    maps.push_back(e.map);
    if (start == 0) first = std::move(e);
  }
  auto stacked = [&](const std::vector<at::Tensor>& parts) {
    const at::Tensor all = at::cat(parts);
    std::vector<int64_t> s = all.sizes().vec();
    s[0] = samples;
    s.insert(s.begin(), n);
    return all.view(s);
  };
  Explanation e;
  e.attribution = aggregate(stacked(attributions), how);
  e.map = aggregate(stacked(maps), how);
  e.is_signed = how == Aggregate::Mean && first.is_signed;
  e.layer = first.layer;
  e.stats["samples"] = static_cast<double>(samples);
  e.stats["sigma"] = sigma[0].item<double>();
  return e;
}

std::vector<Hyperparameter> hyperparameters() {
  return {{"base", "saliency", "the method run on every noisy copy (any method but the noise wrappers)"},
          {"noise", "0.15", "noise standard deviation as a fraction of the input range max(x) - min(x)"},
          {"samples", "50", "number of noisy copies"},
          {"seed", "0", "random seed: torch.randn([N, samples, C, H, W], generator=torch.Generator()"
                        ".manual_seed(seed)), float32 on the CPU"},
          {"batch", "4", "noisy copies per call of the base method"}};
}

}  // namespace

void add_noise_methods(std::vector<MethodInfo>& registry) {
  const char* cost = "samples x the base method's cost";
  registry.push_back({"smoothgrad",
                      {"smooth-grad"},
                      Family::Gradient,
                      "the base method (default saliency) averaged over noisy copies of the input: "
                      "removes gradient noise; attribution and map are the means of the base's",
                      true,
                      true,
                      false,
                      "input",
                      cost,
                      hyperparameters(),
                      "Smilkov, Thorat, Kim, Viegas, Wattenberg. SmoothGrad: removing noise by "
                      "adding noise. ICML Workshop 2017",
                      [](const Context& c) { return noise_wrapper(c, Aggregate::Mean); }});
  registry.push_back({"smoothgrad-squared",
                      {"smoothgrad-sq", "smoothgrad2"},
                      Family::Gradient,
                      "mean over noisy copies of the square of the base method's attribution (and "
                      "map): unsigned, sharper than SmoothGrad",
                      true,
                      true,
                      false,
                      "input",
                      cost,
                      hyperparameters(),
                      "Hooker, Erhan, Kindermans, Kim. A Benchmark for Interpretability Methods in "
                      "Deep Neural Networks. NeurIPS 2019",
                      [](const Context& c) { return noise_wrapper(c, Aggregate::MeanOfSquares); }});
  registry.push_back({"vargrad",
                      {"var-grad"},
                      Family::Gradient,
                      "variance (1/samples) over noisy copies of the base method's attribution "
                      "(and map): unsigned",
                      true,
                      true,
                      false,
                      "input",
                      cost,
                      hyperparameters(),
                      "Adebayo, Gilmer, Goodfellow, Kim. Local Explanation Methods for Deep Neural "
                      "Networks Lack Sensitivity to Parameter Values. ICLR Workshop 2018",
                      [](const Context& c) { return noise_wrapper(c, Aggregate::Variance); }});
  // The wrappers read the input and the classes of their context, not its trace.
  for (auto it = registry.end() - 3; it != registry.end(); ++it) {
    it->trace_use = MethodInfo::TraceUse::InputGradients;
  }
}

}  // namespace whitebox::explainers
