// The inputs that crashed a fuzzer (fuzz/regressions/<target>/, docs/hardening.md): each is now
// read to a result or refused with one of whitebox's typed errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "io/sidecar.hpp"
#include "whitebox/data.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"
#include "whitebox/image.hpp"
#include "whitebox/model.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

// Feeds every file of fuzz/regressions/`target` to `read`; returns how many there were.
int feed(const std::string& target, const std::function<void(const std::filesystem::path&)>& read) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(WHITEBOX_SOURCE_DIR) / "fuzz" / "regressions" / target)) {
    if (entry.path().filename().string().starts_with(".")) continue;
    SCOPED_TRACE(entry.path().filename().string());
    try {
      read(entry.path());
    } catch (const Error&) {
    }
    ++files;
  }
  return files;
}

TEST(FuzzRegressions, OnnxImport) {
  EXPECT_GT(feed("onnx_import", [](const auto& file) { Model::load(file); }), 0);
}

TEST(FuzzRegressions, Image) {
  feed("image", [](const auto& file) { read_image(file); });
}

TEST(FuzzRegressions, Npy) {
  feed("npy", [](const auto& file) { read_npy(file); });
}

TEST(FuzzRegressions, Sidecar) {
  EXPECT_GT(feed("sidecar",
                 [](const auto& file) {
                   const Sidecar sidecar = parse_sidecar(read_file(file, "sidecar"), file.string());
                   if (sidecar.labels)
                     labels_path(file.parent_path(), *sidecar.labels, file.string());
                 }),
            0);
}

TEST(FuzzRegressions, List) {
  const Model model = Model::load(default_model());
  EXPECT_GT(feed("list", [&](const auto& file) { read_list(file, model); }), 0);
}

}  // namespace
}  // namespace whitebox::test
