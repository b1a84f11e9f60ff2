// Any bytes as a model's sidecar JSON: parse_sidecar either returns its settings or throws
// ModelFormatError; a labels name it returns never reaches outside the model's folder.
#include "io/sidecar.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "whitebox/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const whitebox::Sidecar sidecar = whitebox::parse_sidecar(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    if (sidecar.crop && !(*sidecar.crop > 0 && *sidecar.crop <= 1)) std::abort();
    if (sidecar.labels) {
      const auto file =
          whitebox::labels_path("/dev/shm/whitebox_fuzz_model", *sidecar.labels, "fuzz.json");
      if (file.string().rfind("/dev/shm/whitebox_fuzz_model/", 0) != 0) std::abort();
    }
  } catch (const whitebox::Error&) {
  }
  return 0;
}
