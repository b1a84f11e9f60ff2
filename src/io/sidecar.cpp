#include "io/sidecar.hpp"

#include <nlohmann/json.hpp>

#include "whitebox/error.hpp"
#include "whitebox/files.hpp"

namespace whitebox {

Sidecar parse_sidecar(std::string_view text, const std::string& file) {
  const std::string named = "model sidecar " + printable(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ModelFormatError("cannot parse " + named + ": " + e.what());
  }
  if (!json.is_object()) {
    throw ModelFormatError(named +
                           " must hold an object {\"preprocessing\": ..., \"crop\": ..., "
                           "\"labels\": ...}");
  }
  Sidecar sidecar;
  for (const auto& [key, value] : json.items()) {
    const std::string where = named + ": \"" + printable(key) + "\"";
    if (key == "preprocessing" || key == "labels") {
      if (!value.is_string()) throw ModelFormatError(where + " must be a string");
      (key == "labels" ? sidecar.labels : sidecar.preprocessing) = value.get<std::string>();
    } else if (key == "crop") {
      if (!value.is_number() || !(value.get<double>() > 0 && value.get<double>() <= 1)) {
        throw ModelFormatError(where + " must be a number in (0, 1]");
      }
      sidecar.crop = value.get<double>();
    } else {
      throw ModelFormatError(where + " is not a sidecar key (preprocessing, crop, labels)");
    }
  }
  return sidecar;
}

std::filesystem::path labels_path(const std::filesystem::path& folder, const std::string& name,
                                  const std::string& sidecar) {
  const std::filesystem::path relative(name);
  bool climbs = relative.is_absolute() || relative.has_root_name() || name.empty();
  for (const auto& part : relative) climbs = climbs || part == "..";
  const auto refuse = [&] {
    return ModelFormatError("model sidecar " + printable(sidecar) + ": labels '" + printable(name) +
                            "' is not a file of the model's folder (whitebox reads no file a "
                            "model names outside its folder)");
  };
  if (climbs) throw refuse();
  std::error_code ec;
  const auto home = std::filesystem::weakly_canonical(folder.empty() ? "." : folder, ec);
  const auto file = std::filesystem::weakly_canonical(home / relative, ec);
  if (ec) throw refuse();
  const auto [end, at] = std::mismatch(home.begin(), home.end(), file.begin(), file.end());
  if (end != home.end()) throw refuse();  // a link out of the folder
  return file;
}

}  // namespace whitebox
