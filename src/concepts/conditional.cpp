// Concept relevance propagation: a method's relevance sweep stopped at a hidden layer, ranked by
// channel, and continued from each chosen channel alone, many channels per sweep.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/error.hpp"

namespace whitebox {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

const MethodInfo& concept_method(const std::string& name) {
  const MethodInfo& method = find_method(name);
  if (!method.relevance_sweep) {
    throw ArgumentError("method " + method.name +
                        " is not one relevance sweep, so it has no concepts; these have: " +
                        joined(concept_methods()));
  }
  return method;
}

// Whether `later` is computed from `earlier`: some path of nodes leads from one to the other.
bool computed_from(const Graph& graph, ValueId later, ValueId earlier) {
  std::vector<char> seen(graph.values.size(), 0);
  std::vector<ValueId> stack = {later};
  while (!stack.empty()) {
    const ValueId v = stack.back();
    stack.pop_back();
    if (v == earlier) return true;
    if (seen[v] || graph.values[v].producer < 0) continue;
    seen[v] = 1;
    for (ValueId input : graph.nodes[graph.values[v].producer].inputs) {
      if (input != kNoValue) stack.push_back(input);
    }
  }
  return false;
}

// The trace of one image as `rows` identical ones: each value computed from the input (and what
// its node saved) viewed `rows` times along the batch, without a copy or a computation; the
// constants as they are. The conditional sweeps of many channels read it.
Trace repeated(const Model& model, const Trace& trace, int64_t rows) {
  const Graph& graph = model.graph();
  std::vector<char> batched(graph.values.size(), 0);
  for (ValueId input : graph.inputs) batched[input] = 1;
  const auto repeat = [rows](const at::Tensor& t) {
    if (!t.defined() || t.dim() == 0) return t;
    std::vector<int64_t> shape = t.sizes().vec();
    shape[0] = rows;
    return t.expand(shape);
  };
  std::vector<at::Tensor> values = trace.values();
  std::vector<Tensors> saved(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {  // in topological order
    const Node& node = graph.nodes[n];
    if (std::none_of(node.inputs.begin(), node.inputs.end(),
                     [&](ValueId v) { return v != kNoValue && batched[v]; })) {
      saved[n] = trace.saved(static_cast<int>(n));
      continue;
    }
    for (ValueId output : node.outputs) batched[output] = 1;
    for (const at::Tensor& t : trace.saved(static_cast<int>(n))) saved[n].push_back(repeat(t));
  }
  for (size_t v = 0; v < values.size(); ++v) {
    if (batched[v]) values[v] = repeat(values[v]);
  }
  return Trace(std::move(values), std::move(saved));
}

// [rows, C, 1, ...] of `value`'s rank: row r passes the channels of channels[r].
at::Tensor channel_masks(const at::Tensor& value, const std::vector<std::vector<int64_t>>& rows) {
  std::vector<int64_t> shape(value.dim(), 1);
  shape[0] = static_cast<int64_t>(rows.size());
  shape[1] = value.size(1);
  at::Tensor mask = at::zeros(shape, value.options());
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int64_t channel : rows[r]) mask[r][channel].fill_(1);
  }
  return mask;
}

// Checks that `layer`'s value has channels (dimension 1) and that `channels` are among them.
void check_channels(const Graph& graph, ValueId layer, const at::Tensor& value,
                    const std::vector<int64_t>& channels) {
  const std::string& name = graph.values[layer].name;
  if (value.dim() < 2) {
    throw ArgumentError("layer " + name + " has no channels (its shape is " +
                        c10::str(value.sizes()) + ")");
  }
  for (int64_t channel : channels) {
    if (channel < 0 || channel >= value.size(1)) {
      throw ArgumentError("channel " + std::to_string(channel) + " of layer " + name +
                          ": it has channels 0 to " + std::to_string(value.size(1) - 1));
    }
  }
}

