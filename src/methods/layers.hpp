#pragma once
// Choosing the layer a CAM method looks at.
#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// The value named by params "layer", else the last spatial value (4-D, more than one position)
// of the trace: the feature map just before global pooling. With "layer=a,b" the first.
// Throws LookupError (unknown name) or ArgumentError (not a 4-D feature map).
ValueId cam_layer(const Model& model, const Trace& trace, const Params& params);

// The values named by params "layer" and "layers" (comma-separated), for a lean trace to keep.
std::vector<ValueId> named_layers(const Model& model, const Params& params);

// Every layer of the comma-separated params `key` ("layer"), or the automatic one when absent.
std::vector<ValueId> cam_layers(const Model& model, const Trace& trace, const Params& params,
                                const std::string& key = "layer");

// The value a user names, checked to be a 4-D feature map of the trace.
ValueId spatial_value(const Model& model, const Trace& trace, const std::string& name);

// Bilinear upsampling of [N, h, w] maps to the input's [N, H, W].
at::Tensor upsample(const at::Tensor& maps, const at::Tensor& input);
// Bilinear resizing of [N, h, w] maps to [N, height, width].
at::Tensor resize(const at::Tensor& maps, int64_t height, int64_t width);

}  // namespace whitebox::explainers
