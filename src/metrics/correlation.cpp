// Faithfulness correlation (Bhatt, Weller & Moura, IJCAI 2020), its grid-cell form MuFidelity,
// and sensitivity-n (Ancona et al., ICLR 2018): does the relevance of a random pixel subset
// predict the drop when it is removed?
#include <cmath>

#include "metrics/common.hpp"

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

}  // namespace whitebox::metrics
