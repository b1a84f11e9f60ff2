// Metrics over a data set: the explanations of many images (or of one image by many models)
// compared with each other, against the predictions they accompany.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "metrics/common.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::metrics {
namespace {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// Profiles as [N, D] float64 on the CPU, one prediction per row.
at::Tensor checked_profiles(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                            const std::string& metric) {
  if (!profiles.defined() || profiles.dim() != 2 ||
      profiles.size(0) != static_cast<int64_t>(predictions.size())) {
    throw InputError(metric + " needs profiles [N, D] and N predictions, not " +
                     (profiles.defined() ? c10::str(profiles.sizes()) : std::string("none")) +
                     " and " + std::to_string(predictions.size()));
  }
  return profiles.detach().to(at::kCPU, at::kDouble).contiguous();
}

// The share of `others` (indices) predicted as `own`; NaN when there are none.
double same_prediction_share(const std::vector<int64_t>& others,
                             const std::vector<int64_t>& predictions, int64_t own) {
  if (others.empty()) return kNone;
  const auto same =
      std::count_if(others.begin(), others.end(), [&](int64_t j) { return predictions[j] == own; });
  return static_cast<double>(same) / static_cast<double>(others.size());
}

}  // namespace

at::Tensor grid_profile(const at::Tensor& map, int64_t grid) {
  if (!map.defined() || map.dim() != 2) {
    throw InputError("a map profile needs a map [H, W], not " +
                     (map.defined() ? c10::str(map.sizes()) : std::string("none")));
  }
  if (grid < 1 || grid > std::min(map.size(0), map.size(1))) {
    throw ArgumentError("grid must be between 1 and the map's side (" +
                        std::to_string(std::min(map.size(0), map.size(1))) + "), not " +
                        std::to_string(grid));
  }
  const at::Tensor cells =
      at::adaptive_avg_pool2d(map.detach().to(at::kCPU, at::kDouble).abs().unsqueeze(0),
                              {grid, grid})
          .flatten();
  const double top = cells.max().item<double>();
  return top > 0 ? cells / top : cells;
}

std::vector<double> sufficiency(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                                double threshold) {
  const at::Tensor x = checked_profiles(profiles, predictions, "sufficiency");
  const int64_t n = x.size(0);
  if (n == 0) return {};
  // Standardised coordinates: the Euclidean distance of these rows is the standardised one.
  const at::Tensor variance = x.var(0);
  const at::Tensor varying = variance > 0;
  const at::Tensor z = x.index({at::indexing::Slice(), varying}) / variance.index({varying}).sqrt();
  // Rows in blocks, so that memory stays flat over a large data set: the largest distance first,
  // then the images each explanation applies to.
  constexpr int64_t kBlock = 512;
  double largest = 0;
  for (int64_t first = 0; first < n; first += kBlock) {
    const at::Tensor d = at::cdist(z.narrow(0, first, std::min(kBlock, n - first)), z);
    largest = std::max(largest, d.max().item<double>());
  }
  std::vector<double> share(static_cast<size_t>(n));
  for (int64_t first = 0; first < n; first += kBlock) {
    const int64_t rows = std::min(kBlock, n - first);
    at::Tensor d = at::cdist(z.narrow(0, first, rows), z);
    if (largest > 0) d = d / largest;
    const at::Tensor applies = (d <= threshold).contiguous();
    const bool* flags = applies.data_ptr<bool>();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = first + r;
      std::vector<int64_t> others;
      for (int64_t j = 0; j < n; ++j) {
        if (j != i && flags[r * n + j]) others.push_back(j);
      }
      share[i] = same_prediction_share(others, predictions, predictions[i]);
    }
  }
  return share;
}

std::vector<double> consistency(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                                int64_t top) {
  const at::Tensor x = checked_profiles(profiles, predictions, "consistency");
  if (top < 1 || top > x.size(1)) {
    throw ArgumentError("top must be between 1 and the profile's length (" +
                        std::to_string(x.size(1)) + "), not " + std::to_string(top));
  }
  // Each explanation as its set of highest coordinates (a stable sort: ties to the lower index).
  const at::Tensor order =
      std::get<1>(at::sort(x, /*stable=*/true, /*dim=*/1, /*descending=*/true)).narrow(1, 0, top);
  const at::Tensor sets = std::get<0>(at::sort(order, 1)).contiguous();
  const int64_t n = x.size(0);
  std::map<std::vector<int64_t>, std::vector<int64_t>> images_of;
  std::vector<std::vector<int64_t>> set_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* row = sets.data_ptr<int64_t>() + i * top;
    set_of[i].assign(row, row + top);
    images_of[set_of[i]].push_back(i);
  }
  std::vector<double> share(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> others;
    for (int64_t j : images_of.at(set_of[i])) {
      if (j != i) others.push_back(j);
    }
    share[i] = same_prediction_share(others, predictions, predictions[i]);
  }
  return share;
}

double spearman_distance(const at::Tensor& a, const at::Tensor& b) {
  return std::sqrt(std::max(0.0, 1.0 - std::abs(rank_correlation(a, b))));
}

Generalisation generalisation(const std::vector<double>& agreeing,
                              const std::vector<double>& disagreeing) {
  Generalisation g{kNone, kNone};
  if (agreeing.empty()) return g;
  double sum = 0;
  for (double d : agreeing) sum += d;
  g.mege = 1.0 / (1.0 + sum / static_cast<double>(agreeing.size()));
  if (disagreeing.empty()) return g;
  std::vector<double> a = agreeing, d = disagreeing;
  std::sort(a.begin(), a.end());
  std::sort(d.begin(), d.end());
  // A threshold below every distance gives TPR 0 and TNR 1; the others are the distances.
  g.reco = 0;
  for (const auto* set : {&a, &d}) {
    for (double threshold : *set) {
      const auto below_a = std::upper_bound(a.begin(), a.end(), threshold) - a.begin();
      const auto below_d = std::upper_bound(d.begin(), d.end(), threshold) - d.begin();
      const double tpr = static_cast<double>(below_a) / static_cast<double>(a.size());
      const double tnr = 1.0 - static_cast<double>(below_d) / static_cast<double>(d.size());
      g.reco = std::max(g.reco, tpr + tnr - 1.0);
    }
  }
  return g;
}

}  // namespace whitebox::metrics
