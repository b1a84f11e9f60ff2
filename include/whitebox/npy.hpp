#pragma once
// NumPy .npy files (format 1.0): the raw-attribution output format, readable by numpy.load.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

namespace whitebox {

// Writes a float32/float64/int64/uint8 tensor (any device) as a C-order .npy file.
void write_npy(const std::filesystem::path& file, const at::Tensor& tensor);
// The same file's bytes.
std::string npy_bytes(const at::Tensor& tensor);
// Reads a little-endian C-order .npy file of f4, f8, i8, i4 or u1. Throws FileError / InputError.
at::Tensor read_npy(const std::filesystem::path& file);

}  // namespace whitebox
