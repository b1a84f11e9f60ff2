// SmoothGrad, SmoothGrad-squared and VarGrad: any registered method run on noisy copies of the
// input, its results averaged (mean, mean of squares, variance over the samples).
#include <ATen/ATen.h>

#include <algorithm>
#include <map>

#include "methods/arguments.hpp"
#include "methods/layers.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"

namespace whitebox::explainers {
namespace {

enum class Aggregate { Mean, MeanOfSquares, Variance };

const char* const kWrappers[] = {"smoothgrad", "smoothgrad-squared", "vargrad"};

// The per-image mean of the samples (of their squares for MeanOfSquares) and, for Variance, the
// sum of squared deviations, updated one sample at a time (Welford): the memory of one result
// per image whatever the number of samples.
class Running {
 public:
  Running(Aggregate how, int64_t images) : how_(how), count_(images, 0) {}
  void add(int64_t image, const at::Tensor& sample) {
    const at::Tensor value = how_ == Aggregate::MeanOfSquares ? sample.square() : sample;
    if (!mean_.defined()) {
      std::vector<int64_t> shape = sample.sizes().vec();
      shape.insert(shape.begin(), static_cast<int64_t>(count_.size()));
      mean_ = at::zeros(shape, sample.options());
      if (how_ == Aggregate::Variance) m2_ = at::zeros_like(mean_);
    }
    const double n = static_cast<double>(++count_[image]);
    at::Tensor mean = mean_[image];
    if (how_ != Aggregate::Variance) {
      mean.add_(value - mean, 1.0 / n);
      return;
    }
    const at::Tensor before = value - mean;
    mean.add_(before, 1.0 / n);
    m2_[image].addcmul_(before, value - mean);
  }
  at::Tensor result() const { return how_ == Aggregate::Variance ? m2_ / count_[0] : mean_; }

