#pragma once
// Turning explanation maps into pictures: normalisation, colormaps, overlays, grids.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace whitebox {

enum class Colormap { Jet, Turbo, Viridis, Inferno, RedBlue };
// "jet", "turbo", "viridis", "inferno", "red-blue"; throws LookupError.
Colormap parse_colormap(const std::string& name);

// How a map's values become [0, 1] (or [-1, 1] for Signed) before colouring.
enum class Normalization {
  Absolute,  // |m| / max|m|
  Positive,  // max(m, 0) / max(m)
  Signed,    // m / max|m|, drawn with a diverging colormap
};
Normalization parse_normalization(const std::string& name);  // "absolute", "positive", "signed"

// Normalises a [H, W] map; values beyond the `percentile` (in (0, 100]) of the magnitudes clip.
// Throws InputError for a map with values that are not finite.
at::Tensor normalize_map(const at::Tensor& map, Normalization how, double percentile = 100.0);
// A [H, W] map in [0, 1] ([-1, 1] for RedBlue) to a [H, W, 3] uint8 RGB picture.
at::Tensor colorize(const at::Tensor& normalized, Colormap colormap);
// The default drawing of a [H, W] map: a signed one red-blue over m / max|m|, an unsigned one jet
// over its positive part, both saturating at the `percentile` of the magnitudes.
at::Tensor heat(const at::Tensor& map, bool is_signed, double percentile = 99.0);
// The photo [H, W, 3] uint8 blended with a colorized map resized to it: (1 - alpha) photo + alpha map.
at::Tensor overlay(const at::Tensor& image, const at::Tensor& colored, double alpha = 0.5);
// Pictures of equal size side by side in rows of `columns`, each with its title written above.
at::Tensor grid(const std::vector<at::Tensor>& pictures, const std::vector<std::string>& titles,
                int columns);

}  // namespace whitebox
