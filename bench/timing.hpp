#pragma once
// Timing and memory measurement for the benchmarks.
#include <functional>
#include <string>
#include <vector>

namespace whitebox::bench {

// Median wall time in milliseconds of `runs` calls of each function, after one warm-up call
// each; the calls are interleaved so that machine noise hits all of them alike.
std::vector<double> median_ms(const std::vector<std::function<void()>>& fns, int runs);

// Growth of the peak resident memory (MiB) while `fn` runs once. Call it in a fresh process
// (the benchmarks re-run themselves per measurement) so that earlier allocations do not hide it.
double peak_growth_mib(const std::function<void()>& fn);

}  // namespace whitebox::bench
