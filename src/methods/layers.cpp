#include "methods/layers.hpp"

#include <ATen/ATen.h>

#include "whitebox/error.hpp"

namespace whitebox::explainers {

ValueId cam_layer(const Model& model, const Trace& trace, const Params& params) {
  const Graph& graph = model.graph();
  if (params.has("layer")) {
    const ValueId v = graph.resolve(params.text("layer", ""));
    if (trace[v].dim() != 4) {
      throw ArgumentError("layer '" + params.text("layer", "") + "' is not a spatial feature map (shape " +
                          c10::str(trace[v].sizes()) + ")");
    }
    return v;
  }
  for (auto node = graph.nodes.rbegin(); node != graph.nodes.rend(); ++node) {
    for (ValueId v : node->outputs) {
      if (v != kNoValue && trace[v].dim() == 4 && trace[v].size(2) * trace[v].size(3) > 1) return v;
    }
  }
  throw LookupError("the model has no spatial feature map for a CAM method");
}

at::Tensor upsample(const at::Tensor& maps, const at::Tensor& input) {
  return at::upsample_bilinear2d(maps.unsqueeze(1), {input.size(2), input.size(3)},
                                 /*align_corners=*/false)
      .squeeze(1);
}

}  // namespace whitebox::explainers
