// Black-box references: methods that only run the model forward on perturbed copies of the input.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "methods/arguments.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "whitebox/runtime.hpp"

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
  const int64_t window = c.params.integer("window");
  if (window > height || window > width) {
    throw ArgumentError("occlusion window=" + std::to_string(window) + " is larger than the " +
                        std::to_string(height) + "x" + std::to_string(width) + " image");
  }
  // The declared default of stride names this rule: it depends on the window.
  const int64_t stride =
      c.params.has("stride") ? c.params.integer("stride") : std::max<int64_t>(1, window / 2);
  const double fill = c.params.number("fill");
  const int64_t batch = c.params.integer("batch");

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
  plan_inputs(count * x.size(0));
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
      inputs_done(b);
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
  const int64_t masks = c.params.integer("masks");
  const int64_t cells = c.params.integer("cells");
  if (cells > std::min(height, width)) {
    throw ArgumentError("rise cells=" + std::to_string(cells) + " exceeds the image size " +
                        std::to_string(height) + "x" + std::to_string(width));
  }
  // The declaration admits [0, 1]; a mask of nothing kept is no mask.
  const double p = number_above(c.params, "p", 0.0);
  const int64_t batch = c.params.integer("batch");
  at::Generator generator = seeded_generator(c.params);

  const int64_t cell_h = (height + cells - 1) / cells, cell_w = (width + cells - 1) / cells;
  const at::Tensor grid = (at::rand({masks, cells, cells}, generator, at::kFloat) < p).to(x.options());
  const at::Tensor dy = at::randint(cell_h, {masks}, generator, at::kLong).to(x.device());
  const at::Tensor dx = at::randint(cell_w, {masks}, generator, at::kLong).to(x.device());
  const auto index_options = x.options().dtype(at::kLong);
  const at::Tensor rows = at::arange(height, index_options), cols = at::arange(width, index_options);

  at::Tensor saliency = at::zeros({x.size(0), height, width}, x.options());
  plan_inputs(masks * x.size(0));
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
      inputs_done(b);
    }
  }
  Explanation e;
  e.map = saliency / (static_cast<double>(masks) * p);
  e.attribution = e.map.unsqueeze(1);
  e.stats["masks"] = static_cast<double>(masks);
  return e;
}

// The first n points of the unscrambled Sobol sequence in [0, 1)^dim, as
// torch.quasirandom.SobolEngine(dim).draw(n) gives them (its first point is the origin): [n, dim]
// float64 on the CPU.
at::Tensor sobol_points(int64_t dim, int64_t n) {
  constexpr int64_t kMaxBit = 30;  // SobolEngine.MAXBIT
  at::Tensor state = at::zeros({dim, kMaxBit}, at::kLong);
  at::_sobol_engine_initialize_state_(state, dim);
  const at::Tensor origin = at::zeros({1, dim}, at::kDouble);
  if (n == 1) return origin;
  return at::cat({origin, std::get<0>(at::_sobol_engine_draw(at::zeros({dim}, at::kLong), n - 1,
                                                             state, dim, 0, at::kDouble))});
}