 private:
  Aggregate how_;
  std::vector<int64_t> count_;
  at::Tensor mean_, m2_;
};

// The base method's parameters: every key the wrapper does not declare itself, then the
// "base."-prefixed ones, unprefixed (so that base.batch sets the base's batch, not the wrapper's).
Params base_parameters(const Params& params, const std::vector<Hyperparameter>& own) {
  Params base;
  for (const auto& [key, value] : params.values()) {
    const bool wrapper_key =
        std::any_of(own.begin(), own.end(), [&](const Hyperparameter& h) { return h.name == key; });
    if (!wrapper_key && key.rfind("base.", 0) != 0) base.set(key, value);
  }
  for (const auto& [key, value] : params.values()) {
    if (key.rfind("base.", 0) == 0) base.set(key.substr(5), value);
  }
  return base;
}

// Noise generation, reproducible in PyTorch, one copy at a time in image-major order (image i's
// samples are copies i*samples .. i*samples+samples-1):
//   g = torch.Generator().manual_seed(seed)
//   sigma_i = noise * (x_i.max() - x_i.min())                      # per image
//   copy = x_i + sigma_i * torch.randn(x_i.shape, generator=g)     # float32, CPU, one call each
// The copies go through the base method `batch` at a time, in that order.
Explanation noise_wrapper(const Context& c, Aggregate how, const std::vector<Hyperparameter>& own) {
  const MethodInfo& base = find_method(c.params.text("base"));
  if (std::find(std::begin(kWrappers), std::end(kWrappers), base.name) != std::end(kWrappers)) {
    throw ArgumentError("base=" + base.name + ": the base of a noise wrapper cannot be a noise wrapper");
  }
  const double noise = c.params.number("noise");
  const int64_t samples = c.params.integer("samples");
  const int64_t batch = c.params.integer("batch");
  at::Generator generator = seeded_generator(c.params);
  // The base runs here, not through explain(): it is given its declared defaults here.
  const Params base_params = with_declared_defaults(base, base_parameters(c.params, own));

  const at::Tensor& x = c.input;
  const int64_t n = x.size(0);
  const at::Tensor flat = x.flatten(1);
  const at::Tensor sigma = noise * (std::get<0>(flat.max(1)) - std::get<0>(flat.min(1)));
  const std::vector<int64_t> classes = repeat_each(c.classes, samples);

  // The copies' traces keep only what the base method reads.
  const TraceOptions options = trace_options_for({&base}, c.model, base_params);
  Running attribution(how, n), map(how, n);
  Explanation first;
  std::map<std::string, double> stats;  // the base's, weighted by the copies of each call
  for (int64_t start = 0; start < n * samples; start += batch) {
    const int64_t end = std::min(n * samples, start + batch);
    std::vector<at::Tensor> copies;
    for (int64_t k = start; k < end; ++k) {
      const int64_t i = k / samples;
      const at::Tensor eps = at::randn(x[i].sizes(), generator, at::kFloat).to(x.options());
      copies.push_back(x[i] + sigma[i] * eps);
    }
    const Context noisy(c.model, at::stack(copies),
                        std::vector<int64_t>(classes.begin() + start, classes.begin() + end),
                        base_params, options);
    Explanation e = base.run(noisy);
    for (int64_t k = start; k < end; ++k) {
      attribution.add(k / samples, e.attribution[k - start]);
      map.add(k / samples, e.map[k - start]);
    }
    for (const auto& [key, value] : e.stats) {
      stats[key] += value * static_cast<double>(end - start) / static_cast<double>(n * samples);
    }
    if (start == 0) first = std::move(e);
  }
  Explanation e;
  e.attribution = attribution.result();
  e.map = map.result();
  e.is_signed = how == Aggregate::Mean && first.is_signed;
  e.layer = first.layer;
  e.stats = std::move(stats);
  e.stats["samples"] = static_cast<double>(samples);
  e.stats["sigma"] = sigma[0].item<double>();
  return e;
}

std::vector<Hyperparameter> hyperparameters() {
  return {
      {"base", "saliency",
       "the method run on every noisy copy (any method but the noise wrappers); its parameters "
       "are given as they are, or as base.NAME for a name the wrapper takes too (batch, seed)"},
      number_parameter("noise", "0.15",
                       "noise standard deviation as a fraction of the input range max(x) - min(x)",
                       0),
      integer_parameter("samples", "50", "number of noisy copies", 1),
      integer_parameter("seed", "0",
                        "random seed: one torch.randn(x_i.shape, generator=torch.Generator()"
                        ".manual_seed(seed)) per copy, image by image, float32 on the CPU",
                        0, kMostSeed),
      integer_parameter("batch", "4", "noisy copies per call of the base method", 1, kMostBatch)};
}

}  // namespace

void add_noise_methods(std::vector<MethodInfo>& registry) {
  const std::vector<Hyperparameter> own = hyperparameters();
  // The wrappers differ in their aggregate; they read the input and the classes of their
  // context, not its trace. Their facts for a given base: facts().
  const auto wrapper = [&](std::string name, std::vector<std::string> aliases, std::string summary,
                           std::string citation, Aggregate how) {
    registry.push_back({.name = std::move(name),
                        .aliases = std::move(aliases),
                        .family = Family::Gradient,
                        .summary = std::move(summary),
                        .class_discriminative = true,
                        .needs_gradient = true,
                        .resolution = Resolution::Input,
                        .cost = "samples x the base method's cost",
                        .hyperparameters = own,
                        .citation = std::move(citation),
                        .run = [own, how](const Context& c) { return noise_wrapper(c, how, own); },
                        .scheduling = {.trace_use = Scheduling::TraceUse::InputGradients}});
  };
  wrapper("smoothgrad", {"smooth-grad"},
          "the base method (default saliency) averaged over noisy copies of the input: removes "
          "gradient noise; attribution and map are the means of the base's",
          "Smilkov, Thorat, Kim, Viegas, Wattenberg. SmoothGrad: removing noise by adding noise. "
          "ICML Workshop 2017",
          Aggregate::Mean);
  wrapper("smoothgrad-squared", {"smoothgrad-sq", "smoothgrad2", "squaregrad"},
          "mean over noisy copies of the square of the base method's attribution (and map): "
          "unsigned, sharper than SmoothGrad; with the default base (saliency) it is SquareGrad "
          "(Xplique, Zennit), the mean squared gradient of noisy inputs",
          "Hooker, Erhan, Kindermans, Kim. A Benchmark for Interpretability Methods in Deep "
          "Neural Networks. NeurIPS 2019",
          Aggregate::MeanOfSquares);
  wrapper("vargrad", {"var-grad"},
          "variance (1/samples) over noisy copies of the base method's attribution (and map): "
          "unsigned",
          "Adebayo, Gilmer, Goodfellow, Kim. Local Explanation Methods for Deep Neural Networks "
          "Lack Sensitivity to Parameter Values. ICLR Workshop 2018",
          Aggregate::Variance);
}

}  // namespace whitebox::explainers
