// The class-activation-map family: weighted sums of a layer's feature maps, upsampled.
// This file holds what the family shares and CAM itself; cam_gradient.cpp the gradient-weighted
// CAMs, cam_score.cpp the perturbation-weighted ones, fem.cpp the class-agnostic ones.
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/cam_common.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/treatments.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {

at::Tensor rectified_channel_sum(const Context& c, const at::Tensor& P) {
  if (c.params.integer("eigen_smooth") == 0) return at::relu(P.sum(1));
  return at::relu(principal_projection(P - P.mean({2, 3}, /*keepdim=*/true), P.sum(1)));
}

Hyperparameter eigen_smooth_parameter() {
  return integer_parameter(
      "eigen_smooth", "0",
      "1: the first principal component of the weighted activations (centred per channel) "
      "instead of their channel sum, then the ReLU",
      0, 1);
}

at::Tensor weighted_sum(const at::Tensor& weights, const at::Tensor& activations) {
  return (weights.unsqueeze(-1).unsqueeze(-1) * activations).sum(1);
}

at::Tensor minmax(const at::Tensor& maps) {
  const at::Tensor flat = maps.flatten(1);
  const at::Tensor low = std::get<0>(flat.min(1, /*keepdim=*/true));
  const at::Tensor range = std::get<0>(flat.max(1, /*keepdim=*/true)) - low;
  const at::Tensor safe = at::where(range > 0, range, at::ones_like(range));
  return ((flat - low) / safe * (range > 0)).view(maps.sizes());
}

at::Tensor principal_projection(const at::Tensor& P, const at::Tensor& orientation) {
  const at::Tensor M = P.flatten(2).transpose(1, 2);  // [N, hw, K]
  const at::Tensor v =
      std::get<2>(at::linalg_svd(M, /*full_matrices=*/false)).select(1, 0);  // [N, K]
  const at::Tensor projection = at::bmm(M, v.unsqueeze(2)).squeeze(2);       // [N, hw]
  if (!orientation.defined()) return projection.view({P.size(0), P.size(2), P.size(3)});
  const at::Tensor o = orientation.flatten(1);
  const at::Tensor agreement =
      ((projection - projection.mean(1, true)) * (o - o.mean(1, true))).sum(1, true);
  return at::where(agreement < 0, -projection, projection).view({P.size(0), P.size(2), P.size(3)});
}

Explanation combine_layer_maps(const Context& c, const std::vector<ValueId>& layers,
                               const std::vector<at::Tensor>& maps) {
  Explanation e;
  for (ValueId layer : layers) {
    e.layer += (e.layer.empty() ? "" : ",") + c.model.graph().values[layer].name;
  }
  if (maps.size() == 1) {
    e.attribution = maps[0];
    e.map = upsample(maps[0], c.input);
    return e;
  }
  int64_t height = 0, width = 0;
  for (const auto& m : maps) {
    if (m.size(1) * m.size(2) > height * width) height = m.size(1), width = m.size(2);
  }
  at::Tensor fine, full;
  for (const auto& m : maps) {
    const at::Tensor peak = std::get<0>(m.abs().flatten(1).max(1)).view({-1, 1, 1});
    const at::Tensor scaled = m / at::where(peak > 0, peak, at::ones_like(peak));
    const at::Tensor a = resize(scaled, height, width), b = upsample(scaled, c.input);
    fine = fine.defined() ? fine + a : a;
    full = full.defined() ? full + b : b;
  }
  e.attribution = fine / static_cast<double>(maps.size());
  e.map = full / static_cast<double>(maps.size());
  return e;
}

Explanation cam_explanation(const Context& c, const std::vector<ValueId>& layers, const LayerMap& map_at) {
  std::vector<at::Tensor> maps;
  for (ValueId layer : layers) maps.push_back(map_at(layer));
  return combine_layer_maps(c, layers, maps);
}

Hyperparameter layer_parameter() {
  return computed({"layer", "auto",
                   "feature map(s) to explain, by value or node name (default: the last spatial "
                   "one); a,b: maps of several layers, each scaled to max 1, upsampled and "
                   "averaged"});
}

namespace {

// pytorch-grad-cam's aug_smooth (test-time augmentation): the method on six copies of each image,
// with and without a horizontal flip, times 0.9, 1 and 1.1, its maps flipped back and averaged.
Explanation augmentation_smoothed(const Context& c,
                                  const std::function<Explanation(const Context&)>& run) {
  constexpr int64_t kCopies = 6;  // 2 flips x 3 factors, image-major
  std::vector<at::Tensor> copies;
  for (const bool flip : {false, true}) {
    for (const double factor : {0.9, 1.0, 1.1})
      copies.push_back((flip ? c.input.flip({3}) : c.input) * factor);
  }
  std::vector<int64_t> classes;
  for (int64_t cls : c.classes) classes.insert(classes.end(), kCopies, cls);
  Params once = c.params;
  once.set("aug_smooth", "0");
  const Context augmented(c.model, at::stack(copies, 1).flatten(0, 1), classes, once,
                          c.trace_options);
  Explanation e = run(augmented);
  const auto merge = [&](const at::Tensor& t) {
    std::vector<int64_t> shape = {c.input.size(0), kCopies};
    for (int64_t d = 1; d < t.dim(); ++d) shape.push_back(t.size(d));
    const at::Tensor grouped = t.reshape(shape);
    return at::cat({grouped.narrow(1, 0, 3), grouped.narrow(1, 3, 3).flip({-1})}, 1).mean(1);
  };
  e.map = merge(e.map);
  e.attribution = merge(e.attribution);
  return e;
}

}  // namespace

MethodInfo cam_entry(std::string name, std::vector<std::string> aliases, std::string summary,
                     bool class_discriminative, bool needs_gradient, std::string cost,
                     std::vector<Hyperparameter> hyperparameters, std::string citation,
                     std::function<Explanation(const Context&)> run, bool uses_layer_gradient) {
  // Gradient CAMs read A and dY/dA at the layer; the others by default the trace (Score-CAM
  // reruns the part after the layer, MLFEM picks its layers among all the values).
  using Use = Scheduling::TraceUse;
  hyperparameters.push_back(integer_parameter(
      "aug_smooth", "0",
      "1: the mean of the maps of 6 augmented copies (horizontal flip x input times 0.9, 1, "
      "1.1), flipped back",
      0, 1));
  auto smoothed = [run = std::move(run)](const Context& c) {
    return c.params.integer("aug_smooth") != 0 ? augmentation_smoothed(c, run) : run(c);
  };
  return {.name = std::move(name),
          .aliases = std::move(aliases),
          .family = Family::Cam,
          .summary = std::move(summary),
          .class_discriminative = class_discriminative,
          .needs_gradient = needs_gradient,
          .resolution = Resolution::Layer,
          .cost = std::move(cost),
          .hyperparameters = std::move(hyperparameters),
          .citation = std::move(citation),
          .run = std::move(smoothed),
          .scheduling = {.layer_gradient = uses_layer_gradient,
                         .trace_use = uses_layer_gradient ? Use::LayerGradients : Use::Anything}};
}

Treatment cam_head_treatment(const std::string& op) {
  switch (ops::traits(op).kind) {
    case ops::OpKind::Reshape: return Treatment::Exact;
    // The global average pooling and the classifier are linear; the matcher checks which.
    case ops::OpKind::Linear: return Treatment::Rule;
    case ops::OpKind::Rectifier:
    case ops::OpKind::Activation:
    case ops::OpKind::Elementwise:
    case ops::OpKind::Sum:
    case ops::OpKind::Arithmetic:
    case ops::OpKind::Affine:
    case ops::OpKind::Maximum:
    case ops::OpKind::Mixing:
    case ops::OpKind::Routing:
    case ops::OpKind::ShapeOnly: return Treatment::Unsupported;
  }
  return Treatment::Unsupported;
}

namespace {

bool is_reshape(const std::string& op) { return cam_head_treatment(op) == Treatment::Exact; }

// "GlobalAveragePool 'name' -> Flatten 'name' -> ...": what follows a value, for error messages.
std::string describe_downstream(const Graph& graph, const std::vector<std::vector<int>>& consumers,
                                ValueId v) {
  std::string text;
  for (int step = 0; step < 6; ++step) {
    if (consumers[v].empty()) break;
    if (consumers[v].size() > 1) {
      text += (text.empty() ? "" : " -> ") + std::to_string(consumers[v].size()) + " branches";
      break;
    }
    const Node& node = graph.nodes[consumers[v][0]];
    text += (text.empty() ? "" : " -> ") + node.op_type + " '" + node.name + "'";
    if (node.outputs.empty()) break;
    v = node.outputs[0];
  }
  return text.empty() ? "nothing" : text;
}

// Whether `pool` (a linear node reading `layer`) averages it over all of H and W:
// GlobalAveragePool, ReduceMean over axes 2 and 3, or an unpadded AveragePool of the whole map.
bool averages_globally(const Graph& graph, const Trace& trace, const Node& pool, ValueId layer) {
  const ops::NodeView view(graph, pool);
  switch (ops::traits(pool).layer) {
    case ops::Layer::GlobalAveragePool: return true;
    case ops::Layer::AxisMean: {
      std::vector<int64_t> axes = view.has("axes") ? view.ints("axes")
                                  : view.has_input(1) && view.is_constant(1)
                                      ? view.constant_ints(1)
                                      : std::vector<int64_t>{};
      for (auto& a : axes) a = (a + 4) % 4;
      std::sort(axes.begin(), axes.end());
      return axes == std::vector<int64_t>{2, 3};
    }
    case ops::Layer::AveragePool: {
      const auto& out = trace[pool.outputs[0]];
      const auto pads = view.ints("pads", {0, 0, 0, 0});
      return out.defined() && out.dim() == 4 && out.size(2) == 1 && out.size(3) == 1 &&
             std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; }) &&
             view.ints("kernel_shape") ==
                 std::vector<int64_t>{trace[layer].size(2), trace[layer].size(3)};
    }
    default: return false;
  }
}