// Sobol attribution (Fel et al. 2021, as Xplique's SobolAttributionMethod): the image is cut into
// a grid of d = grid^2 cells, each cell's mask value a variable in [0, 1]. Two quasi-random
// designs A, B [n, d] (the two halves of a 2d-dimensional Sobol sequence) and, for each cell i,
// C_i = A with column i taken from B; f is the class probability of x * upsample(mask) (nearest,
// half-pixel centres). Jansen's estimator of the total Sobol index of cell i:
//   S_T,i = sum_j (f(A_j) - f(C_i,j))^2 / (2 n Var(f(A)))   (Var unbiased, at least 1e-12)
// the share of the score's variance that involves cell i. The grid of indices is upsampled
// bicubically to the input. n (d + 2) forwards per image.
Explanation sobol(const Context& c) {
  require_image(c, "sobol");
  const at::Tensor& x = c.input;
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t grid = c.params.integer("grid");
  const int64_t designs = c.params.integer("designs");
  const int64_t batch = c.params.integer("batch");
  if (grid > std::min(height, width) || 2 * grid * grid > 21201) {  // SobolEngine.MAXDIM
    throw ArgumentError("sobol grid=" + std::to_string(grid) + " must be at most the image side (" +
                        std::to_string(std::min(height, width)) + ") and 102");
  }
  if ((designs & (designs - 1)) != 0) {
    throw ArgumentError("sobol designs=" + std::to_string(designs) + " must be a power of two");
  }
  const int64_t d = grid * grid;
  const at::Tensor points = sobol_points(2 * d, designs).to(x.options());
  const at::Tensor A = points.narrow(1, 0, d), B = points.narrow(1, d, d);
  const at::Tensor swap = at::eye(d, x.options()).unsqueeze(1);  // [d, 1, d]: column i of C_i
  const at::Tensor C =
      (A.unsqueeze(0) * (1 - swap) + B.unsqueeze(0) * swap).reshape({d * designs, d});
  const at::Tensor masks = at::cat({A, B, C}).view({-1, 1, grid, grid});
  const int64_t total = masks.size(0);

  Explanation e;
  std::vector<at::Tensor> maps;
  plan_inputs(total * x.size(0));
  for (int64_t i = 0; i < x.size(0); ++i) {
    std::vector<at::Tensor> scores;
    for (int64_t start = 0; start < total; start += batch) {
      const int64_t b = std::min(total, start + batch) - start;
      const at::Tensor m =
          at::_upsample_nearest_exact2d(masks.narrow(0, start, b), {height, width});
      const at::Tensor probs = at::softmax(c.model.logits(x[i].unsqueeze(0) * m), 1);
      scores.push_back(class_scores(probs, std::vector<int64_t>(b, c.classes[i])));
      inputs_done(b);
    }
    const at::Tensor f = at::cat(scores).to(at::kDouble);
    const at::Tensor fa = f.narrow(0, 0, designs);
    const at::Tensor fc = f.narrow(0, 2 * designs, d * designs).view({d, designs});
    const at::Tensor variance = at::clamp_min(fa.var(/*unbiased=*/true), 1e-12);
    const at::Tensor indices = (fa - fc).square().sum(1) / (2.0 * designs * variance);
    maps.push_back(at::upsample_bicubic2d(indices.to(x.scalar_type()).view({1, 1, grid, grid}),
                                          {height, width}, /*align_corners=*/false)
                       .view({height, width}));
  }
  e.map = at::stack(maps);
  e.attribution = e.map.unsqueeze(1);
  e.stats["forwards"] = static_cast<double>(total);
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
       .hyperparameters =
           {integer_parameter("window", "32", "side of the square occluding window, in pixels", 1),
            computed(integer_parameter("stride", "window / 2",
                                       "step between window positions (a last position flush "
                                       "with the far edge is added)",
                                       1)),
            number_parameter("fill", "0",
                             "value written into the window, in input (preprocessed) "
                             "space: 0 is the dataset mean colour for mean/std "
                             "normalisation",
                             -HUGE_VAL),
            integer_parameter("batch", "16", "occluded copies per forward pass", 1, kMostBatch)},
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
                              "random seed of the masks (torch.Generator().manual_seed)", 0,
                              kMostSeed),
            integer_parameter("batch", "16", "masked copies per forward pass", 1, kMostBatch)},
       .citation = "Petsiuk, Das, Saenko. RISE: Randomized Input Sampling for Explanation of "
                   "Black-box Models. BMVC 2018",
       .run = rise});
  registry.push_back(
      {.name = "sobol",
       .aliases = {"sobol-attribution"},
       .family = Family::BlackBox,
       .summary = "total Sobol index of each grid cell for the class probability, the cells' "
                  "mask values drawn as a quasi-random (Sobol) design and estimated with "
                  "Jansen's estimator: the share of the score's variance that involves the "
                  "cell",
       .class_discriminative = true,
       .needs_gradient = false,
       .needs_reference = false,
       .resolution = Resolution::Input,
       .cost = "designs x (grid^2 + 2) forwards (batched): 2112 with the defaults",
       .hyperparameters =
           {integer_parameter("grid", "8", "the image is cut into grid x grid cells", 1),
            integer_parameter("designs", "32",
                              "points of each quasi-random design (a power of two)", 2),
            integer_parameter("batch", "64", "masked copies per forward pass", 1, kMostBatch)},
       .citation = "Fel, Cadene, Chalvidal, Cord, Vigouroux, Serre. Look at the Variance! "
                   "Efficient Black-box Explanations with Sobol-based Sensitivity Analysis. "
                   "NeurIPS 2021",
       .run = sobol});
}

}  // namespace whitebox::explainers
