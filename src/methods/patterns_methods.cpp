// PatternNet and PatternAttribution: the reverse sweep with each linear layer's learned pattern A
// (or W (.) A) in place of its weight, and their registry entries.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "methods/arguments.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "methods/patterns_layers.hpp"
#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/patterns.hpp"

namespace whitebox {

Rules pattern_rules(const Model& model, const Patterns& patterns, PatternRule rule) {
  patterns.check(model);
  const Graph& graph = model.graph();
  Rules rules;
  const auto consumers = graph.consumers();
  for (const auto& layer : explainers::patterns::pattern_layers(model)) {
    const Node& node = graph.nodes[layer.node];
    const at::Tensor& w = graph.values[node.inputs[layer.weight]].constant;
    // apply_transpose multiplies by the layer's scale (Gemm's alpha): A / scale goes back through
    // A itself, and W (.) A through the effective weight scale W (.) A.
    const auto matrix = [&](const at::Tensor& pattern) {
      const at::Tensor a = pattern.to(model.device(), model.dtype());
      return rule == PatternRule::Signal ? a / layer.scale : w * a;
    };
    const at::Tensor positive = matrix(patterns.by_node.at(node.name));
    // The negative regime's pattern matters only where signal reaches outputs <= 0: not behind
    // a layer whose output only ReLUs read.
    at::Tensor negative;
    const auto& readers = consumers[node.outputs[0]];
    const bool gated =
        !readers.empty() &&
        std::all_of(readers.begin(), readers.end(),
                    [&](int r) { return ops::traits(graph.nodes[r]).layer == ops::Layer::Relu; }) &&
        std::find(graph.outputs.begin(), graph.outputs.end(), node.outputs[0]) ==
            graph.outputs.end();
    if (const auto it = patterns.negative.find(node.name);
        it != patterns.negative.end() && !gated) {
      negative = matrix(it->second);
    }
    const int data = layer.data;
    rules.by_node(layer.node, [positive, negative, data](const NodeContext& n, const Tensors& out) {
      Tensors result(n.inputs.size());
      if (out.empty() || !out[0].defined()) return result;
      const ops::LinearForm& form = *n.kernel.linear();
      const at::Tensor& x = n.inputs[data];
      if (!negative.defined()) {
        result[data] = form.apply_transpose(out[0], x, positive);
        return result;
      }
      const at::Tensor up = (n.outputs[0] > 0).to(out[0].scalar_type());
      result[data] = form.apply_transpose(out[0] * up, x, positive) +
                     form.apply_transpose(out[0] * (1 - up), x, negative);
      return result;
    });
  }
  return rules;
}

namespace explainers {
namespace {

Explanation run_patterns(const Context& c, PatternRule rule) {
  const std::string folder = c.params.text("patterns");
  const Patterns patterns = Patterns::load(folder.empty() ? default_patterns_path(c.model)
                                                          : std::filesystem::path(folder));
  const Rules rules = pattern_rules(c.model, patterns, rule);
  // The signal put in at the output is the target logit itself: for one linear layer y = w^T x,
  // PatternNet returns the signal estimate a y and PatternAttribution w (.) a y.
  const at::Tensor& logits = c.trace[c.model.output()];
  const at::Tensor seed = target_one_hot(c) * logits;
  Explanation e;
  e.attribution = c.model.sweep(c.trace, {{c.model.output(), seed}}, {c.model.input()}, rules)[0];
  // PatternNet's signal can grow by an order of magnitude per layer (every unit's estimate of
  // the signal is added up): past ~40 layers it leaves the float32 range. The sweep is linear in
  // the seed, so it is rerun with the seed scaled by an exact power of two that starts it near
  // the smallest normal number; the attribution is then the signal times 2^scale_log2.
  double scale_log2 = 0.0;
  if (!at::isfinite(e.attribution).all().item<bool>()) {
    const int smallest = e.attribution.scalar_type() == at::kDouble ? -1022 : -126;
    const double largest = seed.abs().max().item<double>();
    scale_log2 = std::floor(smallest + 24 - std::log2(largest));
    e.attribution = c.model.sweep(c.trace, {{c.model.output(), seed * std::exp2(scale_log2)}},
                                  {c.model.input()}, rules)[0];
    if (!at::isfinite(e.attribution).all().item<bool>()) {
      throw NumericalError(rule == PatternRule::Signal ? "patternnet" : "patternattribution", "",
                           "the signal overflows the model's floating type even from the "
                           "smallest seed; load the model in float64");
    }
  }
  e.stats["scale_log2"] = scale_log2;
  const std::string reduce = c.params.text("reduce");
  e.map = reduce_channels(e.attribution, reduce);
  e.is_signed = reduce == "sum";
  e.stats["pattern_images"] = static_cast<double>(patterns.images);
  return e;
}

const char* kCitation =
    "Kindermans, Schuett, Alber, Mueller, Erhan, Kim, Daehne. Learning how to explain neural "
    "networks: PatternNet and PatternAttribution. ICLR 2018";

const char* kRest =
    " The patterns are learned once per model from a folder of images (`whitebox patterns fit "
    "MODEL IMAGES_DIR`, linear or two-component estimator, the latter with one pattern for "
    "positive and one for non-positive outputs) and stored beside it in MODEL.patterns; only "
    "Conv, Gemm and MatMul layers with constant weights have them. Every other node passes the "
    "exact gradient: ReLUs gate the signal as in the gradient, average and max pooling, "
    "BatchNormalization left unfolded, residual sums and concatenations included. Biases are "
    "ignored. stats: scale_log2 = k when the signal left the floating-point range and was "
    "computed from the seed times 2^k (0 otherwise).";

}  // namespace

void add_pattern_methods(std::vector<MethodInfo>& registry) {
  const auto method = [&](std::string name, std::string alias, std::string summary,
                          const std::string& reduce, PatternRule rule) {
    registry.push_back(
        {.name = std::move(name),
         .aliases = {std::move(alias)},
         .family = Family::Relevance,
         .summary = std::move(summary) + kRest,
         .class_discriminative = true,
         .resolution = Resolution::Input,
         .cost = "1 forward + 1 modified backward, after a one-off pattern fit",
         .hyperparameters = {{"patterns", "",
                              "the patterns folder (default: MODEL.patterns beside the model "
                              "file)"},
                             choice_parameter("reduce", reduce,
                                              "channel reduction of the map: max (of |a|), l2, "
                                              "sum (signed)",
                                              {"max", "l2", "sum"})},
         .citation = kCitation,
         .run = [rule](const Context& c) { return run_patterns(c, rule); }});
  };
  method("patternnet", "pattern-net",
         "the signal estimator: the target logit projected back to the input through each linear "
         "layer's learned signal pattern A instead of its weight W, an image of the signal the "
         "network detected.",
         "max", PatternRule::Signal);
  method("patternattribution", "pattern-attribution",
         "a deep Taylor decomposition whose root point removes the estimated signal: the target "
         "logit passed back through W (.) A (weights times patterns) at each linear layer; the "
         "result is the attribution at the input, not multiplied by x.",
         "sum", PatternRule::Attribution);
}

}  // namespace explainers
}  // namespace whitebox
