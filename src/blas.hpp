#pragma once
// The BLAS that LibTorch calls for matrix products (and for float64 convolutions, which oneDNN
// does not run), as far as its threads go. OpenBLAS is found at run time, so that a LibTorch on
// another BLAS (MKL, which follows at::set_num_threads, or OpenBLAS on OpenMP, which shares
// LibTorch's pool) links and runs unchanged.

namespace whitebox::blas {

// Threads of the BLAS's own pool (OpenBLAS on pthreads), whose idle workers spin beside
// LibTorch's pool for a while after each call; 1 for a BLAS without such a pool.
int own_threads();

// Sets them; 1 runs every call on the calling thread. Without such a pool nothing happens.
void set_own_threads(int threads);

}  // namespace whitebox::blas
