#pragma once
// Path integrals of gradients along a straight line, shared by integrated gradients and its layer
// and neuron forms (integrated_gradients.cpp, layer_attribution.cpp, neuron_attribution.cpp).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "methods/quadrature.hpp"
#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// The gradient at path points [m, ...], the points of the images `images` (one per row).
using PathGradient =
    std::function<at::Tensor(const at::Tensor& points, const std::vector<int64_t>& images)>;

// sum_k w_k gradient(start + alpha_k (end - start)) per image, for start and end [N, ...] and the
// quadrature (alpha_k, w_k): the path points image by image (image i, point k at flat index
// i * steps + k), `batch` at a time.
at::Tensor integrate_path(const at::Tensor& start, const at::Tensor& end, const Quadrature& q,
                          int64_t batch, const PathGradient& gradient);

// The hyper-parameters of a path from a baseline image, in integrated gradients' order: baseline,
// steps, integration, batch, sigma, seed.
std::vector<Hyperparameter> path_hyperparameters();

}  // namespace whitebox::explainers
