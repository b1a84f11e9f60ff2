#pragma once
// The bounds whitebox puts on what one input may make it do: the one place that declares them
// (docs/bad_inputs.md, "Limits", explains each). A file, image or model beyond a bound is refused
// with an error that names it, the size it declares and the bound, before anything of that size
// is allocated. A caller with larger inputs raises a bound with set_limits(); each bound can also
// be set by an environment variable, read once, at the first use (WHITEBOX_MAX_IMAGE_PIXELS, ...).
#include <cstdint>
#include <string>

namespace whitebox {

struct Limits {
  // Pixels of an image, from the header, before decoding (as Pillow's MAX_IMAGE_PIXELS).
  uint64_t image_pixels = uint64_t{1} << 27;  // 134 megapixels, 400 MB decoded
  // Bytes of an ONNX file (protobuf's own bound is 2 GiB).
  uint64_t model_bytes = uint64_t{2} << 30;
  // Bytes of any other file whitebox reads: an image, a .npy array, a list, labels, JSON.
  uint64_t file_bytes = uint64_t{1} << 30;
  // Elements of one tensor a model declares or computes from its constants (its input, a
  // ConstantOfShape, an Expand): 2^28 floats are 1 GiB.
  uint64_t tensor_elements = uint64_t{1} << 28;
};

// The bounds on the work one call can ask for, fixed: every integer hyper-parameter of a method
// or metric is at most kMostCount (steps, samples, masks, regions) unless it declares less, and
// so are sanity's smooth samples; inputs per forward pass ("batch") at most kMostBatch; seeds
// any integer a double holds exactly.
inline constexpr double kMostCount = 100000;
inline constexpr double kMostBatch = 1024;
inline constexpr double kMostSeed = 9007199254740992.0;  // 2^53

// The bounds in force: the defaults above, then the environment's WHITEBOX_MAX_IMAGE_PIXELS,
// WHITEBOX_MAX_MODEL_BYTES, WHITEBOX_MAX_FILE_BYTES and WHITEBOX_MAX_TENSOR_ELEMENTS.
Limits limits();
void set_limits(const Limits& limits);

// Throws InputError when `count` elements of `what` exceed limits().tensor_elements.
void check_tensor_elements(uint64_t count, const std::string& what);

}  // namespace whitebox
