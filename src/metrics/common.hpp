#pragma once
// Helpers shared by the metric implementations: argument checks, orderings, substitutes, batched
// scoring of perturbed inputs, and small statistics.
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "whitebox/error.hpp"
#include "whitebox/metrics/perturbation.hpp"
#include "whitebox/model.hpp"

namespace whitebox::metrics::detail {

// Throws InputError unless `image` is [C, H, W] and `map` is [H, W] of the same size.
void check_image_and_map(const at::Tensor& image, const at::Tensor& map, const std::string& metric);
// Throws InputError unless `a` and `b` are [H, W] tensors of the same size.
void check_same_plane(const at::Tensor& a, const at::Tensor& b, const std::string& metric,
                      const std::string& what);
// Throws ArgumentError unless value >= least.
void require_at_least(int64_t value, int64_t least, const std::string& what);

// The image on the model's device and in its floating type.
at::Tensor as_model_input(const Model& model, const at::Tensor& image);
// (map - min) / (max - min), float64: the map in [0, 1]; 0 for a constant map.
at::Tensor min_max_scaled(const at::Tensor& map);
// The map as a flat float64 tensor on `device`.
at::Tensor flat_double(const at::Tensor& map, c10::Device device);

// rank[p] = position of pixel p when the map is sorted in decreasing (or increasing) order,
// ties in row-major order; [H, W] int64.
at::Tensor pixel_rank(const at::Tensor& map, bool descending);

// The square region (side `side`, row-major) of every pixel of `map` [H, W], and the sum of the
// map over every region [R].
std::pair<at::Tensor, at::Tensor> square_regions(const at::Tensor& map, int64_t side);

at::Generator generator(uint64_t seed);
// `samples` perturbations [samples, C, H, W] of `image` [C, H, W], float64 on the CPU: uniform in
// the L-infinity ball of `radius`, or Gaussian with std `radius`. `metric` names the options in
// the ArgumentError for a count below 1 or a radius that is not positive.
at::Tensor input_noise(const at::Tensor& image, int64_t samples, double radius, uint64_t seed,
                       bool gaussian, const std::string& metric);
// What replaces removed pixels of `image` [C, H, W].
at::Tensor substitute(const at::Tensor& image, Substitution substitution, double blur_sigma,
                      uint64_t seed);
// Separable Gaussian blur of [C, H, W] with edge replication, radius ceil(3 sigma).
at::Tensor gaussian_blur(const at::Tensor& image, double sigma);

// The class score of every row of a batch of logits [B, K] (or [B, K, 1, 1]), as float64.
at::Tensor class_scores(const at::Tensor& logits, int64_t cls, Score score);
// Scores of `count` perturbed inputs, made `batch` at a time by make(first, size) -> [size, C, H,
// W].
std::vector<double> scores_of(const Model& model, int64_t count, int64_t batch, int64_t cls,
                              Score score, const std::function<at::Tensor(int64_t, int64_t)>& make);
// The same for several images at once, `counts[i]` inputs of image i for its class `classes[i]`,
// made by make(i, first, size): the inputs of consecutive images share the network's batches, so
// that N images of c inputs take ceil(N c / batch) passes instead of N ceil(c / batch).
std::vector<std::vector<double>> scores_of(
    const Model& model, const std::vector<int64_t>& counts, int64_t batch,
    const std::vector<int64_t>& classes, Score score,
    const std::function<at::Tensor(size_t, int64_t, int64_t)>& make);
// The score of the unperturbed image.
double score_of(const Model& model, const at::Tensor& image, int64_t cls, Score score);

// Area under (x, y) by the trapezoid rule.
double trapezoid(const std::vector<double>& x, const std::vector<double>& y);
// Pearson correlation of two equally long 1-D tensors; 0 when either is constant.
double pearson_flat(const at::Tensor& a, const at::Tensor& b);
at::Tensor to_tensor(const std::vector<double>& values);

}  // namespace whitebox::metrics::detail
