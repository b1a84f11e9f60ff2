// Black-box attributions over superpixels: feature ablation, LIME and Kernel SHAP. The image is
// cut into S segments (SLIC superpixels, a square grid, or a label map from a .npy file); a
// coalition z in {0, 1}^S keeps the segments with z_s = 1 and replaces the others by a baseline;
// each method reads the class logit of such coalitions and gives every pixel its segment's value.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "methods/arguments.hpp"
#include "methods/baseline.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::explainers {
namespace {

// Segment labels [H, W] (int64, 0..S-1, every label used) of image i of the input.
at::Tensor segments_of(const Context& c, int64_t i) {
  const at::Tensor& x = c.input;
  const int64_t height = x.size(2), width = x.size(3);
  const std::string how = c.params.text("segments");
  at::Tensor labels;
  if (how == "grid" || how == "slic" || how == "felzenszwalb") {
    const int64_t size = c.params.integer("region");
    if (how == "grid") {
      const at::Tensor rows = at::arange(height, at::kLong).div(size, "floor").view({-1, 1});
      const at::Tensor cols = at::arange(width, at::kLong).div(size, "floor").view({1, -1});
      labels = rows * ((width + size - 1) / size) + cols;
    } else if (how == "slic") {
      labels = superpixels(x[i], c.model.preprocessing, size, c.params.number("ruler"));
    } else {
      // Segments of at least a quarter of a region's square: about as many as SLIC's at most.
      labels = graph_segments(x[i], c.model.preprocessing, std::max<int64_t>(2, size * size / 4),
                              c.params.number("scale"));
    }
  } else {
    labels = read_npy(how);
    if (labels.dim() != 2 || labels.size(0) != height || labels.size(1) != width ||
        labels.is_floating_point()) {
      throw ArgumentError("segments file '" + how + "' must hold integer labels [" +
                          std::to_string(height) + ", " + std::to_string(width) + "], not " +
                          c10::str(labels.scalar_type(), labels.sizes()));
    }
    labels = labels.to(at::kLong);
  }
  return consecutive_labels(labels);
}

// The class logit of image i for each coalition row of `z` [B, S] (1: the segment keeps x).
at::Tensor coalition_scores(const Context& c, int64_t i, const at::Tensor& labels,
                            const at::Tensor& baseline, const at::Tensor& z) {
  const int64_t batch = c.params.integer("batch");
  const at::Tensor label = labels.to(c.input.device());
  std::vector<at::Tensor> scores;
  plan_inputs(z.size(0));
  for (int64_t start = 0; start < z.size(0); start += batch) {
    const int64_t n = std::min(batch, z.size(0) - start);
    // keep[b, h, w] = z[b, label[h, w]]
    const at::Tensor keep = z.narrow(0, start, n)
                                .to(c.input.device(), c.input.scalar_type())
                                .index_select(1, label.flatten())
                                .view({n, 1, label.size(0), label.size(1)});
    const at::Tensor inputs =
        baseline[i].unsqueeze(0) + keep * (c.input[i] - baseline[i]).unsqueeze(0);
    scores.push_back(class_scores(c.model.logits(inputs), std::vector<int64_t>(n, c.classes[i])));
    inputs_done(n);
  }
  return at::cat(scores).to(at::kCPU, at::kDouble);
}

// Weighted least squares of y on [1, z] (the intercept not penalised by `ridge`): the segment
// coefficients.
at::Tensor fit(const at::Tensor& z, const at::Tensor& y, const at::Tensor& weights, double ridge) {
  const int64_t S = z.size(1);
  const at::Tensor design = at::cat({at::ones({z.size(0), 1}, at::kDouble), z.to(at::kDouble)}, 1);
  const at::Tensor weighted = design * weights.unsqueeze(1);
  at::Tensor gram = design.t().mm(weighted);
  gram.diagonal().narrow(0, 1, S) += ridge;
  const at::Tensor solution = at::linalg_solve(gram, weighted.t().mv(y));
  return solution.narrow(0, 1, S);
}

enum class Surrogate { Ablation, Lime, KernelShap };

Explanation superpixel_attribution(const Context& c, Surrogate kind) {
  if (c.input.dim() != 4)
    throw ArgumentError("superpixel methods need an image input [N, C, H, W]");
  const at::Tensor baseline = make_baseline(c);
  // Feature ablation draws no coalitions: it takes no "samples".
  const int64_t samples = kind == Surrogate::Ablation ? 0 : c.params.integer("samples");
  at::Generator generator = seeded_generator(c.params);
  std::vector<at::Tensor> maps;
  double segment_count = 0, efficiency_gap = 0;
  for (int64_t i = 0; i < c.input.size(0); ++i) {
    const at::Tensor labels = segments_of(c, i);
    const int64_t S = labels.max().item<int64_t>() + 1;
    segment_count += static_cast<double>(S);
    at::Tensor values;  // [S]
    if (kind == Surrogate::Ablation) {
      // Each segment alone replaced: the drop of the logit.
      const at::Tensor z = 1 - at::eye(S, at::kDouble);
      const double full =
          class_scores(c.trace[c.model.output()].narrow(0, i, 1), {c.classes[i]}).item<double>();
      values = full - coalition_scores(c, i, labels, baseline, z);
    } else if (kind == Surrogate::Lime) {
      // Uniform random coalitions, weighted by exp(-d^2 / width^2), d the cosine distance to the
      // full coalition.
      const at::Tensor z = (at::rand({samples, S}, generator, at::kFloat) < 0.5).to(at::kDouble);
      const at::Tensor y = coalition_scores(c, i, labels, baseline, z);
      const double width = c.params.number("kernel_width");
      const at::Tensor cosine =
          z.sum(1) / (at::sqrt(z.sum(1)) * std::sqrt(static_cast<double>(S))).clamp_min(1e-12);
      const at::Tensor distance = 1 - cosine;
      values = fit(z, y, at::exp(-distance * distance / (width * width)), c.params.number("ridge"));
    } else {
      // Coalition sizes k in 1..S-1 drawn with probability proportional to the Shapley kernel's
      // total weight (S - 1) / (k (S - k)), then k segments at random; the empty and the full
      // coalition enter with a large weight, which makes the coefficients sum to f(x) - f(b).
      if (S < 2) throw ArgumentError("kernel-shap needs at least 2 segments");
      const at::Tensor k = at::arange(1, S, at::kDouble);
      const at::Tensor size_weight = (S - 1) / (k * (S - k));
      const at::Tensor sizes =
          at::multinomial(size_weight, samples, /*replacement=*/true, generator) + 1;
      at::Tensor z = at::zeros({samples + 2, S}, at::kDouble);
      const at::Tensor order =
          at::argsort(at::rand({samples, S}, generator, at::kFloat), int64_t{1});
      const at::Tensor rank = at::argsort(order, int64_t{1});  // each segment's place in the order
      z.narrow(0, 0, samples).copy_((rank < sizes.unsqueeze(1)).to(at::kDouble));
      z[samples + 1].fill_(1.0);
      const at::Tensor y = coalition_scores(c, i, labels, baseline, z);
      at::Tensor weights = at::ones({samples + 2}, at::kDouble);
      weights.narrow(0, samples, 2).fill_(1e6);
      values = fit(z, y, weights, 0.0);
      const double delta = (y[samples + 1] - y[samples]).item<double>();
      efficiency_gap +=
          std::abs(values.sum().item<double>() - delta) / std::max(std::abs(delta), 1e-12);
    }
    maps.push_back(values.index_select(0, labels.flatten()).view(labels.sizes()));
  }
  Explanation e;
  e.map = at::stack(maps).to(c.input.device(), c.input.scalar_type());
  e.attribution = e.map.unsqueeze(1);
  e.is_signed = true;
  e.stats["segments"] = segment_count / static_cast<double>(c.input.size(0));
  if (kind == Surrogate::KernelShap) {
    e.stats["relative_efficiency_gap"] = efficiency_gap / static_cast<double>(c.input.size(0));
  }
  return e;
}

std::vector<Hyperparameter> segment_parameters() {
  std::vector<Hyperparameter> parameters = {
      {"segments", "slic",
       "slic (SLICO superpixels of the de-normalised input), felzenszwalb (Felzenszwalb & "
       "Huttenlocher's graph segmentation of it, segments of at least region^2 / 4 pixels), grid "
       "(squares of side `region`), or a .npy file of integer labels [H, W]"},
      integer_parameter("region", "32", "superpixel (or grid square) size in pixels", 2),
      number_parameter("ruler", "10", "SLIC compactness", 0),
      number_parameter("scale", "300",
                       "felzenszwalb: the threshold constant k (larger: larger "
                       "segments)",
                       0),
      integer_parameter("batch", "16", "coalitions per forward pass", 1, kMostBatch)};
  for (Hyperparameter& h : baseline_hyperparameters("zero")) parameters.push_back(h);
  return parameters;
}

}  // namespace

