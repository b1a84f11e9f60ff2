#pragma once
// Shared pieces of the class-activation-map family (cam.cpp, cam_gradient.cpp, cam_score.cpp,
// fem.cpp): layer handling, combining maps of several layers, registry entries.
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "methods/layers.hpp"
#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// A layer-resolution map [N, h, w] computed at one layer.
using LayerMap = std::function<at::Tensor(ValueId layer)>;

// Runs `map_at` at every layer of params "layer" and fills attribution / map / layer.
// One layer: attribution = its map, map = the map upsampled bilinearly to the input.
// Several layers: each map is divided by its per-image maximum |value| (so that layers of very
// different scales count alike), resized bilinearly and averaged; attribution is that average at
// the finest chosen layer's resolution, map the average at the input's.
Explanation cam_explanation(const Context& c, const std::vector<ValueId>& layers, const LayerMap& map_at);

// The same, for maps given per layer (already computed).
Explanation combine_layer_maps(const Context& c, const std::vector<ValueId>& layers,
                               const std::vector<at::Tensor>& maps);

// relu(sum_k P[n, k]) -> [N, h, w] for weighted activations P [N, K, h, w]; with params
// eigen_smooth=1 (pytorch-grad-cam's eigen_smooth), relu of P's projection on its first principal
// component (P centred per channel over the positions; the sign chosen to agree with sum_k P_k).
at::Tensor rectified_channel_sum(const Context& c, const at::Tensor& P);
// The hyper-parameter entry of eigen_smooth, for the CAMs that end in rectified_channel_sum.
Hyperparameter eigen_smooth_parameter();

// sum_k weights[n, k] * activations[n, k] -> [N, h, w]; weights [N, K].
at::Tensor weighted_sum(const at::Tensor& weights, const at::Tensor& activations);

// P [N, K, h, w] as an [hw, K] matrix M per image, projected on its first right singular vector v
// (no centring, as Eigen-CAM's paper): M v as [N, h, w]. The sign of v is arbitrary; it is chosen
// so that the projection correlates positively (Pearson) with `orientation` [N, h, w] (left as
// the SVD gives it when `orientation` is undefined).
at::Tensor principal_projection(const at::Tensor& P, const at::Tensor& orientation);

// Per-image min-max normalisation of [N, ...] to [0, 1]; constant images become 0.
at::Tensor minmax(const at::Tensor& maps);

// The last value of each spatial resolution below the input's: the end of every stage, just
// before a spatial downsampling, and the final feature map; finest first. Throws LookupError
// naming `method` when the model has none.
std::vector<ValueId> stage_ends(const Context& c, const std::string& method);

// The hyper-parameter entry of "layer", shared by the layer-based methods.
Hyperparameter layer_parameter();

// A registry entry of the CAM family with resolution "layer".
MethodInfo cam_entry(std::string name, std::vector<std::string> aliases, std::string summary,
                     bool class_discriminative, bool needs_gradient, std::string cost,
                     std::vector<Hyperparameter> hyperparameters, std::string citation,
                     std::function<Explanation(const Context&)> run, bool uses_layer_gradient);

// The rows of the one linear layer that follows global average pooling of `layer`, for each
// target class: [N, K]. Throws ArgumentError naming the graph structure when the model does not
// end in global-average-pool -> (Flatten/Reshape/Squeeze) -> Gemm / MatMul(+Add) / 1x1 Conv.
at::Tensor cam_head_weights(const Model& model, const Trace& trace, ValueId layer,
                            const std::vector<int64_t>& classes);

void add_gradient_cams(std::vector<MethodInfo>& registry);   // cam_gradient.cpp
void add_score_cams(std::vector<MethodInfo>& registry);      // cam_score.cpp
void add_feature_cams(std::vector<MethodInfo>& registry);    // fem.cpp
void add_fullgrad_method(std::vector<MethodInfo>& registry);  // fullgrad.cpp

}  // namespace whitebox::explainers
