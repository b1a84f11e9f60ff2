#include "whitebox/runtime.hpp"

#include <ATen/Parallel.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.hpp"

namespace whitebox {
namespace {

std::atomic<int> chosen_threads{0};     // by set_threads(); 0: never called
std::atomic<bool> interrupted{false};   // by request_interrupt()
std::atomic<int64_t> planned_inputs{0}, done_inputs{0};  // by plan_inputs(), inputs_done()

}  // namespace

void set_threads(int threads) {
  blas::set_own_threads(1);
  // Never more than the hardware threads: more only wait for each other.
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  chosen_threads = threads > 0 ? std::min(threads, cores) : cores;
  at::set_num_threads(chosen_threads);
}

void adopt_threads() {
#ifdef _OPENMP
  if (const int threads = chosen_threads; threads > 0) omp_set_num_threads(threads);
#endif
}

void request_interrupt() { interrupted.store(true, std::memory_order_relaxed); }
void clear_interrupt() { interrupted.store(false, std::memory_order_relaxed); }
bool interrupt_requested() { return interrupted.load(std::memory_order_relaxed); }

void plan_inputs(int64_t count) { planned_inputs.fetch_add(count, std::memory_order_relaxed); }
void inputs_done(int64_t count) { done_inputs.fetch_add(count, std::memory_order_relaxed); }
ProgressCount progress() {
  return {done_inputs.load(std::memory_order_relaxed),
          planned_inputs.load(std::memory_order_relaxed)};
}
void reset_progress() {
  planned_inputs.store(0, std::memory_order_relaxed);
  done_inputs.store(0, std::memory_order_relaxed);
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  // Allocations below the mmap threshold come from the heap, and a heap top below the trim
  // threshold is kept: 1 GiB covers every activation of the supported models at batch 8.
  constexpr int kOneGiB = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kOneGiB);
  mallopt(M_TRIM_THRESHOLD, kOneGiB);
#endif
}

}  // namespace whitebox