// The channels to map: the given ones, else the `top` most relevant (all with top = 0), most
// relevant first and ties by index.
std::vector<int64_t> chosen_channels(const at::Tensor& relevance, const ConceptOptions& options) {
  if (!options.channels.empty()) return options.channels;
  if (options.top < 0) throw ArgumentError("top must be >= 0, not " + std::to_string(options.top));
  std::vector<int64_t> order(relevance.size(0));
  std::iota(order.begin(), order.end(), 0);
  const auto* r = relevance.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [r](int64_t a, int64_t b) { return r[a] > r[b]; });
  if (options.top > 0 && options.top < static_cast<int64_t>(order.size())) order.resize(options.top);
  return order;
}

}  // namespace

std::vector<std::string> concept_methods() {
  std::vector<std::string> names;
  for (const MethodInfo& method : methods()) {
    if (method.relevance_sweep) names.push_back(method.name);
  }
  return names;
}

Concepts concepts(const Model& model, const at::Tensor& image, const std::string& layer_name,
                  const Target& target, const ConceptOptions& options) {
  const MethodInfo& method = concept_method(options.method);
  check_parameters({method.name}, options.params);
  if (image.dim() != 4 || image.size(0) != 1) {
    throw InputError("concepts explain one image [1, C, H, W], not a tensor of shape " +
                     c10::str(image.sizes()));
  }
  if (options.batch < 1) {
    throw ArgumentError("batch must be >= 1, not " + std::to_string(options.batch));
  }
  const Graph& graph = model.graph();
  // The stops of the sweep, from the output down: the conditions' layers, then the layer.
  std::vector<ValueId> stops;
  for (const Condition& condition : options.conditions) stops.push_back(graph.resolve(condition.layer));
  const ValueId layer = graph.resolve(layer_name);
  stops.push_back(layer);
  for (size_t i = 0; i + 1 < stops.size(); ++i) {
    if (!computed_from(graph, stops[i], stops[i + 1])) {
      throw ArgumentError("layer " + graph.values[stops[i + 1]].name + " is not before layer " +
                          graph.values[stops[i]].name +
                          ": conditions go from the output down to the concepts' layer");
    }
  }

  const Params params = explainers::with_declared_defaults(method, options.params);
  TraceOptions trace_options = explainers::trace_options_for({&method}, model, params);
  trace_options.keep.insert(trace_options.keep.end(), stops.begin(), stops.end());
  const Context c(model, image.to(model.device(), model.dtype()), target, params, trace_options);
  const RelevanceSweep sweep = method.relevance_sweep(c);

  // The signal from the output down to the layer, through each condition's channels only.
  at::Tensor signal =
      explainers::sweep_finite(c, {{model.output(), sweep.seed}}, {stops.front()}, sweep.rules)[0];
  for (size_t i = 0; i < options.conditions.size(); ++i) {
    check_channels(graph, stops[i], signal, options.conditions[i].channels);
    signal = signal * channel_masks(signal, {options.conditions[i].channels});
    signal = explainers::sweep_finite(c, {{stops[i], signal}}, {stops[i + 1]}, sweep.rules)[0];
  }
  check_channels(graph, layer, signal, options.channels);

  Concepts result;
  result.method = method.name;
  result.layer = graph.values[layer].name;
  result.target = c.classes.at(0);
  result.seed = sweep.seed.sum().item<double>();
  const at::Tensor relevance = sweep.gradient ? signal * c.trace[layer] : signal;
  const at::Tensor by_channel =
      (relevance.dim() > 2 ? relevance.flatten(2).sum(2) : relevance)[0].to(at::kCPU, at::kDouble);
  result.magnitude = by_channel.abs().sum().item<double>();
  result.relevance = by_channel / (result.magnitude > 0 ? result.magnitude : 1.0);
  result.channels = chosen_channels(result.relevance, options);
  if (!options.maps || result.channels.empty()) return result;

  // One sweep per batch of channels from the layer to the input, each row of the batch seeded
  // with the layer's signal at its channel alone, on the image's own trace viewed once per row
  // (the forward pass is not run again). Batches are of equal size but the last.
  const int64_t k = static_cast<int64_t>(result.channels.size());
  const int64_t sweeps = (k + options.batch - 1) / options.batch;
  const int64_t rows = (k + sweeps - 1) / sweeps;
  std::optional<Trace> batch;
  std::vector<at::Tensor> attributions;
  for (int64_t start = 0; start < k; start += rows) {
    const int64_t size = std::min(rows, k - start);
    if (!batch || batch->values().at(model.input()).size(0) != size) {
      batch = repeated(model, c.trace, size);
    }
    std::vector<std::vector<int64_t>> channels;
    for (int64_t r = start; r < start + size; ++r) channels.push_back({result.channels[r]});
    std::vector<int64_t> shape = signal.sizes().vec();
    shape[0] = size;
    const at::Tensor seeds = signal.expand(shape) * channel_masks(signal, channels);
    const at::Tensor attribution = explainers::sweep_finite(model, *batch, {{layer, seeds}},
                                                            {model.input()}, sweep.rules)[0];
    attributions.push_back(sweep.gradient ? attribution * c.input : attribution);
  }
  result.attributions = at::cat(attributions);
  result.maps = result.attributions.sum(1);
  return result;
}

