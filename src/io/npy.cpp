#include "whitebox/npy.hpp"

#include <ATen/ATen.h>

#include <fstream>
#include <regex>

#include "whitebox/error.hpp"

namespace whitebox {
namespace {

struct Dtype {
  const char* descr;
  at::ScalarType type;
};
constexpr Dtype kDtypes[] = {{"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<i8", at::kLong},
                             {"<i4", at::kInt},   {"|u1", at::kByte},   {"|b1", at::kBool}};

}  // namespace

void write_npy(const std::filesystem::path& file, const at::Tensor& tensor) {
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
  std::ofstream out(file, std::ios::binary);
  if (!out) throw FileError("cannot write " + file.string());
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(static_cast<char>(length & 0xff));
  out.put(static_cast<char>(length >> 8));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) throw FileError("cannot write " + file.string());
}

at::Tensor read_npy(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileError("cannot read " + file.string());
  char magic[10];
  if (!in.read(magic, 10) || std::string(magic, 6) != "\x93NUMPY") {
    throw InputError("not a .npy file: " + file.string());
  }
  size_t length = static_cast<unsigned char>(magic[8]) | (static_cast<unsigned char>(magic[9]) << 8);
  if (magic[6] != 1) {  // versions 2 and 3 have a 4-byte header length
    char more[2];
    in.read(more, 2);
    length |= (static_cast<size_t>(static_cast<unsigned char>(more[0])) << 16) |
              (static_cast<size_t>(static_cast<unsigned char>(more[1])) << 24);
  }
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'"))) {
    throw InputError("malformed .npy header: " + file.string());
  }
  const std::string descr = m[1];
  if (header.find("'fortran_order': True") != std::string::npos) {
    throw InputError("Fortran-order .npy files are not supported: " + file.string());
  }
  const Dtype* dtype = nullptr;
  for (const auto& d : kDtypes) {
    if (descr == d.descr) dtype = &d;
  }
  if (!dtype) throw InputError("unsupported .npy dtype '" + descr + "': " + file.string());
  std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"));
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    shape.push_back(std::stoll(it->str()));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype->type));
  if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()))) {
    throw InputError("truncated .npy file: " + file.string());
  }
  return t;
}

}  // namespace whitebox
