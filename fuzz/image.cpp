// Any bytes as an image file: read_image either returns a [H, W, 3] picture or throws one of
// whitebox's typed errors.
#include "whitebox/image.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bytes_file.hpp"
#include "whitebox/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const at::Tensor rgb = whitebox::read_image(whitebox::fuzz::bytes_file(data, size, ".img"));
    if (rgb.dim() != 3 || rgb.size(2) != 3 || rgb.scalar_type() != at::kByte) std::abort();
  } catch (const whitebox::Error&) {
  }
  return 0;
}