at::Tensor channel_peaks(const Model& model, const at::Tensor& image, const std::string& layer) {
  const ValueId id = model.graph().resolve(layer);
  TraceOptions options;
  options.until = std::vector<ValueId>{id};
  const at::Tensor value = model.forward(image.to(model.device(), model.dtype()), options)[id];
  return (value.dim() > 2 ? value[0].flatten(1).amax(1) : value[0]).to(at::kCPU);
}

std::vector<int64_t> patch_box(const at::Tensor& map, double fraction) {
  if (map.dim() != 2 || map.numel() == 0 || !(fraction > 0 && fraction <= 1)) {
    throw ArgumentError("a patch needs a map [H, W] and a fraction in (0, 1]");
  }
  const int64_t h = map.size(0), w = map.size(1), shorter = std::min(h, w);
  const int64_t side = std::clamp<int64_t>(std::llround(fraction * shorter), 1, shorter);
  const int64_t k = side | 1;  // odd, so that the smoothed map keeps the map's size
  const at::Tensor smooth =
      at::avg_pool2d(map.to(at::kCPU, at::kDouble).clamp_min(0).reshape({1, 1, h, w}), {k, k},
                     {1, 1}, {k / 2, k / 2}, false, false)
          .reshape({h, w});
  const int64_t peak = smooth.flatten().argmax().item<int64_t>();
  const int64_t y0 = std::clamp<int64_t>(peak / w - side / 2, 0, h - side);
  const int64_t x0 = std::clamp<int64_t>(peak % w - side / 2, 0, w - side);
  return {x0, y0, x0 + side, y0 + side};
}

std::vector<ConceptNode> concept_graph(const Model& model, const at::Tensor& image,
                                       const std::vector<std::string>& layers,
                                       const Target& target, const ConceptOptions& options,
                                       int64_t subtop) {
  if (layers.empty()) throw ArgumentError("an attribution graph needs at least one layer");
  if (subtop < 1) throw ArgumentError("subtop must be >= 1, not " + std::to_string(subtop));
  ConceptOptions ranking = options;
  std::vector<ConceptNode> nodes;
  // The concepts of one layer under the conditions of `parent` and its ancestors.
  const auto add = [&](size_t level, int parent) {
    ranking.conditions = options.conditions;
    std::vector<Condition> path;
    for (int p = parent; p >= 0; p = nodes[p].parent) path.push_back({nodes[p].layer, {nodes[p].channel}});
    ranking.conditions.insert(ranking.conditions.end(), path.rbegin(), path.rend());
    ranking.channels = parent < 0 ? options.channels : std::vector<int64_t>();
    ranking.top = parent < 0 ? options.top : subtop;
    const Concepts found = concepts(model, image, layers[level], target, ranking);
    for (size_t i = 0; i < found.channels.size(); ++i) {
      const int64_t channel = found.channels[i];
      nodes.push_back({found.layer, channel, found.relevance[channel].item<double>(), parent,
                       options.maps ? found.maps[static_cast<int64_t>(i)] : at::Tensor()});
    }
  };
  add(0, -1);
  size_t begin = 0;
  for (size_t level = 1; level < layers.size(); ++level) {
    const size_t end = nodes.size();
    for (size_t p = begin; p < end; ++p) add(level, static_cast<int>(p));
    begin = end;
  }
  return nodes;
}

}  // namespace whitebox
