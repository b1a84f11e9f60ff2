#include "whitebox/limits.hpp"

#include <cstdlib>
#include <mutex>

#include "whitebox/error.hpp"

namespace whitebox {
namespace {

// A bound from the environment: a positive whole number, else the default.
void from_environment(const char* name, uint64_t& bound) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (*end != '\0' || value == 0 || text[0] == '-') {
    throw ArgumentError(std::string(name) + "='" + text + "' is not a positive whole number");
  }
  bound = value;
}

std::mutex guard;
bool read_environment = false;
Limits current;

}  // namespace

Limits limits() {
  std::lock_guard<std::mutex> lock(guard);
  if (!read_environment) {
    from_environment("WHITEBOX_MAX_IMAGE_PIXELS", current.image_pixels);
    from_environment("WHITEBOX_MAX_MODEL_BYTES", current.model_bytes);
    from_environment("WHITEBOX_MAX_FILE_BYTES", current.file_bytes);
    from_environment("WHITEBOX_MAX_TENSOR_ELEMENTS", current.tensor_elements);
    read_environment = true;  // after the checks: a bad variable is reported at every use
  }
  return current;
}

void set_limits(const Limits& limits) {
  std::lock_guard<std::mutex> lock(guard);
  read_environment = true;
  current = limits;
}

void check_tensor_elements(uint64_t count, const std::string& what) {
  const uint64_t bound = limits().tensor_elements;
  if (count > bound) {
    throw InputError(what + " has " + std::to_string(count) + " elements, more than the " +
                     std::to_string(bound) +
                     " whitebox allocates for one tensor (WHITEBOX_MAX_TENSOR_ELEMENTS raises it)");
  }
}

}  // namespace whitebox
