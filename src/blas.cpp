#include "blas.hpp"

#include <dlfcn.h>

namespace whitebox::blas {
namespace {

struct OpenBlas {
  using Get = int (*)();
  using Set = void (*)(int);
  Get parallel = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  Get threads = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  Set set_threads = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));

  // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP.
  bool on_pthreads() const {
    return parallel != nullptr && threads != nullptr && set_threads != nullptr && parallel() == 1;
  }
};

const OpenBlas& openblas() {
  static const OpenBlas found;
  return found;
}

}  // namespace

int own_threads() { return openblas().on_pthreads() ? openblas().threads() : 1; }

void set_own_threads(int threads) {
  if (openblas().on_pthreads()) openblas().set_threads(threads);
}

}  // namespace whitebox::blas
