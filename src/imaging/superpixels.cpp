// Superpixels of the picture a network input shows (SLIC, Felzenszwalb-Huttenlocher graph
// segmentation), for the superpixel methods and IROF.
#include <ATen/ATen.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc/segmentation.hpp>
#include <opencv2/ximgproc/slic.hpp>

#include "whitebox/error.hpp"
#include "whitebox/image.hpp"

namespace whitebox {

at::Tensor consecutive_labels(const at::Tensor& labels) {
  return std::get<1>(at::_unique(labels.flatten(), /*sorted=*/true, /*return_inverse=*/true))
      .view(labels.sizes());
}

namespace {

// The picture a network input [C, H, W] shows, its normalisation undone, as 8-bit RGB [H, W, 3]
// (other than 3 channels: their mean as grey).
at::Tensor picture_of(const at::Tensor& x, const Preprocessing& preprocessing, int64_t least,
                      const std::string& what) {
  if (!x.defined() || x.dim() != 3)
    throw InputError(what + " need an input [C, H, W], not " +
                     (x.defined() ? c10::str(x.sizes()) : std::string("none")));
  if (least < 2)
    throw ArgumentError("the superpixel size must be at least 2, not " + std::to_string(least));
  const int64_t height = x.size(1), width = x.size(2);
  at::Tensor picture = x.detach().to(at::kCPU, at::kFloat).clone();
  if (picture.size(0) == 3) {
    for (int ch = 0; ch < 3; ++ch)
      picture[ch] = picture[ch] * preprocessing.std[ch] + preprocessing.mean[ch];
  } else {
    picture = picture.mean(0, true).expand({3, height, width});
  }
  return (picture.clamp(0, 1) * 255).round().to(at::kByte).permute({1, 2, 0}).contiguous();
}

at::Tensor labels_of(const cv::Mat& labels) {
  return consecutive_labels(
      at::from_blob(labels.data, {labels.rows, labels.cols}, at::kInt).to(at::kLong));
}

}  // namespace

at::Tensor graph_segments(const at::Tensor& x, const Preprocessing& preprocessing, int64_t smallest,
                          double scale, double sigma) {
  const at::Tensor bytes = picture_of(x, preprocessing, smallest, "graph segments");
  cv::Mat rgb(static_cast<int>(bytes.size(0)), static_cast<int>(bytes.size(1)), CV_8UC3,
              bytes.data_ptr());
  cv::Mat cut;
  cv::ximgproc::segmentation::createGraphSegmentation(sigma, static_cast<float>(scale),
                                                      static_cast<int>(smallest))
      ->processImage(rgb, cut);
  return labels_of(cut);
}

at::Tensor superpixels(const at::Tensor& x, const Preprocessing& preprocessing, int64_t region,
                       double ruler) {
  const at::Tensor bytes = picture_of(x, preprocessing, region, "superpixels");
  cv::Mat rgb(static_cast<int>(bytes.size(0)), static_cast<int>(bytes.size(1)), CV_8UC3,
              bytes.data_ptr());
  cv::Mat lab, cut;
  cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
  auto slic = cv::ximgproc::createSuperpixelSLIC(lab, cv::ximgproc::SLICO, static_cast<int>(region),
                                                 static_cast<float>(ruler));
  slic->iterate(10);
  slic->enforceLabelConnectivity();
  slic->getLabels(cut);
  return labels_of(cut);
}

}  // namespace whitebox
