// Baseline images: constant pixels, statistics or blurs of the input, noise, or a file.
#include "methods/baseline.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include "methods/arguments.hpp"
#include "methods/parameters.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::explainers {
namespace {

// The preprocessed value of a per-channel pixel constant, [1, 3, 1, 1] in the input's options.
at::Tensor channel_constant(const Context& c, const std::string& baseline,
                            const std::array<double, 3>& pixel) {
  if (c.input.size(1) != 3) {
    throw ArgumentError("baseline=" + baseline + " needs a 3-channel input, this one has " +
                        std::to_string(c.input.size(1)) + " channels; use baseline=zero");
  }
  const Preprocessing& p = c.model.preprocessing;
  std::vector<double> values;
  for (int ch = 0; ch < 3; ++ch) values.push_back((pixel[ch] - p.mean[ch]) / p.std[ch]);
  return at::tensor(values, at::kDouble).to(c.input.options()).view({1, 3, 1, 1});
}

// Separable Gaussian blur with reflected borders; the kernel spans +-ceil(3 sigma) pixels.
at::Tensor gaussian_blur(const at::Tensor& x, double sigma) {
  // Compared as doubles: 3 sigma may be past what an integer holds.
  const double reach = std::ceil(3.0 * sigma);
  if (!(reach < static_cast<double>(std::min(x.size(2), x.size(3))))) {
    throw ArgumentError("sigma=" + c10::str(sigma) + " is too large for a " +
                        std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
                        " image (3 sigma must stay below the image size)");
  }
  const auto half = static_cast<int64_t>(reach);
  const int64_t channels = x.size(1);
  at::Tensor t = at::arange(-half, half + 1, x.options());
  at::Tensor kernel = at::exp(-0.5 * (t / sigma).pow(2));
  kernel = kernel / kernel.sum();
  const at::Tensor rows = kernel.view({1, 1, -1, 1}).expand({channels, 1, 2 * half + 1, 1});
  const at::Tensor cols = kernel.view({1, 1, 1, -1}).expand({channels, 1, 1, 2 * half + 1});
  at::Tensor padded = at::reflection_pad2d(x, {half, half, half, half});
  const std::vector<int64_t> one = {1, 1}, none = {0, 0};
  padded = at::conv2d(padded, rows.contiguous(), at::Tensor(), one, none, one, channels);
  return at::conv2d(padded, cols.contiguous(), at::Tensor(), one, none, one, channels);
}

}  // namespace

at::Tensor make_baseline(const Context& c) { return named_baseline(c, c.params.text("baseline")); }

std::vector<at::Tensor> make_baselines(const Context& c) {
  const std::string list = c.params.text("baselines");
  std::error_code ec;
  std::vector<at::Tensor> baselines;
  if (std::filesystem::is_directory(list, ec)) {
    for (const auto& file : image_files(list))
      baselines.push_back(named_baseline(c, file.string()));
    if (baselines.empty()) throw ArgumentError("baselines folder '" + list + "' holds no images");
    return baselines;
  }
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, comma - start);
    if (name.empty()) throw ArgumentError("baselines='" + list + "' has an empty entry");
    baselines.push_back(named_baseline(c, name));
    start = comma + 1;
  }
  return baselines;
}

at::Tensor named_baseline(const Context& c, const std::string& name) {
  const at::Tensor& x = c.input;
  if (name == "zero") return at::zeros_like(x);
  if (name == "black") return channel_constant(c, name, {0.0, 0.0, 0.0}).expand_as(x).contiguous();
  if (name == "mean") return x.mean({2, 3}, /*keepdim=*/true).expand_as(x).contiguous();
  if (name == "blurred") return gaussian_blur(x, number_above(c.params, "sigma", 0.0));
  if (name == "uniform") {
    if (x.size(1) != 3) {
      throw ArgumentError("baseline=uniform needs a 3-channel input; use baseline=zero");
    }
    // Uniform random pixels in [0, 1], preprocessed: float32 on the CPU, then moved.
    at::Generator generator = seeded_generator(c.params);
    const at::Tensor pixels = at::rand(x.sizes(), generator, at::kFloat).to(x.options());
    const Preprocessing& p = c.model.preprocessing;
    const at::Tensor mean = at::tensor(std::vector<double>(p.mean.begin(), p.mean.end()), at::kDouble)
                                .to(x.options()).view({1, 3, 1, 1});
    const at::Tensor std = at::tensor(std::vector<double>(p.std.begin(), p.std.end()), at::kDouble)
                               .to(x.options()).view({1, 3, 1, 1});
    return (pixels - mean) / std;
  }
  // Anything else must be a file: an input tensor (.npy) or an image.
  if (name.find('/') == std::string::npos && name.find('.') == std::string::npos) {
    throw ArgumentError("unknown baseline '" + name +
                        "' (valid: zero, black, mean, blurred, uniform, an image or a .npy file)");
  }
  if (std::filesystem::path(name).extension() == ".npy") {
    const at::Tensor t = read_npy(name);
    if (t.dim() != x.dim() || t.size(0) != 1 || !t.sizes().slice(1).equals(x.sizes().slice(1))) {
      throw ArgumentError("baseline tensor '" + name + "' has shape " + c10::str(t.sizes()) +
                          ", the input is " + c10::str(x.sizes()) + " (a batch of 1 expected)");
    }
    return t.to(x.options()).expand_as(x).contiguous();
  }
  const Input image = preprocess(read_image(name), c.model.preprocessing);
  if (!image.tensor.sizes().slice(1).equals(x.sizes().slice(1))) {
    throw ArgumentError("baseline image '" + name + "' preprocesses to " +
                        c10::str(image.tensor.sizes()) + ", the input is " + c10::str(x.sizes()));
  }
  return image.tensor.to(x.options()).expand_as(x).contiguous();
}

std::vector<Hyperparameter> baselines_hyperparameters(const std::string& fallback) {
  std::vector<Hyperparameter> parameters = baseline_hyperparameters("");
  parameters.front() = {"baselines", fallback,
                        "the reference distribution: comma-separated baselines as `baseline` "
                        "takes them (zero, black, mean, blurred, uniform, image or .npy files), "
                        "or a folder whose images are the distribution"};
  return parameters;
}

std::vector<Hyperparameter> baseline_hyperparameters(const std::string& fallback) {
  return {
      {"baseline", fallback,
       "zero (all-zero input), black (the preprocessed black image), mean (per-channel mean "
       "of the input), blurred (Gaussian blur of the input), uniform (seeded random pixels in "
       "[0, 1], preprocessed), an image file read with the model's preprocessing, or a .npy "
       "input tensor [1, C, H, W]"},
      number_parameter("sigma", "5", "baseline=blurred: Gaussian standard deviation in pixels", 0),
      integer_parameter("seed", "0",
                        "baseline=uniform: random seed (torch.Generator().manual_seed)", 0,
                        kMostSeed)};
}

}  // namespace whitebox::explainers
