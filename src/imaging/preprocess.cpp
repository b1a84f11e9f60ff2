#include "whitebox/preprocess.hpp"

#include "whitebox/error.hpp"

namespace whitebox {

std::vector<std::string> Preprocessing::preset_names() {
  return {"imagenet", "inception", "mobilenet-tf", "unit"};
}

Preprocessing Preprocessing::preset(std::string_view name, int width, int height) {
  Preprocessing p;
  p.name = std::string(name);
  p.width = width;
  p.height = height;
  if (name == "imagenet") {
    p.mean = {0.485, 0.456, 0.406};
    p.std = {0.229, 0.224, 0.225};
  } else if (name == "inception") {  // [-1, 1]
    p.mean = {0.5, 0.5, 0.5};
    p.std = {0.5, 0.5, 0.5};
  } else if (name == "mobilenet-tf") {  // (pixel - 128) / 128
    p.mean = {128.0 / 255, 128.0 / 255, 128.0 / 255};
    p.std = {128.0 / 255, 128.0 / 255, 128.0 / 255};
  } else if (name == "unit") {  // [0, 1]
    p.mean = {0, 0, 0};
    p.std = {1, 1, 1};
  } else {
    std::string valid;
    for (const auto& n : preset_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw LookupError("unknown preprocessing '" + std::string(name) + "' (valid: " + valid + ")");
  }
  return p;
}

}  // namespace whitebox