void add_superpixel_methods(std::vector<MethodInfo>& registry) {
  const auto method = [&](std::string name, std::vector<std::string> aliases, std::string summary,
                          std::string cost, std::vector<Hyperparameter> extra, std::string citation,
                          Surrogate kind) {
    std::vector<Hyperparameter> parameters = segment_parameters();
    parameters.insert(parameters.end(), extra.begin(), extra.end());
    for (Hyperparameter& h : parameters) {
      if (h.name == "seed") h.meaning = "random seed of the coalitions (and of baseline uniform)";
    }
    registry.push_back(
        {.name = std::move(name),
         .aliases = std::move(aliases),
         .family = Family::BlackBox,
         .summary = std::move(summary) +
                    " The segments outside a coalition are replaced by the baseline; every pixel "
                    "gets its segment's value. stats: segments.",
         .class_discriminative = true,
         .needs_reference = true,
         .resolution = Resolution::Input,
         .cost = std::move(cost),
         .hyperparameters = std::move(parameters),
         .citation = std::move(citation),
         .run = [kind](const Context& c) { return superpixel_attribution(c, kind); }});
  };
  method("feature-ablation", {"superpixel-ablation"},
         "drop of the class logit when one superpixel at a time is replaced by the baseline.",
         "S forwards (S segments), batched", {},
         "Captum's FeatureAblation (Kokhlikyan et al., arXiv:2009.07896, 2020) over superpixels "
         "(Achanta et al., SLIC, TPAMI 2012)",
         Surrogate::Ablation);
  method(
      "lime", {},
      "coefficients of a weighted ridge regression of the class logit on random coalitions of "
      "superpixels (each kept with probability 1/2), weighted by exp(-d^2 / kernel_width^2) "
      "for the cosine distance d to the whole image.",
      "samples forwards, batched",
      {integer_parameter("samples", "200", "random coalitions", 1),
       number_parameter("kernel_width", "0.25", "width of the exponential kernel", 1e-6),
       number_parameter("ridge", "1", "ridge penalty of the regression (not on the intercept)", 0)},
      "Ribeiro, Singh, Guestrin. 'Why Should I Trust You?': Explaining the Predictions of Any "
      "Classifier. KDD 2016",
      Surrogate::Lime);
  method("kernel-shap", {"kernelshap"},
         "Shapley values of the superpixels estimated by a regression of the class logit on "
         "random coalitions, their sizes drawn by the Shapley kernel; the empty and the full "
         "coalition weigh 1e6, so the values sum to f(x) - f(baseline) (stats: "
         "relative_efficiency_gap, |sum - (f(x) - f(b))| / |f(x) - f(b)|).",
         "samples + 2 forwards, batched",
         {integer_parameter("samples", "200", "random coalitions", 1)},
         "Lundberg, Lee. A Unified Approach to Interpreting Model Predictions. NeurIPS 2017",
         Surrogate::KernelShap);
}

}  // namespace whitebox::explainers
