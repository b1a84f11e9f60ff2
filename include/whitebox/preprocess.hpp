#pragma once
// How a photo becomes the network's input tensor: central crop, resize, scale, normalise.
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace whitebox {

struct Preprocessing {
  std::string name = "imagenet";
  int width = 224, height = 224;  // network input size
  double crop = 0.875;            // central crop, as a fraction of the shorter side (1: whole image)
  // x = (pixel / 255 - mean) / std, per RGB channel.
  std::array<double, 3> mean{0.485, 0.456, 0.406};
  std::array<double, 3> std{0.229, 0.224, 0.225};

  // Named presets: "imagenet" (torchvision mean/std), "inception" ([-1, 1]),
  // "mobilenet-tf" ((pixel - 128) / 128), "unit" ([0, 1]). Throws LookupError.
  static Preprocessing preset(std::string_view name, int width = 224, int height = 224);
  static std::vector<std::string> preset_names();

  // The input-space bounds of a pixel channel: (0 - mean) / std and (1 - mean) / std.
  double lowest(int channel) const { return (0.0 - mean[channel]) / std[channel]; }
  double highest(int channel) const { return (1.0 - mean[channel]) / std[channel]; }
};

}  // namespace whitebox
