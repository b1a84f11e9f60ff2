#pragma once
// How alike two explanation maps are: the measures of Adebayo et al.'s sanity checks (Spearman
// rank correlation, SSIM, HOG similarity). Maps are [H, W] tensors on any device; results are
// doubles. Definitions: docs/sanity.md.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace whitebox::metrics {

// Spearman's rank correlation of two tensors of equal size (all elements; tied values share
// their average rank). 1 for two constant tensors, 0 when only one is constant.
double rank_correlation(const at::Tensor& a, const at::Tensor& b);

// Structural similarity (Wang et al. 2004) of two [H, W] maps, each first scaled to [0, 1] by
// |m| / max |m|: the mean over 11x11 Gaussian windows (sigma 1.5) of the SSIM index.
double ssim(const at::Tensor& a, const at::Tensor& b);

// Histogram of oriented gradients (Dalal & Triggs 2005) of a [H, W] map scaled by |m| / max |m|:
// unsigned orientations in `bins` bins (linear vote between the two nearest), cells of `cell`
// pixels, blocks of `block` x `block` cells moved one cell at a time, L2-Hys normalised.
struct HogOptions {
  int64_t cell = 8;
  int64_t block = 2;
  int64_t bins = 9;
};
// The descriptor, flattened: [blocks * block * block * bins]. Throws ArgumentError for a map
// smaller than one block.
at::Tensor hog(const at::Tensor& map, const HogOptions& options = {});
// Pearson correlation of the two maps' HOG descriptors (1 when both are constant, 0 when one is).
double hog_similarity(const at::Tensor& a, const at::Tensor& b, const HogOptions& options = {});

// The four measures Adebayo et al. (2018) report between an explanation and a reference one.
struct MapSimilarity {
  double spearman_abs = 0;  // rank correlation of |a| and |b|
  double spearman = 0;      // rank correlation of a and b (signed)
  double ssim = 0;
  double hog = 0;
};
MapSimilarity compare_maps(const at::Tensor& a, const at::Tensor& b, const HogOptions& options = {});

}  // namespace whitebox::metrics
