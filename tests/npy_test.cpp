// .npy files: what write_npy writes reads back, and hostile headers get an InputError before
// anything is allocated for them.
#include "whitebox/npy.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support.hpp"
#include "whitebox/error.hpp"

namespace whitebox::test {
namespace {

// A version-1 file of `header` (padded as numpy pads it) and `data`.
std::string npy_bytes(std::string header, const std::string& data = "") {
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = "\x93NUMPY\x01";
  bytes.push_back('\0');
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  return bytes + header + data;
}

std::filesystem::path write_file(const TempDir& dir, const std::string& bytes) {
  const auto file = dir / "a.npy";
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  return file;
}

TEST(Npy, RoundTrip) {
  TempDir dir;
  for (const at::Tensor& t :
       {at::randn({2, 3}), at::randn({4}, at::kDouble), at::arange(6, at::kLong).reshape({1, 2, 3}),
        at::scalar_tensor(7, at::kByte), at::zeros({0, 3}),
        at::tensor({1, 0}, at::kByte).to(at::kBool)}) {
    write_npy(dir / "t.npy", t);
    const at::Tensor back = read_npy(dir / "t.npy");
    EXPECT_EQ(back.scalar_type(), t.scalar_type());
    EXPECT_TRUE(at::equal(back, t)) << t;
  }
}

TEST(Npy, ReadsNumpysOwnHeaders) {
  TempDir dir;
  const std::string four_floats(16, '\0');
  const at::Tensor a = read_npy(write_file(
      dir, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", four_floats)));
  EXPECT_EQ(a.sizes(), at::IntArrayRef({2, 2}));
  // Booleans are 0 or 1 whatever the byte.
  const at::Tensor b = read_npy(
      write_file(dir, npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                                std::string("\x02\x00", 2))));
  EXPECT_TRUE(at::equal(b, at::tensor({1, 0}, at::kByte).to(at::kBool)));
}

TEST(Npy, HostileHeaders) {
  TempDir dir;
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  std::string longer = npy_bytes(ok, "abcd");
  longer[8] = '\xff';  // the header runs past the end of the file
  std::string version = npy_bytes(ok, "abcd");
  version[6] = 9;
  // Built by appends: GCC 12 warns falsely about concatenating literals with a long string.
  std::string long_descr = "{'descr': '";
  long_descr.append(60000, 'f').append("', 'fortran_order': False, }");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x93NUMPY", "not a .npy file"},
      {longer, "truncated"},
      {version, "version 9"},
      {npy_bytes(ok), "truncated"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
       "no array can have"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
       "malformed .npy shape"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }"),
       "malformed .npy shape"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, }"), "no 'shape'"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "abcd"), "Fortran"},
      {npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "abcd"),
       "dtype '>f4'"},
      // std::regex recursed once per character of this descr and overflowed the stack.
      {npy_bytes(long_descr), "dtype"},
  };
  for (const auto& [bytes, mention] : cases) {
    try {
      read_npy(write_file(dir, bytes));
      ADD_FAILURE() << "no error for " << mention;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace whitebox::test
