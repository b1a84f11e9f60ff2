#pragma once
// A model's sidecar, `<model>.json` beside the ONNX file: {"preprocessing": preset, "crop": f,
// "labels": file}. Its labels file lies in the model's folder: a sidecar names no other file.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace whitebox {

struct Sidecar {
  std::optional<std::string> preprocessing;  // a preset name (Preprocessing::preset_names)
  std::optional<double> crop;                // in (0, 1]
  std::optional<std::string> labels;         // a file name relative to the sidecar's folder
};

// The settings of a sidecar's JSON text. Throws ModelFormatError naming `file` and the key for
// anything but an object of the keys above with values of their types.
Sidecar parse_sidecar(std::string_view text, const std::string& file);

// The labels file `name` of a sidecar in `folder`: ModelFormatError naming the sidecar when it
// is absolute, climbs out with "..", or resolves (through links) outside `folder`.
std::filesystem::path labels_path(const std::filesystem::path& folder, const std::string& name,
                                  const std::string& sidecar);

}  // namespace whitebox
