// Faithfulness correlation (Bhatt, Weller & Moura, IJCAI 2020), its grid-cell form MuFidelity,
// and sensitivity-n (Ancona et al., ICLR 2018): does the relevance of a random pixel subset
// predict the drop when it is removed?
#include <algorithm>
#include <array>
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {

at::Tensor random_subsets(int64_t count, int64_t subset_size, int64_t height, int64_t width,
                          uint64_t seed) {
  detail::require_at_least(count, 1, "the number of subsets");
  detail::require_at_least(subset_size, 1, "the subset size");
  if (subset_size > height * width) {
    throw ArgumentError("a subset of " + std::to_string(subset_size) + " pixels does not fit a " +
                        std::to_string(height) + "x" + std::to_string(width) + " map");
  }
  at::Generator g = detail::generator(seed);
  // The first subset_size pixels of a random permutation per row: the ranks of uniform keys.
  const at::Tensor keys = at::rand({count, height * width}, g, at::kDouble);
  const at::Tensor chosen = std::get<1>(at::sort(keys, /*dim=*/1)).narrow(1, 0, subset_size);
  return at::zeros({count, height * width}, at::kBool)
      .scatter_(1, chosen, true)
      .view({count, height, width});
}

double faithfulness_correlation(const Model& model, const at::Tensor& image_in,
                                const at::Tensor& map, int64_t cls, const at::Tensor& subsets_in,
                                const CorrelationOptions& options) {
  detail::check_image_and_map(image_in, map, "faithfulness correlation");
  if (!subsets_in.defined() || subsets_in.dim() != 3 || subsets_in.size(1) != map.size(0) ||
      subsets_in.size(2) != map.size(1)) {
    throw InputError("faithfulness correlation needs subsets [N, H, W] of the map's size " +
                     c10::str(map.sizes()));
  }
  const at::Tensor image = detail::as_model_input(model, image_in);
  const at::Tensor subsets = subsets_in.to(image.device(), at::kBool);
  const at::Tensor replacement =
      detail::substitute(image, options.substitution, options.blur_sigma, options.seed);
  const double reference = detail::score_of(model, image, cls, options.score);
  const auto scores = detail::scores_of(
      model, subsets.size(0), options.batch, cls, options.score, [&](int64_t first, int64_t size) {
        return at::where(subsets.narrow(0, first, size).unsqueeze(1), replacement, image);
      });
  const at::Tensor drops = reference - detail::to_tensor(scores);
  const at::Tensor relevance =
      (map.to(image.device(), at::kDouble).unsqueeze(0) * subsets.to(at::kDouble)).sum({1, 2});
  return detail::pearson_flat(relevance.to(at::kCPU), drops);
}

double faithfulness_correlation(const Model& model, const at::Tensor& image, const at::Tensor& map,
                                int64_t cls, const CorrelationOptions& options) {
  detail::check_image_and_map(image, map, "faithfulness correlation");
  const at::Tensor subsets =
      random_subsets(options.samples, options.subset_size, map.size(0), map.size(1), options.seed);
  return faithfulness_correlation(model, image, map, cls, subsets, options);
}

SensitivityN sensitivity_n(const Model& model, const at::Tensor& image, const at::Tensor& map,
                           int64_t cls, const std::vector<int64_t>& sizes,
                           const CorrelationOptions& options) {
  detail::check_image_and_map(image, map, "sensitivity-n");
  if (sizes.empty()) throw ArgumentError("sensitivity-n needs at least one subset size");
  SensitivityN result;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const at::Tensor subsets =
        random_subsets(options.samples, sizes[i], map.size(0), map.size(1), options.seed + i);
    result.n.push_back(sizes[i]);
    result.correlation.push_back(
        faithfulness_correlation(model, image, map, cls, subsets, options));
  }
  return result;
}

at::Tensor grid_subsets(const MuFidelityOptions& options, int64_t height, int64_t width) {
  detail::require_at_least(options.grid, 1, "the MuFidelity grid");
  if (options.grid > height || options.grid > width) {
    throw ArgumentError("a " + std::to_string(options.grid) + "x" + std::to_string(options.grid) +
                        " grid does not fit a " + std::to_string(height) + "x" +
                        std::to_string(width) + " map");
  }
  if (!(options.subset_fraction > 0 && options.subset_fraction <= 1)) {
    throw ArgumentError("the MuFidelity subset fraction must lie in (0, 1], not " +
                        c10::str(options.subset_fraction));
  }
  const int64_t cells = options.grid * options.grid;
  const int64_t chosen =
      std::max<int64_t>(1, std::llround(options.subset_fraction * static_cast<double>(cells)));
  const at::Tensor subsets =
      random_subsets(options.samples, chosen, options.grid, options.grid, options.seed);
  // The cell of every pixel: rows and columns cut into `grid` nearly equal bands.
  const at::Tensor row = at::div(at::arange(height, at::kLong) * options.grid, height, "floor");
  const at::Tensor col = at::div(at::arange(width, at::kLong) * options.grid, width, "floor");
  const at::Tensor cell = (row.view({-1, 1}) * options.grid + col.view({1, -1})).reshape({-1});
  return subsets.reshape({options.samples, cells})
      .index_select(1, cell)
      .view({options.samples, height, width});
}

