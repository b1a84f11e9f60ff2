// SLIC superpixels of the picture a network input shows, for the superpixel methods and IROF.
#include <ATen/ATen.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc/slic.hpp>

#include "whitebox/error.hpp"
#include "whitebox/image.hpp"

namespace whitebox {

at::Tensor consecutive_labels(const at::Tensor& labels) {
  return std::get<1>(at::_unique(labels.flatten(), /*sorted=*/true, /*return_inverse=*/true))
      .view(labels.sizes());
}

at::Tensor superpixels(const at::Tensor& x, const Preprocessing& preprocessing, int64_t region,
                       double ruler) {
  if (!x.defined() || x.dim() != 3)
    throw InputError("superpixels need an input [C, H, W], not " +
                     (x.defined() ? c10::str(x.sizes()) : std::string("none")));
  if (region < 2)
    throw ArgumentError("the superpixel size must be at least 2, not " + std::to_string(region));
  const int64_t height = x.size(1), width = x.size(2);
  // The input with its normalisation undone, in 8-bit RGB.
  at::Tensor picture = x.detach().to(at::kCPU, at::kFloat).clone();
  if (picture.size(0) == 3) {
    for (int ch = 0; ch < 3; ++ch)
      picture[ch] = picture[ch] * preprocessing.std[ch] + preprocessing.mean[ch];
  } else {
    picture = picture.mean(0, true).expand({3, height, width});
  }
  const at::Tensor bytes =
      (picture.clamp(0, 1) * 255).round().to(at::kByte).permute({1, 2, 0}).contiguous();
  cv::Mat rgb(static_cast<int>(height), static_cast<int>(width), CV_8UC3, bytes.data_ptr());
  cv::Mat lab, cut;
  cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
  auto slic = cv::ximgproc::createSuperpixelSLIC(lab, cv::ximgproc::SLICO, static_cast<int>(region),
                                                 static_cast<float>(ruler));
  slic->iterate(10);
  slic->enforceLabelConnectivity();
  slic->getLabels(cut);
  return consecutive_labels(at::from_blob(cut.data, {height, width}, at::kInt).to(at::kLong));
}

}  // namespace whitebox
