#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <thread>

#include "blas.hpp"
#include "support.hpp"
#include "whitebox/error.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::test {
namespace {

// Debian's LibTorch calls OpenBLAS on pthreads: set_threads() must leave it no pool of its own,
// whatever it had, and give LibTorch's pool the count asked for.
TEST(Runtime, SetThreadsRunsBlasOnTheCallingThread) {
  const int pool = at::get_num_threads(), own = blas::own_threads();
  blas::set_own_threads(2);
  if (blas::own_threads() != 2) GTEST_SKIP() << "LibTorch's BLAS has no thread pool of its own here";
  set_threads(1);
  EXPECT_EQ(blas::own_threads(), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  // Never more than the hardware threads.
  set_threads(4096);
  EXPECT_EQ(at::get_num_threads(), static_cast<int>(std::thread::hardware_concurrency()));
  at::set_num_threads(pool);
  blas::set_own_threads(own);
}

// request_interrupt() stops forward passes and sweeps on any thread, at their next node, until
// clear_interrupt().
TEST(Runtime, InterruptStopsForwardAndSweep) {
  const Model model = conv_dense_model({1, 3, 4, 4}, true);
  const at::Tensor x = at::randn({1, 3, 4, 4}, at::kDouble);
  const Trace trace = model.forward(x);
  request_interrupt();
  EXPECT_TRUE(interrupt_requested());
  EXPECT_THROW(model.forward(x), Interrupted);
  bool stopped = false;  // on another thread
  std::thread([&] {
    try {
      model.gradient(trace, {1});
    } catch (const Interrupted&) {
      stopped = true;
    }
  }).join();
  EXPECT_TRUE(stopped);
  clear_interrupt();
  EXPECT_NO_THROW(model.gradient(trace, {1}));
}

}  // namespace
}  // namespace whitebox::test
