#include <dlfcn.h>
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "whitebox/runtime.hpp"

namespace whitebox::test {
namespace {

// Debian's LibTorch calls OpenBLAS on pthreads: set_threads() must leave it one thread, whatever
// it had, and give LibTorch's pool the count asked for.
TEST(Runtime, SetThreadsRunsBlasOnTheCallingThread) {
  using Get = int (*)();
  using Set = void (*)(int);
  const auto parallel = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (parallel == nullptr || get == nullptr || set == nullptr || parallel() != 1) {
    GTEST_SKIP() << "LibTorch does not use OpenBLAS on pthreads here";
  }
  const int pool = at::get_num_threads();
  set(2);
  ASSERT_EQ(get(), 2);
  set_threads(3);
  EXPECT_EQ(get(), 1);
  EXPECT_EQ(at::get_num_threads(), 3);
  set_threads(pool);
}

}  // namespace
}  // namespace whitebox::test
