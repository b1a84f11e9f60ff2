#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "blas.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::test {
namespace {

// Debian's LibTorch calls OpenBLAS on pthreads: set_threads() must leave it no pool of its own,
// whatever it had, and give LibTorch's pool the count asked for.
TEST(Runtime, SetThreadsRunsBlasOnTheCallingThread) {
  const int pool = at::get_num_threads(), own = blas::own_threads();
  blas::set_own_threads(2);
  if (blas::own_threads() != 2) GTEST_SKIP() << "LibTorch's BLAS has no thread pool of its own here";
  set_threads(3);
  EXPECT_EQ(blas::own_threads(), 1);
  EXPECT_EQ(at::get_num_threads(), 3);
  at::set_num_threads(pool);
  blas::set_own_threads(own);
}

}  // namespace
}  // namespace whitebox::test
