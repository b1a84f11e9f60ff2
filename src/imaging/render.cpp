#include "whitebox/render.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "imaging/mat.hpp"
#include "whitebox/error.hpp"

namespace whitebox {
namespace {

template <typename Enum>
Enum lookup(const std::vector<std::pair<std::string, Enum>>& table, const std::string& name,
            const std::string& what) {
  std::string valid;
  for (const auto& [key, value] : table) {
    if (key == name) return value;
    valid += (valid.empty() ? "" : ", ") + key;
  }
  throw LookupError("unknown " + what + " '" + name + "' (valid: " + valid + ")");
}

// A [H, W] map: squeezes leading unit dimensions ([1, H, W] is common for a batch of one).
at::Tensor as_map(const at::Tensor& map, const std::string& what) {
  if (!map.defined()) throw InputError(what + " is undefined");
  at::Tensor m = map;
  while (m.dim() > 2 && m.size(0) == 1) m = m.squeeze(0);
  if (m.dim() != 2 || m.numel() == 0) {
    throw InputError(what + " must be a non-empty [H, W] map, not " + c10::str(map.sizes()));
  }
  return m.detach().to(at::kCPU, at::kFloat);
}

// The `percentile` of the values of `magnitudes` (>= 0) by rank: no interpolation needed.
double percentile_of(const at::Tensor& magnitudes, double percentile) {
  const at::Tensor flat = magnitudes.reshape(-1);
  const int64_t n = flat.numel();
  const auto k = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(percentile / 100.0 * n)), 1, n);
  return std::get<0>(at::kthvalue(flat, k)).item<double>();
}

}  // namespace

Colormap parse_colormap(const std::string& name) {
  return lookup<Colormap>({{"jet", Colormap::Jet},
                           {"turbo", Colormap::Turbo},
                           {"viridis", Colormap::Viridis},
                           {"inferno", Colormap::Inferno},
                           {"red-blue", Colormap::RedBlue}},
                          name, "colormap");
}

Normalization parse_normalization(const std::string& name) {
  return lookup<Normalization>({{"absolute", Normalization::Absolute},
                                {"positive", Normalization::Positive},
                                {"signed", Normalization::Signed}},
                               name, "normalization");
}

at::Tensor normalize_map(const at::Tensor& map, Normalization how, double percentile) {
  if (!(percentile > 0.0 && percentile <= 100.0)) {
    throw ArgumentError("the clipping percentile must be in (0, 100], not " + c10::str(percentile));
  }
  // A map that is not finite has no scale, and drawn anyhow it would look like a real one.
  const at::Tensor m = as_map(map, "the map to normalise");
  if (!at::isfinite(m).all().item<bool>()) {
    throw InputError("the map to normalise has values that are not finite (inf or nan)");
  }
  const at::Tensor magnitude = how == Normalization::Positive ? at::relu(m) : m.abs();
  const double scale = percentile_of(magnitude, percentile);
  if (!(scale > 0.0)) return at::zeros_like(m);  // a blank map stays blank
  switch (how) {
    case Normalization::Absolute:
    case Normalization::Positive:
      return (magnitude / scale).clamp(0.0, 1.0);
    case Normalization::Signed:
      return (m / scale).clamp(-1.0, 1.0);
  }
  return m;
}

at::Tensor colorize(const at::Tensor& normalized, Colormap colormap) {
  const at::Tensor m = as_map(normalized, "the map to colorize");
  if (colormap == Colormap::RedBlue) {
    // Diverging: -1 blue (0, 0, 1), 0 white, +1 red (1, 0, 0); each side fades linearly to white.
    const at::Tensor v = m.clamp(-1.0, 1.0);
    const at::Tensor rgb = at::stack({1.0 - at::relu(-v), 1.0 - v.abs(), 1.0 - at::relu(v)}, 2);
    return (rgb * 255.0).round().to(at::kByte).contiguous();
  }
  const at::Tensor levels = (m.clamp(0.0, 1.0) * 255.0).round().to(at::kByte).unsqueeze(2).contiguous();
  const int code = colormap == Colormap::Turbo     ? cv::COLORMAP_TURBO
                   : colormap == Colormap::Viridis ? cv::COLORMAP_VIRIDIS
                   : colormap == Colormap::Inferno ? cv::COLORMAP_INFERNO
                                                   : cv::COLORMAP_JET;
  cv::Mat bgr, rgb;
  cv::applyColorMap(imaging::wrap(levels), bgr, code);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return imaging::to_tensor(rgb);
}

