// Neuron attribution (Captum's neuron family): one unit of a hidden layer, a channel summed over
// its positions or one position of it, attributed to the input pixels in place of the class
// score: its gradient, its integrated gradients and its LRP relevance. What the unit responds to,
// whatever the class.
#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "methods/arguments.hpp"
#include "methods/baseline.hpp"
#include "methods/layers.hpp"
#include "methods/lrp.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/path_integral.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

// The unit of params "neuron": a channel of a layer (all its positions), or one position of it.
struct Neuron {
  ValueId layer = kNoValue;
  std::vector<int64_t> channels;  // per image (auto picks each image's own)
  bool at_position = false;
  int64_t y = 0, x = 0;
};

bool names_layer(const Graph& graph, const std::string& name) {
  return graph.find(name) ||
         std::any_of(graph.nodes.begin(), graph.nodes.end(),
                     [&](const Node& n) { return n.name == name && !n.outputs.empty(); });
}

// A field that is a whole number (a sign allowed, so that -1 is out of range, not malformed).
std::optional<int64_t> index_of(const std::string& field) {
  const size_t digits = field.size() - (!field.empty() && field[0] == '-');
  if (digits == 0 || digits > 15) return std::nullopt;
  if (!std::all_of(field.end() - static_cast<std::ptrdiff_t>(digits), field.end(),
                   [](unsigned char ch) { return std::isdigit(ch) != 0; })) {
    return std::nullopt;
  }
  return std::stoll(field);
}

