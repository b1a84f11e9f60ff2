#include "timing.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace whitebox::bench {

namespace {

// Function f's times over the rounds.
std::vector<double> times_of(const std::vector<std::vector<double>>& runs, size_t f) {
  std::vector<double> values;
  for (const auto& round : runs) values.push_back(round.at(f));
  return values;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM").
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return -1;
}

}  // namespace

Rounds time_rounds(const std::vector<std::function<void()>>& fns, int runs) {
  Rounds rounds;
  for (const auto& fn : fns) fn();
  for (int r = 0; r < runs; ++r) {
    std::vector<double>& round = rounds.runs.emplace_back();
    for (const auto& fn : fns) {
      const auto start = std::chrono::steady_clock::now();
      fn();
      round.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  }
  return rounds;
}

double Rounds::median(size_t f) const { return median_of(times_of(runs, f)); }

double Rounds::fast(size_t f) const {
  std::vector<double> values = times_of(runs, f);
  std::sort(values.begin(), values.end());
  return values.at((values.size() - 1) / 4);
}

double Rounds::ratio(size_t f, size_t baseline) const {
  std::vector<double> values;
  for (const auto& round : runs) values.push_back(round.at(f) / round.at(baseline));
  return median_of(values);
}

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
