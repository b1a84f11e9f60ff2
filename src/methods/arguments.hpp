#pragma once
// Checked hyper-parameters and small helpers shared by the gradient, noise and black-box methods.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>
#include <vector>

#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// A number parameter that must be greater than `bound`, which its declared range admits.
inline double number_above(const Params& params, const std::string& name, double bound) {
  const double v = params.number(name);
  if (!(v > bound)) {
    throw ArgumentError("parameter " + name + "=" + params.text(name) + " must be greater than " +
                        c10::str(bound));
  }
  return v;
}

// The random generator of the seeded methods, from their declared "seed": a CPU generator, so
// that the numbers do not depend on the device, and PyTorch reproduces them with
// torch.Generator().manual_seed(seed).
inline at::Generator seeded_generator(const Params& params) {
  return at::detail::createCPUGenerator(static_cast<uint64_t>(params.integer("seed")));
}

// Each class repeated `times` times, image by image: the classes of a batch of derived copies.
inline std::vector<int64_t> repeat_each(const std::vector<int64_t>& classes, int64_t times) {
  std::vector<int64_t> out;
  out.reserve(classes.size() * times);
  for (int64_t cls : classes) out.insert(out.end(), times, cls);
  return out;
}

// classes as a [N] int64 tensor on `device`.
inline at::Tensor class_tensor(const std::vector<int64_t>& classes, c10::Device device) {
  return at::tensor(classes, at::kLong).to(device);
}

// logits[i, classes[i]] for every row: [N].
inline at::Tensor class_scores(const at::Tensor& logits, const std::vector<int64_t>& classes) {
  return logits.gather(1, class_tensor(classes, logits.device()).unsqueeze(1)).squeeze(1);
}

// One-hot rows of the context's classes, shaped like its logits: the seed of rule-based sweeps.
inline at::Tensor target_one_hot(const Context& c) {
  const at::Tensor& logits = c.trace[c.model.output()];
  return at::zeros_like(logits).scatter_(1, class_tensor(c.classes, logits.device()).unsqueeze(1), 1.0);
}

// For attributions that should sum to delta[i] per image (IG's completeness, DeepLIFT's
// summation-to-delta): stats "delta", "<name>" = sum - delta and "relative_<name>", of the image
// with the largest relative gap.
inline void report_sum_gap(Explanation& e, const at::Tensor& delta, const std::string& name) {
  const at::Tensor d = delta.to(at::kCPU, at::kDouble);
  const at::Tensor gap = e.attribution.flatten(1).sum(1).to(at::kCPU, at::kDouble) - d;
  const at::Tensor relative = gap.abs() / d.abs();
  const int64_t worst = relative.argmax().item<int64_t>();
  e.stats["delta"] = d[worst].item<double>();
  e.stats[name] = gap[worst].item<double>();
  e.stats["relative_" + name] = relative[worst].item<double>();
}

}  // namespace whitebox::explainers
