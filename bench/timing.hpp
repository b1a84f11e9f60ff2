#pragma once
// Timing and memory measurement for the benchmarks.
#include <functional>
#include <string>
#include <vector>

namespace whitebox::bench {

// Wall times in milliseconds: runs[i] holds one call of each function, in order. Each function is
// called once before (warm-up); the calls are interleaved so that machine noise hits all alike.
struct Rounds {
  std::vector<std::vector<double>> runs;
  // Median time of function `f`.
  double median(size_t f) const;
  // Lower quartile of `f`'s times: its cost on the rounds the machine did not slow down.
  double fast(size_t f) const;
  // Median over the rounds of time(f) / time(baseline): the two share each round's machine
  // state, so slow drifts of the machine (other tenants, memory pressure) cancel.
  double ratio(size_t f, size_t baseline) const;
  // fast(f) / fast(baseline): robust where single calls run slow at random (threads of another
  // pool or process on the same cores), which a round's ratio does not cancel.
  double fast_ratio(size_t f, size_t baseline) const { return fast(f) / fast(baseline); }
};
Rounds time_rounds(const std::vector<std::function<void()>>& fns, int runs);

// Growth of the peak resident memory (MiB) while `fn` runs once. Call it in a fresh process
// (the benchmarks re-run themselves per measurement) so that earlier allocations do not hide it.
double peak_growth_mib(const std::function<void()>& fn);

}  // namespace whitebox::bench