at::Tensor heat(const at::Tensor& map, bool is_signed, double percentile) {
  return is_signed ? colorize(normalize_map(map, Normalization::Signed, percentile), Colormap::RedBlue)
                   : colorize(normalize_map(map, Normalization::Positive, percentile), Colormap::Jet);
}

at::Tensor overlay(const at::Tensor& image, const at::Tensor& colored, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    throw ArgumentError("the overlay alpha must be in [0, 1], not " + c10::str(alpha));
  }
  const at::Tensor photo = imaging::as_picture(image, "the photo to overlay");
  const at::Tensor heat = imaging::as_picture(colored, "the colored map to overlay");
  cv::Mat resized, blended;
  cv::resize(imaging::wrap(heat), resized, cv::Size(static_cast<int>(photo.size(1)), static_cast<int>(photo.size(0))),
             0, 0, cv::INTER_LINEAR);
  cv::addWeighted(imaging::wrap(photo), 1.0 - alpha, resized, alpha, 0.0, blended);
  return imaging::to_tensor(blended);
}

at::Tensor grid(const std::vector<at::Tensor>& pictures, const std::vector<std::string>& titles,
                int columns) {
  if (pictures.empty()) throw ArgumentError("a grid needs at least one picture");
  if (!titles.empty() && titles.size() != pictures.size()) {
    throw ArgumentError("a grid needs one title per picture (" + std::to_string(titles.size()) +
                        " titles for " + std::to_string(pictures.size()) + " pictures)");
  }
  const int count = static_cast<int>(pictures.size());
  columns = columns <= 0 ? count : std::min(columns, count);
  const int rows = (count + columns - 1) / columns;

  // Every tile takes the size of the first picture.
  const at::Tensor first = imaging::as_picture(pictures.front(), "a grid picture");
  const int tile_h = static_cast<int>(first.size(0)), tile_w = static_cast<int>(first.size(1));

  // Text scales with the tile so titles stay legible on small and large pictures alike.
  constexpr int font = cv::FONT_HERSHEY_SIMPLEX;
  const double base_scale = std::clamp(tile_w / 450.0, 0.35, 1.2);
  const int thickness = base_scale >= 0.8 ? 2 : 1;
  int baseline = 0;
  const cv::Size probe = cv::getTextSize("Ag", font, base_scale, thickness, &baseline);
  const int margin = std::max(2, tile_w / 64);
  const int band = titles.empty() ? 0 : probe.height + baseline + 2 * margin;

  cv::Mat canvas(rows * (band + tile_h) + (rows + 1) * margin, columns * tile_w + (columns + 1) * margin,
                 CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < count; ++i) {
    const int x = margin + (i % columns) * (tile_w + margin);
    const int y = margin + (i / columns) * (band + tile_h + margin);
    const at::Tensor picture = imaging::as_picture(pictures[i], "a grid picture");
    cv::Mat tile = imaging::wrap(picture);
    if (tile.rows != tile_h || tile.cols != tile_w) {
      cv::Mat resized;
      cv::resize(tile, resized, cv::Size(tile_w, tile_h), 0, 0, cv::INTER_LINEAR);
      tile = resized;
    }
    tile.copyTo(canvas(cv::Rect(x, y + band, tile_w, tile_h)));
    if (titles.empty()) continue;
    // Shrink long titles to the tile width rather than letting them run into the neighbour.
    double scale = base_scale;
    cv::Size size = cv::getTextSize(titles[i], font, scale, thickness, &baseline);
    if (size.width > tile_w) {
      scale *= static_cast<double>(tile_w) / size.width;
      size = cv::getTextSize(titles[i], font, scale, thickness, &baseline);
    }
    const cv::Point origin(x + std::max(0, (tile_w - size.width) / 2), y + margin + probe.height);
    cv::putText(canvas, titles[i], origin, font, scale, cv::Scalar(0, 0, 0), thickness, cv::LINE_AA);
  }
  return imaging::to_tensor(canvas);  // black text and white canvas read the same in RGB and BGR
}

}  // namespace whitebox
