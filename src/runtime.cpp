#include "whitebox/runtime.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <thread>

namespace whitebox {
namespace {

// OpenBLAS is found at run time, so that a LibTorch on another BLAS (MKL, which follows
// at::set_num_threads, or an OpenBLAS on OpenMP, which shares LibTorch's pool) links unchanged.
void run_blas_on_calling_thread() {
  using GetParallel = int (*)();
  using SetThreads = void (*)(int);
  const auto parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  constexpr int kPthreads = 1;  // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP
  if (parallel != nullptr && set != nullptr && parallel() == kPthreads) set(1);
}

}  // namespace

void set_threads(int threads) {
  run_blas_on_calling_thread();
  at::set_num_threads(threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
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
