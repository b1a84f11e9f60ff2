#include "timing.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

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

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM").
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return -1;
}

}  // namespace

double peak_growth_mib(const std::function<void()>& fn) {
  // Large blocks straight from mmap, returned on free: resident memory follows live tensors.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Reset the high-water mark so that loading the model (file bytes + weights) does not count.
  std::ofstream("/proc/self/clear_refs") << "5";
  const double before = status_mib("VmRSS");
  fn();
  return status_mib("VmHWM") - before;
}

}  // namespace whitebox::bench
