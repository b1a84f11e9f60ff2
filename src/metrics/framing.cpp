// Annotations of the original photo as masks, and brought onto the model input, with the arithmetic
// of preprocess(): a central square of `crop` times the shorter side, resized to the input size.
#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"
#include "whitebox/metrics/localisation.hpp"

namespace whitebox::metrics {
namespace {

struct Square {
  int64_t left, top, side;
};

Square central_square(int64_t height, int64_t width, const Preprocessing& p) {
  if (height < 1 || width < 1)
    throw InputError("an image of " + std::to_string(width) + "x" + std::to_string(height) +
                     " pixels has no centre");
  const int64_t shorter = std::min(height, width);
  const int64_t side = std::clamp<int64_t>(std::lround(shorter * p.crop), 1, shorter);
  return {(width - side) / 2, (height - side) / 2, side};
}

}  // namespace

Box box_to_input(const Box& box, int64_t image_height, int64_t image_width,
                 const Preprocessing& p) {
  const Square s = central_square(image_height, image_width, p);
  const double sx = static_cast<double>(p.width) / s.side,
               sy = static_cast<double>(p.height) / s.side;
  return {(box.x0 - s.left) * sx, (box.y0 - s.top) * sy, (box.x1 - s.left) * sx,
          (box.y1 - s.top) * sy};
}

at::Tensor plane_to_input(const at::Tensor& plane, const Preprocessing& p) {
  if (!plane.defined() || plane.dim() != 2) throw InputError("an annotation plane must be [H, W]");
  const Square s = central_square(plane.size(0), plane.size(1), p);
  const at::Tensor square =
      plane.to(at::kDouble).slice(0, s.top, s.top + s.side).slice(1, s.left, s.left + s.side);
  return at::upsample_bilinear2d(square.unsqueeze(0).unsqueeze(0), {p.height, p.width},
                                 /*align_corners=*/false)
      .squeeze(0)
      .squeeze(0);
}

at::Tensor box_mask(const std::vector<Box>& boxes, int64_t height, int64_t width) {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor x = (at::arange(width, options) + 0.5).view({1, -1});
  const at::Tensor y = (at::arange(height, options) + 0.5).view({-1, 1});
  at::Tensor mask = at::zeros({height, width}, at::kBool);
  for (const Box& b : boxes) {
    if (!(b.x0 <= b.x1 && b.y0 <= b.y1)) {
      throw InputError("a box needs x0 <= x1 and y0 <= y1, not [" +
                       c10::str(b.x0, ", ", b.y0, ", ", b.x1, ", ", b.y1) + "]");
    }
    mask = mask | ((x >= b.x0) & (x <= b.x1) & (y >= b.y0) & (y <= b.y1));
  }
  return mask;
}

}  // namespace whitebox::metrics
