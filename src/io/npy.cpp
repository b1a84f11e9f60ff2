#include "whitebox/npy.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "whitebox/error.hpp"
#include "whitebox/files.hpp"

namespace whitebox {
namespace {

struct Dtype {
  const char* descr;
  at::ScalarType type;
};
constexpr Dtype kDtypes[] = {{"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<i8", at::kLong},
                             {"<i4", at::kInt},   {"|u1", at::kByte},   {"|b1", at::kBool}};

}  // namespace

std::string npy_bytes(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  const Dtype* dtype = nullptr;
  for (const auto& d : kDtypes) {
    if (d.type == t.scalar_type()) dtype = &d;
  }
  if (!dtype) throw ArgumentError("cannot write tensors of type " + std::string(c10::toString(t.scalar_type())) + " as .npy");
  std::string shape;
  for (int64_t s : t.sizes()) shape += std::to_string(s) + ", ";
  // "(2, 3)" but "(4,)" and "()".
  if (t.dim() > 0) shape.pop_back();
  if (t.dim() > 1) shape.pop_back();
  std::string header = "{'descr': '" + std::string(dtype->descr) +
                       "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  bytes.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return bytes;
}

void write_npy(const std::filesystem::path& file, const at::Tensor& tensor) {
  write_file(file, npy_bytes(tensor));
}

namespace {

// The header is a Python dict literal, read here by hand: std::regex recurses per character and
// a long hostile header overflows the stack. The text after `key` (quoted, "'shape'") and a
// colon, spaces skipped.
std::string_view field(std::string_view header, std::string_view key,
                       const std::filesystem::path& file) {
  size_t at = header.find(key);
  if (at != std::string_view::npos) at = header.find_first_not_of(' ', at + key.size());
  if (at == std::string_view::npos || header[at] != ':') {
    throw InputError("malformed .npy header (no " + std::string(key) + "): " + file.string());
  }
  at = header.find_first_not_of(' ', at + 1);
  return at == std::string_view::npos ? std::string_view() : header.substr(at);
}

// "(2, 3)", "(4,)" or "()" at the start of `text`.
std::vector<int64_t> shape_tuple(std::string_view text, const std::filesystem::path& file) {
  auto malformed = [&] { return InputError("malformed .npy shape: " + file.string()); };
  if (text.empty() || text[0] != '(') throw malformed();
  std::vector<int64_t> shape;
  size_t at = 1;
  while (true) {
    while (at < text.size() && text[at] == ' ') ++at;
    if (at < text.size() && text[at] == ')') return shape;
    int64_t dim = 0;
    const size_t start = at;
    // 18 digits at most: every dimension then fits, and the size check follows the loop.
    for (;
         at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) && at - start < 18;
         ++at) {
      dim = dim * 10 + (text[at] - '0');
    }
    if (at == start) throw malformed();
    shape.push_back(dim);
    while (at < text.size() && text[at] == ' ') ++at;
    if (at < text.size() && text[at] == ',') {
      ++at;
    } else if (at >= text.size() || text[at] != ')') {
      throw malformed();
    }
  }
}

}  // namespace

at::Tensor read_npy(const std::filesystem::path& file) {
  const std::string content = read_file(file, ".npy file");
  const auto file_size = static_cast<uint64_t>(content.size());
  size_t offset = 0;
  const auto read = [&](void* into, uint64_t count) {  // the next `count` bytes, if there are
    if (count > content.size() - offset) return false;
    std::copy_n(content.data() + offset, count, static_cast<char*>(into));
    offset += count;
    return true;
  };
  auto truncated = [&] { return InputError("truncated .npy file: " + file.string()); };
  char magic[8];
  if (!read(magic, 8) || std::string(magic, 6) != "\x93NUMPY") {
    throw InputError("not a .npy file: " + file.string());
  }
  // Versions 2 and 3 have a 4-byte header length, version 1 a 2-byte one (little-endian).
  const int version = static_cast<unsigned char>(magic[6]);
  if (version < 1 || version > 3) {
    throw InputError(".npy format version " + std::to_string(version) +
                     " is not supported: " + file.string());
  }
  const int width = version == 1 ? 2 : 4;
  unsigned char length_bytes[4] = {};
  if (!read(length_bytes, width)) throw truncated();
  uint64_t length = 0;
  for (int i = width - 1; i >= 0; --i) length = (length << 8) | length_bytes[i];
  const uint64_t data_start = 8 + width + length;
  if (data_start > file_size) throw truncated();
  std::string header(length, '\0');
  if (!read(header.data(), length)) throw truncated();

  const std::string_view descr_text = field(header, "'descr'", file);
  const size_t close =
      descr_text.empty() ? std::string_view::npos : descr_text.find(descr_text[0], 1);
  if (close == std::string_view::npos || (descr_text[0] != '\'' && descr_text[0] != '"')) {
    throw InputError("malformed .npy header (descr): " + file.string());
  }
  const std::string descr(descr_text.substr(1, close - 1));
  if (field(header, "'fortran_order'", file).substr(0, 4) == "True") {
    throw InputError("Fortran-order .npy files are not supported: " + file.string());
  }
  const Dtype* dtype = nullptr;
  for (const auto& d : kDtypes) {
    if (descr == d.descr) dtype = &d;
  }
  if (!dtype) throw InputError("unsupported .npy dtype '" + descr + "': " + file.string());
  const std::vector<int64_t> shape = shape_tuple(field(header, "'shape'", file), file);

  // The data must be in the file, checked before anything is allocated for it; and the shape must
  // be one that a tensor can have, zero dimensions aside (its strides multiply the others out).
  uint64_t extent = at::elementSize(dtype->type);
  bool empty = false;
  for (int64_t d : shape) {
    empty = empty || d == 0;
    if (d > 0 && (__builtin_mul_overflow(extent, static_cast<uint64_t>(d), &extent) ||
                  extent > (uint64_t{1} << 62))) {
      throw InputError("the .npy shape " + c10::str(shape) +
                       " is one that no array can have: " + file.string());
    }
  }
  if (!empty && extent > file_size - data_start) throw truncated();
  // Booleans are read as bytes: any byte but 0 or 1 would not be a valid bool.
  const bool boolean = dtype->type == at::kBool;
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(boolean ? at::kByte : dtype->type));
  if (!read(t.data_ptr(), t.nbytes())) {
    throw truncated();
  }
  return boolean ? t.ne(0) : t;
}

}  // namespace whitebox
