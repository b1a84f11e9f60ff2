#pragma once
// Choosing the layer a CAM method looks at.
#include "whitebox/explain.hpp"

namespace whitebox::explainers {

// The value named by params "layer", else the last spatial value (4-D, more than one position)
// of the trace: the feature map just before global pooling. Throws LookupError.
ValueId cam_layer(const Model& model, const Trace& trace, const Params& params);

// Bilinear upsampling of [N, h, w] maps to the input's [N, H, W].
at::Tensor upsample(const at::Tensor& maps, const at::Tensor& input);

}  // namespace whitebox::explainers
