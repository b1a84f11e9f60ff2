#pragma once
// Image files in and out. Images are ATen uint8 tensors [H, W, 3] in RGB order.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "whitebox/preprocess.hpp"

namespace whitebox {

// Decodes PNG, JPEG, BMP, TIFF, WebP and PBM/PGM/PPM (with OpenCV); greyscale becomes RGB. Throws
// FileError for a missing file and InputError for one that cannot be decoded, in another format,
// or declaring more than 2^27 pixels.
at::Tensor read_image(const std::filesystem::path& file);
// Writes a [H, W, 3] uint8 RGB tensor; the format follows the extension. Throws FileError.
void write_image(const std::filesystem::path& file, const at::Tensor& rgb);
// The bytes of that file for an extension such as ".png"; throws ArgumentError for an unknown one.
std::string encode_image(const at::Tensor& rgb, const std::string& extension);

// Whether the extension is that of an image (png, jpg, jpeg, bmp, tif, tiff, webp, ppm, pgm; any
// case).
bool is_image_file(const std::filesystem::path& file);
// The image files of a folder, sorted by name. Throws FileError for a missing folder and
// InputError when it holds no image.
std::vector<std::filesystem::path> image_files(const std::filesystem::path& folder);

// A network input together with the picture it shows.
struct Input {
  at::Tensor tensor;  // [1, 3, H, W] float32, normalised
  at::Tensor image;   // [H, W, 3] uint8 RGB: the cropped, resized photo, for overlays
};

// Central crop, bilinear resize to the network size, normalisation.
Input preprocess(const at::Tensor& rgb, const Preprocessing& preprocessing);

// SLIC superpixels (SLICO of OpenCV's ximgproc, in Lab) of the picture a network input `x`
// [C, H, W] shows (its normalisation undone; other than 3 channels: their mean), of about
// `region` pixels on a side, `ruler` the compactness. Labels [H, W] int64, 0..S-1, all used.
at::Tensor superpixels(const at::Tensor& x, const Preprocessing& preprocessing, int64_t region,
                       double ruler = 10.0);
// Felzenszwalb & Huttenlocher's graph segmentation (IJCV 2004; OpenCV's ximgproc) of the same
// picture: Gaussian smoothing of `sigma` pixels, `scale` (k) the threshold constant (larger:
// larger segments), segments of at least `smallest` pixels. Labels as above.
at::Tensor graph_segments(const at::Tensor& x, const Preprocessing& preprocessing, int64_t smallest,
                          double scale = 300.0, double sigma = 0.8);
// Integer labels renumbered 0..S-1 in increasing order, the shape kept.
at::Tensor consecutive_labels(const at::Tensor& labels);

}  // namespace whitebox
