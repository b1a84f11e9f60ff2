#pragma once
// Settings of the process that whitebox runs in: how many cores it uses and how it keeps memory.
// The CLI applies both at start; a library caller chooses.

#include <cstdint>

namespace whitebox {

// Runs whitebox's work on `threads` cores (0, or more than the machine has: all): LibTorch's
// intra-op thread pool. A BLAS with
// a thread pool of its own (OpenBLAS built on pthreads, as Debian's LibTorch uses) is set to run
// on the calling thread instead: its idle workers spin for about a tenth of a second after each
// call, and the convolutions that follow a dense layer then share their cores with them (a
// ResNet-50 gradient pass on two cores took 181 ms instead of 112, median of 12). Matrix products
// then run on LibTorch's pool. A float64 model (LoadOptions::dtype) is the exception: oneDNN has
// no float64 convolutions, ATen runs them as BLAS products, and those stay on one thread; a
// program that runs one should set LibTorch's threads alone (at::set_num_threads).
void set_threads(int threads);
// Gives the calling thread the thread count of the last set_threads() (OpenMP's count is a
// setting of each thread): for a host that runs whitebox on threads of its own, as the Python
// package does. Without set_threads() nothing changes.
void adopt_threads();

// Keeps the memory that freed tensors leave in the process heap instead of handing it back to
// the system (glibc; elsewhere nothing happens), so that the next pass reuses it rather than
// faulting fresh pages in: a VGG-16 gradient pass is about 7% faster, a batch of four about 15%.
// The process then holds on to its peak memory.
void keep_freed_memory();
// Asks the forward passes and sweeps under way, on any thread, to stop at their next node: they
// throw Interrupted. For a host that lets its user interrupt a long call (Ctrl-C in Python);
// clear_interrupt() lets the next calls run.
void request_interrupt();
void clear_interrupt();
bool interrupt_requested();

// How far the call under way has come, for a host that shows it (the Python package's bar): the
// methods and metrics that run many forward passes (occlusion, RISE, Sobol, the Score-CAM
// family, LIME and Kernel SHAP, every perturbation curve) declare the inputs they will pass
// through the network and count those passed, on any thread. reset_progress() starts anew.
struct ProgressCount {
  int64_t done = 0;
  int64_t planned = 0;
};
void plan_inputs(int64_t count);
void inputs_done(int64_t count);
ProgressCount progress();
void reset_progress();

}  // namespace whitebox