// The weight [classes, K] of a linear classifier reading the features `v` (Gemm, MatMul or 1x1
// Conv with a constant weight), or undefined for any other node.
at::Tensor classifier_weight(const Graph& graph, const Node& node, ValueId v) {
  const ops::NodeView linear(graph, node);
  if (node.inputs.empty() || node.inputs[0] != v || !linear.is_constant(1)) return {};
  const at::Tensor& w = linear.constant(1);
  switch (ops::traits(node).layer) {
    // Gemm's attributes; a MatMul has none, and their defaults make it x W.
    case ops::Layer::Dense:
      if (linear.i("transA", 0) != 0 || w.dim() != 2) return {};
      return (linear.i("transB", 0) ? w : w.t()) * linear.f("alpha", 1.0);
    case ops::Layer::Convolution:
      if (w.dim() != 4 || w.size(2) != 1 || w.size(3) != 1 || linear.i("group", 1) != 1) return {};
      return w.flatten(1);
    default: return {};
  }
}

}  // namespace

at::Tensor cam_head_weights(const Model& model, const Trace& trace, ValueId layer,
                            const std::vector<int64_t>& classes) {
  const Graph& graph = model.graph();
  const auto consumers = graph.consumers();
  const std::string layer_name = graph.values[layer].name;
  const auto fail = [&](const std::string& why) -> at::Tensor {
    throw ArgumentError("CAM needs the model to end in global average pooling of layer '" +
                        layer_name + "' followed by one linear layer (Gemm, MatMul(+Add) or 1x1 "
                        "Conv) giving the logits, but " + why + " (after the layer: " +
                        describe_downstream(graph, consumers, layer) +
                        "); use gradcam, which equals CAM on such models and works on any");
  };
  // The one node reading v, or nullptr.
  const auto sole_reader = [&](ValueId v) -> const Node* {
    return consumers[v].size() == 1 ? &graph.nodes[consumers[v][0]] : nullptr;
  };
  const int64_t channels = trace[layer].size(1);

  // 1. Global average pooling over H, W.
  const Node* pool = sole_reader(layer);
  if (!pool) {
    return fail("'" + layer_name + "' is read by " + std::to_string(consumers[layer].size()) + " nodes");
  }
  if (cam_head_treatment(pool->op_type) != Treatment::Rule ||
      !averages_globally(graph, trace, *pool, layer)) {
    return fail("'" + layer_name + "' is read by " + pool->op_type + " '" + pool->name +
                "', which is not a global average pool");
  }

  // 2. Reshapes, then 3. the linear layer.
  ValueId v = pool->outputs[0];
  const Node* node = sole_reader(v);
  while (node && is_reshape(node->op_type)) {
    v = node->outputs[0];
    node = sole_reader(v);
  }
  if (!node) return fail("the pooled features are not read by exactly one node");
  const at::Tensor weight = cam_head_treatment(node->op_type) == Treatment::Rule
                                ? classifier_weight(graph, *node, v)  // [classes, K]
                                : at::Tensor();
  if (!weight.defined()) {
    return fail("the pooled features go to " + node->op_type + " '" + node->name +
                "', not a linear layer with constant weights");
  }
  // A layer without a bias of its own (MatMul) may have it added by the next node.
  ValueId out = node->outputs.empty() ? kNoValue : node->outputs[0];
  const ops::LinearForm* form =
      model.program().kernel(static_cast<int>(node - graph.nodes.data())).linear();
  const bool has_bias = form && form->bias_input() >= 0;
  if (const Node* add = sole_reader(out);
      !has_bias && add && ops::traits(*add).layer == ops::Layer::Addition) {
    const ops::NodeView bias(graph, *add);
    if (bias.is_constant(0) || bias.is_constant(1)) out = add->outputs[0];
  }
  if (weight.size(1) != channels) {
    return fail("the linear layer '" + node->name + "' takes " + std::to_string(weight.size(1)) +
                " features, not the layer's " + std::to_string(channels) + " channels");
  }

  // 4. Only reshapes between the linear layer and the logits.
  for (const Node* next = sole_reader(out); out != model.output() && next && is_reshape(next->op_type);
       next = sole_reader(out)) {
    out = next->outputs[0];
  }
  if (out != model.output()) {
    const Node* next = sole_reader(out);
    return fail("the linear layer '" + node->name + "' is followed by " +
                (next ? next->op_type + " '" + next->name + "'" : std::string("several nodes")) +
                " before the logits");
  }
  const at::Tensor index = at::tensor(classes, at::kLong).to(weight.device());
  return weight.index_select(0, index).to(trace[layer].scalar_type());
}

namespace {

// Zhou et al.: M_c = sum_k w_ck A_k with w_c the linear layer's row for class c. No ReLU in the
// paper, so the map is signed.
Explanation cam(const Context& c) {
  Explanation e = cam_explanation(c, c.layers(), [&](ValueId layer) {
    return weighted_sum(cam_head_weights(c.model, c.trace, layer, c.classes), c.trace[layer]);
  });
  e.is_signed = true;
  return e;
}

}  // namespace

void add_cam_methods(std::vector<MethodInfo>& registry) {
  registry.push_back(cam_entry(
      "cam", {"class-activation-map"},
      "feature maps weighted by the class's row of the linear layer after global average pooling "
      "(only for such heads); signed",
      true, false, "1 forward", {layer_parameter()},
      "Zhou, Khosla, Lapedriza, Oliva, Torralba. Learning Deep Features for Discriminative "
      "Localization. CVPR 2016",
      cam, false));
  registry.back().scheduling.trace_use = Scheduling::TraceUse::LayerValues;
  add_gradient_cams(registry);
  add_score_cams(registry);
  add_feature_cams(registry);
  add_fullgrad_method(registry);
}

}  // namespace whitebox::explainers
