// Black-box references: methods that only run the model forward on perturbed copies of the input.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "methods/arguments.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"

namespace whitebox::explainers {
namespace {

void require_image(const Context& c, const std::string& method) {
  if (c.input.dim() != 4) {
    throw ArgumentError(method + " needs an image input [N, C, H, W], this one has shape " +
                        c10::str(c.input.sizes()));
  }
}

// Window offsets along one axis: every `stride`, plus a last one flush with the far edge so that
// every pixel is covered.
std::vector<int64_t> offsets(int64_t size, int64_t window, int64_t stride) {
  std::vector<int64_t> result;
  for (int64_t p = 0; p + window <= size; p += stride) result.push_back(p);
  if (result.back() + window < size) result.push_back(size - window);
  return result;
}

// [B, size] bool: position in [start_b, start_b + window).
at::Tensor inside(const at::Tensor& starts, int64_t size, int64_t window) {
  const at::Tensor pos = at::arange(size, starts.options()).unsqueeze(0);
  const at::Tensor s = starts.unsqueeze(1);
  return (pos >= s) & (pos < s + window);
}

Explanation occlusion(const Context& c) {
  require_image(c, "occlusion");
  const at::Tensor& x = c.input;
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t window = integer_at_least(c.params, "window", 32, 1);
  if (window > height || window > width) {
    throw ArgumentError("occlusion window=" + std::to_string(window) + " is larger than the " +
                        std::to_string(height) + "x" + std::to_string(width) + " image");
  }
  const int64_t stride = integer_at_least(c.params, "stride", std::max<int64_t>(1, window / 2), 1);
  const double fill = c.params.number("fill", 0.0);
  const int64_t batch = integer_at_least(c.params, "batch", 16, 1);

  // Window positions row-major over (row offset, column offset).
  std::vector<int64_t> top, left;
  for (int64_t y : offsets(height, window, stride)) {
    for (int64_t xo : offsets(width, window, stride)) {
      top.push_back(y);
      left.push_back(xo);
    }
  }
  const int64_t count = static_cast<int64_t>(top.size());
  const at::Tensor tops = at::tensor(top, at::kLong).to(x.device());
  const at::Tensor lefts = at::tensor(left, at::kLong).to(x.device());
  const at::Tensor reference = class_scores(c.trace[c.model.output()], c.classes);
  const at::Tensor fill_value = at::scalar_tensor(fill, x.options());

  at::Tensor drops = at::zeros({x.size(0), height, width}, x.options());
  at::Tensor covered = at::zeros({height, width}, x.options());
  for (int64_t start = 0; start < count; start += batch) {
    const int64_t b = std::min(count, start + batch) - start;
    const at::Tensor mask = inside(tops.narrow(0, start, b), height, window).unsqueeze(2) &
                            inside(lefts.narrow(0, start, b), width, window).unsqueeze(1);  // [B, H, W]
    const at::Tensor weight = mask.to(x.scalar_type());
    covered += weight.sum(0);
    for (int64_t i = 0; i < x.size(0); ++i) {
      const at::Tensor occluded = at::where(mask.unsqueeze(1), fill_value, x[i].unsqueeze(0));
      const at::Tensor scores =
          class_scores(c.model.logits(occluded), std::vector<int64_t>(b, c.classes[i]));
      drops[i].add_(((reference[i] - scores).view({b, 1, 1}) * weight).sum(0));
    }
  }
  Explanation e;
  e.map = drops / covered;
  e.attribution = e.map.unsqueeze(1);
  e.is_signed = true;
  e.stats["windows"] = static_cast<double>(count);
  return e;
}

// RISE masks, reproducible in PyTorch (cell = ceil(H / s), ceil(W / s)):
//   g = torch.Generator().manual_seed(seed)
//   grid = (torch.rand([masks, s, s], generator=g) < p).float()
//   dy = torch.randint(cell_h, [masks], generator=g); dx = torch.randint(cell_w, [masks], generator=g)
//   up = F.interpolate(grid[:, None], size=((s + 1) * cell_h, (s + 1) * cell_w), mode="bilinear",
//                      align_corners=False)[:, 0]
//   mask_m = up[m, dy[m] : dy[m] + H, dx[m] : dx[m] + W]
Explanation rise(const Context& c) {
  require_image(c, "rise");
  const at::Tensor& x = c.input;
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t masks = integer_at_least(c.params, "masks", 1000, 1);
  const int64_t cells = integer_at_least(c.params, "cells", 7, 1);
  if (cells > std::min(height, width)) {
    throw ArgumentError("rise cells=" + std::to_string(cells) + " exceeds the image size " +
                        std::to_string(height) + "x" + std::to_string(width));
  }
  const double p = number_at_least(c.params, "p", 0.5, 0.0, /*strict=*/true);
  if (p > 1.0) throw ArgumentError("rise p=" + c.params.text("p", "") + " must be in (0, 1]");
  const int64_t batch = integer_at_least(c.params, "batch", 16, 1);
  at::Generator generator = seeded_generator(c.params);

  const int64_t cell_h = (height + cells - 1) / cells, cell_w = (width + cells - 1) / cells;
  const at::Tensor grid = (at::rand({masks, cells, cells}, generator, at::kFloat) < p).to(x.options());
  const at::Tensor dy = at::randint(cell_h, {masks}, generator, at::kLong).to(x.device());
  const at::Tensor dx = at::randint(cell_w, {masks}, generator, at::kLong).to(x.device());
  const auto index_options = x.options().dtype(at::kLong);
  const at::Tensor rows = at::arange(height, index_options), cols = at::arange(width, index_options);

  at::Tensor saliency = at::zeros({x.size(0), height, width}, x.options());
  for (int64_t start = 0; start < masks; start += batch) {
    const int64_t b = std::min(masks, start + batch) - start;
    const at::Tensor up = at::upsample_bilinear2d(grid.narrow(0, start, b).unsqueeze(1),
                                                  {(cells + 1) * cell_h, (cells + 1) * cell_w},
                                                  /*align_corners=*/false)
                              .squeeze(1);
    // Shifted crops of the upsampled grids, by advanced indexing: [B, H, W].
    const at::Tensor m = up.index({at::arange(b, index_options).view({b, 1, 1}),
                                   (dy.narrow(0, start, b).view({b, 1}) + rows).view({b, height, 1}),
                                   (dx.narrow(0, start, b).view({b, 1}) + cols).view({b, 1, width})});
    for (int64_t i = 0; i < x.size(0); ++i) {
      const at::Tensor probs = at::softmax(c.model.logits(x[i].unsqueeze(0) * m.unsqueeze(1)), 1);
      const at::Tensor scores = class_scores(probs, std::vector<int64_t>(b, c.classes[i]));
      saliency[i].add_((scores.view({b, 1, 1}) * m).sum(0));
    }
  }
  Explanation e;
  e.map = saliency / (static_cast<double>(masks) * p);
  e.attribution = e.map.unsqueeze(1);
  e.stats["masks"] = static_cast<double>(masks);
  return e;
}

}  // namespace

void add_blackbox_methods(std::vector<MethodInfo>& registry) {
  registry.push_back(
      {.name = "occlusion",
       .aliases = {"occlusion-sensitivity", "sliding-window"},
       .family = Family::BlackBox,
       .summary = "drop of the class logit when a square window of the input is set to a fill "
                  "value, averaged over all windows covering each pixel (signed: negative "
                  "where occluding raises the score)",
       .class_discriminative = true,
       .needs_gradient = false,
       .needs_reference = true,
       .resolution = Resolution::Input,
       .cost = "1 forward per window position (batched): about ((H - window) / stride + 1)^2",
       .hyperparameters = {integer_parameter("window", "32",
                                             "side of the square occluding window, in pixels", 1),
                           integer_parameter("stride", "window / 2",
                                             "step between window positions (a last position flush "
                                             "with the far edge is added)",
                                             1),
                           number_parameter(
                               "fill", "0",
                               "value written into the window, in input (preprocessed) "
                               "space: 0 is the dataset mean colour for mean/std "
                               "normalisation",
                               -HUGE_VAL),
                           integer_parameter("batch", "16", "occluded copies per forward pass", 1)},
       .citation = "Zeiler, Fergus. Visualizing and Understanding Convolutional Networks. ECCV "
                   "2014",
       .run = occlusion});
  registry.push_back(
      {.name = "rise",
       .aliases = {"randomized-input-sampling"},
       .family = Family::BlackBox,
       .summary = "sum of random smooth masks weighted by the class probability of the "
                  "masked input (input * mask), normalised by masks * p: sum_i P_i M_i / (N p)",
       .class_discriminative = true,
       .needs_gradient = false,
       .needs_reference = false,
       .resolution = Resolution::Input,
       .cost = "1 forward per mask (batched)",
       .hyperparameters =
           {integer_parameter("masks", "1000",
                              "number of random masks N (the paper uses 4000-8000; "
                              "1000 keeps CPU runs to about a minute for "
                              "ResNet-50-size models)",
                              1),
            integer_parameter("cells", "7",
                              "the random binary grid is cells x cells before upsampling (s)", 1),
            number_parameter("p", "0.5", "probability that a grid cell is kept, in (0, 1]", 0, 1),
            integer_parameter("seed", "0",
                              "random seed of the masks (torch.Generator().manual_seed)", 0),
            integer_parameter("batch", "16", "masked copies per forward pass", 1)},
       .citation = "Petsiuk, Das, Saenko. RISE: Randomized Input Sampling for Explanation of "
                   "Black-box Models. BMVC 2018",
       .run = rise});
}

}  // namespace whitebox::explainers
