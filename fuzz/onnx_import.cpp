// Any bytes as an ONNX model file: Model::load either returns a model or throws one of
// whitebox's typed errors. Anything else (a crash, a sanitizer report, another exception
// escaping) is a finding.
#include <cstddef>
#include <cstdint>

#include "bytes_file.hpp"
#include "whitebox/error.hpp"
#include "whitebox/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    whitebox::Model::load(whitebox::fuzz::bytes_file(data, size, ".onnx"));
  } catch (const whitebox::Error&) {
  }
  return 0;
}
