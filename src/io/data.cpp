#include "whitebox/data.hpp"

#include <cstdlib>
#include <sstream>

#include "whitebox/error.hpp"
#include "whitebox/files.hpp"

namespace whitebox {

std::filesystem::path data_dir() {
  if (const char* env = std::getenv("WHITEBOX_DATA"); env && *env) return env;
  std::error_code ec;
  if (std::filesystem::is_directory(WHITEBOX_SOURCE_DATA_DIR, ec)) return WHITEBOX_SOURCE_DATA_DIR;
  return WHITEBOX_INSTALLED_DATA_DIR;
}

std::filesystem::path bundled(const std::string& name) {
  auto path = data_dir() / name;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw FileError("bundled data file not found: " + path.string() +
                    " (set WHITEBOX_DATA to the folder holding whitebox's models/)");
  }
  return path;
}

std::filesystem::path default_model() { return bundled("mobilenet_v2_1.0_224.onnx"); }
std::filesystem::path default_image() { return bundled("images/chelsea.png"); }

std::vector<std::string> read_labels(const std::filesystem::path& file) {
  std::istringstream in(read_file(file, "labels file"));
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  return labels;
}

}  // namespace whitebox