double mufidelity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                  const MuFidelityOptions& options) {
  detail::check_image_and_map(image, map, "MuFidelity");
  CorrelationOptions o;
  o.substitution = options.substitution;
  o.batch = options.batch;
  o.score = options.score;
  o.blur_sigma = options.blur_sigma;
  o.seed = options.seed;
  return faithfulness_correlation(model, image, map, cls,
                                  grid_subsets(options, map.size(0), map.size(1)), o);
}

namespace detail {
namespace {

CorrelationOptions correlation_options(const Params& p) {
  CorrelationOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.subset_size = positive(p, "subset_size", o.subset_size);
  read_substitution_options(p, o);
  return o;
}

Declared correlation_parameters() {
  const CorrelationOptions o;
  return Declared{integer_parameter("samples", o.samples, "random subsets", 1),
                  integer_parameter("subset_size", o.subset_size, "pixels per subset", 1)} +
         substitution_parameters(o);
}

MuFidelityOptions mufidelity_options(const Params& p) {
  MuFidelityOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.grid = positive(p, "grid", o.grid);
  o.subset_fraction = p.number("subset_fraction", o.subset_fraction);
  read_substitution_options(p, o);
  return o;
}

Declared mufidelity_parameters() {
  const MuFidelityOptions o;
  return Declared{integer_parameter("samples", o.samples, "random sets of cells", 1),
                  integer_parameter("grid", o.grid, "cells per side", 1),
                  number_parameter("subset_fraction", o.subset_fraction,
                                   "share of the cells removed", 0, 1)} +
         substitution_parameters(o);
}

// Sensitivity-n's subset sizes, as fractions of the pixels.
constexpr std::array<double, 3> kSensitivityNFractions{0.001, 0.01, 0.1};

}  // namespace

void add_correlation_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "faithfulness-correlation",
       .group = Group::Faithfulness,
       .summary = "correlation between the relevance of random pixel subsets and the score drop "
                  "when they are removed",
       .citation = "Bhatt, Weller & Moura, Evaluating and Aggregating Feature-based Model "
                   "Explanations, IJCAI 2020",
       .needs_model = true,
       .values = {{"faithfulness_correlation", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"faithfulness_correlation",
                  faithfulness_correlation(model_of(s, "faithfulness-correlation"), s.image, s.map,
                                           s.cls, correlation_options(p))}};
       },
       .parameters = correlation_parameters()});
  registry.push_back(
      {.name = "sensitivity-n",
       .group = Group::Faithfulness,
       .summary = "faithfulness correlation for subsets of several sizes n (fractions of the "
                  "pixels); their mean",
       .citation =
           "Ancona, Ceolini, Oeztireli & Gross, Towards better understanding of gradient-based "
           "attribution methods for deep neural networks, ICLR 2018",
       .needs_model = true,
       .values = {{"sensitivity_n", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const int64_t pixels = s.map.numel();
         std::vector<int64_t> sizes;
         const std::vector<double> fractions =
             p.has("fractions") ? number_list(p.text("fractions", ""), "fractions")
                                : std::vector<double>(kSensitivityNFractions.begin(),
                                                      kSensitivityNFractions.end());
         for (double f : fractions) {
           if (!(f > 0 && f <= 1))
             throw ArgumentError("sensitivity-n fractions must lie in (0, 1], not " + c10::str(f));
           sizes.push_back(std::max<int64_t>(1, std::llround(f * pixels)));
         }
         const SensitivityN result = sensitivity_n(model_of(s, "sensitivity-n"), s.image, s.map,
                                                   s.cls, sizes, correlation_options(p));
         double mean = 0;
         for (double c : result.correlation)
           mean += c / static_cast<double>(result.correlation.size());
         return {{"sensitivity_n", mean}};
       },
       .parameters = Declared{{"fractions", number_list_text(kSensitivityNFractions),
                               "comma-separated subset sizes n, as fractions "
                               "of the pixels, in (0, 1]"}} +
                     correlation_parameters()});
}

void add_mufidelity_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "mufidelity",
       .group = Group::Faithfulness,
       .summary = "correlation between the relevance of random sets of grid cells and the score "
                  "drop when they are removed",
       .citation = "Bhatt, Weller & Moura, Evaluating and Aggregating Feature-based Model "
                   "Explanations, IJCAI 2020 (grid cells as in Xplique)",
       .needs_model = true,
       .values = {{"mufidelity", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"mufidelity", mufidelity(model_of(s, "mufidelity"), s.image, s.map, s.cls,
                                           mufidelity_options(p))}};
       },
       .parameters = mufidelity_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
