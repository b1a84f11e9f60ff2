#include "timing.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

namespace whitebox::bench {

std::vector<double> median_ms(const std::vector<std::function<void()>>& fns, int runs) {
  std::vector<std::vector<double>> times(fns.size());
  for (const auto& fn : fns) fn();
  for (int r = 0; r < runs; ++r) {
    for (size_t i = 0; i < fns.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      fns[i]();
      times[i].push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  }
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

namespace {

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

}  // namespace

double peak_growth_mib(const std::function<void()>& fn) {
  // Large blocks straight from mmap, returned on free: resident memory follows live tensors.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  const double before = resident_mib();
  fn();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0 - before;
}

}  // namespace whitebox::bench
