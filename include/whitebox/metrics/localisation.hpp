#pragma once
// Localisation: the map against a [H, W] bool mask of the object (boxes become masks), and
// without annotations (Focus).
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "whitebox/explain.hpp"
#include "whitebox/metrics/explainer.hpp"

namespace whitebox::metrics {

// An axis-aligned box in pixel coordinates of the model input: a pixel (row i, column j) is
// inside when its centre (j + 0.5, i + 0.5) is within [x0, x1] x [y0, y1].
struct Box {
  double x0, y0, x1, y1;
};
at::Tensor box_mask(const std::vector<Box>& boxes, int64_t height, int64_t width);
// Annotations of the original photo (height x width pixels) on the model input: the central
// square crop and the resize that preprocess() applies.
Box box_to_input(const Box& box, int64_t image_height, int64_t image_width,
                 const Preprocessing& preprocessing);
// A [H, W] plane of the photo (mask, attention map), cropped and resized bilinearly; float64.
at::Tensor plane_to_input(const at::Tensor& plane, const Preprocessing& preprocessing);

// Pointing game (Zhang et al. 2016): a hit when the map's maximum (first in row-major order)
// lies within `tolerance_px` (Euclidean) of a mask pixel.
inline constexpr double kPointingGameTolerance = 15;
bool pointing_game(const at::Tensor& map, const at::Tensor& mask,
                   double tolerance_px = kPointingGameTolerance);
// Energy-based pointing game (Wang et al. 2020): sum of the positive map in the mask over the
// sum of the positive map.
double energy_pointing_game(const at::Tensor& map, const at::Tensor& mask);
// Relevance mass accuracy (Arras et al. 2022): the same ratio, named as in CLEVR-XAI.
double relevance_mass_accuracy(const at::Tensor& map, const at::Tensor& mask);
// Relevance rank accuracy (Arras et al. 2022): share of the K highest map pixels inside the
// mask, K = the mask's pixel count.
double relevance_rank_accuracy(const at::Tensor& map, const at::Tensor& mask);
// Intersection over union of {map >= threshold * max(map)} and the mask.
inline constexpr double kIouThreshold = 0.5;
double iou(const at::Tensor& map, const at::Tensor& mask, double threshold = kIouThreshold);
// Top-k intersection (Theiner et al. 2021): share of the k highest map pixels (ties in row-major
// order) inside the mask; k is at most the map's pixel count.
double top_k_intersection(const at::Tensor& map, const at::Tensor& mask, int64_t k);
// Localisation AUC (Fawcett 2006, as Quantus uses it): the ROC area of the map as a score for
// the mask's pixels, the probability that a mask pixel outranks a pixel outside (ties half).
double localisation_auc(const at::Tensor& map, const at::Tensor& mask);

// Focus (Arias-Duart, Pares, Garcia-Gasulla & Gimenez-Abalos 2022): the image, shrunk to half
// size, in the top-left and bottom-right quadrants of a mosaic of the input's size, and two
// images of other classes in the other two; the share of the positive part of the method's map
// of the mosaic that falls on the image's quadrants. 0.5 for a map blind to the class; higher is
// better.
double focus(const ClassExplainer& explainer, const at::Tensor& image,
             const at::Tensor& first_other, const at::Tensor& second_other, int64_t cls);
// The mosaic [C, H, W] of three images of one size [C, H, W] (each shrunk by averaging).
at::Tensor focus_mosaic(const at::Tensor& image, const at::Tensor& first_other,
                        const at::Tensor& second_other);

}  // namespace whitebox::metrics
