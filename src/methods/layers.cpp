#include "methods/layers.hpp"

#include <ATen/ATen.h>

#include <sstream>

#include "whitebox/error.hpp"

namespace whitebox::explainers {

ValueId spatial_value(const Model& model, const Trace& trace, const std::string& name) {
  const ValueId v = model.graph().resolve(name);
  if (!trace[v].defined() || trace[v].dim() != 4) {
    throw ArgumentError("layer '" + name + "' is not a spatial feature map (shape " +
                        (trace[v].defined() ? c10::str(trace[v].sizes()) : std::string("unknown")) +
                        ")");
  }
  return v;
}

std::vector<ValueId> cam_layers(const Model& model, const Trace& trace, const Params& params,
                                const std::string& key) {
  std::vector<ValueId> layers;
  if (params.has(key)) {
    const std::string text = params.text(key);
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      const std::string name = text.substr(start, end - start);
      if (!name.empty()) layers.push_back(spatial_value(model, trace, name));
      start = end + 1;
    }
    if (layers.empty()) throw ArgumentError("parameter " + key + " names no layer");
    return layers;
  }
  const Graph& graph = model.graph();
  for (auto node = graph.nodes.rbegin(); node != graph.nodes.rend(); ++node) {
    for (ValueId v : node->outputs) {
      // (Values a lean trace dropped are pre-activations, never the map a CAM wants.)
      if (v != kNoValue && trace[v].defined() && trace[v].dim() == 4 &&
          trace[v].size(2) * trace[v].size(3) > 1) {
        return {v};
      }
    }
  }
  throw LookupError("the model has no spatial feature map for a CAM method");
}

std::vector<ValueId> named_layers(const Model& model, const Params& params) {
  std::vector<ValueId> layers;
  for (const char* key : {"layer", "layers"}) {
    if (!params.has(key)) continue;
    std::stringstream names(params.text(key));
    for (std::string name; std::getline(names, name, ',');) {
      if (!name.empty()) layers.push_back(model.graph().resolve(name));
    }
  }
  return layers;
}

ValueId cam_layer(const Model& model, const Trace& trace, const Params& params) {
  return cam_layers(model, trace, params).front();
}

at::Tensor resize(const at::Tensor& maps, int64_t height, int64_t width) {
  if (maps.size(1) == height && maps.size(2) == width) return maps;
  return at::upsample_bilinear2d(maps.unsqueeze(1), {height, width}, /*align_corners=*/false)
      .squeeze(1);
}

at::Tensor upsample(const at::Tensor& maps, const at::Tensor& input) {
  return resize(maps, input.size(2), input.size(3));
}

}  // namespace whitebox::explainers