Neuron parse_neuron(const Context& c) {
  const std::string text = c.params.text("neuron", "auto");
  const Graph& graph = c.model.graph();
  const int64_t images = c.input.size(0);
  Neuron n;
  if (text == "auto") {
    // Each image's most active channel (largest sum over its positions) of the last spatial map.
    n.layer = cam_layers(c.model, c.trace, Params()).front();
    const at::Tensor strongest = c.trace[n.layer].flatten(2).sum(2).argmax(1).cpu();
    for (int64_t i = 0; i < images; ++i) n.channels.push_back(strongest[i].item<int64_t>());
    return n;
  }
  const std::string what = "neuron='" + text + "'";
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t colon = text.find(':', start);
    fields.push_back(text.substr(start, colon == std::string::npos ? colon : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  // The layer's name may hold colons itself: it is everything before the trailing indices.
  const auto layer_before = [&](size_t indices) {
    std::string name;
    for (size_t i = 0; i + indices < fields.size(); ++i) name += (i ? ":" : "") + fields[i];
    return name;
  };
  // The whole-number fields at the end (at least one field is left for the layer).
  size_t trailing = 0;
  while (trailing + 1 < fields.size() && index_of(fields[fields.size() - 1 - trailing])) ++trailing;
  const auto last = [&](size_t count) {
    std::vector<int64_t> indices;
    for (size_t i = fields.size() - count; i < fields.size(); ++i)
      indices.push_back(*index_of(fields[i]));
    return indices;
  };
  std::string layer;
  std::vector<int64_t> indices;
  if (trailing >= 3 &&
      (names_layer(graph, layer_before(3)) || !names_layer(graph, layer_before(1)))) {
    layer = layer_before(3);
    indices = last(3);
    n.at_position = true;
  } else if (trailing >= 1) {
    layer = layer_before(1);
    indices = last(1);
  } else {
    throw ArgumentError(what + " is not LAYER:CHANNEL or LAYER:CHANNEL:Y:X (or auto)");
  }
  if (layer.empty()) throw ArgumentError(what + " names no layer");
  n.layer = graph.resolve(layer);  // LookupError naming the layers
  const std::string& name = graph.values[n.layer].name;
  const at::Tensor& value = c.trace[n.layer];
  if (graph.values[n.layer].is_constant() || !value.defined()) {
    throw ArgumentError(what + ": " + name + " is not a value computed from the input");
  }
  if (value.dim() < 2) {
    throw ArgumentError(what + ": layer " + name + " has no channels (its shape is " +
                        c10::str(value.sizes()) + ")");
  }
  const int64_t channel = indices[0];
  if (channel < 0 || channel >= value.size(1)) {
    throw ArgumentError(what + ": channel " + std::to_string(channel) + " of layer " + name +
                        ": it has channels 0 to " + std::to_string(value.size(1) - 1));
  }
  n.channels.assign(images, channel);
  if (!n.at_position) return n;
  if (value.dim() != 4) {
    throw ArgumentError(what + ": a position needs a spatial layer [N, C, H, W]; " + name +
                        " has shape " + c10::str(value.sizes()));
  }
  n.y = indices[1], n.x = indices[2];
  if (n.y < 0 || n.y >= value.size(2) || n.x < 0 || n.x >= value.size(3)) {
    throw ArgumentError(what + ": position (y, x) = (" + std::to_string(n.y) + ", " +
                        std::to_string(n.x) + ") is outside layer " + name + "'s " +
                        std::to_string(value.size(2)) + " x " + std::to_string(value.size(3)) +
                        " positions");
  }
  return n;
}

// 1 at the unit of each image, 0 elsewhere, shaped like the layer's value.
at::Tensor unit_mask(const Neuron& n, const at::Tensor& value) {
  at::Tensor mask = at::zeros_like(value);
  for (int64_t i = 0; i < value.size(0); ++i) {
    at::Tensor unit = mask[i][n.channels[i]];
    if (n.at_position) unit = unit[n.y][n.x];
    unit.fill_(1);
  }
  return mask;
}

// The unit's value per image [N]: its activation, summed over the channel's positions.
at::Tensor unit_value(const at::Tensor& value, const at::Tensor& mask) {
  return (value * mask).flatten(1).sum(1);
}

// The layer, and the channel when every image has the same.
Explanation neuron_explanation(const Context& c, const Neuron& n) {
  Explanation e;
  e.layer = c.model.graph().values[n.layer].name;
  if (std::all_of(n.channels.begin(), n.channels.end(),
                  [&](int64_t channel) { return channel == n.channels.front(); })) {
    e.stats["channel"] = static_cast<double>(n.channels.front());
  }
  return e;
}

void reduce_map(const Context& c, Explanation& e) {
  const std::string reduce = c.params.text("reduce");
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";
}

Explanation neuron_gradient(const Context& c) {
  const Neuron n = parse_neuron(c);
  Explanation e = neuron_explanation(c, n);
  const at::Tensor seed = unit_mask(n, c.trace[n.layer]);
  e.attribution = sweep_finite(c, {{n.layer, seed}}, {c.model.input()}, Rules())[0];
  reduce_map(c, e);
  return e;
}

Explanation neuron_integrated_gradients(const Context& c) {
  const Neuron n = parse_neuron(c);
  const int64_t steps = c.params.integer("steps");
  const Quadrature q = quadrature(c.params.text("integration"), steps);
  const at::Tensor mask = unit_mask(n, c.trace[n.layer]);
  const at::Tensor& x = c.input;
  const at::Tensor baseline = make_baseline(c);
  // Path points are computed up to the layer only, keeping what the sweep back from it reads.
  TraceOptions up_to_layer;
  up_to_layer.lean = true;
  up_to_layer.keep = {n.layer};
  up_to_layer.until = std::vector<ValueId>{n.layer};
  const at::Tensor total =
      integrate_path(baseline, x, q, c.params.integer("batch"),
                     [&](const at::Tensor& points, const std::vector<int64_t>& images) {
                       const at::Tensor seed =
                           mask.index_select(0, at::tensor(images, at::kLong).to(mask.device()));
                       return c.model.sweep(c.model.forward(points, up_to_layer), {{n.layer, seed}},
                                            {c.model.input()})[0];
                     });

  Explanation e = neuron_explanation(c, n);
  e.attribution = (x - baseline) * total;
  reduce_map(c, e);
  // Completeness: the sum equals the unit's change from the baseline to the input.
  TraceOptions value_only;
  value_only.outputs_only = true;
  value_only.keep = {n.layer};
  value_only.until = std::vector<ValueId>{n.layer};
  report_sum_gap(e,
                 unit_value(c.trace[n.layer], mask) -
                     unit_value(c.model.forward(baseline, value_only)[n.layer], mask),
                 "completeness_gap");
  e.stats["steps"] = static_cast<double>(steps);
  return e;
}

Explanation neuron_lrp(const Context& c) {
  const Neuron n = parse_neuron(c);
  const std::string initial = lrp::setting(c.params, "initial");
  if (initial != "activation" && initial != "one") {
    throw ArgumentError("parameter initial='" + initial + "' must be activation or one");
  }
  const at::Tensor& value = c.trace[n.layer];
  const at::Tensor mask = unit_mask(n, value);
  const at::Tensor seed = initial == "activation" ? value * mask : mask;
  Explanation e = neuron_explanation(c, n);
  e.attribution =
      sweep_finite(c, {{n.layer, seed}}, {c.model.input()}, lrp::rules_for(c.model, c.params))[0];
  e.map = e.attribution.sum(1);
  e.is_signed = true;
  const double total_seed = seed.sum().item<double>();
  const double total = e.attribution.sum().item<double>();
  e.stats["conservation"] = total_seed != 0.0 ? total / total_seed : 0.0;
  e.stats["absorbed"] = total_seed - total;
  return e;
}

Hyperparameter neuron_parameter() {
  return computed(
      {"neuron", "auto",
       "the unit: LAYER:CHANNEL (the channel, its activation summed over its positions) or "
       "LAYER:CHANNEL:Y:X (one position), the layer by value or node name; auto: each image's "
       "most active channel (largest sum) of the last spatial feature map"});
}

Hyperparameter reduce_parameter(const std::string& fallback) {
  std::vector<std::string> choices = {"max", "l2", "sum"};
  std::stable_partition(choices.begin(), choices.end(),
                        [&](const std::string& choice) { return choice == fallback; });
  return choice_parameter("reduce", fallback,
                          "channel reduction of the map: max (of |a|), l2, sum (signed)", choices);
}

const char* const kCaptum =
    "Kokhlikyan et al. Captum: A unified and generic model interpretability library for "
    "PyTorch. arXiv 2009.07896, 2020";

}  // namespace

void add_neuron_gradient_methods(std::vector<MethodInfo>& registry) {
  registry.push_back(
      {.name = "neuron-gradient",
       .aliases = {},
       .family = Family::Gradient,
       .summary = "the gradient of one unit of a hidden layer (a channel summed over its "
                  "positions, or one position) with respect to each pixel: what the unit "
                  "responds to, whatever the class",
       .class_discriminative = false,
       .needs_gradient = true,
       .needs_reference = false,
       .resolution = Resolution::Input,
       .cost = "1 forward + 1 backward from the layer",
       .hyperparameters = {neuron_parameter(), reduce_parameter("max")},
       .citation = std::string(kCaptum) +
                   "; Simonyan, Vedaldi, Zisserman. Deep Inside Convolutional Networks. ICLR "
                   "Workshop 2014",
       .run = neuron_gradient});

  std::vector<Hyperparameter> path = path_hyperparameters();
  path.insert(path.begin(), neuron_parameter());
  path.push_back(reduce_parameter("sum"));
  registry.push_back(
      {.name = "neuron-integrated-gradients",
       .aliases = {"neuron-ig"},
       .family = Family::Gradient,
       .summary = "integrated gradients of one unit of a hidden layer in place of the class "
                  "score: its gradient averaged along the straight path from a baseline image "
                  "to the input, times (input - baseline); the sum is the unit's change "
                  "(stats completeness_gap, relative_completeness_gap, delta)",
       .class_discriminative = false,
       .needs_gradient = true,
       .needs_reference = true,
       .resolution = Resolution::Input,
       .cost = "steps forwards up to the layer + steps backwards from it (in batches), + 1 "
               "forward of the baseline",
       .hyperparameters = path,
       .citation = std::string(kCaptum) +
                   "; Sundararajan, Taly, Yan. Axiomatic Attribution for Deep Networks. ICML 2017",
       .run = neuron_integrated_gradients});
}

void add_neuron_lrp_method(std::vector<MethodInfo>& registry) {
  std::vector<Hyperparameter> parameters = lrp::hyperparameters("epsilon-plus-flat", "ignore");
  for (Hyperparameter& h : parameters) {
    if (h.name == "initial") {
      h = choice_parameter("initial", "activation",
                           "relevance put in at the unit: activation (its value) or one",
                           {"activation", "one"});
    }
  }
  parameters.insert(parameters.begin(), neuron_parameter());
  registry.push_back(
      {.name = "neuron-lrp",
       .aliases = {},
       .family = Family::Relevance,
       .summary = "layer-wise relevance propagation from one unit of a hidden layer: its "
                  "activation (zero at every other unit of the layer) redistributed onto the "
                  "pixels by a composite's rules, as lrp does from the target logit (the same "
                  "composites, rules and options). stats: conservation = sum R_in / initial "
                  "relevance, absorbed = initial relevance - sum R_in",
       .class_discriminative = false,
       .needs_gradient = false,
       .needs_reference = false,
       .resolution = Resolution::Input,
       .cost = "1 forward + 1 modified backward from the layer",
       .hyperparameters = parameters,
       .citation = "Bach, Binder, Montavon, Klauschen, Mueller, Samek. On Pixel-Wise "
                   "Explanations for Non-Linear Classifier Decisions by Layer-Wise Relevance "
                   "Propagation. PLoS ONE 2015; " +
                   std::string(kCaptum),
       .run = neuron_lrp});
}

}  // namespace whitebox::explainers
