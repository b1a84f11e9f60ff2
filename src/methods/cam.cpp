// The class-activation-map family: weighted sums of a layer's feature maps, upsampled.
#include <ATen/ATen.h>

#include "methods/layers.hpp"
#include "methods/methods.hpp"

namespace whitebox::explainers {
namespace {

Explanation gradcam(const Context& c) {
  const ValueId layer = cam_layer(c.model, c.trace, c.params);
  const at::Tensor& activations = c.trace[layer];
  const at::Tensor gradients = c.model.gradient(c.trace, c.classes, {layer}).at(0);
  const at::Tensor weights = gradients.mean({2, 3}, /*keepdim=*/true);
  Explanation e;
  e.layer = c.model.graph().values[layer].name;
  e.attribution = at::relu((weights * activations).sum(1));
  e.map = upsample(e.attribution, c.input);
  return e;
}

}  // namespace

void add_cam_methods(std::vector<MethodInfo>& registry) {
  registry.push_back({"gradcam",
                      {"grad-cam"},
                      Family::Cam,
                      "layer activations weighted by their spatially averaged gradients, ReLU",
                      true,
                      true,
                      false,
                      "layer",
                      "1 forward + 1 backward to the layer",
                      {{"layer", "auto", "feature map to explain (default: the last spatial one)"}},
                      "Selvaraju et al. Grad-CAM: Visual Explanations from Deep Networks via "
                      "Gradient-based Localization. ICCV 2017",
                      gradcam});
}

}  // namespace whitebox::explainers
