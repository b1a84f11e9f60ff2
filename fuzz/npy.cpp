// Any bytes as a .npy file: read_npy either returns the array or throws one of whitebox's typed
// errors.
#include "whitebox/npy.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bytes_file.hpp"
#include "whitebox/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const at::Tensor array = whitebox::read_npy(whitebox::fuzz::bytes_file(data, size, ".npy"));
    // The array holds the file's bytes: it cannot be larger than the file.
    if (array.nbytes() > size) std::abort();
  } catch (const whitebox::Error&) {
  }
  return 0;
}
