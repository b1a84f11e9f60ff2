#pragma once
// The data whitebox ships: the default model, ImageNet labels and example photos.
#include <filesystem>
#include <string>
#include <vector>

namespace whitebox {

// The folder holding the bundled models and labels: $WHITEBOX_DATA if set, else the source tree's
// models/ when running from a build, else the installed share/whitebox/models.
std::filesystem::path data_dir();
// A file of the bundled data; throws FileError if it is not there.
std::filesystem::path bundled(const std::string& name);

// The default model and example photo.
std::filesystem::path default_model();
std::filesystem::path default_image();

// One label a line. Throws FileError.
std::vector<std::string> read_labels(const std::filesystem::path& file);

}  // namespace whitebox
