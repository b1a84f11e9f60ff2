// Intervals of a mean that stay within the values' range, where a metric's bounds lie: mean +-
// t std / sqrt(n) printed 0.9175 (0.8130 .. 1.0221) for a metric bounded by 1.
#include "whitebox/metrics/interval.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "whitebox/error.hpp"

namespace whitebox::metrics {
namespace {

// Wilson's score interval of a share: inside [0, 1], and sound with no or every hit.
std::pair<double, double> wilson95(double share, double n) {
  const double z = 1.959963984540054, z2 = z * z;
  const double centre = (share + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(share * (1 - share) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

// The 2.5% and 97.5% points of the means of 2000 resamples: inside [min, max] of the values.
std::pair<double, double> bootstrap95(const std::vector<double>& values) {
  constexpr size_t resamples = 2000;
  std::mt19937_64 generator(2021);
  std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
  std::vector<double> means(resamples);
  for (double& mean : means) {
    double sum = 0;
    for (size_t k = 0; k < values.size(); ++k) sum += values[pick(generator)];
    mean = sum / static_cast<double>(values.size());
  }
  std::sort(means.begin(), means.end());
  return {means[resamples / 40 - 1], means[resamples - resamples / 40 - 1]};
}

}  // namespace

std::pair<double, double> mean_interval95(const std::vector<double>& values) {
  if (values.size() < 2) throw ArgumentError("an interval of a mean needs at least 2 values");
  if (std::all_of(values.begin(), values.end(), [](double v) { return v == 0 || v == 1; })) {
    const double hits = static_cast<double>(std::count(values.begin(), values.end(), 1.0));
    const auto n = static_cast<double>(values.size());
    return wilson95(hits / n, n);
  }
  return bootstrap95(values);
}

}  // namespace whitebox::metrics
