// Focus (Arias-Duart et al. 2022): localisation without annotations. A mosaic puts the image in
// two quadrants and images of other classes in the other two; a map that explains the class
// should fall on the image's quadrants.
#include <ATen/ATen.h>

#include "metrics/common.hpp"

namespace whitebox::metrics {
namespace {

// `image` [C, H, W] shrunk to [C, h, w] by averaging (exact pixel blocks when the sizes divide).
at::Tensor shrunk(const at::Tensor& image, int64_t height, int64_t width) {
  return at::adaptive_avg_pool2d(image.unsqueeze(0), {height, width})[0];
}

}  // namespace

at::Tensor focus_mosaic(const at::Tensor& image, const at::Tensor& first_other,
                        const at::Tensor& second_other) {
  for (const at::Tensor* t : {&first_other, &second_other}) {
    if (!t->defined() || !t->sizes().equals(image.sizes()) || image.dim() != 3) {
      throw InputError("focus needs images [C, H, W] of one size, not " + c10::str(image.sizes()) +
                       " and " + c10::str(t->sizes()));
    }
  }
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t top = height / 2, left = width / 2;
  const at::Tensor upper = at::cat(
      {shrunk(image, top, left), shrunk(first_other.to(image.options()), top, width - left)}, 2);
  const at::Tensor lower = at::cat({shrunk(second_other.to(image.options()), height - top, left),
                                    shrunk(image, height - top, width - left)},
                                   2);
  return at::cat({upper, lower}, 1);
}

double focus(const ClassExplainer& explainer, const at::Tensor& image,
             const at::Tensor& first_other, const at::Tensor& second_other, int64_t cls) {
  const at::Tensor mosaic = focus_mosaic(image, first_other, second_other);
  const at::Tensor map = at::relu(explainer(mosaic.unsqueeze(0), cls)[0].to(at::kDouble));
  const int64_t top = map.size(0) / 2, left = map.size(1) / 2;
  const double total = map.sum().item<double>();
  const double own = map.narrow(0, 0, top).narrow(1, 0, left).sum().item<double>() +
                     map.narrow(0, top, map.size(0) - top)
                         .narrow(1, left, map.size(1) - left)
                         .sum()
                         .item<double>();
  return total > 0 ? own / total : 0.0;
}

}  // namespace whitebox::metrics
