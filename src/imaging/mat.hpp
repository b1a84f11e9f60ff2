#pragma once
// Internal: moving uint8 pictures between ATen tensors [H, W, C] and OpenCV matrices. OpenCV stays
// out of the public headers; only src/imaging sees it.
#include <ATen/ATen.h>

#include <opencv2/core.hpp>
#include <string>

#include "whitebox/error.hpp"

namespace whitebox::imaging {

// A contiguous CPU uint8 [H, W, 3] copy-or-view of `picture`; throws InputError naming `what`.
inline at::Tensor as_picture(const at::Tensor& picture, const std::string& what) {
  if (!picture.defined() || picture.dim() != 3 || picture.size(2) != 3 ||
      picture.scalar_type() != at::kByte) {
    throw InputError(what + " must be a uint8 [H, W, 3] RGB tensor" +
                     (picture.defined() ? ", not " + std::string(c10::toString(picture.scalar_type())) +
                                              " " + c10::str(picture.sizes())
                                        : ""));
  }
  if (picture.size(0) == 0 || picture.size(1) == 0) throw InputError(what + " is empty");
  return picture.to(at::kCPU).contiguous();
}

// A Mat header over a contiguous CPU uint8 tensor [H, W, C]; the tensor must outlive the Mat.
inline cv::Mat wrap(const at::Tensor& contiguous) {
  return cv::Mat(static_cast<int>(contiguous.size(0)), static_cast<int>(contiguous.size(1)),
                 CV_8UC(static_cast<int>(contiguous.size(2))), contiguous.data_ptr<uint8_t>());
}

// An owning uint8 tensor [H, W, C] copied from an 8-bit Mat.
inline at::Tensor to_tensor(const cv::Mat& mat) {
  cv::Mat continuous = mat.isContinuous() ? mat : mat.clone();
  return at::from_blob(continuous.data, {continuous.rows, continuous.cols, continuous.channels()},
                       at::kByte)
      .clone();
}

}  // namespace whitebox::imaging
