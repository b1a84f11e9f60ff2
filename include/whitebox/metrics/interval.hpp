#pragma once
// The interval of a metric's mean over a data set.
#include <utility>
#include <vector>

namespace whitebox::metrics {

// The 95% interval of the mean of `values` (at least 2, finite), inside their range, so inside
// any metric's bounds: Wilson's score interval for shares (every value 0 or 1), else the
// percentile bootstrap (2000 resamples, seeded: the same values give the same interval).
std::pair<double, double> mean_interval95(const std::vector<double>& values);

}  // namespace whitebox::metrics
