// What replaces removed pixels in the perturbation metrics.
#include <cmath>

#include "metrics/common.hpp"
#include "whitebox/metrics/perturbation.hpp"

namespace whitebox::metrics {

Substitution parse_substitution(const std::string& name) {
  if (name == "blur") return Substitution::Blur;
  if (name == "mean") return Substitution::Mean;
  if (name == "zero") return Substitution::Zero;
  if (name == "uniform") return Substitution::Uniform;
  throw LookupError("unknown substitution '" + name + "' (valid: blur, mean, zero, uniform)");
}

std::string to_string(Substitution substitution) {
  switch (substitution) {
    case Substitution::Blur:
      return "blur";
    case Substitution::Mean:
      return "mean";
    case Substitution::Zero:
      return "zero";
    case Substitution::Uniform:
      return "uniform";
  }
  return "?";
}

namespace detail {

at::Tensor gaussian_blur(const at::Tensor& image, double sigma) {
  if (!(sigma > 0)) throw ArgumentError("the blur sigma must be positive, not " + c10::str(sigma));
  const int64_t radius = static_cast<int64_t>(std::ceil(3 * sigma));
  const auto options = image.options();
  const at::Tensor offsets = at::arange(-radius, radius + 1, options);
  at::Tensor kernel = at::exp(-offsets * offsets / (2 * sigma * sigma));
  kernel = kernel / kernel.sum();
  const int64_t channels = image.size(0);
  const std::vector<int64_t> unit{1, 1}, none{0, 0};
  // Each channel blurred alone: a grouped convolution, rows then columns.
  at::Tensor x = at::replication_pad2d(image.unsqueeze(0), {radius, radius, radius, radius});
  x = at::conv2d(x, kernel.view({1, 1, 1, -1}).repeat({channels, 1, 1, 1}), c10::nullopt, unit,
                 none, unit, channels);
  x = at::conv2d(x, kernel.view({1, 1, -1, 1}).repeat({channels, 1, 1, 1}), c10::nullopt, unit,
                 none, unit, channels);
  return x.squeeze(0);
}

at::Tensor substitute(const at::Tensor& image, Substitution substitution, double blur_sigma,
                      uint64_t seed) {
  switch (substitution) {
    case Substitution::Blur:
      return gaussian_blur(image, blur_sigma);
    case Substitution::Mean:
      return image.mean({1, 2}, /*keepdim=*/true).expand_as(image);
    case Substitution::Zero:
      return at::zeros_like(image);
    case Substitution::Uniform: {
      const at::Tensor flat = image.reshape({image.size(0), -1});
      const at::Tensor low = std::get<0>(flat.min(1)).view({-1, 1, 1});
      const at::Tensor high = std::get<0>(flat.max(1)).view({-1, 1, 1});
      at::Generator g = generator(seed);
      const at::Tensor u =
          at::rand(image.sizes(), g, at::kDouble).to(image.device(), image.scalar_type());
      return low + u * (high - low);
    }
  }
  throw ArgumentError("unknown substitution");
}

}  // namespace detail
}  // namespace whitebox::metrics
