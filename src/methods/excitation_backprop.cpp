// Excitation backprop: a top-down winner-take-all process whose marginal winning probabilities
// are passed from each unit to its inputs in proportion to their excitatory contributions
// a_j w_ij+ (the z+ rule of LRP, with probability 1 put in at the target class). The contrastive
// variant subtracts the probabilities of a dual unit whose classifier weights are negated.
#include <ATen/ATen.h>

#include "methods/arguments.hpp"
#include "methods/layers.hpp"
#include "methods/lrp.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"

namespace whitebox::explainers {
namespace {

// Probabilities at the stopping values (the input, or params "layer") for one rule table.
std::vector<at::Tensor> winning_probabilities(const Context& c, const lrp::Mapping& mapping,
                                              const std::vector<ValueId>& stops) {
  const lrp::Options options;  // biases ignored: the probabilities of each layer sum to 1
  return sweep_finite(c, {{c.model.output(), target_one_hot(c)}}, stops,
                      lrp::composite_rules(c.model, mapping, options));
}

// z+ on every linear layer.
lrp::Mapping excitation_mapping(const Graph& graph) {
  lrp::Mapping mapping;
  lrp::parse_mapping("conv=zplus;dense=zplus;pool=zplus", graph, mapping);
  return mapping;
}

Explanation excitation_backprop(const Context& c, bool contrastive) {
  const Graph& graph = c.model.graph();
  lrp::Mapping mapping = excitation_mapping(graph);
  const bool at_layer = c.params.has("layer");
  const ValueId stop = at_layer ? c.layer() : c.model.input();

  at::Tensor p = winning_probabilities(c, mapping, {stop})[0];
  if (contrastive) {
    // The dual unit: the classifier (the last linear layer) with negated weights, whose z+ shares
    // are the target's inhibitory ones, x+ w-.
    // alpha R+ - beta R- with alpha = 0, beta = -1: R-, the inhibitory shares.
    lrp::LinearRule dual = lrp::alpha_beta_rule(0.0, -1.0);
    dual.text = "dual";
    mapping.last = dual;
    p = p - winning_probabilities(c, mapping, {stop})[0];
  }
  Explanation e;
  e.attribution = at_layer ? p.sum(1) : p;
  e.map = at_layer ? upsample(e.attribution, c.input) : p.sum(1);
  e.is_signed = contrastive;
  if (at_layer) e.layer = graph.values[stop].name;
  e.stats["mass"] = p.flatten(1).sum(1).mean().item<double>();
  return e;
}

}  // namespace

void add_excitation_backprop_methods(std::vector<MethodInfo>& registry) {
  const std::vector<Hyperparameter> parameters = {
      computed({"layer", "",
                "stop at this value (a 4-D feature map; the map is upsampled) instead "
                "of the input"})};
  const std::string citation =
      "Zhang, Bargal, Lin, Brandt, Shen, Sclaroff. Top-Down Neural Attention by Excitation "
      "Backprop. ECCV 2016 (IJCV 2018)";
  const std::string how =
      " Linear layers (Conv, Gemm, average pooling) split each unit's probability among its "
      "inputs by a_j w_ij+ / sum_j a_j w_ij+ (biases ignored; the z+ rule); activations pass it "
      "unchanged; residual sums, gates, concatenations and max-pooling are treated as by LRP. "
      "stats: mass = total probability at the stopping value (1 where no unit is without "
      "excitatory input).";
  // The dual rule of the contrastive variant reads what z+ reads: the layer's input.
  const auto method = [&](std::string name, std::vector<std::string> aliases, std::string summary,
                          std::string cost, bool contrastive) {
    registry.push_back(
        {.name = std::move(name),
         .aliases = std::move(aliases),
         .family = Family::Relevance,
         .summary = std::move(summary) + how,
         .class_discriminative = true,
         .resolution = Resolution::InputOrLayer,
         .cost = std::move(cost),
         .hyperparameters = parameters,
         .citation = citation,
         .run = [contrastive](const Context& c) { return excitation_backprop(c, contrastive); },
         .scheduling = {.trace_reads = [](const Model& model, const Params&) {
           return lrp::composite_rules(model, excitation_mapping(model.graph()), {})
               .values_read(model.graph());
         }}});
    // The contrastive map is the difference of two sweeps: no one sweep to condition.
    if (!contrastive) {
      registry.back().relevance_sweep = [](const Context& c) {
        return RelevanceSweep{
            lrp::composite_rules(c.model, excitation_mapping(c.model.graph()), {}),
            target_one_hot(c)};
      };
    }
  };
  method("excitation-backprop", {"eb"},
         "excitation backprop: the marginal winning probability of each unit, passed down from "
         "probability 1 at the target class.",
         "1 forward + 1 modified backward", false);
  method("contrastive-excitation-backprop", {"c-eb", "contrastive-eb"},
         "contrastive excitation backprop: the winning probabilities of the target minus those "
         "of its dual unit, whose classifier weights are negated (the last linear layer passes "
         "x+ w- shares), so that evidence shared with the other classes cancels.",
         "1 forward + 2 modified backwards", true);
}

}  // namespace whitebox::explainers
